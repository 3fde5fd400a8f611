//! Hostile input through `create_app()`: oversized, malformed, deeply nested and tricky
//! requests. Every one must get a 4xx (404 for ids) and leave no trace: the count stays put
//! and the marker carried by every hostile body is never found by search.
//!
//! Inputs that the SPEC accepts although they look hostile (duplicate keys, `\u0000` inside a
//! string, a 10,000-element stack, a non-JSON content type, other spellings of a UUID) are
//! pinned separately: they must be handled consistently and stored exactly as answered.
//! Run with `--nocapture` to see the table of cases and statuses.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use bardo::create_app;
use common::{start_state, valid_body};
use serde_json::Value;

/// Carried by every hostile body: if any of them were stored, a search would find it.
const MARKER: &str = "zqxhostile";
const ONE_MB: usize = 1024 * 1024;

macro_rules! app {
    ($state:expr) => {
        test::init_service(create_app($state.clone())).await
    };
}

struct Case {
    name: String,
    request: Request,
    allowed: &'static [u16],
}

fn case(name: impl Into<String>, request: Request, allowed: &'static [u16]) -> Case {
    Case { name: name.into(), request, allowed }
}

fn post(path: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Request {
    let mut request = TestRequest::post().uri(path);
    if let Some(content_type) = content_type {
        request = request.insert_header((header::CONTENT_TYPE, content_type));
    }
    request.set_payload(body.into()).to_request()
}

fn post_json(body: impl Into<Vec<u8>>) -> Request {
    post("/bards", Some("application/json"), body)
}

/// No `Content-Length`: the size cap must hold while streaming, not only on the header.
fn post_without_length(body: Vec<u8>) -> Request {
    let mut request = post_json(body);
    request.headers_mut().remove(header::CONTENT_LENGTH);
    request
}

fn get(path: &str) -> Request {
    TestRequest::get().uri(path).to_request()
}

/// A valid body with one field replaced by raw JSON text.
fn body_with(field: &str, raw_value: &str) -> String {
    let mut fields = vec![
        ("apelido", format!("\"{MARKER}\"")),
        ("nome", format!("\"{MARKER} nome\"")),
        ("nascimento", "\"1990-05-17\"".to_owned()),
        ("stack", format!("[\"{MARKER}\"]")),
    ];
    for (name, value) in &mut fields {
        if *name == field {
            *value = raw_value.to_owned();
        }
    }
    let members: Vec<String> = fields.iter().map(|(name, value)| format!("\"{name}\":{value}")).collect();
    format!("{{{}}}", members.join(","))
}

fn size_cases() -> Vec<Case> {
    let big = |size: usize| {
        let mut body = body_with("nome", &format!("\"{}\"", "x".repeat(size))).into_bytes();
        body.truncate(size);
        body
    };
    vec![
        case("1 MB body, Content-Length", post_json(big(ONE_MB)), &[413]),
        case("1 MB body, no Content-Length (streamed)", post_without_length(big(ONE_MB)), &[413]),
        case("64 KiB + 1 body", post_json(big(64 * 1024 + 1)), &[413]),
        case("empty body", post_json(Vec::new()), &[400]),
        case("whitespace body", post_json("  \n\t "), &[400]),
        case("body null", post_json("null"), &[400]),
        case("body is a JSON string", post_json(format!("\"{MARKER}\"")), &[400]),
        case("body is an array of bodies", post_json(format!("[{}]", body_with("", ""))), &[400]),
        case("body {}", post_json("{}"), &[422]),
        case("truncated JSON", post_json(body_with("", "").trim_end_matches('}').to_owned()), &[400]),
        case("trailing garbage", post_json(format!("{} x", body_with("", ""))), &[400]),
        case("two JSON objects", post_json(body_with("", "").repeat(2)), &[400]),
    ]
}

/// `body` with its one `\u{1}` placeholder byte replaced by `bytes`.
fn splice(body: String, bytes: &[u8]) -> Vec<u8> {
    let mut body = body.into_bytes();
    let at = body.iter().position(|&b| b == 1).expect("placeholder");
    body.splice(at..=at, bytes.iter().copied());
    body
}

fn encoding_cases() -> Vec<Case> {
    let placeholder = |field: &str| body_with(field, "\"zqx\u{1}\"");
    vec![
        case("invalid UTF-8 in a string", post_json(splice(placeholder("apelido"), &[0xff, 0xfe])), &[400]),
        case("overlong UTF-8 (C0 AF)", post_json(splice(placeholder("nome"), &[0xc0, 0xaf])), &[400]),
        case(
            "UTF-8 surrogate bytes (ED A0 80)",
            post_json(splice(placeholder("nome"), &[0xed, 0xa0, 0x80])),
            &[400],
        ),
        case("raw NUL byte inside a string", post_json(splice(placeholder("nome"), &[0])), &[400]),
        case("raw control byte inside a string", post_json(splice(placeholder("nome"), &[0x1f])), &[400]),
        case("invalid UTF-8 outside strings", post_json(splice(body_with("nome", "\u{1}"), &[0xff])), &[400]),
        case("UTF-16LE body", post_json(utf16le(&body_with("", ""))), &[400]),
        case("BOM before the object", post_json(format!("\u{feff}{}", body_with("", ""))), &[400]),
        case("lone surrogate escape", post_json(body_with("apelido", "\"\\ud800\"")), &[400]),
        case("NUL byte as the whole body", post_json(vec![0u8]), &[400]),
    ]
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Over 64 KiB the size cap answers first (413); under it the parser's depth limit must (400).
fn nesting_cases() -> Vec<Case> {
    let deep = nested(100_000);
    let objects = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let extra = format!("{},\"extra\":{}}}", body_with("", "").trim_end_matches('}'), nested(20_000));
    vec![
        case("100,000 nested arrays as the body", post_json(deep.clone()), &[413]),
        case("100,000 nested arrays as stack", post_json(body_with("stack", &deep)), &[413]),
        case("100,000 nested arrays, no Content-Length", post_without_length(deep.into_bytes()), &[413]),
        case("30,000 nested arrays as the body", post_json(nested(30_000)), &[400]),
        case("10,000 nested objects as the body", post_json(objects(10_000)), &[400]),
        case("30,000 unclosed [ as the body", post_json("[".repeat(30_000)), &[400]),
        case("20,000 nested arrays as stack", post_json(body_with("stack", &nested(20_000))), &[400]),
        case("20,000 nested arrays as apelido", post_json(body_with("apelido", &nested(20_000))), &[400]),
        case("20,000 nested arrays in an unknown field", post_json(extra), &[400]),
        case("129 nested arrays as stack", post_json(body_with("stack", &nested(129))), &[400]),
        case("2 nested arrays as a stack element", post_json(body_with("stack", "[[\"a\"]]")), &[400]),
    ]
}

/// Numbers where strings go, strings where arrays go, and the SPEC's 400-vs-422 table.
fn type_cases() -> Vec<Case> {
    let cases: [(&str, &str, &'static [u16]); 24] = [
        ("apelido", "123", &[400]),
        ("apelido", "true", &[400]),
        ("apelido", "{\"x\":1}", &[400]),
        ("apelido", "[\"zqxhostile\"]", &[400]),
        ("apelido", "1e999", &[400]),
        ("apelido", "\"\"", &[422]),
        ("apelido", "null", &[422]),
        ("apelido", "\"ééééééééééééééééééééééééééééééééé\"", &[422]),
        ("nome", "0", &[400]),
        ("nome", "-1.5e308", &[400]),
        ("nome", "\"\"", &[422]),
        ("nascimento", "20000101", &[400]),
        ("nascimento", "\"2000-13-01\"", &[400]),
        ("nascimento", "\"2001-02-29\"", &[400]),
        ("nascimento", "\"0000-01-01\"", &[400]),
        ("nascimento", "\" 2000-01-01\"", &[400]),
        ("nascimento", "\"２０００-01-01\"", &[400]),
        ("stack", "\"Go\"", &[400]),
        ("stack", "1", &[400]),
        ("stack", "{\"0\":\"Go\"}", &[400]),
        ("stack", "[1]", &[400]),
        ("stack", "[null]", &[422]),
        ("stack", "[\"\"]", &[422]),
        ("stack", "[\"abcdefghijklmnopqrstuvwxyzabcdefg\"]", &[422]),
    ];
    let mut out: Vec<Case> = cases
        .into_iter()
        .map(|(field, raw, allowed)| {
            case(format!("{field}: {raw:.40}"), post_json(body_with(field, raw)), allowed)
        })
        .collect();
    out.push(case(
        "nome of 101 chars",
        post_json(body_with("nome", &format!("\"{}\"", "n".repeat(101)))),
        &[422],
    ));
    out.push(case(
        "missing apelido",
        post_json(r#"{"nome":"zqxhostile","nascimento":"2000-01-01"}"#),
        &[422],
    ));
    out.extend(big_stack_cases());
    out
}

fn big_stack_cases() -> Vec<Case> {
    let stack = |items: &[&str]| format!("[{}]", items.join(","));
    let mut last_bad = vec!["\"z\""; 9_999];
    last_bad.push("\"abcdefghijklmnopqrstuvwxyzabcdefg\"");
    vec![
        case("10,000-element stack, last too long", post_json(body_with("stack", &stack(&last_bad))), &[422]),
        case(
            "10,000-element stack of null",
            post_json(body_with("stack", &stack(&["null"; 10_000]))),
            &[422],
        ),
        case(
            "10,000-element stack of numbers",
            post_json(body_with("stack", &stack(&["7"; 10_000]))),
            &[400],
        ),
        case("10,000-element stack of []", post_json(body_with("stack", &stack(&["[]"; 10_000]))), &[400]),
    ]
}

/// Unknown, malformed and tricky ids: always 404 (or 405 for a wrong method), never a bard.
fn path_cases() -> Vec<Case> {
    let unknown = "f7379ae8-8f9b-4cd5-8221-51efe19e721b";
    let paths = [
        "/bards/../status".to_owned(),
        "/bards/..".to_owned(),
        "/bards/%2e%2e".to_owned(),
        "/bards/%2e%2e/status".to_owned(),
        "/bards/%2e%2e%2fstatus".to_owned(),
        "/bards/..%2finternal%2fsnapshot".to_owned(),
        "/BardAGI/../internal/snapshot".to_owned(),
        "/bards/%00".to_owned(),
        format!("/bards/{unknown}%00"),
        format!("/bards/{}", unknown.to_uppercase()),
        format!("/bards/{unknown}/extra"),
        format!("/bards/{unknown};x=1"),
        // `http::Uri` caps a URI at 64 KiB; longer ones are tried over real HTTP in ops/hostile.sh.
        format!("/bards/{}", "a".repeat(60_000)),
        format!("/bards/{}", "%41".repeat(10_000)),
        "/bards/not-a-uuid".to_owned(),
        "/bards/%F0%9F%A6%80".to_owned(),
        "/bards//".to_owned(),
        "/bards/%20".to_owned(),
    ];
    paths.into_iter().map(|path| case(format!("GET {path:.60}"), get(&path), &[404])).collect()
}

/// Search terms: 400 without a term; otherwise 200 with `[]` (no hostile text is ever stored).
fn search_cases() -> Vec<Case> {
    let long = |unit: &str, count: usize| format!("/bards?t={}", unit.repeat(count));
    let cases: [(String, &'static [u16]); 13] = [
        (long("a", 10 * 1024), &[200]),
        (long("%C3%A9", 5 * 1024), &[200]),
        (long("a", 60_000), &[200]),
        ("/bards?t=%00".to_owned(), &[200]),
        ("/bards?t=%FF%FE".to_owned(), &[200]),
        ("/bards?t=%ZZ".to_owned(), &[200]),
        ("/bards?t=zqx%00hostile".to_owned(), &[200]),
        ("/bards?t=a&t=b".to_owned(), &[400]),
        ("/bards?t".to_owned(), &[400]),
        ("/bards?t=".to_owned(), &[400]),
        ("/bards?t[]=x".to_owned(), &[400]),
        ("/bards?T=x".to_owned(), &[400]),
        ("/bards".to_owned(), &[400]),
    ];
    cases.into_iter().map(|(path, allowed)| case(format!("GET {path:.60}"), get(&path), allowed)).collect()
}

/// Other content types and methods: never a create.
fn content_type_and_method_cases() -> Vec<Case> {
    let form = format!("apelido={MARKER}&nome={MARKER}&nascimento=2000-01-01");
    let utf16 = utf16le(&body_with("", ""));
    let method = |method: &str, path: &str| {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        TestRequest::default().method(method).uri(path).set_payload(body_with("", "")).to_request()
    };
    let unknown = "/bards/f7379ae8-8f9b-4cd5-8221-51efe19e721b";
    vec![
        case("form-urlencoded body", post("/bards", Some("application/x-www-form-urlencoded"), form), &[400]),
        case(
            "text/plain, not JSON",
            post("/bards", Some("text/plain"), format!("apelido: {MARKER}")),
            &[400],
        ),
        case(
            "application/json; charset=utf-16, UTF-16 body",
            post("/bards", Some("application/json; charset=utf-16"), utf16),
            &[400],
        ),
        case("multipart body", post("/bards", Some("multipart/form-data; boundary=x"), multipart()), &[400]),
        case("PUT /bards", method("PUT", "/bards"), &[404, 405]),
        case("PATCH /bards", method("PATCH", "/bards"), &[404, 405]),
        case("DELETE /bards/{id}", method("DELETE", unknown), &[404, 405]),
        case("POST /bards/{id}", method("POST", unknown), &[404, 405]),
        case("POST /contagem-bards", method("POST", "/contagem-bards"), &[404, 405]),
        case("POST /bards/../bards", method("POST", "/bards/../bards"), &[404, 405]),
        case("POST /internal/snapshot", method("POST", "/internal/snapshot"), &[404, 405]),
    ]
}

fn multipart() -> String {
    format!("--x\r\nContent-Disposition: form-data; name=\"apelido\"\r\n\r\n{MARKER}\r\n--x--\r\n")
}

async fn count<S, B>(app: &S) -> u64
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, get("/contagem-bards")).await;
    assert_eq!(response.status(), 200);
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap().trim().parse().unwrap()
}

async fn search<S, B>(app: &S, term: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, get(&format!("/bards?t={term}"))).await;
    assert_eq!(response.status(), 200);
    test::read_body_json(response).await
}

fn all_cases() -> Vec<Case> {
    let groups = [size_cases(), encoding_cases(), nesting_cases(), type_cases()];
    let more = [path_cases(), search_cases(), content_type_and_method_cases()];
    groups.into_iter().chain(more).flatten().collect()
}

/// What is wrong with one answer: an unexpected status, a search hit, or an error without the
/// SPEC's JSON error body (404/405 from the router carry none).
fn misbehaviour(name: &str, status: u16, json: bool, body: &[u8], allowed: &[u16]) -> Option<String> {
    if !allowed.contains(&status) {
        return Some(format!("{name}: {status}, expected one of {allowed:?}"));
    }
    if status == 200 && body != b"[]" {
        return Some(format!("{name}: 200 with {:.200}", String::from_utf8_lossy(body)));
    }
    let error: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let listed = error["errors"].as_array().is_some_and(|errors| !errors.is_empty());
    let router = status == 404 && body.is_empty() || status == 405;
    (status >= 400 && !router && !(json && listed)).then(|| {
        format!("{name}: {status} without the SPEC error body: {:.200}", String::from_utf8_lossy(body))
    })
}

#[actix_web::test]
async fn hostile_requests_get_4xx_and_store_nothing() {
    let state = start_state(2).await;
    let app = app!(state);
    for apelido in ["baseline1", "baseline2"] {
        let response = test::call_service(&app, post_json(valid_body(apelido))).await;
        assert_eq!(response.status(), 201);
    }
    let before = count(&app).await;
    let mut failures = vec![];
    for Case { name, request, allowed } in all_cases() {
        let response = test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let json =
            response.headers().get(header::CONTENT_TYPE).is_some_and(|value| value == "application/json");
        let body = test::read_body(response).await;
        eprintln!("{status}  {name}");
        failures.extend(misbehaviour(&name, status, json, &body, allowed));
    }
    assert!(failures.is_empty(), "{} hostile cases misbehaved:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(count(&app).await, before, "a hostile request was stored");
    assert_eq!(search(&app, MARKER).await, Value::Array(vec![]), "a hostile text reached the index");
    assert_eq!(search(&app, "baseline").await.as_array().map(Vec::len), Some(2));
}

/// Creates `body`; on 201 checks that `GET Location` answers exactly the created bard.
async fn create_faithfully<S, B>(app: &S, content_type: Option<&str>, body: String) -> (u16, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, post("/bards", content_type, body)).await;
    let status = response.status().as_u16();
    let location = response.headers().get(header::LOCATION).map(|value| value.to_str().unwrap().to_owned());
    let created: Value = serde_json::from_slice(&test::read_body(response).await).unwrap_or(Value::Null);
    if status == 201 {
        let fetched = test::call_service(app, get(&location.expect("201 has a Location"))).await;
        assert_eq!(fetched.status(), 200);
        let fetched: Value = test::read_body_json(fetched).await;
        assert_eq!(fetched, created, "stored bard differs from the 201 body");
    }
    (status, created)
}

/// Inputs the SPEC accepts although they look hostile: stored exactly as answered, counted once.
#[actix_web::test]
async fn odd_but_valid_inputs_are_stored_exactly_as_answered() {
    let state = start_state(2).await;
    let app = app!(state);
    let stack = format!("[{}]", vec!["\"a\""; 10_000].join(","));
    let nul = r#"{"apelido":"nul\u0000a","nome":"N\u0000","nascimento":"2000-01-01","stack":["\u0000"]}"#;
    let cases: [(&str, Option<&str>, String, &[u16]); 5] = [
        ("\\u0000 escaped inside strings", Some("application/json"), nul.to_owned(), &[201]),
        ("10,000-element valid stack (40 KB)", Some("application/json"), valid_stack_body(&stack), &[201]),
        ("Content-Type text/plain, valid JSON", Some("text/plain"), valid_body("plain"), &[201, 415]),
        ("no Content-Type, valid JSON", None, valid_body("nocontenttype"), &[201, 415]),
        ("Content-Type application/xml", Some("application/xml"), valid_body("xml"), &[201, 415]),
    ];
    let mut created = 0;
    for (name, content_type, body, allowed) in cases {
        let (status, bard) = create_faithfully(&app, content_type, body).await;
        eprintln!("{status}  {name}");
        assert!(allowed.contains(&status), "{name}: {status}, expected one of {allowed:?}");
        created += u64::from(status == 201);
        if name.starts_with("10,000") {
            assert_eq!(bard["stack"].as_array().map(Vec::len), Some(10_000));
        }
    }
    assert_eq!(count(&app).await, created);
}

fn valid_stack_body(stack: &str) -> String {
    format!(r#"{{"apelido":"bigstack","nome":"Big Stack","nascimento":"1990-05-17","stack":{stack}}}"#)
}

/// SPEC.md says nothing about duplicate keys. Whatever the policy (reject, first wins, last
/// wins), it must be one policy for every field, and what is stored must follow it.
#[actix_web::test]
async fn duplicate_keys_follow_one_consistent_policy() {
    let state = start_state(2).await;
    let app = app!(state);
    let n = r#""nome":"Dup","nascimento":"1990-05-17""#;
    let pairs = [
        (
            format!(r#"{{"apelido":"","apelido":"dupA",{n}}}"#),
            format!(r#"{{"apelido":"dupB","apelido":"",{n}}}"#),
        ),
        (
            format!(r#"{{"apelido":"dupC",{n},"stack":"Go","stack":["Go"]}}"#),
            format!(r#"{{"apelido":"dupD",{n},"stack":["Go"],"stack":"Go"}}"#),
        ),
    ];
    let mut policies = vec![];
    for (last_valid, first_valid) in pairs {
        let (a, bard_a) = create_faithfully(&app, Some("application/json"), last_valid).await;
        let (b, bard_b) = create_faithfully(&app, Some("application/json"), first_valid).await;
        let policy = match (a, b) {
            (201, 400..=499) => "last wins",
            (400..=499, 201) => "first wins",
            (400..=499, 400..=499) => "rejected",
            other => panic!("duplicate keys: inconsistent statuses {other:?}: {bard_a} {bard_b}"),
        };
        eprintln!("{a} / {b}  duplicate keys: {policy}");
        policies.push(policy);
    }
    policies.dedup();
    assert_eq!(policies.len(), 1, "duplicate keys: more than one policy: {policies:?}");
}

/// Other spellings of an existing bard's UUID: `Uuid::parse_str` accepts uppercase, simple,
/// braced and URN forms. Each must be 404 or the very same bard, never anything else.
#[actix_web::test]
async fn other_uuid_spellings_are_404_or_the_same_bard() {
    let state = start_state(2).await;
    let app = app!(state);
    let (status, bard) = create_faithfully(&app, Some("application/json"), valid_body("spelling")).await;
    assert_eq!(status, 201);
    let id = bard["id"].as_str().unwrap().to_owned();
    let spellings = [id.to_uppercase(), id.replace('-', ""), format!("%7B{id}%7D"), format!("urn:uuid:{id}")];
    for spelling in spellings {
        let response = test::call_service(&app, get(&format!("/bards/{spelling}"))).await;
        let status = response.status().as_u16();
        eprintln!("{status}  GET /bards/{spelling}");
        let body = test::read_body(response).await;
        match status {
            404 => {}
            200 => assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), bard, "{spelling}"),
            other => panic!("GET /bards/{spelling}: {other}"),
        }
    }
}
