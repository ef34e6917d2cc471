# shellcheck shell=bash
# Shared helpers for the CaStorage test scripts. Source it; do not run it.
#
#   REPO_ROOT            repository root (set here)
#   CASTORAGE_DLL        the Release server build
#   TEST_USER1/TEST_PASS1, TEST_USER2/TEST_PASS2   the two test accounts
#
# Every helper is bounded in time; nothing here loops forever.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CASTORAGE_DLL="${CASTORAGE_DLL:-$REPO_ROOT/src/CaStorage.Server/bin/Release/net10.0/castorage.dll}"

TEST_USER1="${TEST_USER1:-testuser}"
TEST_PASS1="${TEST_PASS1:-Passw0rd!}"
TEST_USER2="${TEST_USER2:-testuser2}"
TEST_PASS2="${TEST_PASS2:-Passw0rd2!}"

# Debian's impacket lives in the system interpreter; a pyenv shim on PATH
# would not see it.
SYS_PYTHON="${SYS_PYTHON:-/usr/bin/python3}"

log() { printf '%s\n' "$*" >&2; }

# usage_if_asked SCRIPT ARG : with -h/--help, print SCRIPT's header comment and exit.
usage_if_asked() {
    case "${2:-}" in
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"; exit 0 ;;
    esac
}
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# need CMD... : fail (not skip) when a dependency is missing.
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "missing dependency: $c (apt-get install smbclient samba-testsuite samba python3-impacket attr python3-grpcio python3-grpc-tools yamllint haproxy postgresql)"
    done
}

# free_port ADDR : print a TCP port that is free on ADDR right now.
free_port() {
    "$SYS_PYTHON" "$REPO_ROOT/tests/lib/free_port.py" "${1:-127.0.0.1}"
}

# port_open HOST PORT : true if a TCP connect succeeds within 1 s.
port_open() {
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_port HOST PORT SECONDS [PID] : wait until HOST:PORT accepts
# connections. Fails early if PID (the server) exits.
wait_port() {
    local host="$1" port="$2" secs="$3" pid="${4:-}" i
    for ((i = 0; i < secs * 4; i++)); do
        if port_open "$host" "$port"; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            log "server process $pid exited before $host:$port opened"
            return 1
        fi
        sleep 0.25
    done
    log "timed out after ${secs}s waiting for $host:$port"
    return 1
}

# stop_pid PID [SECONDS] : TERM, wait (bounded), then KILL. Only for
# processes this script started.
stop_pid() {
    local pid="$1" secs="${2:-10}" i
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop after ${secs}s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# start_castorage ADDR PORT DATADIR LOGFILE [extra server args...]
# Starts the Release server in the background; sets CASTORAGE_PID.
# Waits (30 s) for the port. Returns non-zero with a clear message if the
# build is missing or the server does not come up.
CASTORAGE_PID=""
start_castorage() {
    local addr="$1" port="$2" data="$3" logf="$4"
    shift 4
    if [[ ! -f "$CASTORAGE_DLL" ]]; then
        log "CaStorage server not built: $CASTORAGE_DLL is missing (dotnet build -c Release CaStorage.sln)"
        return 1
    fi
    need dotnet
    mkdir -p "$data/share"   # the default share lives in DATA/share
    dotnet "$CASTORAGE_DLL" --listen "$addr:$port" --data "$data" \
        --user "$TEST_USER1:$TEST_PASS1" --user "$TEST_USER2:$TEST_PASS2" "$@" \
        </dev/null >>"$logf" 2>&1 &
    CASTORAGE_PID=$!
    if ! wait_port "$addr" "$port" "${CASTORAGE_START_TIMEOUT:-30}" "$CASTORAGE_PID"; then
        log "CaStorage did not start; last lines of $logf:"
        tail -n 20 "$logf" >&2 || true
        stop_pid "$CASTORAGE_PID" 5
        CASTORAGE_PID=""
        return 1
    fi
}

stop_castorage() {
    if [[ -n "$CASTORAGE_PID" ]]; then
        stop_pid "$CASTORAGE_PID" 10
        CASTORAGE_PID=""
    fi
}

# split_target HOST:PORT -> sets TARGET_HOST, TARGET_PORT
# shellcheck disable=SC2034  # used by the sourcing scripts
split_target() {
    [[ "$1" == *:* ]] || die "target must be HOST:PORT, got '$1'"
    TARGET_HOST="${1%:*}"
    TARGET_PORT="${1##*:}"
    [[ "$TARGET_PORT" =~ ^[0-9]+$ ]] || die "bad port in '$1'"
}

# write_client_conf FILE : a minimal smb.conf for clients so that no
# system configuration is read.
write_client_conf() {
    local f="$1" d
    d="$(dirname "$f")"
    mkdir -p "$d/client-cache" "$d/client-lock" "$d/client-private" "$d/client-state"
    cat >"$f" <<EOF
[global]
    workgroup = WORKGROUP
    netbios name = CASTEST-CLIENT
    realm =
    security = user
    client min protocol = SMB2_02
    client max protocol = SMB3_11
    name resolve order = host
    disable netbios = yes
    cache directory = $d/client-cache
    lock directory = $d/client-lock
    private dir = $d/client-private
    state directory = $d/client-state
    log level = 0
    load printers = no
EOF
}
