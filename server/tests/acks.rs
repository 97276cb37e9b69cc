//! Acks both ways with socket.io-client: `AckSender` answers, `Socket::emit_with_ack` answered by
//! the client, its timeout (`AckError::Timeout`) and its settlement by a disconnect
//! (`AckError::Disconnected`), and the client's own timeout against a server that never acks.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use oxio_server::{AckError, Args, Io, Payload};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, bin, io_config, per_mode, run_node};

/// An ack's arguments as JSON, binary ones as `{"$bin": hex}` (as the scripts print them).
fn describe(payload: &Payload) -> Value {
    (0..payload.len())
        .map(|i| match payload.binary(i) {
            Some(bytes) => bin(bytes),
            None => payload.get::<Value>(i).expect("JSON"),
        })
        .collect()
}

fn outcome(result: &Result<Payload, AckError>) -> Value {
    match result {
        Ok(payload) => json!({"ok": describe(payload)}),
        Err(error) => json!({"err": format!("{error:?}"), "message": error.to_string()}),
    }
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let log = log.clone();
        io.of("/").on_connection(move |socket| {
            log.record_connection(&socket);
            socket.on("sum", |_socket, payload, ack| {
                let sum: i64 = (0..payload.len())
                    .map(|i| payload.get::<i64>(i).expect("a number"))
                    .sum();
                let ack = ack.expect("sum asks for an ack");
                ack.send_args(Args::new().arg(&sum).arg("sum"))
                    .expect("ack");
            });
            socket.on("reverse", |_socket, payload, ack| {
                let mut bytes = payload.binary(0).expect("binary").to_vec();
                bytes.reverse();
                let args = Args::new()
                    .binary(Bytes::from(bytes))
                    .arg(&payload.get::<String>(1).expect("a string"))
                    .arg(&payload.attachments().len());
                ack.expect("ack").send_args(args).expect("ack");
            });
            socket.on("empty", |_socket, _payload, ack| {
                ack.expect("ack").send_args(Args::new()).expect("ack");
            });
            let asked = log.clone();
            socket.on("ask", move |socket, _payload, ack| {
                let (socket, ack, log) = (socket.clone(), ack.expect("ack"), asked.clone());
                tokio::spawn(async move {
                    let json = socket
                        .emit_with_ack(
                            "question",
                            Args::new().arg(&40).arg(&2),
                            Duration::from_secs(3),
                        )
                        .await;
                    let binary = socket
                        .emit_with_ack(
                            "question-bin",
                            Args::new().binary(Bytes::from_static(&[1, 2, 3])),
                            Duration::from_secs(3),
                        )
                        .await;
                    let started = Instant::now();
                    let ignored = socket
                        .emit_with_ack(
                            "ignored",
                            Args::one("no answer"),
                            Duration::from_millis(200),
                        )
                        .await;
                    let waited = started.elapsed();
                    log.push(json!({
                        "kind": "asked",
                        "json": outcome(&json),
                        "binary": outcome(&binary),
                        "ignored": outcome(&ignored),
                        "waited_ms": waited.as_millis() >= 200 && waited < Duration::from_secs(2),
                    }));
                    let summary = json!({
                        "json": outcome(&json),
                        "binary": outcome(&binary),
                        "ignored": outcome(&ignored),
                    });
                    ack.send(&summary).expect("ack");
                });
            });
            let never = log.clone();
            socket.on("never-acked", move |_socket, payload, ack| {
                never.push(json!({
                    "kind": "never-acked",
                    "args": payload.to_values(),
                    "ack_requested": ack.is_some(),
                }));
                drop(ack);
            });
            let waiting = log.clone();
            socket.on("ask-then-wait", move |socket, _payload, _ack| {
                let (socket, log) = (socket.clone(), waiting.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = socket
                        .emit_with_ack("ignored", Args::one("waiting"), Duration::from_secs(4))
                        .await;
                    log.push(json!({
                        "kind": "disconnected-while-waiting",
                        "result": outcome(&result),
                        "early": started.elapsed() < Duration::from_secs(3),
                    }));
                });
            });
        });
    })
    .await
}

async fn acks_both_ways(mode: Mode) {
    let server = start().await;
    let events = run_node("acks", &server, mode, &[]).await;
    events.assert_transport(mode);
    let ack = |case: &str| events.one_with("ack", "case", case)["args"].clone();

    assert_eq!(ack("sum"), json!([6, "sum"]));
    assert_eq!(ack("binary"), json!([bin(&[3, 2, 1]), "x", 1]));
    assert_eq!(ack("empty"), json!([]));

    let timeout = json!({"err": "Timeout", "message": "operation has timed out"});
    let asked = json!({
        "json": {"ok": [{"answer": 42}, "extra"]},
        "binary": {"ok": [bin(&[3, 2, 1]), 3]},
        "ignored": timeout,
    });
    assert_eq!(ack("ask"), json!([asked]));
    let mut logged = asked.clone();
    logged["kind"] = json!("asked");
    logged["waited_ms"] = json!(true);
    assert_eq!(server.log.of_kind("asked"), [logged]);
    assert_eq!(
        events.one("ignored")["args"],
        json!(["no answer", {"$ack": true}])
    );

    assert_eq!(
        events.one("client-timeout"),
        json!({
            "event": "client-timeout",
            "message": "operation has timed out",
            "answer": [],
            "waited": true,
        })
    );
    assert_eq!(
        server.log.of_kind("never-acked"),
        [json!({"kind": "never-acked", "args": [1], "ack_requested": true})]
    );

    // The pending ack settles as soon as the client disconnects, not at its timeout.
    let settled = server.log.wait_kind("disconnected-while-waiting", 1).await;
    assert_eq!(
        settled,
        [json!({
            "kind": "disconnected-while-waiting",
            "result": {"err": "Disconnected", "message": "socket has been disconnected"},
            "early": true,
        })]
    );
    let id = &server.log.connections("/")[0];
    assert_eq!(
        server.log.wait_disconnect(id).await,
        ["client namespace disconnect"]
    );
    assert_no_panics();
}

per_mode!(acks_both_ways);
