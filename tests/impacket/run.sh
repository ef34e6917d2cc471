#!/usr/bin/env bash
# impacket suites.
#
#   run.sh [--target HOST:PORT] [--dialects 3.0.2,2.1]
#       "impacket": two impacket clients on two connections against one
#       server (lease break with the second open parked until the ack;
#       byte-range lock conflict, blocking lock pending until the unlock).
#       See two_clients.py.
#   run.sh restart [--stores sqlite,postgres]
#       "impacket-restart": a persistent handle with an RWH lease and a
#       byte-range lock on a CA share survives a SIGKILL and restart of the
#       server, with the SQLite and with the PostgreSQL state store (a
#       private PostgreSQL from tests/lib/postgres.sh); a durable handle
#       survives a TCP drop. See restart.py.
#
# Without --target two_clients.py starts the Release CaStorage server
# (random free port on 127.0.0.1, fresh data dir, the two test accounts;
# log in artifacts/impacket/server.log) and stops it. --target runs the
# same cases against any server, e.g.
#   tests/conformance/samba-peer.sh run -- bash -c 'tests/impacket/run.sh --target $SAMBA_PEER'
# restart.py always starts (and kills, and restarts) its own servers; logs
# in artifacts/impacket/restart-<store>.log.
#
# Last line: "<suite>: N passed, N failed"; exit 0 only if none failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
usage_if_asked "$0" "${1:-}"

suite=impacket
script="$HERE/two_clients.py"
if [[ "${1:-}" == restart ]]; then
    shift
    suite=impacket-restart
    script="$HERE/restart.py"
fi
if [[ ! -x "$SYS_PYTHON" ]] || ! "$SYS_PYTHON" -c 'import impacket.smb3' 2>/dev/null; then
    echo "missing dependency: $SYS_PYTHON with impacket (apt-get install python3-impacket)" >&2
    echo "$suite: 0 passed, 1 failed"
    exit 1
fi
ncases="$("$SYS_PYTHON" "$script" --list "$@" | wc -l)"
export TEST_USER1 TEST_PASS1 TEST_USER2 TEST_PASS2 CASTORAGE_DLL
rc=0
# Bounded: every wait inside is 10 s (30 s for a server or PostgreSQL start);
# two_clients.py normally takes ~5 s, restart.py ~10 s.
timeout -k 5 300 "$SYS_PYTHON" "$script" "$@" || rc=$?
if [[ $rc == 124 || $rc == 137 ]]; then
    echo "$(basename "$script") did not finish within 300 s" >&2
    echo "$suite: 0 passed, $ncases failed"
fi
exit "$rc"
