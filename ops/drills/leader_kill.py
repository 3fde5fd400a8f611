#!/usr/bin/env python3
"""Drill: kill -9 of the RabbitMQ node that leads the stream, under load, on the three-broker
cluster (one node per site). The two survivors elect a new leader; the APIs' connections fail over
to another node. Nothing acknowledged may be lost, and the time without a 201 should stay under
5 s. The node is then started again on its data: it must rejoin and catch up by itself."""
import sys
import time

from drilllib import Drill, log


class LeaderKill(Drill):
    def extra(self, entries: list[dict]) -> dict:
        return {"broker_ends": self.node_end_offsets()}


def fault(d: Drill) -> None:
    before = d.stream_roles()
    node = before["leader"]
    if node is None:
        raise RuntimeError(f"the stream has no known leader: {before}")
    d.cluster("broker-kill", node)
    d.mark("fault")
    d.notes.append(f"killed broker node {node} (site {node.upper()}), the stream's leader: "
                   f"{'yes' if node == before['leader'] else 'no'}")
    log(f"broker {node} (leader) killed")
    time.sleep(d.hold(15, 5))
    after = d.stream_roles()
    d.notes.append(f"while {node} was down: leader {after['leader']}, nodes running {after['running']}")
    d.cluster("broker-start", node)
    d.timings["node_down_s"] = d.since("fault")
    d.mark("recovered")
    d.timings["rejoined_s"] = d.wait_running(node)
    for name in ("api1", "api2", "replica"):
        d.timings[f"{name}_lag0_s"] = d.wait_caught_up(name)


if __name__ == "__main__":
    sys.exit(LeaderKill("leader-kill", "kill -9 of the stream's leader node (three brokers)", sys.argv[1:],
                        brokers=3).run(fault))
