#!/usr/bin/env bash
# smbclient smoke test: the everyday file operations of a real client, per
# dialect.
#
#   smoke.sh [--target HOST:PORT] [--share NAME] [--user USER%PASS] [--size-mib N]
#
# Without --target a CaStorage server is started on 127.0.0.1 (random free
# port, fresh data dir) and stopped at the end. --target runs the same
# steps against any server (e.g. Samba's smbd from
# tests/conformance/samba-peer.sh) to check the script itself.
#
# For each of SMB2_02, SMB2_10, SMB3_00, SMB3_11 and SMB3_11 with
# --client-protection=sign: ls, put a random file (default 100 MiB), get it
# back (sha256 must match), mkdir, rename (the file into the new dir), rm,
# rmdir. Each (dialect, step) is one test case. smbclient's exit status is
# not trusted: a step fails on any NT_STATUS_ in its output and its effect
# is checked by listing.
#
# Last line: "smbclient: N passed, N failed"; exit 0 only if none failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"

target=""
share="share"
user=""
size_mib=100
step_timeout=300
while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        --share) share="$2"; shift 2 ;;
        --user) user="$2"; shift 2 ;;
        --size-mib) size_mib="$2"; shift 2 ;;
        --timeout) step_timeout="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done
[[ -n "$user" ]] || user="$TEST_USER1%$TEST_PASS1"

need smbclient sha256sum timeout head

results_dir="$REPO_ROOT/artifacts/smbclient"
mkdir -p "$results_dir"
work="$(mktemp -d /tmp/castorage-smoke.XXXXXX)"
# The payload lives on tmpfs when there is one, so the disk is not the test.
if [[ -d /dev/shm && -w /dev/shm ]]; then
    payload_dir="$(mktemp -d /dev/shm/castorage-smoke.XXXXXX)"
else
    payload_dir="$work"
fi
cleanup() {
    stop_castorage
    rm -rf "$work" "$payload_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

client_conf="$work/client/smb.conf"
write_client_conf "$client_conf"

configs=("SMB2_02" "SMB2_10" "SMB3_00" "SMB3_11" "SMB3_11-sign")
steps_per_config=7   # ls put get mkdir rename rm rmdir
all_cases=$((${#configs[@]} * steps_per_config))

if [[ -n "$target" ]]; then
    split_target "$target"
    host="$TARGET_HOST"
    port="$TARGET_PORT"
    wait_port "$host" "$port" 10 || { echo "target $target does not accept connections" >&2; echo "smbclient: 0 passed, $all_cases failed"; exit 1; }
else
    host=127.0.0.1
    port="$(free_port "$host")"
    if ! start_castorage "$host" "$port" "$work/data" "$results_dir/server.log"; then
        echo "CaStorage server could not be started (log: $results_dir/server.log); every case counts as failed" >&2
        echo "smbclient: 0 passed, $all_cases failed"
        exit 1
    fi
fi

payload="$payload_dir/payload.bin"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$payload"
payload_sum="$(sha256sum "$payload" | cut -d' ' -f1)"
payload_size=$((size_mib * 1024 * 1024))

passed=0
failed=0
failed_names=()
ok() { passed=$((passed + 1)); echo "PASS $1"; }
bad() {
    failed=$((failed + 1))
    failed_names+=("$1")
    echo "FAIL $1: $2"
}

# smb CONFIG_ARGS_NAME COMMANDS : run smbclient once; output in $out.
out=""
smb() {
    local -n _args="$1"
    out="$(timeout -k 5 "$step_timeout" smbclient -s "$client_conf" "//$host/$share" -p "$port" \
        -U "$user" "${_args[@]}" -c "$2" 2>&1 </dev/null)" || true
    printf '=== %s\n%s\n' "$2" "$out" >>"$logf"
}
has_status_error() { grep -q 'NT_STATUS_' <<<"$out"; }
first_error() { grep -m1 -o 'NT_STATUS_[A-Z_0-9]*' <<<"$out" || echo "unexpected output"; }

# listed NAME : true if the last listing ($out) has entry NAME; sets
# entry_attr and entry_size.
entry_attr="" entry_size=""
listed() {
    local line
    line="$(awk -v n="$1" '{ if (index($0, "  " n " ") == 1) { print; exit } }' <<<"$out")"
    [[ -n "$line" ]] || return 1
    # "  NAME   ATTRS  SIZE  Day Mon dd hh:mm:ss yyyy"
    read -r entry_attr entry_size < <(sed -E "s/^  .{${#1}} +([A-Z]*) +([0-9]+) .*/\1 \2/" <<<"$line")
    return 0
}

for cfg in "${configs[@]}"; do
    # shellcheck disable=SC2034  # args is read by smb() through a nameref
    case "$cfg" in
        *-sign) args=(-m "${cfg%-sign}" --client-protection=sign) ;;
        *) args=(-m "$cfg") ;;
    esac
    logf="$results_dir/$cfg.log"
    : >"$logf"
    base="smoke-$$-$cfg"
    file="$base.bin"
    dir="$base.dir"
    copy="$payload_dir/$cfg.copy"
    tc="smbclient.$cfg"

    # ls
    smb args "ls"
    if has_status_error; then bad "$tc.ls" "$(first_error)"
    elif listed "." && [[ "$entry_attr" == *D* ]] && grep -q 'blocks of size' <<<"$out"; then ok "$tc.ls"
    else bad "$tc.ls" "listing has no '.' directory entry or no free-space line"; fi

    # put
    smb args "put $payload $file"
    if has_status_error; then bad "$tc.put" "$(first_error)"
    else
        smb args "ls $file"
        if has_status_error; then bad "$tc.put" "listing after put: $(first_error)"
        elif listed "$file" && [[ "$entry_size" == "$payload_size" ]]; then ok "$tc.put"
        else bad "$tc.put" "uploaded file not listed with size $payload_size (got '${entry_size}')"; fi
    fi

    # get
    rm -f "$copy"
    smb args "get $file $copy"
    if has_status_error; then bad "$tc.get" "$(first_error)"
    elif [[ ! -f "$copy" ]]; then bad "$tc.get" "no local copy written"
    elif [[ "$(sha256sum "$copy" | cut -d' ' -f1)" != "$payload_sum" ]]; then
        bad "$tc.get" "sha256 differs (got $(stat -c %s "$copy") bytes)"
    else ok "$tc.get"; fi
    rm -f "$copy"

    # mkdir
    smb args "mkdir $dir"
    if has_status_error; then bad "$tc.mkdir" "$(first_error)"
    else
        smb args "ls $dir"
        if has_status_error; then bad "$tc.mkdir" "listing after mkdir: $(first_error)"
        elif listed "$dir" && [[ "$entry_attr" == *D* ]]; then ok "$tc.mkdir"
        else bad "$tc.mkdir" "new directory not listed as a directory"; fi
    fi

    # rename: the file moves into the new directory under a new name
    smb args "rename $file $dir\\moved.bin"
    if has_status_error; then bad "$tc.rename" "$(first_error)"
    else
        smb args "ls $dir\\*"
        if has_status_error; then bad "$tc.rename" "listing after rename: $(first_error)"
        elif ! listed "moved.bin" || [[ "$entry_size" != "$payload_size" ]]; then
            bad "$tc.rename" "renamed file not listed in $dir with size $payload_size"
        else
            smb args "ls $file"
            if grep -q 'NT_STATUS_NO_SUCH_FILE\|NT_STATUS_OBJECT_NAME_NOT_FOUND' <<<"$out"; then ok "$tc.rename"
            else bad "$tc.rename" "old name still present after rename"; fi
        fi
    fi

    # rm
    smb args "rm $dir\\moved.bin"
    if has_status_error; then bad "$tc.rm" "$(first_error)"
    else
        smb args "ls $dir\\*"
        if has_status_error; then bad "$tc.rm" "listing after rm: $(first_error)"
        elif listed "moved.bin"; then bad "$tc.rm" "file still listed after rm"
        elif listed "."; then ok "$tc.rm"
        else bad "$tc.rm" "directory listing after rm lacks '.'"; fi
    fi

    # rmdir
    smb args "rmdir $dir"
    if has_status_error; then bad "$tc.rmdir" "$(first_error)"
    else
        smb args "ls"
        if has_status_error; then bad "$tc.rmdir" "listing after rmdir: $(first_error)"
        elif listed "$dir"; then bad "$tc.rmdir" "directory still listed after rmdir"
        elif listed "."; then ok "$tc.rmdir"
        else bad "$tc.rmdir" "root listing after rmdir lacks '.'"; fi
    fi
done

if [[ $failed -gt 0 ]]; then
    echo "failed cases (smbclient transcripts in $results_dir):"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "smbclient: $passed passed, $failed failed"
[[ $failed == 0 ]]
