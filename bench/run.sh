#!/usr/bin/env bash
# CaStorage vs Samba's smbd, side by side on loopback, same client for both.
# Not a test: it prints figures and ratios (CaStorage / Samba).
#
#   bench/run.sh [--only PARTS] [--servers castorage,samba]
#                [--size-mib 1024] [--files 2000] [--sessions 1000] [--repeat 3]
#                [--lock-depths 1,8] [--clients 8] [--seconds 3] [--data-dir DIR]
#                [--durable-clients 1,16] [--files-per-dir 256]
#
# PARTS (comma-separated, default all):
#   throughput  (a) sequential write and read of one file (default 1 GiB):
#               smbclient put/get from/to /dev/shm, timed; best of --repeat,
#               with all servers running at once and alternating round by
#               round after one untimed warm-up round each
#   small       (b) create + write 4 KiB + close of --files files:
#               one smbclient `mput` (prompt off); best of --repeat
#   (c) peak server memory during throughput + small is always reported
#       when either runs (CaStorage: its process; smbd: sum over its
#       process group, which holds the per-connection children)
#   sessions    (d) memory per idle authenticated SMB 3.0.2 session:
#               bench/sessions.py opens --sessions connections+sessions at
#               once (impacket), server memory before/after, divided
#   locking     (e) lock+unlock pairs per second on one open from one client
#               (one SMB 3.0.2 connection), for each of --lock-depths: 1 =
#               strictly sequential, D = D independent lock/unlock sequences
#               (each on its own byte) in flight on the connection;
#               (f) open+close pairs per second of one file by --clients
#               concurrent clients (one connection and session each, each
#               sequential). Client: bench/CaStorage.Bench (C#, built here
#               with dotnet build -c Release; not part of CaStorage.sln);
#               --seconds measured after 1 s of warm-up; best of --repeat
#   durable     (g) the cost of durability: create (a new file) + write
#               4 KiB + close, files/s, by each of --durable-clients
#               concurrent clients (one connection and session each, each
#               sequential; bench/CaStorage.Bench `files`, SMB 3.0.2), on
#               CaStorage's plain share (no durable context), on its CA
#               share (DH2Q persistent: state committed to the store before
#               each CREATE reply, write-through writes), and on Samba's
#               plain share (no durable context) as the reference; the
#               grants are checked (every CA create must come back
#               persistent). For the CA runs, the state store's commits/s
#               and mean batch size (mutations per commit) over the measured
#               window, from CaStorage's /metrics. Each client puts its
#               files in directories of its own, a new one every
#               --files-per-dir files (0: all in one directory, which then
#               grows by thousands of files a run: both servers scan the
#               directory on each create of a new name, for a name that
#               differs only in case, and that scan then dominates).
#               --seconds after 1 s of warm-up; best of --repeat
#
# Both servers keep their files under --data-dir (default: a directory in
# /dev/shm when that tmpfs takes user and security xattrs, as Samba's
# streams_xattr/acl_xattr need; else /tmp), so the disk is not measured.
# CaStorage's state store (SQLite) lives there too: for (g) with a disk's
# fsync cost, give --data-dir a directory on a disk (e.g. /var/tmp).
#
# Needs root (smbd), smbclient, smbd, python3-impacket, and for CaStorage
# the Release build (dotnet build -c Release CaStorage.sln). A server that
# cannot start is reported as "n/a" with the reason; the other still runs.
# Every step has a time limit; every process started here is stopped.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/lib/common.sh
source "$HERE/../tests/lib/common.sh"

parts="throughput,small,sessions,locking,durable"
servers="castorage,samba"
size_mib=1024
nfiles=2000
nsessions=1000
repeat=3
dialect=SMB3_11
data_base=""
lock_depths="1,8"
nclients=8
bench_seconds=3
durable_clients="1,16"
files_per_dir=256
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) parts="$2"; shift 2 ;;
        --servers) servers="$2"; shift 2 ;;
        --size-mib) size_mib="$2"; shift 2 ;;
        --files) nfiles="$2"; shift 2 ;;
        --sessions) nsessions="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --dialect) dialect="$2"; shift 2 ;;
        --data-dir) data_base="$2"; shift 2 ;;
        --lock-depths) lock_depths="$2"; shift 2 ;;
        --clients) nclients="$2"; shift 2 ;;
        --seconds) bench_seconds="$2"; shift 2 ;;
        --durable-clients) durable_clients="$2"; shift 2 ;;
        --files-per-dir) files_per_dir="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done
has_part() { [[ ",$parts," == *",$1,"* ]]; }
for p in ${parts//,/ }; do
    case "$p" in throughput|small|sessions|locking|durable) ;; *) die "unknown part '$p'" ;; esac
done
for s in ${servers//,/ }; do
    case "$s" in castorage|samba) ;; *) die "unknown server '$s'" ;; esac
done

need smbclient timeout sha256sum curl
[[ -x "$SYS_PYTHON" ]] || die "missing $SYS_PYTHON"
if has_part sessions; then
    "$SYS_PYTHON" -c 'import impacket' 2>/dev/null || die "python3-impacket is not installed"
fi
bench_dll="$HERE/CaStorage.Bench/bin/Release/net10.0/CaStorage.Bench.dll"
bench_error=""
if has_part locking || has_part durable; then
    need dotnet
    log "building bench/CaStorage.Bench (Release)"
    mkdir -p "$REPO_ROOT/artifacts/bench"
    if ! timeout 900 dotnet build -c Release "$HERE/CaStorage.Bench/CaStorage.Bench.csproj" -nologo -v minimal \
        >"$REPO_ROOT/artifacts/bench/bench-build.log" 2>&1; then
        bench_error="bench/CaStorage.Bench did not build (log: artifacts/bench/bench-build.log)"
        log "$bench_error"
    fi
fi
# 1,000 sessions need more than 1,024 descriptors, in the client and in
# CaStorage (which inherits this limit).
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

work="$(mktemp -d /tmp/castorage-bench.XXXXXX)"
chmod 0755 "$work"
shm="$(mktemp -d /dev/shm/castorage-bench.XXXXXX)"
if [[ -z "$data_base" ]]; then
    data_base=/tmp
    if touch "$shm/.x" 2>/dev/null &&
       setfattr -n user.castorage -v 1 "$shm/.x" 2>/dev/null &&
       setfattr -n security.castorage -v 1 "$shm/.x" 2>/dev/null; then
        data_base=/dev/shm
    fi
    rm -f "$shm/.x"
fi
data="$(mktemp -d "$data_base/castorage-bench-data.XXXXXX")"
chmod 0755 "$data"
client_conf="$work/client/smb.conf"
write_client_conf "$client_conf"
logdir="$REPO_ROOT/artifacts/bench"
mkdir -p "$logdir"

watch_pid=""
declare -A HOST PORT WATCH  # (a): each server's address and memory watcher while all run at once
sessions_pid=""
samba_dir="$data/samba"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    [[ -n "$sessions_pid" ]] && stop_pid "$sessions_pid" 5
    [[ -n "$watch_pid" ]] && stop_pid "$watch_pid" 5
    for w in "${WATCH[@]}"; do stop_pid "$w" 5; done
    exec 7>&- 2>/dev/null || true
    stop_castorage
    if [[ -f "$samba_dir/smbd.pid" ]]; then
        "$HERE/../tests/conformance/samba-peer.sh" stop --dir "$samba_dir" || true
    fi
    rm -rf "$work" "$shm" "$data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A R   # R[server.metric] = value

# ---- payloads ----
big="$shm/big.bin"
small_dir="$shm/small"
if has_part throughput; then
    log "preparing ${size_mib} MiB payload"
    head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$big"
    big_sum="$(sha256sum "$big" | cut -d' ' -f1)"
fi
if has_part small; then
    mkdir -p "$small_dir"
    head -c 4096 /dev/urandom >"$shm/4k"
    for ((i = 0; i < nfiles; i++)); do cp "$shm/4k" "$small_dir/f$i.dat"; done
fi

now() { date +%s.%N; }
smb() {  # smb HOST PORT COMMANDS -> output in $out; status in $smb_rc
    smb_rc=0
    out="$(timeout -k 5 600 smbclient -s "$client_conf" "//$1/share" -p "$2" \
        -U "$TEST_USER1%$TEST_PASS1" -m "$dialect" -c "$3" 2>&1 </dev/null)" || smb_rc=$?
}
best() {  # best CURRENT NEW -> the larger
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 > a + 0) print b; else print a }'
}

# ---- per server ----
srv_host="" srv_port="" mem_arg=() metrics_url=""
start_server() {
    local s="$1"
    case "$s" in
        castorage)
            srv_host=127.0.0.1
            srv_port="$(free_port "$srv_host")"
            local mport
            mport="$(free_port "$srv_host")"
            metrics_url="http://$srv_host:$mport/metrics"
            mkdir -p "$data/castorage/share" "$data/castorage/ca"
            # Own metrics port, no admin port: other servers on this machine keep the default ones.
            if ! start_castorage "$srv_host" "$srv_port" "$data/castorage" "$logdir/castorage-server.log" \
                --share "share=$data/castorage/share" --share "ca=$data/castorage/ca,ca" \
                --metrics "$srv_host:$mport" --admin off; then
                R[$s.error]="server did not start (is it built? log: $logdir/castorage-server.log)"
                return 1
            fi
            mem_arg=(--pid "$CASTORAGE_PID")
            ;;
        samba)
            local t
            if ! t="$("$HERE/../tests/conformance/samba-peer.sh" start --dir "$samba_dir" 2>"$logdir/samba-start.log")"; then
                R[$s.error]="smbd did not start (log: $logdir/samba-start.log)"
                return 1
            fi
            srv_host="${t%:*}"
            srv_port="${t##*:}"
            mem_arg=(--pgid "$(cat "$samba_dir/smbd.pgid")")
            ;;
    esac
}
stop_server() {
    case "$1" in
        castorage) stop_castorage ;;
        samba) "$HERE/../tests/conformance/samba-peer.sh" stop --dir "$samba_dir" || true ;;
    esac
}

# start_watch OUT: samples the memory of the server started last (mem_arg) into OUT until stopped; sets watch_started.
# Returns once the first sample is written, so a short part is measured too.
start_watch() {
    local i
    "$SYS_PYTHON" "$HERE/memsample.py" watch "${mem_arg[@]}" --out "$1" &
    watch_started=$!
    for ((i = 0; i < 50; i++)); do
        [[ -s "$1" ]] && return 0
        sleep 0.1
    done
    log "note: memory sampling did not start ($1)"
}

# (a), one round on server $1: put, then get of the file; round 0 is a warm-up and not counted.
# Sets R[$1.write]/R[$1.read] to the best so far; returns 1 on a failure (recorded as "error").
throughput_round() {
    local s="$1" r="$2" t0 t1 w rd copy="$shm/big.copy-$1"
    t0=$(now); smb "${HOST[$s]}" "${PORT[$s]}" "put $big big.bin"; t1=$(now)
    if [[ $smb_rc -ne 0 ]] || grep -q NT_STATUS_ <<<"$out"; then
        R[$s.write]="error"; log "$s put failed: $(grep -m1 NT_STATUS_ <<<"$out" || echo "exit $smb_rc")"; return 1
    fi
    w="$(awk -v m="$size_mib" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", m / (b - a) }')"
    rm -f "$copy"
    t0=$(now); smb "${HOST[$s]}" "${PORT[$s]}" "get big.bin $copy"; t1=$(now)
    if [[ $smb_rc -ne 0 ]] || grep -q NT_STATUS_ <<<"$out"; then
        R[$s.read]="error"; log "$s get failed: $(grep -m1 NT_STATUS_ <<<"$out" || echo "exit $smb_rc")"; return 1
    fi
    rd="$(awk -v m="$size_mib" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", m / (b - a) }')"
    if [[ "$(sha256sum "$copy" | cut -d' ' -f1)" != "$big_sum" ]]; then
        R[$s.read]="corrupt"; log "$s: downloaded file differs from the upload"; return 1
    fi
    rm -f "$copy"
    if [[ $r -eq 0 ]]; then
        log "  $s warm-up: write $w, read $rd MiB/s (not counted)"
        return 0
    fi
    R[$s.write]="$(best "${R[$s.write]:-}" "$w")"
    R[$s.read]="$(best "${R[$s.read]:-}" "$rd")"
    log "  $s run $r: write $w, read $rd MiB/s (best so far: ${R[$s.write]}, ${R[$s.read]})"
}

# (a) with every server running at once, alternating round by round after a warm-up round: this machine's speed drifts
# over minutes (tmpfs pages, page cache, what the previous server left), and a JIT-compiled server runs its first GiB
# on unoptimized code; a block of runs per server measured that more than the servers.
run_throughput_alternating() {
    local s r live=()
    for s in ${servers//,/ }; do
        log "=== $s (throughput, alternating)"
        if ! start_server "$s"; then
            log "$s: ${R[$s.error]}"
            continue
        fi
        HOST[$s]="$srv_host"; PORT[$s]="$srv_port"
        start_watch "$work/peak-$s-a"
        WATCH[$s]=$watch_started
        live+=("$s")
    done
    for ((r = 0; r <= repeat; r++)); do
        local next=()
        for s in "${live[@]}"; do
            if throughput_round "$s" "$r"; then next+=("$s"); fi
        done
        live=("${next[@]}")
    done
    for s in ${servers//,/ }; do
        [[ -n "${WATCH[$s]:-}" ]] || continue
        if [[ -n "${HOST[$s]:-}" ]]; then
            smb "${HOST[$s]}" "${PORT[$s]}" "rm big.bin"
        fi
        stop_pid "${WATCH[$s]}" 5
        stop_server "$s"
    done
}

run_small() {
    local s="$1" r t0 t1 f="" n
    for ((r = 1; r <= repeat; r++)); do
        t0=$(now)
        smb "$srv_host" "$srv_port" "prompt off; mkdir small$r; cd small$r; lcd $small_dir; mput *"
        t1=$(now)
        if [[ $smb_rc -ne 0 ]] || grep -q NT_STATUS_ <<<"$out"; then
            R[$s.small]="error"; log "$s mput failed: $(grep -m1 NT_STATUS_ <<<"$out" || echo "exit $smb_rc")"; return
        fi
        smb "$srv_host" "$srv_port" "ls small$r\\*"
        n="$(grep -cE '^  f[0-9]+\.dat +[A-Z]* +4096 ' <<<"$out" || true)"
        if [[ "$n" != "$nfiles" ]]; then
            R[$s.small]="error"; log "$s: $n of $nfiles files listed after mput"; return
        fi
        f="$(best "$f" "$(awk -v n="$nfiles" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")"
        log "  $s run $r: $f files/s (best so far)"
    done
    R[$s.small]="$f"
}

run_sessions() {
    local s="$1" before after line="" i fifo="$work/sessions.fifo" outf="$work/sessions.out"
    sleep 2
    read -r -a before < <("$SYS_PYTHON" "$HERE/memsample.py" snapshot "${mem_arg[@]}")
    rm -f "$fifo" "$outf"
    mkfifo "$fifo"
    "$SYS_PYTHON" "$HERE/sessions.py" "$srv_host" "$srv_port" "$TEST_USER1" "$TEST_PASS1" "$nsessions" \
        --timeout 900 <"$fifo" >"$outf" 2>"$logdir/sessions-$s.log" &
    sessions_pid=$!
    exec 7>"$fifo"
    for ((i = 0; i < 960 * 4; i++)); do
        line="$(grep -m1 -E '^(READY|FAILED)' "$outf" 2>/dev/null || true)"
        [[ -n "$line" ]] && break
        kill -0 "$sessions_pid" 2>/dev/null || break
        sleep 0.25
    done
    if [[ "$line" != READY* ]]; then
        R[$s.sess_rss]="error"; R[$s.sess_pss]="error"
        log "$s: sessions did not open: ${line:-no answer} (log: $logdir/sessions-$s.log)"
    else
        log "  $s: $line"
        sleep 3   # let the server settle
        read -r -a after < <("$SYS_PYTHON" "$HERE/memsample.py" snapshot "${mem_arg[@]}")
        R[$s.sess_rss]="$(awk -v a="${before[0]}" -v b="${after[0]}" -v n="$nsessions" 'BEGIN { printf "%.1f", (b - a) / n }')"
        R[$s.sess_pss]="$(awk -v a="${before[1]}" -v b="${after[1]}" -v n="$nsessions" 'BEGIN { printf "%.1f", (b - a) / n }')"
        R[$s.sess_detail]="RSS ${before[0]}->${after[0]} KiB, PSS ${before[1]}->${after[1]} KiB, processes ${before[2]}->${after[2]}"
    fi
    echo >&7 || true
    exec 7>&-
    stop_pid "$sessions_pid" 60
    sessions_pid=""
}

# bench_run SERVER METRIC ARGS... : best of --repeat runs of CaStorage.Bench; R[SERVER.METRIC], every run's
# value in R[SERVER.METRIC.runs], the best run's GRANTS and STORE lines (files mode) in R[SERVER.METRIC.grants]
# and R[SERVER.METRIC.store]. The client's output goes to $bench_log.
bench_log=""
bench_run() {
    local s="$1" metric="$2" r line v best_v="" o runs=""
    shift 2
    if [[ -n "$bench_error" ]]; then R[$s.$metric]="n/a"; return; fi
    for ((r = 1; r <= repeat; r++)); do
        o="$(timeout -k 5 300 dotnet "$bench_dll" "$@" --host "$srv_host" --port "$srv_port" \
            --user "$TEST_USER1" --pass "$TEST_PASS1" --seconds "$bench_seconds" --warmup 1 2>&1)" || true
        printf '%s\n' "$o" >>"$bench_log"
        line="$(grep -m1 '^RESULT ' <<<"$o" || true)"
        if [[ -z "$line" ]]; then
            R[$s.$metric]="error"
            log "$s $metric failed: $(grep -m1 -vE '^(RESULT|GRANTS|STORE) ' <<<"$o" || echo 'no output')"
            return
        fi
        v="${line##* }"
        runs="${runs:+$runs/}$v"
        if [[ "$(best "$best_v" "$v")" != "$best_v" ]]; then
            best_v="$v"
            R[$s.$metric.grants]="$(grep -m1 '^GRANTS ' <<<"$o" | cut -d' ' -f2- || true)"
            R[$s.$metric.store]="$(grep -m1 '^STORE ' <<<"$o" | cut -d' ' -f2- || true)"
        fi
        log "  $s run $r: $(grep -vE '^(RESULT|GRANTS|STORE) ' <<<"$o" | tail -n 1)"
    done
    R[$s.$metric]="$best_v"
    R[$s.$metric.runs]="$runs"
}

run_locking() {
    local s="$1" d
    bench_log="$logdir/locking-$s.log"
    : >"$bench_log"
    for d in ${lock_depths//,/ }; do
        bench_run "$s" "lock_d$d" locks --depth "$d"
    done
    bench_run "$s" open_close opens --clients "$nclients"
}

# (g): files/s on the plain share (both servers) and, on CaStorage, on the CA share with persistent handles.
run_durable() {
    local s="$1" n
    bench_log="$logdir/durable-$s.log"
    : >"$bench_log"
    for n in ${durable_clients//,/ }; do
        bench_run "$s" "files_plain_c$n" files --clients "$n" --share share --durable none --files-per-dir "$files_per_dir"
        if [[ $s == castorage ]]; then
            bench_run "$s" "files_ca_c$n" files --clients "$n" --share ca --durable persistent --files-per-dir "$files_per_dir" \
                --metrics "$metrics_url"
            # Every create must have come back persistent, else the figure is not the one asked for.
            local g="${R[$s.files_ca_c$n.grants]:-}"
            if [[ -n "$g" ]] && ! awk '{ exit !($2 > 0 && $2 == $6) }' <<<"$g"; then
                log "castorage: CA share, $n clients: not every create was granted a persistent handle ($g)"
                R[$s.files_ca_c$n]="error"
            fi
        fi
    done
}

has_part throughput && run_throughput_alternating

for s in ${servers//,/ }; do
    log "=== $s"
    if has_part throughput && [[ -z "${HOST[$s]:-}" ]]; then
        continue  # it did not start for (a) either
    fi
    if ! start_server "$s"; then
        log "$s: ${R[$s.error]}"
        continue
    fi
    if has_part throughput || has_part small; then
        start_watch "$work/peak-$s"
        watch_pid=$watch_started
        has_part small && run_small "$s"
        stop_pid "$watch_pid" 5
        watch_pid=""
        # Peak over (a), run alternating above, and (b).
        prss=0 ppss=0
        for f in "$work/peak-$s-a" "$work/peak-$s"; do
            [[ -f "$f" ]] || continue
            read -r a b _ <"$f" || true
            [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || continue  # a watch stopped before its first sample
            if (( a > prss )); then prss=$a; fi
            if (( b > ppss )); then ppss=$b; fi
        done
        if (( prss > 0 )); then
            R[$s.peak_rss]="$(awk -v k="$prss" 'BEGIN { printf "%.1f", k / 1024 }')"
            R[$s.peak_pss]="$(awk -v k="$ppss" 'BEGIN { printf "%.1f", k / 1024 }')"
        fi
        if [[ $s == castorage && -n "$CASTORAGE_PID" ]]; then
            R[$s.hwm]="$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$CASTORAGE_PID/status" 2>/dev/null || true)"
        fi
    fi
    has_part sessions && run_sessions "$s"
    has_part locking && run_locking "$s"
    has_part durable && run_durable "$s"
    stop_server "$s"
done

# ---- report ----
val() { local v="${R[$1]:-}"; if [[ -n "$v" ]]; then echo "$v"; elif [[ -n "${R[${1%%.*}.error]:-}" ]]; then echo "n/a"; else echo "-"; fi; }
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else print "-" }'
}
row() {  # row LABEL METRIC [SAMBA_METRIC]
    local c s
    c="$(val "castorage.$2")"
    s="$(val "samba.${3:-$2}")"
    printf '%-54s %10s %10s %9s\n' "$1" "$c" "$s" "$(ratio "$c" "$s")"
}
echo
echo "bench: client smbclient $(smbclient --version | awk '{print $2}') -m $dialect; loopback; $(nproc) cores; server data on $data_base; $(date -u +%FT%TZ)"
printf '%-54s %10s %10s %9s\n' "metric" "CaStorage" "Samba" "CaS/Samba"
if has_part throughput; then
    row "(a) sequential write ${size_mib} MiB, MiB/s (higher better)" write
    row "(a) sequential read ${size_mib} MiB, MiB/s (higher better)" read
fi
if has_part small; then
    row "(b) create+write 4 KiB+close, files/s (higher)" small
fi
if has_part throughput || has_part small; then
    row "(c) peak RSS during (a)+(b), MiB (lower better)" peak_rss
    row "(c) peak PSS during (a)+(b), MiB (lower better)" peak_pss
fi
if has_part sessions; then
    row "(d) RSS per idle 3.0.2 session, KiB (lower)" sess_rss
    row "(d) PSS per idle 3.0.2 session, KiB (lower)" sess_pss
fi
if has_part locking; then
    for d in ${lock_depths//,/ }; do
        if [[ $d == 1 ]]; then
            row "(e) lock+unlock pairs/s, 1 open, sequential (higher)" "lock_d$d"
        else
            row "(e) lock+unlock pairs/s, 1 open, $d in flight (higher)" "lock_d$d"
        fi
    done
    row "(f) open+close/s of 1 file, $nclients clients (higher)" open_close
fi
if has_part durable; then
    for n in ${durable_clients//,/ }; do
        row "(g) new file+write 4 KiB+close/s, plain, $n clients" "files_plain_c$n"
        row "(g) same, CA share+persistent, $n clients (vs plain)" "files_ca_c$n" "files_plain_c$n"
    done
fi
for s in castorage samba; do
    [[ -n "${R[$s.error]:-}" ]] && echo "note: $s: ${R[$s.error]}"
    [[ -n "${R[$s.sess_detail]:-}" ]] && echo "note: $s sessions ($nsessions): ${R[$s.sess_detail]}"
    [[ -n "${R[$s.hwm]:-}" ]] && echo "note: $s VmHWM after (a)+(b): ${R[$s.hwm]} MiB"
done
[[ -n "$bench_error" ]] && echo "note: $bench_error"
if has_part durable; then
    for n in ${durable_clients//,/ }; do
        echo "note: (g) $n client(s): CaStorage CA/plain $(ratio "$(val "castorage.files_ca_c$n")" "$(val "castorage.files_plain_c$n")") (the cost of durability);" \
            "runs files/s: CaStorage plain ${R[castorage.files_plain_c$n.runs]:--}, CA ${R[castorage.files_ca_c$n.runs]:--}, Samba plain ${R[samba.files_plain_c$n.runs]:--}"
        echo "note: (g) $n client(s), CaStorage CA, best run: grants ${R[castorage.files_ca_c$n.grants]:--}; store ${R[castorage.files_ca_c$n.store]:--}"
    done
    last="${durable_clients##*,}"
    echo "note: (g) target: CaStorage CA share >= 0.5 x Samba plain share with $last clients: $(ratio "$(val "castorage.files_ca_c$last")" "$(val "samba.files_plain_c$last")")"
    echo "note: (g) client bench/CaStorage.Bench files, SMB 3.0.2 unsigned, ${bench_seconds}s after 1s warm-up, best of $repeat, $files_per_dir files per directory (0: one directory); server data and CaStorage's SQLite store on $data_base; per-step latencies in $logdir/durable-*.log"
fi
if has_part locking; then
    echo "note: (e)/(f) client bench/CaStorage.Bench, SMB 3.0.2 unsigned, ${bench_seconds}s after 1s warm-up, best of $repeat; client CPU use in $logdir/locking-*.log"
fi
echo "note: Samba memory is the sum over smbd's process group (one process per connection); PSS splits shared pages fairly."
exit 0
