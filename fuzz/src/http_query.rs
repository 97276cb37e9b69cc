//! The checks of the `http_query` target, shared with the stable-toolchain corpus test of
//! `oxio-engine` (`engine/tests/fuzz_corpus.rs` includes this file by path).
//!
//! The input is text (bytes that are not UTF-8 are read lossily). Its first line is a request line
//! (`GET /engine.io/?EIO=4&transport=polling&t=P3bXk9a HTTP/1.1`) or a bare query string (sent as
//! `GET /engine.io/?<line>`); every further line is a header (`Name: value`; lines that are no
//! valid header are skipped).
//!
//! What the engine parses by hand gets the input, and must agree with a reference model written
//! here:
//!
//! - `query_param` (and `RequestInfo::query_param`): the last pair whose name is the key
//!   percent-decoded or as written (empty pairs skipped), its value percent-decoded (`%XX`, `+` as space, malformed escapes
//!   kept, non-UTF-8 bytes as U+FFFD). The value is never longer than written, and borrowed when it
//!   holds no escape. Any string, percent-encoded as `encodeURIComponent` (or a form) writes it,
//!   decodes back to itself, as a name and as a value.
//! - `EngineQuery::parse` agrees with `query_param` for `EIO`, `transport` and `sid`, and
//!   `transport_kind` is `polling`/`websocket` exactly.
//! - `Engine::handle` and `Engine::matches` on the request, under three configurations (transports,
//!   CORS disabled / any origin with credentials / an origin list, paths): the status and the
//!   `{"code","message"}` body are the ones Node's engine.io gives (the transport check, the
//!   handshake method, the websocket upgrade check from the `Upgrade` header, the protocol
//!   version, the session id), and the CORS headers follow the `Origin` and
//!   `Access-Control-Request-Headers` headers. The allow-request hook sees the same parameters. No
//!   session is ever opened: the hook refuses the handshakes that would open one (and
//!   `max_sessions` is 0 besides).

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header,
};
use http_body_util::{BodyExt, Empty};
use oxio_engine::{
    CloseReason, Cors, CorsOrigin, Engine, EngineConfig, EngineQuery, Handler, Message, Refusal,
    RequestInfo, Socket, TransportKind, Transports, query_param,
};

/// Keys looked up in every query, besides the names the query holds.
const KEYS: &[&str] = &["EIO", "transport", "sid", "t", "b64", "j", "token", ""];
/// At most this many of the query's own names are looked up (each lookup scans the query).
const MAX_NAMES: usize = 16;
/// Headers past this many are ignored.
const MAX_HEADERS: usize = 32;
/// The hook's refusal message.
const REFUSED: &str = "refused by the fuzz hook";
/// The origins of the `CorsOrigin::List` configuration.
const ORIGINS: &[&str] = &["http://localhost:3000", "https://example.com"];

/// Runs `data` through every check.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .take(MAX_HEADERS)
        .collect();

    check_query(first);
    round_trip(first);
    for (name, value) in &headers {
        round_trip(name);
        round_trip(value);
    }

    let (method, target) = request_line(first);
    if let Some((_, query)) = target.split_once('?') {
        check_query(query);
    }
    let (Ok(method), Ok(uri)) = (
        Method::from_bytes(method.as_bytes()),
        Uri::try_from(&*target),
    ) else {
        return;
    };
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    check_request(method, uri, map);
}

/// `METHOD TARGET [VERSION]`, or a bare query string sent as `GET /engine.io/?<line>`.
fn request_line(line: &str) -> (&str, Cow<'_, str>) {
    let mut parts = line.split(' ');
    if let (Some(method), Some(target), rest) = (parts.next(), parts.next(), parts.next())
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && target.starts_with('/')
        && rest.is_none_or(|v| v.starts_with("HTTP/"))
    {
        return (method, Cow::Borrowed(target));
    }
    ("GET", Cow::Owned(format!("/engine.io/?{line}")))
}

// ---- The reference model of query parsing --------------------------------------------------------

fn model_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%XX` → the byte, `+` → space, anything else as it is; then UTF-8 with U+FFFD.
fn model_decode(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::new();
    let mut rest = b;
    while let Some((&c, tail)) = rest.split_first() {
        if c == b'%'
            && let [h, l, after @ ..] = tail
            && let (Some(h), Some(l)) = (model_hex(*h), model_hex(*l))
        {
            out.push(h * 16 + l);
            rest = after;
            continue;
        }
        out.push(if c == b'+' { b' ' } else { c });
        rest = tail;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's pairs, raw: `(name, value)`, a pair without `=` having the empty value; empty pairs
/// (`&&`) are none.
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.find('=') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (p, ""),
        })
}

/// The raw value of the last pair whose name is `key`, as written or decoded (`URLSearchParams`
/// into `Object.fromEntries`: the last one wins).
fn model_raw_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    pairs(query)
        .filter(|(name, _)| *name == key || model_decode(name) == key)
        .last()
        .map(|(_, value)| value)
}

/// The session id. An empty one is a session id too (Node's engine.io, `if (sid)`, takes it for a
/// handshake: divergence H1 of DIVERGENCES.md).
fn model_sid(query: &str) -> Option<String> {
    model_raw_value(query, "sid").map(model_decode)
}

/// `query_param` against the model; the value's length and borrowing.
fn check_param(query: &str, key: &str) {
    let got = query_param(query, key);
    let raw = model_raw_value(query, key);
    assert_eq!(
        got.as_deref(),
        raw.map(model_decode).as_deref(),
        "query_param({query:?}, {key:?})"
    );
    if let (Some(got), Some(raw)) = (got, raw) {
        assert!(std::str::from_utf8(got.as_bytes()).is_ok());
        assert!(
            got.len() <= raw.len(),
            "{raw:?} decodes longer: {got:?} in {query:?}"
        );
        if !raw.contains(['%', '+']) {
            assert!(matches!(got, Cow::Borrowed(_)), "{raw:?} copied");
            assert_eq!(got, raw);
        }
    }
}

/// Every lookup of the engine and the application, on one query string.
fn check_query(query: &str) {
    for key in KEYS {
        check_param(query, key);
    }
    let mut names: Vec<String> = Vec::new();
    for (name, _) in pairs(query).take(MAX_NAMES / 2) {
        names.push(name.to_owned());
        names.push(model_decode(name));
    }
    for name in &names {
        check_param(query, name);
    }

    let parsed = EngineQuery::parse(query);
    assert_eq!(parsed.protocol(), query_param(query, "EIO").as_deref());
    assert_eq!(
        parsed.transport(),
        query_param(query, "transport").as_deref()
    );
    assert_eq!(parsed.sid(), model_sid(query).as_deref());
    assert_eq!(parsed.transport_kind(), model_transport(query));
}

fn model_transport(query: &str) -> Option<TransportKind> {
    match model_raw_value(query, "transport")
        .map(model_decode)
        .as_deref()
    {
        Some("polling") => Some(TransportKind::Polling),
        Some("websocket") => Some(TransportKind::Websocket),
        _ => None,
    }
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as `%XX` of its UTF-8
/// bytes; `form` writes a space as `+`, `lower` lowercase hex digits.
fn encode(s: &str, form: bool, lower: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'~' | b'*' => {
                out.push(char::from(b));
            }
            b'\'' | b'(' | b')' => out.push(char::from(b)),
            b' ' if form => out.push('+'),
            _ if lower => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `s`, encoded, comes back as a name and as a value.
fn round_trip(s: &str) {
    for (form, lower) in [(false, false), (true, true)] {
        let e = encode(s, form, lower);
        let query = format!("EIO=4&{e}=first&&transport=polling&{e}={e}");
        assert_eq!(query_param(&query, s).as_deref(), Some(s), "{query:?}");
        assert_eq!(
            query_param(&format!("v={e}"), "v").as_deref(),
            Some(s),
            "{e:?}"
        );
    }
}

// ---- The engine --------------------------------------------------------------------------------------

struct NoHandler;

impl Handler for NoHandler {
    fn on_open(&self, _socket: &Socket) {
        panic!("a session opened");
    }
    fn on_message(&self, _socket: &Socket, _message: Message) {}
    fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
}

/// One engine configuration and what the model needs to know of it.
struct Setup {
    engine: Engine,
    path: &'static str,
    transports: Transports,
    cors: Cors,
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    setups: Vec<Setup>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let configs = [
            ("/engine.io/", Transports::default(), Cors::default(), true),
            (
                "/socket.io/",
                Transports {
                    polling: false,
                    websocket: true,
                },
                Cors {
                    origin: CorsOrigin::Any,
                    credentials: true,
                },
                true,
            ),
            (
                "/engine.io/",
                Transports {
                    polling: true,
                    websocket: false,
                },
                Cors {
                    origin: CorsOrigin::List(ORIGINS.iter().map(|&o| o.to_owned()).collect()),
                    credentials: false,
                },
                false,
            ),
        ];
        let setups = {
            let _entered = runtime.enter();
            configs
                .into_iter()
                .map(|(path, transports, cors, upgrades)| {
                    let config = EngineConfig::default()
                        .path(path)
                        .transports(transports)
                        .cors(cors.clone())
                        .allow_upgrades(upgrades)
                        .max_sessions(0)
                        .allow_request(hook);
                    Setup {
                        engine: Engine::new(config, NoHandler),
                        path,
                        transports,
                        cors,
                    }
                })
                .collect()
        };
        Fixture { runtime, setups }
    })
}

/// The allow-request hook: sees a handshake (a GET without `sid`) whose parameters agree with
/// `EngineQuery`, and refuses exactly those the engine would accept (`EIO=4`).
fn hook(info: &RequestInfo) -> Result<(), Refusal> {
    let query = info.uri.query().unwrap_or_default();
    let parsed = EngineQuery::parse(query);
    assert_eq!(info.method, Method::GET);
    assert_eq!(parsed.sid(), None);
    assert!(parsed.transport_kind().is_some());
    for key in ["EIO", "transport", "sid", "t", "token"] {
        assert_eq!(info.query_param(key), query_param(query, key));
    }
    if info.query_param("EIO").as_deref() == Some("4") {
        Err(Refusal {
            message: REFUSED.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// What the engine must answer: 204 (a CORS preflight), or an error status with Node's code and
/// message.
#[derive(Debug, PartialEq)]
enum Answer {
    NoContent,
    Error(StatusCode, u8, String),
}

fn error(code: u8) -> Answer {
    let message = match code {
        0 => "Transport unknown",
        1 => "Session ID unknown",
        2 => "Bad handshake method",
        3 => "Bad request",
        4 => REFUSED,
        _ => "Unsupported protocol version",
    };
    let status = if code == 4 {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    Answer::Error(status, code, message.to_owned())
}

fn has_token(value: Option<&HeaderValue>, token: &str) -> bool {
    let Some(text) = value.and_then(|v| std::str::from_utf8(v.as_bytes()).ok()) else {
        return false;
    };
    // `HeaderValue::to_str` takes visible ASCII only.
    text.bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        && text
            .split(',')
            .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
}

/// Node's engine.io `verify` and `handshake`, for an engine without sessions.
fn model_answer(setup: &Setup, method: &Method, query: &str, headers: &HeaderMap) -> Answer {
    let cors_enabled = setup.cors.origin != CorsOrigin::Disabled;
    if method == Method::OPTIONS && cors_enabled {
        return Answer::NoContent;
    }
    let transport = match model_transport(query) {
        Some(TransportKind::Polling) if setup.transports.polling => TransportKind::Polling,
        Some(TransportKind::Websocket) if setup.transports.websocket => TransportKind::Websocket,
        _ => return error(0),
    };
    if model_sid(query).is_some() {
        return error(1);
    }
    if method != Method::GET {
        return error(2);
    }
    let upgrade = has_token(headers.get(header::UPGRADE), "websocket");
    if transport == TransportKind::Websocket && !upgrade {
        return error(3);
    }
    if model_raw_value(query, "EIO").map(model_decode).as_deref() == Some("4") {
        error(4)
    } else {
        error(5)
    }
}

fn check_request(method: Method, uri: Uri, headers: HeaderMap) {
    let fixture = fixture();
    let query = uri.query().unwrap_or_default().to_owned();
    check_query(&query);
    let info = RequestInfo::detached(&method, &uri, &headers, None);
    for key in KEYS {
        assert_eq!(info.query_param(key), query_param(&query, key));
    }
    for setup in &fixture.setups {
        let request = || {
            let mut request = Request::new(Empty::<Bytes>::new());
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = headers.clone();
            request
        };
        let path = uri.path();
        assert_eq!(
            setup.engine.matches(&request()),
            path == setup.path || path == setup.path.trim_end_matches('/'),
            "{path:?}"
        );
        let (response, body) = fixture.runtime.block_on(async {
            let response = setup.engine.handle(request(), None).await;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("full body").to_bytes();
            (Response::from_parts(parts, ()), body)
        });
        assert_eq!(setup.engine.session_count(), 0);
        let answer = if response.status() == StatusCode::NO_CONTENT {
            assert!(body.is_empty());
            Answer::NoContent
        } else {
            let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
            let code = json["code"].as_u64().expect("a code");
            let message = json["message"].as_str().expect("a message");
            Answer::Error(
                response.status(),
                u8::try_from(code).expect("small code"),
                message.to_owned(),
            )
        };
        let expected = model_answer(setup, &method, &query, &headers);
        assert_eq!(answer, expected, "{method} {uri} {headers:?}");
        check_cors(setup, &method, &headers, response.headers());
    }
}

/// The CORS headers of a response (of any status).
fn check_cors(setup: &Setup, method: &Method, request: &HeaderMap, response: &HeaderMap) {
    let origin = request.get(header::ORIGIN);
    let allow = match (&setup.cors.origin, origin) {
        (CorsOrigin::Disabled, _) => None,
        (CorsOrigin::Any, Some(o)) if setup.cors.credentials => Some(o.clone()),
        (CorsOrigin::Any, _) => Some(HeaderValue::from_static("*")),
        (CorsOrigin::List(list), Some(o)) => list
            .iter()
            .any(|entry| entry.as_bytes() == o.as_bytes())
            .then(|| o.clone()),
        (CorsOrigin::List(_), None) => None,
    };
    assert_eq!(
        response.get(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        allow.as_ref()
    );
    let varies_by_origin = response.get_all(header::VARY).iter().any(|v| v == "Origin");
    assert_eq!(varies_by_origin, allow.as_ref().is_some_and(|a| a != "*"));
    if allow.is_none() {
        for name in [
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
        ] {
            assert!(!response.contains_key(&name), "{name} without CORS");
        }
        return;
    };
    assert_eq!(
        response.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        setup.cors.credentials
    );
    let preflight = method == Method::OPTIONS;
    assert_eq!(
        response.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS),
        preflight
    );
    let requested = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|_| preflight);
    assert_eq!(
        response.get(header::ACCESS_CONTROL_ALLOW_HEADERS),
        requested
    );
}
