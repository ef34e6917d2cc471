#!/usr/bin/env bash
# Stops what cluster/up.sh started from DIR: HAProxy, every node, PostgreSQL.
#
#   cluster/down.sh [--dir DIR] [--keep-data]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/lib/common.sh
source "$HERE/../tests/lib/common.sh"
usage_if_asked "$0" "${1:-}"
dir="${CASTORAGE_CLUSTER_DIR:-/tmp/castorage-cluster}"
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --keep-data) keep=1; shift ;;
        *) die "unknown option $1" ;;
    esac
done
[[ -f "$dir/cluster.env" ]] || { echo "no cluster in $dir"; exit 0; }
stop_pidfile() {
    local f="$1" pid
    [[ -f "$f" ]] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null || true   # a paused node must run to stop
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}
stop_pidfile "$dir/haproxy.pid"
for f in "$dir"/node*.pid; do stop_pidfile "$f"; done
bash "$HERE/../tests/lib/postgres.sh" stop "$dir/pg"
rm -f "$dir/cluster.env"
[[ $keep == 1 ]] || rm -rf "$dir"
echo "cluster in $dir stopped"
