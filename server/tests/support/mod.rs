//! Shared harness of the server's integration tests: an in-process `Io` on 127.0.0.1:0, a log the
//! server handlers write to, a panic recorder, a raw Socket.IO-over-websocket client, and the runner
//! of the `socket.io-client` scripts (server/tests/node).
//!
//! Every test file uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oxio_server::{DisconnectReason, EngineConfig, Io, IoConfig, Socket};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long any single wait of the harness may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

/// Panics seen outside the test threads (in the server's tasks and handlers). A panic in a spawned
/// task only aborts that task, so the tests would not notice it without this record.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static PANIC_HOOK: Once = Once::new();

thread_local! {
    /// Set on the threads that run a test's body: their panics fail their test by themselves.
    static TEST_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once per test binary) a panic hook that records panics on every thread but the test
/// threads, then runs the default hook. Marks the calling thread as a test thread.
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

/// How long a test may run before the watchdog aborts the test binary.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Aborts the whole test binary if the calling test is still running after [`WATCHDOG`]: a
/// deadlocked server can stall the test's runtime (timers included), and `cargo test` would wait
/// forever. The returned flag marks the test as finished.
fn watchdog() -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + WATCHDOG;
        while std::time::Instant::now() < deadline {
            if finished.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Not `eprintln!`: the test harness captures it, and the abort would lose it.
        let message =
            format!("\ntest {test} still running after {WATCHDOG:?} (a deadlock?): aborting\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
        std::process::abort();
    });
    done
}

/// Fails if any task or handler panicked so far (in any test of this binary).
pub(crate) fn assert_no_panics() {
    let panics = lock(&PANICS).clone();
    assert!(panics.is_empty(), "server tasks panicked: {panics:#?}");
}

// ---------------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------------

/// What the server's handlers saw, as JSON entries with a `kind` (`connection`, `disconnect`, ...).
#[derive(Default)]
pub(crate) struct Log {
    entries: Mutex<Vec<Value>>,
    changed: tokio::sync::Notify,
}

impl Log {
    /// Appends an entry.
    pub(crate) fn push(&self, entry: Value) {
        lock(&self.entries).push(entry);
        self.changed.notify_waiters();
    }

    /// Every entry so far.
    pub(crate) fn entries(&self) -> Vec<Value> {
        lock(&self.entries).clone()
    }

    /// The entries of one kind, in order.
    pub(crate) fn of_kind(&self, kind: &str) -> Vec<Value> {
        lock(&self.entries)
            .iter()
            .filter(|e| e["kind"] == kind)
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for the entries, or fails the test after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if done(&lock(&self.entries)) {
                    return;
                }
                changed.await;
            }
        })
        .await;
        if waited.is_err() {
            panic!(
                "timed out after {timeout:?} waiting for {what}; log:\n{:#?}",
                self.entries()
            );
        }
    }

    /// Waits until there are at least `count` entries of `kind`; returns them all.
    pub(crate) async fn wait_kind(&self, kind: &str, count: usize) -> Vec<Value> {
        self.wait_until(&format!("{count} {kind} entries"), TIMEOUT, |entries| {
            entries.iter().filter(|e| e["kind"] == kind).count() >= count
        })
        .await;
        self.of_kind(kind)
    }

    /// The disconnect reasons logged for socket `id` (by [`Log::record_disconnect`]).
    pub(crate) fn disconnect_reasons(&self, id: &str) -> Vec<String> {
        self.of_kind("disconnect")
            .iter()
            .filter(|e| e["id"] == id)
            .map(|e| e["reason"].as_str().expect("reason").to_owned())
            .collect()
    }

    /// Waits for the disconnect of socket `id` and returns its reasons (one if the server is right).
    pub(crate) async fn wait_disconnect(&self, id: &str) -> Vec<String> {
        self.wait_disconnect_within(id, TIMEOUT).await
    }

    /// Same as [`Log::wait_disconnect`], failing after `timeout`.
    pub(crate) async fn wait_disconnect_within(&self, id: &str, timeout: Duration) -> Vec<String> {
        self.wait_until(&format!("the disconnect of {id}"), timeout, |entries| {
            entries
                .iter()
                .any(|e| e["kind"] == "disconnect" && e["id"] == id)
        })
        .await;
        // A second call of the disconnect handlers would come right after the first.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.disconnect_reasons(id)
    }

    /// Logs `connection` now and `disconnect` (with the reason) when the socket disconnects.
    pub(crate) fn record_connection(self: &Arc<Self>, socket: &Socket) {
        self.push(json!({
            "kind": "connection",
            "nsp": socket.namespace_name(),
            "id": socket.id(),
        }));
        let log = self.clone();
        socket.on_disconnect(move |socket, reason: DisconnectReason| {
            log.push(json!({
                "kind": "disconnect",
                "nsp": socket.namespace_name(),
                "id": socket.id(),
                "reason": reason.as_str(),
                "connected": socket.connected(),
            }));
        });
    }

    /// The ids of the sockets that connected to `nsp`, in order.
    pub(crate) fn connections(&self, nsp: &str) -> Vec<String> {
        self.of_kind("connection")
            .iter()
            .filter(|e| e["nsp"] == nsp)
            .map(|e| e["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// The engine options of the tests: `/socket.io/`, a short shutdown drain.
pub(crate) fn engine_config() -> EngineConfig {
    EngineConfig::default()
        .path("/socket.io/")
        .shutdown_timeout(Duration::from_secs(1))
}

/// The server options of the tests.
pub(crate) fn io_config() -> IoConfig {
    IoConfig::default().engine(engine_config())
}

/// A Socket.IO server serving on 127.0.0.1 (an ephemeral port) in this process.
pub(crate) struct TestIo {
    pub(crate) io: Io,
    pub(crate) addr: SocketAddr,
    pub(crate) log: Arc<Log>,
    serve: Option<JoinHandle<std::io::Result<()>>>,
    finished: Arc<AtomicBool>,
}

impl TestIo {
    /// Creates the server, lets `setup` register namespaces and handlers, then serves.
    pub(crate) async fn start(config: IoConfig, setup: impl FnOnce(&Io, &Arc<Log>)) -> TestIo {
        install_panic_hook();
        let finished = watchdog();
        let log = Arc::new(Log::default());
        let io = Io::new(config);
        setup(&io, &log);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let serving = io.clone();
        let serve = tokio::spawn(async move { serving.serve(listener).await });
        TestIo {
            io,
            addr,
            log,
            serve: Some(serve),
            finished,
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
        while self.io.engine().session_count() != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} sessions still open after {timeout:?}",
                self.io.engine().session_count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestIo {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Release);
        if let Some(serve) = &self.serve {
            serve.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transport modes
// ---------------------------------------------------------------------------------------------

/// How the Node client connects (the scripts' `mode` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `transports: ["polling"]`.
    Polling,
    /// `transports: ["websocket"]`.
    Websocket,
    /// The default transports: polling, then the upgrade to websocket (the scripts wait for it).
    Upgrade,
}

impl Mode {
    /// The scripts' argument.
    pub(crate) fn arg(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Websocket => "websocket",
            Mode::Upgrade => "upgrade",
        }
    }

    /// The transport the client runs on once connected (after the upgrade).
    pub(crate) fn transport(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Websocket | Mode::Upgrade => "websocket",
        }
    }
}

/// Declares, for each scenario `async fn name(mode: Mode)` of the file, a module `name` with one
/// test per transport mode: `name::polling`, `name::websocket`, `name::upgrade`.
#[allow(unused_macros)]
macro_rules! per_mode {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                super::$scenario($crate::support::Mode::Polling).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                super::$scenario($crate::support::Mode::Websocket).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upgrade() {
                super::$scenario($crate::support::Mode::Upgrade).await;
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use per_mode;

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
    pub(crate) fn success(self) -> Events {
        assert!(
            self.status.success(),
            "node script failed ({}), stdout:\n{}",
            self.status,
            self.stdout
        );
        Events(self.events)
    }
}

/// The events a script printed.
#[derive(Debug)]
pub(crate) struct Events(pub(crate) Vec<Value>);

impl Events {
    /// Every event named `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<Value> {
        self.0
            .iter()
            .filter(|e| e["event"] == name)
            .cloned()
            .collect()
    }

    /// The only event named `name` (fails unless there is exactly one).
    #[track_caller]
    pub(crate) fn one(&self, name: &str) -> Value {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "{name} events in {:#?}", self.0);
        all.into_iter().next().expect("one")
    }

    /// The only event named `name` whose `key` is `value`.
    #[track_caller]
    pub(crate) fn one_with(&self, name: &str, key: &str, value: &str) -> Value {
        let all: Vec<Value> = self
            .all(name)
            .into_iter()
            .filter(|e| e[key] == value)
            .collect();
        assert_eq!(
            all.len(),
            1,
            "{name} events with {key}={value} in {:#?}",
            self.0
        );
        all.into_iter().next().expect("one")
    }

    /// Asserts the transports the script reported (`common.mjs::report_transport`).
    #[track_caller]
    pub(crate) fn assert_transport(&self, mode: Mode) {
        let transports = self.all("transport");
        assert!(!transports.is_empty(), "no transport event: {:#?}", self.0);
        for event in transports {
            assert_eq!(event["name"], mode.transport(), "{event}");
        }
    }
}

/// A running Node script.
pub(crate) struct NodeChild {
    child: tokio::process::Child,
    script: String,
}

/// Starts `node server/tests/node/<script>.mjs <url> <args>`. Fails (never skips) when
/// `socket.io-client` is not installed.
pub(crate) fn spawn_node(script: &str, url: &str, args: &[&str]) -> NodeChild {
    let root = repo_root();
    let client = root.join("node_modules/socket.io-client/package.json");
    assert!(
        client.exists(),
        "socket.io-client is not installed ({} is missing): run `npm ci` at the repository root ({})",
        client.display(),
        root.display()
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node")
        .join(format!("{script}.mjs"));
    assert!(path.exists(), "no Node script {}", path.display());
    let child = tokio::process::Command::new("node")
        .arg(&path)
        .arg(url)
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
    /// Kills the process (SIGKILL) and waits for it.
    pub(crate) async fn kill(&mut self) {
        self.child.kill().await.expect("kill node");
    }

    /// Waits for the script to exit (the scripts time out on their own; this is a backstop).
    pub(crate) async fn wait(self) -> NodeRun {
        let script = self.script;
        let output = tokio::time::timeout(Duration::from_secs(20), self.child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("node script {script} did not exit within 20 s"))
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

/// Runs a Node script to its end and asserts that it succeeded.
pub(crate) async fn run_node(script: &str, server: &TestIo, mode: Mode, args: &[&str]) -> Events {
    let mut all = vec![mode.arg()];
    all.extend_from_slice(args);
    spawn_node(script, &server.url(), &all)
        .wait()
        .await
        .success()
}

/// How `common.mjs::describe` prints binary data: `{"$bin": "<hex>"}`.
pub(crate) fn bin(bytes: &[u8]) -> Value {
    json!({ "$bin": hex(bytes) })
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `i as u8` for i < len.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// Raw Socket.IO over websocket
// ---------------------------------------------------------------------------------------------

/// A websocket client connection.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// How a websocket connection ended, seen from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WsEnd {
    /// A close frame arrived.
    CloseFrame,
    /// The stream ended or failed without a close frame.
    Dropped,
}

/// A hand-driven Engine.IO websocket session speaking Socket.IO packets as raw text.
pub(crate) struct RawClient {
    pub(crate) ws: Ws,
    /// The Engine.IO session id.
    pub(crate) sid: String,
    /// The Engine.IO handshake (`0{...}` without the `0`).
    pub(crate) handshake: Value,
    /// Whether [`RawClient::next`] answers engine pings (`2`) with pongs (`3`).
    pub(crate) answer_pings: bool,
}

impl RawClient {
    /// Opens `/socket.io/?EIO=4&transport=websocket` and reads the open packet.
    pub(crate) async fn open(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket handshake");
        let mut client = RawClient {
            ws,
            sid: String::new(),
            handshake: Value::Null,
            answer_pings: true,
        };
        let open = client.next_text().await;
        let handshake: Value = serde_json::from_str(
            open.strip_prefix('0')
                .unwrap_or_else(|| panic!("expected the open packet, got {open:?}")),
        )
        .expect("handshake JSON");
        client.sid = handshake["sid"].as_str().expect("sid").to_owned();
        client.handshake = handshake;
        client
    }

    /// Opens a session and connects to the main namespace; returns the client and the socket id.
    pub(crate) async fn connected(addr: SocketAddr) -> (RawClient, String) {
        let mut client = RawClient::open(addr).await;
        let id = client.connect("/").await;
        (client, id)
    }

    /// Sends a CONNECT to `nsp` and returns the socket id of the server's CONNECT answer.
    pub(crate) async fn connect(&mut self, nsp: &str) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}")).await;
        let answer = self.next_text().await;
        let data = answer
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("expected CONNECT to {nsp}, got {answer:?}"));
        let data: Value = serde_json::from_str(data).expect("CONNECT data");
        data["sid"].as_str().expect("sid in CONNECT").to_owned()
    }

    /// Sends a text frame (an Engine.IO packet: `4` + a Socket.IO packet for a message).
    pub(crate) async fn send(&mut self, text: &str) {
        self.ws
            .send(WsMessage::text(text))
            .await
            .expect("websocket send");
    }

    /// Sends a binary frame (an attachment).
    pub(crate) async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(WsMessage::binary(bytes.to_vec()))
            .await
            .expect("websocket send");
    }

    /// The next frame but engine pings (answered when `answer_pings`); `None` when the connection
    /// ended. Fails after [`TIMEOUT`].
    pub(crate) async fn next(&mut self) -> Option<Result<WsMessage, String>> {
        loop {
            let next = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("no websocket message within the timeout")
                .map(|r| r.map_err(|e| e.to_string()));
            if let Some(Ok(WsMessage::Text(text))) = &next
                && text.as_str() == "2"
            {
                if self.answer_pings {
                    self.send("3").await;
                }
                continue;
            }
            return next;
        }
    }

    /// The next frame, which must be text.
    pub(crate) async fn next_text(&mut self) -> String {
        match self.next().await {
            Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be binary.
    pub(crate) async fn next_binary(&mut self) -> Vec<u8> {
        match self.next().await {
            Some(Ok(WsMessage::Binary(bytes))) => bytes.to_vec(),
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// Reads until the connection ends; returns the frames read before the end and how it ended.
    pub(crate) async fn read_to_end(&mut self) -> (Vec<WsMessage>, WsEnd) {
        let mut frames = Vec::new();
        loop {
            match self.next().await {
                Some(Ok(WsMessage::Close(_))) => return (frames, WsEnd::CloseFrame),
                Some(Ok(frame)) => frames.push(frame),
                Some(Err(_)) | None => return (frames, WsEnd::Dropped),
            }
        }
    }

    /// Emits `["echo", text]` on the main namespace and expects it back (the server's `echo`
    /// handler of the raw tests).
    pub(crate) async fn echo(&mut self, text: &str) {
        let packet = format!("42{}", json!(["echo", text]));
        self.send(&packet).await;
        assert_eq!(self.next_text().await, packet, "echo round trip");
    }
}
