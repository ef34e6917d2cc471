#!/usr/bin/env bash
# admin suite: the admin API against a running node with real clients (Debian's python3-grpcio and smbclient),
# plus castorctl. See grpc_client.py for the cases. The node is the Release build; grpc_client.py starts it on
# free loopback ports in 4600-4699 and stops it (log: artifacts/admin/server.log).
#
#   run.sh [--list]
#
# Last line: "admin: N passed, N failed"; exit 0 only if none failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
usage_if_asked "$0" "${1:-}"

script="$HERE/grpc_client.py"
CASTORCTL_DLL="${CASTORCTL_DLL:-$REPO_ROOT/src/CaStorage.Cli/bin/Release/net10.0/castorctl.dll}"
ncases="$("$SYS_PYTHON" "$script" --list | wc -l)"
missing=""
"$SYS_PYTHON" -c 'import grpc, grpc_tools.protoc' 2>/dev/null || missing+=" python3-grpcio python3-grpc-tools"
"$SYS_PYTHON" -c 'import impacket.smb3' 2>/dev/null || missing+=" python3-impacket"
command -v smbclient >/dev/null || missing+=" smbclient"
command -v openssl >/dev/null || missing+=" openssl"
command -v dotnet >/dev/null || missing+=" dotnet"
[[ -f "$CASTORAGE_DLL" && -f "$CASTORCTL_DLL" ]] || missing+=" (Release build: dotnet build -c Release CaStorage.sln)"
if [[ -n "$missing" ]]; then
    echo "missing dependency:$missing" >&2
    echo "admin: 0 passed, $ncases failed"
    exit 1
fi
[[ "${1:-}" == "--list" ]] && exec "$SYS_PYTHON" "$script" --list

export TEST_USER1 TEST_PASS1 CASTORAGE_DLL CASTORCTL_DLL REPO_ROOT
rc=0
# Bounded: every wait inside is at most 60 s; the whole run normally takes well under a minute.
timeout -k 5 600 "$SYS_PYTHON" "$script" || rc=$?
if [[ $rc == 124 || $rc == 137 ]]; then
    echo "grpc_client.py did not finish within 600 s" >&2
    echo "admin: 0 passed, $ncases failed"
fi
exit "$rc"
