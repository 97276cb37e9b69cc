//! Graceful shutdown: `serve` returns, every client is closed (websocket: queued frames, then a close
//! frame; polling: the parked GET returns the close packet), and the handler sees
//! "server shutting down" for every session.

mod support;

use std::time::{Duration, Instant};

use oxio_engine::{CloseReason, EngineConfig, Frame};
use serde_json::json;
use support::{
    TestServer, WsEnd, assert_no_panics, poll, polling_handshake, spawn_node, ws_open,
    ws_read_to_end,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_client() {
    let config = EngineConfig::default().shutdown_timeout(Duration::from_secs(2));
    let mut server = TestServer::start(config).await;
    let serve = server.take_serve();

    // Two Node clients, a raw websocket, a raw polling session with a parked GET.
    let node_websocket = spawn_node("wait_close", &[&server.url(), "websocket"]);
    let node_polling = spawn_node("wait_close", &[&server.url(), "polling"]);
    let (mut ws, ws_sid, _) = ws_open(server.addr).await;
    let (polling_sid, _) = polling_handshake(server.addr).await;
    let addr = server.addr;
    let parked_sid = polling_sid.clone();
    let parked = tokio::spawn(async move { poll(addr, &parked_sid).await });
    server.recorder.wait_opens(4).await;
    // Let the Node polling client park its GET too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!parked.is_finished(), "the GET was not parked");

    // Frames queued for the websocket just before the shutdown still go out before the close.
    let socket = server.recorder.socket(&ws_sid);
    for i in 1..=3 {
        socket
            .send(Frame::text(&format!("queued-{i}")))
            .expect("send");
    }
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.engine.shutdown())
        .await
        .expect("shutdown did not finish");
    let served = tokio::time::timeout(Duration::from_secs(5), serve)
        .await
        .expect("serve did not return")
        .expect("serve task");
    assert!(served.is_ok(), "serve failed: {served:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?} with well-behaved clients",
        started.elapsed()
    );

    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(
        frames,
        vec![
            WsMessage::text("4queued-1"),
            WsMessage::text("4queued-2"),
            WsMessage::text("4queued-3"),
        ]
    );
    assert_eq!(end, WsEnd::CloseFrame);

    let parked = parked.await.expect("parked GET");
    assert_eq!((parked.status, parked.text()), (200, "1"));

    for (node, mode) in [(node_websocket, "websocket"), (node_polling, "polling")] {
        let events = node.wait().await.success();
        assert_eq!(
            events,
            vec![
                json!({"event": "open", "transport": mode}),
                json!({"event": "transport", "name": mode}),
                json!({"event": "close", "reason": "transport close"}),
            ],
            "{mode}"
        );
    }

    let closes = server.recorder.closes();
    assert_eq!(closes.len(), 4, "{closes:?}");
    assert!(
        closes
            .iter()
            .all(|(_, r)| *r == CloseReason::ServerShutdown),
        "{closes:?}"
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "the listener still accepts after shutdown"
    );
    // A second shutdown is a no-op.
    tokio::time::timeout(Duration::from_secs(1), server.engine.shutdown())
        .await
        .expect("second shutdown");
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_without_clients_is_immediate() {
    let mut server = TestServer::start(EngineConfig::default()).await;
    let serve = server.take_serve();
    let started = Instant::now();
    server.engine.shutdown().await;
    let served = tokio::time::timeout(Duration::from_secs(2), serve)
        .await
        .expect("serve did not return")
        .expect("serve task");
    assert!(served.is_ok());
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(server.recorder.events(), vec![]);
    assert_no_panics();
}

/// A websocket client that does not read cannot hold the shutdown beyond `shutdown_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_its_timeout() {
    let timeout = Duration::from_millis(500);
    let config = EngineConfig::default().shutdown_timeout(timeout);
    let mut server = TestServer::start(config).await;
    let serve = server.take_serve();
    let (ws, sid, _) = ws_open(server.addr).await;
    // Far more than the socket buffers hold; the client never reads.
    let big = Frame::text(&"x".repeat(256 * 1024));
    let socket = server.recorder.wait_socket(&sid).await;
    for _ in 0..400 {
        socket.send(big.clone()).expect("send");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.engine.shutdown())
        .await
        .expect("shutdown did not finish");
    let shutdown_took = started.elapsed();
    tokio::time::timeout(Duration::from_secs(5), serve)
        .await
        .expect("serve did not return")
        .expect("serve task")
        .expect("serve");
    assert!(
        shutdown_took < timeout + Duration::from_millis(500),
        "shutdown took {shutdown_took:?}"
    );
    assert!(
        started.elapsed() < 2 * timeout + Duration::from_millis(1000),
        "serve returned after {:?}",
        started.elapsed()
    );
    assert_eq!(
        server.recorder.close_reasons(&sid),
        vec![CloseReason::ServerShutdown]
    );
    drop(ws);
    assert_no_panics();
}

/// A polling session without a parked GET is dropped by the shutdown at once, queued frames and all,
/// as Node's `close(true)` discards: no GET may come afterwards to fetch a lingering close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_a_polling_session_between_its_gets() {
    let mut server = TestServer::start(EngineConfig::default()).await;
    let serve = server.take_serve();
    let (sid, _) = polling_handshake(server.addr).await;
    server.recorder.wait_opens(1).await;
    server
        .recorder
        .socket(&sid)
        .send(Frame::text("queued"))
        .expect("send");
    tokio::time::timeout(Duration::from_secs(2), server.engine.shutdown())
        .await
        .expect("shutdown did not finish");
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(
        server.recorder.closes(),
        vec![(sid, CloseReason::ServerShutdown)]
    );
    tokio::time::timeout(Duration::from_secs(2), serve)
        .await
        .expect("serve did not return")
        .expect("serve task")
        .expect("serve");
    assert_no_panics();
}
