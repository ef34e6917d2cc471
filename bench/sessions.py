#!/usr/bin/python3
"""Open many idle, authenticated SMB 3.0.2 sessions and hold them.

usage: sessions.py HOST PORT USER PASSWORD COUNT [--tree SHARE] [--timeout SECS]

Each session is its own TCP connection: NEGOTIATE (3.0.2 only), NTLM
SESSION_SETUP, and with --tree a TREE_CONNECT. When all are open (or one
fails) it prints "READY <opened> <seconds>" (or "FAILED <opened> <error>")
and waits for a line or EOF on stdin, then closes them and exits. Bounded:
every connection has a socket timeout, and the whole open phase gives up
after --timeout seconds.

Uses impacket 0.10 (Debian python3-impacket) with its quirks in mind
(see /work/shared/STACK.md): SMBConnection refuses dialect 3.0.2, so the
SMB3 class is used directly; 3.1.1 is avoided because impacket derives the
wrong 3.1.1 signing key; encryption it asks for does not matter here
because the sessions stay idle after setup.
"""
import argparse
import sys
import time

from impacket import smb3
from impacket.smb3structs import SMB2_DIALECT_302


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("count", type=int)
    ap.add_argument("--tree", default="")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()

    conns = []
    t0 = time.monotonic()
    try:
        for i in range(a.count):
            if time.monotonic() - t0 > a.timeout:
                raise TimeoutError(f"open phase exceeded {a.timeout}s")
            c = smb3.SMB3(a.host, a.host, sess_port=a.port, timeout=30,
                          preferredDialect=SMB2_DIALECT_302)
            c.login(a.user, a.password)
            if a.tree:
                c.connectTree(a.tree)
            conns.append(c)
            if (i + 1) % 100 == 0:
                print(f"opened {i + 1}", file=sys.stderr, flush=True)
    except Exception as e:  # report, then fall through to hold/close what we have
        print(f"FAILED {len(conns)} {type(e).__name__}: {e}", flush=True)
        for c in conns:
            try:
                c.close_session()
            except Exception:
                pass
        return 1

    print(f"READY {len(conns)} {time.monotonic() - t0:.1f}", flush=True)
    sys.stdin.readline()
    for c in conns:
        try:
            c.close_session()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
