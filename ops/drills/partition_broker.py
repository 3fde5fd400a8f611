#!/usr/bin/env python3
"""Drill: one broker node (site C's) cut off from the other two under load, then reconnected, on
the three-broker cluster. The two others keep a quorum, so creates go on; the cut-off node pauses
itself (pause_minority) and, once the network is back, rejoins and catches up by itself: its own
copy of the stream must end where the others' do."""
import sys
import time

from drilllib import RUN, Drill, log


class PartitionBroker(Drill):
    def extra(self, entries: list[dict]) -> dict:
        return {"broker_ends": self.node_end_offsets()}


def fault(d: Drill) -> None:
    before = d.stream_roles()
    d.notes.append(f"partitioned broker node c (site C); it was the stream's leader: "
                   f"{'yes' if before['leader'] == 'c' else 'no'} (leader {before['leader']})")
    d.cluster("partition", "c")
    d.mark("fault")
    log("site C cut off")
    time.sleep(d.hold(45, 25))  # longer than net_ticktime (15 s): the others notice
    during = d.stream_roles()
    d.notes.append(f"while cut off: leader {during['leader']}, nodes running {during['running']}, "
                   f"down {during['down']}")
    if "c" not in during["down"]:
        d.failures.append("the other nodes never counted c as down: the partition proved nothing")
    d.cluster("heal", "c")
    d.timings["partitioned_s"] = d.since("fault")
    d.mark("recovered")
    d.timings["rejoined_s"] = d.wait_running("c")
    paused = (RUN / "broker-c.log").read_text(errors="replace").count("Successfully stopped RabbitMQ")
    d.notes.append(f"c paused itself {paused}x (pause_minority) and restarted when the network came back")
    log(f"site C back; its node rejoined the stream after {d.timings['rejoined_s']} s")


if __name__ == "__main__":
    sys.exit(PartitionBroker("partition-broker", "one broker node partitioned, then healed (three brokers)",
                             sys.argv[1:], brokers=3).run(fault))
