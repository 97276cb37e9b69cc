//! Websocket handshakes on the engine's own connections ([`crate::Engine::serve`]), answered
//! without hyper: the `101 Switching Protocols` and the open packet go out in one write, and the
//! session's websocket task starts on the connection.
//!
//! Through hyper, a new websocket session costs an HTTP connection (its 8 KiB read buffer, its
//! dispatcher) and a write for the 101 before the one for the open packet: a quarter of the
//! writes of a connection's first round trips, each a loopback delivery to the client.
//!
//! Only the common case is taken here, and anything else is handed to hyper with the bytes read so
//! far ([`Prefixed`]), so every error answer and every other request is hyper's as before. Taken:
//! the first read holds a complete `GET` head (HTTP/1.1, at most [`MAX_HEADERS`] headers, no body)
//! for the engine's path, a handshake (`EIO=4`, `transport=websocket`, no `sid`) with the
//! websocket transport enabled, `Upgrade: websocket`, a key and version 13. The allow-request
//! hook runs here as on the hyper path; its refusal, and a full session table, are answered here
//! with the same status and JSON body as hyper would send, then the connection is closed. Bytes
//! after the head (frames a client sent right away) are the websocket's first bytes.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::{HeaderMap, Method};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::config::{Cors, CorsOrigin};
use crate::engine::{Engine, header_has_token};
use crate::polling::open_frame;
use crate::request::{EngineQuery, RequestInfo, TransportKind};
use crate::response::{RequestError, apply_cors, error_body};
use crate::session::{Phase, Session};
use crate::ws_stream::{Io, WsStream};

/// Most headers a handshake taken here may have (more: hyper reads it).
const MAX_HEADERS: usize = 32;

/// Bytes read for the first look at a connection: a head longer than this goes to hyper.
const FIRST_READ: usize = 4096;

thread_local! {
    /// Where [`read_first`] reads: one buffer per thread, so that a connection's first read costs an
    /// allocation of what arrived (a few hundred bytes) instead of a zeroed [`FIRST_READ`] one.
    /// Borrowed only for the duration of one `try_read`.
    static FIRST_READ_BUFFER: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; FIRST_READ].into_boxed_slice());
}

/// What became of a connection's first request.
pub(crate) enum FirstRequest {
    /// A websocket session was opened (101 and open packet written): its task goes on with this.
    Websocket(Arc<Session>, WsStream),
    /// Not a request taken here: the connection, with the bytes read so far, for hyper.
    Http(Prefixed),
    /// Refused (answered, closed), or the connection failed.
    Answered,
}

/// Answers a new connection's websocket handshake (`first`: the bytes read so far, see
/// [`read_first`]), or hands the connection back for hyper.
pub(crate) async fn first_request(
    engine: &Engine,
    stream: TcpStream,
    first: Bytes,
    remote_addr: SocketAddr,
) -> FirstRequest {
    let Some(handshake) = Handshake::parse(engine, &first, remote_addr) else {
        return FirstRequest::Http(Prefixed::new(stream, first));
    };
    let shared = &engine.shared;
    if let Some(hook) = &shared.config.allow_request
        && let Err(refusal) = hook(&handshake.info)
    {
        let refused = (RequestError::Forbidden, Some(refusal.message.as_str()));
        refuse(stream, &shared.config.cors, &handshake.info, refused).await;
        return FirstRequest::Answered;
    }
    let session = Session::new(
        crate::sid::generate(),
        handshake.info,
        shared.clone(),
        TransportKind::Websocket,
    );
    if let Err(error) = shared.insert(&session) {
        refuse(stream, &shared.config.cors, &session.request, (error, None)).await;
        return FirstRequest::Answered;
    }
    let mut answer = switching_protocols(&handshake.accept, &shared.config.cors, &session.request);
    answer.extend_from_slice(open_frame(&session, TransportKind::Websocket).websocket_bytes());
    let mut stream = WsStream::new(
        Io::Tcp(stream),
        &first[handshake.head_len..],
        shared.config.max_payload,
    );
    if let Err(error) = stream.io.write_all(&answer).await {
        // As when hyper's upgrade fails: the session was never open.
        tracing::debug!(%error, "websocket handshake write failed");
        session.leave_open(&mut session.state.lock(), Phase::Closed);
        shared.remove(&session.id);
        return FirstRequest::Answered;
    }
    shared.handler.on_open(&session.socket());
    session.start_heartbeat();
    FirstRequest::Websocket(session, stream)
}

/// The first bytes of a connection (at most [`FIRST_READ`]); an error once it failed or ended.
/// A `poll_fn`, not an `async fn`: it is part of the task of every connection, and this is small.
pub(crate) fn read_first(stream: &TcpStream) -> impl Future<Output = io::Result<Bytes>> + '_ {
    std::future::poll_fn(move |cx| {
        loop {
            ready!(stream.poll_read_ready(cx))?;
            let read = FIRST_READ_BUFFER.with_borrow_mut(|buffer| {
                stream
                    .try_read(buffer)
                    .map(|read| Bytes::copy_from_slice(&buffer[..read]))
            });
            match read {
                Ok(first) if first.is_empty() => {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(first) => return Poll::Ready(Ok(first)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    })
}

/// A handshake this module takes (see the module docs).
struct Handshake {
    info: RequestInfo,
    /// The `Sec-WebSocket-Accept` value.
    accept: String,
    /// Where the head ends in the first read.
    head_len: usize,
}

impl Handshake {
    fn parse(engine: &Engine, first: &[u8], remote_addr: SocketAddr) -> Option<Handshake> {
        let config = &engine.shared.config;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head_len) = request.parse(first).ok()? else {
            return None;
        };
        let (method, target, version) = (request.method?, request.path?, request.version?);
        if method != "GET" || version != 1 || engine.shared.is_shutting_down() {
            return None;
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let configured = config.path.as_str();
        if path != configured && path != configured.trim_end_matches('/') {
            return None;
        }
        let query = EngineQuery::parse(query);
        let handshake = query.sid.is_none()
            && query.protocol() == Some("4")
            && query.transport_kind() == Some(TransportKind::Websocket)
            && config.transports.websocket;
        if !handshake {
            return None;
        }
        let header = |name: &str| {
            let mut values = request
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name));
            let value = values.next()?.value;
            // A header given twice is hyper's to read.
            values.next().is_none().then_some(value)
        };
        let upgrade = http::HeaderValue::from_bytes(header("upgrade")?).ok()?;
        let has_body = header("content-length").is_some_and(|length| length != b"0")
            || request
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
        if !header_has_token(Some(&upgrade), "websocket")
            || header("sec-websocket-version")? != b"13"
            || has_body
        {
            return None;
        }
        let accept = derive_accept_key(header("sec-websocket-key")?);
        let fields = request.headers.iter().map(|h| (h.name, h.value));
        let info = RequestInfo::from_raw_get(target, fields, Some(remote_addr))?;
        Some(Handshake {
            info,
            accept,
            head_len,
        })
    }
}

/// The head of the `101 Switching Protocols` answer, with the CORS headers the hyper path adds.
fn switching_protocols(accept: &str, cors: &Cors, request: &RequestInfo) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\n");
    head.extend_from_slice(b"upgrade: websocket\r\nsec-websocket-accept: ");
    head.extend_from_slice(accept.as_bytes());
    head.extend_from_slice(b"\r\n");
    push_cors_headers(&mut head, cors, request);
    head.extend_from_slice(b"\r\n");
    head
}

/// The CORS headers of an answer to `request` (as [`crate::Engine::handle`] adds them), as header lines.
fn push_cors_headers(head: &mut Vec<u8>, cors: &Cors, request: &RequestInfo) {
    if cors.origin == CorsOrigin::Disabled {
        return;
    }
    let mut added = HeaderMap::new();
    apply_cors(cors, &Method::GET, &request.headers_uncached(), &mut added);
    for (name, value) in &added {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
}

/// Answers with the error's status and JSON body (and CORS headers), then closes the connection.
async fn refuse(
    mut stream: TcpStream,
    cors: &Cors,
    request: &RequestInfo,
    refusal: (RequestError, Option<&str>),
) {
    let (error, message) = refusal;
    let body = error_body(error, message);
    let status = error.status();
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    push_cors_headers(&mut answer, cors, request);
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(body.as_bytes());
    if stream.write_all(&answer).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// A connection handed to hyper, with the bytes read from it before: they are read first.
pub(crate) struct Prefixed {
    prefix: Bytes,
    stream: TcpStream,
}

impl Prefixed {
    fn new(stream: TcpStream, prefix: Bytes) -> Self {
        Self { prefix, stream }
    }

    /// The TCP stream, and the read bytes not handed out yet.
    pub(crate) fn into_parts(self) -> (TcpStream, Bytes) {
        (self.stream, self.prefix)
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
