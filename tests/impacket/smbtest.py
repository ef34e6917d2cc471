"""Shared pieces of the impacket test scripts (two_clients.py, restart.py).

A raw SMB 3.0.2 / 2.1 client built on impacket's SMB3 class (requests built
with impacket's structures, sent with SMB3.sendSMB, responses read straight
from the NetBIOS session so that interim responses and unsolicited breaks are
seen as they arrive), case bookkeeping, create-context packing and the
Release CaStorage server as tests/lib/common.sh starts it.

impacket 0.10 quirks (see /work/shared/STACK.md): SMBConnection refuses
3.0.2, so the SMB3 class is used directly; 3.1.1 is not used (its signing
key is wrong); it asks for encryption on every 3.x session (turned off here);
it always sends a random ClientGuid and PreviousSessionId 0 (SMB3Client sets
both when asked); it advances MessageId by one per request whatever the
CreditCharge (Client.send skips the rest of a multi-credit request's ids).
"""
import os
import random
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from free_port import free_port  # noqa: E402 - tests/lib, shared with common.sh

from impacket import smb3
from impacket.nmb import NetBIOSTimeout
from impacket.smb3structs import (
    FILE_READ_DATA, FILE_WRITE_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_SHARE_DELETE,
    FILE_OPEN_IF, FILE_NON_DIRECTORY_FILE, FILE_ATTRIBUTE_NORMAL, SMB2_CREATE, SMB2_CLOSE,
    SMB2_WRITE, SMB2_READ, SMB2_LOCK, SMB2_OPLOCK_BREAK, SMB2_SESSION_SETUP, SMB2_OPLOCK_LEVEL_LEASE,
    SMB2_OPLOCK_LEVEL_NONE, SMB2_IL_IMPERSONATION, SMB2_DIALECT_21, SMB2_DIALECT_302, SMB2Create,
    SMB2Create_Response, SMB2Close, SMB2Write, SMB2Read, SMB2Lock, SMB2_LOCK_ELEMENT,
    SMB2LeaseBreakNotification, SMB2LeaseBreakAcknowledgement, SMB2Packet,
    SMB2_CREATE_REQUEST_LEASE, SMB2_CREATE_REQUEST_LEASE_V2, SMB2_LEASE_READ_CACHING,
    SMB2_LEASE_HANDLE_CACHING, SMB2_LEASE_WRITE_CACHING, SMB2_LOCKFLAG_EXCLUSIVE_LOCK,
    SMB2_LOCKFLAG_UNLOCK, SMB2_LOCKFLAG_FAIL_IMMEDIATELY, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
)

WAIT = 10.0                       # every bounded wait
UNSOLICITED = 0xFFFFFFFFFFFFFFFF  # MessageId of a break notification
FLAGS_ASYNC = 0x00000002          # SMB2_FLAGS_ASYNC_COMMAND
STATUS_SUCCESS = 0x00000000
STATUS_PENDING = 0x00000103
STATUS_FILE_LOCK_CONFLICT = 0xC0000054
STATUS_LOCK_NOT_GRANTED = 0xC0000055
RWH = SMB2_LEASE_READ_CACHING | SMB2_LEASE_WRITE_CACHING | SMB2_LEASE_HANDLE_CACHING
RH = SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING
SHARE_ALL = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE
DIALECTS = {"3.0.2": SMB2_DIALECT_302, "2.1": SMB2_DIALECT_21}

STATUS_NAMES = {
    STATUS_SUCCESS: "STATUS_SUCCESS", STATUS_PENDING: "STATUS_PENDING",
    STATUS_FILE_LOCK_CONFLICT: "STATUS_FILE_LOCK_CONFLICT",
    STATUS_LOCK_NOT_GRANTED: "STATUS_LOCK_NOT_GRANTED", 0xC0000043: "STATUS_SHARING_VIOLATION",
    0xC0000120: "STATUS_CANCELLED", 0xC000000D: "STATUS_INVALID_PARAMETER",
    0xC0000034: "STATUS_OBJECT_NAME_NOT_FOUND", 0xC0000022: "STATUS_ACCESS_DENIED",
    0xC00000BA: "STATUS_FILE_IS_A_DIRECTORY", 0xC0000203: "STATUS_USER_SESSION_DELETED",
}


def st(s):
    return STATUS_NAMES.get(s, f"0x{s:08X}")


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def random_client_guid():
    """A ClientGuid as impacket makes one (16 ASCII letters), to be kept across reconnects."""
    return "".join(random.choice(string.ascii_letters) for _ in range(16))


def test_accounts(args):
    """args.user1/pass1/user2/pass2: the two test accounts (as tests/lib/common.sh exports them)."""
    args.user1 = os.environ.get("TEST_USER1", "testuser")
    args.pass1 = os.environ.get("TEST_PASS1", "Passw0rd!")
    args.user2 = os.environ.get("TEST_USER2", "testuser2")
    args.pass2 = os.environ.get("TEST_PASS2", "Passw0rd2!")


def comma_list(ap, text, allowed, what):
    """The comma-separated items of text, each one of allowed (else an argparse error naming `what`)."""
    items = [x for x in text.split(",") if x]
    for x in items:
        if x not in allowed:
            ap.error(f"unknown {what} {x} (one of {', '.join(allowed)})")
    return items


def exit_on_sigterm():
    """timeout(1) ends a run with SIGTERM: exit through the finally blocks, which stop what was started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


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

    def summary(self, suite):
        """Prints the failed cases and the suite's last line; the exit status."""
        if self.failed_names:
            print("failed cases:")
            for n in self.failed_names:
                print(f"  {n}")
        print(f"{suite}: {self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1


# ---------------------------------------------------------------- a raw client

class SMB3Client(smb3.SMB3):
    """impacket's SMB3 with a chosen ClientGuid (kept across reconnects, as a real client does) and a
    PreviousSessionId in SESSION_SETUP (impacket always sends 0)."""

    def __init__(self, *args, client_guid=None, previous_session_id=0, **kwargs):
        self._fixed_guid = client_guid
        self._previous_session_id = previous_session_id
        super().__init__(*args, **kwargs)

    def negotiateSession(self, preferredDialect=None, negSessionResponse=None):
        if self._fixed_guid is not None:
            self.ClientGuid = self._fixed_guid
        return super().negotiateSession(preferredDialect, negSessionResponse)

    def sendSMB(self, packet):
        if packet["Command"] == SMB2_SESSION_SETUP and self._previous_session_id:
            packet["Data"]["PreviousSessionId"] = self._previous_session_id
        return super().sendSMB(packet)


class Client:
    """One connection + session + tree connect; raw requests and responses."""

    def __init__(self, name, host, port, user, password, share, dialect, client_guid=None, previous_session_id=0):
        self.name = name
        self.conn = SMB3Client(host, host, sess_port=port, timeout=WAIT, preferredDialect=dialect,
                               client_guid=client_guid, previous_session_id=previous_session_id)
        # impacket encrypts every 3.x session the server allows it to; this test wants plain
        # SMB2 frames (no encryption, no signing unless the server requires it).
        self.conn._Connection["SupportsEncryption"] = False
        self.conn.login(user, password)
        self.tid = self.conn.connectTree(share)
        self.stash = []   # messages read while waiting for something else
        self.answered = set()   # MessageIds whose final response has arrived

    @property
    def session_id(self):
        return self.conn._Session["SessionID"]

    @property
    def server_capabilities(self):
        return self.conn._Connection.get("ServerCapabilities", 0)

    @property
    def tree_is_ca(self):
        return bool(self.conn._Session["TreeConnectTable"][self.tid].get("IsCAShare"))

    def send(self, command, body, tree=True, payload=0):
        """Sends one request; a payload over 64 KiB is charged its credits (MS-SMB2 3.2.4.1.5) and
        consumes that many MessageIds."""
        p = self.conn.SMB_PACKET()
        p["Command"] = command
        p["TreeID"] = self.tid if tree else 0
        p["Data"] = body
        charge = max(1, (payload + 65535) // 65536)
        if charge > 1:
            p["CreditCharge"] = charge
        mid = self.conn.sendSMB(p)
        self.conn._Connection["SequenceWindow"] += charge - 1
        return mid

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
        m = Message(raw)
        if m.message_id != UNSOLICITED:
            if m.message_id in self.answered:
                # MS-SMB2 3.3.4.2: an interim response precedes the final one, and a request has one final response.
                raise CaseFailed(f"{self.name}: {m!r} arrived after the final response to MessageId {m.message_id}")
            if not (m.status == STATUS_PENDING and m.flags & FLAGS_ASYNC):
                self.answered.add(m.message_id)
        return m

    # ---- commands (send only; the caller waits) ----

    def create_send(self, name, access, share, lease=None, contexts=(), oplock=None, disposition=FILE_OPEN_IF):
        """lease = (key16, state, v2) or None; contexts = further (name, data) create contexts;
        oplock = the RequestedOplockLevel when no lease is asked for (default none)."""
        ctxs = list(contexts)
        if lease:
            ctxs.append((b"RqLs", lease_data(*lease)))
        c = SMB2Create()
        c["SecurityFlags"] = 0
        c["RequestedOplockLevel"] = SMB2_OPLOCK_LEVEL_LEASE if lease else (oplock or SMB2_OPLOCK_LEVEL_NONE)
        c["ImpersonationLevel"] = SMB2_IL_IMPERSONATION
        c["DesiredAccess"] = access
        c["FileAttributes"] = FILE_ATTRIBUTE_NORMAL
        c["ShareAccess"] = share
        c["CreateDisposition"] = disposition
        c["CreateOptions"] = FILE_NON_DIRECTORY_FILE
        c["NameLength"] = len(name) * 2
        c["Buffer"] = name.encode("utf-16le")
        if ctxs:
            packed = pack_contexts(ctxs)
            off = len(SMB2Packet()) + SMB2Create.SIZE + len(c["Buffer"])
            if off % 8:
                c["Buffer"] += b"\x00" * (8 - off % 8)
            c["CreateContextsOffset"] = len(SMB2Packet()) + SMB2Create.SIZE + len(c["Buffer"])
            c["CreateContextsLength"] = len(packed)
            c["Buffer"] += packed
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
        return self.send(SMB2_WRITE, w, payload=len(data))

    def read_send(self, file_id, offset, length):
        r = SMB2Read()
        r["FileID"] = file_id
        r["Length"] = length
        r["Offset"] = offset
        return self.send(SMB2_READ, r, payload=length)

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


def lease_data(key, state, v2):
    """SMB2_CREATE_REQUEST_LEASE(_V2), the data of an RqLs create context."""
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
    return d.getData()


def pack_contexts(contexts):
    """A chain of SMB2_CREATE_CONTEXTs from (name bytes, data bytes): each 8-byte aligned, Next
    the offset of the following one (0 on the last), the name at 16, the data 8-aligned after it."""
    out = b""
    for i, (name, data) in enumerate(contexts):
        doff = 16 + (len(name) + 7) // 8 * 8
        body = struct.pack("<IHHHHI", 0, 16, len(name), 0, doff if data else 0, len(data))
        body += name + b"\x00" * (doff - 16 - len(name)) + data
        if i < len(contexts) - 1:
            body += b"\x00" * (-len(body) % 8)
            body = struct.pack("<I", len(body)) + body[4:]
        out += body
    return out


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


def lease_break_of(m):
    """The SMB2 Lease Break Notification m is, or None (another message, or an oplock break)."""
    if m.command != SMB2_OPLOCK_BREAK or m.message_id != UNSOLICITED or len(m.body) < 44:
        return None
    return SMB2LeaseBreakNotification(m.body[:44])


def lease_state_of(ctxs):
    d = ctxs.get(b"RqLs")
    if d is None or len(d) < 20:
        return None
    return struct.unpack_from("<I", d, 16)[0]   # after the 16-byte LeaseKey


def lease_str(s):
    return "".join(c for c, bit in (("R", 1), ("W", 4), ("H", 2)) if s & bit) or "none"


def open_plain(client, name, access):
    m = client.wait(client.create_send(name, access, SHARE_ALL))
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"{client.name}: create {name} -> {st(m.status)}")
    return create_result(m)[0]


# ---------------------------------------------------------------- server

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
    """The Release CaStorage server, started as tests/lib/common.sh starts it: the two test accounts,
    a data directory (fresh unless given), 127.0.0.1 and a free port (unless given). extra: more
    server arguments (shares, --postgres). start() may be called again after kill() (a restart on
    the same port and data directory)."""

    def __init__(self, repo, users, extra=(), data=None, port=None, log_name="server.log"):
        self.dll = os.environ.get("CASTORAGE_DLL",
                                  os.path.join(repo, "src/CaStorage.Server/bin/Release/net10.0/castorage.dll"))
        if not os.path.isfile(self.dll):
            raise RuntimeError(f"CaStorage server not built: {self.dll} is missing (dotnet build -c Release CaStorage.sln)")
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="castorage-impacket.")
        os.makedirs(os.path.join(self.data, "share"), exist_ok=True)
        logdir = os.path.join(repo, "artifacts", "impacket")
        os.makedirs(logdir, exist_ok=True)
        self.log_path = os.path.join(logdir, log_name)
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.users = users
        self.extra = list(extra)
        self.proc = None
        self.log = None
        self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        args = ["dotnet", self.dll, "--listen", f"{self.host}:{self.port}", "--data", self.data]
        for user, password in self.users:
            args += ["--user", f"{user}:{password}"]
        self.proc = subprocess.Popen(args + self.extra, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_port(self.host, self.port, float(os.environ.get("CASTORAGE_START_TIMEOUT", "30")), self.proc):
            self.stop()
            raise RuntimeError(f"CaStorage did not start (log: {self.log_path})")

    def kill(self):
        """SIGKILL: no shutdown code runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self, keep_data=False):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                print(f"server {self.proc.pid} did not stop after 10s; killing", file=sys.stderr)
                self.proc.kill()
                self.proc.wait(10)
        if self.log is not None:
            self.log.close()
        if self.own_data and not keep_data:
            shutil.rmtree(self.data, ignore_errors=True)
