#!/usr/bin/env bash
# impacket suite: two impacket clients on two connections against one server
# (lease break with the second open parked until the ack; byte-range lock
# conflict, blocking lock pending until the unlock). See two_clients.py.
#
#   run.sh [--target HOST:PORT] [--dialects 3.0.2,2.1]
#
# Without --target two_clients.py starts the Release CaStorage server
# (random free port on 127.0.0.1, fresh data dir, the two test accounts;
# log in artifacts/impacket/server.log) and stops it. --target runs the
# same cases against any server, e.g.
#   tests/conformance/samba-peer.sh run -- bash -c 'tests/impacket/run.sh --target $SAMBA_PEER'
#
# Last line: "impacket: N passed, N failed"; exit 0 only if none failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"

case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac

script="$HERE/two_clients.py"
if [[ ! -x "$SYS_PYTHON" ]] || ! "$SYS_PYTHON" -c 'import impacket.smb3' 2>/dev/null; then
    echo "missing dependency: $SYS_PYTHON with impacket (apt-get install python3-impacket)" >&2
    echo "impacket: 0 passed, 1 failed"
    exit 1
fi
ncases="$("$SYS_PYTHON" "$script" --list "$@" | wc -l)"
export TEST_USER1 TEST_PASS1 TEST_USER2 TEST_PASS2 CASTORAGE_DLL
rc=0
# Bounded: every wait inside is 10 s; the whole run normally takes ~5 s.
timeout -k 5 300 "$SYS_PYTHON" "$script" "$@" || rc=$?
if [[ $rc == 124 || $rc == 137 ]]; then
    echo "two_clients.py did not finish within 300 s" >&2
    echo "impacket: 0 passed, $ncases failed"
fi
exit "$rc"
