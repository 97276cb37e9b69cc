//! The server-side socket API on rooms, with socket.io-client: `fetch_sockets` (rooms, except,
//! union), `sockets_join`, `sockets_leave`, `disconnect_sockets` without close (the namespace socket
//! only) and with close (the whole connection, its other namespaces included).

mod support;

use std::collections::HashMap;

use oxio_server::{BroadcastOperator, Io, RemoteSocket, Socket};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, io_config, per_mode, run_node};

/// The sockets as `[{id, rooms}]`, sorted by id, rooms sorted.
fn describe(sockets: Vec<RemoteSocket>) -> Value {
    let mut list: Vec<(String, Vec<String>)> = sockets
        .iter()
        .map(|socket| {
            let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
            rooms.sort();
            (socket.id().to_owned(), rooms)
        })
        .collect();
    list.sort();
    list.into_iter()
        .map(|(id, rooms)| json!({"id": id, "rooms": rooms}))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn operator(io: &Io, spec: &Value) -> BroadcastOperator {
    let mut operator = io.of("/").broadcast();
    for room in strings(&spec["rooms"]) {
        operator = operator.to(room);
    }
    for room in strings(&spec["except"]) {
        operator = operator.except(room);
    }
    operator
}

fn on_op(io: &Io, socket: &Socket) {
    let io = io.clone();
    socket.on("op", move |_socket, payload, ack| {
        let op: String = payload.get(0).expect("op");
        let spec: Value = payload.get(1).expect("spec");
        let target = operator(&io, &spec);
        let ack = ack.expect("ack");
        if op.starts_with("fetch") {
            let io = io.clone();
            tokio::spawn(async move {
                let sockets = if op == "fetch" {
                    target.fetch_sockets().await
                } else {
                    io.fetch_sockets().await
                };
                ack.send(&describe(sockets.expect("fetch"))).expect("ack");
            });
            return;
        }
        let answer = match op.as_str() {
            "join" => {
                target.sockets_join(strings(&spec["join"]));
                json!("joined")
            }
            "leave" => {
                target.sockets_leave(spec["leave"].as_str().expect("room"));
                json!("left")
            }
            "emit" => {
                target.emit("msg", &spec["tag"]).expect("emit");
                json!("sent")
            }
            "disconnect" => {
                target.disconnect_sockets(spec["close"].as_bool().expect("close"));
                json!("disconnected")
            }
            other => panic!("unknown op {other}"),
        };
        ack.send(&answer).expect("ack");
    });
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let (server, connections) = (io.clone(), log.clone());
        io.of("/").on_connection(move |socket| {
            connections.record_connection(&socket);
            let rooms: Vec<String> =
                serde_json::from_value(socket.handshake().auth["rooms"].clone()).expect("rooms");
            socket.join(rooms);
            on_op(&server, &socket);
        });
        let (server, connections) = (io.clone(), log.clone());
        io.of("/other").on_connection(move |socket| {
            connections.record_connection(&socket);
            socket.on("ping", |_socket, _payload, ack| {
                ack.expect("ack").send("pong").expect("ack");
            });
            on_op(&server, &socket);
        });
    })
    .await
}

async fn fetch_join_leave_disconnect(mode: Mode) {
    let server = start().await;
    let events = run_node("server_api", &server, mode, &[]).await;
    events.assert_transport(mode);

    // Socket ids → client names ("A" for A's "/" socket, "A/other" for its "/other" one).
    let mut names = HashMap::new();
    for client in events.all("client") {
        let name = client["name"].as_str().unwrap();
        names.insert(client["main"].as_str().unwrap().to_owned(), name.to_owned());
        names.insert(
            client["other"].as_str().unwrap().to_owned(),
            format!("{name}/other"),
        );
    }
    assert_eq!(names.len(), 6, "socket ids: {names:?}");
    let name = |id: &Value| names[id.as_str().expect("an id")].clone();
    // An answer of "fetch" with ids replaced by names (the id room too), sorted by name.
    let fetched = |answer: &Value| -> Vec<(String, Vec<String>)> {
        let mut list: Vec<(String, Vec<String>)> = answer
            .as_array()
            .expect("a list of sockets")
            .iter()
            .map(|socket| {
                let mut rooms: Vec<String> = socket["rooms"]
                    .as_array()
                    .expect("rooms")
                    .iter()
                    .map(|room| {
                        names
                            .get(room.as_str().unwrap())
                            .cloned()
                            .unwrap_or_else(|| room.as_str().unwrap().to_owned())
                    })
                    .collect();
                rooms.sort();
                (name(&socket["id"]), rooms)
            })
            .collect();
        list.sort();
        list
    };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ops = events.all("op");
    assert_eq!(ops.len(), 14, "{ops:#?}");
    let answer = |step: usize| ops[step]["answer"].clone();

    assert_eq!(
        fetched(&answer(0)),
        [
            ("A".into(), s(&["A", "r1"])),
            ("B".into(), s(&["B", "r1", "r2"]))
        ]
    );
    let everyone = vec![
        ("A".to_owned(), s(&["A", "r1"])),
        ("B".to_owned(), s(&["B", "r1", "r2"])),
        ("C".to_owned(), s(&["C", "r2"])),
    ];
    assert_eq!(fetched(&answer(1)), everyone);
    assert_eq!(fetched(&answer(2)), [("A".into(), s(&["A", "r1"]))]);
    assert_eq!(fetched(&answer(3)), everyone);
    assert_eq!(answer(4), "joined");
    assert_eq!(
        fetched(&answer(5)),
        [
            ("A".into(), s(&["A", "r1", "r3", "r4"])),
            ("B".into(), s(&["B", "r1", "r2", "r3", "r4"])),
        ]
    );
    assert_eq!(answer(6), "sent");
    assert_eq!(answer(7), "left");
    let after_leave = vec![
        ("A".to_owned(), s(&["A", "r1", "r3", "r4"])),
        ("B".to_owned(), s(&["B", "r2", "r3", "r4"])),
        ("C".to_owned(), s(&["C", "r2"])),
    ];
    assert_eq!(fetched(&answer(8)), after_leave);
    assert_eq!(fetched(&answer(9)), after_leave);
    assert_eq!(answer(10), "disconnected");
    assert_eq!(
        fetched(&answer(11)),
        [("A".into(), s(&["A", "r1", "r3", "r4"]))]
    );
    assert_eq!(
        events.one("still-connected"),
        json!({"event": "still-connected", "B": ["pong"], "C": ["pong"]})
    );
    assert_eq!(answer(12), "disconnected");
    assert_eq!(fetched(&answer(13)), []);

    let received = |name: &str| {
        let mut event = events.one_with("received", "name", name);
        event.as_object_mut().unwrap().remove("event");
        event
    };
    let server_disconnect = json!(["io server disconnect"]);
    assert_eq!(
        received("A"),
        json!({
            "name": "A",
            "msgs": ["to-r3"],
            "reasons": {"main": server_disconnect, "other": server_disconnect},
            "connected": {"main": false, "other": false},
        })
    );
    assert_eq!(
        received("B"),
        json!({
            "name": "B",
            "msgs": ["to-r3"],
            "reasons": {"main": server_disconnect, "other": []},
            "connected": {"main": false, "other": true},
        })
    );
    assert_eq!(
        received("C"),
        json!({
            "name": "C",
            "msgs": [],
            "reasons": {"main": server_disconnect, "other": []},
            "connected": {"main": false, "other": true},
        })
    );

    // The server's reasons: as Node, `disconnect(true)` disconnects every socket of the connection
    // with "server namespace disconnect" before closing it.
    let by_name: HashMap<String, String> = names
        .iter()
        .map(|(id, n)| (n.clone(), id.clone()))
        .collect();
    for (who, reason) in [
        ("A", "server namespace disconnect"),
        ("A/other", "server namespace disconnect"),
        ("B", "server namespace disconnect"),
        ("C", "server namespace disconnect"),
        ("B/other", "client namespace disconnect"),
        ("C/other", "client namespace disconnect"),
    ] {
        assert_eq!(
            server.log.wait_disconnect(&by_name[who]).await,
            [reason],
            "{who}"
        );
    }
    assert_eq!(server.io.of("/").socket_count(), 0);
    assert_no_panics();
}

per_mode!(fetch_join_leave_disconnect);
