//! The heartbeat: clients that stop answering pings are closed with "ping timeout"; clients that
//! answer stay open. (The Node client's side is in the `node_heartbeat_*` tests of the client files.)

mod support;

use std::time::{Duration, Instant};

use oxio_engine::{CloseReason, EngineConfig};
use support::{
    TestServer, WsEnd, assert_no_panics, poll, polling_handshake, post, ws_next_text, ws_open,
    ws_read_to_end, ws_send_text,
};

fn fast_heartbeat() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
}

/// For clients that do answer: a pong timeout with room for a loaded test machine.
fn answered_heartbeat() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(400))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_websocket_client_is_closed() {
    let server = TestServer::start(fast_heartbeat()).await;
    // The ping timer starts with the session, during `ws_open`: time from before it (a slow open
    // would otherwise seem to shorten the interval).
    let start = Instant::now();
    let (mut ws, sid, _) = ws_open(server.addr).await;
    assert_eq!(ws_next_text(&mut ws).await, "2");
    let pinged = start.elapsed();
    let (frames, end) = ws_read_to_end(&mut ws).await;
    let closed = start.elapsed();
    assert_eq!((frames, end), (vec![], WsEnd::CloseFrame));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    assert!(
        pinged >= Duration::from_millis(80) && pinged < Duration::from_secs(2),
        "first ping after {pinged:?}"
    );
    assert!(
        closed >= Duration::from_millis(180) && closed < Duration::from_secs(3),
        "closed after {closed:?}"
    );
    server.wait_no_sessions(Duration::from_secs(1)).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_client_that_stops_answering_is_closed() {
    let server = TestServer::start(answered_heartbeat()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    for _ in 0..5 {
        assert_eq!(ws_next_text(&mut ws).await, "2");
        ws_send_text(&mut ws, "3").await;
    }
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    ws_send_text(&mut ws, "4alive").await;
    // The echo and the next ping, in whichever order.
    let mut got = vec![ws_next_text(&mut ws).await, ws_next_text(&mut ws).await];
    got.sort();
    assert_eq!(got, vec!["2", "4alive"]);
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!((frames, end), (vec![], WsEnd::CloseFrame));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_polling_client_is_closed() {
    // The first poll must find the ping still waiting for its pong: a 400 ms pong timeout leaves
    // room for a loaded machine (with 100 ms, a slow first poll found the session already closed).
    let server = TestServer::start(answered_heartbeat()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let ping = poll(server.addr, &sid).await;
    assert_eq!((ping.status, ping.text()), (200, "2"));
    // No pong: the parked GET is released with the close packet at the ping timeout.
    let close = poll(server.addr, &sid).await;
    assert_eq!((close.status, close.text()), (200, "1"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_eq!(server.engine.session_count(), 0);
    assert_no_panics();
}

/// A polling client that never polls again: closed at the ping timeout, and removed once the close
/// packet has waited its turn (one more ping timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_polling_client_is_closed_and_removed() {
    let server = TestServer::start(fast_heartbeat()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    server.wait_no_sessions(Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.engine.timer_count(), 0);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_client_that_answers_stays_open() {
    let server = TestServer::start(answered_heartbeat()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    for _ in 0..5 {
        let ping = poll(server.addr, &sid).await;
        assert_eq!((ping.status, ping.text()), (200, "2"));
        let pong = post(server.addr, &sid, b"3").await;
        assert_eq!((pong.status, pong.text()), (200, "ok"));
    }
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_eq!(server.engine.session_count(), 1);
    // The next ping, plus pong deadlines gone stale that expire within a ping timeout.
    assert!(server.engine.timer_count() <= 6);
    assert_no_panics();
}

/// Pongs that nobody asked for do not postpone the ping timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsolicited_pongs_do_not_keep_a_session_alive() {
    let server = TestServer::start(fast_heartbeat()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    ws_send_text(&mut ws, "3").await;
    assert_eq!(ws_next_text(&mut ws).await, "2");
    let (_, end) = ws_read_to_end(&mut ws).await;
    assert_eq!(end, WsEnd::CloseFrame);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::PingTimeout
    );
    assert_no_panics();
}
