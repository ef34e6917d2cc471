#!/usr/bin/python3
"""castorctl against a running cluster: nodes and shard owners, a disconnected persistent open after a node kill,
and drain moving a client that holds a persistent handle without an application error.

usage: admin_ops.py --front HOST:PORT --dir CLUSTER_DIR

Cases:
  nodes               castorctl nodes (JSON) on node 1: every node up, each owning shards, 256 in all
  disconnected_listed after SIGKILL of the node a client (persistent handle, lease, lock) is connected to, a
                      surviving node's castorctl opens lists that open as persistent and disconnected
  reclaimed           the client reconnects through the front and reclaims it (DH2C)
  cluster_wide        castorctl sessions, opens and locks on a node the client is not connected to list the client's
                      session (with its node), its persistent open and its lock: every list is cluster-wide
  drain_moves_client  castorctl drain of the client's node, asked on another node: its connection is dropped, it reconnects through the
                      front to another node, reclaims its handle and writes on (no error reaches the application:
                      the write that was cut off is retried after the reclaim)
  drain_hands_off     the drained node owns no shard; drain --cancel gives it shards again

Last line: "cluster-admin: N passed, N failed".
"""
import argparse
import json
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "impacket"))
sys.path.insert(0, HERE)
from smbtest import Results, test_accounts, exit_on_sigterm, lease_str  # noqa: E402
from failover import Failover  # noqa: E402


def castorctl(repo, server, *args):
    ctl = os.path.join(repo, "src/CaStorage.Cli/bin/Release/net10.0/castorctl.dll")
    out = subprocess.run(["dotnet", ctl, "--server", server, "--output", "json", *args], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"castorctl {' '.join(args)} on {server}: {out.stderr.strip() or out.stdout.strip()}")
    return json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}


def eventually(check, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            v = check()
            if v:
                return v
        except Exception:  # noqa: BLE001 - retried until the deadline
            pass
        time.sleep(0.2)
    return check()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--front", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--share", default="ca")
    ap.add_argument("--kills", type=int, default=0)
    args = ap.parse_args()
    test_accounts(args)
    exit_on_sigterm()
    res = Results()
    f = Failover(args, res)
    admin = lambda i: f"127.0.0.{f.base + i}:4460"  # noqa: E731
    try:
        nodes = castorctl(f.repo, admin(1), "nodes").get("nodes", [])
        shards = sum(len(n.get("ownedShards", [])) for n in nodes)
        res.check("nodes", len(nodes) == f.nodes and all(n.get("state") == "up" and n.get("ownedShards") for n in nodes) and shards == 256,
                  f"{len(nodes)} nodes up, {shards} shards owned", f"nodes: {json.dumps(nodes)[:400]}")

        f.open()
        for _ in range(4):
            f.write_block()
        node = f.node_of_client()
        old_session = f.c.session_id
        t_kill = time.monotonic()
        f.kill_node(node)
        f.c.disconnect()
        pid = int.from_bytes(f.fid[:8], "little")

        def listed():
            for i in range(1, f.nodes + 1):
                if i == node:
                    continue
                for o in castorctl(f.repo, admin(i), "opens").get("opens", []):
                    if o.get("persistent") and o.get("disconnected") and str(o.get("persistentId", "")) == str(pid):
                        return i
            return None
        seen = eventually(listed, 10)
        res.check("disconnected_listed", seen is not None, f"node{seen} lists the open as persistent, disconnected",
                  "no surviving node lists the open as disconnected")
        fid, lease = f.reclaim(old_session, t_kill + 30)
        res.check("reclaimed", fid[:8] == f.fid[:8], f"lease {lease_str(lease or 0)}", f"FileId {fid.hex()} vs {f.fid.hex()}")
        f.fid = fid
        f.write_block()
        f.kill_node(node, "restart")

        # Any node answers for the cluster: one the client is not on.
        node = f.node_of_client()
        other = next(i for i in range(1, f.nodes + 1) if i != node)
        sessions = castorctl(f.repo, admin(other), "sessions").get("sessions", [])
        opens = castorctl(f.repo, admin(other), "opens").get("opens", [])
        locks = castorctl(f.repo, admin(other), "locks").get("locks", [])
        counts = next((n for n in castorctl(f.repo, admin(other), "nodes").get("nodes", []) if n.get("id") == f"node{node}"), {})
        mine = [s for s in sessions if s.get("user", "").lower() == args.user1.lower()]
        res.check("cluster_wide", len(mine) == 1 and mine[0].get("node") == f"node{node}"
                  and any(str(o.get("persistentId", "")) == str(pid) and o.get("persistent") for o in opens)
                  and any(str(lk.get("persistentId", "")) == str(pid) for lk in locks)
                  and counts.get("sessionCount", 0) >= 1 and counts.get("openCount", 0) >= 1 and counts.get("adminEndpoint"),
                  f"node{other} lists the session on node{node}, its persistent open and its lock, and node{node}'s counts",
                  f"node{other}: sessions {json.dumps(mine)[:300]}, {len(opens)} opens, {len(locks)} locks, node{node} {json.dumps(counts)[:300]}")

        # Drain the node the client is on now, asked on another node.
        old_session = f.c.session_id
        castorctl(f.repo, admin(other), "drain", f"node{node}")
        t0 = time.monotonic()
        try:
            f.write_block(timeout=2.0)   # may still go through before the connection is dropped
        except Exception:  # noqa: BLE001 - the node sent its clients away
            pass
        f.c.disconnect()
        fid, lease = f.reclaim(old_session, t0 + 30)
        f.fid = fid
        f.write_block()
        moved_to = f.node_of_client()
        res.check("drain_moves_client", moved_to is not None and moved_to != node,
                  f"client moved from node{node} to node{moved_to} in {time.monotonic() - t0:.2f} s, handle reclaimed, writing on",
                  f"client on node{moved_to} after draining node{node}")
        owned = lambda: next((len(n.get("ownedShards", [])) for n in castorctl(f.repo, admin(node), "nodes").get("nodes", [])  # noqa: E731
                              if n.get("id") == f"node{node}"), -1)
        drained = eventually(lambda: owned() == 0, 10)
        castorctl(f.repo, admin(other), "drain", f"node{node}", "--cancel")
        back = eventually(lambda: owned() > 0, 10)
        res.check("drain_hands_off", bool(drained) and bool(back), "no shard while draining, shards again after --cancel",
                  f"owned while draining: {owned()}")
        f.c.close(f.fid)
        f.c.disconnect()
    except Exception as e:  # noqa: BLE001 - what ran is counted
        traceback.print_exc()
        res.bad("scenario", f"{type(e).__name__}: {e}")
    return res.summary("cluster-admin")


if __name__ == "__main__":
    sys.exit(main())
