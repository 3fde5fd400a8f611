#!/usr/bin/env python3
"""Drill d: site B partitioned from site A (the WAN drops every packet) for 30 s under load,
then healed; the replica must catch up. In tun mode the WAN forwarder is frozen (SIGSTOP: both
TUN queues fill and drop, a silent black hole); with netem the link is taken down."""
import os
import signal
import subprocess
import sys
import time

from drilllib import ENV, RUN, Drill, log


def fault(d: Drill) -> None:
    mode = (RUN / "wan.mode").read_text().strip()
    link = ENV["BARDO_CLUSTER_WAN_IF"] + "0"
    if mode == "tun":
        pid = int((RUN / "wan.pid").read_text())
        os.kill(pid, signal.SIGSTOP)
    else:
        subprocess.run(["ip", "link", "set", link, "down"], check=True)
    d.mark("fault")
    log(f"site B partitioned ({mode})")
    time.sleep(d.hold(30, 5))
    if mode == "tun":
        os.kill(pid, signal.SIGCONT)
    else:
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
    d.mark("healed")
    d.mark("recovered")
    log("partition healed")
    d.timings["partition_s"] = round(d.marks["healed"] - d.marks["fault"], 2)
    d.timings["heal_to_replica_lag0_s"] = d.wait_caught_up("replica")


if __name__ == "__main__":
    sys.exit(Drill("partition-site-b", "site B partitioned 30 s under load, healed", sys.argv[1:]).run(fault))
