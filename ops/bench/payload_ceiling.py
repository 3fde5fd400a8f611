#!/usr/bin/env python3
"""Compute the tournament's "ceiling": how many of the Gatling payloads a strict bardo accepts.

Reads the Rinha 2023 Q3 payload file (header ``payload``, then one raw JSON body per line),
applies SPEC.md's create-validation rules independently of the service's own code, in file order
and with apelido uniqueness (the first valid body with an apelido wins), and prints

    {"lines": N, "created": a, "unprocessable_422": b, "bad_request_400": c}

to stdout. A breakdown of what was found (month 13, Feb 29 in non-leap years, 35-char apelidos,
...) goes to stderr so that it can be compared with the README's expectations.

Rules (SPEC.md, "Create: validation"; the first failing rule decides the status):
  * the body must be UTF-8, JSON, and a JSON object, else 400;
  * fields are checked in the table's order: apelido, nome, nascimento, stack;
  * a field of the wrong JSON type is 400; missing / null / empty / too long is 422;
  * nascimento: a string that is not ``YYYY-MM-DD`` or not a real calendar date is 400;
  * stack: optional (missing or null is fine); not an array, or an element that is not a string,
    is 400; an element that is null, empty or longer than 32 chars is 422 (elements are checked
    in array order, the first bad one decides);
  * lengths count Unicode code points, not bytes;
  * a duplicate apelido (equal, case-sensitively, to one already created) is 422, and only
    decides when the body is otherwise valid.

Usage: payload_ceiling.py [PATH] [--lines N]    (default: the shared file, 54,640 body lines)
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys

DEFAULT_PATH = "/work/shared/rinha-2023-q3/pessoas-payloads.tsv"
DEFAULT_LINES = 54640

APELIDO_MAX = 32
NOME_MAX = 100
STACK_ITEM_MAX = 32

DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)

MISSING = object()


def json_type(v) -> str:
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
    return type(v).__name__


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def check_text(name: str, value, max_len: int):
    """Returns None when fine, else (status, category)."""
    if value is MISSING:
        return 422, f"{name}: missing"
    if value is None:
        return 422, f"{name}: null"
    if not isinstance(value, str):
        return 400, f"{name}: wrong type ({json_type(value)})"
    if len(value) == 0:
        return 422, f"{name}: empty"
    if len(value) > max_len:
        return 422, f"{name}: too long ({len(value)} chars)"
    return None


def check_nascimento(value):
    if value is MISSING:
        return 422, "nascimento: missing"
    if value is None:
        return 422, "nascimento: null"
    if not isinstance(value, str):
        return 400, f"nascimento: wrong type ({json_type(value)})"
    if len(value) == 0:
        return 422, "nascimento: empty"
    m = DATE_RE.fullmatch(value)
    if not m:
        return 400, f"nascimento: not YYYY-MM-DD ({json.dumps(value, ensure_ascii=False)})"
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if month < 1 or month > 12:
        return 400, f"nascimento: month {month:02d}"
    if day < 1:
        return 400, "nascimento: day 00"
    if day > days_in_month(year, month):
        if month == 2 and day == 29:
            return 400, "nascimento: Feb 29 in a non-leap year"
        return 400, f"nascimento: day {day:02d} beyond month {month:02d}"
    return None


def check_stack(value):
    if value is MISSING or value is None:
        return None
    if not isinstance(value, list):
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > 20:
            shown = shown[:17] + "..."
        return 400, f"stack: not an array ({json_type(value)} {shown})"
    for item in value:
        if item is None:
            return 422, "stack: null element"
        if not isinstance(item, str):
            return 400, f"stack: element not a string ({json_type(item)})"
        if len(item) == 0:
            return 422, "stack: empty element"
        if len(item) > STACK_ITEM_MAX:
            return 422, f"stack: element too long ({len(item)} chars)"
    return None


def _reject_constant(name):
    raise ValueError(f"not JSON: {name}")


def parse_body(raw: bytes):
    """Returns (obj, None) or (None, (400, category))."""
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return None, (400, "body: not UTF-8")
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None, (400, "body: not JSON")
    if not isinstance(obj, dict):
        return None, (400, f"body: not an object ({json_type(obj)})")
    return obj, None


def field_problems(obj: dict):
    """Every problem found, in the SPEC table's field order."""
    checks = [
        check_text("apelido", obj.get("apelido", MISSING), APELIDO_MAX),
        check_text("nome", obj.get("nome", MISSING), NOME_MAX),
        check_nascimento(obj.get("nascimento", MISSING)),
        check_stack(obj.get("stack", MISSING)),
    ]
    return [c for c in checks if c is not None]


def unquote_tsv(line: str) -> str:
    """The shared file holds raw JSON per line; accept a quoted TSV cell too, just in case."""
    if len(line) >= 2 and line[0] == '"' and line[-1] == '"':
        return line[1:-1].replace('""', '"')
    return line


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", nargs="?", default=DEFAULT_PATH)
    ap.add_argument("--lines", type=int, default=DEFAULT_LINES,
                    help="number of body lines after the header (default %(default)s)")
    args = ap.parse_args(argv)

    created = unprocessable = bad_request = 0
    lines = 0
    created_apelidos: set[str] = set()
    created_apelidos_folded: set[str] = set()
    seen_apelidos: set = set()

    decided_by = collections.Counter()      # the rule that decided each rejection
    all_problems = collections.Counter()    # every problem, also those that did not decide
    facts = collections.Counter()           # neutral facts about the data

    with open(args.path, "rb") as f:
        header = f.readline().rstrip(b"\r\n")
        if header != b"payload":
            print(f"warning: unexpected header {header!r}", file=sys.stderr)
        for raw in f:
            if lines >= args.lines:
                break
            lines += 1
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                raw = unquote_tsv(raw.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass  # parse_body reports it as 400

            obj, body_error = parse_body(raw)
            if body_error is not None:
                status, why = body_error
                decided_by[f"{status} {why}"] += 1
                all_problems[why] += 1
                bad_request += 1
                continue

            apelido = obj.get("apelido", MISSING)
            if isinstance(apelido, str):
                if apelido in seen_apelidos:
                    facts["apelido repeated (equal to any earlier line's)"] += 1
                seen_apelidos.add(apelido)
            stack = obj.get("stack", MISSING)
            if stack is None:
                facts["stack null (valid)"] += 1
            elif stack is MISSING:
                facts["stack missing (valid)"] += 1
            elif isinstance(stack, list) and not stack:
                facts["stack [] (valid)"] += 1

            problems = field_problems(obj)
            for _, why in problems:
                all_problems[why] += 1

            if problems:
                status, why = problems[0]
                decided_by[f"{status} {why}"] += 1
                if status == 400:
                    bad_request += 1
                else:
                    unprocessable += 1
                if isinstance(apelido, str) and apelido in created_apelidos:
                    facts["invalid body whose apelido was already created (not counted as duplicate)"] += 1
                continue

            if apelido in created_apelidos:
                decided_by["422 apelido: duplicate of a created bard"] += 1
                all_problems["apelido: duplicate of a created bard"] += 1
                unprocessable += 1
                continue

            if apelido.casefold() in created_apelidos_folded:
                facts["created although equal, ignoring case, to a created apelido"] += 1
            created_apelidos.add(apelido)
            created_apelidos_folded.add(apelido.casefold())
            created += 1

    if lines < args.lines:
        print(f"warning: file has only {lines} body lines (asked for {args.lines})", file=sys.stderr)

    def dump(title, counter):
        print(f"== {title}", file=sys.stderr)
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"{n:8d}  {key}", file=sys.stderr)

    dump("problems found (every problem, including those that did not decide the status)", all_problems)
    dump("deciding rule per rejected line", decided_by)
    dump("other facts", facts)

    print(json.dumps({
        "lines": lines,
        "created": created,
        "unprocessable_422": unprocessable,
        "bad_request_400": bad_request,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
