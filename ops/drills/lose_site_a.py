#!/usr/bin/env python3
"""Drill: all of site A lost at once (kill -9 of its nginx, its APIs and its broker node) under
load, then `ops/cluster promote` (bardo promote): the replica at site B takes creates against the
two surviving broker nodes, behind site B's nginx. Every 201 given by site A before the loss and
by site B after must be on the promoted replica; site B should serve creates within 30 s of the
promote command."""
import sys
import time

from drilllib import INSTANCES, SITE_B, Drill, log


class LoseSiteA(Drill):
    def extra(self, entries: list[dict]) -> dict:
        promote_ms = self.marks["promote"] * 1000
        at_b = sorted(e["t"] + e["ms"] for e in entries
                      if e["kind"] == "create" and e["status"] == 201 and e["t"] >= promote_ms)
        first = round((at_b[0] - promote_ms) / 1000, 2) if at_b else None
        if first is None or first > 30:
            self.failures.append(f"site B's first 201 came {first} s after the promote command (target 30 s)")
        self.timings["promote_to_first_201_at_b_s"] = first
        self.timings["loss_to_first_201_at_b_s"] = round((at_b[0] - self.marks["fault"] * 1000) / 1000, 2) if at_b else None
        return {"broker_ends": self.node_end_offsets("bc")}


def fault(d: Drill) -> None:
    before = d.stream_roles()
    d.cluster("lose-site-a")
    d.mark("fault")
    log("site A lost")
    d.stop_load()  # site A's entry point is gone: its clients move to site B
    for name in [n for n in INSTANCES if n.startswith("api")]:
        del INSTANCES[name]
    time.sleep(d.hold(5, 2))  # the operator notices
    d.mark("promote")
    out = d.cluster("promote")
    d.timings["promote_command_s"] = d.since("promote")
    log(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "promoted")
    d.start_load(SITE_B)
    d.mark("recovered")
    after = d.stream_roles()
    d.notes.append(f"killed site A's broker node a, the stream's leader: {'yes' if before['leader'] == 'a' else 'no'}; "
                   f"after the promote: leader {after['leader']}, nodes running {after['running']}")


if __name__ == "__main__":
    sys.exit(LoseSiteA("lose-site-a", "site A lost (APIs, nginx, broker), site B promoted (three brokers)",
                       sys.argv[1:], brokers=3).run(fault))
