#!/usr/bin/env bash
# Private PostgreSQL cluster for development and CI: initdb + pg_ctl on a free loopback port in a
# temporary directory. PostgreSQL refuses to run as root, so as root the server runs as `postgres`.
#
#   eval "$(scripts/pg-cluster.sh start)"   # prints `export DATABASE_URL=… PG_CLUSTER_DIR=…`
#   scripts/pg-cluster.sh stop "$PG_CLUSTER_DIR"
set -euo pipefail

find_bin_dir() {
  if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then echo "$PG_BIN"; return; fi
  local dir best=""
  # Highest version first (numeric, not lexical, order).
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -nr); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then best="$dir"; break; fi
  done
  if [[ -n "$best" ]]; then echo "$best"; return; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v initdb)")"; return
  fi
  echo "pg-cluster: postgresql server binaries (initdb, pg_ctl) not found" >&2
  exit 1
}

as_server_user() {
  if [[ "$(id -u)" == 0 ]]; then
    # runuser keeps no terminal and needs no password; fall back to su where it is missing.
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local bin dir port
  bin=$(find_bin_dir)
  dir=$(mktemp -d /tmp/fleet-pg-XXXXXX)
  chmod 755 "$dir"
  mkdir -p "$dir/data"
  if [[ "$(id -u)" == 0 ]]; then chown -R postgres: "$dir"; fi
  as_server_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_server_user "$bin/pg_ctl" start -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/data -c max_connections=400" >/dev/null; then
      echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres PG_CLUSTER_DIR=$dir PG_CLUSTER_BIN=$bin"
      return
    fi
  done
  cat "$dir/data/server.log" >&2
  exit 1
}

stop() {
  local dir="${1:-${PG_CLUSTER_DIR:-}}" bin
  [[ -n "$dir" && -d "$dir/data" ]] || return 0
  bin="${PG_CLUSTER_BIN:-$(find_bin_dir)}"
  as_server_user "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
