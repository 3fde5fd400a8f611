"""Black-box contract tests for bardo, written from /work/shared/SPEC.md only.

Run:  BARDO_URL=http://127.0.0.1:9999 python3 -m pytest tests/contract -q
(-s or -rA shows the measured search-visibility times.)

Every apelido is unique per run, so the suite can run again and again against one server.
Tests that measure count deltas assume nobody else creates bards on that server meanwhile.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import threading
import time
import urllib.parse
import uuid

import pytest

PREFIXES = ("/bards", "/pessoas", "/BardAGI")
COUNT_PATHS = ("/contagem-bards", "/contagem-pessoas", "/contagem-BardAGI")

BARD_KEYS = {"id", "apelido", "nome", "nascimento", "stack"}
VISIBILITY_LIMIT_S = 1.0   # SPEC: searchable within 1 s of its 201
POLL_WINDOW_S = 1.5        # how long we keep looking before giving up
MAX_BODY = 64 * 1024       # brief: a body over 64 KiB is 413
ACCENTED = "áéíóúàèìòùâêîôûãõçñäëïöüý"
TERMS_FILE = os.environ.get("BARDO_TERMS_FILE", "/work/shared/rinha-2023-q3/termos-busca.tsv")


# =============================================================================================
# helpers
# =============================================================================================

def valid_body(uniq, **overrides) -> dict:
    body = {
        "apelido": uniq.apelido(),
        "nome": "José Roberto",
        "nascimento": "2000-10-01",
        "stack": ["C#", "Node", "Oracle"],
    }
    body.update(overrides)
    return body


def encode(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def assert_bard_shape(bard) -> None:
    assert isinstance(bard, dict), f"bard is not a JSON object: {bard!r}"
    missing = {"id", "apelido", "nome", "nascimento"} - set(bard)
    assert not missing, f"bard lacks {missing}: {bard!r}"
    parsed = uuid.UUID(bard["id"])
    assert str(parsed) == bard["id"], f"id is not a canonical lowercase UUID: {bard['id']!r}"
    assert bard.get("stack") is None or isinstance(bard["stack"], list), bard


def assert_echo(bard: dict, sent: dict) -> None:
    """The created bard holds exactly what was sent (unknown fields dropped)."""
    assert_bard_shape(bard)
    for k in ("apelido", "nome", "nascimento"):
        assert bard[k] == sent[k], f"{k}: sent {sent[k]!r}, got {bard[k]!r}"
    if isinstance(sent.get("stack"), list):
        assert bard.get("stack") == sent["stack"], f"stack: sent {sent['stack']!r}, got {bard.get('stack')!r}"
    else:
        # SPEC does not say how an absent/null stack is rendered: accept null, [] or absent.
        assert bard.get("stack") in (None, []), f"stack: sent {sent.get('stack')!r}, got {bard.get('stack')!r}"
    extra = set(bard) - BARD_KEYS
    assert not extra, f"unknown fields were not ignored, the bard carries {extra}: {bard!r}"


def assert_created(r, prefix: str, sent: dict) -> dict:
    assert r.status == 201, f"POST {prefix} {sent!r}: expected 201, got {r!r}"
    assert r.content_type == "application/json", f"201 content-type: {r.header('content-type')!r}"
    bard = r.json()
    assert_echo(bard, sent)
    loc = r.header("location")
    assert loc is not None, "201 without a Location header (a Gatling KO)"
    assert loc == f"{prefix}/{bard['id']}", f"Location {loc!r}, expected {prefix}/{bard['id']}"
    return bard


def create(api, prefix: str, body: dict) -> dict:
    return assert_created(api.post_json(prefix, body), prefix, body)


def assert_error(r, status: int, fields=None) -> list:
    assert r.status == status, f"expected {status}, got {r!r}"
    assert r.content_type == "application/json", \
        f"{status} content-type must be application/json, got {r.header('content-type')!r}"
    doc = r.json()
    assert isinstance(doc, dict) and isinstance(doc.get("errors"), list), f"error body shape: {doc!r}"
    errors = doc["errors"]
    assert len(errors) >= 1, f"error body lists no problem: {doc!r}"
    for e in errors:
        assert isinstance(e, dict) and "field" in e and "message" in e, f"error entry shape: {e!r}"
        assert isinstance(e["message"], str) and e["message"], f"error message: {e!r}"
    if fields:
        got = {e["field"] for e in errors}
        assert set(fields) <= got, f"errors should name {set(fields)}, they name {got}: {doc!r}"
    return errors


def term_matches(bard: dict, term: str) -> bool:
    t = term.lower()
    if t in (bard.get("apelido") or "").lower() or t in (bard.get("nome") or "").lower():
        return True
    return any(isinstance(s, str) and t in s.lower() for s in (bard.get("stack") or []))


def check_results(results, term: str, where: str = "") -> None:
    assert isinstance(results, list), f"search {where} t={term!r}: not a JSON array: {results!r}"
    assert len(results) <= 50, f"search {where} t={term!r}: {len(results)} results (> 50)"
    ids = []
    for b in results:
        assert_bard_shape(b)
        assert term_matches(b, term), f"search {where} t={term!r} returned a non-matching bard {b!r}"
        ids.append(b["id"])
    assert len(ids) == len(set(ids)), f"search {where} t={term!r}: duplicate bards in results"


def search_path(prefix: str, term: str) -> str:
    return f"{prefix}?t={urllib.parse.quote(term, safe='')}"


def poll_search(api, path: str, term: str, done, since: float | None = None,
                window: float = POLL_WINDOW_S):
    """GET path (a search) until done(results) or the window ends.

    Returns (results, sent_after_s, answered_after_s); the two times are None when never done.
    """
    t0 = time.monotonic() if since is None else since
    while True:
        sent = time.monotonic()
        r = api.get(path)
        answered = time.monotonic()
        assert r.status == 200, f"GET {path}: {r!r}"
        assert r.content_type == "application/json", f"GET {path} content-type: {r.header('content-type')!r}"
        results = r.json()
        check_results(results, term, path)
        if done(results):
            return results, sent - t0, answered - t0
        if answered - t0 > window:
            return results, None, None
        time.sleep(0.01)


def ours_or_full(bard_id: str):
    """Our bard is among the results, or the answer is full (50) so it may have been cut.
    (Assumption: when fewer than 50 come back, they are all the matches.)"""
    return lambda results: any(b["id"] == bard_id for b in results) or len(results) == 50


def contains(bard_id: str):
    return lambda results: any(b["id"] == bard_id for b in results)


def assert_findable(api, prefix: str, term: str, bard_id: str, strict: bool = True) -> list:
    pred = contains(bard_id) if strict else ours_or_full(bard_id)
    path = search_path(prefix, term)
    results, sent, _ = poll_search(api, path, term, pred)
    assert sent is not None, (f"GET {path}: bard {bard_id} not found within {POLL_WINDOW_S} s "
                              f"({len(results)} results)")
    return results


def counts(api) -> list[int]:
    return [api.count(p) for p in COUNT_PATHS]


def assert_count_now(api, expected: int, what: str) -> None:
    got = counts(api)
    if got == [expected] * 3:
        return
    time.sleep(1.0)
    later = counts(api)
    pytest.fail(f"{what}: expected {expected} on {COUNT_PATHS}, got {got} right away "
                f"and {later} one second later")


def assert_no_trace(api, prefix: str, before: int, follow_up: dict) -> None:
    """A rejected request leaves no trace: the count did not move, the apelido it used is not
    searchable, and a valid body with that apelido can still be created."""
    assert_count_now(api, before, "count after a rejected create")
    r = api.search(prefix, follow_up["apelido"])
    assert r.status == 200, r
    leaked = [b for b in r.json() if b.get("apelido") == follow_up["apelido"]]
    assert not leaked, f"a rejected create left a searchable bard: {leaked!r}"
    bard = create(api, prefix, follow_up)
    assert api.get(f"{prefix}/{bard['id']}").status == 200
    assert_count_now(api, before + 1, "count after the follow-up valid create")


# =============================================================================================
# create + get by id
# =============================================================================================

@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_returns_201_location_and_bard(api, uniq, prefix):
    body = valid_body(uniq, apelido="josé" + uniq.apelido(20), nome="José Roberto")
    r = api.post_json(prefix, body)
    bard = assert_created(r, prefix, body)
    assert set(bard) == BARD_KEYS, f"resource fields: {sorted(bard)}"


@pytest.mark.parametrize("create_prefix", PREFIXES)
def test_get_by_id_on_every_prefix_returns_same_json(api, uniq, create_prefix):
    body = valid_body(uniq)
    r = api.post_json(create_prefix, body)
    bard = assert_created(r, create_prefix, body)
    # Read your writes: GET Location right away (Gatling pauses only 1-30 ms).
    loc = api.get(r.header("location"))
    assert loc.status == 200, f"GET Location {r.header('location')} right after 201: {loc!r}"
    for prefix in PREFIXES:
        g = api.get(f"{prefix}/{bard['id']}")
        assert g.status == 200, f"GET {prefix}/{bard['id']}: {g!r}"
        assert g.content_type == "application/json", g.header("content-type")
        assert g.json() == bard, f"GET {prefix}/{{id}} differs from the 201 body"


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("bad_id", [
    "abc", "123", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "random-uuid4",
    "f7379ae8-8f9b-4cd5-8221-51efe19e721", "f7379ae8-8f9b-4cd5-8221-51efe19e721bx", "%20",
])
def test_get_unknown_or_malformed_id_is_404(api, prefix, bad_id):
    if bad_id == "random-uuid4":
        bad_id = str(uuid.uuid4())
    r = api.get(f"{prefix}/{bad_id}")
    assert r.status == 404, f"GET {prefix}/{bad_id}: {r!r}"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_get_existing_id_with_suffix_is_404(api, uniq, prefix):
    bard = create(api, "/bards", valid_body(uniq))
    for suffix in ("x", "0", "/"):
        r = api.get(f"{prefix}/{bard['id']}{suffix}")
        assert r.status == 404, f"GET {prefix}/{bard['id']}{suffix}: {r!r}"


# =============================================================================================
# validation (SPEC "Create: validation"): one case per rule, on every prefix
# =============================================================================================

MISSING = object()


def gen_accented(n):
    return lambda uniq: "é" * 8 + uniq.pick(ACCENTED, n - 8)


def gen_astral(n):
    # CJK Unified Ideographs Extension B: 4 bytes in UTF-8, 2 code units in UTF-16.
    return lambda uniq: "".join(chr(0x20000 + int.from_bytes(os.urandom(2), "big") % 0xA6D0)
                                for _ in range(n))


def gen_apelido(n):
    return lambda uniq: uniq.apelido(n)


# (case id, {field: value | MISSING | generator(uniq)}, expected status, fields the errors name)
FIELD_CASES = [
    # --- apelido: required, string, 1-32 chars
    ("apelido-number", {"apelido": 1}, 400, {"apelido"}),
    ("apelido-float", {"apelido": 1.5}, 400, {"apelido"}),
    ("apelido-object", {"apelido": {"x": "y"}}, 400, {"apelido"}),
    ("apelido-bool", {"apelido": True}, 400, {"apelido"}),
    ("apelido-array", {"apelido": ["josé"]}, 400, {"apelido"}),
    ("apelido-missing", {"apelido": MISSING}, 422, {"apelido"}),
    ("apelido-null", {"apelido": None}, 422, {"apelido"}),
    ("apelido-empty", {"apelido": ""}, 422, {"apelido"}),
    ("apelido-33-ascii", {"apelido": "a" * 33}, 422, {"apelido"}),
    ("apelido-33-e-acute", {"apelido": "é" * 33}, 422, {"apelido"}),
    ("apelido-33-astral", {"apelido": "\U00020000" * 33}, 422, {"apelido"}),
    ("apelido-35-tournament", {"apelido": "qhFWCEPqhFWCEPqhFWCEPqhFWCEPqhFWCE"}, 422, {"apelido"}),
    ("apelido-32-ascii-ok", {"apelido": gen_apelido(32)}, 201, None),
    ("apelido-32-accented-ok", {"apelido": gen_accented(32)}, 201, None),
    ("apelido-32-astral-ok", {"apelido": gen_astral(32)}, 201, None),
    # --- nome: required, string, 1-100 chars
    ("nome-number-tournament", {"nome": 1}, 400, {"nome"}),
    ("nome-object", {"nome": {}}, 400, {"nome"}),
    ("nome-bool", {"nome": False}, 400, {"nome"}),
    ("nome-array", {"nome": ["José"]}, 400, {"nome"}),
    ("nome-missing", {"nome": MISSING}, 422, {"nome"}),
    ("nome-null", {"nome": None}, 422, {"nome"}),
    ("nome-empty", {"nome": ""}, 422, {"nome"}),
    ("nome-101-ascii", {"nome": "n" * 101}, 422, {"nome"}),
    ("nome-101-e-acute", {"nome": "é" * 101}, 422, {"nome"}),
    ("nome-120-tournament", {"nome": ("Abc defgh " * 12)}, 422, {"nome"}),
    ("nome-1-ok", {"nome": "x"}, 201, None),
    ("nome-100-ascii-ok", {"nome": "n" * 100}, 201, None),
    ("nome-100-e-acute-ok", {"nome": "é" * 100}, 201, None),
    # --- nascimento: required, string YYYY-MM-DD, a real calendar date
    ("nascimento-number", {"nascimento": 20001001}, 400, {"nascimento"}),
    ("nascimento-object", {"nascimento": {"y": 2000}}, 400, {"nascimento"}),
    ("nascimento-bool", {"nascimento": True}, 400, {"nascimento"}),
    ("nascimento-array", {"nascimento": ["2000-10-01"]}, 400, {"nascimento"}),
    ("nascimento-missing", {"nascimento": MISSING}, 422, {"nascimento"}),
    ("nascimento-null", {"nascimento": None}, 422, {"nascimento"}),
    ("nascimento-empty", {"nascimento": ""}, 422, {"nascimento"}),
    ("nascimento-month-13", {"nascimento": "2001-13-01"}, 400, {"nascimento"}),
    ("nascimento-feb-29-non-leap", {"nascimento": "2001-02-29"}, 400, {"nascimento"}),
    ("nascimento-feb-29-1900", {"nascimento": "1900-02-29"}, 400, {"nascimento"}),
    ("nascimento-apr-31", {"nascimento": "2000-04-31"}, 400, {"nascimento"}),
    ("nascimento-month-00", {"nascimento": "2000-00-10"}, 400, {"nascimento"}),
    ("nascimento-day-00", {"nascimento": "2000-01-00"}, 400, {"nascimento"}),
    ("nascimento-day-32", {"nascimento": "2000-01-32"}, 400, {"nascimento"}),
    ("nascimento-dd-mm-yyyy", {"nascimento": "12-12-2000"}, 400, {"nascimento"}),
    ("nascimento-quoted-tournament", {"nascimento": '"12-12-2000"'}, 400, {"nascimento"}),
    ("nascimento-punctuation", {"nascimento": "?!?!?"}, 400, {"nascimento"}),
    ("nascimento-quoted-punct-tournament", {"nascimento": '"?!?!?"'}, 400, {"nascimento"}),
    ("nascimento-string-null", {"nascimento": "null"}, 400, {"nascimento"}),
    ("nascimento-string-10", {"nascimento": "10"}, 400, {"nascimento"}),
    ("nascimento-single-digit-month", {"nascimento": "2000-1-01"}, 400, {"nascimento"}),
    ("nascimento-slashes", {"nascimento": "2000/01/01"}, 400, {"nascimento"}),
    ("nascimento-datetime", {"nascimento": "2000-01-01T00:00:00"}, 400, {"nascimento"}),
    ("nascimento-leading-space", {"nascimento": " 2000-01-01"}, 400, {"nascimento"}),
    ("nascimento-fullwidth-digits", {"nascimento": "２０００-01-01"}, 400, {"nascimento"}),
    ("nascimento-feb-29-2000-ok", {"nascimento": "2000-02-29"}, 201, None),
    ("nascimento-feb-29-2004-ok", {"nascimento": "2004-02-29"}, 201, None),
    ("nascimento-dec-31-ok", {"nascimento": "1999-12-31"}, 201, None),
    # --- stack: optional; null or array of strings, each 1-32 chars
    ("stack-string-tournament", {"stack": "string"}, 400, {"stack"}),
    ("stack-number-tournament", {"stack": 1}, 400, {"stack"}),
    ("stack-empty-string", {"stack": ""}, 400, {"stack"}),
    ("stack-object", {"stack": {"0": "PHP"}}, 400, {"stack"}),
    ("stack-bool", {"stack": True}, 400, {"stack"}),
    ("stack-element-number-tournament", {"stack": [1, "PHP"]}, 400, {"stack"}),
    ("stack-element-number-last", {"stack": ["PHP", 1]}, 400, {"stack"}),
    ("stack-element-bool", {"stack": [True]}, 400, {"stack"}),
    ("stack-element-array", {"stack": [["PHP"]]}, 400, {"stack"}),
    ("stack-element-object", {"stack": [{"n": "PHP"}]}, 400, {"stack"}),
    ("stack-element-null", {"stack": [None]}, 422, {"stack"}),
    ("stack-element-null-after-valid", {"stack": ["PHP", None]}, 422, {"stack"}),
    ("stack-element-empty", {"stack": [""]}, 422, {"stack"}),
    ("stack-element-33-ascii", {"stack": ["s" * 33]}, 422, {"stack"}),
    ("stack-element-33-e-acute", {"stack": ["é" * 33]}, 422, {"stack"}),
    ("stack-element-40-tournament", {"stack": ["Go", "x" * 40]}, 422, {"stack"}),
    ("stack-null-ok", {"stack": None}, 201, None),
    ("stack-missing-ok", {"stack": MISSING}, 201, None),
    ("stack-empty-array-ok", {"stack": []}, 201, None),
    ("stack-element-32-e-acute-ok", {"stack": ["é" * 32]}, 201, None),
    ("stack-element-32-ascii-ok", {"stack": ["s" * 32, "Go"]}, 201, None),
    # --- the first failing rule (field order apelido, nome, nascimento, stack) decides;
    #     the body lists every problem found
    ("order-apelido-empty-beats-nome-number", {"apelido": "", "nome": 1}, 422, {"apelido", "nome"}),
    ("order-apelido-number-beats-nome-missing", {"apelido": 7, "nome": MISSING}, 400, {"apelido", "nome"}),
    ("order-nome-null-beats-bad-date", {"nome": None, "nascimento": "2001-13-01"}, 422,
     {"nome", "nascimento"}),
    ("order-bad-date-beats-stack-empty-element", {"nascimento": "2001-13-01", "stack": [""]}, 400,
     {"nascimento", "stack"}),
    ("order-nascimento-missing-beats-stack-string", {"nascimento": MISSING, "stack": "string"}, 422,
     {"nascimento", "stack"}),
    ("order-all-four-bad", {"apelido": "", "nome": 1, "nascimento": "2001-02-29", "stack": [None]}, 422,
     {"apelido", "nome", "nascimento", "stack"}),
    # --- unknown fields are ignored
    ("unknown-fields-ignored-ok", {"idade": 42, "extra": {"deep": [1, 2, None]}, "Apelido": 1}, 201, None),
]


def build_body(uniq, changes: dict):
    base = valid_body(uniq)
    body = dict(base)
    for field, value in changes.items():
        if value is MISSING:
            body.pop(field, None)
        elif callable(value):
            body[field] = value(uniq)
        else:
            body[field] = value
    return base, body


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("case", FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_validation_rule(api, uniq, prefix, case):
    _, changes, status, fields = case
    base, body = build_body(uniq, changes)
    before = api.count()
    r = api.post_json(prefix, body)
    if status == 201:
        bard = assert_created(r, prefix, body)
        assert api.get(f"{prefix}/{bard['id']}").json() == bard
        assert_count_now(api, before + 1, "count after a valid create")
        return
    assert_error(r, status, fields)
    assert_no_trace(api, prefix, before, base)


# Bodies that are not JSON / not an object / not UTF-8: 400.
def _v(ap: str) -> bytes:
    return encode({"apelido": ap, "nome": "José", "nascimento": "2000-10-01", "stack": ["Go"]})


BODY_CASES = [
    ("not-json-form-encoded", lambda ap: f"apelido={ap}&nome=x&nascimento=2000-10-01".encode()),
    ("not-json-truncated", lambda ap: _v(ap)[:-1]),
    ("not-json-trailing-comma", lambda ap: _v(ap)[:-1] + b",}"),
    ("not-json-trailing-garbage", lambda ap: _v(ap) + b" x"),
    ("not-json-two-objects", lambda ap: _v(ap) + _v(ap)),
    ("not-json-single-quotes", lambda ap: _v(ap).replace(b'"', b"'")),
    ("not-json-nan", lambda ap: _v(ap)[:-1] + b', "idade": NaN}'),
    ("not-json-empty-body", lambda ap: b""),
    ("not-json-whitespace-only", lambda ap: b"  \n"),
    ("not-object-empty-array", lambda ap: b"[]"),
    ("not-object-array-of-valid-body", lambda ap: b"[" + _v(ap) + b"]"),
    ("not-object-string", lambda ap: encode(ap)),
    ("not-object-number", lambda ap: b"1"),
    ("not-object-null", lambda ap: b"null"),
    ("not-object-true", lambda ap: b"true"),
    ("not-utf8-ff-in-apelido", lambda ap: _v(ap).replace(ap.encode(), ap.encode() + b"\xff")),
    ("not-utf8-latin1-e-acute-in-nome", lambda ap: _v(ap).replace("José".encode(), b"Jos\xe9")),
    ("not-utf8-in-unknown-field", lambda ap: _v(ap)[:-1] + b', "extra": "\xc3\x28"}'),
    ("not-utf8-overlong-slash", lambda ap: _v(ap).replace(b"Go", b"G\xc0\xaf")),
    ("not-utf8-encoded-surrogate", lambda ap: _v(ap).replace(b"Go", b"G\xed\xa0\x80")),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_malformed_body_is_400(api, uniq, prefix, case):
    _, make = case
    base = valid_body(uniq)
    raw = make(base["apelido"])
    before = api.count()
    r = api.post_raw(prefix, raw)
    assert_error(r, 400)
    assert_no_trace(api, prefix, before, base)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("size", [MAX_BODY + 1, 1024 * 1024])
def test_body_over_64KiB_is_413(api, uniq, prefix, size):
    base = valid_body(uniq)
    raw = _padded(base, size)
    assert len(raw) == size
    before = api.count()
    r = api.post_raw(prefix, raw)
    assert r.status == 413, f"POST {prefix} with a {size}-byte body: {r!r}"
    assert_no_trace(api, prefix, before, base)


def test_body_of_exactly_64KiB_is_accepted(api, uniq):
    body = valid_body(uniq)
    raw = _padded(body, MAX_BODY)
    assert len(raw) == MAX_BODY
    before = api.count()
    r = api.post_raw("/bards", raw)
    assert_created(r, "/bards", body)
    assert_count_now(api, before + 1, "count after a 64 KiB create")


def _padded(body: dict, size: int) -> bytes:
    """A valid body with an unknown field padding it to exactly `size` bytes."""
    head = _v_with(body, "")
    return _v_with(body, "x" * (size - len(head)))


def _v_with(body: dict, pad: str) -> bytes:
    return encode({**body, "padding": pad})


def test_unknown_fields_ignored_including_client_supplied_id(api, uniq):
    body = valid_body(uniq)
    supplied = str(uuid.uuid4())
    r = api.post_json("/pessoas", {**body, "id": supplied, "extra": [1, {"a": None}]})
    bard = assert_created(r, "/pessoas", body)
    assert bard["id"] != supplied, "a client-supplied id is an unknown field and must be ignored"
    assert api.get(f"/bards/{supplied}").status == 404


def test_apelido_of_one_astral_char_is_valid(api, uniq):
    """1 char is the lower bound; an astral char (2 UTF-16 units, 4 UTF-8 bytes) also checks
    that lengths are code points. Re-runnable: picks a char no bard uses as apelido yet."""
    for _ in range(20):
        ch = gen_astral(1)(uniq)
        r = api.search("/bards", ch)
        assert r.status == 200, r
        if not any(b.get("apelido") == ch for b in r.json()) and len(r.json()) < 50:
            break
    else:
        pytest.fail("could not find an unused one-char apelido")
    create(api, "/bards", valid_body(uniq, apelido=ch))


# --- duplicates -----------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", PREFIXES)
def test_duplicate_apelido_is_422_and_leaves_original_intact(api, uniq, prefix):
    first = create(api, "/bards", valid_body(uniq))
    before = api.count()
    r = api.post_json(prefix, valid_body(uniq, apelido=first["apelido"], nome="Outra Pessoa",
                                         nascimento="1990-01-01", stack=None))
    assert_error(r, 422, {"apelido"})
    assert_count_now(api, before, "count after a duplicate")
    assert api.get(f"{prefix}/{first['id']}").json() == first


def test_duplicate_apelido_with_another_invalid_field_is_400(api, uniq):
    """Brief's reading of 'first failing rule decides': uniqueness is checked only once the body
    is otherwise valid, so a bad date on a taken apelido is 400, not 422."""
    first = create(api, "/bards", valid_body(uniq))
    before = api.count()
    r = api.post_json("/pessoas", valid_body(uniq, apelido=first["apelido"], nascimento="2001-13-01"))
    assert_error(r, 400, {"nascimento"})
    assert_count_now(api, before, "count after a rejected duplicate")


def test_concurrent_creates_same_apelido_exactly_one_201(api, uniq):
    n = 20
    apelido = uniq.apelido()
    before = api.count()
    barrier = threading.Barrier(n)

    def one(i):
        body = valid_body(uniq, apelido=apelido, nome=f"Concorrente {i}")
        barrier.wait(timeout=30)
        prefix = PREFIXES[i % 3]
        return prefix, body, api.post_json(prefix, body)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(one, range(n)))
    statuses = sorted(r.status for _, _, r in outcomes)
    winners = [(p, b, r) for p, b, r in outcomes if r.status == 201]
    assert len(winners) == 1, f"{n} concurrent creates of one apelido: statuses {statuses}"
    assert statuses.count(422) == n - 1, f"the losers must be 422: {statuses}"
    for _, _, r in outcomes:
        if r.status == 422:
            assert_error(r, 422, {"apelido"})
    prefix, body, r = winners[0]
    bard = assert_created(r, prefix, body)
    assert_count_now(api, before + 1, "count after 20 concurrent creates of one apelido")
    for p in PREFIXES:
        assert api.get(f"{p}/{bard['id']}").json() == bard
    results = assert_findable(api, "/bards", apelido, bard["id"])
    assert [b["id"] for b in results if b["apelido"] == apelido] == [bard["id"]]


def test_concurrent_distinct_creates_are_all_counted(api, uniq):
    n = 30
    before = api.count()
    bodies = [valid_body(uniq) for _ in range(n)]

    def one(i):
        return api.post_json(PREFIXES[i % 3], bodies[i])

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        rs = list(pool.map(one, range(n)))
    for i, r in enumerate(rs):
        assert_created(r, PREFIXES[i % 3], bodies[i])
    assert_count_now(api, before + n, f"count after {n} concurrent distinct creates")


# =============================================================================================
# search
# =============================================================================================

@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_spec_examples(api, uniq, prefix):
    """`node` finds `Node`, `berto` finds `José Roberto`, `jo` finds `josé`."""
    x, y = uniq.token(10), uniq.token(10)
    body = valid_body(uniq, apelido=f"josé{x}", nome=f"José Roberto {y}", stack=["C#", "Node", "Oracle"])
    bard = create(api, "/bards", body)
    for term in ("node", "berto", "jo"):          # popular terms: ours, or a full page of 50
        assert_findable(api, prefix, term, bard["id"], strict=False)
    for term in (f"sé{x}", f"JOSé{x.upper()}", f"berto {y}", f"{y[2:8].upper()}"):
        assert_findable(api, prefix, term, bard["id"])


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_case_insensitive_substring_of_each_field(api, uniq, prefix):
    tok_n, tok_s = uniq.token(12), uniq.token(12)
    body = valid_body(uniq, nome=f"Nome {tok_n.capitalize()} Silva", stack=["Rust", f"Lib{tok_s}", "Go"])
    bard = create(api, "/pessoas", body)
    ap = body["apelido"]
    terms = [
        ap, ap.upper(), ap[3:15].swapcase(),                 # apelido
        tok_n, tok_n.upper(), f"e {tok_n[:6]}",             # nome (with a space)
        f"lib{tok_s}", f"LIB{tok_s.upper()}", tok_s[4:9],   # a stack element
    ]
    for term in terms:
        assert_findable(api, prefix, term, bard["id"])


def _cjk_bmp(uniq, n):
    return "".join(chr(0x4E00 + int.from_bytes(os.urandom(2), "big") % 0x5200) for _ in range(n))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_one_and_two_char_terms(api, uniq, prefix):
    one = gen_astral(1)(uniq)        # 1 code point, 2 UTF-16 units, 4 UTF-8 bytes
    one_bmp = _cjk_bmp(uniq, 1)      # 1 code point, 3 UTF-8 bytes
    two = _cjk_bmp(uniq, 2)
    body = valid_body(uniq, nome=f"Ana Jo {one}", stack=["Go", f"x{two}y", f"{one_bmp}"])
    bard = create(api, "/bards", body)
    # rare characters: practically unique to this run, so ours must come back
    for term in (one, one_bmp, two):
        assert_findable(api, prefix, term, bard["id"], strict=False)
    # ASCII 1-2 char terms: many bards match; ours or a full page, and every result matches
    for term in ("a", "A", "jo", "JO", "o ", "Go"):
        assert_findable(api, prefix, term, bard["id"], strict=False)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_non_ascii_terms(api, uniq, prefix):
    tok = uniq.token(10)
    body = valid_body(uniq, apelido=f"zé{tok}", nome=f"Conceição {tok} Araújo", stack=["Ação", "Go"])
    bard = create(api, "/bards", body)
    for term in ("é", "ção", "ú", "Ação"):
        assert_findable(api, prefix, term, bard["id"], strict=False)
    for term in (f"é{tok}", f"ção {tok}", f"{tok} Araú"):
        assert_findable(api, prefix, term, bard["id"])


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_non_ascii_case_insensitive(api, uniq, prefix):
    """SPEC says case-insensitive without restricting it to ASCII: `ÇÃO` finds `ção`."""
    tok = uniq.token(10)
    bard = create(api, "/bards", valid_body(uniq, nome=f"Conceição {tok}"))
    assert_findable(api, prefix, f"CONCEIÇÃO {tok.upper()}", bard["id"])
    assert_findable(api, prefix, f"çÃo {tok}", bard["id"])


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_url_encoded_space_percent20_and_plus(api, uniq, prefix):
    a, b = uniq.token(8), uniq.token(8)
    bard = create(api, "/bards", valid_body(uniq, nome=f"{a.capitalize()} {b}"))
    term = f"{a} {b}"
    for query in (f"{a}%20{b}", f"{a}+{b}", f"{a.upper()}+{b[:4]}", f"{a[3:]}%20{b.upper()}"):
        path = f"{prefix}?t={query}"
        decoded = urllib.parse.unquote_plus(query)
        results, sent, _ = poll_search(api, path, decoded, contains(bard["id"]))
        assert sent is not None, f"GET {path} did not find {term!r}: {results!r}"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_without_match_returns_empty_array(api, uniq, prefix):
    term = "semresultado" + uniq.token(20)
    r = api.search(prefix, term)
    assert r.status == 200, r
    assert r.content_type == "application/json", r.header("content-type")
    assert r.json() == [], r


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("query", ["", "?t=", "?t", "?q=java", "?t=&q=java", "?"])
def test_search_without_t_or_empty_t_is_400(api, prefix, query):
    r = api.get(f"{prefix}{query}")
    assert r.status == 400, f"GET {prefix}{query}: {r!r}"


def test_search_returns_at_most_50(api, uniq):
    tok = uniq.token(12)
    n = 55
    bodies = [valid_body(uniq, stack=["Go", f"Cap{tok}"]) for _ in range(n)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        rs = list(pool.map(lambda b: api.post_json("/bards", b), bodies))
    ours = {assert_created(r, "/bards", b)["id"] for r, b in zip(rs, bodies)}
    for prefix in PREFIXES:
        term = f"cap{tok}"
        results, sent, _ = poll_search(api, search_path(prefix, term), term, lambda res: len(res) >= 50)
        assert sent is not None, f"{prefix}: only {len(results)} results for {n} matching bards"
        assert len(results) == 50, len(results)
        assert {b["id"] for b in results} <= ours


@pytest.mark.parametrize("create_prefix", PREFIXES)
def test_search_visibility_within_1s(api, uniq, create_prefix, record_property):
    """A bard is searchable within 1 s of its 201 (measured): the first search *sent* within
    1 s after the 201 arrived must already find it."""
    samples = []
    for i in range(3):
        tok = uniq.token(14)
        body = valid_body(uniq, stack=["Go", f"Vis{tok}"])
        r = api.post_json(create_prefix, body)
        answered_201 = time.monotonic()
        bard = assert_created(r, create_prefix, body)
        search_prefix = PREFIXES[i % 3]
        term = f"vis{tok}"
        results, sent, answered = poll_search(api, search_path(search_prefix, term), term,
                                              contains(bard["id"]), since=answered_201)
        assert sent is not None, (f"created via {create_prefix}, not found via {search_prefix} "
                                  f"within {POLL_WINDOW_S} s")
        found = [b for b in results if b["id"] == bard["id"]][0]
        assert found == bard, "the search result differs from the created bard"
        samples.append((sent, answered))
    worst_sent = max(s for s, _ in samples)
    worst_answered = max(a for _, a in samples)
    record_property("visibility_sent_s", round(worst_sent, 4))
    record_property("visibility_answered_s", round(worst_answered, 4))
    print(f"\nsearch visibility via {create_prefix}: "
          + ", ".join(f"sent {s * 1000:.1f} ms / answered {a * 1000:.1f} ms" for s, a in samples))
    assert worst_sent <= VISIBILITY_LIMIT_S, (
        f"a bard became searchable only {worst_sent:.3f} s after its 201 (limit {VISIBILITY_LIMIT_S} s)")


def _tournament_terms():
    terms = []
    try:
        with open(TERMS_FILE, encoding="utf-8") as f:
            next(f)
            for line in f:
                terms.append(urllib.parse.unquote_plus(line.rstrip("\n")))
    except OSError:
        pass
    short = [t for t in terms if len(t) < 3][:10]
    sample = short + terms[:20]
    return sample or ["a", "Jo", "node", "berto", "Clojure", "O biwajh", "Ko", "x"]


def test_search_tournament_terms_return_only_matches(api):
    for i, term in enumerate(_tournament_terms()):
        prefix = PREFIXES[i % 3]
        r = api.search(prefix, term)
        assert r.status == 200, f"{prefix} t={term!r}: {r!r}"
        assert r.content_type == "application/json"
        check_results(r.json(), term, prefix)


# =============================================================================================
# count
# =============================================================================================

def test_count_is_plain_text_integer_equal_on_all_aliases(api):
    values = []
    for path in COUNT_PATHS:
        r = api.get(path)
        assert r.status == 200, f"GET {path}: {r!r}"
        assert r.content_type == "text/plain", f"GET {path} content-type: {r.header('content-type')!r}"
        text = r.body.decode("ascii").strip()
        assert text.isdigit(), f"GET {path}: {r.body!r}"
        values.append(int(text))
    assert len(set(values)) == 1, f"aliases disagree: {dict(zip(COUNT_PATHS, values))}"


def test_count_increases_by_exactly_the_number_of_201s(api, uniq):
    before = counts(api)
    assert len(set(before)) == 1, f"aliases disagree: {before}"
    base = before[0]
    created = 0
    dup = valid_body(uniq)
    for prefix in PREFIXES:
        create(api, prefix, valid_body(uniq))
        created += 1
        assert_count_now(api, base + created, f"count after {created} creates")
    create(api, "/bards", dup)
    created += 1
    # rejected requests of every kind must not move it
    assert api.post_json("/pessoas", dup).status == 422
    assert api.post_json("/BardAGI", valid_body(uniq, nascimento="2001-02-29")).status == 400
    assert api.post_json("/bards", valid_body(uniq, nome="")).status == 422
    assert api.post_raw("/pessoas", b"{not json").status == 400
    assert api.get("/bards/abc").status == 404
    assert api.get("/pessoas").status == 400
    assert_count_now(api, base + created, f"count after {created} creates and 6 rejected requests")


# =============================================================================================
# status
# =============================================================================================

def _keys_anywhere(obj, acc=None):
    acc = set() if acc is None else acc
    if isinstance(obj, dict):
        for k, v in obj.items():
            acc.add(k.lower())
            _keys_anywhere(v, acc)
    elif isinstance(obj, list):
        for v in obj:
            _keys_anywhere(v, acc)
    return acc


def test_status_reports_identity_and_counts(api):
    r = api.get("/status")
    assert r.status == 200, r
    assert r.content_type == "application/json", r.header("content-type")
    doc = r.json()
    assert isinstance(doc, dict), doc
    for key in ("version", "instance", "role", "site"):
        assert key in doc, f"/status lacks top-level {key!r}: keys {sorted(doc)}"
        assert doc[key] not in (None, ""), f"/status {key} is empty: {doc[key]!r}"
    keys = _keys_anywhere(doc)
    assert any("count" in k for k in keys), f"/status has no count field: keys {sorted(keys)}"
