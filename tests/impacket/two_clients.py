#!/usr/bin/python3
"""Two impacket clients on two connections: lease breaks and byte-range locks.

usage: two_clients.py [--target HOST:PORT] [--target2 HOST:PORT] [--home HOST:PORT] [--share NAME]
                      [--dialects 3.0.2,2.1] [--suite NAME] [--list]

Without --target a CaStorage server is started (the Release build, as
tests/lib/common.sh starts it: random free port on 127.0.0.1, a fresh data
directory, the two test accounts) and stopped at the end. --target runs
the same cases against any server, e.g. Samba's smbd from
tests/conformance/samba-peer.sh, to check the script itself. --target2
connects client 2 elsewhere: another node of a cluster (tests/cluster/run.sh).
--home creates each file through a third node first: a cluster keeps a file's
state where it was created, so both clients' nodes then reach that third node.

Cases (each one counted; any exception or timeout fails the case and the
ones that depend on it):

  lease.<dialect>.*   (for each dialect: 3.0.2 with SMB2_CREATE_REQUEST_LEASE_V2,
                       2.1 with SMB2_CREATE_REQUEST_LEASE)
    granted           client 1 opens a file with an RWH lease; the response
                      grants RWH
    break_received    client 2 opens the same file for write (in a thread);
                      client 1 reads an unsolicited LEASE_BREAK (command
                      0x12, MessageId 0xFFFFFFFFFFFFFFFF, StructureSize 44,
                      its lease key, RWH -> a state without W, ACK_REQUIRED)
    create_parked     client 2's create has not completed 1 s after the
                      break (an interim STATUS_PENDING is allowed)
    ack_answered      client 1's acknowledgement (OPLOCK_BREAK request,
                      StructureSize 36) is answered STATUS_SUCCESS
    create_completes  client 2's create then completes with STATUS_SUCCESS
  lock.*              (SMB 3.0.2)
    granted           client 1 takes an exclusive lock on bytes 0..99
    write_conflict    client 2's WRITE at offset 10 fails
                      STATUS_FILE_LOCK_CONFLICT
    blocking_pending  client 2's blocking LOCK on the range is answered with
                      an interim STATUS_PENDING (async) and no final answer
                      within 1 s
    unlock            client 1 unlocks (STATUS_SUCCESS)
    blocking_granted  client 2's LOCK then completes with STATUS_SUCCESS
    write_after       client 2's WRITE to the range now succeeds
    holder_reversed   client 1's WRITE to the range now fails
                      STATUS_FILE_LOCK_CONFLICT (client 2 holds the lock)

Every wait is bounded (10 s). Last line: "impacket: N passed, N failed";
exit status 0 only if none failed.

impacket 0.10 quirks (see /work/shared/STACK.md): SMBConnection refuses
3.0.2, so the SMB3 class is used directly; 3.1.1 is not used (its signing
key is wrong). Requests are built with impacket's structures and sent with
SMB3.sendSMB; responses are read straight from the NetBIOS session so that
interim responses and unsolicited breaks are seen as they arrive.
"""
import argparse
import os
import random
import struct
import sys
import threading
import time
import traceback

from smbtest import *  # noqa: F401,F403 - the shared client, constants and server (tests/admin imports them from here)
from smbtest import (
    WAIT, UNSOLICITED, STATUS_SUCCESS, STATUS_FILE_LOCK_CONFLICT, RWH, DIALECTS, SHARE_ALL, st,
    Results, Client, create_result, lease_state_of, lease_str, open_plain, Server, repo_root, exit_on_sigterm,
    test_accounts, comma_list,
    FILE_READ_DATA, FILE_WRITE_DATA, SMB2_OPLOCK_BREAK, SMB2_OPLOCK_LEVEL_LEASE, SMB2_DIALECT_302,
    SMB2LeaseBreakNotification, SMB2_LEASE_WRITE_CACHING, SMB2_LOCKFLAG_EXCLUSIVE_LOCK, SMB2_LOCKFLAG_UNLOCK,
    SMB2_LOCKFLAG_FAIL_IMMEDIATELY, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
)


def case_names(dialects):
    names = []
    for d in dialects:
        names += [f"lease.{d}.{c}" for c in
                  ("granted", "break_received", "create_parked", "ack_answered", "create_completes")]
    names += [f"lock.{c}" for c in
              ("granted", "write_conflict", "blocking_pending", "unlock", "blocking_granted",
               "write_after", "holder_reversed")]
    return names


# ---------------------------------------------------------------- scenarios

def lease_scenario(res, args, dialect_name):
    dialect = DIALECTS[dialect_name]
    v2 = dialect >= SMB2_DIALECT_302
    pfx = f"lease.{dialect_name}"
    pending = [f"{pfx}.{c}" for c in
               ("granted", "break_received", "create_parked", "ack_answered", "create_completes")]

    def fail_rest(why):
        for n in pending:
            res.bad(n, why)
        pending.clear()

    def done(name):
        pending.remove(name)

    fname = f"impacket-lease-{dialect_name}-{os.getpid()}-{random.randrange(1 << 30)}.txt"
    make_home(args, fname)
    key = os.urandom(16)
    share = SHARE_ALL
    c1 = c2 = None
    worker = None
    try:
        c1 = Client("client1", args.host, args.port, args.user1, args.pass1, args.share, dialect)
        c2 = Client("client2", args.host2, args.port2, args.user2, args.pass2, args.share, dialect)

        # granted
        m = c1.wait(c1.create_send(fname, FILE_READ_DATA | FILE_WRITE_DATA, share, (key, RWH, v2)))
        if m.status != STATUS_SUCCESS:
            return fail_rest(f"client 1 create with lease -> {st(m.status)}")
        fid1, ctxs = create_result(m)
        granted = lease_state_of(ctxs)
        oplock = struct.unpack_from("<B", m.body, 2)[0]
        done(f"{pfx}.granted")
        if not res.check(f"{pfx}.granted", oplock == SMB2_OPLOCK_LEVEL_LEASE and granted == RWH,
                         f"lease {lease_str(granted)} ({'v2' if v2 else 'v1'} context)",
                         f"OplockLevel 0x{oplock:02x}, granted lease {lease_str(granted) if granted is not None else 'none (no RqLs context in the response)'}; wanted RWH"):
            return fail_rest("no RWH lease to break")

        # client 2 opens for write in the background; it records what arrives and when
        state = {"interims": [], "final": None, "error": None, "t_final": None}

        def client2_open():
            try:
                mid = c2.create_send(fname, FILE_READ_DATA | FILE_WRITE_DATA, share)
                state["final"] = c2.wait(mid, timeout=3 * WAIT, interims=state["interims"])
                state["t_final"] = time.monotonic()
            except Exception as e:  # noqa: BLE001 - reported as a failed case
                state["error"] = f"{type(e).__name__}: {e}"

        worker = threading.Thread(target=client2_open, name="client2-create", daemon=True)
        worker.start()

        # break_received
        try:
            b = c1.recv(WAIT)
        except TimeoutError as e:
            done(f"{pfx}.break_received")
            res.bad(f"{pfx}.break_received", str(e))
            return fail_rest("no lease break")
        done(f"{pfx}.break_received")
        problems = []
        if b.command != SMB2_OPLOCK_BREAK:
            problems.append(f"command 0x{b.command:02x}, wanted 0x12")
        if b.message_id != UNSOLICITED:
            problems.append(f"MessageId 0x{b.message_id:x}, wanted 0xFFFFFFFFFFFFFFFF")
        size = struct.unpack_from("<H", b.body, 0)[0] if len(b.body) >= 2 else -1
        n = None
        if size != 44:
            problems.append(f"StructureSize {size}, wanted 44 (lease break)")
        else:
            n = SMB2LeaseBreakNotification(b.body[:44])
            if n["LeaseKey"] != key:
                problems.append("LeaseKey is not client 1's")
            if n["CurrentLeaseState"] != RWH:
                problems.append(f"CurrentLeaseState {lease_str(n['CurrentLeaseState'])}, wanted RWH")
            if n["NewLeaseState"] & SMB2_LEASE_WRITE_CACHING:
                problems.append(f"NewLeaseState {lease_str(n['NewLeaseState'])} still has W")
            if not n["Flags"] & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED:
                problems.append("ACK_REQUIRED not set")
        if problems:
            res.bad(f"{pfx}.break_received", "; ".join(problems) + f" ({b!r})")
            return fail_rest("malformed lease break")
        res.ok(f"{pfx}.break_received",
               f"LEASE_BREAK {lease_str(n['CurrentLeaseState'])} -> {lease_str(n['NewLeaseState'])}, ACK_REQUIRED"
               + (f", epoch {n['NewEpoch']}" if v2 else ""))
        new_state = n["NewLeaseState"]

        # create_parked: give the server a second to (wrongly) complete client 2's open
        time.sleep(1.0)
        done(f"{pfx}.create_parked")
        if state["final"] is not None or state["error"] is not None:
            got = state["error"] or f"{st(state['final'].status)}"
            res.bad(f"{pfx}.create_parked", f"client 2's create completed before the ack: {got}")
        else:
            res.ok(f"{pfx}.create_parked",
                   f"not completed 1 s after the break; interim STATUS_PENDING received: {'yes' if state['interims'] else 'no'}")

        # ack_answered
        t_ack = time.monotonic()
        a = c1.wait(c1.lease_ack_send(key, new_state))
        done(f"{pfx}.ack_answered")
        asize = struct.unpack_from("<H", a.body, 0)[0] if len(a.body) >= 2 else -1
        res.check(f"{pfx}.ack_answered", a.status == STATUS_SUCCESS and asize == 36,
                  f"lease break response, state {lease_str(struct.unpack_from('<I', a.body, 24)[0]) if asize == 36 else '?'}",
                  f"{st(a.status)}, StructureSize {asize}")

        # create_completes
        worker.join(WAIT)
        done(f"{pfx}.create_completes")
        if worker.is_alive():
            res.bad(f"{pfx}.create_completes", f"client 2's create did not complete within {WAIT:.0f}s of the ack")
        elif state["error"]:
            res.bad(f"{pfx}.create_completes", state["error"])
        elif state["final"].status != STATUS_SUCCESS:
            res.bad(f"{pfx}.create_completes", f"client 2's create -> {st(state['final'].status)}")
        else:
            fid2, _ = create_result(state["final"])
            res.ok(f"{pfx}.create_completes",
                   f"STATUS_SUCCESS {1000 * (state['t_final'] - t_ack):.1f} ms after the ack was sent")
            c2.close(fid2)
        c1.close(fid1)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        fail_rest(f"{type(e).__name__}: {e}")
    finally:
        fail_rest("not reached")
        for c in (c1, c2):
            if c:
                c.disconnect()   # also ends a stuck client-2 wait (socket closed)
        if worker is not None:
            worker.join(2)


def lock_scenario(res, args):
    pfx = "lock"
    pending = [f"{pfx}.{c}" for c in
               ("granted", "write_conflict", "blocking_pending", "unlock", "blocking_granted",
                "write_after", "holder_reversed")]

    def fail_rest(why):
        for n in pending:
            res.bad(n, why)
        pending.clear()

    def result(name, cond, detail, why):
        pending.remove(name)
        return res.check(name, cond, detail, why)

    fname = f"impacket-lock-{os.getpid()}-{random.randrange(1 << 30)}.txt"
    make_home(args, fname)
    c1 = c2 = None
    try:
        c1 = Client("client1", args.host, args.port, args.user1, args.pass1, args.share, SMB2_DIALECT_302)
        c2 = Client("client2", args.host2, args.port2, args.user2, args.pass2, args.share, SMB2_DIALECT_302)
        fid1 = open_plain(c1, fname, FILE_READ_DATA | FILE_WRITE_DATA)
        fid2 = open_plain(c2, fname, FILE_READ_DATA | FILE_WRITE_DATA)

        m = c1.wait(c1.lock_send(fid1, 0, 100, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY))
        if not result(f"{pfx}.granted", m.status == STATUS_SUCCESS, "exclusive lock on bytes 0..99",
                      f"client 1 LOCK -> {st(m.status)}"):
            return fail_rest("client 1 holds no lock")

        m = c2.wait(c2.write_send(fid2, 10, b"x" * 10))
        result(f"{pfx}.write_conflict", m.status == STATUS_FILE_LOCK_CONFLICT, st(m.status),
               f"client 2 WRITE at 10 -> {st(m.status)}, wanted STATUS_FILE_LOCK_CONFLICT")

        interims = []
        lock_mid = c2.lock_send(fid2, 0, 100, SMB2_LOCKFLAG_EXCLUSIVE_LOCK)
        early = None
        # The interim first (bounded), then no final answer for 1 s.
        try:
            early = c2.wait(lock_mid, timeout=WAIT, interims=interims, stop_on_interim=True)
        except TimeoutError:
            pass
        if interims and early is None:
            try:
                early = c2.wait(lock_mid, timeout=1.0, interims=interims)
            except TimeoutError:
                early = None
        if early is not None:
            result(f"{pfx}.blocking_pending", False, "",
                   f"client 2's blocking LOCK was answered {st(early.status)} while client 1 holds the lock")
            return fail_rest("blocking lock did not go pending")
        if not result(f"{pfx}.blocking_pending", bool(interims),
                      f"interim STATUS_PENDING, AsyncId 0x{interims[0].raw[32:40][::-1].hex() if interims else '?'}, no final answer after 1 s",
                      f"no interim STATUS_PENDING within {WAIT:.0f}s"):
            return fail_rest("blocking lock did not go pending")

        m = c1.wait(c1.lock_send(fid1, 0, 100, SMB2_LOCKFLAG_UNLOCK))
        result(f"{pfx}.unlock", m.status == STATUS_SUCCESS, "", f"client 1 UNLOCK -> {st(m.status)}")

        t0 = time.monotonic()
        try:
            m = c2.wait(lock_mid, timeout=WAIT)
            result(f"{pfx}.blocking_granted", m.status == STATUS_SUCCESS,
                   f"STATUS_SUCCESS {1000 * (time.monotonic() - t0):.1f} ms after the unlock",
                   f"client 2's blocking LOCK -> {st(m.status)}")
        except TimeoutError:
            result(f"{pfx}.blocking_granted", False, "", f"no final answer within {WAIT:.0f}s of the unlock")
            return fail_rest("client 2's lock never completed")

        m = c2.wait(c2.write_send(fid2, 10, b"y" * 10))
        result(f"{pfx}.write_after", m.status == STATUS_SUCCESS, "client 2 WRITE at 10: STATUS_SUCCESS",
               f"client 2 WRITE at 10 -> {st(m.status)}")

        m = c1.wait(c1.write_send(fid1, 10, b"z" * 10))
        result(f"{pfx}.holder_reversed", m.status == STATUS_FILE_LOCK_CONFLICT,
               "client 1 WRITE at 10: STATUS_FILE_LOCK_CONFLICT",
               f"client 1 WRITE at 10 -> {st(m.status)}, wanted STATUS_FILE_LOCK_CONFLICT")

        c2.wait(c2.lock_send(fid2, 0, 100, SMB2_LOCKFLAG_UNLOCK))
        c1.close(fid1)
        c2.close(fid2)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        fail_rest(f"{type(e).__name__}: {e}")
    finally:
        fail_rest("not reached")
        for c in (c1, c2):
            if c:
                c.disconnect()


def make_home(args, fname):
    """With --home: the file is created (and closed) through that node first. A cluster keeps a file's state on
    the node that created it, so the clients' two nodes then both reach a third one, and breaks travel back."""
    if not args.home:
        return
    host, _, port = args.home.rpartition(":")
    c = Client("home", host, int(port), args.user1, args.pass1, args.share, SMB2_DIALECT_302)
    try:
        m = c.wait(c.create_send(fname, FILE_READ_DATA | FILE_WRITE_DATA, SHARE_ALL))
        if m.status != STATUS_SUCCESS:
            raise RuntimeError(f"creating {fname} through --home {args.home}: {st(m.status)}")
        c.close(create_result(m)[0])
    finally:
        c.disconnect()


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", help="HOST:PORT of a running server (default: start CaStorage)")
    ap.add_argument("--target2", help="HOST:PORT for client 2 (default: client 1's): another node of a cluster")
    ap.add_argument("--home", help="HOST:PORT through which each file is created first (a third node of a cluster)")
    ap.add_argument("--suite", default="impacket", help="name on the last line")
    ap.add_argument("--share", default="share")
    ap.add_argument("--dialects", default="3.0.2,2.1", help="dialects of the lease cases (3.0.2, 2.1)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    args = ap.parse_args()
    test_accounts(args)
    dialects = comma_list(ap, args.dialects, DIALECTS, "dialect")
    names = case_names(dialects)
    if args.list:
        print("\n".join(names))
        return 0

    exit_on_sigterm()
    res = Results()
    server = None
    try:
        if args.target:
            args.host, _, port = args.target.rpartition(":")
            args.port = int(port)
        else:
            server = Server(repo_root(), [(args.user1, args.pass1), (args.user2, args.pass2)])
            args.host, args.port = server.host, server.port
            print(f"CaStorage on {args.host}:{args.port} (pid {server.proc.pid})", flush=True)
        args.host2, args.port2 = args.host, args.port
        if args.target2:
            args.host2, _, port2 = args.target2.rpartition(":")
            args.port2 = int(port2)
        for d in dialects:
            lease_scenario(res, args, d)
        lock_scenario(res, args)
    except Exception as e:  # noqa: BLE001 - nothing ran: every case fails
        traceback.print_exc()
        for n in names[res.passed + res.failed:]:
            res.bad(n, f"{type(e).__name__}: {e}")
    finally:
        if server is not None:
            server.stop()
    return res.summary(args.suite)


if __name__ == "__main__":
    sys.exit(main())
