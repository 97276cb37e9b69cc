//! Namespaces with socket.io-client: the main one, a static custom one, two children of a dynamic
//! namespace (`/^\/dynamic-\d+$/`) on one connection, invalid names ("Invalid namespace"),
//! per-namespace socket ids (not the engine sid), and a broadcast from the dynamic parent to its
//! children.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use oxio_server::{Io, Socket};
use serde_json::{Value, json};
use support::{Events, Log, Mode, TestIo, assert_no_panics, io_config, per_mode, run_node};

/// Node's `/^\/dynamic-\d+$/`.
fn is_dynamic(name: &str) -> bool {
    name.strip_prefix("/dynamic-")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn welcome(log: &Arc<Log>) -> impl Fn(Socket) + Send + Sync + 'static {
    let log = log.clone();
    move |socket: Socket| {
        log.record_connection(&socket);
        socket.on("ping", |_socket, _payload, ack| {
            ack.expect("ping asks for an ack")
                .send("pong")
                .expect("ack");
        });
        socket
            .emit(
                "welcome",
                &json!({"nsp": socket.namespace_name(), "id": socket.id()}),
            )
            .expect("emit welcome");
    }
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        io.of("/").on_connection(welcome(log));
        io.of("custom").on_connection(welcome(log));
        let dynamic = io.of_dynamic("dynamic", is_dynamic);
        let parent = dynamic.clone();
        let greet = welcome(log);
        dynamic.on_connection(move |socket| {
            let parent = parent.clone();
            socket.on("parent-emit", move |socket, _payload, ack| {
                parent
                    .emit("from-parent", socket.namespace_name())
                    .expect("emit from the parent");
                ack.expect("ack").send(&parent.socket_count()).expect("ack");
            });
            greet(socket);
        });
    })
    .await
}

/// The sockets the script connected (`socket` events): one connection, an id of their own each.
fn check_sockets(server: &TestIo, events: &Events) -> Vec<Value> {
    let sockets = events.all("socket");
    let names: Vec<&str> = sockets.iter().map(|s| s["nsp"].as_str().unwrap()).collect();
    assert_eq!(names, ["/", "/custom", "/dynamic-1", "/dynamic-2"]);
    let engine = sockets[0]["engine"].as_str().expect("engine id").to_owned();
    let mut ids = HashSet::new();
    for socket in &sockets {
        let (nsp, id) = (&socket["nsp"], socket["id"].as_str().expect("socket.id"));
        // The same connection for every namespace, each socket with its own id.
        assert_eq!(socket["engine"], engine.as_str(), "{socket}");
        assert_ne!(id, engine, "the socket id of {nsp} is the engine sid");
        assert!(ids.insert(id.to_owned()), "socket id {id} used twice");
        assert_eq!(id.len(), 20, "socket id {id:?}");
        assert_eq!(socket["welcome"], json!({"nsp": nsp, "id": id}));
        let nsp = nsp.as_str().unwrap();
        assert_eq!(server.log.connections(nsp), vec![id.to_owned()], "{nsp}");
    }
    sockets
}

/// The client disconnected every socket.
async fn check_disconnects(server: &TestIo, sockets: &[Value]) {
    for socket in sockets {
        let id = socket["id"].as_str().unwrap();
        assert_eq!(
            server.log.wait_disconnect(id).await,
            ["client namespace disconnect"],
            "{socket}"
        );
    }
}

async fn namespaces(mode: Mode) {
    let server = start().await;
    let events = run_node("namespaces", &server, mode, &[]).await;
    events.assert_transport(mode);
    let sockets = check_sockets(&server, &events);

    for nsp in ["/nope", "/dynamic-x"] {
        assert_eq!(
            events.one_with("connect_error", "nsp", nsp),
            json!({"event": "connect_error", "nsp": nsp, "message": "Invalid namespace", "data": null})
        );
        assert_eq!(server.log.connections(nsp), Vec::<String>::new());
    }
    let pings: Vec<Value> = events.all("ping");
    assert_eq!(pings.len(), 4, "{pings:?}");
    for ping in pings {
        assert_eq!(ping["answer"], json!(["pong"]), "{ping}");
    }

    // The dynamic parent emits to its children: each gets the event once on its own namespace;
    // the other namespaces of the connection get nothing.
    assert_eq!(
        events.one("parent-emit"),
        json!({
            "event": "parent-emit",
            "count": 2,
            "received": {
                "/": [],
                "/custom": [],
                "/dynamic-1": [["/dynamic-1"]],
                "/dynamic-2": [["/dynamic-1"]],
            },
        })
    );
    check_disconnects(&server, &sockets).await;
    assert_no_panics();
}

per_mode!(namespaces);
