//! HTTP long-polling: engine.io-client with `transports: ["polling"]`, and raw polling requests
//! (the handshake, overlapping GETs and POSTs, an abandoned GET, the client's close packet).

mod support;

use std::time::Duration;

use oxio_engine::{CloseReason, EngineConfig, Socket};
use serde_json::json;
use support::node_cases::{self, Fits, MAX_PAYLOAD, Mode};
use support::{
    HttpResponse, TestServer, assert_no_panics, engine_path, http, packets, poll,
    polling_handshake, post,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_echo() {
    node_cases::echo(Mode::Polling).await;
}

// A polling POST body is the packet type digit plus the text: 9 999 characters make 10 000 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Polling, false, MAX_PAYLOAD - 1, Fits::Yes).await;
}

/// As in Node, the server answers an oversize POST with 413 and keeps the session; the client's POST
/// fails ("transport error" on its side) and the client then closes the session with a close
/// packet ("transport close" on the server).
const OVERSIZE_POST: Fits = Fits::No {
    client: "transport error",
    server: CloseReason::TransportClose,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_text_over_max_payload_closes() {
    node_cases::max_payload(Mode::Polling, false, MAX_PAYLOAD, OVERSIZE_POST).await;
}

// A binary message is `b` + base64: 7 497 bytes make 1 + 4 * 2 499 = 9 997 bytes (the largest body
// that fits), 7 498 bytes make 10 001.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_at_max_payload_is_echoed() {
    node_cases::max_payload(Mode::Polling, true, 7_497, Fits::Yes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_binary_over_max_payload_closes() {
    node_cases::max_payload(Mode::Polling, true, 7_498, OVERSIZE_POST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_server_close() {
    node_cases::server_close(Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_heartbeat_keeps_the_session() {
    node_cases::idle(Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_response() {
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(12_345);
    let server = TestServer::start(config).await;
    let response = http(
        server.addr,
        "GET",
        &engine_path("transport=polling"),
        &[],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let body = response.text();
    assert!(body.starts_with("0{"), "{body:?}");
    let handshake: serde_json::Value = serde_json::from_str(&body[1..]).expect("JSON");
    let sid = handshake["sid"].as_str().expect("sid");
    assert_eq!(
        handshake,
        json!({
            "sid": sid,
            "upgrades": ["websocket"],
            "pingInterval": 300,
            "pingTimeout": 200,
            "maxPayload": 12_345,
        })
    );
    assert!(!sid.is_empty());
    assert_eq!(server.recorder.opens(), vec![sid.to_owned()]);
    assert_eq!(server.engine.session_count(), 1);

    // Another handshake gets another sid.
    let (other, _) = polling_handshake(server.addr).await;
    assert_ne!(other, sid);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_binary_packets_in_one_post() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let response = post(server.addr, &sid, b"4hello\x1ebAQID\x1e4\x1eb").await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    assert_eq!(response.header("content-type"), Some("text/html"));
    let polled = poll(server.addr, &sid).await;
    assert_eq!(polled.status, 200);
    assert_eq!(packets(&polled.body), vec!["4hello", "bAQID", "4", "b"]);
    assert_eq!(
        server.recorder.messages(&sid),
        vec![
            support::text_message("hello"),
            support::binary_message(&[1, 2, 3]),
            support::text_message(""),
            support::binary_message(&[]),
        ]
    );
    assert_no_panics();
}

/// A second GET while one is parked: the second gets an empty 400 (as in Node), the parked one is
/// released with the close packet, and the session is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_gets_close_the_session() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let addr = server.addr;
    let parked_sid = sid.clone();
    let first = tokio::spawn(async move { poll(addr, &parked_sid).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!first.is_finished(), "the first GET was not parked");

    let second = poll(server.addr, &sid).await;
    assert_eq!((second.status, second.text()), (400, ""), "{second:?}");
    let first = first.await.expect("first GET");
    assert_eq!((first.status, first.text()), (200, "1"));

    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_eq!(server.engine.session_count(), 0);
    assert_no_panics();
}

/// A second POST while one is still being read: an empty 400 (as in Node) and the session closes
/// ("transport error").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_posts_close_the_session() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n4partial",
        engine_path(&format!("transport=polling&sid={sid}"))
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let second = post(server.addr, &sid, b"4second").await;
    assert_eq!((second.status, second.text()), (400, ""), "{second:?}");
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    assert_eq!(server.recorder.messages(&sid), vec![]);
    drop(slow);
    assert_no_panics();
}

/// A client that gives up on its parked GET closes the session ("transport error").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_get_closes_the_session() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
        engine_path(&format!("transport=polling&sid={sid}"))
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    drop(stream);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

/// The client's close packet: a parked GET is released with a noop, the session is gone at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_packet() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let addr = server.addr;
    let parked_sid = sid.clone();
    let parked = tokio::spawn(async move { poll(addr, &parked_sid).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let response = post(server.addr, &sid, b"1").await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    let parked = parked.await.expect("parked GET");
    assert_eq!((parked.status, parked.text()), (200, "6"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportClose
    );
    assert_eq!(server.engine.session_count(), 0);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_no_panics();
}

/// Messages the server sends while no GET is parked wait for the next GET, in order, in one payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_frames_leave_in_one_payload() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let socket = server.recorder.socket(&sid);
    for text in ["one", "two", "three"] {
        socket.send(oxio_engine::Frame::text(text)).expect("send");
    }
    socket
        .send(oxio_engine::Frame::binary(bytes::Bytes::from_static(&[
            0xff, 0,
        ])))
        .expect("send");
    let polled = poll(server.addr, &sid).await;
    assert_eq!(
        packets(&polled.body),
        vec!["4one", "4two", "4three", "b/wA="]
    );
    assert_no_panics();
}

/// A volatile send goes out only while a GET is parked with nothing queued (Node's
/// `transport.writable`), and `is_writable` says so beforehand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_frames_need_a_parked_get() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let socket = server.recorder.socket(&sid);
    assert!(!socket.is_writable(), "no GET parked yet");
    assert!(
        socket
            .send_volatile(oxio_engine::Frame::text("dropped"))
            .is_err(),
        "a volatile frame without a GET is handed back"
    );
    let get = park_a_get(&server, &socket).await;
    socket
        .send_volatile(oxio_engine::Frame::text("delivered"))
        .expect("a parked GET takes a volatile frame");
    assert_eq!(packets(&get.await.expect("GET").body), vec!["4delivered"]);
    assert!(!socket.is_writable(), "the GET answered, none parked");
    socket.close();
    assert!(!socket.is_writable(), "closing");
    assert_no_panics();
}

/// Sends a GET for `socket`'s session and waits until it is parked (the session is writable).
async fn park_a_get(server: &TestServer, socket: &Socket) -> JoinHandle<HttpResponse> {
    let (addr, sid) = (server.addr, socket.id().to_owned());
    let get = tokio::spawn(async move { poll(addr, &sid).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !socket.is_writable() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the GET never parked"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    get
}

/// The packets of a polling payload but noops (Node sends `6` before a delayed close packet).
fn without_noops(body: &[u8]) -> Vec<String> {
    packets(body).into_iter().filter(|p| p != "6").collect()
}

/// A server-side close while no GET is parked: the frames sent before the close go out with the
/// next GET and the close packet with the one after (Node drains before closing), never
/// "Session ID unknown".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_without_a_parked_get_reaches_the_next_get() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let posted = post(server.addr, &sid, b"4server-close").await;
    assert_eq!((posted.status, posted.text()), (200, "ok"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::ForcedClose
    );
    let drained = poll(server.addr, &sid).await;
    assert_eq!(
        drained.status, 200,
        "the GET after a server close: {drained:?}"
    );
    assert_eq!(without_noops(&drained.body), vec!["4closing"]);
    let last = poll(server.addr, &sid).await;
    assert_eq!(without_noops(&last.body), vec!["1"]);
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    server.wait_no_sessions(Duration::from_secs(1)).await;
    assert_no_panics();
}

/// The same with the socket closed from outside a callback (`Socket::close` from the application).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_close_without_a_parked_get_reaches_the_next_get() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let socket = server.recorder.socket(&sid);
    socket.send(oxio_engine::Frame::text("bye")).expect("send");
    socket.close();
    let drained = poll(server.addr, &sid).await;
    assert_eq!(
        drained.status, 200,
        "the GET after a server close: {drained:?}"
    );
    assert_eq!(without_noops(&drained.body), vec!["4bye"]);
    let last = poll(server.addr, &sid).await;
    assert_eq!(without_noops(&last.body), vec!["1"]);
    assert_eq!(
        server.recorder.close_reasons(&sid),
        vec![CloseReason::ForcedClose]
    );
    assert_no_panics();
}

/// A parked GET takes nothing during a write hold: it answers with what was queued when the last
/// hold ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_get_waits_for_the_end_of_a_write_hold() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let socket = server.recorder.socket(&sid);
    let parked = park_a_get(&server, &socket).await;
    let hold = socket.hold_writes();
    socket.send(oxio_engine::Frame::text("one")).expect("send");
    socket.send(oxio_engine::Frame::text("two")).expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !parked.is_finished(),
        "the GET was answered during the hold"
    );
    drop(hold);
    let polled = parked.await.expect("GET");
    assert_eq!(packets(&polled.body), vec!["4one", "4two"]);
    assert_no_panics();
}
