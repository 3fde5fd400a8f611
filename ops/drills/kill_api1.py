#!/usr/bin/env python3
"""Drill a: `kill -9` of api1 under load, then `ops/cluster restart api1`: it must bootstrap from
the replica's snapshot + the log's tail and catch up; nothing acknowledged may be lost."""
import sys
import time

from drilllib import Drill, log, sigkill


def fault(d: Drill) -> None:
    pid = d.pid("api1")
    sigkill(pid)
    d.mark("fault")
    log(f"api1 (pid {pid}) killed -9; nginx sends everything to api2")
    time.sleep(d.hold(5, 2))
    d.bring_back("api1", "fault_to_api1_back_s")


if __name__ == "__main__":
    sys.exit(Drill("kill-api1", "kill -9 api1 under load, restart it", sys.argv[1:]).run(fault))
