#!/usr/bin/env python3
"""Deterministic generator of Rinha 2023 Q3 style create payloads (TSV, header ``payload``).

Reproduces the distribution that /work/shared/rinha-2023-q3/README.md describes for the
tournament's file (figures for the first 54,640 lines, the part a full run consumes):

  * apelido: letters, length uniform 1..32; 1 % are 35 chars (too long). Short apelidos collide
    by chance, which gives the ~2,100 repeated apelidos;
  * nome: letters and spaces, length uniform 1..100; 1 % are 120 chars (too long);
  * nascimento: ``YYYY-MM-DD`` with year 1940..2020, month uniform 1..13 (month 13 is invalid,
    ~1/13 of the lines) and day 1..29 (Feb 29 in non-leap years is invalid); ~1 % are malformed
    strings: ``"12-12-2000"`` and ``"?!?!?"`` with the quotes inside the string, ``null`` and ``10``
    (always JSON strings, never JSON null or numbers);
  * stack: 1..26 elements drawn from 24 language names (C# twice as likely); ~7.2 % null
    (valid), ~0.34 % the string "string", ~0.35 % the number 1, ~0.3 % one 40-char element.

It never writes ``nome`` as a number nor numbers inside ``stack`` (like the tournament's file).

After writing, it measures what it generated in the first 54,640 lines and prints each figure
next to the README's expectation, plus the ceiling computed by ceiling.py (same folder).

Usage: generate_payloads.py [-o PATH] [--lines 100000] [--seed 2023] [--quiet]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "generated", "pessoas-payloads.tsv")
RUN_LINES = 54640

LETTERS = string.ascii_letters
NOME_CHARS = string.ascii_letters + " "
LANGS = ["C#", "C#", "HTML", "Perl", "PHP", "NoSQL", "Clojure", "Swift", "C", "Scala", "R",
         "Matlab", "SQL", "Javascript", "C++", "Kotlin", "TypeScript", "Python", "Go", "Ruby",
         "Java", "CSS", "MySQL", "Postgres", "Rust"]
MALFORMED_DATES = ['"12-12-2000"', '"?!?!?"', "null", "10"]

P_APELIDO_LONG = 0.0100
P_NOME_LONG = 0.0100
P_DATE_MALFORMED = 0.0096
P_STACK_NULL = 0.0720
P_STACK_STRING = 0.0034
P_STACK_ONE = 0.0035
P_STACK_LONG = 0.0032

# README figures for the first 54,640 lines ("expect about")
EXPECTED = {
    "apelido of 35 chars": 560,
    "nome of 120 chars": 530,
    "malformed nascimento strings": 530,
    "nascimento month 13": 4170,
    "nascimento Feb 29 non-leap": 100,
    "stack with a 40-char element": 175,
    'stack is the string "string"': 180,
    "stack is the number 1": 180,
    "stack null (valid)": 3900,
    "repeated apelidos": 2100,
    "valid and unique (ceiling)": 46500,
}


def word(rng: random.Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def one(rng: random.Random) -> dict:
    if rng.random() < P_APELIDO_LONG:
        apelido = word(rng, LETTERS, 35)
    else:
        apelido = word(rng, LETTERS, rng.randint(1, 32))
    if rng.random() < P_NOME_LONG:
        nome = word(rng, NOME_CHARS, 120)
    else:
        nome = word(rng, NOME_CHARS, rng.randint(1, 100))
    if rng.random() < P_DATE_MALFORMED:
        nascimento = rng.choice(MALFORMED_DATES)
    else:
        nascimento = f"{rng.randint(1940, 2020):04d}-{rng.randint(1, 13):02d}-{rng.randint(1, 29):02d}"
    r = rng.random()
    if r < P_STACK_NULL:
        stack = None
    elif r < P_STACK_NULL + P_STACK_STRING:
        stack = "string"
    elif r < P_STACK_NULL + P_STACK_STRING + P_STACK_ONE:
        stack = 1
    elif r < P_STACK_NULL + P_STACK_STRING + P_STACK_ONE + P_STACK_LONG:
        stack = ["1" * 40]
    else:
        stack = [rng.choice(LANGS) for _ in range(rng.randint(1, 26))]
    return {"apelido": apelido, "nome": nome, "nascimento": nascimento, "stack": stack}


def leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def measure(bodies: list[bytes]) -> dict:
    m = collections.Counter()
    seen = set()
    for raw in bodies:
        o = json.loads(raw)
        a, n, d, s = o.get("apelido"), o.get("nome"), o.get("nascimento"), o.get("stack")
        if isinstance(a, str) and len(a) == 35:
            m["apelido of 35 chars"] += 1
        if isinstance(n, str) and len(n) == 120:
            m["nome of 120 chars"] += 1
        if isinstance(d, str) and len(d) == 10 and d[4] == "-" and d[7] == "-" and \
                (d[:4] + d[5:7] + d[8:]).isdigit():
            y, mo, dd = int(d[:4]), int(d[5:7]), int(d[8:])
            if mo == 13:
                m["nascimento month 13"] += 1
            if mo == 2 and dd == 29 and not leap(y):
                m["nascimento Feb 29 non-leap"] += 1
        else:
            m["malformed nascimento strings"] += 1
        if s is None:
            m["stack null (valid)"] += 1
        elif s == "string":
            m['stack is the string "string"'] += 1
        elif s == 1:
            m["stack is the number 1"] += 1
        elif isinstance(s, list) and any(isinstance(e, str) and len(e) == 40 for e in s):
            m["stack with a 40-char element"] += 1
        if a in seen:
            m["repeated apelidos"] += 1
        seen.add(a)
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default=DEFAULT_OUT, help=f"output TSV (default {DEFAULT_OUT})")
    ap.add_argument("--lines", type=int, default=100_000, help="bodies to write (default 100,000)")
    ap.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    ap.add_argument("--quiet", action="store_true", help="do not print the distribution")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    bodies = [json.dumps(one(rng), ensure_ascii=False).encode("utf-8") for _ in range(args.lines)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(b"payload\n")
        for b in bodies:
            f.write(b + b"\n")
    print(f"wrote {args.out}: {args.lines} bodies, seed {args.seed}")
    if args.quiet:
        return 0

    sys.path.insert(0, HERE)
    import ceiling  # the independent calculator next to this file

    head = bodies[:RUN_LINES]
    m = measure(head)
    c = ceiling.ceiling(bodies, min(RUN_LINES, len(bodies)) if bodies else 0)
    m["valid and unique (ceiling)"] = c["created"]
    print(f"distribution of the first {len(head)} bodies (README's expectation for 54,640):")
    print(f"  {'figure':34s} {'generated':>10s} {'README':>10s}")
    for k, v in EXPECTED.items():
        print(f"  {k:34s} {m.get(k, 0):10d} {'~' + format(v, ','):>10s}")
    print(f"  (ceiling detail: {c['unprocessable_422']} x 422, {c['bad_request_400']} x 400)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
