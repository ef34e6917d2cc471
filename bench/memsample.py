#!/usr/bin/python3
"""Memory of a server: one process (--pid) or a process group (--pgid).

usage:
  memsample.py snapshot (--pid PID | --pgid PGID)
      prints "rss_kib pss_kib processes"
  memsample.py watch (--pid PID | --pgid PGID) --out FILE [--interval SECS]
      samples until SIGTERM/SIGINT, then writes "peak_rss_kib peak_pss_kib
      max_processes" to FILE (peaks of the sums over the group)

A process group is how Samba's smbd is measured: it forks one process per
connection, so its footprint is the sum over the group. RSS counts pages
shared between those processes once per process; PSS splits them, so PSS
is the fair figure for a multi-process server (for a single process the
two differ only by its share of shared libraries).
"""
import argparse
import os
import signal
import sys
import time


def members(pid: int | None, pgid: int | None) -> list[int]:
    if pid is not None:
        return [pid] if os.path.exists(f"/proc/{pid}") else []
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0] = state, [1] = ppid, [2] = pgrp
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def field_kib(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(pid: int | None, pgid: int | None) -> tuple[int, int, int]:
    procs = members(pid, pgid)
    rss = sum(field_kib(f"/proc/{p}/status", "VmRSS:") for p in procs)
    pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in procs)
    return rss, pss, len(procs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["snapshot", "watch"])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--pid", type=int)
    g.add_argument("--pgid", type=int)
    ap.add_argument("--out")
    ap.add_argument("--interval", type=float, default=0.25)
    a = ap.parse_args()

    if a.mode == "snapshot":
        print(*sample(a.pid, a.pgid))
        return 0

    if not a.out:
        ap.error("watch needs --out")
    stop = False

    def on_signal(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    peak = [0, 0, 0]
    deadline = time.monotonic() + 4 * 3600  # never outlive a forgotten run
    while not stop and time.monotonic() < deadline:
        s = sample(a.pid, a.pgid)
        peak = [max(x, y) for x, y in zip(peak, s)]
        with open(a.out + ".tmp", "w") as f:
            print(*peak, file=f)
        os.replace(a.out + ".tmp", a.out)
        time.sleep(a.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
