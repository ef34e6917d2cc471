#!/usr/bin/python3
"""Admin API against a real node, with real clients: Debian's python3-grpcio and smbclient.

Starts a Release CaStorage node (SMB, admin gRPC and metrics on free loopback ports in 4600-4699), then:
lists the session, tree and open a real smbclient holds; closes the open over gRPC and sees smbclient's next
request on it fail (STATUS_FILE_CLOSED), including a READ in the middle of a download; scrapes /metrics before and
after traffic; checks health, server reflection (raw protobuf from stubs generated at test time), share validation
and live share changes, logoff, drain (seen by a health Watch), castorctl, the bearer-token rule and mutual TLS (an
openssl-made CA: clients without a certificate of it are refused, castorctl --ca/--cert works).

Environment: CASTORAGE_DLL, CASTORCTL_DLL, TEST_USER1, TEST_PASS1, REPO_ROOT (set by run.sh).
A byte-range lock and a lease are taken with impacket, through the impacket suite's client (tests/impacket).
Last line: "admin: N passed, N failed"; exit 0 only if none failed. --list prints the case names.
"""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

REPO = os.environ.get("REPO_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DLL = os.environ.get("CASTORAGE_DLL") or os.path.join(REPO, "src/CaStorage.Server/bin/Release/net10.0/castorage.dll")
CTL = os.environ.get("CASTORCTL_DLL") or os.path.join(REPO, "src/CaStorage.Cli/bin/Release/net10.0/castorctl.dll")
USER = os.environ.get("TEST_USER1", "testuser")
PASS = os.environ.get("TEST_PASS1", "Passw0rd!")
ARTIFACTS = os.path.join(REPO, "artifacts", "admin")
WAIT = 10  # seconds: every wait in this script is bounded by this

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


# ---- stubs ------------------------------------------------------------------------------------------------

def load_stubs(workdir):
    """Generates Python stubs from the repository's .proto files with Debian's grpc_tools (not Grpc.Tools' protoc,
    whose output Debian's protobuf cannot import). The files are copied flat, so that no generated 'grpc' package
    shadows the grpc library."""
    src = os.path.join(workdir, "proto")
    out = os.path.join(workdir, "stubs")
    os.makedirs(src)
    os.makedirs(out)
    for rel in ("admin.proto", "grpc/health/v1/health.proto", "grpc/reflection/v1alpha/reflection.proto"):
        shutil.copy(os.path.join(REPO, "proto", rel), src)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I" + src, "--python_out=" + out, "--grpc_python_out=" + out,
           "admin.proto", "health.proto", "reflection.proto"]
    r = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("grpc_tools.protoc failed: " + r.stderr)
    sys.path.insert(0, out)
    global grpc, admin_pb2, admin_pb2_grpc, health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc
    import grpc  # noqa: E402
    import admin_pb2, admin_pb2_grpc, health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc  # noqa: E401,E402


# ---- the node ---------------------------------------------------------------------------------------------

def free_ports(n, used=()):
    ports = []
    candidates = list(range(4600, 4700))
    random.shuffle(candidates)
    for p in candidates:
        if p in used:
            continue
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        ports.append(p)
        if len(ports) == n:
            return ports
    raise RuntimeError("no free ports in 4600-4699")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Node:
    def __init__(self, name, workdir, env=None, extra=()):
        self.smb, self.admin, self.metrics = free_ports(3)
        self.data = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.data, "share"))
        self.log = os.path.join(ARTIFACTS, name + ".log")
        args = ["dotnet", DLL, "--listen", f"127.0.0.1:{self.smb}", "--data", self.data, "--user", f"{USER}:{PASS}",
                "--admin", f"127.0.0.1:{self.admin}", "--metrics", f"127.0.0.1:{self.metrics}", *extra]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + 30
        while not (port_open(self.smb) and port_open(self.admin)):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"node {name} did not start; see {self.log}")
            time.sleep(0.2)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.admin}")
        self.api = admin_pb2_grpc.AdminStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.reflection = reflection_pb2_grpc.ServerReflectionStub(self.channel)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=WAIT) as r:
            check(r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), "metrics content type")
            return parse_metrics(r.read().decode())

    def smbclient(self, command, share="share", timeout=60):
        r = subprocess.run(["smbclient", f"//127.0.0.1/{share}", "-p", str(self.smb), "-U", f"{USER}%{PASS}", "-m", "SMB3_11",
                            "-c", command], capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr


def parse_metrics(text):
    """{series: value} from the Prometheus text format; checks every line is well formed."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)', line)
        check(m is not None, f"malformed metrics line: {line!r}")
        series[m.group(1)] = float(m.group(2))
    return series


class Interactive:
    """An smbclient session driven through stdin, kept open while the test looks at it over gRPC."""

    def __init__(self, node):
        self.proc = subprocess.Popen(["smbclient", "//127.0.0.1/share", "-p", str(node.smb), "-U", f"{USER}%{PASS}", "-m", "SMB3_11"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self):
        """Quits and returns everything smbclient printed (it buffers its output when not on a terminal)."""
        try:
            out, _ = self.proc.communicate("quit\n", timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


def wait_for(what, fn):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Failure(f"timed out after {WAIT}s waiting for {what}")


def opens_of(node, path):
    return [o for o in node.api.ListOpens(admin_pb2.ListOpensRequest(), timeout=WAIT).opens if o.path == path]


def rpc_error(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e
    raise Failure("the call succeeded; an error was expected")


# ---- cases ------------------------------------------------------------------------------------------------

@case
def health_serving(ctx):
    n = ctx["node"]
    S = health_pb2.HealthCheckResponse
    check(n.health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT).status == S.SERVING, "server not SERVING")
    check(n.health.Check(health_pb2.HealthCheckRequest(service="castorage.admin.v1.Admin"), timeout=WAIT).status == S.SERVING,
          "admin service not SERVING")
    e = rpc_error(lambda: n.health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=WAIT))
    check(e.code() == grpc.StatusCode.NOT_FOUND, f"unknown service: {e.code()}")


def reflect(node, *requests):
    return list(node.reflection.ServerReflectionInfo(iter(requests), timeout=WAIT))


@case
def reflection_lists_services(ctx):
    (r,) = reflect(ctx["node"], reflection_pb2.ServerReflectionRequest(list_services=""))
    names = sorted(s.name for s in r.list_services_response.service)
    check(names == ["castorage.admin.v1.Admin", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"], f"services: {names}")


@case
def reflection_describes_the_admin_api(ctx):
    from google.protobuf import descriptor_pb2, descriptor_pool
    r1, r2 = reflect(ctx["node"], reflection_pb2.ServerReflectionRequest(file_containing_symbol="castorage.admin.v1.Admin"),
                     reflection_pb2.ServerReflectionRequest(file_by_filename="admin.proto"))
    protos = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in r1.file_descriptor_response.file_descriptor_proto]
    names = [p.name for p in protos]
    check(names[0] == "admin.proto" and "google/protobuf/timestamp.proto" in names, f"files: {names}")
    # What a reflection client does: build a pool from the files (dependencies first) and find the methods.
    pool = descriptor_pool.DescriptorPool()
    for p in reversed(protos):
        pool.Add(p)
    service = pool.FindServiceByName("castorage.admin.v1.Admin")
    methods = {m.name for m in service.methods}
    for m in ("ListSessions", "ListOpens", "CloseOpen", "Logoff", "Drain", "AddShare", "GetConfig"):
        check(m in methods, f"reflection has no {m}")
    check(pool.FindMessageTypeByName("castorage.admin.v1.Open").fields_by_name["persistent_id"].number == 1, "Open.persistent_id")
    check(r2.file_descriptor_response.file_descriptor_proto[0] == r1.file_descriptor_response.file_descriptor_proto[0], "by file name")


@case
def reflection_unknown_symbol_is_not_found(ctx):
    (r,) = reflect(ctx["node"], reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Thing"))
    check(r.WhichOneof("message_response") == "error_response" and r.error_response.error_code == 5, str(r))


@case
def metrics_before_traffic(ctx):
    m = ctx["node"].scrape()
    for name in ("castorage_smb_sessions", "castorage_smb_connections", "castorage_smb_opens", "castorage_smb_opens_durable",
                 "castorage_smb_opens_persistent", "castorage_smb_opens_disconnected", "castorage_smb_read_bytes_total",
                 'castorage_smb_handles_reclaimed_total{kind="durable"}', "castorage_store_commit_duration_seconds_count",
                 "castorage_store_commit_batch_size_count"):
        check(name in m, f"{name} missing from /metrics")
    ctx["metrics_before"] = m


@case
def lists_the_session_tree_and_open_smbclient_holds(ctx):
    n = ctx["node"]
    with open(os.path.join(n.data, "share", "held.txt"), "w") as f:
        f.write("held open by smbclient\n")
    c = Interactive(n)
    ctx["held"] = c
    c.send("open held.txt")
    (o,) = wait_for("smbclient's open of held.txt", lambda: opens_of(n, "held.txt"))
    sessions = {s.session_id: s for s in n.api.ListSessions(admin_pb2.ListSessionsRequest(), timeout=WAIT).sessions}
    check(o.session_id in sessions, "the open's session is not listed")
    s = sessions[o.session_id]
    check(s.user == USER, f"user {s.user}")
    check(s.dialect == "3.1.1", f"dialect {s.dialect}")
    check(s.client_address.startswith("127.0.0.1:"), f"client {s.client_address}")
    check(s.open_count >= 1 and s.tree_count >= 1 and s.state == "valid", str(s))
    check(s.node == n.api.ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT).nodes[0].id, "session node")
    trees = n.api.ListTreeConnects(admin_pb2.ListTreeConnectsRequest(session_id=o.session_id), timeout=WAIT).tree_connects
    check(any(t.share == "share" and t.tree_id == o.tree_id for t in trees), f"trees {trees}")
    check(o.share == "share" and o.user == USER and o.persistent_id != 0 and o.access != 0, str(o))
    check(o.share_access != 0, "share access not joined from the file actor")
    ctx["held_open"] = o


@case
def close_open_makes_the_clients_next_request_fail(ctx):
    n = ctx["node"]
    o = ctx["held_open"]
    r = n.api.CloseOpen(admin_pb2.CloseOpenRequest(persistent_id=o.persistent_id), timeout=WAIT)
    check(r.path == "held.txt" and r.session_id == o.session_id, str(r))
    check(not opens_of(n, "held.txt"), "the open is still listed after CloseOpen")
    e = rpc_error(lambda: n.api.CloseOpen(admin_pb2.CloseOpenRequest(persistent_id=o.persistent_id), timeout=WAIT))
    check(e.code() == grpc.StatusCode.NOT_FOUND, f"second CloseOpen: {e.code()}")
    c = ctx.pop("held")
    c.send("close 1")  # smbclient's fnum of its first open
    out = c.finish()
    check("NT_STATUS_FILE_CLOSED" in out, f"smbclient did not see STATUS_FILE_CLOSED:\n{out}")


@case
def read_in_progress_fails_after_close_open(ctx):
    n = ctx["node"]
    size = 512 << 20
    with open(os.path.join(n.data, "share", "big.bin"), "wb") as f:
        f.truncate(size)  # sparse: the server reads zeros fast
    # smbclient writes the file to stdout; not reading the pipe stalls its reads with the handle open.
    p = subprocess.Popen(["smbclient", "//127.0.0.1/share", "-p", str(n.smb), "-U", f"{USER}%{PASS}", "-m", "SMB3_11",
                          "-c", "get big.bin -"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        got = len(p.stdout.read(4096))
        (o,) = wait_for("smbclient's open of big.bin", lambda: opens_of(n, "big.bin"))
        n.api.CloseOpen(admin_pb2.CloseOpenRequest(persistent_id=o.persistent_id), timeout=WAIT)
        while True:
            chunk = p.stdout.read(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        err = p.stderr.read().decode(errors="replace")
        rc = p.wait(timeout=WAIT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(got < size, f"smbclient read the whole file ({got} bytes) although its handle was closed")
    check("NT_STATUS_FILE_CLOSED" in err, f"smbclient's read did not fail with STATUS_FILE_CLOSED (rc {rc}):\n{err}")
    ctx["bytes_read_by_smbclient"] = got


@case
def metrics_move_with_traffic(ctx):
    n = ctx["node"]
    rc, out = n.smbclient("ls; get held.txt /dev/null")
    check(rc == 0, out)
    before, after = ctx["metrics_before"], n.scrape()

    def delta(series):
        return after.get(series, 0) - before.get(series, 0)
    for s in ('castorage_smb_requests_total{command="CREATE",status="STATUS_SUCCESS"}',
              'castorage_smb_requests_total{command="READ",status="STATUS_SUCCESS"}',
              'castorage_smb_requests_total{command="SESSION_SETUP",status="STATUS_SUCCESS"}',
              'castorage_smb_request_duration_seconds_count{command="READ"}',
              'castorage_smb_request_duration_seconds_bucket{command="CREATE",le="+Inf"}'):
        check(delta(s) > 0, f"{s} did not move ({before.get(s)} -> {after.get(s)})")
    check(delta("castorage_smb_read_bytes_total") >= ctx.get("bytes_read_by_smbclient", 1), "read bytes did not move enough")
    check(after['castorage_smb_request_duration_seconds_sum{command="READ"}'] > 0, "READ latency sum is 0")
    # The failed READ after CloseOpen is counted with its status.
    if "bytes_read_by_smbclient" in ctx:
        check(delta('castorage_smb_requests_total{command="READ",status="STATUS_FILE_CLOSED"}') >= 1, "READ/STATUS_FILE_CLOSED not counted")


@case
def locks_and_leases_of_a_real_client(ctx):
    """impacket (SMB 3.0.2, the impacket suite's client) holds an RWH lease and a byte-range lock: both are listed
    from the file actor; closing the open over gRPC releases them and the client's next LOCK fails."""
    sys.path.insert(0, os.path.join(REPO, "tests", "impacket"))
    import two_clients as ic
    n = ctx["node"]
    c = ic.Client("impacket", "127.0.0.1", n.smb, USER, PASS, "share", ic.SMB2_DIALECT_302)
    try:
        key = bytes(range(16))
        m = c.wait(c.create_send("locked.txt", ic.FILE_READ_DATA | ic.FILE_WRITE_DATA, ic.FILE_SHARE_READ, lease=(key, ic.RWH, True)))
        check(m.status == ic.STATUS_SUCCESS, f"create -> {ic.st(m.status)}")
        fid, ctxs = ic.create_result(m)
        check(ic.lease_state_of(ctxs) == ic.RWH, f"lease granted {ic.lease_str(ic.lease_state_of(ctxs) or 0)}")
        m = c.wait(c.lock_send(fid, 4096, 100, ic.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | ic.SMB2_LOCKFLAG_FAIL_IMMEDIATELY))
        check(m.status == ic.STATUS_SUCCESS, f"lock -> {ic.st(m.status)}")

        (o,) = opens_of(n, "locked.txt")
        check(o.oplock == "lease" and o.lease_state == "RWH" and o.lease_key == key.hex(), f"open {o}")
        check(o.share_access == 1, f"share access {o.share_access}")
        locks = [x for x in n.api.ListLocks(admin_pb2.ListLocksRequest(), timeout=WAIT).locks if x.path == "locked.txt"]
        check(len(locks) == 1 and locks[0].offset == 4096 and locks[0].length == 100 and locks[0].exclusive
              and locks[0].persistent_id == o.persistent_id and locks[0].session_id == o.session_id, f"locks {locks}")
        leases = [x for x in n.api.ListLeases(admin_pb2.ListLeasesRequest(), timeout=WAIT).leases if x.path == "locked.txt"]
        check(len(leases) == 1 and leases[0].state == "RWH" and leases[0].version == 2 and leases[0].lease_key == key.hex()
              and not leases[0].breaking, f"leases {leases}")

        n.api.CloseOpen(admin_pb2.CloseOpenRequest(persistent_id=o.persistent_id), timeout=WAIT)
        check(not [x for x in n.api.ListLocks(admin_pb2.ListLocksRequest(), timeout=WAIT).locks if x.path == "locked.txt"],
              "the lock outlived CloseOpen")
        check(not [x for x in n.api.ListLeases(admin_pb2.ListLeasesRequest(), timeout=WAIT).leases if x.path == "locked.txt"],
              "the lease outlived CloseOpen")
        m = c.wait(c.lock_send(fid, 0, 10, ic.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | ic.SMB2_LOCKFLAG_FAIL_IMMEDIATELY))
        check(m.status == 0xC0000128, f"LOCK on the closed handle -> {ic.st(m.status)}, wanted STATUS_FILE_CLOSED")
    finally:
        c.disconnect()


@case
def durable_handles_move_the_store_and_reclaim_metrics(ctx):
    """A durable open (DHnQ, batch oplock) is committed to the state store; after a TCP drop its reconnect (DHnC)
    is counted as a reclaimed durable handle, and the store's commit histograms move with both."""
    sys.path.insert(0, os.path.join(REPO, "tests", "impacket"))
    import smbtest as it
    n = ctx["node"]
    before = n.scrape()
    c = it.Client("impacket", "127.0.0.1", n.smb, USER, PASS, "share", it.SMB2_DIALECT_302)
    m = c.wait(c.create_send("durable.txt", it.FILE_READ_DATA | it.FILE_WRITE_DATA, it.SHARE_ALL, oplock=0x09,
                             contexts=[(b"DHnQ", b"\x00" * 16)]))
    check(m.status == it.STATUS_SUCCESS, f"create with DHnQ -> {it.st(m.status)}")
    fid, ctxs = it.create_result(m)
    check(b"DHnQ" in ctxs, "durable handle not granted")
    old_session = c.session_id
    c.disconnect()
    c = it.Client("impacket", "127.0.0.1", n.smb, USER, PASS, "share", it.SMB2_DIALECT_302, previous_session_id=old_session)
    try:
        m = c.wait(c.create_send("durable.txt", it.FILE_READ_DATA | it.FILE_WRITE_DATA, it.SHARE_ALL, oplock=0x09,
                                 contexts=[(b"DHnC", fid)]))
        check(m.status == it.STATUS_SUCCESS, f"reconnect with DHnC -> {it.st(m.status)}")
        c.close(it.create_result(m)[0])
    finally:
        c.disconnect()
    after = n.scrape()

    def delta(series):
        return after.get(series, 0) - before.get(series, 0)
    check(delta('castorage_smb_handles_reclaimed_total{kind="durable"}') == 1, "the durable reconnect was not counted once")
    check(delta('castorage_smb_handles_reclaimed_total{kind="persistent"}') == 0, "a durable reconnect counted as persistent")
    check(delta("castorage_store_commit_duration_seconds_count") >= 1, "no store commit counted")
    check(delta('castorage_store_commit_duration_seconds_bucket{le="+Inf"}') == delta("castorage_store_commit_duration_seconds_count"),
          "the +Inf bucket is not the count")
    check(delta("castorage_store_commit_batch_size_sum") >= delta("castorage_store_commit_batch_size_count") >= 1,
          "batch sizes: fewer mutations than transactions")
    check(delta("castorage_store_commit_duration_seconds_sum") > 0, "commit latency sum did not move")


@case
def share_validation_is_invalid_argument(ctx):
    n = ctx["node"]
    bad_module = admin_pb2.Share(name="bad", path=os.path.join(n.data, "bad"), vfs=["bogus", "posix"])
    e = rpc_error(lambda: n.api.AddShare(admin_pb2.AddShareRequest(share=bad_module), timeout=WAIT))
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "bogus" in e.details(), f"{e.code()} {e.details()}")
    bad_option = admin_pb2.Share(name="bad", path=os.path.join(n.data, "bad"), vfs=["recycle", "posix"], options={"recycle:nope": "1"})
    e = rpc_error(lambda: n.api.AddShare(admin_pb2.AddShareRequest(share=bad_option), timeout=WAIT))
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "recycle:nope" in e.details(), f"{e.code()} {e.details()}")
    e = rpc_error(lambda: n.api.AddShare(admin_pb2.AddShareRequest(share=admin_pb2.Share(name="share", path=n.data)), timeout=WAIT))
    check(e.code() == grpc.StatusCode.ALREADY_EXISTS, f"duplicate share: {e.code()}")


@case
def share_changes_take_effect_without_restart(ctx):
    n = ctx["node"]
    path = os.path.join(n.data, "extra")
    os.makedirs(path)
    with open(os.path.join(path, "inside.txt"), "w") as f:
        f.write("x")
    r = n.api.AddShare(admin_pb2.AddShareRequest(share=admin_pb2.Share(name="extra", path=path, vfs=["audit", "posix"])), timeout=WAIT)
    check(list(r.share.vfs) == ["audit", "posix"], str(r))
    rc, out = n.smbclient("ls", share="extra")
    check(rc == 0 and "inside.txt" in out, f"new share not served:\n{out}")
    n.api.SetShare(admin_pb2.SetShareRequest(share=admin_pb2.Share(name="extra", path=path, vfs=["readonly", "posix"])), timeout=WAIT)
    rc, out = n.smbclient("mkdir newdir", share="extra")
    check("NT_STATUS_" in out, f"mkdir on the share made read-only succeeded:\n{out}")
    n.api.RemoveShare(admin_pb2.RemoveShareRequest(name="extra"), timeout=WAIT)
    rc, out = n.smbclient("ls", share="extra")
    check(rc != 0 and "NT_STATUS_BAD_NETWORK_NAME" in out, f"removed share still served:\n{out}")
    names = [s.name for s in n.api.ListShares(admin_pb2.ListSharesRequest(), timeout=WAIT).shares]
    check(names == ["share"], f"shares {names}")


@case
def logoff_ends_the_session(ctx):
    n = ctx["node"]
    c = Interactive(n)
    c.send("open held.txt")
    (o,) = wait_for("smbclient's open", lambda: opens_of(n, "held.txt"))
    r = n.api.Logoff(admin_pb2.LogoffRequest(session_id=o.session_id), timeout=WAIT)
    check(r.user == USER and r.closed_opens >= 1, str(r))
    sessions = [s.session_id for s in n.api.ListSessions(admin_pb2.ListSessionsRequest(), timeout=WAIT).sessions]
    check(o.session_id not in sessions, "session still listed after Logoff")
    c.send("ls")
    out = c.finish()
    check(re.search(r"NT_STATUS_(USER_SESSION_DELETED|NETWORK_SESSION_EXPIRED)", out), f"smbclient's next request did not fail:\n{out}")
    e = rpc_error(lambda: n.api.Logoff(admin_pb2.LogoffRequest(session_id=o.session_id), timeout=WAIT))
    check(e.code() == grpc.StatusCode.NOT_FOUND, f"second Logoff: {e.code()}")


@case
def drain_refuses_new_clients(ctx):
    n = ctx["node"]
    S = health_pb2.HealthCheckResponse
    # A Watch sees every change as it happens (grpcio's server-streaming call; the deadline bounds it).
    watch = n.health.Watch(health_pb2.HealthCheckRequest(), timeout=6 * WAIT)
    try:
        check(next(watch).status == S.SERVING, "Watch: first status not SERVING")
        r = n.api.Drain(admin_pb2.DrainRequest(), timeout=WAIT)
        try:
            check(r.draining, str(r))
            check(next(watch).status == S.NOT_SERVING, "Watch did not report NOT_SERVING on drain")
            check(n.health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT).status == S.NOT_SERVING, "health not NOT_SERVING")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{n.metrics}/healthz", timeout=WAIT)
                raise Failure("/healthz answered 200 while draining")
            except urllib.error.HTTPError as e:
                check(e.code == 503, f"/healthz {e.code}")
            with urllib.request.urlopen(f"http://127.0.0.1:{n.metrics}/livez", timeout=WAIT) as live:
                check(live.status == 200, f"/livez {live.status} while draining")
            rc, out = n.smbclient("ls", timeout=30)
            check(rc != 0 and "held.txt" not in out, f"a new client was served while draining:\n{out}")
        finally:
            n.api.Drain(admin_pb2.DrainRequest(cancel=True), timeout=WAIT)
        check(next(watch).status == S.SERVING, "Watch did not report SERVING after cancel")
    finally:
        watch.cancel()
    check(n.health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT).status == S.SERVING, "health not SERVING after cancel")
    rc, out = n.smbclient("ls")
    check(rc == 0 and "held.txt" in out, f"clients refused after drain cancel:\n{out}")


def castorctl(*args, timeout=60):
    r = subprocess.run(["dotnet", CTL, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


@case
def castorctl_lists_and_reports_errors(ctx):
    n = ctx["node"]
    server = f"127.0.0.1:{n.admin}"
    c = Interactive(n)
    try:
        c.send("open held.txt")
        (o,) = wait_for("smbclient's open", lambda: opens_of(n, "held.txt"))
        rc, out, err = castorctl("--server", server, "opens", "--output", "json")
        check(rc == 0, err)
        doc = json.loads(out)
        check(any(x["path"] == "held.txt" and int(x["persistentId"]) == o.persistent_id for x in doc["opens"]), out)
        rc, out, err = castorctl("--server", server, "sessions")
        check(rc == 0 and f"0x{o.session_id:016x}" in out and USER in out, out + err)
        rc, out, err = castorctl("--server", server, "close-open", f"0x{o.persistent_id:016x}")
        check(rc == 0 and "held.txt" in out, out + err)
        check(not opens_of(n, "held.txt"), "castorctl close-open did not close the open")
    finally:
        c.finish()
    rc, out, err = castorctl("--server", server, "health")
    check(rc == 0 and out.strip() == "SERVING", out + err)
    rc, out, err = castorctl("--server", server, "share", "add", "x", os.path.join(n.data, "x"), "--vfs", "bogus,posix")
    check(rc == 1 and "INVALID_ARGUMENT" in err and "bogus" in err, f"rc {rc}: {err}")
    (unused,) = free_ports(1, used=(n.smb, n.admin, n.metrics))
    rc, out, err = castorctl("--server", f"127.0.0.1:{unused}", "nodes")
    check(rc == 1 and "UNAVAILABLE" in err and "cannot reach" in err, f"rc {rc}: {err}")


@case
def token_is_required_when_configured(ctx):
    node = Node("token-node", ctx["workdir"], env={"CaStorage__Admin__Token": "t0ken-for-tests"})
    try:
        e = rpc_error(lambda: node.api.ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT))
        check(e.code() == grpc.StatusCode.UNAUTHENTICATED, f"no token: {e.code()}")
        e = rpc_error(lambda: node.api.ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT, metadata=[("authorization", "Bearer wrong")]))
        check(e.code() == grpc.StatusCode.UNAUTHENTICATED, f"wrong token: {e.code()}")
        r = node.api.ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT, metadata=[("authorization", "Bearer t0ken-for-tests")])
        check(len(r.nodes) == 1, str(r))
        check(node.health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT).status == health_pb2.HealthCheckResponse.SERVING,
              "health must not need the token")
        rc, out, err = castorctl("--server", f"127.0.0.1:{node.admin}", "--token", "t0ken-for-tests", "nodes")
        check(rc == 0 and "256/256" in out, out + err)
    finally:
        node.stop()


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def issue(cwd, ca, name, usage, san=None):
    """A P-256 key and a certificate for it, signed by the CA `ca` (files ca.crt/ca.key in cwd)."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    with open(os.path.join(cwd, f"{name}.ext"), "w") as f:
        f.write(f"extendedKeyUsage={usage}\n" + (f"subjectAltName={san}\n" if san else ""))
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


def make_ca(cwd, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


@case
def mutual_tls_admits_only_clients_of_the_ca(ctx):
    pki = os.path.join(ctx["workdir"], "pki")
    os.makedirs(pki)
    make_ca(pki, "ca")
    make_ca(pki, "rogue-ca")
    issue(pki, "ca", "server", "serverAuth", san="IP:127.0.0.1,DNS:localhost")
    issue(pki, "ca", "admin", "clientAuth")
    issue(pki, "rogue-ca", "intruder", "clientAuth")
    read = lambda name: open(os.path.join(pki, name), "rb").read()  # noqa: E731
    node = Node("tls-node", ctx["workdir"], env={
        "CaStorage__Admin__Tls__Certificate": os.path.join(pki, "server.crt"),
        "CaStorage__Admin__Tls__Key": os.path.join(pki, "server.key"),
        "CaStorage__Admin__Tls__ClientCa": os.path.join(pki, "ca.crt")})
    target = f"127.0.0.1:{node.admin}"

    def channel(cert=None):
        creds = grpc.ssl_channel_credentials(root_certificates=read("ca.crt"),
                                             private_key=read(f"{cert}.key") if cert else None,
                                             certificate_chain=read(f"{cert}.crt") if cert else None)
        return grpc.secure_channel(target, creds)

    try:
        with channel("admin") as ch:
            r = admin_pb2_grpc.AdminStub(ch).ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT)
            check(len(r.nodes) == 1 and r.nodes[0].admin_endpoint == target, str(r))
            check(health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=WAIT).status
                  == health_pb2.HealthCheckResponse.SERVING, "health over mutual TLS")
        for who, ch in (("no client certificate", channel()), ("a certificate of another CA", channel("intruder")),
                        ("cleartext h2c", grpc.insecure_channel(target))):
            with ch:
                e = rpc_error(lambda: admin_pb2_grpc.AdminStub(ch).ListNodes(admin_pb2.ListNodesRequest(), timeout=WAIT))
                check(e.code() == grpc.StatusCode.UNAVAILABLE, f"{who}: {e.code()} {e.details()}")
        tls = ["--server", target, "--ca", os.path.join(pki, "ca.crt")]
        rc, out, err = castorctl(*tls, "--cert", os.path.join(pki, "admin.crt"), "--key", os.path.join(pki, "admin.key"), "nodes")
        check(rc == 0 and "256/256" in out, f"castorctl with a client certificate: rc {rc}: {out}{err}")
        rc, out, err = castorctl(*tls, "nodes")
        check(rc == 1 and "UNAVAILABLE" in err, f"castorctl without a client certificate: rc {rc}: {out}{err}")
        rc, out, err = castorctl("--server", target, "--ca", os.path.join(pki, "rogue-ca.crt"),
                                 "--cert", os.path.join(pki, "admin.crt"), "--key", os.path.join(pki, "admin.key"), "nodes")
        check(rc == 1 and "UNAVAILABLE" in err, f"castorctl trusting another CA: rc {rc}: {out}{err}")
        with open(node.log) as f:
            check("not issued by Admin:Tls:ClientCa" in f.read(), "the refused client certificate was not logged")
    finally:
        node.stop()


@case
def non_loopback_admin_without_token_refuses_to_start(ctx):
    data = os.path.join(ctx["workdir"], "open-node")
    smb, admin = free_ports(2)
    r = subprocess.run(["dotnet", DLL, "--listen", f"127.0.0.1:{smb}", "--data", data, "--admin", f"0.0.0.0:{admin}", "--metrics", "off"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    check(r.returncode != 0 and "Token" in r.stderr, f"rc {r.returncode}: {r.stdout}{r.stderr}")


def main():
    if "--list" in sys.argv:
        for c in CASES:
            print(c.__name__)
        return 0
    os.makedirs(ARTIFACTS, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="castorage-admin.")
    passed = failed = 0
    node = None
    try:
        load_stubs(workdir)
        node = Node("server", workdir)
        ctx = {"node": node, "workdir": workdir}
        for c in CASES:
            t0 = time.time()
            try:
                c(ctx)
                passed += 1
                print(f"ok   {c.__name__} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported and counted
                failed += 1
                detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
                print(f"FAIL {c.__name__}: {detail}", flush=True)
        held = ctx.get("held")
        if held:
            held.finish()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failed = len(CASES) - passed
    finally:
        if node:
            node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"admin: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
