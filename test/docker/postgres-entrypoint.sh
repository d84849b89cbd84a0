#!/bin/sh
# Initialises the cluster on first start (user, password, database from the environment), then runs postgres.
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}"
db="${POSTGRES_DB:-$POSTGRES_USER}"
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  su postgres -c "initdb -D '$PGDATA' -U '$POSTGRES_USER' --pwfile='$pwfile' --auth=scram-sha-256 -E UTF8" >/dev/null
  rm -f "$pwfile"
  su postgres -c "pg_ctl -D '$PGDATA' -o '-c listen_addresses=' -w start" >/dev/null
  if [ "$db" != postgres ]; then
    PGPASSWORD="$POSTGRES_PASSWORD" psql -q -v ON_ERROR_STOP=1 -h /run/postgresql -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$db\""
  fi
  su postgres -c "pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
fi
exec su postgres -c "exec postgres -D '$PGDATA' -c listen_addresses=127.0.0.1 -c unix_socket_directories=/run/postgresql"
