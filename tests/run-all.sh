#!/usr/bin/env bash
# The test command of the project.
#
#   tests/run-all.sh [--only SUITE[,SUITE...]] [--no-build]
#
# SUITE is one of: dotnet, smbtorture, smbclient, impacket, impacket-restart,
# admin, cluster, yamllint
# (default: all, in that order). Steps:
#   build       dotnet build -c Release CaStorage.sln
#   dotnet      dotnet test CaStorage.sln (Release, --no-build), counted from
#               its .trx files; every test project must report
#   smbtorture  tests/conformance/run-smbtorture.sh (the smbtorture.pass ratchet)
#   smbclient   tests/smbclient/smoke.sh (smbclient, 5 dialect configurations)
#   impacket    tests/impacket/run.sh (two impacket clients: lease break,
#               byte-range lock conflict and blocking lock)
#   impacket-restart
#               tests/impacket/run.sh restart (a persistent handle, its lease
#               and byte-range lock survive SIGKILL and restart of the
#               server, SQLite and PostgreSQL store; durable handle after a
#               TCP drop)
#   admin       tests/admin/run.sh (admin API with python3-grpcio and smbclient:
#               list/close a real client's open, metrics, health, reflection,
#               shares, logoff, drain, castorctl, the token rule)
#   cluster     tests/cluster/run.sh (a 3-node cluster from cluster/up.sh with
#               PostgreSQL and HAProxy; clients on two different nodes: lease
#               break and blocking lock across nodes, sharing violation,
#               delete-on-close)
#   yamllint    tests/deploy/yamllint.sh (docker-compose, Helm chart, HAProxy)
# Each suite prints "<suite>: N passed, N failed[, N skipped]" as its last
# line; a suite that cannot run (missing tool, no server, crash, timeout)
# counts as a failure, never as a silent skip.
#
# Logs: artifacts/test-logs/. The very last line is the total:
#   N passed, N failed[, N skipped]
# Exit status 0 only if nothing failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

all_suites=(dotnet smbtorture smbclient impacket impacket-restart admin cluster yamllint)
only=""
build=1
internal_dotnet=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --only=*) only="${1#--only=}"; shift ;;
        --no-build) build=0; shift ;;
        __dotnet-suite) internal_dotnet=1; shift ;;   # internal: run under timeout
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
suites=()
if [[ -n "$only" ]]; then
    IFS=',' read -r -a wanted <<<"$only"
    for w in "${wanted[@]}"; do
        case " ${all_suites[*]} " in
            *" $w "*) suites+=("$w") ;;
            *) echo "unknown suite '$w' (one of: ${all_suites[*]})" >&2; exit 2 ;;
        esac
    done
else
    suites=("${all_suites[@]}")
fi

# Per-suite wall-clock limits (seconds); CI has 90 minutes for everything.
: "${DOTNET_TEST_TIMEOUT:=1800}"
: "${SMBTORTURE_TIMEOUT:=2400}"
: "${SMBCLIENT_TIMEOUT:=900}"
: "${IMPACKET_TIMEOUT:=600}"
: "${ADMIN_TIMEOUT:=600}"
: "${CLUSTER_TIMEOUT:=2400}"
: "${YAMLLINT_TIMEOUT:=120}"

logs="$REPO/artifacts/test-logs"
if [[ $internal_dotnet == 0 ]]; then
    rm -rf "$logs"
fi
mkdir -p "$logs"

total_passed=0
total_failed=0
total_skipped=0
summary=()

record() {   # record NAME PASSED FAILED SKIPPED NOTE
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    total_skipped=$((total_skipped + $4))
    local line="$2 passed, $3 failed"
    [[ $4 -gt 0 ]] && line+=", $4 skipped"
    [[ -n "$5" ]] && line+="  ($5)"
    summary+=("$(printf '  %-16s %s' "$1" "$line")")
}

# run_suite NAME TIMEOUT COMMAND... : run, show output, parse its last
# "<NAME>: N passed, N failed[, N skipped]" line.
run_suite() {
    local name="$1" limit="$2"
    shift 2
    local log="$logs/$name.log" rc=0
    echo
    echo "=== $name ($(date -u +%H:%M:%S))"
    timeout -k 30 "$limit" "$@" 2>&1 | tee "$log" || true
    rc=${PIPESTATUS[0]}
    local last p=0 f=0 s=0 note=""
    last="$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1 || true)"
    if [[ "$last" =~ ^$name:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
        p="${BASH_REMATCH[1]}"
        f="${BASH_REMATCH[2]}"
        s="${BASH_REMATCH[4]:-0}"
    fi
    if [[ $rc == 124 || $rc == 137 ]]; then
        f=$((f + 1))
        note="did not finish within ${limit}s"
    elif [[ -z "$last" ]]; then
        f=$((f + 1))
        note="could not run (exit status $rc, no result line; see $log)"
    elif [[ $rc -ne 0 && $f -eq 0 ]]; then
        f=1
        note="exit status $rc"
    fi
    record "$name" "$p" "$f" "$s" "$note"
}

dotnet_suite() {
    local results="$REPO/artifacts/test-results"
    rm -rf "$results"
    mkdir -p "$results"
    command -v dotnet >/dev/null || { echo "missing dependency: dotnet"; return 2; }
    # Every test project of the solution must report.
    local projects=() p
    while IFS= read -r p; do
        [[ "$p" == *.csproj ]] || continue
        p="${p//\\//}"
        if grep -qE '<IsTestProject>true</IsTestProject>|Microsoft\.NET\.Test\.Sdk' "$REPO/$p" 2>/dev/null; then
            projects+=("$(basename "$p" .csproj)")
        fi
    done < <(dotnet sln "$REPO/CaStorage.sln" list 2>/dev/null)
    echo "test projects: ${projects[*]:-none}"
    local rc=0
    dotnet test "$REPO/CaStorage.sln" -c Release --no-build \
        --logger trx --results-directory "$results" \
        --blame-hang-timeout 10m --blame-hang-dump-type none \
        -v quiet --nologo || rc=$?
    /usr/bin/python3 "$REPO/tests/lib/trx_summary.py" "$results" "$rc" "${projects[@]}"
}

if [[ $internal_dotnet == 1 ]]; then
    dotnet_suite
    exit $?
fi

build_ok=1
if [[ $build == 1 ]]; then
    echo "=== build ($(date -u +%H:%M:%S))"
    if command -v dotnet >/dev/null && timeout 1200 dotnet build -c Release "$REPO/CaStorage.sln" -nologo -v minimal >"$logs/build.log" 2>&1; then
        echo "build: ok"
        summary+=("$(printf '  %-16s %s' build ok)")
    else
        build_ok=0
        grep -E ' error |error [A-Z]+[0-9]+' "$logs/build.log" | sort -u | head -n 30 || tail -n 30 "$logs/build.log"
        echo "build: FAILED (full log: $logs/build.log)"
        record build 0 1 0 "dotnet build -c Release failed"
    fi
fi

for suite in "${suites[@]}"; do
    if [[ $build_ok == 0 ]]; then
        record "$suite" 0 1 0 "not run: build failed"
        continue
    fi
    case "$suite" in
        dotnet) run_suite dotnet "$DOTNET_TEST_TIMEOUT" "$REPO/tests/run-all.sh" __dotnet-suite ;;
        smbtorture) run_suite smbtorture "$SMBTORTURE_TIMEOUT" "$REPO/tests/conformance/run-smbtorture.sh" ;;
        smbclient) run_suite smbclient "$SMBCLIENT_TIMEOUT" "$REPO/tests/smbclient/smoke.sh" ;;
        impacket) run_suite impacket "$IMPACKET_TIMEOUT" "$REPO/tests/impacket/run.sh" ;;
        impacket-restart) run_suite impacket-restart "$IMPACKET_TIMEOUT" "$REPO/tests/impacket/run.sh" restart ;;
        admin) run_suite admin "$ADMIN_TIMEOUT" "$REPO/tests/admin/run.sh" ;;
        cluster) run_suite cluster "$CLUSTER_TIMEOUT" "$REPO/tests/cluster/run.sh" ;;
        yamllint) run_suite yamllint "$YAMLLINT_TIMEOUT" "$REPO/tests/deploy/yamllint.sh" ;;
    esac
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
final="$total_passed passed, $total_failed failed"
[[ $total_skipped -gt 0 ]] && final+=", $total_skipped skipped"
echo "$final"
[[ $total_failed == 0 ]]
