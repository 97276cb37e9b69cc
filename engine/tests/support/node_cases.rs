//! The engine.io-client scenarios, run once per transport mode by `client_polling.rs`,
//! `client_websocket.rs` and `client_upgrade.rs`.

use std::time::Duration;

use oxio_engine::{CloseReason, EngineConfig, TransportKind};
use serde_json::{Value, json};

use super::{
    TestServer, assert_no_panics, binary_event, binary_message, pattern, run_node, text_event,
    text_message,
};

/// How the Node client connects (the scripts' `mode` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `transports: ["polling"]`.
    Polling,
    /// `transports: ["websocket"]`.
    Websocket,
    /// The default transports: polling, then the upgrade to websocket.
    Upgrade,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Websocket => "websocket",
            Mode::Upgrade => "upgrade",
        }
    }

    /// The transport the session opens with.
    fn first(self) -> TransportKind {
        match self {
            Mode::Polling | Mode::Upgrade => TransportKind::Polling,
            Mode::Websocket => TransportKind::Websocket,
        }
    }

    /// The transport the session ends on.
    fn last(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::Websocket | Mode::Upgrade => "websocket",
        }
    }

    /// The events `common.mjs::open` prints.
    fn open_events(self) -> Vec<Value> {
        let mut events = vec![json!({"event": "open", "transport": self.first().as_str()})];
        if self == Mode::Upgrade {
            events.push(json!({"event": "upgrade", "transport": "websocket"}));
        }
        events.push(json!({"event": "transport", "name": self.last()}));
        events
    }
}

/// The only session of `server`: asserts that exactly one opened, with the mode's first transport.
fn only_session(server: &TestServer, mode: Mode) -> String {
    let opens = server.recorder.opens();
    assert_eq!(opens.len(), 1, "sessions opened: {opens:?}");
    let events = server.recorder.events();
    assert_eq!(
        events.first(),
        Some(&super::Event::Open {
            sid: opens[0].clone(),
            transport: mode.first()
        })
    );
    opens[0].clone()
}

/// `echo.mjs`: text and binary both ways, a burst, server-initiated messages, then client close.
pub(crate) async fn echo(mode: Mode) {
    let server = TestServer::start(EngineConfig::default()).await;
    let events = run_node("echo", &[&server.url(), mode.arg()])
        .await
        .success();

    let mut expected = mode.open_events();
    expected.extend([
        text_event("hello"),
        text_event("héllo ✓ 🦀"),
        // The server echoes `4`; engine.io-parser decodes that as a message of `undefined`.
        json!({"event": "message", "type": "none"}),
        binary_event(&pattern(256)),
        binary_event(&[1, 2, 3]),
        text_event(&"x".repeat(5000)),
        binary_event(&pattern(300)),
        text_event(mode.last()),
        text_event("a"),
        binary_event(&pattern(10)),
        text_event("b"),
        binary_event(&[]),
        text_event("c"),
        json!({"event": "transport", "name": mode.last()}),
        json!({"event": "close", "reason": "forced close"}),
    ]);
    assert_eq!(events, expected);

    let sid = only_session(&server, mode);
    assert_eq!(
        server.recorder.messages(&sid),
        vec![
            text_message("hello"),
            text_message("héllo ✓ 🦀"),
            text_message(""),
            binary_message(&pattern(256)),
            binary_message(&[1, 2, 3]),
            text_message("send-large:5000"),
            text_message("send-binary:300"),
            text_message("transport?"),
            text_message("a"),
            binary_message(&pattern(10)),
            text_message("b"),
            binary_message(&[]),
            text_message("c"),
        ]
    );
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// The `max_payload` the payload scenarios configure.
pub(crate) const MAX_PAYLOAD: usize = 10_000;

/// Whether a payload scenario's message fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fits {
    /// At the limit: echoed, then the client closes ("transport close" on the server).
    Yes,
    /// One byte over: the session ends; the client sees a close with `client`, the server records
    /// `server`.
    No {
        client: &'static str,
        server: CloseReason,
    },
}

/// `max_payload.mjs`: one message of `size` bytes (text: `a` repeated; binary: the pattern) under
/// `max_payload(MAX_PAYLOAD)`.
pub(crate) async fn max_payload(mode: Mode, binary: bool, size: usize, fits: Fits) {
    let server = TestServer::start(EngineConfig::default().max_payload(MAX_PAYLOAD)).await;
    let kind = if binary { "binary" } else { "text" };
    let size_arg = size.to_string();
    let events = run_node("max_payload", &[&server.url(), mode.arg(), kind, &size_arg])
        .await
        .success();

    let (event, message) = if binary {
        (binary_event(&pattern(size)), binary_message(&pattern(size)))
    } else {
        let text = "a".repeat(size);
        (text_event(&text), text_message(&text))
    };
    let mut expected = mode.open_events();
    let sid = only_session(&server, mode);
    match fits {
        Fits::Yes => {
            expected.push(event);
            expected.push(json!({"event": "close", "reason": "forced close"}));
            assert_eq!(events, expected, "{mode:?} {kind} of {size} bytes");
            assert_eq!(server.recorder.messages(&sid), vec![message]);
            assert_eq!(
                server.recorder.wait_close(&sid).await,
                CloseReason::TransportClose
            );
        }
        Fits::No {
            client,
            server: reason,
        } => {
            expected.push(json!({"event": "close", "reason": client}));
            assert_eq!(events, expected, "{mode:?} {kind} of {size} bytes");
            assert_eq!(server.recorder.messages(&sid), vec![]);
            assert_eq!(
                server.recorder.wait_close(&sid).await,
                reason,
                "{mode:?} {kind} of {size} bytes"
            );
        }
    }
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// `server_close.mjs`: the server sends "closing" and closes; the client sees both.
pub(crate) async fn server_close(mode: Mode) {
    let server = TestServer::start(EngineConfig::default()).await;
    let events = run_node("server_close", &[&server.url(), mode.arg()])
        .await
        .success();
    let mut expected = mode.open_events();
    expected.push(text_event("closing"));
    expected.push(json!({"event": "close", "reason": "transport close"}));
    assert_eq!(events, expected);
    let sid = only_session(&server, mode);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::ForcedClose
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// `idle.mjs` under a 100 ms ping interval and a 300 ms ping timeout: the client answers the pings
/// for a second, the session stays open and still echoes, and the heartbeat's timer entries stay
/// bounded. (The client gives up 400 ms after a ping without the next one; with a 100 ms timeout a
/// loaded machine delays a polling pong round trip past its 200 ms budget.)
pub(crate) async fn idle(mode: Mode) {
    // A timeout well above the interval: a client's pong delayed by a stalled host (CI machines
    // have them) must not end the session this test wants kept.
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(500));
    let server = TestServer::start(config).await;
    let child = super::spawn_node("idle", &[&server.url(), mode.arg(), "1000"]);
    let engine = server.engine.clone();
    let sampler = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..50 {
            most = most.max(engine.timer_count());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        most
    });
    let mut events = child.wait().await.success();
    let most_timers = sampler.await.expect("sampler");

    let pings = events
        .iter()
        .position(|e| e["event"] == "pings")
        .expect("pings event");
    let pings = events.remove(pings);
    assert!(
        pings["count"].as_u64().expect("count") >= 4,
        "the client saw {pings} pings in 1 s with a 100 ms interval"
    );
    let mut expected = mode.open_events();
    expected.push(text_event("still-here"));
    expected.push(json!({"event": "close", "reason": "forced close"}));
    assert_eq!(events, expected);
    let sid = only_session(&server, mode);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    // One live deadline, plus stale pong deadlines that expire within a ping timeout (5 intervals):
    // fewer than the 10 pings of the run, which a leak would keep.
    assert!(
        most_timers <= 7,
        "{most_timers} timer entries for one session"
    );
    assert_no_panics();
}
