#!/usr/bin/python3
"""Two clients on two different nodes of a cluster: share modes and delete-on-close.

usage: cross_node.py --target HOST:PORT --target2 HOST:PORT [--share NAME]

The lease-break and byte-range-lock cases across nodes are tests/impacket/two_clients.py with --target2;
this script adds what it does not cover. Several file names are used, so the files' shards fall on
different owners (the node of client 1, of client 2, or a third one).

Cases (per file):
  sharing_violation.N   client 1 (node A) opens for write sharing nothing; client 2 (node B) opening the
                        same file fails STATUS_SHARING_VIOLATION; after client 1 closes, it succeeds
  delete_pending.N      client 1 sets delete-on-close through its open (FileDispositionInformation);
                        client 2's open fails STATUS_DELETE_PENDING; after client 1 closes, the file is
                        gone for client 2 (STATUS_OBJECT_NAME_NOT_FOUND)

Last line: "cluster-cross-node: N passed, N failed"; exit status 0 only if none failed.
"""
import argparse
import os
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "impacket"))
from smbtest import (  # noqa: E402
    Client, Results, CaseFailed, st, test_accounts, exit_on_sigterm, create_result,
    STATUS_SUCCESS, SHARE_ALL,
)
from impacket.smb3structs import (  # noqa: E402
    FILE_READ_DATA, FILE_WRITE_DATA, SMB2_DIALECT_302, SMB2_SET_INFO, SMB2SetInfo, SMB2_0_INFO_FILE, DELETE,
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


def sharing_case(res, c1, c2, i):
    name = f"xnode_share_{os.getpid()}_{i}.dat"
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


def delete_case(res, c1, c2, i):
    name = f"xnode_doc_{os.getpid()}_{i}.dat"
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
    ap.add_argument("--share", default="share")
    args = ap.parse_args()
    test_accounts(args)
    exit_on_sigterm()
    res = Results()
    h1, _, p1 = args.target.rpartition(":")
    h2, _, p2 = args.target2.rpartition(":")
    c1 = c2 = None
    try:
        c1 = Client("client1", h1, int(p1), args.user1, args.pass1, args.share, SMB2_DIALECT_302)
        c2 = Client("client2", h2, int(p2), args.user2, args.pass2, args.share, SMB2_DIALECT_302)
        for i in range(FILES):
            for case in (sharing_case, delete_case):
                try:
                    case(res, c1, c2, i)
                except Exception as e:  # noqa: BLE001 - the case fails, the others run
                    traceback.print_exc()
                    res.bad(f"{case.__name__}.{i}", f"{type(e).__name__}: {e}")
    finally:
        for c in (c1, c2):
            if c:
                c.disconnect()
    return res.summary("cluster-cross-node")


if __name__ == "__main__":
    sys.exit(main())
