//! Websocket sessions: engine.io-client with `transports: ["websocket"]`, and a raw websocket
//! client (the handshake, binary frames, the client's close packet and close frame).

mod support;

use std::time::Duration;

use oxio_engine::{CloseReason, EngineConfig, Frame};
use serde_json::json;
use support::node_cases::{self, Fits, MAX_PAYLOAD, Mode};
use support::{
    TestServer, WsEnd, assert_no_panics, pattern, ws_next, ws_next_text, ws_open, ws_read_to_end,
    ws_send_text,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use futures_util::SinkExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_echo() {
    node_cases::echo(Mode::Websocket).await;
}

// A websocket text frame carries the type digit: 9 999 characters make a 10 000-byte message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Websocket, false, MAX_PAYLOAD - 1, Fits::Yes).await;
}

/// An oversize websocket message closes the connection ("transport error" on the server); the client
/// sees its websocket close ("transport close").
const OVERSIZE_FRAME: Fits = Fits::No {
    client: "transport close",
    server: CloseReason::TransportError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_over_max_payload_closes() {
    node_cases::max_payload(Mode::Websocket, false, MAX_PAYLOAD, OVERSIZE_FRAME).await;
}

// A binary frame carries the bytes alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Websocket, true, MAX_PAYLOAD, Fits::Yes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_over_max_payload_closes() {
    node_cases::max_payload(Mode::Websocket, true, MAX_PAYLOAD + 1, OVERSIZE_FRAME).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_server_close() {
    node_cases::server_close(Mode::Websocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_heartbeat_keeps_the_session() {
    node_cases::idle(Mode::Websocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_handshake_and_echo() {
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(12_345);
    let server = TestServer::start(config).await;
    let (mut ws, sid, handshake) = ws_open(server.addr).await;
    assert_eq!(
        handshake,
        json!({
            "sid": sid,
            "upgrades": [],
            "pingInterval": 300,
            "pingTimeout": 200,
            "maxPayload": 12_345,
        })
    );
    ws_send_text(&mut ws, "4hello").await;
    assert_eq!(ws_next(&mut ws).await, Some(Ok(WsMessage::text("4hello"))));
    ws.send(WsMessage::binary(pattern(70))).await.expect("send");
    assert_eq!(
        ws_next(&mut ws).await,
        Some(Ok(WsMessage::binary(pattern(70))))
    );
    ws_send_text(&mut ws, "4send-binary:5").await;
    assert_eq!(
        ws_next(&mut ws).await,
        Some(Ok(WsMessage::binary(pattern(5))))
    );
    ws_send_text(&mut ws, "4send-large:3").await;
    assert_eq!(ws_next(&mut ws).await, Some(Ok(WsMessage::text("4xxx"))));
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_packet() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    ws_send_text(&mut ws, "4before").await;
    ws_send_text(&mut ws, "1").await;
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(frames, vec![WsMessage::text("4before")]);
    assert_eq!(end, WsEnd::CloseFrame);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_frame() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    ws.close(None).await.expect("close");
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (ws, sid, _) = ws_open(server.addr).await;
    drop(ws);
    let reason = server.recorder.wait_close(&sid).await;
    // No close frame: tungstenite reports the reset as an error, or the end as the end of stream.
    assert!(
        matches!(
            reason,
            CloseReason::TransportClose | CloseReason::TransportError
        ),
        "{reason:?}"
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_sends_queued_frames_then_a_close_frame() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    ws_send_text(&mut ws, "4server-close").await;
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(frames, vec![WsMessage::text("4closing")]);
    assert_eq!(end, WsEnd::CloseFrame);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::ForcedClose
    );
    assert_no_panics();
}

/// Frames queued during a write hold reach the client when the last hold ends, in order; a close
/// during a hold writes what is queued at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_hold_keeps_frames_back_until_it_ends() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    let socket = server.recorder.wait_socket(&sid).await;
    let first = socket.hold_writes();
    let second = socket.hold_writes();
    socket.send(Frame::text("one")).expect("send");
    socket.send(Frame::text("two")).expect("send");
    drop(first);
    let early = tokio::time::timeout(Duration::from_millis(200), ws_next(&mut ws)).await;
    assert!(early.is_err(), "a frame went out during a hold: {early:?}");
    drop(second);
    assert_eq!(ws_next_text(&mut ws).await, "4one");
    assert_eq!(ws_next_text(&mut ws).await, "4two");

    let _held = socket.hold_writes();
    socket.send(Frame::text("bye")).expect("send");
    socket.close();
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(frames, vec![WsMessage::text("4bye")]);
    assert_eq!(end, WsEnd::CloseFrame);
    assert_no_panics();
}
