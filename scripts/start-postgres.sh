#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the test suite and print its URL on stdout.
# Installs Debian's server when it is missing (CI machines and fresh laptops); runs the server as
# the postgres user because PostgreSQL refuses to run as root. Data lives under $PGTEST_DIR.
set -euo pipefail

PGTEST_DIR=${PGTEST_DIR:-/tmp/fenghuo-pg}
PGTEST_PORT=${PGTEST_PORT:-55432}

find_bin() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

if ! BIN=$(find_bin); then
  echo "installing PostgreSQL (apt-get)..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  BIN=$(find_bin)
fi

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
  AS=(runuser -u postgres --)
else
  AS=()
fi

mkdir -p "$PGTEST_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGTEST_DIR"
if [ ! -f "$PGTEST_DIR/data/PG_VERSION" ]; then
  "${AS[@]}" "$BIN/initdb" -D "$PGTEST_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$PGTEST_DIR/data" status >/dev/null 2>&1; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$PGTEST_DIR/data" -l "$PGTEST_DIR/server.log" -w \
    -o "-p $PGTEST_PORT -k $PGTEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PGTEST_PORT/postgres"
