//! The engine: request routing, the session table, listening and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dashmap::DashMap;
use futures_util::FutureExt as _;
use futures_util::future::Either;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Body;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::config::{CorsOrigin, EngineConfig};
use crate::direct::{self, FirstRequest};
use crate::request::{EngineQuery, RequestInfo, TransportKind};
use crate::response::{RequestError, ResponseBody, apply_cors, error_response, status_response};
use crate::session::Session;
use crate::socket::{CloseReason, Handler};
use crate::timers::Timers;
use crate::ws_stream::WsStream;
use crate::{polling, websocket};

/// State shared by the engine, its sessions and its tasks.
pub(crate) struct Shared {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) sessions: DashMap<Arc<str>, Arc<Session>>,
    pub(crate) timers: Arc<Timers>,
    shutting_down: AtomicBool,
    /// Signalled once when shutdown starts (accept loops stop).
    shutdown_started: Notify,
    /// Websocket tasks still running; shutdown waits (bounded) for them to drain.
    pub(crate) live_websockets: AtomicUsize,
    pub(crate) websocket_ended: Notify,
}

impl Shared {
    pub(crate) fn remove(&self, id: &str) {
        self.sessions.remove(id);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Registers a new session, or refuses when the engine is full or stopping.
    pub(crate) fn insert(&self, session: &Arc<Session>) -> Result<(), RequestError> {
        if self.is_shutting_down() || self.sessions.len() >= self.config.max_sessions {
            return Err(RequestError::ServerFull);
        }
        self.sessions.insert(session.id.clone(), session.clone());
        // A shutdown that began since the check above either found this session among those it
        // closes (it sets the flag before it looks) or is seen here: none is left open.
        if self.is_shutting_down() {
            self.sessions.remove(&session.id);
            return Err(RequestError::ServerFull);
        }
        Ok(())
    }
}

/// An Engine.IO v4 server. Clone it freely: clones share the sessions.
///
/// Listen with [`Engine::serve`], or mount it into your own hyper service with [`Engine::handle`].
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
    _timer_task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Engine {
    /// An engine with `config`, calling `handler` for every session. Must be called inside a tokio
    /// runtime (it starts the heartbeat task).
    pub fn new(config: EngineConfig, handler: impl Handler) -> Engine {
        let timers = Arc::new(Timers::default());
        let timer_task = tokio::spawn(timers.clone().drive());
        Engine {
            shared: Arc::new(Shared {
                config,
                handler: Box::new(handler),
                sessions: DashMap::new(),
                timers,
                shutting_down: AtomicBool::new(false),
                shutdown_started: Notify::new(),
                live_websockets: AtomicUsize::new(0),
                websocket_ended: Notify::new(),
            }),
            _timer_task: Arc::new(AbortOnDrop(timer_task)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The number of open sessions.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// The number of pending heartbeat deadlines (at most about two per session; for tests).
    pub fn timer_count(&self) -> usize {
        self.shared.timers.len()
    }

    /// Whether a request is for this engine (its path is the configured one).
    pub fn matches<B>(&self, request: &Request<B>) -> bool {
        let path = request.uri().path();
        let configured = &self.shared.config.path;
        path == configured || path == configured.trim_end_matches('/')
    }

    /// Answers one HTTP request addressed to the engine (the caller routes by path; see
    /// [`Engine::matches`]). Websocket upgrades need hyper's upgrade support on the connection
    /// (`serve_connection(..).with_upgrades()`).
    pub async fn handle<B>(
        &self,
        request: Request<B>,
        remote_addr: Option<SocketAddr>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let cors_enabled = self.shared.config.cors.origin != CorsOrigin::Disabled;
        let method = request.method().clone();
        let request_headers = request.headers().clone();
        let mut response = if method == Method::OPTIONS && cors_enabled {
            status_response(StatusCode::NO_CONTENT)
        } else {
            self.route(request, remote_addr).await
        };
        apply_cors(
            &self.shared.config.cors,
            &method,
            &request_headers,
            response.headers_mut(),
        );
        response
    }

    async fn route<B>(
        &self,
        mut request: Request<B>,
        remote_addr: Option<SocketAddr>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let config = &self.shared.config;
        let query = request.uri().query().unwrap_or("").to_owned();
        let query = EngineQuery::parse(&query);
        let fail = |error| error_response(error, None);

        let transport = match query.transport_kind() {
            Some(TransportKind::Polling) if config.transports.polling => TransportKind::Polling,
            Some(TransportKind::Websocket) if config.transports.websocket => {
                TransportKind::Websocket
            }
            _ => return fail(RequestError::UnknownTransport),
        };
        let is_upgrade = websocket::is_upgrade_request(&request);
        let Some(sid) = query.sid else {
            if request.method() != Method::GET {
                return fail(RequestError::BadHandshakeMethod);
            }
            if transport == TransportKind::Websocket && !is_upgrade {
                return fail(RequestError::BadRequest);
            }
            let protocol_supported = query.protocol.as_deref() == Some("4");
            return self
                .handshake(request, remote_addr, transport, protocol_supported)
                .await;
        };
        let Some(session) = self.shared.sessions.get(sid.as_ref()).map(|s| s.clone()) else {
            return fail(RequestError::UnknownSid);
        };
        if session.close_if_overdue() {
            return fail(RequestError::UnknownSid);
        }
        if query.protocol.as_deref() != Some("4") {
            return fail(RequestError::BadRequest);
        }
        let session_transport = session.state.lock().transport;
        match (transport, session_transport) {
            (TransportKind::Polling, TransportKind::Polling) => {
                polling::serve(&session, request).await
            }
            (TransportKind::Websocket, TransportKind::Polling)
                if is_upgrade && config.allow_upgrades =>
            {
                websocket::upgrade(&session, &mut request)
            }
            // A second websocket for the session (upgrading, upgraded, or native): accepted and
            // closed at once, as Node does.
            (TransportKind::Websocket, _) if is_upgrade => websocket::refuse(&mut request),
            // Polling after an upgrade, or a plain GET with transport=websocket.
            _ => fail(RequestError::BadRequest),
        }
    }

    async fn handshake<B>(
        &self,
        mut request: Request<B>,
        remote_addr: Option<SocketAddr>,
        transport: TransportKind,
        protocol_supported: bool,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let info = RequestInfo::detached(
            request.method(),
            request.uri(),
            request.headers(),
            remote_addr,
        );
        if let Some(hook) = &self.shared.config.allow_request
            && let Err(refusal) = hook(&info)
        {
            return error_response(RequestError::Forbidden, Some(&refusal.message));
        }
        if !protocol_supported {
            return error_response(RequestError::UnsupportedProtocolVersion, None);
        }
        let session = Session::new(crate::sid::generate(), info, self.shared.clone(), transport);
        if let Err(error) = self.shared.insert(&session) {
            return error_response(error, None);
        }
        match transport {
            TransportKind::Polling => polling::handshake(&session).await,
            TransportKind::Websocket => websocket::handshake(&session, &mut request),
        }
    }

    /// Accepts connections on `listener` and serves requests on the engine's path (others get 404)
    /// until [`Engine::shutdown`] is called; then stops accepting and waits (bounded by the
    /// shutdown timeout) for open HTTP connections to finish.
    ///
    /// A connection that opens with a websocket handshake is answered by the engine itself (the
    /// 101 and the open packet in one write); every other request is served by hyper.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        // Every connection task holds a receiver; `closed()` resolves when the last one has ended.
        let (stop_connections, connection_stop) = tokio::sync::watch::channel(());
        let stopped = self.shared.shutdown_started.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        loop {
            if self.shared.is_shutting_down() {
                break;
            }
            let (stream, remote_addr) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut stopped => break,
            };
            let _ = stream.set_nodelay(true);
            let accepted = Box::new(Accepted {
                engine: self.clone(),
                stream,
                remote_addr,
                stop: connection_stop.clone(),
            });
            // One task per connection, which goes on as the websocket's task all its life: the
            // first steps are boxed and freed once done, and `Then` holds nothing else beside the
            // websocket (an `async` block would keep its captures too, and tokio rounds a task up
            // to whole cache lines).
            tokio::spawn(Box::pin(accepted.first_steps()).then(|first| match first {
                Some((session, stream)) => Either::Left(websocket::run(session, stream)),
                None => Either::Right(std::future::ready(())),
            }));
        }
        drop(connection_stop);
        let _ = stop_connections.send(());
        let _ = tokio::time::timeout(
            self.shared.config.shutdown_timeout,
            stop_connections.closed(),
        )
        .await;
        Ok(())
    }

    /// Serves one HTTP connection with hyper until it ends, or until `stop` says the engine is
    /// shutting down (then gracefully).
    async fn serve_http(
        &self,
        stream: direct::Prefixed,
        remote_addr: SocketAddr,
        mut stop: tokio::sync::watch::Receiver<()>,
    ) {
        {
            let engine = self.clone();
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let engine = engine.clone();
                async move {
                    let response = if engine.matches(&request) {
                        engine.handle(request, Some(remote_addr)).await
                    } else {
                        status_response(StatusCode::NOT_FOUND)
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "http connection ended with an error");
            }
        }
    }

    /// Graceful shutdown: stops accepting (every [`Engine::serve`] returns), closes every session
    /// with a close packet ("server shutting down"), and waits, at most the shutdown timeout, for
    /// websocket connections to write what they had queued.
    pub async fn shutdown(&self) {
        if self.shared.shutting_down.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.shutdown_started.notify_waiters();
        let sessions: Vec<Arc<Session>> = self
            .shared
            .sessions
            .iter()
            .map(|entry| entry.value().clone())
            .collect();
        for session in sessions {
            session.close(CloseReason::ServerShutdown);
        }
        let drained = async {
            loop {
                let ended = self.shared.websocket_ended.notified();
                if self.shared.live_websockets.load(Ordering::Acquire) == 0 {
                    break;
                }
                ended.await;
            }
        };
        let _ = tokio::time::timeout(self.shared.config.shutdown_timeout, drained).await;
    }
}

/// Whether the request asks for a websocket upgrade (`Connection: upgrade`, `Upgrade: websocket`).
pub(crate) fn header_has_token(value: Option<&http::HeaderValue>, token: &str) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// A connection just accepted by [`Engine::serve`], until its first request is known.
struct Accepted {
    engine: Engine,
    stream: TcpStream,
    remote_addr: SocketAddr,
    /// Changes when the engine shuts down; hyper's connections hold it until they end.
    stop: tokio::sync::watch::Receiver<()>,
}

impl Accepted {
    /// Reads the first request: a websocket handshake is answered without hyper, and its session
    /// and stream returned; any other request is served by hyper (then `None`).
    async fn first_steps(self) -> Option<(Arc<Session>, WsStream)> {
        let Accepted {
            engine,
            stream,
            remote_addr,
            mut stop,
        } = self;
        let first = tokio::select! {
            first = direct::read_first(&stream) => first.ok()?,
            _ = stop.changed() => return None,
        };
        match direct::first_request(&engine, stream, first, remote_addr).await {
            FirstRequest::Websocket(session, stream) => Some((session, stream)),
            FirstRequest::Http(stream) => {
                // Boxed: hyper's connection is large, and most connections never get here.
                Box::pin(engine.serve_http(stream, remote_addr, stop)).await;
                None
            }
            FirstRequest::Answered => None,
        }
    }
}
