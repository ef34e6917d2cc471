#!/usr/bin/env bash
# Cluster scaling beside single-node Samba, on loopback: not a test; it prints figures and ratios.
#
#   bench/cluster.sh [--nodes 1,3] [--clients 16] [--seconds 5] [--repeat 3] [--warmup-runs 3] [--opens 10000] [--no-samba]
#
# For Samba's smbd (one server: tests/conformance/samba-peer.sh) and for a CaStorage cluster of each size in
# --nodes (cluster/up.sh: PostgreSQL, the nodes, HAProxy as the front; every client goes through the front, which
# spreads connections over the nodes, leastconn):
#   files   create (a new file) + write 4 KiB + close, files/s by --clients clients, each on its own connection
#           and strictly sequential (bench/CaStorage.Bench files). CaStorage: the CA share with persistent handles
#           (DH2Q persistent: each open's state committed to PostgreSQL before its reply); Samba: its plain share
#           (it has no continuous availability). Best of --repeat.
#   locks   lock+unlock pairs/s by --clients clients, each on its own file (CaStorage.Bench lockers). Best of --repeat.
#   rss     CaStorage only: each node's resident memory idle, then with --opens persistent opens held through the
#           front (CaStorage.Bench hold), with each node's share of them: opens held by its clients
#           (castorage_smb_opens) and files whose actors it runs for its shards (castorage_state_active_files).
# Each measurement is preceded by --warmup-runs unrecorded runs of the same workload (for every server alike): a
# node just started spends its first seconds compiling its hot paths, three nodes on two cores three times over
# (measured: the 3-node file rate climbs from ~560 to ~1250 files/s over its first four runs, then stays; with
# DOTNET_TieredCompilation=0 it starts at its full rate).
# The cluster's data directory is on /dev/shm when it exists (PostgreSQL's fsyncs are then cheap), else /tmp.
# Logs: artifacts/bench/cluster-*.log. Every process started here is stopped.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/lib/common.sh
source "$HERE/../tests/lib/common.sh"
usage_if_asked "$0" "${1:-}"

sizes="1,3" clients=16 seconds=5 repeat=3 warmups=3 opens=10000 samba=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nodes) sizes="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --warmup-runs) warmups="$2"; shift 2 ;;
        --opens) opens="$2"; shift 2 ;;
        --no-samba) samba=0; shift ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
need dotnet haproxy curl
logdir="$REPO_ROOT/artifacts/bench"
mkdir -p "$logdir"
bench_dll="$HERE/CaStorage.Bench/bin/Release/net10.0/CaStorage.Bench.dll"
log "building bench/CaStorage.Bench (Release)"
timeout 900 dotnet build -c Release "$HERE/CaStorage.Bench/CaStorage.Bench.csproj" -nologo -v minimal >"$logdir/bench-build.log" 2>&1 ||
    die "bench/CaStorage.Bench did not build (log: $logdir/bench-build.log)"
ulimit -n 65536 2>/dev/null || true

base_dir=/tmp
[[ -d /dev/shm && -w /dev/shm ]] && base_dir=/dev/shm
cluster_dir="" samba_dir="$(mktemp -d /tmp/castorage-bench-samba.XXXXXX)" hold_pid=""
cleanup() {
    [[ -n "$hold_pid" ]] && stop_pid "$hold_pid" 5
    [[ -n "$cluster_dir" ]] && bash "$REPO_ROOT/cluster/down.sh" --dir "$cluster_dir" >/dev/null 2>&1
    [[ -f "$samba_dir/smbd.pid" ]] && "$REPO_ROOT/tests/conformance/samba-peer.sh" stop --dir "$samba_dir" >/dev/null 2>&1
    rm -rf "$samba_dir"
    true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A R   # R[server.metric]

# best_of SERVER METRIC HOST PORT SHARE ARGS... : the best RESULT of --repeat CaStorage.Bench runs into R.
best_of() {
    local s="$1" metric="$2" host="$3" port="$4" share="$5" r o v best=""
    shift 5
    for ((r = 1 - warmups; r <= repeat; r++)); do
        o="$(timeout -k 5 300 dotnet "$bench_dll" "$@" --host "$host" --port "$port" --share "$share" \
            --user "$TEST_USER1" --pass "$TEST_PASS1" --seconds "$seconds" --warmup 1 2>&1)" || true
        printf '%s\n' "$o" >>"$logdir/cluster-$s.log"
        v="$(grep -m1 '^RESULT ' <<<"$o" | awk '{ print $3 }')"
        if ((r < 1)); then log "  $s $metric warm-up: ${v:-failed}"; continue; fi
        [[ -z "$v" ]] && { log "  $s $metric run $r failed: $(tail -n 1 <<<"$o")"; continue; }
        log "  $s $metric run $r: $v"
        [[ -z "$best" || "$v" -gt "$best" ]] && best="$v"
    done
    R[$s.$metric]="${best:-error}"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# A node that does not answer its metrics (or died) shows "n/a" instead of ending the bench (pipefail).
# awk reads to the end: leaving early would make curl fail (SIGPIPE) after the value was found.
metric_of() { local v; v="$(curl -fsS --max-time 10 "$1" 2>/dev/null | awk -v m="$2" '$1 == m && !f { print $2; f = 1 }')" || true; echo "${v:-n/a}"; }

if [[ $samba == 1 ]]; then
    log "Samba smbd"
    : >"$logdir/cluster-samba.log"
    if t="$("$REPO_ROOT/tests/conformance/samba-peer.sh" start --dir "$samba_dir" 2>"$logdir/cluster-samba-start.log")"; then
        best_of samba files "${t%:*}" "${t##*:}" share files --clients "$clients" --durable none --files-per-dir 256
        best_of samba locks "${t%:*}" "${t##*:}" share lockers --clients "$clients"
        "$REPO_ROOT/tests/conformance/samba-peer.sh" stop --dir "$samba_dir" >/dev/null 2>&1 || true
    else
        log "smbd did not start (log: $logdir/cluster-samba-start.log)"
    fi
fi

for n in ${sizes//,/ }; do
    s="c$n"
    log "CaStorage, $n node(s)"
    : >"$logdir/cluster-$s.log"
    cluster_dir="$(mktemp -d "$base_dir/castorage-bench-cluster.XXXXXX")"
    rmdir "$cluster_dir"
    port="$(free_port 127.0.0.50)"
    bash "$REPO_ROOT/cluster/up.sh" "$n" --dir "$cluster_dir" --port "$port" --base 50 >"$logdir/cluster-$s-up.log" 2>&1 ||
        die "the $n-node cluster did not start (log: $logdir/cluster-$s-up.log)"
    best_of "$s" files 127.0.0.50 "$port" ca files --clients "$clients" --durable persistent --files-per-dir 256
    best_of "$s" locks 127.0.0.50 "$port" ca lockers --clients "$clients"
    # Where the state tier's work ran: a node's own file actors, or a hop to the shard's owner (files and locks runs).
    for ((i = 1; i <= n; i++)); do
        url="http://127.0.0.$((50 + i)):4461/metrics"
        R[$s.local$i]="$(metric_of "$url" castorage_cluster_state_calls_local_total)"
        R[$s.remote$i]="$(metric_of "$url" castorage_cluster_state_calls_remote_total)"
    done
    # Memory: idle, then with the persistent opens held (the files bench's opens are closed by now).
    for ((i = 1; i <= n; i++)); do R[$s.idle$i]="$(rss_kib "$(cat "$cluster_dir/node$i.pid")")"; done
    fifo="$cluster_dir/hold.in"
    mkfifo "$fifo"
    dotnet "$bench_dll" hold --host 127.0.0.50 --port "$port" --share ca --user "$TEST_USER1" --pass "$TEST_PASS1" \
        --clients "$clients" --count "$opens" --durable persistent --hold 600 <"$fifo" >"$cluster_dir/hold.out" 2>>"$logdir/cluster-$s.log" &
    hold_pid=$!
    exec 8>"$fifo"
    for _ in $(seq 1 600); do
        grep -q '^HOLDING' "$cluster_dir/hold.out" 2>/dev/null && break
        kill -0 "$hold_pid" 2>/dev/null || break
        sleep 0.5
    done
    R[$s.held]="$(awk '/^HOLDING/ { print $2 " opens, " $4 " persistent" }' "$cluster_dir/hold.out")"
    sleep 2
    for ((i = 1; i <= n; i++)); do
        R[$s.rss$i]="$(rss_kib "$(cat "$cluster_dir/node$i.pid")")"
        url="http://127.0.0.$((50 + i)):4461/metrics"
        R[$s.conn_opens$i]="$(metric_of "$url" castorage_smb_opens)"
        R[$s.actors$i]="$(metric_of "$url" castorage_state_active_files)"
    done
    exec 8>&-
    stop_pid "$hold_pid" 120
    hold_pid=""
    bash "$REPO_ROOT/cluster/down.sh" --dir "$cluster_dir" >/dev/null 2>&1
    cluster_dir=""
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "== cluster benchmark: $clients clients through the front, best of $repeat x ${seconds} s after $warmups warm-up run(s) =="
printf '%-28s %10s' "metric" "samba"
for n in ${sizes//,/ }; do printf ' %10s' "${n}-node"; done
echo
for m in files locks; do
    printf '%-28s %10s' "$([[ $m == files ]] && echo "files/s (CA, persistent)" || echo "lock+unlock pairs/s")" "${R[samba.$m]:-n/a}"
    for n in ${sizes//,/ }; do printf ' %10s' "${R[c$n.$m]:-n/a}"; done
    echo
done
first="${sizes%%,*}"
for n in ${sizes//,/ }; do
    for m in files locks; do
        echo "ratio ${m}: ${n}-node / samba $(ratio "${R[c$n.$m]:-}" "${R[samba.$m]:-}"), ${n}-node / ${first}-node $(ratio "${R[c$n.$m]:-}" "${R[c$first.$m]:-}")"
    done
done
echo
for n in ${sizes//,/ }; do
    echo "${n}-node, ${R[c$n.held]:-no opens} held:"
    for ((i = 1; i <= n; i++)); do
        idle="${R[c$n.idle$i]:-0}" rss="${R[c$n.rss$i]:-0}"
        printf '  node%d: RSS %6d MiB idle, %6d MiB holding (+%d MiB); its clients hold %s opens, its shards %s files\n' \
            "$i" "$((idle / 1024))" "$((rss / 1024))" "$(((rss - idle) / 1024))" "${R[c$n.conn_opens$i]:-?}" "${R[c$n.actors$i]:-?}"
        printf '         state-tier calls in the files and locks runs: %s answered here, %s sent to the owner\n' \
            "${R[c$n.local$i]:-?}" "${R[c$n.remote$i]:-?}"
    done
done
