//! Malformed input: random POST bodies, invalid packets over websocket, oversize payloads, bad base64
//! and unknown sids. In every case only the offending session closes (with the expected reason),
//! two witness sessions opened beforehand still echo, and no engine task panics.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use oxio_engine::{CloseReason, EngineConfig, Message};
use oxio_protocol::engine_io::{Packet, decode_payload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{
    TestServer, Witness, WsEnd, assert_no_panics, engine_path, http, http_raw, poll,
    polling_handshake, post, ws_next, ws_open, ws_read_to_end, ws_send_text,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// What a POST body does to its session, by the protocol crate's decoder (tested on its own).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
enum Outcome {
    /// Every packet decodes and none closes: the session stays open.
    Open,
    /// A close packet before any error: the client closed ("transport close").
    ClientClose,
    /// An element does not decode: "parse error".
    ParseError,
    /// A ping from the client ("invalid heartbeat direction" in Node): "transport error".
    ClientPing,
}

/// The outcome of `body` and the messages delivered before it.
fn expected(body: &[u8]) -> (Outcome, Vec<Message>) {
    let mut messages = Vec::new();
    for packet in decode_payload(Bytes::copy_from_slice(body)) {
        match packet {
            Ok(Packet::Message(message)) => messages.push(message),
            Ok(Packet::Close) => return (Outcome::ClientClose, messages),
            Ok(Packet::Ping(_)) => return (Outcome::ClientPing, messages),
            Ok(_) => {}
            Err(_) => return (Outcome::ParseError, messages),
        }
    }
    (Outcome::Open, messages)
}

/// A random body: raw bytes, bytes from the protocol's alphabet, or valid packets with damage.
fn random_body(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..48);
    match rng.random_range(0..4) {
        0 => (0..len).map(|_| rng.random()).collect(),
        1 => {
            const ALPHABET: &[u8] = b"0123456b\x1e4aZ+/=!\xff\xc3";
            (0..len)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                .collect()
        }
        2 => {
            let mut body = b"4valid\x1e".to_vec();
            body.extend((0..len).map(|_| rng.random::<u8>()));
            body
        }
        _ => {
            const PIECES: &[&[u8]] = &[
                b"4text", b"4", b"bAQID", b"b", b"2", b"3", b"5", b"6", b"0", b"b!!", b"", b"9",
                b"4\xc3(", b"1",
            ];
            let count = rng.random_range(1..6);
            let pieces: Vec<&[u8]> = (0..count)
                .map(|_| PIECES[rng.random_range(0..PIECES.len())])
                .collect();
            pieces.join(&b'\x1e')
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_post_bodies() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    let mut rng = StdRng::seed_from_u64(0x0710_2024);
    let mut seen = std::collections::HashMap::new();
    for iteration in 0..300 {
        let body = random_body(&mut rng);
        let (outcome, messages) = expected(&body);
        *seen.entry(outcome).or_insert(0) += 1;
        let context = format!(
            "iteration {iteration}, body {:?}",
            String::from_utf8_lossy(&body)
        );

        let (sid, _) = polling_handshake(server.addr).await;
        let response = post(server.addr, &sid, &body).await;
        // Node answers `ok` even when the payload does not decode (the session closes).
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"ok"[..]),
            "{context}: {response:?}"
        );
        assert_eq!(server.recorder.messages(&sid), messages, "{context}");
        match outcome {
            Outcome::Open => {
                assert_eq!(server.recorder.close_reasons(&sid), vec![], "{context}");
                let closed = post(server.addr, &sid, b"1").await;
                assert_eq!(closed.status, 200, "{context}");
                assert_eq!(
                    server.recorder.wait_close(&sid).await,
                    CloseReason::TransportClose
                );
            }
            Outcome::ClientClose => {
                assert_eq!(
                    server.recorder.wait_close(&sid).await,
                    CloseReason::TransportClose,
                    "{context}"
                );
                poll(server.addr, &sid)
                    .await
                    .assert_error(400, 1, "Session ID unknown");
            }
            Outcome::ParseError | Outcome::ClientPing => {
                let reason = if outcome == Outcome::ParseError {
                    CloseReason::ParseError
                } else {
                    CloseReason::TransportError
                };
                assert_eq!(server.recorder.wait_close(&sid).await, reason, "{context}");
                // Errors drop the session at once, as in Node.
                poll(server.addr, &sid)
                    .await
                    .assert_error(400, 1, "Session ID unknown");
            }
        }
    }
    for outcome in [
        Outcome::Open,
        Outcome::ClientClose,
        Outcome::ParseError,
        Outcome::ClientPing,
    ] {
        assert!(
            seen.get(&outcome).copied().unwrap_or(0) >= 10,
            "too few {outcome:?} cases: {seen:?}"
        );
    }
    witness.check(&server).await;
    assert_eq!(
        server.engine.session_count(),
        2,
        "only the witnesses are left"
    );
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_websocket_packets() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    for text in ["abc", "9", "", "b!!!!", "x4hello", "\u{1e}4"] {
        let (mut ws, sid, _) = ws_open(server.addr).await;
        ws_send_text(&mut ws, text).await;
        let (frames, end) = ws_read_to_end(&mut ws).await;
        assert_eq!((frames, end), (vec![], WsEnd::CloseFrame), "{text:?}");
        assert_eq!(
            server.recorder.wait_close(&sid).await,
            CloseReason::ParseError,
            "{text:?}"
        );
        assert_eq!(server.recorder.messages(&sid), vec![], "{text:?}");
    }
    witness.check(&server).await;
    assert_no_panics();
}

/// Packets a client should not send but that decode (open, upgrade, noop, unsolicited pong) are
/// ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_websocket_packets_are_ignored() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    for text in ["0", "0{}", "5", "6", "3", "3probe"] {
        ws_send_text(&mut ws, text).await;
    }
    ws_send_text(&mut ws, "4still-here").await;
    let first = ws_next(&mut ws).await;
    assert_eq!(first, Some(Ok(WsMessage::text("4still-here"))));
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_no_panics();
}

/// A ping from the client is an error in v4 (Node: "invalid heartbeat direction").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pings_close_the_session() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    let (mut ws, sid, _) = ws_open(server.addr).await;
    ws_send_text(&mut ws, "2").await;
    let (frames, end) = ws_read_to_end(&mut ws).await;
    assert_eq!((frames, end), (vec![], WsEnd::CloseFrame));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );

    let (sid, _) = polling_handshake(server.addr).await;
    let response = post(server.addr, &sid, b"2probe").await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    witness.check(&server).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_base64_in_a_post() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;

    let (sid, _) = polling_handshake(server.addr).await;
    let response = post(server.addr, &sid, b"b!!!!").await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::ParseError
    );
    // Errors drop the session at once, as in Node.
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");

    // Packets before the bad one are delivered, those after it are not.
    let (sid, _) = polling_handshake(server.addr).await;
    let response = post(server.addr, &sid, b"4ok\x1ebAQID\x1eb!!!!\x1e4never").await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::ParseError
    );
    assert_eq!(
        server.recorder.messages(&sid),
        vec![
            support::text_message("ok"),
            support::binary_message(&[1, 2, 3])
        ]
    );
    witness.check(&server).await;
    assert_no_panics();
}

/// A binary (`application/octet-stream`) POST is not v4: the session closes ("transport error").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_post_body() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let response = http(
        server.addr,
        "POST",
        &engine_path(&format!("transport=polling&sid={sid}")),
        &[("Content-Type", "application/octet-stream")],
        b"4hello",
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    assert_eq!(server.recorder.messages(&sid), vec![]);
    witness.check(&server).await;
    assert_no_panics();
}

const SMALL_PAYLOAD: usize = 1000;

/// A POST over `max_payload`: 413, the body is dropped and, as in Node, the session stays open
/// (the client decides what to do about its failed request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_post_with_content_length() {
    let server = TestServer::start(EngineConfig::default().max_payload(SMALL_PAYLOAD)).await;
    let mut witness = Witness::open(server.addr).await;

    // Exactly at the limit: accepted.
    let (sid, _) = polling_handshake(server.addr).await;
    let at_limit = format!("4{}", "a".repeat(SMALL_PAYLOAD - 1));
    let response = post(server.addr, &sid, at_limit.as_bytes()).await;
    assert_eq!((response.status, response.text()), (200, "ok"));
    assert_eq!(poll(server.addr, &sid).await.text(), at_limit);

    // One byte over.
    let over = format!("4{}", "b".repeat(SMALL_PAYLOAD));
    let response = post(server.addr, &sid, over.as_bytes()).await;
    assert_eq!((response.status, response.text()), (413, ""));
    assert_oversize_post_dropped(&server, &sid).await;
    witness.check(&server).await;
    assert_no_panics();
}

/// The same with a chunked body (no Content-Length): the limit applies to what is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_post_chunked() {
    let server = TestServer::start(EngineConfig::default().max_payload(SMALL_PAYLOAD)).await;
    let mut witness = Witness::open(server.addr).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let target = engine_path(&format!("transport=polling&sid={sid}"));
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let half = "b".repeat(SMALL_PAYLOAD / 2);
    for chunk in ["4", &half, &half] {
        request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = http_raw(server.addr, &request).await;
    assert_eq!((response.status, response.text()), (413, ""));
    assert_oversize_post_dropped(&server, &sid).await;
    witness.check(&server).await;
    assert_no_panics();
}

/// After a 413: nothing of the body was delivered, the session is open and still echoes.
async fn assert_oversize_post_dropped(server: &TestServer, sid: &str) {
    assert!(
        server
            .recorder
            .messages(sid)
            .iter()
            .all(|m| !matches!(m, Message::Text(t) if t.starts_with('b'))),
        "the oversize body was delivered"
    );
    let again = post(server.addr, sid, b"4after").await;
    assert_eq!((again.status, again.text()), (200, "ok"));
    assert_eq!(poll(server.addr, sid).await.text(), "4after");
    assert_eq!(server.recorder.close_reasons(sid), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_websocket_messages() {
    let server = TestServer::start(EngineConfig::default().max_payload(SMALL_PAYLOAD)).await;
    let mut witness = Witness::open(server.addr).await;

    // At the limit: a text frame of 1 000 bytes (type digit included), a binary frame of 1 000.
    let (mut ws, sid, _) = ws_open(server.addr).await;
    let text = format!("4{}", "a".repeat(SMALL_PAYLOAD - 1));
    ws_send_text(&mut ws, &text).await;
    assert_eq!(ws_next(&mut ws).await, Some(Ok(WsMessage::text(text))));
    let binary = support::pattern(SMALL_PAYLOAD);
    ws.send(WsMessage::binary(binary.clone()))
        .await
        .expect("send");
    assert_eq!(ws_next(&mut ws).await, Some(Ok(WsMessage::binary(binary))));
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);

    let over = [
        WsMessage::text(format!("4{}", "a".repeat(SMALL_PAYLOAD))),
        WsMessage::binary(support::pattern(SMALL_PAYLOAD + 1)),
    ];
    for message in over {
        let (mut ws, sid, _) = ws_open(server.addr).await;
        // The server may close while the frame is still being written.
        let _ = ws.send(message).await;
        let (frames, _end) = ws_read_to_end(&mut ws).await;
        assert_eq!(frames, vec![]);
        assert_eq!(
            server.recorder.wait_close(&sid).await,
            CloseReason::TransportError
        );
        assert_eq!(server.recorder.messages(&sid), vec![]);
    }
    witness.check(&server).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sids() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    server.recorder.wait_opens(2).await;
    let events = server.recorder.events().len();
    for sid in ["nope", "%00", "a%20b", &"x".repeat(5000)] {
        post(server.addr, sid, b"4hello")
            .await
            .assert_error(400, 1, "Session ID unknown");
        poll(server.addr, sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
    }
    assert_eq!(server.recorder.events().len(), events);
    assert_eq!(server.engine.session_count(), 2);
    witness.check(&server).await;
    assert_no_panics();
}

/// Garbage that is not HTTP at all, and requests cut short: the connection ends, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(EngineConfig::default()).await;
    let mut witness = Witness::open(server.addr).await;
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let garbage: Vec<u8> = (0..rng.random_range(1..200))
            .map(|_| rng.random())
            .collect();
        let mut stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let _ = stream.write_all(&garbage).await;
        let _ = stream.shutdown().await;
        let mut sink = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "the server kept a garbage connection open");
    }
    // A POST whose body never fully arrives.
    let (sid, _) = polling_handshake(server.addr).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n4short",
        engine_path(&format!("transport=polling&sid={sid}"))
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    drop(stream);
    assert_eq!(
        server.recorder.wait_close(&sid).await,
        CloseReason::TransportError
    );
    assert_eq!(server.recorder.messages(&sid), vec![]);
    witness.check(&server).await;
    assert_no_panics();
}
