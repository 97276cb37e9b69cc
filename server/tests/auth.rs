//! The CONNECT auth payload and async connect middlewares, with socket.io-client: `auth` and the
//! query reach `handshake()`, a refusal reaches the client's `connect_error` with its message and
//! data (and the socket never connects), an allowing middleware chain lets the socket in.

mod support;

use std::time::Duration;

use oxio_server::{ConnectError, Io, Socket};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, io_config, per_mode, run_node};

fn send_handshake(socket: &Socket) {
    let handshake = socket.handshake();
    let data = json!({
        "nsp": socket.namespace_name(),
        "auth": handshake.auth,
        "room": handshake.query_param("room").map(|room| room.into_owned()),
        "issued": handshake.issued > 0,
    });
    socket.emit("handshake", &data).expect("emit handshake");
}

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let connections = log.clone();
        io.of("/").on_connection(move |socket| {
            connections.record_connection(&socket);
            send_handshake(&socket);
        });

        let guarded = io.of("/guarded");
        let first = log.clone();
        guarded.use_middleware(move |socket| {
            first.push(json!({"kind": "middleware", "n": 1, "auth": socket.handshake().auth}));
            async { Ok(()) }
        });
        let second = log.clone();
        guarded.use_middleware(move |socket| {
            let log = second.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let token = socket.handshake().auth["token"].clone();
                log.push(json!({"kind": "middleware", "n": 2, "connected": socket.connected()}));
                if token == "let-me-in" {
                    Ok(())
                } else {
                    Err(ConnectError::new("not authorized")
                        .with_data(json!({"code": 4001, "token": token})))
                }
            }
        });
        let connections = log.clone();
        guarded.on_connection(move |socket| {
            connections.record_connection(&socket);
            send_handshake(&socket);
        });

        let connections = log.clone();
        io.of("/closed")
            .use_middleware(|_socket| async { Err(ConnectError::new("go away")) })
            .on_connection(move |socket| connections.record_connection(&socket));
    })
    .await
}

async fn auth_and_middlewares(mode: Mode) {
    let server = start().await;
    let events = run_node("auth", &server, mode, &[]).await;
    events.assert_transport(mode);

    let handshake = |case: &str| events.one_with("handshake", "case", case);
    let with_auth = handshake("auth");
    assert_eq!(
        with_auth["data"],
        json!({
            "nsp": "/",
            "auth": {"token": "abc", "nested": {"n": 1, "list": [true, null]}},
            "room": "lobby ✓",
            "issued": true,
        })
    );
    let no_auth = handshake("no-auth");
    assert_eq!(
        no_auth["data"],
        json!({"nsp": "/", "auth": {}, "room": null, "issued": true})
    );
    let allowed = handshake("allowed");
    assert_eq!(
        allowed["data"],
        json!({"nsp": "/guarded", "auth": {"token": "let-me-in"}, "room": null, "issued": true})
    );

    assert_eq!(
        events.one_with("connect_error", "case", "wrong-token"),
        json!({
            "event": "connect_error",
            "case": "wrong-token",
            "message": "not authorized",
            "data": {"code": 4001, "token": "wrong"},
            "connected": false,
        })
    );
    assert_eq!(
        events.one_with("connect_error", "case", "no-data"),
        json!({
            "event": "connect_error",
            "case": "no-data",
            "message": "go away",
            "data": null,
            "connected": false,
        })
    );

    // The server's ids are the client's; refused sockets never connected.
    let id = |event: &Value| event["id"].as_str().unwrap().to_owned();
    assert_eq!(server.log.connections("/"), [id(&with_auth), id(&no_auth)]);
    assert_eq!(server.log.connections("/guarded"), [id(&allowed)]);
    assert_eq!(server.log.connections("/closed"), Vec::<String>::new());
    // Both middlewares ran, in order, for both attempts; the socket was not connected yet.
    assert_eq!(
        server.log.of_kind("middleware"),
        [
            json!({"kind": "middleware", "n": 1, "auth": {"token": "wrong"}}),
            json!({"kind": "middleware", "n": 2, "connected": false}),
            json!({"kind": "middleware", "n": 1, "auth": {"token": "let-me-in"}}),
            json!({"kind": "middleware", "n": 2, "connected": false}),
        ]
    );
    for event in [&with_auth, &no_auth, &allowed] {
        assert_eq!(
            server.log.wait_disconnect(&id(event)).await,
            ["client namespace disconnect"]
        );
    }
    assert_eq!(server.io.of("/guarded").socket_count(), 0);
    assert_eq!(server.io.of("/closed").socket_count(), 0);
    assert_no_panics();
}

per_mode!(auth_and_middlewares);
