#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing to a throw-away PostgreSQL cluster on loopback.
# Installs Debian's postgresql when missing; stops and removes the cluster afterwards.
set -euo pipefail

sh "$(dirname "$0")/../scripts/system-deps" postgres
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

PGPORT=${PGPORT:-55432}
PGDATA=$(mktemp -d /tmp/datalux-pg.XXXXXX)
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDATA"; fi

cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$PGDATA/data" -U datalux --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -w -l "$PGDATA/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off -c full_page_writes=off" start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U datalux datalux

export DATABASE_URL="postgresql://datalux@127.0.0.1:$PGPORT/datalux"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
"$@"
