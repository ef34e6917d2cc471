#!/usr/bin/env bash
# Fails node I of the cluster cluster/up.sh started: SIGKILL (default), or --pause (SIGSTOP: a hung node, whose
# PostgreSQL connection stays open) and --resume (SIGCONT). --restart starts a killed node again.
#
#   cluster/kill-node.sh I [--pause|--resume|--restart] [--dir DIR]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/lib/common.sh
source "$HERE/../tests/lib/common.sh"
# shellcheck source=node.sh
source "$HERE/node.sh"
usage_if_asked "$0" "${1:-}"
i="${1:-}"; [[ "$i" =~ ^[1-9]$ ]] || die "usage: cluster/kill-node.sh I [--pause|--resume|--restart] [--dir DIR]"
shift
dir="${CASTORAGE_CLUSTER_DIR:-/tmp/castorage-cluster}"
action="kill"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --pause) action=pause; shift ;;
        --resume) action=resume; shift ;;
        --restart) action=restart; shift ;;
        --dir) dir="$2"; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[[ -f "$dir/cluster.env" ]] || die "no cluster in $dir"
# shellcheck disable=SC1091
source "$dir/cluster.env"
base="${CLUSTER_BASE:-10}"
pid="$(cat "$dir/node$i.pid" 2>/dev/null || true)"
# all_threads_stopped PID: every thread of PID is in the stopped state (T) in /proc.
all_threads_stopped() {
    local t st
    for t in /proc/"$1"/task/*/stat; do
        read -r st 2>/dev/null <"$t" || continue   # a thread that just exited
        st="${st##*) }"
        [[ "${st:0:1}" == [Tt] ]] || return 1
    done
    return 0
}

case "$action" in
    kill) [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null; echo "node$i killed" ;;
    pause)
        kill -STOP "$pid"
        # kill returns once the signal is queued; the node's threads stop as each is scheduled. Paused means every
        # thread stopped: a request sent before that could still be served.
        for _ in $(seq 1 500); do all_threads_stopped "$pid" && break; sleep 0.01; done
        all_threads_stopped "$pid" || die "node$i (pid $pid) did not stop within 5 s"
        echo "node$i paused" ;;
    resume) kill -CONT "$pid"; echo "node$i resumed" ;;
    restart)
        start_node "$dir" "$i" "$base" "$CLUSTER_PORT" "$CLUSTER_PG"
        wait_port "127.0.0.$((base + i))" "$CLUSTER_PORT" 60 "$(cat "$dir/node$i.pid")" || die "node$i did not start"
        echo "node$i restarted" ;;
esac
