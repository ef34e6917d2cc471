#!/usr/bin/python3
"""Two clients on two different nodes of a cluster: share modes and delete-on-close.

usage: cross_node.py --target HOST:PORT --target2 HOST:PORT --home HOST:PORT --metrics URL [--share NAME]

The lease-break and byte-range-lock cases across nodes are tests/impacket/two_clients.py with --target2;
this script adds what it does not cover. A cluster keeps a file's state on the node that created it, so
the files are created in turn through client 1's node, client 2's node and a third one (--home): each
case runs with the state on each kind of node.

Cases (per file):
  sharing_violation.N   client 1 (node A) opens for write sharing nothing; client 2 (node B) opening the
                        same file fails STATUS_SHARING_VIOLATION; after client 1 closes, it succeeds
  delete_pending.N      client 1 sets delete-on-close through its open (FileDispositionInformation);
                        client 2's open fails STATUS_DELETE_PENDING; after client 1 closes, the file is
                        gone for client 2 (STATUS_OBJECT_NAME_NOT_FOUND)
  placement.local       client 1 creates a file and locks, unlocks and writes it 20 times: client 1's
                        node (--metrics) answers every state-tier call itself, none goes to another node
  placement.remote      the same on a file client 2 created: client 1's node sends those calls to client
                        2's node

Last line: "cluster-cross-node: N passed, N failed"; exit status 0 only if none failed.
"""
import argparse
import os
import sys
import traceback
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "impacket"))
from smbtest import (  # noqa: E402
    Client, Results, CaseFailed, st, test_accounts, exit_on_sigterm, create_result,
    STATUS_SUCCESS, SHARE_ALL,
)
from impacket.smb3structs import (  # noqa: E402
    FILE_READ_DATA, FILE_WRITE_DATA, SMB2_DIALECT_302, SMB2_SET_INFO, SMB2SetInfo, SMB2_0_INFO_FILE, DELETE,
    SMB2_LOCKFLAG_EXCLUSIVE_LOCK, SMB2_LOCKFLAG_UNLOCK, SMB2_LOCKFLAG_FAIL_IMMEDIATELY,
)

STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_DELETE_PENDING = 0xC0000056
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
FILE_DISPOSITION_INFORMATION = 13
FILES = 4


def open_file(c, name, access, share):
    return c.wait(c.create_send(name, access, share))


def set_delete_on_close(c, fid):
    s = SMB2SetInfo()
    s["InfoType"] = SMB2_0_INFO_FILE
    s["FileInfoClass"] = FILE_DISPOSITION_INFORMATION
    s["AdditionalInformation"] = 0
    s["FileID"] = fid
    s["Buffer"] = b"\x01"
    s["BufferLength"] = 1
    return c.wait(c.send(SMB2_SET_INFO, s))


def sharing_case(res, c1, c2, i, creator):
    name = f"xnode_share_{os.getpid()}_{i}.dat"
    if creator:
        make_file(creator, name)
    m = open_file(c1, name, FILE_READ_DATA | FILE_WRITE_DATA, 0)
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"client 1 create: {st(m.status)}")
    fid = create_result(m)[0]
    m2 = open_file(c2, name, FILE_READ_DATA, SHARE_ALL)
    ok = m2.status == STATUS_SHARING_VIOLATION
    c1.close(fid)
    m3 = open_file(c2, name, FILE_READ_DATA, SHARE_ALL)
    ok2 = m3.status == STATUS_SUCCESS
    if ok2:
        c2.close(create_result(m3)[0])
    res.check(f"sharing_violation.{i}", ok and ok2, "violation across nodes, then open after the close",
              f"second open {st(m2.status)}, after close {st(m3.status)}")


def delete_case(res, c1, c2, i, creator):
    name = f"xnode_doc_{os.getpid()}_{i}.dat"
    if creator:
        make_file(creator, name)
    m = open_file(c1, name, FILE_READ_DATA | FILE_WRITE_DATA | DELETE, SHARE_ALL)
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"client 1 create: {st(m.status)}")
    fid = create_result(m)[0]
    d = set_delete_on_close(c1, fid)
    m2 = open_file(c2, name, FILE_READ_DATA, SHARE_ALL)
    pending = m2.status == STATUS_DELETE_PENDING
    c1.close(fid)
    r = open_existing(c2, name)
    res.check(f"delete_pending.{i}", d.status == STATUS_SUCCESS and pending and r == STATUS_OBJECT_NAME_NOT_FOUND,
              "DELETE_PENDING across nodes, then gone",
              f"set disposition {st(d.status)}, second open {st(m2.status)}, after close {st(r)}")


def make_file(creator, name):
    """Creates the file through creator (its node becomes the file's home) and closes it."""
    m = open_file(creator, name, FILE_READ_DATA | FILE_WRITE_DATA, SHARE_ALL)
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"creating {name} through {creator.name}: {st(m.status)}")
    creator.close(create_result(m)[0])


def state_calls(url):
    """(local, remote) state-tier calls of the node whose /metrics this is."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("castorage_cluster_state_calls_"):
            values[parts[0]] = float(parts[1])
    return values["castorage_cluster_state_calls_local_total"], values["castorage_cluster_state_calls_remote_total"]


def placement_case(res, c1, c2, url, where):
    name = f"xnode_place_{where}_{os.getpid()}.dat"
    if where == "remote":
        make_file(c2, name)
    m = open_file(c1, name, FILE_READ_DATA | FILE_WRITE_DATA, SHARE_ALL)
    if m.status != STATUS_SUCCESS:
        raise CaseFailed(f"client 1 open: {st(m.status)}")
    fid = create_result(m)[0]
    local0, remote0 = state_calls(url)
    for k in range(20):
        for send in (lambda: c1.lock_send(fid, k, 1, SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY),
                     lambda: c1.lock_send(fid, k, 1, SMB2_LOCKFLAG_UNLOCK), lambda: c1.write_send(fid, k, b"x")):
            r = c1.wait(send())
            if r.status != STATUS_SUCCESS:
                raise CaseFailed(f"call {k}: {st(r.status)}")
    local1, remote1 = state_calls(url)
    c1.close(fid)
    local, remote = local1 - local0, remote1 - remote0
    if where == "local":
        ok = remote == 0 and local >= 60
    else:
        ok = remote >= 60
    res.check(f"placement.{where}", ok, f"client 1's node: {local:.0f} calls answered there, {remote:.0f} sent on",
              f"client 1's node answered {local:.0f} and sent {remote:.0f} of 60 calls")


CASE_NAMES = {sharing_case: "sharing_violation", delete_case: "delete_pending"}


def open_existing(c, name):
    """FILE_OPEN (must exist): the status."""
    from impacket.smb3structs import FILE_OPEN
    m = c.wait(c.create_send(name, FILE_READ_DATA, SHARE_ALL, disposition=FILE_OPEN))
    if m.status == STATUS_SUCCESS:
        c.close(create_result(m)[0])
    return m.status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True)
    ap.add_argument("--target2", required=True)
    ap.add_argument("--home", required=True, help="HOST:PORT of a third node, through which some files are created")
    ap.add_argument("--metrics", required=True, help="/metrics URL of client 1's node")
    ap.add_argument("--share", default="share")
    args = ap.parse_args()
    test_accounts(args)
    exit_on_sigterm()
    res = Results()
    h1, _, p1 = args.target.rpartition(":")
    h2, _, p2 = args.target2.rpartition(":")
    h3, _, p3 = args.home.rpartition(":")
    c1 = c2 = c3 = None
    try:
        c1 = Client("client1", h1, int(p1), args.user1, args.pass1, args.share, SMB2_DIALECT_302)
        c2 = Client("client2", h2, int(p2), args.user2, args.pass2, args.share, SMB2_DIALECT_302)
        c3 = Client("home", h3, int(p3), args.user1, args.pass1, args.share, SMB2_DIALECT_302)
        for i in range(FILES):
            # The file's home: client 1's node (it creates the file in the case), client 2's, the third one.
            creator = (None, c2, c3)[i % 3]
            for case in (sharing_case, delete_case):
                try:
                    case(res, c1, c2, i, creator)
                except Exception as e:  # noqa: BLE001 - the case fails, the others run
                    traceback.print_exc()
                    res.bad(f"{CASE_NAMES[case]}.{i}", f"{type(e).__name__}: {e}")
        for where in ("local", "remote"):
            try:
                placement_case(res, c1, c2, args.metrics, where)
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                res.bad(f"placement.{where}", f"{type(e).__name__}: {e}")
    finally:
        for c in (c1, c2, c3):
            if c:
                c.disconnect()
    return res.summary("cluster-cross-node")


if __name__ == "__main__":
    sys.exit(main())
