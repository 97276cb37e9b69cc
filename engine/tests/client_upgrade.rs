//! The upgrade from polling to websocket: engine.io-client with its default transports (it must end
//! on websocket), and the upgrade dance done by hand (probe, noop, upgrade packet, timeout, refusal).

mod support;

use std::time::Duration;

use oxio_engine::{CloseReason, EngineConfig, TransportKind};
use support::node_cases::{self, Fits, MAX_PAYLOAD, Mode};
use support::{
    TestServer, WsEnd, assert_no_panics, packets, poll, polling_handshake, post, ws_connect,
    ws_next_text, ws_read_to_end, ws_send_text,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_echo_after_upgrade() {
    node_cases::echo(Mode::Upgrade).await;
}

// After the upgrade, messages travel over the websocket: the websocket limits apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Upgrade, false, MAX_PAYLOAD - 1, Fits::Yes).await;
}

/// An oversize websocket message closes the connection ("transport error" on the server); the client
/// sees its websocket close ("transport close").
const OVERSIZE_FRAME: Fits = Fits::No {
    client: "transport close",
    server: CloseReason::TransportError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_over_max_payload_closes() {
    node_cases::max_payload(Mode::Upgrade, false, MAX_PAYLOAD, OVERSIZE_FRAME).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Upgrade, true, MAX_PAYLOAD, Fits::Yes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_over_max_payload_closes() {
    node_cases::max_payload(Mode::Upgrade, true, MAX_PAYLOAD + 1, OVERSIZE_FRAME).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_server_close_after_upgrade() {
    node_cases::server_close(Mode::Upgrade).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_heartbeat_after_upgrade() {
    node_cases::idle(Mode::Upgrade).await;
}

/// The whole dance by hand: `2probe` → `3probe`, the parked GET released with a noop, `5`, then
/// the session lives on the websocket and polling requests for it are bad requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_upgrade() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, handshake) = polling_handshake(server.addr).await;
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));

    let addr = server.addr;
    let parked_sid = sid.clone();
    let parked = tokio::spawn(async move { poll(addr, &parked_sid).await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut ws = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("probe websocket");
    assert!(!parked.is_finished(), "the GET was not parked");
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    let parked = parked.await.expect("parked GET");
    assert_eq!((parked.status, parked.text()), (200, "6"));
    assert!(server.recorder.socket(&sid).is_upgrading());

    ws_send_text(&mut ws, "5").await;
    ws_send_text(&mut ws, "4transport?").await;
    assert_eq!(ws_next_text(&mut ws).await, "4websocket");
    assert_eq!(
        server.recorder.socket(&sid).transport(),
        TransportKind::Websocket
    );
    assert!(!server.recorder.socket(&sid).is_upgrading());

    // The session is a websocket session now.
    poll(server.addr, &sid)
        .await
        .assert_error(400, 3, "Bad request");
    post(server.addr, &sid, b"4late")
        .await
        .assert_error(400, 3, "Bad request");
    // A second websocket for the session is accepted and closed at once, as Node does.
    let mut second = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("second websocket");
    assert_eq!(
        ws_read_to_end(&mut second).await,
        (vec![], WsEnd::CloseFrame)
    );
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);

    ws_send_text(&mut ws, "4still-here").await;
    assert_eq!(ws_next_text(&mut ws).await, "4still-here");
    ws_send_text(&mut ws, "1").await;
    let (_, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(end, WsEnd::CloseFrame);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    assert_eq!(
        server.recorder.messages(&sid),
        vec![
            support::text_message("transport?"),
            support::text_message("still-here")
        ]
    );
    assert_no_panics();
}

/// Frames queued while polling and not yet fetched leave over the websocket after the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_queued_before_the_upgrade_go_over_the_websocket() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let mut ws = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("probe websocket");
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    let socket = server.recorder.socket(&sid);
    socket
        .send(oxio_engine::Frame::text("queued"))
        .expect("send");
    ws_send_text(&mut ws, "5").await;
    assert_eq!(ws_next_text(&mut ws).await, "4queued");
    assert_no_panics();
}

/// A probe that never sends `5` is dropped after `upgrade_timeout`; polling goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_timeout_keeps_polling() {
    let config = EngineConfig::default().upgrade_timeout(Duration::from_millis(300));
    let server = TestServer::start(config).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let mut ws = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("probe websocket");
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_next_text(&mut ws).await, "3probe");
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(frames, vec![], "the probe got frames");
    assert_eq!(end, WsEnd::CloseFrame);

    let socket = server.recorder.socket(&sid);
    assert!(!socket.is_upgrading());
    assert_eq!(socket.transport(), TransportKind::Polling);
    let posted = post(server.addr, &sid, b"4after-timeout").await;
    assert_eq!((posted.status, posted.text()), (200, "ok"));
    let polled = poll(server.addr, &sid).await;
    assert_eq!(packets(&polled.body), vec!["4after-timeout"]);
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_no_panics();
}

/// A probe that sends something else than `2probe` is dropped; polling goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_probe_keeps_polling() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let mut ws = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("probe websocket");
    ws_send_text(&mut ws, "4not-a-probe").await;
    let (frames, _) = ws_read_to_end(&mut ws).await;
    assert_eq!(frames, vec![]);
    let posted = post(server.addr, &sid, b"4polling").await;
    assert_eq!((posted.status, posted.text()), (200, "ok"));
    assert_eq!(
        packets(&poll(server.addr, &sid).await.body),
        vec!["4polling"]
    );
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_no_panics();
}

/// With `allow_upgrades(false)` the handshake offers no upgrade, and a websocket for a polling
/// session is accepted and closed at once (as Node does); the session goes on polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_disabled() {
    let server = TestServer::start(EngineConfig::default().allow_upgrades(false)).await;
    let (sid, handshake) = polling_handshake(server.addr).await;
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    let mut ws = ws_connect(server.addr, &format!("transport=websocket&sid={sid}"))
        .await
        .expect("websocket");
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!((frames, end), (vec![], WsEnd::CloseFrame));
    let posted = post(server.addr, &sid, b"4polling").await;
    assert_eq!((posted.status, posted.text()), (200, "ok"));
    assert_eq!(
        packets(&poll(server.addr, &sid).await.body),
        vec!["4polling"]
    );
    assert_eq!(
        server.recorder.socket(&sid).transport(),
        TransportKind::Polling
    );
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_no_panics();
}
