#!/usr/bin/env bash
# The test command: every test of the workspace. Starts a private PostgreSQL cluster when
# DATABASE_URL is not set (and stops it at exit), so no database server needs to be running.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${DATABASE_URL:-}" ]]; then
  eval "$(scripts/pg-cluster.sh start)"
  trap 'scripts/pg-cluster.sh stop "$PG_CLUSTER_DIR"' EXIT
  echo "test.sh: private postgres at $DATABASE_URL"
fi

cargo test --workspace --locked "$@"
