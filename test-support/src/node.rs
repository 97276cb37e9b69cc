//! The Node side of the Redis interop tests: the scripts of `server/tests/node/cluster/`, run with
//! `node` from `PATH` in the repository root (where `node_modules` lives), and driven over JSON
//! lines.
//!
//! - [`NodePeer`] (`peer.mjs`): a socket.io server with `@socket.io/redis-adapter`, classic or
//!   sharded, that runs commands (`{"op": "emit", …}`) and reports connections and server-side
//!   events. Its ops and config are documented at the top of `peer.mjs`.
//! - [`NodeClients`] (`clients.mjs`): socket.io-client sockets that report every event they get.
//! - [`run_emitter`] (`emitter.mjs`): `@socket.io/redis-emitter` 5.x or the legacy
//!   `socket.io-emitter` 3.2.0 operations, run to completion.
//!
//! Binary values and dates travel as `{"$bin": "<base64>"}` ([`bin`]) and `{"$date": "<ISO>"}`
//! ([`date`]) in both directions.
//!
//! Every child is killed when its handle is dropped. Failures panic with the child's stderr (and
//! any stray stdout) in the message; the stderr is also echoed, prefixed, as it arrives.
//! Timeouts are generous: the tests run on small, loaded machines.

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::{Instant, timeout, timeout_at};

/// How long a command may take to be answered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the event helpers wait for an expected event.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a peer or the clients may take to start (connect to Redis, subscribe, connect).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The repository root: the workspace, with `package.json` and `node_modules`.
pub fn repo_root() -> PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or_else(|_| root.to_owned())
}

/// The sorted strings of a JSON array (other values as their JSON text); panics on a non-array.
pub fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    items.sort();
    items
}

/// `{"$bin": "<base64>"}`: how the scripts write binary values.
pub fn bin(bytes: &[u8]) -> Value {
    json!({ "$bin": base64::engine::general_purpose::STANDARD.encode(bytes) })
}

/// `{"$date": "<ISO>"}`: a JS `Date` when sent to a script.
pub fn date(iso: &str) -> Value {
    json!({ "$date": iso })
}

/// The path of `server/tests/node/cluster/<name>`, checking that the npm packages are installed.
fn script(name: &str) -> PathBuf {
    let root = repo_root();
    let marker = root.join("node_modules/@socket.io/redis-adapter/package.json");
    assert!(
        marker.exists(),
        "the npm packages are not installed ({} is missing): run `npm ci` in {}",
        marker.display(),
        root.display()
    );
    root.join("server/tests/node/cluster").join(name)
}

// ---------------------------------------------------------------------------------------------
// NodeProcess: one script, commands in, answers and events out
// ---------------------------------------------------------------------------------------------

/// Answers waiting for their command, by id. `None` once stdout closed (no answer will come).
type Pending = Arc<StdMutex<Option<HashMap<u64, oneshot::Sender<Value>>>>>;

/// The lines a script printed that are not answers, in order.
struct EventQueue {
    rx: mpsc::UnboundedReceiver<Value>,
    /// Events already received but not yet taken (skipped by [`NodeProcess::take`]).
    backlog: VecDeque<Value>,
}

/// A running script that speaks JSON lines: commands `{"id", "op", …}` on stdin, answers
/// `{"id", "ok", "result" | "error"}` and events (every other line) on stdout.
///
/// [`NodePeer`] and [`NodeClients`] deref to it.
pub struct NodeProcess {
    name: String,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    pending: Pending,
    events: Mutex<EventQueue>,
    /// stderr, stray stdout and crash reports, for failure messages.
    log: Arc<StdMutex<String>>,
    next_id: AtomicU64,
}

impl NodeProcess {
    /// Starts `node <script> '<config>'` in the repository root.
    fn spawn(name: &str, script_name: &str, config: &Value) -> NodeProcess {
        let mut child = Command::new("node")
            .arg(script(script_name))
            .arg(config.to_string())
            .current_dir(repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (is Node 20 on PATH?): {e}"));
        let log = Arc::new(StdMutex::new(String::new()));
        let pending: Pending = Arc::new(StdMutex::new(Some(HashMap::new())));
        let (tx, rx) = mpsc::unbounded_channel();

        let stdout = child.stdout.take().expect("piped stdout");
        let (out_log, out_pending) = (log.clone(), pending.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    append(&out_log, &format!("[stdout] {line}"));
                    continue;
                };
                if matches!(value["event"].as_str(), Some("crash" | "fail")) {
                    append(&out_log, &format!("[stdout] {line}"));
                }
                let waiter = value["id"]
                    .as_u64()
                    .and_then(|id| out_pending.lock().unwrap().as_mut()?.remove(&id));
                match waiter {
                    Some(waiter) => drop(waiter.send(value)),
                    None => drop(tx.send(value)),
                }
            }
            append(&out_log, "[stdout closed]");
            // Dropping the senders fails every command still waiting.
            out_pending.lock().unwrap().take();
        });

        let stderr = child.stderr.take().expect("piped stderr");
        let (err_log, label) = (log.clone(), name.to_owned());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{label} stderr] {line}");
                append(&err_log, &line);
            }
        });

        NodeProcess {
            name: name.to_owned(),
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            pending,
            events: Mutex::new(EventQueue {
                rx,
                backlog: VecDeque::new(),
            }),
            log,
            next_id: AtomicU64::new(1),
        }
    }

    /// The name used in messages (`peer A`, `clients`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the script wrote on stderr so far (plus stray stdout lines and crash reports).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Panics with `message` and the script's log.
    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        panic!(
            "{}: {message}\n----- log of {} -----\n{}",
            self.name,
            self.name,
            self.log()
        )
    }

    /// Writes `command` with a fresh `id` on stdin; returns it and the receiver of its answer.
    async fn send(&self, mut command: Value) -> Result<(Value, oneshot::Receiver<Value>), String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        command["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().unwrap().as_mut() {
            Some(pending) => pending.insert(id, tx),
            None => return Err(format!("the script has exited; cannot send {command}")),
        };
        let line = format!("{command}\n");
        match self.stdin.lock().await.as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).await,
            None => return Err(format!("stdin is closed; cannot send {command}")),
        }
        .map_err(|e| format!("cannot send {command}: {e}"))?;
        Ok((command, rx))
    }

    /// Sends `command` (an `id` is added) and returns its `result`; panics if the script answered
    /// `ok: false`, died, or did not answer within [`REQUEST_TIMEOUT`].
    pub async fn request(&self, command: Value) -> Value {
        let op = command["op"].clone();
        match self.try_request(command).await {
            Ok(result) => result,
            Err(error) => self.fail(&format!("op {op} failed: {error}")),
        }
    }

    /// Like [`request`](Self::request), but an `ok: false` answer is returned as `Err(error)`.
    pub async fn try_request(&self, command: Value) -> Result<Value, String> {
        let (command, rx) = match self.send(command).await {
            Ok(sent) => sent,
            Err(error) => self.fail(&error),
        };
        let answer = match timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => self.fail(&format!("the script exited before answering {command}")),
            Err(_) => self.fail(&format!(
                "no answer to {command} within {REQUEST_TIMEOUT:?}"
            )),
        };
        if answer["ok"] == true {
            Ok(answer["result"].clone())
        } else {
            Err(answer["error"]
                .as_str()
                .unwrap_or("(no message)")
                .to_owned())
        }
    }

    /// The next event (in arrival order), or `None` if none arrives within `wait` (or the
    /// script has exited and every event was taken).
    pub async fn try_next_event(&self, wait: Duration) -> Option<Value> {
        let mut queue = self.events.lock().await;
        if let Some(event) = queue.backlog.pop_front() {
            return Some(event);
        }
        timeout(wait, queue.rx.recv()).await.ok().flatten()
    }

    /// The next event; panics after [`EVENT_TIMEOUT`].
    pub async fn next_event(&self) -> Value {
        match self.try_next_event(EVENT_TIMEOUT).await {
            Some(event) => event,
            None => self.fail(&format!("no event within {EVENT_TIMEOUT:?}")),
        }
    }

    /// Takes the first `count` events that satisfy `matches`, waiting up to [`EVENT_TIMEOUT`] in
    /// all. Other events stay queued, in order, for later calls.
    pub async fn take(&self, count: usize, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let mut queue = self.events.lock().await;
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(event) = queue.backlog.pop_front() {
            if taken.len() < count && matches(&event) {
                taken.push(event);
            } else {
                kept.push_back(event);
            }
        }
        while taken.len() < count {
            match timeout_at(deadline, queue.rx.recv()).await {
                Ok(Some(event)) if matches(&event) => taken.push(event),
                Ok(Some(event)) => kept.push_back(event),
                outcome => {
                    let why = if outcome.is_ok() {
                        "the script exited"
                    } else {
                        "timed out"
                    };
                    queue.backlog = kept;
                    let seen: Vec<String> = queue.backlog.iter().map(Value::to_string).collect();
                    self.fail(&format!(
                        "{why} with {} of {count} matching events; matching: {taken:#?}\nother events:\n{}",
                        taken.len(),
                        seen.join("\n")
                    ));
                }
            }
        }
        queue.backlog = kept;
        taken
    }

    /// Every event up to and including the first that satisfies `matches` (panics after
    /// [`EVENT_TIMEOUT`]).
    pub async fn events_until(&self, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.events_until_within(EVENT_TIMEOUT, matches).await
    }

    async fn events_until_within(
        &self,
        wait: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut queue = self.events.lock().await;
        let mut events = Vec::new();
        loop {
            let event = match queue.backlog.pop_front() {
                Some(event) => event,
                None => match timeout_at(deadline, queue.rx.recv()).await {
                    Ok(Some(event)) => event,
                    outcome => {
                        let why = if outcome.is_ok() {
                            "the script exited"
                        } else {
                            "timed out"
                        };
                        queue.backlog = events.into();
                        let seen: Vec<String> =
                            queue.backlog.iter().map(Value::to_string).collect();
                        self.fail(&format!(
                            "{why} before the awaited event; events:\n{}",
                            seen.join("\n")
                        ));
                    }
                },
            };
            let done = matches(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// Every queued event plus those arriving within `wait`.
    pub async fn drain(&self, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut queue = self.events.lock().await;
        let mut events: Vec<Value> = queue.backlog.drain(..).collect();
        while let Ok(Some(event)) = timeout_at(deadline, queue.rx.recv()).await {
            events.push(event);
        }
        events
    }

    /// Waits up to `wait` for the script to exit on its own.
    pub async fn wait_exit(&self, wait: Duration) -> Option<ExitStatus> {
        let mut child = self.child.lock().await;
        timeout(wait, child.wait()).await.ok().and_then(Result::ok)
    }

    /// Kills the script (SIGKILL) and reaps it.
    pub async fn kill(&self) {
        let _ = self.child.lock().await.kill().await;
    }

    /// Sends `{"op": "exit"}` and waits (10 s at most) for a clean exit, then kills the script.
    /// Fine on a script that already exited.
    pub async fn exit(&self) {
        if let Ok((_, answer)) = self.send(json!({ "op": "exit" })).await {
            let _ = timeout(Duration::from_secs(10), answer).await;
        }
        self.stdin.lock().await.take();
        if self.wait_exit(Duration::from_secs(10)).await.is_none() {
            self.kill().await;
        }
    }
}

/// Polls `check` every 50 ms until it returns true; panics with `what` after [`EVENT_TIMEOUT`].
/// For effects that travel through Redis with no answer to wait for (a remote socketsJoin, …).
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "not true within {EVENT_TIMEOUT:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn append(log: &StdMutex<String>, line: &str) {
    let mut log = log.lock().unwrap();
    log.push_str(line);
    log.push('\n');
}

// ---------------------------------------------------------------------------------------------
// NodePeer
// ---------------------------------------------------------------------------------------------

/// A Node socket.io server with the Redis adapter (`peer.mjs`). Derefs to [`NodeProcess`]:
/// [`request`](NodeProcess::request) runs an op, the event helpers see the `connection`,
/// `disconnect`, `serverSideEmit` and `crash` lines.
pub struct NodePeer {
    process: NodeProcess,
    ready: Value,
}

impl NodePeer {
    /// Starts a peer and waits for its `ready` line. `config` is the JSON of `peer.mjs`, e.g.
    /// `{"name": "A", "redis": url, "mode": "classic", "adapter": {…}, "namespaces": ["/admin"]}`.
    pub async fn start(config: Value) -> NodePeer {
        let name = format!("peer {}", config["name"].as_str().unwrap_or("node"));
        let process = NodeProcess::spawn(&name, "peer.mjs", &config);
        let ready = started(&process, "ready").await;
        NodePeer { process, ready }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.ready["port"].as_u64().expect("ready.port") as u16
    }

    /// `http://127.0.0.1:<port>`, for clients.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The adapter uid of namespace `nsp` (for the namespaces created at start).
    pub fn uid(&self, nsp: &str) -> &str {
        self.ready["uids"][nsp]
            .as_str()
            .expect("a namespace created at start")
    }

    /// The whole `ready` line: `{"event": "ready", "port", "uids": {nsp: uid}, "pid"}`.
    pub fn ready(&self) -> &Value {
        &self.ready
    }
}

impl Deref for NodePeer {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.process
    }
}

/// Waits for the `expected` line (`ready` / `connected`), failing on `crash` / `fail`.
async fn started(process: &NodeProcess, expected: &str) -> Value {
    let is_start = |e: &Value| matches!(e["event"].as_str(), Some(n) if n == expected || n == "crash" || n == "fail");
    let events = process.events_until_within(START_TIMEOUT, is_start).await;
    let event = events
        .into_iter()
        .last()
        .expect("events_until returns the match");
    if event["event"] != expected {
        process.fail(&format!("failed to start: {event}"));
    }
    event
}

// ---------------------------------------------------------------------------------------------
// NodeClients
// ---------------------------------------------------------------------------------------------

/// socket.io-client sockets (`clients.mjs`). Derefs to [`NodeProcess`]; events are
/// `{"client": i, "event": name, "args": […], "ack": bool}`.
pub struct NodeClients {
    process: NodeProcess,
    ids: Vec<String>,
}

impl NodeClients {
    /// Starts the clients and waits until every one is connected. `config` is the JSON of
    /// `clients.mjs`: `{"clients": [{"url", "nsp", "auth", "transports"}, …], "ack": "…{i}"}`.
    pub async fn start(config: Value) -> NodeClients {
        let process = NodeProcess::spawn("clients", "clients.mjs", &config);
        let connected = started(&process, "connected").await;
        let ids = connected["ids"]
            .as_array()
            .expect("connected.ids")
            .iter()
            .map(|id| id.as_str().expect("socket id").to_owned())
            .collect();
        NodeClients { process, ids }
    }

    /// `count` websocket clients of namespace `nsp` on each of `urls`, client `i` with auth
    /// `{"client": i}` (indexes run across the urls in order).
    pub async fn connect(urls: &[String], nsp: &str, count: usize) -> NodeClients {
        let clients: Vec<Value> = urls
            .iter()
            .flat_map(|url| std::iter::repeat_n(url, count))
            .enumerate()
            .map(|(i, url)| json!({ "url": url, "nsp": nsp, "auth": { "client": i } }))
            .collect();
        NodeClients::start(json!({ "clients": clients })).await
    }

    /// The socket ids, by client index (as connected).
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Takes `count` events named `event` (from any clients).
    pub async fn expect(&self, event: &str, count: usize) -> Vec<Value> {
        self.take(count, |e| e["client"].is_u64() && e["event"] == event)
            .await
    }

    /// Takes one event named `event` from each client of `clients`, returned in that order;
    /// panics if one of them gets it twice before all have it.
    pub async fn expect_each(&self, event: &str, clients: &[usize]) -> Vec<Value> {
        let got = self
            .take(clients.len(), |e| {
                e["event"] == event
                    && e["client"]
                        .as_u64()
                        .is_some_and(|c| clients.contains(&(c as usize)))
            })
            .await;
        clients
            .iter()
            .map(|&client| {
                let mine: Vec<&Value> = got.iter().filter(|e| e["client"] == client).collect();
                if mine.len() != 1 {
                    self.fail(&format!(
                        "client {client} got {event} {} times: {got:#?}",
                        mine.len()
                    ));
                }
                mine[0].clone()
            })
            .collect()
    }

    /// Panics if any event named `event` is queued or arrives within `wait`. Other events stay
    /// queued.
    pub async fn assert_no(&self, event: &str, wait: Duration) {
        let events = self.drain(wait).await;
        let (unexpected, others): (Vec<Value>, Vec<Value>) =
            events.into_iter().partition(|e| e["event"] == event);
        self.events.lock().await.backlog.extend(others);
        if !unexpected.is_empty() {
            self.fail(&format!("unexpected {event} events: {unexpected:#?}"));
        }
    }
}

impl Deref for NodeClients {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.process
    }
}

// ---------------------------------------------------------------------------------------------
// Emitters
// ---------------------------------------------------------------------------------------------

/// Runs `emitter.mjs` with `config` (`{"redis": url, "key"?, "ops": […]}`, see the script) to its
/// end and returns the lines it printed; panics (with its stderr) unless it printed `done`.
pub async fn run_emitter(config: Value) -> Vec<Value> {
    let child = Command::new("node")
        .arg(script("emitter.mjs"))
        .arg(config.to_string())
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (is Node 20 on PATH?): {e}"));
    let output = timeout(REQUEST_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("emitter.mjs did not finish within {REQUEST_TIMEOUT:?}"))
        .expect("emitter.mjs output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let done = lines.iter().any(|line| line["event"] == "done");
    assert!(
        output.status.success() && done,
        "emitter.mjs failed ({}) with {config}\n----- stdout -----\n{stdout}\n----- stderr -----\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    lines
}
