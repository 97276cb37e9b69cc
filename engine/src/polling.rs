//! HTTP long-polling: the handshake GET, parked GETs that carry queued frames, and POSTs that carry
//! packets from the client.
//!
//! At most one GET and one POST are in progress per session; a second of either is an error that
//! closes the session, as in Node ("overlap from client"). A GET that the client abandons closes the
//! session with "transport error", like Node's "poll connection closed prematurely".

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use oxio_protocol::engine_io::{Handshake, decode_payload};

use crate::frame::{Frame, encode_polling_payload};
use crate::request::TransportKind;
use crate::response::{ResponseBody, ok_response, payload_response, status_response};
use crate::session::{Flow, Phase, Session};
use crate::socket::CloseReason;

/// The open packet for `session`.
pub(crate) fn open_frame(session: &Session, transport: TransportKind) -> Frame {
    let config = &session.shared.config;
    let can_upgrade =
        transport == TransportKind::Polling && config.allow_upgrades && config.transports.websocket;
    let handshake = Handshake {
        sid: session.id.to_string(),
        upgrades: if can_upgrade {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        },
        ping_interval: config.ping_interval.as_millis() as u64,
        ping_timeout: config.ping_timeout.as_millis() as u64,
        max_payload: config.max_payload as u64,
    };
    Frame::packet(&handshake.to_packet())
}

/// Answers the handshake GET with the open packet alone, as Node does: what `on_open` sends goes out
/// with the next GET (clients parse the handshake body as one packet).
pub(crate) async fn handshake(session: &Arc<Session>) -> Response<ResponseBody> {
    let open = encode_polling_payload(&[open_frame(session, TransportKind::Polling)]);
    session.shared.handler.on_open(&session.socket());
    session.start_heartbeat();
    payload_response(open)
}

/// A GET or POST for an existing polling session.
pub(crate) async fn serve<B>(session: &Arc<Session>, request: Request<B>) -> Response<ResponseBody>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match *request.method() {
        Method::GET => poll(session).await,
        Method::POST => receive(session, request).await,
        _ => status_response(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// Marks the parked GET done when the response is ready; if the future is dropped first (the client
/// went away), the session closes.
struct ParkedPoll<'a> {
    session: &'a Arc<Session>,
    answered: bool,
}

impl Drop for ParkedPoll<'_> {
    fn drop(&mut self) {
        self.session.state.lock().poll_parked = false;
        if !self.answered {
            self.session.close(CloseReason::TransportError);
        }
    }
}

async fn poll(session: &Arc<Session>) -> Response<ResponseBody> {
    {
        let mut state = session.state.lock();
        if state.poll_parked {
            drop(state);
            session.close(CloseReason::TransportError);
            return status_response(StatusCode::BAD_REQUEST);
        }
        state.poll_parked = true;
    }
    let mut parked = ParkedPoll {
        session,
        answered: false,
    };
    let mut frames = Vec::new();
    loop {
        {
            let mut state = session.state.lock();
            if state.transport != TransportKind::Polling {
                // Upgraded while parked: what is queued belongs to the websocket now.
                frames.push(Frame::NOOP);
            } else if !state.queue.is_empty() && !state.writes_held() {
                Session::drain_into(&mut state, &mut frames);
            } else {
                match state.phase {
                    Phase::Open | Phase::Upgrading { probed: false } => {}
                    Phase::Upgrading { probed: true } => frames.push(Frame::NOOP),
                    Phase::Closing | Phase::Closed => frames.push(Frame::CLOSE),
                }
            }
            if !frames.is_empty() {
                state.poll_parked = false;
                break;
            }
        }
        session.wake.notified().await;
    }
    parked.answered = true;
    drop(parked);
    if frames.last() == Some(&Frame::CLOSE) {
        session.finish_linger();
    }
    payload_response(encode_polling_payload(&frames))
}

/// Clears `post_in_progress` however the POST ends.
struct PostInProgress<'a>(&'a Session);

impl Drop for PostInProgress<'_> {
    fn drop(&mut self) {
        self.0.state.lock().post_in_progress = false;
    }
}

async fn receive<B>(session: &Arc<Session>, request: Request<B>) -> Response<ResponseBody>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    {
        let mut state = session.state.lock();
        if state.post_in_progress {
            drop(state);
            session.close(CloseReason::TransportError);
            return status_response(StatusCode::BAD_REQUEST);
        }
        state.post_in_progress = true;
    }
    let _in_progress = PostInProgress(session);
    // v4 clients send binary as base64 text; a binary body means an old or confused client.
    if parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"))
    {
        session.close(CloseReason::TransportError);
        return status_response(StatusCode::BAD_REQUEST);
    }
    // An oversize body is refused with 413 and the session stays open, as in Node.
    let max_payload = session.shared.config.max_payload;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_payload as u64) {
        return status_response(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let body = match Limited::new(body, max_payload).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return status_response(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(error) => {
            tracing::debug!(sid = %session.id, %error, "polling POST aborted");
            session.close(CloseReason::TransportError);
            return status_response(StatusCode::BAD_REQUEST);
        }
    };
    // Packets before a malformed one are delivered; the malformed one closes the session with
    // "parse error" and the POST is still answered `ok`, like Node.
    let socket = session.socket();
    for packet in decode_payload(body) {
        let flow = match packet {
            Ok(packet) => Session::receive(&socket, packet),
            Err(error) => {
                tracing::debug!(sid = %session.id, %error, "malformed polling payload");
                session.close(CloseReason::ParseError);
                Flow::Closed
            }
        };
        if flow == Flow::Closed {
            break;
        }
    }
    ok_response()
}
