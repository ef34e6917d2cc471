#!/usr/bin/env bash
# The cluster suite: a 3-node cluster from cluster/up.sh (PostgreSQL, three nodes on 127.0.0.31-33, HAProxy on
# 127.0.0.30: apart from a cluster someone runs on the default addresses), on a free port, in a directory of its
# own; stopped at the end whatever happens.
#
#   tests/cluster/run.sh
#
# Runs, with clients on two different nodes:
#   tests/impacket/two_clients.py --target2   lease break delivered across nodes, the waiting open completing
#                                             after the ack; lock conflict and blocking lock completion (twice:
#                                             files made by client 1's node, then by a third node, --home)
#   tests/cluster/cross_node.py               sharing violation and delete-on-close seen from the other node;
#                                             a file's state-tier calls stay on the node that created it
#   tests/cluster/failover.py                 a client with persistent handles through the front address; its
#                                             node SIGKILLed 20 times; reclaim, lock and lease kept, data intact
#   tests/cluster/fencing.py                  node 2 paused (SIGSTOP) past its deadline under a client with
#                                             requests queued, then resumed: nothing reaches the share or the
#                                             store; the handles are reclaimed on another node
#   tests/cluster/admin_ops.py                castorctl: nodes and shard owners, a disconnected persistent open
#                                             after a node kill, drain moving a client without an error
#   the smbtorture ratchet                    every entry of tests/conformance/smbtorture.pass against the front
#                                             address, but those tests/cluster/single-server.txt names (with why)
# Last line: "cluster: N passed, N failed" (the sum).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
usage_if_asked "$0" "${1:-}"
need "$SYS_PYTHON" haproxy

dir="$(mktemp -d /tmp/castorage-cluster-test.XXXXXX)"
rmdir "$dir"
port=""
for _ in $(seq 1 20); do
    p="$(free_port 127.0.0.30)"
    ok=1
    for a in 30 31 32 33; do port_open "127.0.0.$a" "$p" && ok=0; done
    [[ $ok == 1 ]] && { port="$p"; break; }
done
[[ -n "$port" ]] || die "no free port on 127.0.0.30-33"

passed=0
failed=0
logs="$REPO_ROOT/artifacts/cluster-logs"
cleanup() {
    # The nodes' logs outlive a failed run (CI keeps artifacts/); a clean run leaves nothing behind.
    if [[ $failed != 0 ]]; then
        rm -rf "$logs"
        mkdir -p "$logs"
        cp "$dir"/*.log "$logs"/ 2>/dev/null || true
    fi
    bash "$REPO_ROOT/cluster/down.sh" --dir "$dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! bash "$REPO_ROOT/cluster/up.sh" 3 --dir "$dir" --port "$port" --base 30; then
    echo "cluster did not start"
    for f in "$dir"/node*.log; do [[ -f "$f" ]] && tail -n 20 "$f"; done
    echo "cluster: 0 passed, 1 failed"
    exit 1
fi

# run_part SUITE-NAME SECONDS COMMAND... : adds the part's "NAME: N passed, N failed" to the total.
run_part() {
    local name="$1" limit="$2" out rc=0
    shift 2
    out="$(timeout -k 10 "$limit" "$@" 2>&1)" || rc=$?
    printf '%s\n' "$out"
    local line
    line="$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" <<<"$out" | tail -n 1 || true)"
    if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
        if [[ $rc -ne 0 && ${BASH_REMATCH[2]} -eq 0 ]]; then failed=$((failed + 1)); fi
    else
        failed=$((failed + 1))
        echo "$name: no result line (exit status $rc)"
    fi
}

# A file's state lives on the node that created it: the cases run with it on client 1's node, then on a third node.
run_part cluster-cross 600 "$SYS_PYTHON" "$REPO_ROOT/tests/impacket/two_clients.py" \
    --target "127.0.0.31:$port" --target2 "127.0.0.32:$port" --suite cluster-cross
run_part cluster-cross-third 600 "$SYS_PYTHON" "$REPO_ROOT/tests/impacket/two_clients.py" \
    --target "127.0.0.31:$port" --target2 "127.0.0.32:$port" --home "127.0.0.33:$port" --suite cluster-cross-third
run_part cluster-cross-node 600 "$SYS_PYTHON" "$HERE/cross_node.py" --target "127.0.0.31:$port" --target2 "127.0.0.33:$port" \
    --home "127.0.0.32:$port" --metrics "http://127.0.0.31:4461/metrics"

# The ratchet through the front: first, before the failover test restarts nodes under it.
passlist="$dir/cluster.pass"
"$SYS_PYTHON" - "$REPO_ROOT/tests/conformance/smbtorture.pass" "$HERE/single-server.txt" >"$passlist" <<'PY'
import fnmatch, sys
excl = [l.split("#")[0].strip() for l in open(sys.argv[2])]
excl = [e for e in excl if e]
for line in open(sys.argv[1]):
    name = line.split("#")[0].strip().split(" ")[0]
    if name and not any(fnmatch.fnmatchcase(name, e) for e in excl):
        print(line.rstrip("\n"))
PY
# A hung test costs 120 s, not the whole part: the part's limit leaves room for a few.
run_part smbtorture 1200 bash "$REPO_ROOT/tests/conformance/run-smbtorture.sh" --target "127.0.0.30:$port" --pass-file "$passlist" \
    --timeout 120 --results "$REPO_ROOT/artifacts/smbtorture-cluster"

run_part cluster-admin 600 "$SYS_PYTHON" "$HERE/admin_ops.py" --front "127.0.0.30:$port" --dir "$dir"
run_part cluster-fencing 300 "$SYS_PYTHON" "$HERE/fencing.py" --dir "$dir" --node 2
run_part cluster-failover 900 "$SYS_PYTHON" "$HERE/failover.py" --front "127.0.0.30:$port" --dir "$dir" --kills "${FAILOVER_KILLS:-20}"

echo "cluster: $passed passed, $failed failed"
[[ $failed == 0 ]]
