//! Rooms and broadcast operators with socket.io-client: `to`/`within` one or several rooms (a
//! socket in two of them gets the packet once), `except`, `Socket::broadcast`, `Socket::to` (not the
//! sender), `Io::emit`, a socket's id room, volatile, local and compress, and broadcasts with acks
//! (every answer collected; a client that does not answer reported missing on timeout).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxio_server::{Args, BroadcastAckError, BroadcastOperator, Io, Payload, Socket};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, io_config, per_mode, run_node};

fn answers(payloads: &[Payload]) -> Vec<String> {
    let mut names: Vec<String> = payloads
        .iter()
        .map(|p| p.get::<String>(0).expect("a name"))
        .collect();
    names.sort();
    names
}

async fn survey(operator: BroadcastOperator, tag: &str) -> Value {
    match operator.emit_with_ack("survey", Args::one(tag)).await {
        Ok(responses) => json!({"ok": answers(&responses)}),
        Err(BroadcastAckError::Timeout(timeout)) => json!({
            "timeout": {"responses": answers(&timeout.responses), "missing": timeout.missing},
            "message": timeout.to_string(),
        }),
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// Waits until a packet emitted now reaches every socket at once (a loaded machine may take a while
/// to send a polling client's next GET).
async fn every_client_writable(sockets: &Mutex<Vec<Socket>>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let all_writable = || {
        let sockets = sockets.lock().unwrap();
        sockets
            .iter()
            .filter(|s| s.connected())
            .all(Socket::is_writable)
    };
    while !all_writable() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "clients not writable"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let (io, log) = (io.clone(), log.clone());
        let sockets = Arc::new(Mutex::new(Vec::new()));
        io.clone().of("/").on_connection(move |socket| {
            log.record_connection(&socket);
            sockets.lock().unwrap().push(socket.clone());
            let sockets = sockets.clone();
            let rooms: Vec<String> =
                serde_json::from_value(socket.handshake().auth["rooms"].clone()).expect("rooms");
            socket.join(rooms);
            let io = io.clone();
            socket.on("op", move |socket, payload, ack| {
                let op: String = payload.get(0).expect("op name");
                let ack = ack.expect("op asks for an ack");
                let nsp = io.of("/");
                let sent = match op.as_str() {
                    "to-r1" => io.to("r1").emit("msg", &op),
                    "in-r2" => nsp.broadcast().within("r2").emit("msg", &op),
                    "to-r1-r2" => io.to("r1").to("r2").emit("msg", &op),
                    "to-r1-r2-r1" => nsp.to("r1").within("r2").to("r1").emit("msg", &op),
                    "except-r1" => nsp.except("r1").emit("msg", &op),
                    "to-r2-except-r1" => io.to("r2").except("r1").emit("msg", &op),
                    "socket-broadcast" => socket.broadcast().emit("msg", &op),
                    "socket-to-r1" => socket.to("r1").emit("msg", &op),
                    "socket-to-r1-r2" => socket.to("r1").to("r2").emit("msg", &op),
                    "socket-except-r2" => socket.except("r2").emit("msg", &op),
                    "io-emit" => io.emit("msg", &op),
                    "to-id" => {
                        let id: String = payload.get(1).expect("a socket id");
                        io.to(id).emit("msg", &op)
                    }
                    "local-compress" => io.broadcast().local().compress(false).emit("msg", &op),
                    "end" => io.emit("end", &op),
                    "volatile" => {
                        // Once every client is idle again (a polling GET waiting): delivered.
                        let (io, sockets) = (io.clone(), sockets.clone());
                        tokio::spawn(async move {
                            every_client_writable(&sockets).await;
                            io.broadcast()
                                .volatile()
                                .emit("msg", &op)
                                .expect("volatile emit");
                            ack.send("sent").expect("ack");
                        });
                        return;
                    }
                    "survey-r1" | "survey-all" => {
                        let operator = if op == "survey-r1" {
                            io.to("r1").timeout(Duration::from_secs(3))
                        } else {
                            io.broadcast().timeout(Duration::from_millis(300))
                        };
                        tokio::spawn(async move {
                            ack.send(&survey(operator, &op).await).expect("ack");
                        });
                        return;
                    }
                    other => panic!("unknown op {other}"),
                };
                sent.expect("broadcast");
                ack.send("sent").expect("ack");
            });
        });
    })
    .await
}

async fn rooms_and_broadcasts(mode: Mode) {
    let server = start().await;
    let events = run_node("broadcast", &server, mode, &[]).await;
    events.assert_transport(mode);

    for op in events.all("op") {
        let answer = match op["op"].as_str().unwrap() {
            "survey-r1" => json!([{"ok": ["A", "B"]}]),
            "survey-all" => json!([{
                "timeout": {"responses": ["A", "B", "C"], "missing": 1},
                "message": "operation has timed out (1 missing)",
            }]),
            _ => json!(["sent"]),
        };
        assert_eq!(op["answer"], answer, "{op}");
    }
    assert_eq!(events.all("op").len(), 17);

    let received = |name: &str| {
        let event = events.one_with("received", "name", name);
        (event["msgs"].clone(), event["surveys"].clone())
    };
    assert_eq!(
        received("A"),
        (
            json!([
                "to-r1",
                "to-r1-r2",
                "to-r1-r2-r1",
                "socket-to-r1",
                "socket-to-r1-r2",
                "io-emit",
                "volatile",
                "local-compress",
            ]),
            json!(["survey-r1", "survey-all"])
        )
    );
    assert_eq!(
        received("B"),
        (
            json!([
                "to-r1",
                "in-r2",
                "to-r1-r2",
                "to-r1-r2-r1",
                "socket-broadcast",
                "io-emit",
                "volatile",
                "local-compress",
            ]),
            json!(["survey-r1", "survey-all"])
        )
    );
    assert_eq!(
        received("C"),
        (
            json!([
                "in-r2",
                "to-r1-r2",
                "to-r1-r2-r1",
                "except-r1",
                "to-r2-except-r1",
                "socket-broadcast",
                "socket-to-r1-r2",
                "io-emit",
                "volatile",
                "to-id",
                "local-compress",
            ]),
            json!(["survey-all"])
        )
    );
    assert_eq!(
        received("D"),
        (
            json!([
                "except-r1",
                "socket-broadcast",
                "socket-except-r2",
                "io-emit",
                "volatile",
                "local-compress",
            ]),
            json!(["survey-all"])
        )
    );
    for id in server.log.connections("/") {
        assert_eq!(
            server.log.wait_disconnect(&id).await,
            ["client namespace disconnect"]
        );
    }
    assert_no_panics();
}

per_mode!(rooms_and_broadcasts);
