//! Disconnect reasons as `on_disconnect` reports them (and as socket.io-client sees them), for every
//! reason a test can provoke: client namespace disconnect, server namespace disconnect,
//! `disconnect(true)` of another namespace's socket, transport close (the client closes its
//! connection), transport close/error (the client process dies), server shutting down, ping timeout
//! (a raw client that never answers pings). "parse error" is covered by `malformed.rs`.

mod support;

use std::time::{Duration, Instant};

use oxio_server::{Io, IoConfig};
use serde_json::{Value, json};
use support::{
    Events, Mode, RawClient, TestIo, assert_no_panics, engine_config, io_config, per_mode,
    run_node, spawn_node,
};

async fn start(config: IoConfig) -> TestIo {
    TestIo::start(config, |io: &Io, log| {
        for nsp in ["/", "/other"] {
            let (log, io) = (log.clone(), io.clone());
            io.clone().of(nsp).on_connection(move |socket| {
                log.record_connection(&socket);
                socket.on("ping", |_socket, _payload, ack| {
                    ack.expect("ack").send("pong").expect("ack");
                });
                socket.on("kick", |socket, _payload, _ack| socket.disconnect(false));
                socket.on("kick-close", |socket, _payload, _ack| {
                    socket.disconnect(true)
                });
                let io = io.clone();
                socket.on("shutdown", move |_socket, _payload, _ack| {
                    let io = io.clone();
                    tokio::spawn(async move { io.shutdown().await });
                });
            });
        }
    })
    .await
}

/// What happened to the two sockets of each case, from both sides.
async fn outcome(server: &TestIo, events: &Events, case: &str) -> Value {
    let ids = events.one_with("ids", "case", case);
    let mut server_reasons = json!({});
    for key in ["main", "other"] {
        let id = ids[key].as_str().expect("id");
        server_reasons[key] = json!(server.log.wait_disconnect(id).await);
    }
    let client = events.one_with("reasons", "case", case);
    let other = events
        .all("other")
        .into_iter()
        .find(|e| e["case"] == case)
        .map_or(Value::Null, |e| e["answer"].clone());
    json!({
        "server": server_reasons,
        "client": {"main": client["main"], "other": client["other"]},
        "other_still_answers": other,
    })
}

/// The expected outcome of a case.
fn reasons(
    server_main: &str,
    server_other: &str,
    client_main: &[&str],
    client_other: &[&str],
    other: Value,
) -> Value {
    json!({
        "server": {"main": [server_main], "other": [server_other]},
        "client": {"main": client_main, "other": client_other},
        "other_still_answers": other,
    })
}

/// The cases of `disconnect.mjs` but `idle` and `forced`: the reasons both sides report.
async fn disconnect_reasons(mode: Mode) {
    let mut server = start(io_config()).await;
    let serve = server.take_serve();
    let cases = ["client", "server", "transport", "shutdown"];
    let events = run_node("disconnect", &server, mode, &cases).await;
    events.assert_transport(mode);
    let mut actual = json!({});
    for case in cases {
        actual[case] = outcome(&server, &events, case).await;
    }
    // Over polling the client sees the shutdown as "transport close" when a GET was parked (it
    // gets the close packet), and as "transport error" when its next GET finds the connection
    // gone (as with Node, whose `io.close()` closes idle HTTP connections too).
    let shutdown = &mut actual["shutdown"]["client"];
    if mode == Mode::Polling
        && *shutdown == json!({"main": ["transport error"], "other": ["transport error"]})
    {
        *shutdown = json!({"main": ["transport close"], "other": ["transport close"]});
    }
    let expected = json!({
        // The client disconnects "/"; "/other" stays until the script disconnects it at its end.
        "client": reasons(
            "client namespace disconnect",
            "client namespace disconnect",
            &["io client disconnect"],
            &[],
            json!(["pong"]),
        ),
        // `socket.disconnect(false)` on "/".
        "server": reasons(
            "server namespace disconnect",
            "client namespace disconnect",
            &["io server disconnect"],
            &[],
            json!(["pong"]),
        ),
        // The client closes its Engine.IO connection.
        "transport": reasons(
            "transport close",
            "transport close",
            &["forced close"],
            &["forced close"],
            Value::Null,
        ),
        // `Io::shutdown`.
        "shutdown": reasons(
            "server shutting down",
            "server shutting down",
            &["transport close"],
            &["transport close"],
            Value::Null,
        ),
    });
    assert_eq!(actual, expected, "{mode:?}");
    tokio::time::timeout(Duration::from_secs(3), serve)
        .await
        .expect("serve returns after the shutdown")
        .expect("serve task")
        .expect("serve result");
    assert_eq!(server.io.engine().session_count(), 0);
    assert_no_panics();
}

/// `disconnect(true)` from a handler of the "/other" socket: as Node, every socket of the
/// connection gets "server namespace disconnect" (each client socket "io server disconnect"),
/// then the connection closes.
async fn forced_close(mode: Mode) {
    let server = start(io_config()).await;
    let events = run_node("disconnect", &server, mode, &["forced"]).await;
    events.assert_transport(mode);
    assert_eq!(
        outcome(&server, &events, "forced").await,
        reasons(
            "server namespace disconnect",
            "server namespace disconnect",
            &["io server disconnect"],
            &["io server disconnect"],
            Value::Null,
        )
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// The client process dies (SIGKILL). As Node: a websocket that ends without a close frame is a
/// "transport close"; a polling client's parked GET that goes away is a "transport error"
/// ("poll connection closed prematurely").
async fn client_process_killed(mode: Mode) {
    let server = start(io_config()).await;
    let mut node = spawn_node("disconnect", &server.url(), &[mode.arg(), "idle"]);
    server.log.wait_kind("connection", 2).await;
    // Let the upgrade finish (the script reports its transport once settled).
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.kill().await;
    let expected = match mode {
        Mode::Polling => "transport error",
        Mode::Websocket | Mode::Upgrade => "transport close",
    };
    for id in server
        .log
        .connections("/")
        .iter()
        .chain(&server.log.connections("/other"))
    {
        assert_eq!(server.log.wait_disconnect(id).await, [expected], "{mode:?}");
    }
    let run = node.wait().await;
    let transports: Vec<&str> = run
        .events
        .iter()
        .filter(|e| e["event"] == "transport")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(transports, [mode.transport()]);
    assert_no_panics();
}

per_mode!(disconnect_reasons, forced_close, client_process_killed);

/// A raw client that never answers pings: every socket of its connection gets "ping timeout".
///
/// The timeout is generous next to the interval: the client that answers must not be timed out
/// because the machine stalled this process for a moment (CI hosts do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_timeout() {
    let engine = engine_config()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(500));
    let server = start(io_config().engine(engine)).await;
    let started = Instant::now();
    let mut client = RawClient::open(server.addr).await;
    client.answer_pings = false;
    let main = client.connect("/").await;
    let other = client.connect("/other").await;
    for id in [&main, &other] {
        assert_eq!(
            server
                .log
                .wait_disconnect_within(id, Duration::from_secs(3))
                .await,
            ["ping timeout"]
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(600));
    // A client that answers pings stays (several ping periods later it still echoes).
    let mut alive = RawClient::open(server.addr).await;
    let id = alive.connect("/").await;
    let deadline = Instant::now() + Duration::from_millis(700);
    while Instant::now() < deadline {
        alive.send(r#"420["ping"]"#).await;
        assert_eq!(alive.next_text().await, r#"430["pong"]"#);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.log.disconnect_reasons(&id), Vec::<String>::new());
    assert_no_panics();
}
