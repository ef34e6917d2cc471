#!/usr/bin/env bash
# smbtorture conformance ratchet for CaStorage.
#
#   run-smbtorture.sh [options]                      run every entry of smbtorture.pass
#   run-smbtorture.sh [options] TEST...              run just these tests
#   run-smbtorture.sh [options] --list-candidates SUITE...
#                                                    run every test of the suites and
#                                                    report which pass (to grow the list)
# Options:
#   --target HOST:PORT   use a running server instead of starting CaStorage
#   --share NAME         share to test (default: share)
#   --pass-file FILE     ratchet file (default: tests/conformance/smbtorture.pass)
#   --timeout SECS       per-test limit (default 300)
#   --results DIR        per-test logs (default: artifacts/smbtorture)
#   --out FILE           also write "PASS name" / "FAIL name  # reason" lines to FILE
#   -v, --verbose        print each failing test's subunit summary
#
# One smbtorture invocation per test, so one failure cannot hide others.
# A test name may be a single test (smb2.connect) or a group
# (smb2.rw); the entry passes only if every subtest succeeds. A skipped
# subtest is a failure: listed tests must pass. smbtorture matches names as
# globs, so a name containing a space is written with '?' in its place
# ("smb2.delete-on-close-perms.OVERWRITE_IF?Existing"). An entry may add
# smbtorture arguments after the name; "--share=NAME" among them picks the
# share for that test (e.g. "--share=ca", the continuously available share).
#
# Without --target a CaStorage server is started on 127.0.0.1 (random free
# port, fresh data dir, users testuser/testuser2, shares "share" and
# "noperm"); if it dies during a test, that test fails and the server is
# restarted for the next one.
#
# Last line: "smbtorture: N passed, N failed". Exit status 0 only if
# nothing failed (an empty pass list passes, with 0 passed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"

target=""
share="share"
pass_file="$HERE/smbtorture.pass"
per_test_timeout=300
results_dir="$REPO_ROOT/artifacts/smbtorture"
out_file=""
verbose=0
candidates=0
names=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        --share) share="$2"; shift 2 ;;
        --pass-file) pass_file="$2"; shift 2 ;;
        --timeout) per_test_timeout="$2"; shift 2 ;;
        --results) results_dir="$2"; shift 2 ;;
        --out) out_file="$2"; shift 2 ;;
        -v|--verbose) verbose=1; shift ;;
        --list-candidates) candidates=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) names+=("$1"); shift ;;
    esac
done

need smbtorture timeout "$SYS_PYTHON"
[[ -x "$SYS_PYTHON" ]] || die "missing $SYS_PYTHON"

work="$(mktemp -d /tmp/castorage-torture.XXXXXX)"
server_log="$results_dir/server.log"
mkdir -p "$results_dir"
client_conf="$work/client/smb.conf"
write_client_conf "$client_conf"

cleanup() {
    stop_castorage
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the list of tests: entries are "NAME [extra smbtorture args...]" ----
entries=()
if [[ $candidates == 1 ]]; then
    [[ ${#names[@]} -gt 0 ]] || die "--list-candidates needs at least one suite name"
    listing="$(smbtorture --list 2>/dev/null | tail -n +2)"
    for suite in "${names[@]}"; do
        found=0
        # --list prints SUITE.TCASE.TEST; a one-test tcase repeats its name
        # as TEST. Run tcase-level names where that holds, else the full name.
        while IFS= read -r full; do
            [[ -n "$full" ]] || continue
            last="${full##*.}"
            parent="${full%.*}"
            if [[ "${parent##*.}" == "$last" ]]; then name="$parent"; else name="$full"; fi
            entries+=("${name// /?}")
            found=1
        done < <(printf '%s\n' "$listing" | awk -v s="$suite" 'index($0, s ".") == 1 || $0 == s' | awk '!seen[$0]++')
        [[ $found == 1 ]] || die "no tests found for suite '$suite' in smbtorture --list"
    done
    # de-duplicate, keep order
    mapfile -t entries < <(printf '%s\n' "${entries[@]}" | awk '!seen[$0]++')
elif [[ ${#names[@]} -gt 0 ]]; then
    entries=("${names[@]}")
else
    [[ -f "$pass_file" ]] || die "pass list not found: $pass_file"
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%%#*}"
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        [[ -n "$line" ]] && entries+=("$line")
    done <"$pass_file"
fi

# ---- server ----
host="" port=""
own_server=0
data_dir="$work/data"
start_server() {
    port="$(free_port 127.0.0.1)"
    host=127.0.0.1
    rm -rf "$data_dir"
    mkdir -p "$data_dir"
    echo "=== starting CaStorage on $host:$port ($(date -u +%FT%TZ))" >>"$server_log"
    # Shares as in Samba's selftest: the share under test, and "noperm", which
    # smb2.ioctl.bug14788.* tree-connects to (\\HOST\noperm) to send
    # handle-less FSCTLs there. Here it is a plain share: nothing is denied.
    # "ca" is continuously available: the persistent-handle tests run there.
    mkdir -p "$data_dir/share" "$data_dir/noperm" "$data_dir/ca"
    start_castorage "$host" "$port" "$data_dir" "$server_log" \
        --share "share=$data_dir/share" --share "noperm=$data_dir/noperm" --share "ca=$data_dir/ca,ca"
}
server_alive() {
    [[ $own_server == 1 ]] || return 0   # external target: not ours to judge
    [[ -n "$CASTORAGE_PID" ]] && kill -0 "$CASTORAGE_PID" 2>/dev/null && port_open "$host" "$port"
}

if [[ -n "$target" ]]; then
    split_target "$target"
    host="$TARGET_HOST"
    port="$TARGET_PORT"
    wait_port "$host" "$port" 10 || die "target $target does not accept connections"
elif [[ ${#entries[@]} -gt 0 ]]; then
    own_server=1
    : >"$server_log"
    if ! start_server; then
        echo "CaStorage server could not be started (log: $server_log); every test counts as failed" >&2
        echo "smbtorture: 0 passed, ${#entries[@]} failed"
        exit 1
    fi
fi

# ---- run ----
passed=0
failed=0
failed_names=()
[[ -n "$out_file" ]] && : >"$out_file"
for entry in "${entries[@]}"; do
    read -r name rest <<<"$entry"
    extra=()
    [[ -n "${rest:-}" ]] && read -r -a extra <<<"$rest"
    test_share="$share"
    args=()
    for a in "${extra[@]}"; do
        if [[ "$a" == --share=* ]]; then test_share="${a#--share=}"; else args+=("$a"); fi
    done
    extra=("${args[@]}")
    safe="${name//[^A-Za-z0-9._-]/_}"
    logf="$results_dir/$safe.log"
    if ! server_alive; then
        # It died after the previous verdict or could not be restarted.
        stop_castorage
        if ! start_server; then
            failed=$((failed + 1))
            failed_names+=("$name")
            echo "FAIL $name (0s): CaStorage server is not running and could not be restarted"
            [[ -n "$out_file" ]] && echo "FAIL $name" >>"$out_file"
            continue
        fi
    fi
    t0=$(date +%s)
    rc=0
    (
        cd "$work"
        timeout -k 10 "$per_test_timeout" smbtorture -s "$client_conf" \
            "//$host/$test_share" -p "$port" -U "$TEST_USER1%$TEST_PASS1" \
            --option="torture:user2name=$TEST_USER2" \
            --option="torture:user2password=$TEST_PASS2" \
            -m SMB3_11 --format=subunit "${extra[@]}" "$name"
    ) >"$logf" 2>&1 </dev/null || rc=$?
    dt=$(($(date +%s) - t0))
    verdict_rc=0
    summary="$("$SYS_PYTHON" "$HERE/subunit_verdict.py" "$rc" <"$logf")" || verdict_rc=$?
    verdict="$(printf '%s\n' "$summary" | tail -n 1)"
    if ! server_alive; then
        verdict_rc=1
        verdict="VERDICT FAIL server died or stopped answering during the test"
        echo "=== server died or hung during $name ($(date -u +%FT%TZ))" >>"$server_log"
        stop_castorage
        start_server || echo "CaStorage could not be restarted after $name" >&2
    fi
    if [[ $verdict_rc == 0 ]]; then
        passed=$((passed + 1))
        echo "PASS $name (${dt}s)"
        [[ -n "$out_file" ]] && echo "PASS $name" >>"$out_file"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "FAIL $name (${dt}s): ${verdict#VERDICT FAIL }"
        if [[ $verbose == 1 ]]; then
            printf '%s\n' "$summary" | sed '$d' | sed 's/^/    /'
            echo "    log: $logf"
        fi
        [[ -n "$out_file" ]] && echo "FAIL $name  # ${verdict#VERDICT FAIL }" >>"$out_file"
    fi
done

if [[ $failed -gt 0 && $candidates == 0 ]]; then
    echo "failed tests (logs in $results_dir):"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "smbtorture: $passed passed, $failed failed"
if [[ $candidates == 1 ]]; then
    exit 0   # discovery mode: failures are the point, not an error
fi
[[ $failed == 0 ]]
