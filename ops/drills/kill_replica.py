#!/usr/bin/env python3
"""Drill c: the replica (site B) killed -9 under load and restarted: it holds its snapshots in
memory only, so it rebuilds from the log's first record, and must converge (same digest)."""
import sys
import time

from drilllib import Drill, log, sigkill


def fault(d: Drill) -> None:
    pid = d.pid("replica")
    sigkill(pid)
    d.mark("fault")
    log(f"replica (pid {pid}) killed -9")
    time.sleep(d.hold(5, 2))
    d.bring_back("replica", "fault_to_replica_back_s")


if __name__ == "__main__":
    sys.exit(Drill("kill-replica", "kill -9 the replica under load, restart it", sys.argv[1:]).run(fault))
