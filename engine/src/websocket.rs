//! The websocket transport: direct websocket sessions, the upgrade of polling sessions, and the one
//! task per connection that reads packets and writes queued frames in batches.
//!
//! The connection task owns the stream. It waits for either an incoming message (handled inline, so
//! the application sees packets in order and no task is spawned per message) or a wake-up from the
//! session queue; on a wake-up it takes everything queued and writes the frames' bytes (framed once,
//! when each frame was built) straight to the socket, so frames queued together leave in one
//! `write`. Tungstenite reads, and writes only its own frames (pongs, the close).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use oxio_protocol::engine_io::Packet;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::engine::{Shared, header_has_token};
use crate::frame::Frame;
use crate::polling::open_frame;
use crate::request::TransportKind;
use crate::response::{RequestError, ResponseBody, error_response, status_response};
use crate::session::{Flow, Phase, Session};
use crate::socket::CloseReason;

type Stream = WebSocketStream<Io>;

/// The connection under a websocket: the TCP stream itself when the engine serves the connection
/// (the connection task then reads only when it is readable and writes to it directly), or hyper's
/// upgraded IO when an embedder serves it.
enum Io {
    Tcp(TcpStream),
    Upgraded(TokioIo<Upgraded>),
}

impl Io {
    /// Ready when a read may find data (always, when readiness is unknown).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Io::Tcp(tcp) => tcp.poll_read_ready(cx),
            Io::Upgraded(_) => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Io::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Io::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Io::Upgraded(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Io::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

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

fn websocket_config(shared: &Shared) -> WebSocketConfig {
    let max = shared.config.max_payload;
    WebSocketConfig::default()
        .read_buffer_size(shared.config.ws_read_buffer)
        // Frames fed between two flushes are buffered and leave in one write.
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

async fn open_stream(shared: &Shared, on_upgrade: hyper::upgrade::OnUpgrade) -> Option<Stream> {
    match on_upgrade.await {
        Ok(upgraded) => {
            let config = Some(websocket_config(shared));
            // Bytes hyper read past the request (a client may send frames right away) come first.
            let (io, read) = match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => (Io::Tcp(parts.io.into_inner()), parts.read_buf),
                Err(upgraded) => (Io::Upgraded(TokioIo::new(upgraded)), Bytes::new()),
            };
            Some(if read.is_empty() {
                WebSocketStream::from_raw_socket(io, Role::Server, config).await
            } else {
                WebSocketStream::from_partially_read(io, read.to_vec(), Role::Server, config).await
            })
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
            session.state.lock().phase = Phase::Closed;
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
            let mut stream =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            let _ = stream.close(None).await;
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
                let _ = stream.close(None).await;
            }
        }
    });
    response
}

/// The probe phase of an upgrade: `2probe` → `3probe`, then `5` switches the session over.
/// Returns false when the upgrade must be abandoned.
async fn probe(session: &Arc<Session>, stream: &mut Stream) -> bool {
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(WsMessage::Text(text)) => text,
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            _ => return false,
        };
        match Packet::decode_text(Bytes::from(text)) {
            Ok(Packet::Ping(data)) if data.as_str() == "probe" => {
                if stream.send(Frame::PONG_PROBE.to_websocket()).await.is_err() {
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
async fn run(session: Arc<Session>, mut stream: Stream) {
    let shared = session.shared.clone();
    shared.live_websockets.fetch_add(1, Ordering::AcqRel);
    let mut batch = Vec::new();
    // While set, the writer is pausing (see `Socket::pause_after_queued`) and only reads.
    let mut resume_at: Option<tokio::time::Instant> = None;
    // Tungstenite may hold frames it read (or bytes hyper read) that no readiness event announces.
    let mut unblocked = true;
    // Tungstenite answered a ping: its pong must go out before frames written past it.
    let mut owes = false;
    let mut writes_in_a_row = 0;
    loop {
        let mut pause = None;
        let closing = {
            let mut state = session.state.lock();
            if resume_at.is_none() {
                session.clear_writer_woken();
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
            let written = write_batch(&mut stream, &mut batch, &mut owes).await;
            session.writing.store(false, Ordering::Release);
            if let Err(error) = written {
                tracing::debug!(sid = %session.id, %error, "websocket write failed");
                session.close(CloseReason::TransportError);
                break;
            }
        }
        if closing {
            let _ = stream.close(None).await;
            break;
        }
        if let Some(pause) = pause {
            resume_at = Some(tokio::time::Instant::now() + pause);
        }
        // Queued frames are looked at first (a wake-up for a write then skips the read's readiness
        // check), but a steady stream of them must not starve reads (pongs): every few wake-ups for
        // writes in a row, reads go first. Writes are not starved either: every turn drains.
        let reads_first = writes_in_a_row >= READS_FIRST_AFTER;
        let wake = wait(
            &session,
            &mut stream,
            &mut unblocked,
            owes,
            resume_at,
            reads_first,
        )
        .await;
        writes_in_a_row = match wake {
            Wake::Queued if !reads_first => writes_in_a_row + 1,
            _ => 0,
        };
        match wake {
            Wake::Queued => {}
            Wake::Resume => resume_at = None,
            Wake::Incoming(Some(Ok(message))) => {
                owes |= matches!(message, WsMessage::Ping(_));
                handle_message(&session, message);
            }
            // A peer that goes away without a close frame closed the transport (as Node's ws
            // reports it, code 1006); other read errors are transport errors.
            Wake::Incoming(Some(Err(
                tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )
                | tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed,
            ))) => {
                session.close(CloseReason::TransportClose);
                break;
            }
            Wake::Incoming(Some(Err(error))) => {
                tracing::debug!(sid = %session.id, %error, "websocket read failed");
                session.close(CloseReason::TransportError);
                break;
            }
            Wake::Incoming(None) => {
                session.close(CloseReason::TransportClose);
                break;
            }
        }
    }
    shared.live_websockets.fetch_sub(1, Ordering::AcqRel);
    shared.websocket_ended.notify_waiters();
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
    Incoming(Option<Result<WsMessage, tungstenite::Error>>),
}

/// Waits for queued frames (not while pausing until `resume_at`), the end of the pause, or a
/// message from the client.
async fn wait(
    session: &Session,
    stream: &mut Stream,
    unblocked: &mut bool,
    owes: bool,
    resume_at: Option<tokio::time::Instant>,
    reads_first: bool,
) -> Wake {
    let mut pause = std::pin::pin!(resume_at.map(tokio::time::sleep_until));
    std::future::poll_fn(|cx| {
        if reads_first && let Poll::Ready(m) = poll_message(stream, cx, unblocked, owes) {
            return Poll::Ready(Wake::Incoming(m));
        }
        let woken = match pause.as_mut().as_pin_mut() {
            None => session.poll_writer_woken(cx).map(|()| Wake::Queued),
            Some(sleep) => sleep.poll(cx).map(|()| Wake::Resume),
        };
        if woken.is_ready() {
            return woken;
        }
        if !reads_first && let Poll::Ready(m) = poll_message(stream, cx, unblocked, owes) {
            return Poll::Ready(Wake::Incoming(m));
        }
        Poll::Pending
    })
    .await
}

/// Polls for the next message. Reads only when a read can find something: the socket is
/// readable, or tungstenite may hold frames it read already, or it owes a pong it could not write
/// yet. (A read attempt costs tungstenite a zeroing of its read buffer; without this every wake-up
/// for a write would pay it.)
fn poll_message(
    stream: &mut Stream,
    cx: &mut Context<'_>,
    unblocked: &mut bool,
    owes: bool,
) -> Poll<Option<Result<WsMessage, tungstenite::Error>>> {
    if !*unblocked && !owes && stream.get_ref().poll_read_ready(cx).is_pending() {
        return Poll::Pending;
    }
    let polled = stream.poll_next_unpin(cx);
    *unblocked = polled.is_ready();
    polled
}

/// Frames are copied into writes of up to this many bytes (a larger frame is written on its own).
const WRITE_CHUNK: usize = 64 * 1024;

/// Writes the batch straight to the socket, each frame as framed when it was built: one write for
/// the whole batch. A pong tungstenite owes goes out first, so no frame is cut by another.
async fn write_batch(
    stream: &mut Stream,
    batch: &mut Vec<Frame>,
    owes: &mut bool,
) -> Result<(), tungstenite::Error> {
    if *owes {
        stream.flush().await?;
        *owes = false;
    }
    let io = stream.get_mut();
    if let [frame] = batch.as_slice() {
        io.write_all(frame.websocket_bytes()).await?;
    } else {
        let total: usize = batch.iter().map(|f| f.websocket_bytes().len()).sum();
        let mut out = Vec::with_capacity(total.min(WRITE_CHUNK));
        for frame in batch.iter() {
            let bytes = frame.websocket_bytes();
            if !out.is_empty() && out.len() + bytes.len() > WRITE_CHUNK {
                io.write_all(&out).await?;
                out.clear();
            }
            if bytes.len() >= WRITE_CHUNK {
                io.write_all(bytes).await?;
            } else {
                out.extend_from_slice(bytes);
            }
        }
        if !out.is_empty() {
            io.write_all(&out).await?;
        }
    }
    batch.clear();
    if let Io::Upgraded(_) = io {
        io.flush().await?;
    }
    Ok(())
}

fn handle_message(session: &Arc<Session>, message: WsMessage) -> Flow {
    match message {
        WsMessage::Text(text) => match Packet::decode_text(Bytes::from(text)) {
            Ok(packet) => session.receive(packet),
            Err(error) => {
                tracing::debug!(sid = %session.id, %error, "malformed websocket packet");
                session.close(CloseReason::ParseError);
                Flow::Closed
            }
        },
        WsMessage::Binary(bytes) => session.receive(Packet::decode_binary(bytes)),
        WsMessage::Close(_) => {
            session.close(CloseReason::TransportClose);
            Flow::Closed
        }
        WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => Flow::Continue,
    }
}
