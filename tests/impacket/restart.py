#!/usr/bin/python3
"""A persistent handle, its RWH lease and its byte-range lock survive a SIGKILL of the server.

usage: restart.py [--stores sqlite,postgres] [--list]

For each state store (SQLite, the default, in DATA/state.db; PostgreSQL, a
private server from tests/lib/postgres.sh, passed with --postgres) a
CaStorage server (the Release build) is started on 127.0.0.1 and a free
port, with a continuously available share "ca" (--share ca=DATA/ca,ca), a
plain share "plain" and the two test accounts. Cases, prefixed with the
store's name (each one counted; any exception or timeout fails the case and
the ones that depend on it):

  caps              client 1 (a fixed ClientGuid, SMB 3.0.2) is offered
                    SMB2_GLOBAL_CAP_PERSISTENT_HANDLES and the tree
                    SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY
  persistent_open   client 1 opens a file (share read|write|delete) with
                    DH2Q (persistent, 60 s) and an RqLs v2 lease asking RWH:
                    granted persistent (DH2Q response Flags 0x2) and RWH
  lock              client 1 locks bytes 0..4095 exclusively
  write             client 1 writes 10 MiB in 1 MiB WRITEs; the sha256 of
                    what was acknowledged is kept
  lease_break       client 2 (the second account, own connection) opens the
                    same file without a lease (as a second application
                    would): client 1's lease is broken RWH -> RH, client 1
                    acknowledges (it has nothing to flush: its writes were
                    acknowledged write-through), client 2's create completes.
                    Client 1's lease before the kill is therefore RH, and RH
                    is what the reconnect must give back.
  lock_conflict     client 2's LOCK of the range with FAIL_IMMEDIATELY:
                    STATUS_LOCK_NOT_GRANTED
  restart           the server is killed with SIGKILL and started again on
                    the same port and data directory (and database)
  lock_disconnected client 2 connects to the restarted server, opens the file
                    and tries the lock while client 1's open is still
                    disconnected: STATUS_LOCK_NOT_GRANTED
  reconnect         client 1: new connection, NEGOTIATE with the same
                    ClientGuid, SESSION_SETUP with PreviousSessionId = the
                    old session, TREE_CONNECT, CREATE with DH2C (old FileId,
                    CreateGuid, persistent) and the same RqLs v2 lease key:
                    STATUS_SUCCESS, the same persistent FileId, lease RH
  read_back         client 1 reads the 10 MiB through the reclaimed handle:
                    the sha256 matches what was acknowledged
  lock_survived     client 2 tries the lock again with client 1 back: still
                    STATUS_LOCK_NOT_GRANTED
  unlock            client 1 unlocks the range
  lock_after        client 2's lock now succeeds
  durable.open      (plain share, no restart) client 1 opens a file with a
                    batch oplock and DHnQ: granted batch and durable
  durable.reconnect its TCP connection is dropped; a new connection with
                    PreviousSessionId reclaims the open with DHnC: the same
                    persistent FileId, batch oplock
  durable.read_back the data written before the drop reads back
  resend.pending    (ca share, no restart) client 1 holds a persistent
                    handle with an RWH lease; client 2 opens the file: the
                    break (RWH -> RH, ack required) reaches client 1, which
                    drops its connection without acknowledging it
  resend.reconnect  client 1 reclaims the handle (DH2C): lease RWH with
                    BREAK_IN_PROGRESS in the lease response
  resend.break      the break is sent again on the new connection, after the
                    CREATE response (the first one may have died with a
                    node); client 1 acknowledges it
  resend.opener     client 2's create completes after that acknowledgement,
                    long before the break would time out (35 s)

Every wait is bounded (10 s, 30 s for a server start). Every process started
(servers, PostgreSQL) is stopped at the end. Last line:
"impacket-restart: N passed, N failed"; exit status 0 only if none failed.
Server logs: artifacts/impacket/restart-<store>.log.

impacket quirks worked around (smbtest.py, /work/shared/STACK.md): SMB 3.0.2
through the SMB3 class, no encryption, the ClientGuid and PreviousSessionId
set by a subclass, multi-credit READ/WRITE MessageIds.
"""
import argparse
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import shutil

from smbtest import (
    WAIT, STATUS_SUCCESS, STATUS_LOCK_NOT_GRANTED, RWH, SHARE_ALL, st, Results, Client,
    create_result, lease_state_of, lease_str, lease_break_of, Server, repo_root, random_client_guid, exit_on_sigterm,
    test_accounts, comma_list, FILE_READ_DATA,
    FILE_WRITE_DATA, SMB2_DIALECT_302, SMB2_LEASE_WRITE_CACHING,
    SMB2_LOCKFLAG_EXCLUSIVE_LOCK, SMB2_LOCKFLAG_UNLOCK, SMB2_LOCKFLAG_FAIL_IMMEDIATELY,
    SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
)

SUITE = "impacket-restart"
STORES = ("sqlite", "postgres")
CAP_PERSISTENT_HANDLES = 0x10        # SMB2_GLOBAL_CAP_PERSISTENT_HANDLES
DH2_FLAG_PERSISTENT = 0x2            # SMB2_DHANDLE_FLAG_PERSISTENT
OPLOCK_BATCH = 0x09
TOTAL = 10 << 20                     # bytes written before the kill
CHUNK = 1 << 20                      # per WRITE / READ
LOCK_RANGE = (0, 4096)
ACCESS = FILE_READ_DATA | FILE_WRITE_DATA

CA_CASES = ("caps", "persistent_open", "lock", "write", "lease_break", "lock_conflict", "restart",
            "lock_disconnected", "reconnect", "read_back", "lock_survived", "unlock", "lock_after")
DURABLE_CASES = ("durable.open", "durable.reconnect", "durable.read_back")
RESEND_CASES = ("resend.pending", "resend.reconnect", "resend.break", "resend.opener")
LEASE_FLAG_BREAK_IN_PROGRESS = 0x2


def case_names(stores):
    return [f"{s}.{c}" for s in stores for c in DURABLE_CASES + RESEND_CASES + CA_CASES]   # the order they run in


class Cases:
    """The cases of one scenario still to be decided: each is decided once; the rest fail together. As a context
    manager: an exception fails the undecided cases (and is not raised further), and the clients are disconnected."""

    def __init__(self, res, prefix, names):
        self.res = res
        self.prefix = prefix
        self.pending = [f"{prefix}.{n}" for n in names]
        self.clients = []

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        failed = isinstance(e, Exception)
        if failed:
            traceback.print_exception(kind, e, tb)
            self.fail_rest(f"{kind.__name__}: {e}")
        self.fail_rest("not reached")
        for c in self.clients:
            c.disconnect()
        return failed

    def connect(self, server, share, name, user, password, **kw):
        """A client of this scenario (disconnected at its end)."""
        c = Client(name, server.host, server.port, user, password, share, SMB2_DIALECT_302, **kw)
        self.clients.append(c)
        return c

    def check(self, name, cond, detail, why):
        self.pending.remove(f"{self.prefix}.{name}")
        return self.res.check(f"{self.prefix}.{name}", cond, detail, why)

    def fail_rest(self, why):
        for n in self.pending:
            self.res.bad(n, why)
        self.pending.clear()


def dh2q(create_guid, persistent=True, timeout_ms=60000):
    """SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2: Timeout, Flags, Reserved(8), CreateGuid."""
    return b"DH2Q", struct.pack("<II8s16s", timeout_ms, DH2_FLAG_PERSISTENT if persistent else 0, b"\x00" * 8,
                                create_guid)


def dh2c(file_id, create_guid, persistent=True):
    """SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2: FileId(16), CreateGuid(16), Flags."""
    return b"DH2C", struct.pack("<16s16sI", file_id, create_guid, DH2_FLAG_PERSISTENT if persistent else 0)


def lock(client, fid, flags):
    return client.wait(client.lock_send(fid, LOCK_RANGE[0], LOCK_RANGE[1], flags))


def write_all(client, fid, total, digest):
    """Writes `total` random bytes in CHUNK WRITEs from offset 0; the acknowledged bytes go into digest.
    Returns (bytes acknowledged, problem or None)."""
    done = 0
    while done < total:
        data = os.urandom(min(CHUNK, total - done))
        m = client.wait(client.write_send(fid, done, data))
        count = struct.unpack_from("<I", m.body, 4)[0] if m.status == STATUS_SUCCESS else 0
        if m.status != STATUS_SUCCESS or count != len(data):
            return done, f"WRITE at {done} -> {st(m.status)}, Count {count} of {len(data)}"
        digest.update(data)
        done += len(data)
    return done, None


def read_all(client, fid, total):
    """sha256 of `total` bytes read from offset 0 in CHUNK READs; (hexdigest, problem or None)."""
    h = hashlib.sha256()
    done = 0
    while done < total:
        m = client.wait(client.read_send(fid, done, min(CHUNK, total - done)))
        if m.status != STATUS_SUCCESS:
            return None, f"READ at {done} -> {st(m.status)}"
        off, length = struct.unpack_from("<BxI", m.body, 2)
        data = m.raw[off:off + length]
        if not data:
            return None, f"READ at {done} returned no data"
        h.update(data)
        done += len(data)
    return h.hexdigest(), None


def open_with_break(holder, opener, fname, key):
    """`opener` opens fname (no lease) while `holder` holds lease `key`: the holder's break is read and
    acknowledged. Returns (opener's file id or None, break notification or None, problem or None)."""
    state = {"final": None, "error": None}

    def do_open():
        try:
            state["final"] = opener.wait(opener.create_send(fname, ACCESS, SHARE_ALL), timeout=3 * WAIT)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            state["error"] = f"{type(e).__name__}: {e}"

    worker = threading.Thread(target=do_open, name=f"{opener.name}-create", daemon=True)
    worker.start()
    try:
        b = holder.recv(WAIT)
    except TimeoutError:
        worker.join(WAIT)
        return None, None, f"no lease break reached {holder.name} within {WAIT:.0f}s"
    n = lease_break_of(b)
    if n is None:
        worker.join(WAIT)
        return None, None, f"{holder.name} read {b!r}, not a lease break"
    if n["LeaseKey"] != key:
        return None, n, "the break names another lease key"
    if n["Flags"] & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED:
        a = holder.wait(holder.lease_ack_send(key, n["NewLeaseState"]))
        if a.status != STATUS_SUCCESS:
            return None, n, f"lease break acknowledgement -> {st(a.status)}"
    worker.join(WAIT)
    if worker.is_alive():
        return None, n, f"{opener.name}'s create did not complete within {WAIT:.0f}s of the ack"
    if state["error"]:
        return None, n, state["error"]
    if state["final"].status != STATUS_SUCCESS:
        return None, n, f"{opener.name}'s create -> {st(state['final'].status)}"
    return create_result(state["final"])[0], n, None


# ---------------------------------------------------------------- the restart scenario

def ca_scenario(res, args, store, server):
    fname = f"restart-{os.getpid()}-{random.randrange(1 << 30)}.bin"
    key = os.urandom(16)
    create_guid = os.urandom(16)
    client_guid = random_client_guid()

    with Cases(res, store, CA_CASES) as cases:
        c1 = cases.connect(server, "ca", "client1", args.user1, args.pass1, client_guid=client_guid)
        caps_ok = bool(c1.server_capabilities & CAP_PERSISTENT_HANDLES) and c1.tree_is_ca
        if not cases.check("caps", caps_ok, "SMB2_GLOBAL_CAP_PERSISTENT_HANDLES, SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY",
                           f"server capabilities 0x{c1.server_capabilities:x}, tree CA: {c1.tree_is_ca}"):
            return cases.fail_rest("no persistent handles offered")

        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, lease=(key, RWH, True), contexts=[dh2q(create_guid)]))
        if m.status != STATUS_SUCCESS:
            cases.check("persistent_open", False, "", f"create with DH2Q and RqLs -> {st(m.status)}")
            return cases.fail_rest("no open")
        fid1, ctxs = create_result(m)
        granted = lease_state_of(ctxs)
        d = ctxs.get(b"DH2Q", b"")
        timeout_ms, flags = struct.unpack_from("<II", d) if len(d) >= 8 else (None, 0)
        if not cases.check("persistent_open", flags & DH2_FLAG_PERSISTENT and granted == RWH,
                           f"DH2Q Flags 0x{flags:x} (persistent), timeout {timeout_ms} ms, lease RWH",
                           f"DH2Q response {d.hex() or 'missing'}, lease {lease_str(granted or 0)}"):
            return cases.fail_rest("no persistent handle with an RWH lease")

        m = lock(c1, fid1, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        if not cases.check("lock", m.status == STATUS_SUCCESS, f"exclusive lock on bytes 0..{LOCK_RANGE[1] - 1}",
                           f"LOCK -> {st(m.status)}"):
            return cases.fail_rest("client 1 holds no lock")

        digest = hashlib.sha256()
        t0 = time.monotonic()
        acked, problem = write_all(c1, fid1, TOTAL, digest)
        secs = time.monotonic() - t0
        cases.check("write", problem is None, f"{acked >> 20} MiB acknowledged in {secs:.2f} s, sha256 {digest.hexdigest()[:16]}…",
                    f"{problem} ({acked} bytes acknowledged before)")
        if acked == 0:
            return cases.fail_rest("nothing written")

        c2 = cases.connect(server, "ca", "client2", args.user2, args.pass2)
        fid2, n, problem = open_with_break(c1, c2, fname, key)
        lease_before = n["NewLeaseState"] if n is not None and problem is None else RWH
        if not cases.check("lease_break", problem is None and not lease_before & SMB2_LEASE_WRITE_CACHING,
                           f"RWH -> {lease_str(lease_before)} acknowledged; client 2's create completed",
                           problem or f"new lease state {lease_str(lease_before)} keeps W"):
            return cases.fail_rest("client 2 has no open")

        m = lock(c2, fid2, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        cases.check("lock_conflict", m.status == STATUS_LOCK_NOT_GRANTED, st(m.status),
                    f"client 2 LOCK -> {st(m.status)}, wanted STATUS_LOCK_NOT_GRANTED")

        # -------- SIGKILL and restart
        old_session, old_pid = c1.session_id, server.proc.pid
        server.kill()
        for c in cases.clients:
            c.disconnect()
        cases.clients.clear()
        t0 = time.monotonic()
        try:
            server.start()
        except Exception as e:  # noqa: BLE001
            cases.check("restart", False, "", f"{type(e).__name__}: {e}")
            return cases.fail_rest("the server did not come back")
        cases.check("restart", True, f"pid {old_pid} killed (SIGKILL), pid {server.proc.pid} listening on port "
                    f"{server.port} after {time.monotonic() - t0:.1f} s", "")

        # Client 2 first: the lock of the disconnected persistent open is in force before it is reclaimed.
        c2 = cases.connect(server, "ca", "client2", args.user2, args.pass2)
        m = c2.wait(c2.create_send(fname, ACCESS, SHARE_ALL))
        if m.status != STATUS_SUCCESS:
            cases.check("lock_disconnected", False, "", f"client 2's create after the restart -> {st(m.status)}")
            return cases.fail_rest("client 2 has no open")
        fid2 = create_result(m)[0]
        m = lock(c2, fid2, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        cases.check("lock_disconnected", m.status == STATUS_LOCK_NOT_GRANTED, f"{st(m.status)} (client 1 not back yet)",
                    f"client 2 LOCK -> {st(m.status)}, wanted STATUS_LOCK_NOT_GRANTED")

        c1 = cases.connect(server, "ca", "client1", args.user1, args.pass1, client_guid=client_guid, previous_session_id=old_session)
        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, lease=(key, lease_before, True),
                                   contexts=[dh2c(fid1, create_guid)]))
        if m.status != STATUS_SUCCESS:
            cases.check("reconnect", False, "", f"create with DH2C -> {st(m.status)}")
            return cases.fail_rest("the handle was not reclaimed")
        fid1b, ctxs = create_result(m)
        lease_after = lease_state_of(ctxs)
        cases.check("reconnect", fid1b[:8] == fid1[:8] and lease_after == lease_before,
                    f"persistent FileId {fid1[:8][::-1].hex()} back, lease {lease_str(lease_after)}",
                    f"persistent FileId {fid1b[:8][::-1].hex()} (was {fid1[:8][::-1].hex()}), lease "
                    f"{lease_str(lease_after) if lease_after is not None else 'missing'} (was {lease_str(lease_before)})")

        got, problem = read_all(c1, fid1b, acked)
        cases.check("read_back", problem is None and got == digest.hexdigest(),
                    f"{acked >> 20} MiB read back, sha256 matches",
                    problem or f"sha256 {got[:16]}… differs from the acknowledged {digest.hexdigest()[:16]}…")

        m = lock(c2, fid2, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        cases.check("lock_survived", m.status == STATUS_LOCK_NOT_GRANTED, f"{st(m.status)} (client 1 reconnected)",
                    f"client 2 LOCK -> {st(m.status)}, wanted STATUS_LOCK_NOT_GRANTED")

        m = lock(c1, fid1b, SMB2_LOCKFLAG_UNLOCK)
        cases.check("unlock", m.status == STATUS_SUCCESS, "", f"client 1 UNLOCK -> {st(m.status)}")

        m = lock(c2, fid2, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        cases.check("lock_after", m.status == STATUS_SUCCESS, "client 2 holds the lock now",
                    f"client 2 LOCK -> {st(m.status)}")
        lock(c2, fid2, SMB2_LOCKFLAG_UNLOCK)
        c2.close(fid2)
        c1.close(fid1b)


# ---------------------------------------------------------------- durable handle, TCP drop

def durable_scenario(res, args, store, server):
    fname = f"durable-{os.getpid()}-{random.randrange(1 << 30)}.bin"

    with Cases(res, store, DURABLE_CASES) as cases:
        c1 = cases.connect(server, "plain", "client1", args.user1, args.pass1)
        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, oplock=OPLOCK_BATCH, contexts=[(b"DHnQ", b"\x00" * 16)]))
        if m.status != STATUS_SUCCESS:
            cases.check("durable.open", False, "", f"create with DHnQ -> {st(m.status)}")
            return cases.fail_rest("no open")
        fid, ctxs = create_result(m)
        oplock = m.body[2]
        if not cases.check("durable.open", oplock == OPLOCK_BATCH and b"DHnQ" in ctxs, "batch oplock, DHnQ granted",
                           f"oplock 0x{oplock:02x}, DHnQ response {'present' if b'DHnQ' in ctxs else 'missing'}"):
            return cases.fail_rest("no durable handle")
        digest = hashlib.sha256()
        acked, problem = write_all(c1, fid, 256 << 10, digest)
        if problem:
            return cases.fail_rest(problem)

        old_session = c1.session_id
        c1.disconnect()   # TCP drop; the server keeps the durable open
        c1 = cases.connect(server, "plain", "client1", args.user1, args.pass1, previous_session_id=old_session)
        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, oplock=OPLOCK_BATCH, contexts=[(b"DHnC", fid)]))
        if m.status != STATUS_SUCCESS:
            cases.check("durable.reconnect", False, "", f"create with DHnC -> {st(m.status)}")
            return cases.fail_rest("the handle was not reclaimed")
        fid_b, _ = create_result(m)
        oplock = m.body[2]
        cases.check("durable.reconnect", fid_b[:8] == fid[:8] and oplock == OPLOCK_BATCH,
                    f"persistent FileId {fid[:8][::-1].hex()} back, batch oplock",
                    f"persistent FileId {fid_b[:8][::-1].hex()} (was {fid[:8][::-1].hex()}), oplock 0x{oplock:02x}")
        got, problem = read_all(c1, fid_b, acked)
        cases.check("durable.read_back", problem is None and got == digest.hexdigest(),
                    f"{acked >> 10} KiB read back, sha256 matches", problem or "sha256 differs")
        c1.close(fid_b)


def resend_scenario(res, args, store, server):
    fname = f"resend-{os.getpid()}-{random.randrange(1 << 30)}.bin"
    key, create_guid, client_guid = os.urandom(16), os.urandom(16), random_client_guid()

    with Cases(res, store, RESEND_CASES) as cases:
        c1 = cases.connect(server, "ca", "client1", args.user1, args.pass1, client_guid=client_guid)
        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, lease=(key, RWH, True), contexts=[dh2q(create_guid)]))
        if m.status != STATUS_SUCCESS or lease_state_of(create_result(m)[1]) != RWH:
            return cases.fail_rest(f"persistent open with an RWH lease -> {st(m.status)}")
        fid = create_result(m)[0]
        c2 = cases.connect(server, "ca", "client2", args.user2, args.pass2)
        opened = {}
        worker = threading.Thread(daemon=True, target=lambda: opened.update(
            m=c2.wait(c2.create_send(fname, FILE_READ_DATA, SHARE_ALL), timeout=40)))
        worker.start()
        b = c1.recv(WAIT)
        n = lease_break_of(b)
        if not cases.check("resend.pending", n is not None and n["Flags"] & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
                           f"break to {lease_str(n['NewLeaseState']) if n else '?'} read, not acknowledged", f"client 1 read {b!r}"):
            return cases.fail_rest("no break")
        old_session = c1.session_id
        c1.disconnect()
        c1 = cases.connect(server, "ca", "client1", args.user1, args.pass1, client_guid=client_guid, previous_session_id=old_session)
        m = c1.wait(c1.create_send(fname, ACCESS, SHARE_ALL, lease=(key, RWH, True), contexts=[dh2c(fid, create_guid)]))
        ctxs = create_result(m)[1] if m.status == STATUS_SUCCESS else {}
        ls = ctxs.get(b"RqLs", b"")
        flags = struct.unpack_from("<I", ls, 20)[0] if len(ls) >= 24 else 0
        if not cases.check("resend.reconnect", m.status == STATUS_SUCCESS and flags & LEASE_FLAG_BREAK_IN_PROGRESS,
                           f"DH2C: lease {lease_str(lease_state_of(ctxs) or 0)}, BREAK_IN_PROGRESS",
                           f"DH2C -> {st(m.status)}, lease flags 0x{flags:x}"):
            return cases.fail_rest("not reclaimed with the break in progress")
        t0 = time.monotonic()
        b = c1.recv(WAIT)
        again = lease_break_of(b)
        ack = c1.wait(c1.lease_ack_send(key, again["NewLeaseState"])) if again else None
        if not cases.check("resend.break", again is not None and again["NewLeaseState"] == n["NewLeaseState"]
                           and again["NewEpoch"] == n["NewEpoch"] and ack.status == STATUS_SUCCESS,
                           f"the break to {lease_str(n['NewLeaseState'])} again (epoch {n['NewEpoch']}), acknowledged",
                           f"read {b!r}" if again is None else f"break to {again['NewLeaseState']} epoch {again['NewEpoch']}, ack "
                           f"-> {st(ack.status)}"):
            return cases.fail_rest("the break was not sent again")
        worker.join(WAIT)
        done = opened.get("m")
        cases.check("resend.opener", done is not None and done.status == STATUS_SUCCESS,
                    f"client 2's create done {time.monotonic() - t0:.2f} s after the reconnect",
                    f"client 2's create -> {st(done.status) if done else 'no answer'}")
        c1.close(create_result(m)[0])


# ---------------------------------------------------------------- stores

class Postgres:
    """A private PostgreSQL (tests/lib/postgres.sh) in a temporary directory."""

    def __init__(self, repo):
        self.script = os.path.join(repo, "tests", "lib", "postgres.sh")
        self.dir = tempfile.mkdtemp(prefix="castorage-restart-pg.")
        self.started = False
        p = subprocess.run(["bash", self.script, "start", self.dir], capture_output=True, text=True, timeout=90)
        self.started = True   # stop even after a failed start: pg_ctl may have left a server behind
        if p.returncode != 0 or not p.stdout.strip():
            raise RuntimeError(f"postgres.sh start failed: {p.stderr.strip()[-500:]}")
        self.connstr = p.stdout.strip().splitlines()[-1]

    def stop(self):
        if self.started:
            subprocess.run(["bash", self.script, "stop", self.dir], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_store(res, args, store):
    pg = server = None
    data = tempfile.mkdtemp(prefix=f"castorage-restart-{store}.")
    before = res.passed + res.failed
    try:
        for d in ("ca", "plain"):
            os.makedirs(os.path.join(data, d))
        extra = ["--share", f"ca={data}/ca,ca", "--share", f"plain={data}/plain", "--admin", "off", "--metrics", "off"]
        if store == "postgres":
            pg = Postgres(repo_root())
            extra += ["--postgres", pg.connstr]
            print(f"PostgreSQL: {pg.connstr}", flush=True)
        server = Server(repo_root(), [(args.user1, args.pass1), (args.user2, args.pass2)], extra=extra, data=data,
                        log_name=f"restart-{store}.log")
        print(f"CaStorage ({store} store) on {server.host}:{server.port} (pid {server.proc.pid}), data {data}", flush=True)
        durable_scenario(res, args, store, server)
        resend_scenario(res, args, store, server)
        ca_scenario(res, args, store, server)
        if store == "sqlite" and not os.path.isfile(os.path.join(data, "state.db")):
            print(f"note: {data}/state.db does not exist", flush=True)
    except Exception as e:  # noqa: BLE001 - the store's scenarios could not run (or not all): the rest fail
        traceback.print_exc()
        for n in case_names([store])[res.passed + res.failed - before:]:
            res.bad(n, f"{type(e).__name__}: {e}")
    finally:
        if server is not None:
            server.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default=",".join(STORES), help="state stores to run with (sqlite, postgres)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    args = ap.parse_args()
    test_accounts(args)
    stores = comma_list(ap, args.stores, STORES, "store")
    if args.list:
        print("\n".join(case_names(stores)))
        return 0
    exit_on_sigterm()
    res = Results()
    for s in stores:
        run_store(res, args, s)
    return res.summary(SUITE)


if __name__ == "__main__":
    sys.exit(main())
