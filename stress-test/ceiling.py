#!/usr/bin/env python3
"""Independent ceiling calculator for a Gatling run of the Rinha 2023 Q3 profile.

Given the payload TSV the run fed (header ``payload``, one raw JSON body per line) and N, the
number of POSTs Gatling actually sent, this counts how many of those N bodies a server that follows
/work/shared/SPEC.md ("Create: validation") must accept: the expected ``/contagem-pessoas`` after
the run. The feeder is circular, so line i of the run is body ``i mod lines``.

Written from SPEC.md alone; it imports nothing from the bardo repository.

Rules (SPEC.md; the first failing rule decides the status, fields in the table's order):
  * body not UTF-8, not JSON, or not a JSON object: 400;
  * apelido: required string of 1-32 chars, unique (exact, case-sensitive equality with an
    apelido already created); wrong type 400, missing/null/empty/too long 422;
  * nome: required string of 1-100 chars; wrong type 400, missing/null/empty/too long 422;
  * nascimento: required string ``YYYY-MM-DD`` that is a real (Gregorian) calendar date; wrong
    type 400, a string that is not such a date 400, missing/null/empty 422;
  * stack: optional; missing or null is fine; not an array 400; an element that is not a string
    (number, bool, object, array) 400; an element that is null, empty or longer than 32 chars 422;
  * lengths count Unicode code points; unknown fields are ignored;
  * a duplicate apelido only decides when the body is otherwise valid (a rejected body leaves
    no trace, so it never "takes" an apelido).

The count does not depend on the order in which concurrent POSTs reach the server: of a set of
valid bodies sharing one apelido exactly one is created, whichever comes first.

Usage:
  ceiling.py [--payloads PATH] [-n N] [--json] [--breakdown]
  default PATH: $BARDO_SHARED_DIR/rinha-2023-q3/pessoas-payloads.tsv, else the shared/ folder
  next to the repository; default N: 54,640 (a full tournament run).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

TOURNAMENT_POSTS = 54640

APELIDO_MAX = 32
NOME_MAX = 100
STACK_ELEMENT_MAX = 32


def default_payloads() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if os.environ.get("BARDO_SHARED_DIR"):
        candidates.append(os.path.join(os.environ["BARDO_SHARED_DIR"], "rinha-2023-q3"))
    candidates += [
        os.path.join(here, "..", "..", "shared", "rinha-2023-q3"),  # /work/main/stress-test -> /work/shared
        os.path.join(here, "..", "shared", "rinha-2023-q3"),
        "/work/shared/rinha-2023-q3",
    ]
    for c in candidates:
        p = os.path.normpath(os.path.join(c, "pessoas-payloads.tsv"))
        if os.path.isfile(p):
            return p
    return os.path.normpath(os.path.join(candidates[0], "pessoas-payloads.tsv"))


class Reject(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _no_constants(name):  # NaN, Infinity, -Infinity are not JSON
    raise ValueError(f"not JSON: {name}")


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "other"


def _has_lone_surrogate(s: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in s)


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _real_date(s: str) -> bool:
    """True for YYYY-MM-DD (ASCII digits) naming a real Gregorian calendar date."""
    if len(s) != 10 or s[4] != "-" or s[7] != "-":
        return False
    y, m, d = s[0:4], s[5:7], s[8:10]
    if not all(c in "0123456789" for c in y + m + d):
        return False
    y, m, d = int(y), int(m), int(d)
    if not 1 <= m <= 12:
        return False
    mdays = [31, 29 if _leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return 1 <= d <= mdays


def _text(obj: dict, field: str, max_len: int) -> str:
    if field not in obj:
        raise Reject(422, f"{field}: missing")
    v = obj[field]
    if v is None:
        raise Reject(422, f"{field}: null")
    if not isinstance(v, str):
        raise Reject(400, f"{field}: {_kind(v)}, not a string")
    if _has_lone_surrogate(v):
        raise Reject(400, f"{field}: not valid Unicode")
    if len(v) == 0:
        raise Reject(422, f"{field}: empty")
    if len(v) > max_len:
        raise Reject(422, f"{field}: too long ({len(v)} chars)")
    return v


def validate(body: bytes) -> str:
    """Returns the apelido of a valid body, or raises Reject(status, reason). No uniqueness."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Reject(400, "body: not UTF-8")
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except ValueError:
        raise Reject(400, "body: not JSON")
    if not isinstance(obj, dict):
        raise Reject(400, f"body: {_kind(obj)}, not an object")

    apelido = _text(obj, "apelido", APELIDO_MAX)
    _text(obj, "nome", NOME_MAX)

    if "nascimento" not in obj or obj["nascimento"] is None:
        raise Reject(422, "nascimento: missing or null")
    nasc = obj["nascimento"]
    if not isinstance(nasc, str):
        raise Reject(400, f"nascimento: {_kind(nasc)}, not a string")
    if nasc == "":
        raise Reject(422, "nascimento: empty")
    if not _real_date(nasc):
        if (len(nasc) == 10 and nasc[4] == "-" and nasc[7] == "-"
                and all(c.isdigit() and c.isascii() for c in nasc[:4] + nasc[5:7] + nasc[8:])):
            m, d = int(nasc[5:7]), int(nasc[8:10])
            if m == 2 and d == 29:
                raise Reject(400, "nascimento: Feb 29 in a non-leap year")
            if m > 12 or m == 0:
                raise Reject(400, f"nascimento: month {m:02d}")
            raise Reject(400, f"nascimento: day {d:02d} of month {m:02d}")
        raise Reject(400, f"nascimento: not YYYY-MM-DD ({json.dumps(nasc)})")

    stack = obj.get("stack")
    if stack is not None:
        if not isinstance(stack, list):
            raise Reject(400, f"stack: {_kind(stack)} {json.dumps(stack)[:20]}, not an array")
        for el in stack:
            if el is None:
                raise Reject(422, "stack: null element")
            if not isinstance(el, str):
                raise Reject(400, f"stack: {_kind(el)} element")
            if _has_lone_surrogate(el):
                raise Reject(400, "stack: element not valid Unicode")
            if len(el) == 0:
                raise Reject(422, "stack: empty element")
            if len(el) > STACK_ELEMENT_MAX:
                raise Reject(422, f"stack: element too long ({len(el)} chars)")
    return apelido


def read_bodies(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if not lines or lines[0].rstrip(b"\r") != b"payload":
        raise SystemExit(f"{path}: first line must be the header 'payload'")
    bodies = [l[:-1] if l.endswith(b"\r") else l for l in lines[1:]]
    while bodies and bodies[-1] == b"":
        bodies.pop()
    return bodies


def ceiling(bodies: list[bytes], n: int) -> dict:
    """Replays the first n POSTs of a circular feeder over bodies."""
    created: set[str] = set()
    status = collections.Counter()
    reasons = collections.Counter()
    for i in range(n):
        body = bodies[i % len(bodies)]
        try:
            apelido = validate(body)
        except Reject as r:
            status[r.status] += 1
            reasons[f"{r.status} {r.reason}"] += 1
            continue
        if apelido in created:
            status[422] += 1
            reasons["422 apelido: already created"] += 1
            continue
        created.add(apelido)
        status[201] += 1
    return {
        "posts": n,
        "file_lines": len(bodies),
        "created": status[201],
        "unprocessable_422": status[422],
        "bad_request_400": status[400],
        "reasons": dict(reasons.most_common()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--payloads", default=None, help="payload TSV (default: the tournament's)")
    ap.add_argument("-n", "--posts", type=int, default=TOURNAMENT_POSTS,
                    help=f"number of POSTs sent (default {TOURNAMENT_POSTS})")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--breakdown", action="store_true", help="list the deciding rule per rejection")
    args = ap.parse_args()
    path = args.payloads or default_payloads()
    bodies = read_bodies(path)
    if not bodies:
        raise SystemExit(f"{path}: no bodies")
    r = ceiling(bodies, args.posts)
    if args.json:
        out = dict(r)
        if not args.breakdown:
            out.pop("reasons")
        print(json.dumps(out))
    else:
        print(f"payloads: {path} ({r['file_lines']} bodies)")
        print(f"POSTs:    {r['posts']}")
        print(f"ceiling:  {r['created']} created, {r['unprocessable_422']} x 422, "
              f"{r['bad_request_400']} x 400")
        if args.breakdown:
            for k, v in r["reasons"].items():
                print(f"  {v:7d}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
