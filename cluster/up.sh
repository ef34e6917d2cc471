#!/usr/bin/env bash
# Starts a CaStorage cluster on this machine as plain processes (the topology docker-compose.yml and the Helm
# chart describe): a private PostgreSQL, N nodes sharing one data directory, and HAProxy as the one front
# address clients use (mode tcp, health-checked, as a Kubernetes Service would be).
#
#   cluster/up.sh N [--dir DIR] [--port PORT] [--base B]
#
# Node i listens for SMB on 127.0.0.(B+i):PORT (B default 10, PORT default 445), cluster RPC on :4470, admin
# gRPC on :4460 and metrics on :4461 of the same address; the front address is 127.0.0.B:PORT. Two clusters
# can run side by side with different B. State lives in DIR (default
# /tmp/castorage-cluster): pg/, share/ and ca/ (the shared data), nodeI/ (per-node data), logs, pids.
# Prints the front address, the node addresses and the credentials. Stop everything with cluster/down.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/lib/common.sh
source "$HERE/../tests/lib/common.sh"
# shellcheck source=node.sh
source "$HERE/node.sh"
usage_if_asked "$0" "${1:-}"

n="${1:-}"; [[ "$n" =~ ^[1-9]$ ]] || die "usage: cluster/up.sh N [--dir DIR] [--port PORT] [--base B] (N = 1..9)"
shift
dir="${CASTORAGE_CLUSTER_DIR:-/tmp/castorage-cluster}"
port=445
base=10
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --base) base="$2"; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
need dotnet haproxy
[[ -f "$CASTORAGE_DLL" ]] || die "server not built: $CASTORAGE_DLL (dotnet build -c Release)"
[[ -f "$dir/cluster.env" ]] && die "a cluster already runs from $dir (cluster/down.sh --dir $dir)"
mkdir -p "$dir/share" "$dir/ca" "$dir/noperm"

conn="$(bash "$HERE/../tests/lib/postgres.sh" start "$dir/pg")"
{
    echo "CLUSTER_NODES=$n"
    echo "CLUSTER_PORT=$port"
    echo "CLUSTER_BASE=$base"
    echo "CLUSTER_FRONT=127.0.0.$base:$port"
    printf 'CLUSTER_PG=%q\n' "$conn"
} >"$dir/cluster.env"

for ((i = 1; i <= n; i++)); do start_node "$dir" "$i" "$base" "$port" "$conn"; done
for ((i = 1; i <= n; i++)); do
    wait_port "127.0.0.$((base + i))" "$port" 60 "$(cat "$dir/node$i.pid")" || die "node$i did not start (log: $dir/node$i.log)"
done

# The front: one address, any live node; a node whose /healthz fails (dead, fenced or draining) leaves rotation.
{
    cat <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
frontend smb
    bind 127.0.0.$base:$port
    default_backend castorage
backend castorage
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz
    http-check expect status 200
CFG
    for ((i = 1; i <= n; i++)); do
        echo "    server node$i 127.0.0.$((base + i)):$port check port 4461 addr 127.0.0.$((base + i)) inter 250ms fall 1 rise 1"
    done
} >"$dir/haproxy.cfg"
haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid" >>"$dir/haproxy.log" 2>&1 || die "haproxy did not start (log: $dir/haproxy.log)"
wait_port "127.0.0.$base" "$port" 10 || die "the front address does not answer"

echo "front:    127.0.0.$base:$port  (smb://127.0.0.$base/share, smb://127.0.0.$base/ca)"
for ((i = 1; i <= n; i++)); do
    echo "node$i:    127.0.0.$((base + i)):$port  admin 127.0.0.$((base + i)):4460  metrics http://127.0.0.$((base + i)):4461/metrics"
done
echo "users:    $TEST_USER1 / $TEST_PASS1, $TEST_USER2 / $TEST_PASS2"
echo "postgres: $conn"
