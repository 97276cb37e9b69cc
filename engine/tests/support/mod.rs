//! Shared harness of the engine's integration tests: an in-process engine with a recording echo
//! handler, a panic recorder, a raw HTTP/1.1 client, a raw websocket client and the Node runner.
//!
//! Every test file uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

pub(crate) mod node_cases;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use oxio_engine::{
    CloseReason, Engine, EngineConfig, Frame, Handler, Message, Socket, TransportKind,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long any single wait of the harness may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

/// Panics seen outside the test threads: in the engine's tasks (and the harness's own spawned
/// tasks). A panic in a spawned task only aborts that task, so the tests would not notice it
/// without this record.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

thread_local! {
    /// Set on the threads that run a test's body: their panics fail their test by themselves.
    static TEST_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once per test binary) a panic hook that records panics on every thread but the test
/// threads (tokio's workers and blocking threads, whatever their names), then runs the default hook.
/// Marks the calling thread as a test thread: call it from the test body.
pub(crate) fn install_panic_hook() {
    TEST_THREAD.with(|flag| flag.set(true));
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !TEST_THREAD.with(std::cell::Cell::get) {
                let thread = std::thread::current();
                let name = thread.name().unwrap_or("<unnamed>").to_owned();
                lock(&PANICS).push(format!("thread {name}: {info}"));
            }
            previous(info);
        }));
    });
}

/// Fails if any spawned task panicked so far (in any test of this binary).
pub(crate) fn assert_no_panics() {
    let panics = lock(&PANICS).clone();
    assert!(panics.is_empty(), "spawned tasks panicked: {panics:#?}");
}

// ---------------------------------------------------------------------------------------------
// The recording handler
// ---------------------------------------------------------------------------------------------

/// What the handler saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Open {
        sid: String,
        transport: TransportKind,
    },
    Message {
        sid: String,
        message: Message,
    },
    Close {
        sid: String,
        reason: CloseReason,
    },
}

/// Records every callback and keeps a handle of every open socket.
#[derive(Default)]
pub(crate) struct Recorder {
    events: Mutex<Vec<Event>>,
    sockets: Mutex<HashMap<String, Socket>>,
    changed: tokio::sync::Notify,
}

impl Recorder {
    fn record(&self, event: Event) {
        lock(&self.events).push(event);
        self.changed.notify_waiters();
    }

    /// A copy of every event so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The events, one a line, messages shortened.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        for event in lock(&self.events).iter() {
            let line = match event {
                Event::Message { sid, message } => {
                    let (kind, bytes): (&str, &[u8]) = match message {
                        Message::Text(text) => ("text", text.as_bytes()),
                        Message::Binary(bytes) => ("binary", bytes),
                    };
                    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
                    format!("message {sid}: {kind} of {} bytes {shown:?}", bytes.len())
                }
                other => format!("{other:?}"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The session ids opened so far, in order.
    pub(crate) fn opens(&self) -> Vec<String> {
        lock(&self.events)
            .iter()
            .filter_map(|e| match e {
                Event::Open { sid, .. } => Some(sid.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every close so far, in order.
    pub(crate) fn closes(&self) -> Vec<(String, CloseReason)> {
        lock(&self.events)
            .iter()
            .filter_map(|e| match e {
                Event::Close { sid, reason } => Some((sid.clone(), *reason)),
                _ => None,
            })
            .collect()
    }

    /// The close reasons of `sid` (at most one if the engine is right).
    pub(crate) fn close_reasons(&self, sid: &str) -> Vec<CloseReason> {
        self.closes()
            .into_iter()
            .filter(|(s, _)| s == sid)
            .map(|(_, r)| r)
            .collect()
    }

    /// The messages `sid` sent, in order.
    pub(crate) fn messages(&self, sid: &str) -> Vec<Message> {
        lock(&self.events)
            .iter()
            .filter_map(|e| match e {
                Event::Message { sid: s, message } if s == sid => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until `sid` has opened and returns its handle. A websocket client may read the open
    /// packet before `on_open` ran: the engine writes the handshake answer first.
    pub(crate) async fn wait_socket(&self, sid: &str) -> Socket {
        self.wait_until(&format!("the open of {sid}"), TIMEOUT, |events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Open { sid: s, .. } if s == sid))
        })
        .await;
        self.socket(sid)
    }

    /// The handle of an open session (one whose `on_open` has run).
    pub(crate) fn socket(&self, sid: &str) -> Socket {
        lock(&self.sockets)
            .get(sid)
            .cloned()
            .unwrap_or_else(|| panic!("no open socket {sid}"))
    }

    /// Waits until `done` holds for the events, or fails the test after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if done(&lock(&self.events)) {
                    return;
                }
                changed.await;
            }
        })
        .await;
        if waited.is_err() {
            panic!(
                "timed out after {timeout:?} waiting for {what}; events:\n{}",
                self.summary()
            );
        }
    }

    /// Waits for the close of `sid` and returns its reason.
    pub(crate) async fn wait_close(&self, sid: &str) -> CloseReason {
        self.wait_close_within(sid, TIMEOUT).await
    }

    /// Waits at most `timeout` for the close of `sid` and returns its reason.
    pub(crate) async fn wait_close_within(&self, sid: &str, timeout: Duration) -> CloseReason {
        self.wait_until(&format!("the close of {sid}"), timeout, |events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Close { sid: s, .. } if s == sid))
        })
        .await;
        let reasons = self.close_reasons(sid);
        assert_eq!(reasons.len(), 1, "{sid} closed more than once: {reasons:?}");
        reasons[0]
    }

    /// Waits until `count` sessions have opened.
    pub(crate) async fn wait_opens(&self, count: usize) {
        self.wait_until(&format!("{count} opens"), TIMEOUT, |events| {
            events
                .iter()
                .filter(|e| matches!(e, Event::Open { .. }))
                .count()
                >= count
        })
        .await;
    }
}

/// The test handler: records everything, echoes messages (text as text, binary as binary), and
/// obeys a few commands:
/// - `server-close`: sends the text `closing`, then closes the session;
/// - `send-large:N`: sends a text message of N `x`;
/// - `send-binary:N`: sends N binary bytes `0, 1, 2, ...` (mod 256);
/// - `transport?`: answers with the session's current transport (`polling` or `websocket`).
pub(crate) struct RecordingHandler(pub(crate) Arc<Recorder>);

/// The bytes `send-binary:N` sends, and the binary messages the tests send: `i as u8` for i < len.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

impl Handler for RecordingHandler {
    fn on_open(&self, socket: &Socket) {
        lock(&self.0.sockets).insert(socket.id().to_owned(), socket.clone());
        self.0.record(Event::Open {
            sid: socket.id().to_owned(),
            transport: socket.transport(),
        });
    }

    fn on_message(&self, socket: &Socket, message: Message) {
        self.0.record(Event::Message {
            sid: socket.id().to_owned(),
            message: message.clone(),
        });
        if let Message::Text(text) = &message {
            let text = text.as_str();
            if text == "server-close" {
                let _ = socket.send(Frame::text("closing"));
                socket.close();
                return;
            }
            if text == "transport?" {
                let _ = socket.send(Frame::text(socket.transport().as_str()));
                return;
            }
            if let Some(n) = text.strip_prefix("send-large:") {
                let n: usize = n.parse().expect("send-large:N");
                let _ = socket.send(Frame::text(&"x".repeat(n)));
                return;
            }
            if let Some(n) = text.strip_prefix("send-binary:") {
                let n: usize = n.parse().expect("send-binary:N");
                let _ = socket.send(Frame::binary(Bytes::from(pattern(n))));
                return;
            }
        }
        let _ = socket.send(Frame::from(message));
    }

    fn on_close(&self, socket: &Socket, reason: CloseReason) {
        // Dropping the handle matters: the memory tests must not see sessions kept alive by us.
        lock(&self.0.sockets).remove(socket.id());
        self.0.record(Event::Close {
            sid: socket.id().to_owned(),
            reason,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// An engine serving on 127.0.0.1 (an ephemeral port) in this process.
pub(crate) struct TestServer {
    pub(crate) engine: Engine,
    pub(crate) addr: SocketAddr,
    pub(crate) recorder: Arc<Recorder>,
    serve: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and spawns `engine.serve`.
    pub(crate) async fn start(config: EngineConfig) -> TestServer {
        install_panic_hook();
        let recorder = Arc::new(Recorder::default());
        let engine = Engine::new(config, RecordingHandler(recorder.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let serving = engine.clone();
        let serve = tokio::spawn(async move { serving.serve(listener).await });
        TestServer {
            engine,
            addr,
            recorder,
            serve: Some(serve),
        }
    }

    /// `http://127.0.0.1:PORT`, the URL the Node client gets.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The task running `serve` (once).
    pub(crate) fn take_serve(&mut self) -> JoinHandle<std::io::Result<()>> {
        self.serve.take().expect("serve handle already taken")
    }

    /// Waits until the engine holds no session (fails after `timeout`).
    pub(crate) async fn wait_no_sessions(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.engine.session_count() != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} sessions still open after {timeout:?}",
                self.engine.session_count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(serve) = &self.serve {
            serve.abort();
        }
    }
}

/// `/engine.io/?EIO=4&<query>`.
pub(crate) fn engine_path(query: &str) -> String {
    format!("/engine.io/?EIO=4&{query}")
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1
// ---------------------------------------------------------------------------------------------

/// A parsed HTTP response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`, joined with `, `.
    pub(crate) fn header_all(&self, name: &str) -> String {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The body as UTF-8.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an engine error: `status` and the body `{"code":code,"message":message}`.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: u64, message: &str) {
        assert_eq!(
            (self.status, self.json()),
            (status, json!({"code": code, "message": message})),
            "{self:?}"
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// Sends `request` as is on a new connection, then reads the response until EOF.
pub(crate) async fn http_raw(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer (413) and close before reading everything: ignore write errors and
    // read what it answered.
    let _ = stream.write_all(request).await;
    read_response(stream).await
}

/// One request with `Connection: close` (and `Content-Length` when `body` is not empty).
pub(crate) async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    http_raw(addr, &bytes).await
}

/// Reads a whole response (to EOF; a reset after some bytes counts as EOF) and parses it.
pub(crate) async fn read_response(mut stream: TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(TIMEOUT, async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(error) if !raw.is_empty() => {
                    eprintln!(
                        "read error after {} bytes (taken as EOF): {error}",
                        raw.len()
                    );
                    break;
                }
                Err(error) => panic!("reading the response: {error}"),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no complete response within {TIMEOUT:?}");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    } else if let Some((_, len)) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let len: usize = len.parse().expect("content-length");
        assert!(body.len() >= len, "body shorter than its Content-Length");
        body.truncate(len);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = std::str::from_utf8(&data[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// Raw polling
// ---------------------------------------------------------------------------------------------

/// A polling handshake; returns the sid and the handshake JSON (the open packet without its `0`).
pub(crate) async fn polling_handshake(addr: SocketAddr) -> (String, Value) {
    let response = http(addr, "GET", &engine_path("transport=polling"), &[], b"").await;
    assert_eq!(response.status, 200, "handshake failed: {response:?}");
    let body = response.text();
    let open = body
        .split('\x1e')
        .next()
        .and_then(|p| p.strip_prefix('0'))
        .unwrap_or_else(|| panic!("no open packet in {body:?}"));
    let handshake: Value = serde_json::from_str(open).expect("handshake JSON");
    let sid = handshake["sid"].as_str().expect("sid").to_owned();
    (sid, handshake)
}

/// A polling GET for `sid`.
pub(crate) async fn poll(addr: SocketAddr, sid: &str) -> HttpResponse {
    http(
        addr,
        "GET",
        &engine_path(&format!("transport=polling&sid={sid}")),
        &[],
        b"",
    )
    .await
}

/// A polling POST of `body` for `sid`.
pub(crate) async fn post(addr: SocketAddr, sid: &str, body: &[u8]) -> HttpResponse {
    http(
        addr,
        "POST",
        &engine_path(&format!("transport=polling&sid={sid}")),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        body,
    )
    .await
}

/// Splits a polling payload at the record separator.
pub(crate) fn packets(body: &[u8]) -> Vec<String> {
    std::str::from_utf8(body)
        .expect("UTF-8 payload")
        .split('\x1e')
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Raw websocket
// ---------------------------------------------------------------------------------------------

/// A websocket client connection.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Opens a websocket to `/engine.io/?EIO=4&<query>`.
pub(crate) async fn ws_connect(
    addr: SocketAddr,
    query: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let url = format!("ws://{addr}{}", engine_path(query));
    tokio_tungstenite::client_async(url, stream)
        .await
        .map(|(ws, _)| ws)
}

/// A websocket session (no polling): returns the connection, the sid and the handshake JSON.
pub(crate) async fn ws_open(addr: SocketAddr) -> (Ws, String, Value) {
    let mut ws = ws_connect(addr, "transport=websocket")
        .await
        .expect("websocket handshake");
    let open = ws_next_text(&mut ws).await;
    let handshake: Value = serde_json::from_str(
        open.strip_prefix('0')
            .unwrap_or_else(|| panic!("expected the open packet, got {open:?}")),
    )
    .expect("handshake JSON");
    let sid = handshake["sid"].as_str().expect("sid").to_owned();
    (ws, sid, handshake)
}

/// The next websocket message (fails after [`TIMEOUT`]); `None` when the connection ended.
pub(crate) async fn ws_next(ws: &mut Ws) -> Option<Result<WsMessage, String>> {
    tokio::time::timeout(TIMEOUT, ws.next())
        .await
        .expect("no websocket message within the timeout")
        .map(|r| r.map_err(|e| e.to_string()))
}

/// The next message, which must be a text frame.
pub(crate) async fn ws_next_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Sends a text frame.
pub(crate) async fn ws_send_text(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::text(text))
        .await
        .expect("websocket send");
}

/// How a websocket connection ended, seen from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WsEnd {
    /// A close frame arrived.
    CloseFrame,
    /// The stream ended or failed without a close frame.
    Dropped,
}

/// Reads until the connection ends; returns the frames read before the end and how it ended.
pub(crate) async fn ws_read_to_end(ws: &mut Ws) -> (Vec<WsMessage>, WsEnd) {
    let mut frames = Vec::new();
    loop {
        match ws_next(ws).await {
            Some(Ok(WsMessage::Close(_))) => return (frames, WsEnd::CloseFrame),
            Some(Ok(frame)) => frames.push(frame),
            Some(Err(_)) | None => return (frames, WsEnd::Dropped),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Witness sessions
// ---------------------------------------------------------------------------------------------

/// Two sessions opened before a test misbehaves (one websocket, one polling) that must still echo
/// afterwards: the misbehaviour closed only its own session.
pub(crate) struct Witness {
    ws: Ws,
    ws_sid: String,
    polling_sid: String,
    round: usize,
}

impl Witness {
    pub(crate) async fn open(addr: SocketAddr) -> Witness {
        let (ws, ws_sid, _) = ws_open(addr).await;
        let (polling_sid, _) = polling_handshake(addr).await;
        Witness {
            ws,
            ws_sid,
            polling_sid,
            round: 0,
        }
    }

    /// Both sessions echo a fresh message and are still open on the server.
    pub(crate) async fn check(&mut self, server: &TestServer) {
        self.round += 1;
        let text = format!("4witness-{}", self.round);
        ws_send_text(&mut self.ws, &text).await;
        assert_eq!(ws_next_text(&mut self.ws).await, text, "websocket witness");
        let posted = post(server.addr, &self.polling_sid, text.as_bytes()).await;
        assert_eq!((posted.status, posted.text()), (200, "ok"));
        let polled = poll(server.addr, &self.polling_sid).await;
        assert_eq!(
            (polled.status, polled.text()),
            (200, text.as_str()),
            "polling witness"
        );
        for sid in [&self.ws_sid, &self.polling_sid] {
            assert_eq!(
                server.recorder.close_reasons(sid),
                vec![],
                "witness {sid} closed"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------------

/// The repository root (the workspace, where `package.json` and `node_modules` live).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// What a Node script did: its exit status, its stdout, and the JSON events it printed.
#[derive(Debug)]
pub(crate) struct NodeRun {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) events: Vec<Value>,
}

impl NodeRun {
    /// Asserts that the script succeeded and returns its events.
    #[track_caller]
    pub(crate) fn success(self) -> Vec<Value> {
        assert!(
            self.status.success(),
            "node script failed ({}), stdout:\n{}",
            self.status,
            self.stdout
        );
        self.events
    }
}

/// A running Node script.
pub(crate) struct NodeChild {
    child: tokio::process::Child,
    script: String,
}

/// Starts `node engine/tests/node/<script>.mjs <args>`. Fails (never skips) when the Node client
/// is not installed.
pub(crate) fn spawn_node(script: &str, args: &[&str]) -> NodeChild {
    let root = repo_root();
    let client = root.join("node_modules/engine.io-client/package.json");
    assert!(
        client.exists(),
        "engine.io-client is not installed ({} is missing): run `npm ci` at the repository root ({})",
        client.display(),
        root.display()
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node")
        .join(format!("{script}.mjs"));
    assert!(path.exists(), "no Node script {}", path.display());
    let child = tokio::process::Command::new("node")
        .arg(&path)
        .args(args)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node 20 installed?): {e}"));
    NodeChild {
        child,
        script: script.to_owned(),
    }
}

impl NodeChild {
    /// Waits for the script to exit (the scripts time out on their own; this is a backstop).
    pub(crate) async fn wait(self) -> NodeRun {
        let script = self.script;
        let output = tokio::time::timeout(Duration::from_secs(30), self.child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("node script {script} did not exit within 30 s"))
            .expect("node output");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let events = stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{script} printed a non-JSON line ({e}): {line}"))
            })
            .collect();
        NodeRun {
            status: output.status,
            stdout,
            events,
        }
    }
}

/// Runs a Node script to its end.
pub(crate) async fn run_node(script: &str, args: &[&str]) -> NodeRun {
    spawn_node(script, args).wait().await
}

/// FNV-1a (32 bits) as lowercase hex, as `common.mjs` computes it.
pub(crate) fn fnv(bytes: &[u8]) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// How `common.mjs` describes a received text message.
pub(crate) fn text_event(text: &str) -> Value {
    let mut event = json!({
        "event": "message",
        "type": "text",
        "length": text.len(),
        "fnv": fnv(text.as_bytes()),
    });
    if text.chars().count() <= 64 {
        event["text"] = json!(text);
    }
    event
}

/// How `common.mjs` describes a received binary message.
pub(crate) fn binary_event(bytes: &[u8]) -> Value {
    let mut event = json!({
        "event": "message",
        "type": "binary",
        "length": bytes.len(),
        "fnv": fnv(bytes),
    });
    if bytes.len() <= 32 {
        event["hex"] = json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    event
}

/// A text message as the handler receives it.
pub(crate) fn text_message(text: &str) -> Message {
    Message::Text(text.to_owned().into())
}

/// A binary message as the handler receives it.
pub(crate) fn binary_message(bytes: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(bytes))
}

/// Resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub(crate) fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}
