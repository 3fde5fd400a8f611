#!/usr/bin/env python3
"""Drill b: RabbitMQ's app stopped and started under load (`rabbitmqctl stop_app` / `start_app`).
Creates must answer 503 (never 201) while the log cannot confirm, and 201 again after."""
import subprocess
import sys
import time

from drilllib import Drill, log


def fault(d: Drill) -> None:
    subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, capture_output=True)
    d.mark("fault")
    log("RabbitMQ app stopped")
    time.sleep(d.hold(10, 3))
    subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, capture_output=True)
    d.timings["broker_down_s"] = d.since("fault")
    d.mark("healed")
    d.mark("recovered")
    log("RabbitMQ app started")
    lag0 = {name: d.wait_caught_up(name) for name in ("api1", "api2", "replica")}
    d.timings["start_app_to_lag0_s"] = max((v for v in lag0.values() if v is not None), default=None)


if __name__ == "__main__":
    sys.exit(Drill("broker-restart", "RabbitMQ stop_app/start_app under load", sys.argv[1:]).run(fault))
