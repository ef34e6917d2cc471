#!/usr/bin/python3
"""Two impacket clients on two connections: lease breaks and byte-range locks.

usage: two_clients.py [--target HOST:PORT] [--share NAME] [--dialects 3.0.2,2.1]
                      [--list]

Without --target a CaStorage server is started (the Release build, as
tests/lib/common.sh starts it: random free port on 127.0.0.1, a fresh data
directory, the two test accounts) and stopped at the end. --target runs
the same cases against any server, e.g. Samba's smbd from
tests/conformance/samba-peer.sh, to check the script itself.

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
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from impacket import smb3
from impacket.nmb import NetBIOSTimeout
from impacket.smb3structs import (
    FILE_READ_DATA, FILE_WRITE_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_SHARE_DELETE,
    FILE_OPEN_IF, FILE_NON_DIRECTORY_FILE, FILE_ATTRIBUTE_NORMAL, SMB2_CREATE, SMB2_CLOSE,
    SMB2_WRITE, SMB2_LOCK, SMB2_OPLOCK_BREAK, SMB2_OPLOCK_LEVEL_LEASE, SMB2_OPLOCK_LEVEL_NONE,
    SMB2_IL_IMPERSONATION, SMB2_DIALECT_21, SMB2_DIALECT_302, SMB2Create, SMB2Create_Response,
    SMB2Close, SMB2Write, SMB2Lock, SMB2_LOCK_ELEMENT, SMB2LeaseBreakNotification,
    SMB2LeaseBreakAcknowledgement, SMB2Packet, SMB2CreateContext, SMB2_CREATE_REQUEST_LEASE,
    SMB2_CREATE_REQUEST_LEASE_V2, SMB2_LEASE_READ_CACHING, SMB2_LEASE_HANDLE_CACHING,
    SMB2_LEASE_WRITE_CACHING, SMB2_LOCKFLAG_EXCLUSIVE_LOCK, SMB2_LOCKFLAG_UNLOCK,
    SMB2_LOCKFLAG_FAIL_IMMEDIATELY, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
)

WAIT = 10.0                       # every bounded wait
UNSOLICITED = 0xFFFFFFFFFFFFFFFF  # MessageId of a break notification
FLAGS_ASYNC = 0x00000002          # SMB2_FLAGS_ASYNC_COMMAND
STATUS_SUCCESS = 0x00000000
STATUS_PENDING = 0x00000103
STATUS_FILE_LOCK_CONFLICT = 0xC0000054
RWH = SMB2_LEASE_READ_CACHING | SMB2_LEASE_WRITE_CACHING | SMB2_LEASE_HANDLE_CACHING
DIALECTS = {"3.0.2": SMB2_DIALECT_302, "2.1": SMB2_DIALECT_21}

STATUS_NAMES = {
    STATUS_SUCCESS: "STATUS_SUCCESS", STATUS_PENDING: "STATUS_PENDING",
    STATUS_FILE_LOCK_CONFLICT: "STATUS_FILE_LOCK_CONFLICT",
    0xC0000055: "STATUS_LOCK_NOT_GRANTED", 0xC0000043: "STATUS_SHARING_VIOLATION",
    0xC0000120: "STATUS_CANCELLED", 0xC000000D: "STATUS_INVALID_PARAMETER",
}


def st(s):
    return STATUS_NAMES.get(s, f"0x{s:08X}")


class CaseFailed(Exception):
    pass


# ---------------------------------------------------------------- results

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failed_names = []

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"PASS {name}" + (f": {detail}" if detail else ""), flush=True)

    def bad(self, name, why):
        self.failed += 1
        self.failed_names.append(name)
        print(f"FAIL {name}: {why}", flush=True)

    def check(self, name, cond, detail, why):
        if cond:
            self.ok(name, detail)
        else:
            self.bad(name, why)
        return cond


def case_names(dialects):
    names = []
    for d in dialects:
        names += [f"lease.{d}.{c}" for c in
                  ("granted", "break_received", "create_parked", "ack_answered", "create_completes")]
    names += [f"lock.{c}" for c in
              ("granted", "write_conflict", "blocking_pending", "unlock", "blocking_granted",
               "write_after", "holder_reversed")]
    return names


# ---------------------------------------------------------------- a raw client

class Client:
    """One connection + session + tree connect; raw requests and responses."""

    def __init__(self, name, host, port, user, password, share, dialect):
        self.name = name
        self.conn = smb3.SMB3(host, host, sess_port=port, timeout=WAIT, preferredDialect=dialect)
        # impacket encrypts every 3.x session the server allows it to; this test wants plain
        # SMB2 frames (no encryption, no signing unless the server requires it).
        self.conn._Connection["SupportsEncryption"] = False
        self.conn.login(user, password)
        self.tid = self.conn.connectTree(share)
        self.stash = []   # messages read while waiting for something else

    def send(self, command, body, tree=True):
        p = self.conn.SMB_PACKET()
        p["Command"] = command
        p["TreeID"] = self.tid if tree else 0
        p["Data"] = body
        return self.conn.sendSMB(p)

    def recv(self, timeout):
        """One message: the oldest stashed one, else the next from the wire; raises TimeoutError."""
        if self.stash:
            return self.stash.pop(0)
        return self._recv_wire(timeout)

    def wait(self, message_id, timeout=WAIT, interims=None, stop_on_interim=False):
        """The final response to message_id; interim STATUS_PENDING answers go to `interims`
        (with stop_on_interim, the first one returns None); anything else read meanwhile is
        stashed, in order, for recv()."""
        deadline = time.monotonic() + timeout
        seen = []
        try:
            while True:
                m = self._recv_wire(deadline - time.monotonic())
                if m.message_id == message_id:
                    if m.status == STATUS_PENDING and m.flags & FLAGS_ASYNC:
                        if interims is not None:
                            interims.append(m)
                        if stop_on_interim:
                            return None
                        continue
                    return m
                seen.append(m)
        finally:
            self.stash.extend(seen)

    def _recv_wire(self, timeout):
        if timeout <= 0:
            raise TimeoutError(f"{self.name}: no answer within the time limit")
        try:
            data = self.conn._NetBIOSSession.recv_packet(timeout)
        except (NetBIOSTimeout, socket.timeout):
            raise TimeoutError(f"{self.name}: no answer within {timeout:.1f}s") from None
        raw = data.get_trailer()
        if not raw.startswith(b"\xfeSMB"):
            raise CaseFailed(f"{self.name}: unexpected frame {raw[:4]!r} (encrypted or SMB1)")
        return Message(raw)

    # ---- commands (send only; the caller waits) ----

    def create_send(self, name, access, share, lease=None):
        """lease = (key16, state, v2) or None."""
        c = SMB2Create()
        c["SecurityFlags"] = 0
        c["RequestedOplockLevel"] = SMB2_OPLOCK_LEVEL_LEASE if lease else SMB2_OPLOCK_LEVEL_NONE
        c["ImpersonationLevel"] = SMB2_IL_IMPERSONATION
        c["DesiredAccess"] = access
        c["FileAttributes"] = FILE_ATTRIBUTE_NORMAL
        c["ShareAccess"] = share
        c["CreateDisposition"] = FILE_OPEN_IF
        c["CreateOptions"] = FILE_NON_DIRECTORY_FILE
        c["NameLength"] = len(name) * 2
        c["Buffer"] = name.encode("utf-16le")
        if lease:
            ctx = lease_context(*lease)
            off = len(SMB2Packet()) + SMB2Create.SIZE + len(c["Buffer"])
            if off % 8:
                c["Buffer"] += b"\x00" * (8 - off % 8)
            c["CreateContextsOffset"] = len(SMB2Packet()) + SMB2Create.SIZE + len(c["Buffer"])
            c["CreateContextsLength"] = len(ctx)
            c["Buffer"] += ctx
        else:
            c["CreateContextsOffset"] = 0
            c["CreateContextsLength"] = 0
        return self.send(SMB2_CREATE, c)

    def close(self, file_id):
        c = SMB2Close()
        c["FileID"] = file_id
        return self.wait(self.send(SMB2_CLOSE, c))

    def write_send(self, file_id, offset, data):
        w = SMB2Write()
        w["FileID"] = file_id
        w["Length"] = len(data)
        w["Offset"] = offset
        w["WriteChannelInfoOffset"] = 0
        w["Buffer"] = data
        return self.send(SMB2_WRITE, w)

    def lock_send(self, file_id, offset, length, flags):
        e = SMB2_LOCK_ELEMENT()
        e["Offset"] = offset
        e["Length"] = length
        e["Flags"] = flags
        lk = SMB2Lock()
        lk["FileID"] = file_id
        lk["LockCount"] = 1
        lk["LockSequence"] = 0
        lk["Locks"] = e.getData()
        return self.send(SMB2_LOCK, lk)

    def lease_ack_send(self, key, state):
        a = SMB2LeaseBreakAcknowledgement()   # StructureSize 36
        a["Flags"] = 0
        a["LeaseKey"] = key
        a["LeaseState"] = state
        a["LeaseDuration"] = 0
        return self.send(SMB2_OPLOCK_BREAK, a)

    def disconnect(self):
        try:
            self.conn.close_session()
        except Exception:
            pass


class Message:
    def __init__(self, raw):
        self.raw = raw
        self.packet = SMB2Packet(raw)
        self.status = self.packet["Status"]
        self.command = self.packet["Command"]
        self.flags = self.packet["Flags"]
        self.message_id = self.packet["MessageID"]
        self.body = raw[64:]

    def __repr__(self):
        return f"<cmd 0x{self.command:02x} mid 0x{self.message_id:x} {st(self.status)} flags 0x{self.flags:x}>"


def lease_context(key, state, v2):
    """An SMB2_CREATE_CONTEXT named RqLs holding SMB2_CREATE_REQUEST_LEASE(_V2)."""
    if v2:
        d = SMB2_CREATE_REQUEST_LEASE_V2()
        d["LeaseKey"] = key
        d["LeaseState"] = state
        d["Flags"] = 0
        d["LeaseDuration"] = 0
        d["ParentLeaseKey"] = b"\x00" * 16
        d["Epoch"] = 0
        d["Reserved"] = 0
    else:
        d = SMB2_CREATE_REQUEST_LEASE()
        d["LeaseKey"] = key
        d["LeaseState"] = state
        d["LeaseFlags"] = 0
        d["LeaseDuration"] = 0
    data = d.getData()
    ctx = SMB2CreateContext()
    ctx["Next"] = 0
    ctx["NameOffset"] = 16
    ctx["NameLength"] = 4
    ctx["Reserved"] = 0
    ctx["DataOffset"] = 24
    ctx["DataLength"] = len(data)
    ctx["Buffer"] = b"RqLs" + b"\x00" * 4 + data
    return ctx.getData()


def create_result(m):
    """(file_id bytes, {context name: data}) of a successful CREATE response."""
    r = SMB2Create_Response(m.packet["Data"])
    ctxs = {}
    off, total = r["CreateContextsOffset"], r["CreateContextsLength"]
    if off and total:
        pos = off
        while True:
            nxt, noff, nlen, _, doff, dlen = struct.unpack_from("<IHHHHI", m.raw, pos)
            name = m.raw[pos + noff:pos + noff + nlen]
            ctxs[name] = m.raw[pos + doff:pos + doff + dlen]
            if nxt == 0:
                break
            pos += nxt
    return r["FileID"].getData(), ctxs


def lease_state_of(ctxs):
    d = ctxs.get(b"RqLs")
    if d is None or len(d) < 20:
        return None
    return struct.unpack_from("<I", d, 16)[0]   # after the 16-byte LeaseKey


def lease_str(s):
    return "".join(c for c, bit in (("R", 1), ("W", 4), ("H", 2)) if s & bit) or "none"


# ---------------------------------------------------------------- scenarios

def open_plain(client, name, access):
    m = client.wait(client.create_send(name, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE))
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"{client.name}: create {name} -> {st(m.status)}")
    return create_result(m)[0]


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
    key = os.urandom(16)
    share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE
    c1 = c2 = None
    worker = None
    try:
        c1 = Client("client1", args.host, args.port, args.user1, args.pass1, args.share, dialect)
        c2 = Client("client2", args.host, args.port, args.user2, args.pass2, args.share, dialect)

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
    c1 = c2 = None
    try:
        c1 = Client("client1", args.host, args.port, args.user1, args.pass1, args.share, SMB2_DIALECT_302)
        c2 = Client("client2", args.host, args.port, args.user2, args.pass2, args.share, SMB2_DIALECT_302)
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


# ---------------------------------------------------------------- server

def free_port(addr):
    for _ in range(200):
        port = random.randint(20000, 60999)
        s = socket.socket()
        try:
            s.bind((addr, port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free port found")


def wait_port(host, port, secs, proc):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.25)
    return False


class Server:
    """The Release CaStorage server, started as tests/lib/common.sh starts it."""

    def __init__(self, repo, user1, pass1, user2, pass2):
        dll = os.environ.get("CASTORAGE_DLL",
                             os.path.join(repo, "src/CaStorage.Server/bin/Release/net10.0/castorage.dll"))
        if not os.path.isfile(dll):
            raise RuntimeError(f"CaStorage server not built: {dll} is missing (dotnet build -c Release CaStorage.sln)")
        self.data = tempfile.mkdtemp(prefix="castorage-impacket.")
        os.makedirs(os.path.join(self.data, "share"))
        logdir = os.path.join(repo, "artifacts", "impacket")
        os.makedirs(logdir, exist_ok=True)
        self.log_path = os.path.join(logdir, "server.log")
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["dotnet", dll, "--listen", f"{self.host}:{self.port}", "--data", self.data,
             "--user", f"{user1}:{pass1}", "--user", f"{user2}:{pass2}"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.host, self.port, float(os.environ.get("CASTORAGE_START_TIMEOUT", "30")), self.proc):
            self.stop()
            raise RuntimeError(f"CaStorage did not start (log: {self.log_path})")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                print(f"server {self.proc.pid} did not stop after 10s; killing", file=sys.stderr)
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", help="HOST:PORT of a running server (default: start CaStorage)")
    ap.add_argument("--share", default="share")
    ap.add_argument("--dialects", default="3.0.2,2.1", help="dialects of the lease cases (3.0.2, 2.1)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    args = ap.parse_args()
    args.user1 = os.environ.get("TEST_USER1", "testuser")
    args.pass1 = os.environ.get("TEST_PASS1", "Passw0rd!")
    args.user2 = os.environ.get("TEST_USER2", "testuser2")
    args.pass2 = os.environ.get("TEST_PASS2", "Passw0rd2!")
    dialects = [d for d in args.dialects.split(",") if d]
    for d in dialects:
        if d not in DIALECTS:
            ap.error(f"unknown dialect {d} (one of {', '.join(DIALECTS)})")
    names = case_names(dialects)
    if args.list:
        print("\n".join(names))
        return 0

    res = Results()
    server = None
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        if args.target:
            args.host, _, port = args.target.rpartition(":")
            args.port = int(port)
        else:
            server = Server(repo, args.user1, args.pass1, args.user2, args.pass2)
            args.host, args.port = server.host, server.port
            print(f"CaStorage on {args.host}:{args.port} (pid {server.proc.pid})", flush=True)
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
    if res.failed_names:
        print("failed cases:")
        for n in res.failed_names:
            print(f"  {n}")
    print(f"impacket: {res.passed} passed, {res.failed} failed", flush=True)
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
