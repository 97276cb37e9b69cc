//! The engine's own websocket framing, seen from a raw client: frames split across reads or packed
//! into one, fragmented messages with control frames between the fragments, pings, the close
//! handshake, and every refusal with the close code Node's `ws` sends (1002 protocol error,
//! 1007 invalid UTF-8, 1009 message too big).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use oxio_engine::{CloseReason, Cors, EngineConfig, Refusal};
use oxio_protocol::websocket::encode_frame;
use support::{Event, TestServer, assert_no_panics, engine_path, http_raw, text_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;

/// A websocket client on a bare TCP stream, writing masked frames byte for byte as given.
struct RawWs {
    stream: TcpStream,
    read: Vec<u8>,
    sid: String,
}

/// A masked client frame; `first` is the first byte (FIN, RSV, opcode).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, first, payload, Some([0x5a, 0x0f, 0xc3, 0x81]));
    out
}

/// A whole (FIN) masked frame.
fn whole(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(0x80 | opcode, payload)
}

/// A websocket handshake request (`extra`: more header lines, each ending with `\r\n`).
fn handshake_request(addr: SocketAddr, extra: &str) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n",
        engine_path("transport=websocket")
    )
    .into_bytes()
}

impl RawWs {
    /// Upgrades and reads the open packet.
    async fn open(addr: SocketAddr) -> RawWs {
        RawWs::open_with(addr, vec![handshake_request(addr, "")])
            .await
            .0
    }

    /// Connects, writes `writes` one after the other (a pause between them), then reads the 101
    /// and the open packet. Returns the 101's head too.
    async fn open_with(addr: SocketAddr, writes: Vec<Vec<u8>>) -> (RawWs, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        for (index, bytes) in writes.iter().enumerate() {
            if index > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            stream.write_all(bytes).await.expect("write");
        }
        let mut ws = RawWs {
            stream,
            read: Vec::new(),
            sid: String::new(),
        };
        let head_end = loop {
            if let Some(at) = ws.read.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            ws.fill().await;
        };
        let head = String::from_utf8_lossy(&ws.read[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
        ws.read.drain(..head_end);
        let (opcode, open) = ws.next().await.expect("open packet");
        assert_eq!(opcode, TEXT);
        let open = String::from_utf8(open).expect("text");
        let handshake: serde_json::Value = serde_json::from_str(&open[1..]).expect("json");
        ws.sid = handshake["sid"].as_str().expect("sid").to_owned();
        (ws, head)
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
            .await
            .expect("nothing from the server within 5 s")
            .unwrap_or(0);
        self.read.extend_from_slice(&chunk[..n]);
        n
    }

    /// The next server frame (opcode, payload); `None` once the server closed the connection.
    async fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.read.len() >= 2 {
                assert_eq!(self.read[1] & 0x80, 0, "server frames are not masked");
                let (len, header) = match self.read[1] {
                    126 if self.read.len() >= 4 => {
                        (u16::from_be_bytes([self.read[2], self.read[3]]) as usize, 4)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.read.len() >= header + len {
                    let opcode = self.read[0] & 0x0f;
                    let payload = self.read[header..header + len].to_vec();
                    self.read.drain(..header + len);
                    return Some((opcode, payload));
                }
            }
            if self.fill().await == 0 {
                return None;
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The server's close frame, then the end of the connection; returns the close code.
    async fn expect_close(&mut self) -> Option<u16> {
        let (opcode, payload) = self.next().await.expect("a close frame");
        assert_eq!(opcode, CLOSE, "expected a close frame, got {payload:?}");
        assert_eq!(
            self.next().await,
            None,
            "the server must end the connection"
        );
        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_split_into_single_bytes_and_packed_into_one_write() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut ws = RawWs::open(server.addr).await;
    // One byte per write: every read finds an incomplete frame.
    let long = format!("4{}", "x".repeat(300));
    for byte in whole(TEXT, long.as_bytes()) {
        ws.send(&[byte]).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(ws.next().await, Some((TEXT, long.clone().into_bytes())));
    // Many frames in one write, the last one cut in two.
    let packed: Vec<u8> = (0..50)
        .flat_map(|i| whole(TEXT, format!("4m{i}").as_bytes()))
        .collect();
    let (head, tail) = packed.split_at(packed.len() - 3);
    ws.send(head).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    ws.send(tail).await;
    for i in 0..50 {
        assert_eq!(ws.next().await, Some((TEXT, format!("4m{i}").into_bytes())));
    }
    let expected: Vec<_> = std::iter::once(long.as_str().to_owned())
        .chain((0..50).map(|i| format!("4m{i}")))
        .map(|text| text_message(&text[1..]))
        .collect();
    assert_eq!(server.recorder.messages(&ws.sid), expected);
    assert_eq!(server.recorder.close_reasons(&ws.sid), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_messages_with_a_ping_between_the_fragments() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut ws = RawWs::open(server.addr).await;
    let mut bytes = frame(TEXT, b"4frag");
    bytes.extend(whole(PING, b"are you there"));
    bytes.extend(frame(0, b"men"));
    bytes.extend(frame(0x80, "téd".as_bytes()));
    bytes.extend(frame(BINARY, &[1, 2]));
    bytes.extend(whole(PONG, b"unsolicited"));
    bytes.extend(frame(0x80, &[3]));
    ws.send(&bytes).await;
    assert_eq!(ws.next().await, Some((PONG, b"are you there".to_vec())));
    assert_eq!(
        ws.next().await,
        Some((TEXT, "4fragmentéd".as_bytes().to_vec()))
    );
    assert_eq!(ws.next().await, Some((BINARY, vec![1, 2, 3])));
    assert_eq!(server.recorder.close_reasons(&ws.sid), vec![]);
    assert_no_panics();
}

/// Frames queued while the client does not read go out in vectored writes that a full socket
/// takes only in part (a write may end inside a frame): every frame arrives whole, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_queued_behind_a_full_socket_arrive_whole_and_in_order() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut ws = RawWs::open(server.addr).await;
    // About 9 MB in all, more than loopback socket buffers hold; sizes vary so that partial writes
    // end at different places in the frames.
    let sizes: Vec<usize> = (0..200).map(|i| 30_000 + i * 149).collect();
    frames_of_these_sizes_arrive_whole_and_in_order(&server, &mut ws, sizes).await;
}

/// Small frames are gathered into one write and larger ones written as they are, and a full
/// socket takes either kind of write in part: small and large frames mixed, queued while the
/// client does not read, arrive whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_large_frames_mixed_behind_a_full_socket_arrive_whole_and_in_order() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut ws = RawWs::open(server.addr).await;
    // About 14 MB: every seventh frame larger than a gathered write may be, the others from 1 byte
    // to 4 KB, so that writes end inside gathered frames, inside large ones and between them.
    let sizes: Vec<usize> = (0..3000)
        .map(|i| match i % 7 {
            0 => 20_000 + i,
            _ => (i * 37) % 4000 + 1,
        })
        .collect();
    frames_of_these_sizes_arrive_whole_and_in_order(&server, &mut ws, sizes).await;
}

/// Asks for text frames of `sizes` all at once, waits while the server queues and writes them
/// into a socket it fills, then reads them: each must arrive whole, in order.
async fn frames_of_these_sizes_arrive_whole_and_in_order(
    server: &TestServer,
    ws: &mut RawWs,
    sizes: Vec<usize>,
) {
    let requests: Vec<u8> = (sizes.iter())
        .flat_map(|n| whole(TEXT, format!("4send-large:{n}").as_bytes()))
        .collect();
    ws.send(&requests).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (index, size) in sizes.into_iter().enumerate() {
        let (opcode, payload) = ws.next().await.expect("a frame");
        assert_eq!(opcode, TEXT);
        assert_eq!(payload.len(), 1 + size, "frame {index}");
        assert_eq!(payload[0], b'4');
        assert!(payload[1..].iter().all(|&b| b == b'x'), "frame {index}");
    }
    assert_eq!(server.recorder.close_reasons(&ws.sid), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_is_answered_with_its_code() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut ws = RawWs::open(server.addr).await;
    ws.send(&whole(CLOSE, &[0x0f, 0xa0, b'b', b'y', b'e']))
        .await;
    assert_eq!(ws.expect_close().await, Some(4000));
    assert_eq!(
        server.recorder.wait_close(&ws.sid).await,
        CloseReason::TransportClose
    );
    let mut ws = RawWs::open(server.addr).await;
    ws.send(&whole(CLOSE, b"")).await;
    assert_eq!(ws.expect_close().await, None);
    assert_eq!(
        server.recorder.wait_close(&ws.sid).await,
        CloseReason::TransportClose
    );
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_frames_close_with_the_code_node_sends() {
    let max = 1000;
    let server = TestServer::start(EngineConfig::default().max_payload(max)).await;
    let unmasked = [0x81, 0x02, b'4', b'x'];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked", unmasked.to_vec(), 1002),
        ("reserved bit", frame(0xc1, b"4x"), 1002),
        ("unknown opcode", whole(3, b"4x"), 1002),
        ("fragmented ping", frame(PING, b""), 1002),
        ("long ping", whole(PING, &[0; 126]), 1002),
        ("stray continuation", frame(0x80, b"4x"), 1002),
        (
            "interrupted message",
            [frame(TEXT, b"4a"), whole(TEXT, b"4b")].concat(),
            1002,
        ),
        ("bad close code", whole(CLOSE, &[0x03, 0xed]), 1002),
        ("text not UTF-8", whole(TEXT, &[b'4', 0xff, 0xfe]), 1007),
        (
            "text over the limit",
            whole(TEXT, &vec![b'4'; max + 1]),
            1009,
        ),
        (
            "fragments over the limit",
            [frame(BINARY, &vec![0; 600]), frame(0x80, &vec![0; 401])].concat(),
            1009,
        ),
        (
            "declared 4 GB",
            vec![0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4],
            1009,
        ),
        (
            "length beyond 2^53 - 1",
            vec![0x82, 0xff, 0, 0x20, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            1009,
        ),
    ];
    for (case, bytes, code) in cases {
        let mut ws = RawWs::open(server.addr).await;
        ws.send(&bytes).await;
        assert_eq!(ws.expect_close().await, Some(code), "{case}");
        assert_eq!(
            server.recorder.wait_close(&ws.sid).await,
            CloseReason::TransportError,
            "{case}"
        );
        assert_eq!(server.recorder.messages(&ws.sid), vec![], "{case}");
    }
    server.wait_no_sessions(Duration::from_secs(2)).await;
    assert_no_panics();
}

async fn wait_for_a_message(server: &TestServer, sid: &str) {
    let received = |events: &[Event]| {
        (events.iter()).any(|e| matches!(e, Event::Message { sid: s, .. } if s == sid))
    };
    (server.recorder)
        .wait_until("a message", Duration::from_secs(5), received)
        .await;
}

// The engine answers websocket handshakes on its own connections without hyper (`direct.rs`), and
// hands anything else to hyper with the bytes it read: both paths, seen from the client.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_with_the_handshake_request_are_read() {
    let server = TestServer::start(EngineConfig::default()).await;
    let mut request = handshake_request(server.addr, "");
    request.extend(whole(TEXT, b"4sent with the request"));
    request.extend(whole(PING, b"early"));
    let (mut ws, head) = RawWs::open_with(server.addr, vec![request]).await;
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=")
    );
    // The test handler echoes messages; the ping is answered too.
    let mut answers = vec![ws.next().await, ws.next().await];
    answers.sort();
    let echo = Some((TEXT, b"4sent with the request".to_vec()));
    assert_eq!(answers, vec![echo, Some((PONG, b"early".to_vec()))]);
    let sid = ws.sid.clone();
    wait_for_a_message(&server, &sid).await;
    assert_eq!(
        server.recorder.messages(&sid),
        vec![text_message("sent with the request")]
    );
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_the_engine_does_not_take_itself_go_through_hyper() {
    let server = TestServer::start(EngineConfig::default()).await;
    // The head split across two writes (the first read holds part of it).
    let request = handshake_request(server.addr, "");
    let (first, rest) = request.split_at(40);
    let (mut ws, _) = RawWs::open_with(server.addr, vec![first.to_vec(), rest.to_vec()]).await;
    ws.send(&whole(TEXT, b"4split")).await;
    // More headers than it parses itself, and a frame right behind the head.
    let many: String = (0..40).map(|i| format!("X-Extra-{i}: {i}\r\n")).collect();
    let mut request = handshake_request(server.addr, &many);
    request.extend(whole(TEXT, b"4many headers"));
    let (many, _) = RawWs::open_with(server.addr, vec![request]).await;
    for (sid, text) in [(&ws.sid, "split"), (&many.sid, "many headers")] {
        wait_for_a_message(&server, sid).await;
        assert_eq!(server.recorder.messages(sid), vec![text_message(text)]);
    }
    let socket = server.recorder.socket(&many.sid);
    assert_eq!(socket.request().headers()["x-extra-39"], "39");
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_handshakes_keep_the_request_and_answer_with_cors_headers() {
    let server = TestServer::start(EngineConfig::default().cors(Cors::any())).await;
    let request = handshake_request(server.addr, "Origin: http://a.test\r\nX-Token: a b\r\n");
    let (ws, head) = RawWs::open_with(server.addr, vec![request]).await;
    assert!(
        head.contains("access-control-allow-origin: *\r\n"),
        "{head}"
    );
    let socket = server.recorder.wait_socket(&ws.sid).await;
    let request = socket.request();
    assert_eq!(request.headers()["x-token"], "a b");
    assert_eq!(request.headers()["origin"], "http://a.test");
    assert_eq!(
        request.query_param("transport").as_deref(),
        Some("websocket")
    );
    assert!(
        request
            .remote_addr
            .is_some_and(|addr| addr.ip().is_loopback())
    );
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_handshake_refusals_are_the_json_errors_of_the_hyper_path() {
    let config = EngineConfig::default()
        .cors(Cors::any())
        .max_sessions(1)
        .allow_request(|request| match request.headers().contains_key("x-deny") {
            true => Err(Refusal {
                message: "denied".to_owned(),
            }),
            false => Ok(()),
        });
    let server = TestServer::start(config).await;
    let denied = handshake_request(server.addr, "Origin: http://a.test\r\nX-Deny: 1\r\n");
    let refused = http_raw(server.addr, &denied).await;
    refused.assert_error(403, 4, "denied");
    assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
    let _first = RawWs::open(server.addr).await;
    let full = http_raw(server.addr, &handshake_request(server.addr, "")).await;
    full.assert_error(503, 3, "Server full");
    assert_eq!(server.engine.session_count(), 1);
    assert_no_panics();
}
