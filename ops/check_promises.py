#!/usr/bin/env python3
"""Black-box check of SPEC.md's consistency promises 1-5 against real processes.

Expects two `bardo serve` instances and one `bardo replica` on the same stream (see
ops/cluster-check.sh, which starts them). Standard library only. Exits non-zero on any broken
promise, printing what broke.

Usage: check_promises.py API1_URL API2_URL REPLICA_URL [--creates N]
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import http.client
import json
import sys
import time
import urllib.parse
import uuid

RUN = uuid.uuid4().hex[:8]


def request(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"} if payload else {}
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def bard(apelido: str) -> dict:
    return {"apelido": apelido, "nome": f"Nome {apelido}", "nascimento": "1990-01-01", "stack": ["Rust"]}


def status(base: str) -> dict:
    return json.loads(request(base, "GET", "/status")[2])


def check(condition: bool, message: str) -> None:
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        sys.exit(1)


def unique_apelidos(api1: str, api2: str) -> int:
    """Promise 3: 200 concurrent creates of 20 apelidos over both instances: 20 created."""
    def create(n: int) -> int:
        return request((api1, api2)[n % 2], "POST", "/bards", bard(f"u{RUN}{n % 20}"))[0]

    with futures.ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(create, range(200)))
    check(statuses.count(201) == 20 and statuses.count(422) == 180,
          f"promise 3: 20 apelidos x 10 concurrent creates -> {statuses.count(201)} x 201, {statuses.count(422)} x 422")
    return 20


def read_your_writes(api1: str, api2: str, creates: int) -> int:
    """Promise 1: after a 201 from one instance, GET Location on the other returns 200."""
    def create_then_read(n: int) -> tuple[int, int]:
        writer, reader = (api1, api2) if n % 2 == 0 else (api2, api1)
        code, headers, _ = request(writer, "POST", "/pessoas", bard(f"r{RUN}{n}"))
        if code != 201:
            return code, 0
        return code, request(reader, "GET", headers["location"])[0]

    with futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(create_then_read, range(creates)))
    created = sum(1 for code, _ in results if code == 201)
    misses = sum(1 for code, read in results if code == 201 and read != 200)
    check(created == creates, f"promise 1: {created}/{creates} creates answered 201")
    check(misses == 0, f"promise 1: GET Location on the other instance right after the 201: {misses} misses")
    return created


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("api1")
    parser.add_argument("api2")
    parser.add_argument("replica")
    parser.add_argument("--creates", type=int, default=2000)
    args = parser.parse_args()
    before = int(request(args.api1, "GET", "/contagem-bards")[2])
    created = unique_apelidos(args.api1, args.api2) + read_your_writes(args.api1, args.api2, args.creates)
    counts = [int(request(base, "GET", path)[2]) for base, path in
              ((args.api1, "/contagem-bards"), (args.api2, "/contagem-pessoas"))]
    check(counts == [before + created] * 2, f"promise 2: counts {counts} == {before + created} (201s)")
    converge(args, before + created)


def converge(args: argparse.Namespace, expected: int) -> None:
    """Promise 5 (and 4 as seen from the replica): the replica reaches the same digest."""
    target = max(status(args.api1)["log"]["next_offset"], status(args.api2)["log"]["next_offset"])
    deadline = time.time() + 30
    while status(args.replica)["log"]["next_offset"] < target and time.time() < deadline:
        time.sleep(0.1)
    digests = [status(base)["digest"] for base in (args.api1, args.api2, args.replica)]
    check(len(set(digests)) == 1, f"promise 5: digests api1/api2/replica {digests}")
    check(digests[0].startswith(f"{expected}-"), f"promise 4: the digest counts all {expected} acknowledged bards")
    code = request(args.replica, "POST", "/bards", bard(f"x{RUN}"))[0]
    check(code == 405, f"the replica refuses writes ({code})")


if __name__ == "__main__":
    main()
