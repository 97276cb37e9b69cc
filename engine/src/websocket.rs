//! The websocket transport: direct websocket sessions, the upgrade of polling sessions, and the one
//! task per connection that reads packets and writes queued frames in batches.
//!
//! The connection task owns the stream ([`WsStream`]). It waits for either an incoming message
//! (handled inline, so the application sees packets in order and no task is spawned per message)
//! or a wake-up from the session queue; on a wake-up it takes everything queued and writes the
//! frames' bytes (framed once, when each frame was built) to the socket, small frames gathered into
//! one `send` and large ones as they are (see [`Io::poll_write_frames`]), so frames queued together
//! leave in as few writes as they fit in. Pongs and close frames are written between batches, never
//! inside one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Poll, ready};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use oxio_protocol::engine_io::{Packet, Utf8Bytes};
use oxio_protocol::websocket::{self as ws, FrameError, Incoming};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::engine::{Shared, header_has_token};
use crate::frame::Frame;
use crate::polling::open_frame;
use crate::request::TransportKind;
use crate::response::{RequestError, ResponseBody, error_response, status_response};
use crate::session::{Phase, Session};
use crate::socket::{CloseReason, Socket};
use crate::ws_stream::{Io, ReadError, WsStream};

/// Whether the request asks for a websocket (`GET` with `Upgrade: websocket`).
pub(crate) fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    request.method() == http::Method::GET
        && header_has_token(request.headers().get(header::UPGRADE), "websocket")
}

/// The `101 Switching Protocols` answer, or `None` when the request is not a valid websocket
/// handshake (no key, or a version other than 13).
fn switching_protocols<B>(request: &Request<B>) -> Option<Response<ResponseBody>> {
    let headers = request.headers();
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    if headers.get(header::SEC_WEBSOCKET_VERSION)? != "13" {
        return None;
    }
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()?;
    let mut response = status_response(StatusCode::SWITCHING_PROTOCOLS);
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Some(response)
}

async fn open_stream(shared: &Shared, on_upgrade: hyper::upgrade::OnUpgrade) -> Option<WsStream> {
    match on_upgrade.await {
        Ok(upgraded) => {
            let (io, read) = Io::from_upgraded(upgraded);
            Some(WsStream::new(io, &read, shared.config.max_payload))
        }
        Err(error) => {
            tracing::debug!(%error, "websocket upgrade failed");
            None
        }
    }
}

/// A new session over websocket: answers 101 and starts the connection task, which sends the open
/// packet first.
pub(crate) fn handshake<B>(
    session: &Arc<Session>,
    request: &mut Request<B>,
) -> Response<ResponseBody> {
    let Some(response) = switching_protocols(request) else {
        session.shared.remove(&session.id);
        return error_response(RequestError::BadRequest, None);
    };
    let on_upgrade = hyper::upgrade::on(request);
    let session = session.clone();
    tokio::spawn(async move {
        let Some(stream) = open_stream(&session.shared, on_upgrade).await else {
            session.leave_open(&mut session.state.lock(), Phase::Closed);
            session.shared.remove(&session.id);
            return;
        };
        session.send_control(open_frame(&session, TransportKind::Websocket));
        session.shared.handler.on_open(&session.socket());
        session.start_heartbeat();
        run(session, stream).await;
    });
    response
}

/// Completes the websocket handshake and closes the connection at once (a websocket the session
/// cannot take).
pub(crate) fn refuse<B>(request: &mut Request<B>) -> Response<ResponseBody> {
    let Some(response) = switching_protocols(request) else {
        return error_response(RequestError::BadRequest, None);
    };
    let on_upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let _ = Io::from_upgraded(upgraded).0.close(None).await;
        }
    });
    response
}

/// A websocket for an open polling session: the upgrade. Answers 101 and starts the probe.
pub(crate) fn upgrade<B>(
    session: &Arc<Session>,
    request: &mut Request<B>,
) -> Response<ResponseBody> {
    {
        let mut state = session.state.lock();
        if state.phase != Phase::Open {
            drop(state);
            return refuse(request);
        }
        state.phase = Phase::Upgrading { probed: false };
    }
    let Some(response) = switching_protocols(request) else {
        abort_upgrade(session);
        return error_response(RequestError::BadRequest, None);
    };
    let on_upgrade = hyper::upgrade::on(request);
    let session = session.clone();
    tokio::spawn(async move {
        let Some(mut stream) = open_stream(&session.shared, on_upgrade).await else {
            abort_upgrade(&session);
            return;
        };
        let timeout = session.shared.config.upgrade_timeout;
        match tokio::time::timeout(timeout, probe(&session, &mut stream)).await {
            Ok(true) => run(session, stream).await,
            _ => {
                abort_upgrade(&session);
                let _ = stream.io.close(None).await;
            }
        }
    });
    response
}

/// The probe phase of an upgrade: `2probe` → `3probe`, then `5` switches the session over.
/// Returns false when the upgrade must be abandoned.
async fn probe(session: &Arc<Session>, stream: &mut WsStream) -> bool {
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(Incoming::Text(text)) => text,
            Ok(Incoming::Ping(payload)) => {
                if write_pong(stream, payload).await.is_err() {
                    return false;
                }
                continue;
            }
            Ok(Incoming::Pong(_)) => continue,
            _ => return false,
        };
        match Packet::decode_utf8(text) {
            Ok(Packet::Ping(data)) if data.as_str() == "probe" => {
                let pong = Frame::PONG_PROBE;
                if stream.io.write_all(pong.websocket_bytes()).await.is_err() {
                    return false;
                }
                let mut state = session.state.lock();
                if !matches!(state.phase, Phase::Upgrading { .. }) {
                    return false;
                }
                state.phase = Phase::Upgrading { probed: true };
                drop(state);
                // Release the parked GET with a noop so the client can pause polling.
                session.wake.notify_one();
            }
            Ok(Packet::Upgrade) => {
                let mut state = session.state.lock();
                if !matches!(state.phase, Phase::Upgrading { .. }) {
                    return false;
                }
                state.phase = Phase::Open;
                state.transport = TransportKind::Websocket;
                drop(state);
                // Both the parked GET (released with a noop) and the writer must look again.
                session.wake.notify_waiters();
                return true;
            }
            _ => return false,
        }
    }
    false
}

fn abort_upgrade(session: &Session) {
    let mut state = session.state.lock();
    if matches!(state.phase, Phase::Upgrading { .. }) {
        state.phase = Phase::Open;
    }
    drop(state);
    session.wake.notify_one();
}

/// The connection task of an open websocket session.
///
/// Not an `async fn`: the arguments of one are kept twice in its future (as arguments, and as the
/// locals they are moved into), 128 bytes more in the task of every connection.
#[expect(clippy::manual_async_fn, reason = "the task's size, as said above")]
pub(crate) fn run(session: Arc<Session>, mut stream: WsStream) -> impl Future<Output = ()> + Send {
    async move {
        // The handle the handler is given with each message: kept, so that no refcount is taken
        // per message.
        let socket = Socket::from_session(session);
        let session = socket.session();
        let shared = session.shared.clone();
        shared.live_websockets.fetch_add(1, Ordering::AcqRel);
        let mut batch = Vec::new();
        // While set, the writer is pausing (see `Socket::pause_after_queued`) and only reads.
        let mut resume_at: Option<tokio::time::Instant> = None;
        let mut writes_in_a_row = 0;
        loop {
            let mut pause = None;
            let closing = {
                let mut state = session.state.lock();
                if resume_at.is_none() {
                    session.writer.clear();
                    pause = Session::drain_for_websocket(&mut state, &mut batch);
                }
                session.writing.store(!batch.is_empty(), Ordering::Release);
                !matches!(state.phase, Phase::Open | Phase::Upgrading { .. })
            };
            if closing && resume_at.is_some() {
                // Closing: write everything now.
                Session::drain_into(&mut session.state.lock(), &mut batch);
            }
            if !batch.is_empty() {
                let written = write_batch(&mut stream.io, &mut batch).await;
                session.writing.store(false, Ordering::Release);
                if let Err(error) = written {
                    tracing::debug!(sid = %session.id, %error, "websocket write failed");
                    session.close(CloseReason::TransportError);
                    break;
                }
            }
            if closing {
                let _ = Box::pin(stream.io.close(None)).await;
                break;
            }
            if let Some(pause) = pause {
                resume_at = Some(tokio::time::Instant::now() + pause);
            }
            // (The rare paths, closing and pongs, are boxed where they are awaited: the task of every
            // connection is as large as the largest future it awaits.)
            // Queued frames are looked at first (a wake-up for a write then skips the read), but a
            // steady stream of them must not starve reads (pongs): every few wake-ups for writes in a
            // row, reads go first. Writes are not starved either: every turn drains.
            let reads_first = writes_in_a_row >= READS_FIRST_AFTER;
            let wake = wait(session, &mut stream, resume_at, reads_first).await;
            writes_in_a_row = match wake {
                Wake::Queued if !reads_first => writes_in_a_row + 1,
                _ => 0,
            };
            let incoming = match wake {
                Wake::Queued => continue,
                Wake::Resume => {
                    resume_at = None;
                    continue;
                }
                Wake::Incoming(incoming) => incoming,
            };
            // Decided in a plain function: the message is gone before anything is awaited, so
            // it takes no room in the task. What the handler queues is drained at the top of the
            // loop, in this same turn: its wake-ups need not schedule the task again.
            let reply = session
                .writer
                .handle_inline(|| on_incoming(&socket, incoming));
            match reply {
                Reply::Nothing => {}
                Reply::Pong(payload) => {
                    if let Err(error) = Box::pin(write_pong(&mut stream, payload)).await {
                        tracing::debug!(sid = %session.id, %error, "websocket write failed");
                        session.close(CloseReason::TransportError);
                        break;
                    }
                }
                Reply::Close(code) => {
                    // Answer with the client's code, as Node's ws does, then end the transport.
                    let _ = Box::pin(stream.io.close(code)).await;
                    session.close(CloseReason::TransportClose);
                    break;
                }
                Reply::Refuse(error) => {
                    Box::pin(refuse_frames(session, &mut stream, error)).await;
                    break;
                }
                Reply::End => break,
            }
        }
        shared.live_websockets.fetch_sub(1, Ordering::AcqRel);
        shared.websocket_ended.notify_waiters();
    }
}

/// What the connection task does after a message from the client.
enum Reply {
    /// Nothing more: wait for the next wake-up.
    Nothing,
    /// Answer a ping with this payload.
    Pong(Bytes),
    /// Answer the client's close with its code, and end.
    Close(Option<u16>),
    /// Close with the code for the client's broken frames, and end.
    Refuse(FrameError),
    /// The transport is gone (the session is closed): end.
    End,
}

/// Hands a message to the session, and says what is left to write.
fn on_incoming(socket: &Socket, incoming: Option<Result<Incoming, ReadError>>) -> Reply {
    let session = socket.session();
    match incoming {
        Some(Ok(Incoming::Ping(payload))) => Reply::Pong(payload),
        Some(Ok(Incoming::Pong(_))) => Reply::Nothing,
        Some(Ok(Incoming::Close(frame))) => Reply::Close(frame.map(|f| f.code)),
        Some(Ok(Incoming::Text(text))) => {
            handle_text(socket, text);
            Reply::Nothing
        }
        Some(Ok(Incoming::Binary(bytes))) => {
            Session::receive(socket, Packet::decode_binary(bytes));
            Reply::Nothing
        }
        Some(Err(ReadError::Frame(error))) => Reply::Refuse(error),
        Some(Err(ReadError::Io(error))) => {
            tracing::debug!(sid = %session.id, %error, "websocket read failed");
            session.close(CloseReason::TransportError);
            Reply::End
        }
        // A peer that goes away without a close frame closed the transport (as Node's ws reports
        // it, code 1006).
        None => {
            session.close(CloseReason::TransportClose);
            Reply::End
        }
    }
}

/// A text message: an Engine.IO packet, or a parse error that ends the session.
fn handle_text(socket: &Socket, text: Utf8Bytes) {
    match Packet::decode_utf8(text) {
        Ok(packet) => {
            Session::receive(socket, packet);
        }
        Err(error) => {
            let session = socket.session();
            tracing::debug!(sid = %session.id, %error, "malformed websocket packet");
            session.close(CloseReason::ParseError);
        }
    }
}

/// Frames that break the protocol (or a message over the size limit): the close frame with its
/// code, as Node's ws sends it, and a transport error for the session.
async fn refuse_frames(session: &Arc<Session>, stream: &mut WsStream, error: FrameError) {
    tracing::debug!(sid = %session.id, %error, "websocket frames refused");
    let _ = stream.io.close(Some(error.close_code())).await;
    session.close(CloseReason::TransportError);
}

async fn write_pong(stream: &mut WsStream, payload: Bytes) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(2 + payload.len());
    ws::server_frame(&mut frame, ws::PONG, &payload);
    stream.io.write_all(&frame).await
}

/// How many wake-ups for writes in a row the connection task takes before it looks at reads first.
const READS_FIRST_AFTER: u32 = 4;

/// What woke the connection task.
enum Wake {
    /// Frames were queued (or the session changed: closing, ping due).
    Queued,
    /// The write pause is over.
    Resume,
    /// A message, a read error, or the end of the stream.
    Incoming(Option<Result<Incoming, ReadError>>),
}

/// Waits for queued frames (not while pausing until `resume_at`), the end of the pause, or a
/// message from the client.
///
/// Not an `async fn`: a `poll_fn` is smaller, and this future is part of every connection's task.
fn wait<'a>(
    session: &'a Session,
    stream: &'a mut WsStream,
    resume_at: Option<tokio::time::Instant>,
    reads_first: bool,
) -> impl Future<Output = Wake> + 'a {
    // Boxed: pauses are rare, and an unboxed timer would make every connection's task larger.
    let mut pause = resume_at.map(|at| Box::pin(tokio::time::sleep_until(at)));
    std::future::poll_fn(move |cx| {
        if reads_first && let Poll::Ready(m) = stream.poll_next(cx) {
            return Poll::Ready(Wake::Incoming(m));
        }
        // Frames queued before this poll first; the writer's waker is registered only when nothing
        // is ready (registering takes two locked instructions, and a message is mostly waiting).
        let woken = match pause.as_mut() {
            None => session.writer.take_woken().then_some(Wake::Queued),
            Some(sleep) => sleep.as_mut().poll(cx).is_ready().then_some(Wake::Resume),
        };
        if let Some(woken) = woken {
            return Poll::Ready(woken);
        }
        if !reads_first && let Poll::Ready(m) = stream.poll_next(cx) {
            return Poll::Ready(Wake::Incoming(m));
        }
        match pause {
            None => session.writer.poll(cx).map(|()| Wake::Queued),
            Some(_) => Poll::Pending,
        }
    })
}

/// Writes the batch to the socket in as few writes as [`Io::poll_write_frames`] makes of it.
/// Clears the batch once written.
///
/// Not an `async fn` with a loop of writes: this future is part of the task of every connection,
/// and as a `poll_fn` over two counters it is a fraction of that size.
fn write_batch<'a>(
    io: &'a mut Io,
    batch: &'a mut Vec<Frame>,
) -> impl Future<Output = std::io::Result<()>> + 'a {
    // The first frame not completely written, and how much of it was.
    let mut next = 0;
    let mut offset = 0;
    std::future::poll_fn(move |cx| {
        while next < batch.len() {
            let mut written = ready!(io.poll_write_frames(cx, &batch[next..], offset))?;
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            while written > 0 {
                let left = batch[next].websocket_bytes().len() - offset;
                if written < left {
                    offset += written;
                    break;
                }
                written -= left;
                next += 1;
                offset = 0;
            }
        }
        ready!(io.poll_flush(cx))?;
        batch.clear();
        Poll::Ready(Ok(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpSocket, TcpStream};

    /// A send buffer of a few KB and a reader that takes a little at a time: nearly every write,
    /// gathered or vectored, is taken in part, and the next one starts inside a frame.
    #[tokio::test]
    async fn a_batch_written_in_parts_arrives_whole_and_in_order() {
        let listener = TcpSocket::new_v4().expect("socket");
        listener.set_send_buffer_size(4096).expect("send buffer");
        listener.bind(([127, 0, 0, 1], 0).into()).expect("bind");
        let listener = listener.listen(1).expect("listen");
        let client = TcpSocket::new_v4().expect("socket");
        client.set_recv_buffer_size(4096).expect("receive buffer");
        let mut client: TcpStream = client
            .connect(listener.local_addr().expect("address"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        // Small frames that are gathered, frames too large to be, and runs of either; the last
        // large, so that its rest goes out alone.
        let mut batch: Vec<Frame> = (0..604)
            .map(|i: usize| {
                let size = match i % 9 {
                    0 | 1 => 17_000 + i,
                    _ => (i * 53) % 3000 + 1,
                };
                let letter = char::from(b'a' + (i % 26) as u8);
                Frame::text(&letter.to_string().repeat(size))
            })
            .collect();
        let expected: Vec<u8> = batch
            .iter()
            .flat_map(Frame::websocket_bytes)
            .copied()
            .collect();
        let expected_len = expected.len();
        let reader = tokio::spawn(async move {
            let mut received = Vec::with_capacity(expected_len);
            let mut chunk = [0; 1500];
            while received.len() < expected_len {
                let read = client.read(&mut chunk).await.expect("read");
                assert!(read > 0, "the connection ended early");
                received.extend_from_slice(&chunk[..read]);
                if received.len() % 7 == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
            received
        });
        let mut io = Io::Tcp(server);
        write_batch(&mut io, &mut batch).await.expect("written");
        assert!(batch.is_empty());
        let received = reader.await.expect("reader");
        assert!(received == expected, "the bytes differ from the frames'");
        assert!(crate::ws_stream::gather_buffer_is_bounded());
    }
}
