#!/usr/bin/env bash
# Samba's smbd as a reference peer on loopback, with a fully private
# configuration (nothing from /etc/samba or /var/lib/samba is read or
# written). Needs root (smbd switches to the connecting user).
#
#   samba-peer.sh start [--dir DIR] [--addr ADDR] [--port PORT]
#       Starts smbd, prints ADDR:PORT on stdout and returns; smbd keeps
#       running. DIR (default $SAMBA_PEER_DIR or /tmp/castorage-samba-peer)
#       holds smb.conf, passdb, logs, smbd.pid, the share (DIR/share).
#   samba-peer.sh stop [--dir DIR]
#       Stops the smbd started by `start` with the same DIR.
#   samba-peer.sh run [--addr ADDR] [--port PORT] -- COMMAND [ARGS...]
#       Starts smbd in a fresh temp dir, runs COMMAND with
#       SAMBA_PEER=ADDR:PORT, SAMBA_PEER_ADDR, SAMBA_PEER_PORT,
#       SAMBA_PEER_DIR and SAMBA_PEER_SHARE_PATH exported, stops smbd and
#       exits with COMMAND's status.
#
# Share `share` (DIR/share) is writable by the two test users
# (testuser / testuser2 by default, see tests/lib/common.sh); the Unix
# accounts are created if missing. Default ADDR is 127.0.0.2, default
# PORT a random free one.
set -euo pipefail

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2; }

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
dir=""
addr="127.0.0.2"
port=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --addr) addr="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage ;;
        *) if [[ "$cmd" == run ]]; then break; fi; die "unknown option $1" ;;
    esac
done

ensure_unix_user() {
    local u="$1"
    if ! id "$u" >/dev/null 2>&1; then
        useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" \
            || die "cannot create Unix user $u"
    fi
}

smbd_pid_from_dir() {
    local d="$1"
    [[ -f "$d/smbd.pid" ]] || return 1
    cat "$d/smbd.pid"
}

# do_stop DIR : stop smbd and its helpers (they share smbd's process group).
do_stop() {
    local d="$1" pid i
    pid="$(smbd_pid_from_dir "$d" 2>/dev/null)" || { log "samba-peer: no smbd.pid in $d"; return 0; }
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    # Children (per-connection smbds, samba-dcerpcd, rpcd_*) stay in the
    # process group smbd created for itself; end whatever is left of it.
    if [[ -f "$d/smbd.pgid" ]]; then
        local pg
        pg="$(cat "$d/smbd.pgid")"
        if [[ "$pg" =~ ^[0-9]+$ ]] && [[ "$pg" -gt 1 ]]; then
            kill -TERM -- "-$pg" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                kill -0 -- "-$pg" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pg" 2>/dev/null || true
        fi
    fi
    rm -f "$d/smbd.pid" "$d/smbd.pgid"
}

# do_start DIR ADDR PORT : start smbd; print ADDR:PORT.
do_start() {
    local d="$1" a="$2" p="$3"
    [[ "$(id -u)" == 0 ]] || die "samba-peer.sh must run as root (smbd changes to the session user)"
    need smbd smbpasswd useradd
    if [[ -f "$d/smbd.pid" ]] && kill -0 "$(cat "$d/smbd.pid")" 2>/dev/null; then
        die "smbd already running from $d (pid $(cat "$d/smbd.pid")); run: $0 stop --dir $d"
    fi
    if [[ -d "$d" ]] && [[ -n "$(ls -A "$d")" ]] && [[ ! -f "$d/smb.conf" ]]; then
        die "$d exists, is not empty and is not a samba-peer dir; refusing to wipe it"
    fi
    rm -rf "$d"
    mkdir -p "$d"/{private,lock,state,cache,pid,ncalrpc,binddns,log,share}
    chmod 0755 "$d"
    chmod 0700 "$d/private"
    chmod 0777 "$d/share"
    [[ -n "$p" ]] || p="$(free_port "$a")"

    ensure_unix_user "$TEST_USER1"
    ensure_unix_user "$TEST_USER2"

    cat >"$d/smb.conf" <<EOF
[global]
    server role = standalone server
    workgroup = WORKGROUP
    netbios name = SAMBAPEER
    interfaces = $a/8
    bind interfaces only = yes
    smb ports = $p
    disable netbios = yes
    private dir = $d/private
    lock directory = $d/lock
    state directory = $d/state
    cache directory = $d/cache
    pid directory = $d/pid
    ncalrpc dir = $d/ncalrpc
    binddns dir = $d/binddns
    log file = $d/log/log.%m
    max log size = 10000
    log level = 1
    passdb backend = tdbsam:$d/private/passdb.tdb
    map to guest = never
    obey pam restrictions = no
    unix password sync = no
    usershare max shares = 0
    usershare path =
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    server min protocol = SMB2_02
    server max protocol = SMB3_11
    server signing = auto
    server multi channel support = yes
    kernel oplocks = no
    kernel share modes = no
    posix locking = no
    smb2 leases = yes
    durable handles = yes
    ea support = yes
    store dos attributes = yes
    vfs objects = acl_xattr streams_xattr
    panic action = /bin/true

[share]
    path = $d/share
    read only = no
    browseable = yes
    create mask = 0777
    directory mask = 0777
EOF

    printf '%s\n%s\n' "$TEST_PASS1" "$TEST_PASS1" | smbpasswd -c "$d/smb.conf" -a -s "$TEST_USER1" >>"$d/log/setup.log" 2>&1
    printf '%s\n%s\n' "$TEST_PASS2" "$TEST_PASS2" | smbpasswd -c "$d/smb.conf" -a -s "$TEST_USER2" >>"$d/log/setup.log" 2>&1

    # --foreground keeps the pid ours; smbd puts itself in a new process
    # group, which do_stop uses to end the helpers too.
    smbd --foreground -s "$d/smb.conf" </dev/null >>"$d/log/smbd.stdout" 2>&1 &
    local pid=$!
    echo "$pid" >"$d/smbd.pid"
    if ! wait_port "$a" "$p" 30 "$pid"; then
        log "samba-peer: smbd did not start; see $d/log"
        tail -n 20 "$d/log/log.smbd" "$d/log/smbd.stdout" >&2 2>/dev/null || true
        do_stop "$d"
        return 1
    fi
    ps -o pgid= -p "$pid" | tr -d ' ' >"$d/smbd.pgid"
    echo "$a:$p"
}

case "$cmd" in
    start)
        do_start "${dir:-${SAMBA_PEER_DIR:-/tmp/castorage-samba-peer}}" "$addr" "$port"
        ;;
    stop)
        do_stop "${dir:-${SAMBA_PEER_DIR:-/tmp/castorage-samba-peer}}"
        ;;
    run)
        [[ $# -gt 0 ]] || die "run: no command given"
        if [[ -n "$dir" ]]; then
            tmp="$dir"
            trap 'do_stop "$tmp"' EXIT
        else
            tmp="$(mktemp -d /tmp/castorage-samba-peer.XXXXXX)"
            trap 'do_stop "$tmp"; rm -rf "$tmp"' EXIT
        fi
        trap 'exit 130' INT TERM
        target="$(do_start "$tmp" "$addr" "$port")"
        export SAMBA_PEER="$target" SAMBA_PEER_ADDR="${target%:*}" SAMBA_PEER_PORT="${target##*:}"
        export SAMBA_PEER_DIR="$tmp" SAMBA_PEER_SHARE_PATH="$tmp/share"
        rc=0
        "$@" || rc=$?
        exit "$rc"
        ;;
    *) usage ;;
esac
