//! The websocket transport: direct websocket sessions, the upgrade of polling sessions, and the one
//! task per connection that reads packets and writes queued frames in batches.
//!
//! The connection task owns the stream. It waits for either an incoming message (handled inline, so
//! the application sees packets in order and no task is spawned per message) or a wake-up from the
//! session queue; on a wake-up it takes everything queued and writes it with one flush, so frames
//! queued together leave in one `write`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use oxio_protocol::engine_io::Packet;
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

type Stream = WebSocketStream<TokioIo<Upgraded>>;

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
        Ok(upgraded) => Some(
            WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(websocket_config(shared)),
            )
            .await,
        ),
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
    loop {
        let mut pause = None;
        let closing = {
            let mut state = session.state.lock();
            if resume_at.is_none() {
                pause = Session::drain_for_websocket(&mut state, &mut batch);
            }
            state.writing = !batch.is_empty();
            !matches!(state.phase, Phase::Open | Phase::Upgrading { .. })
        };
        if closing && resume_at.is_some() {
            // Closing: write everything now.
            Session::drain_into(&mut session.state.lock(), &mut batch);
        }
        if !batch.is_empty() {
            let written = write_batch(&mut stream, &mut batch).await;
            session.state.lock().writing = false;
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
        // Unbiased on purpose: a steady stream of outgoing frames must not starve reads (pongs), nor
        // a chatty client starve writes.
        tokio::select! {
            _ = session.wake.notified(), if resume_at.is_none() => {}
            _ = sleep_until_some(resume_at), if resume_at.is_some() => {
                resume_at = None;
            }
            incoming = stream.next() => match incoming {
                Some(Ok(message)) => {
                    handle_message(&session, message);
                }
                // A peer that goes away without a close frame closed the transport (as Node's ws
                // reports it, code 1006); other read errors are transport errors.
                Some(Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                ) | tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => {
                    session.close(CloseReason::TransportClose);
                    break;
                }
                Some(Err(error)) => {
                    tracing::debug!(sid = %session.id, %error, "websocket read failed");
                    session.close(CloseReason::TransportError);
                    break;
                }
                None => {
                    session.close(CloseReason::TransportClose);
                    break;
                }
            },
        }
    }
    shared.live_websockets.fetch_sub(1, Ordering::AcqRel);
    shared.websocket_ended.notify_waiters();
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Feeds every frame, then flushes once: one write for the whole batch.
async fn write_batch(
    stream: &mut Stream,
    batch: &mut Vec<Frame>,
) -> Result<(), tungstenite::Error> {
    for frame in batch.drain(..) {
        stream.feed(frame.to_websocket()).await?;
    }
    stream.flush().await
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
