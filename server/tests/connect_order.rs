//! The connection handler runs before the client can see its CONNECT, as in Node: an event the
//! client sends as soon as it is connected reaches the listener the handler registers, even when
//! the handler runs in a middleware's task beside the connection's writer and wakes other
//! connections (a broadcast) before it registers its listeners.

mod support;

use std::time::Duration;

use oxio_server::{Io, Socket};
use serde_json::json;
use support::{Mode, RawClient, TestIo, assert_no_panics, io_config, per_mode, run_node};

/// How long a connection handler works after its broadcast, before it registers `hello`: long
/// enough for a client to answer a CONNECT that went out early.
const HANDLER_WORK: Duration = Duration::from_millis(150);

/// `/` without middleware, `/gated` behind an async one; both connection handlers broadcast to
/// `/bystander`, work a while (blocking their thread, as a busy handler does), then answer `hello`.
async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, _log| {
        let bystanders = io.of("/bystander");
        bystanders.on_connection(|_socket| {});
        io.of("/gated").use_middleware(|_socket| async { Ok(()) });
        for name in ["/", "/gated"] {
            let bystanders = bystanders.clone();
            io.of(name).on_connection(move |socket: Socket| {
                bystanders.emit("joined", &socket.id()).expect("broadcast");
                std::thread::sleep(HANDLER_WORK);
                socket.on("hello", |_socket, payload, ack| {
                    let nsp: String = payload.get(0).expect("namespace");
                    if let Some(ack) = ack {
                        ack.send(&format!("hi {nsp}")).expect("ack");
                    }
                });
            });
        }
    })
    .await
}

/// The raw client sends its event the moment CONNECT arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_at_once_after_connect_reaches_its_handler() {
    let server = start().await;
    let mut bystander = RawClient::open(server.addr).await;
    bystander.connect("/bystander").await;
    for (nsp, prefix) in [("/", ""), ("/gated", "/gated,")] {
        let mut client = RawClient::open(server.addr).await;
        client.connect(nsp).await;
        client
            .send(&format!("42{prefix}1{}", json!(["hello", nsp])))
            .await;
        let answer = tokio::time::timeout(Duration::from_secs(3), client.next_text())
            .await
            .unwrap_or_else(|_| panic!("{nsp}: the event was lost"));
        assert_eq!(
            answer,
            format!("43{prefix}1{}", json!([format!("hi {nsp}")]))
        );
    }
    assert_no_panics();
}

async fn socket_io_client_emits_from_its_connect_listener(mode: Mode) {
    let server = start().await;
    let events = run_node("connect_order", &server, mode, &[]).await;
    for nsp in ["/", "/gated"] {
        let answer = events.one_with("answer", "nsp", nsp);
        assert_eq!(answer["answer"], json!(format!("hi {nsp}")), "{mode:?}");
    }
    assert_no_panics();
}

per_mode!(socket_io_client_emits_from_its_connect_listener);
