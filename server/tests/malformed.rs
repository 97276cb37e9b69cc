//! Malformed Socket.IO packets from a raw websocket client: the offending connection is closed and
//! its sockets disconnect with "parse error", no handler sees the bad packet, nothing panics, and
//! another client connected before keeps working (echo round trip after).

mod support;

use std::time::Duration;

use oxio_server::Io;
use serde_json::json;
use support::{RawClient, TestIo, WsEnd, assert_no_panics, io_config};

/// A frame the raw client sends.
enum Frame {
    Text(&'static str),
    Binary(&'static [u8]),
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        for nsp in ["/", "/other"] {
            let log = log.clone();
            io.of(nsp).on_connection(move |socket| {
                log.record_connection(&socket);
                socket.on("echo", |socket, payload, _ack| {
                    socket.emit_args("echo", payload.to_args()).expect("echo");
                });
                let events = log.clone();
                socket.on_any(move |socket, event, payload| {
                    events.push(json!({
                        "kind": "event",
                        "nsp": socket.namespace_name(),
                        "event": event,
                        "args": payload.to_values(),
                    }));
                });
            });
        }
    })
    .await
}

/// Connects a witness and an offender (on "/" and "/other"), sends `frames` from the offender, and
/// checks the outcome.
async fn malformed(frames: &[Frame]) {
    let server = start().await;
    let (mut witness, witness_id) = RawClient::connected(server.addr).await;
    witness.echo("before").await;

    let (mut offender, main) = RawClient::connected(server.addr).await;
    let other = offender.connect("/other").await;
    offender.echo("fine so far").await;
    for frame in frames {
        match frame {
            Frame::Text(text) => offender.send(text).await,
            Frame::Binary(bytes) => offender.send_binary(bytes).await,
        }
    }
    for id in [&main, &other] {
        assert_eq!(
            server.log.wait_disconnect(id).await,
            ["parse error"],
            "{id}"
        );
    }
    // The connection ends; the server sends no Socket.IO packet before.
    let (frames, end) = offender.read_to_end().await;
    assert!(
        frames
            .iter()
            .all(|f| !f.is_text() || !f.to_text().unwrap().starts_with('4')),
        "packets after the malformed one: {frames:?}"
    );
    assert!(matches!(end, WsEnd::CloseFrame | WsEnd::Dropped));

    // No handler saw anything after the echo that was fine.
    let events = server.log.of_kind("event");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["args"] != json!(["fine so far"]) && e["args"] != json!(["before"]))
            .count(),
        0,
        "{events:#?}"
    );

    witness.echo("after").await;
    assert_eq!(
        server.log.disconnect_reasons(&witness_id),
        Vec::<String>::new()
    );
    assert_eq!(server.io.of("/").socket_count(), 1);
    assert_eq!(server.io.of("/other").socket_count(), 0);
    assert_no_panics();
}

macro_rules! cases {
    ($($name:ident: [$($frame:expr),* $(,)?]),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            malformed(&[$($frame),*]).await;
        }
    )*};
}

use Frame::{Binary, Text};

cases! {
    bad_json: [Text("42{")],
    bad_json_on_other_namespace: [Text(r#"42/other,["echo""#)],
    event_object_instead_of_array: [Text("42{}")],
    event_without_data: [Text("42")],
    event_empty_array: [Text("42[]")],
    event_name_not_a_string: [Text(r#"42[{"a":1},"x"]"#)],
    event_reserved_name: [Text(r#"42["disconnect"]"#)],
    ack_id_overflow: [Text(r#"42199999999999999999999["a"]"#)],
    unknown_packet_type: [Text("49")],
    unknown_packet_type_with_data: [Text(r#"47["echo","x"]"#)],
    text_instead_of_attachment: [
        Text(r#"451-["a",{"_placeholder":true,"num":0}]"#),
        Text(r#"42["echo","b"]"#),
    ],
    missing_attachments: [
        Text(r#"453-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#),
        Binary(&[1]),
        Text(r#"42["echo","b"]"#),
    ],
    attachment_without_packet: [Binary(&[1, 2, 3])],
    placeholder_out_of_range: [
        Text(r#"451-["a",{"_placeholder":true,"num":3}]"#),
        Binary(&[1]),
    ],
    attachment_count_without_dash: [Text(r#"451["a",{"_placeholder":true,"num":0}]"#)],
    too_many_attachments: [Text(r#"4511-["a"]"#)],
    connect_with_non_object_auth: [Text(r#"40/admin,[1]"#)],
}

/// A connection that never sends a Socket.IO CONNECT is closed after `connect_timeout`; one that
/// connects stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout() {
    let timeout = Duration::from_millis(300);
    let server = TestIo::start(io_config().connect_timeout(timeout), |io: &Io, log| {
        let log = log.clone();
        io.of("/").on_connection(move |socket| {
            log.record_connection(&socket);
            socket.on("echo", |socket, payload, _ack| {
                socket.emit_args("echo", payload.to_args()).expect("echo");
            });
        });
    })
    .await;
    let started = tokio::time::Instant::now();
    let mut silent = RawClient::open(server.addr).await;
    let (mut connected, id) = RawClient::connected(server.addr).await;
    let (frames, _end) = silent.read_to_end().await;
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(1),
        "closed after {waited:?}"
    );
    assert!(
        frames
            .iter()
            .all(|f| !f.is_text() || !f.to_text().unwrap().starts_with('4')),
        "{frames:?}"
    );
    tokio::time::sleep(timeout).await;
    connected.echo("still here").await;
    assert_eq!(server.log.disconnect_reasons(&id), Vec::<String>::new());
    assert_eq!(server.io.engine().session_count(), 1);
    assert_no_panics();
}

/// The connect deadlines of waves of connections: a silent connection is closed on time whether it
/// comes into an empty queue (after an earlier wave ran out: another driver starts), and while many
/// connections that came after it connect and leave (their deadlines are dropped from the queue
/// unexpired, and its own must stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_in_waves() {
    let timeout = Duration::from_millis(400);
    let server = TestIo::start(io_config().connect_timeout(timeout), |_io: &Io, _log| {}).await;
    for _wave in 0..2 {
        let started = tokio::time::Instant::now();
        let mut silent = RawClient::open(server.addr).await;
        for _ in 0..150 {
            let (client, _id) = RawClient::connected(server.addr).await;
            drop(client);
        }
        silent.read_to_end().await;
        let waited = started.elapsed();
        assert!(
            // Late only by what a stalled host adds; a lost deadline would wait for the ping timeout.
            waited >= timeout && waited < timeout + Duration::from_secs(3),
            "closed after {waited:?}"
        );
        // The queue runs empty: the next wave starts another driver.
        tokio::time::sleep(timeout * 2).await;
    }
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// A connection whose only CONNECT is refused (invalid namespace) has joined nothing: it is closed
/// after `connect_timeout` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_after_a_refused_connect() {
    let timeout = Duration::from_millis(300);
    let server = TestIo::start(io_config().connect_timeout(timeout), |_io: &Io, _log| {}).await;
    let mut client = RawClient::open(server.addr).await;
    client.send("40/nope,").await;
    assert_eq!(
        client.next_text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    let started = tokio::time::Instant::now();
    let (frames, _end) = client.read_to_end().await;
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    assert!(frames.iter().all(|f| !f.is_text()), "{frames:?}");
    server.wait_no_sessions(Duration::from_secs(1)).await;
    assert_no_panics();
}
