//! The server: its configuration, its namespaces, and the bridge from the engine.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Body;
use oxio_cluster::{Cluster, ClusterError, Room};
use oxio_engine::{CloseReason, Engine, EngineConfig, Message, ResponseBody};
use oxio_protocol::socket_io::DecodeLimits;
use parking_lot::RwLock;

use crate::broadcast::BroadcastOperator;
use crate::client::Client;
use crate::connect_deadline::ConnectDeadlines;
use crate::encode::Parser;
use crate::error::EmitError;
use crate::namespace::{Namespace, NamespaceInner, NamespaceOptions};
use crate::payload::{Args, Payload};
use crate::recovery::RecoveryConfig;
use crate::remote_socket::RemoteSocket;
use crate::server_side::ServerAck;

type NamespacePredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Server options. Engine options (path, ping, payload limits, CORS, ...) are set on the
/// [`EngineConfig`]; its path defaults to `/socket.io/` here.
#[derive(Clone, Debug)]
pub struct IoConfig {
    engine: EngineConfig,
    connect_timeout: Duration,
    decode_limits: DecodeLimits,
    recovery: Option<RecoveryConfig>,
    parser: Parser,
    cluster: Option<ClusterHandle>,
}

/// The cluster a server joins, in the configuration (only its presence is shown by `Debug`).
#[derive(Clone)]
struct ClusterHandle(Arc<dyn Cluster>);

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cluster")
    }
}

impl Default for IoConfig {
    fn default() -> Self {
        IoConfig {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_secs(45),
            decode_limits: DecodeLimits::default(),
            recovery: None,
            parser: Parser::Default,
            cluster: None,
        }
    }
}

impl IoConfig {
    /// The Engine.IO options. Give a path explicitly: `EngineConfig`'s own default is `/engine.io/`.
    pub fn engine(mut self, engine: EngineConfig) -> Self {
        self.engine = engine;
        self
    }

    /// How long a connection may stay without joining any namespace before it is closed.
    /// Default 45 s (Node's `connectTimeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The packet format (Node's `parser` option): [`Parser::Default`], or [`Parser::Msgpack`] for
    /// clients using `socket.io-msgpack-parser`. Every client of the server must use the same.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// Turns connection state recovery on (off by default, as in Node): a client that reconnects
    /// within the configured duration keeps its id and rooms and gets the broadcasts it missed.
    pub fn connection_state_recovery(mut self, recovery: RecoveryConfig) -> Self {
        self.recovery = Some(recovery);
        self
    }

    /// Joins a cluster (Node's `adapter` option with a Redis adapter): broadcasts, room
    /// operations, `fetch_sockets` and server-side events reach every node. Without it the server
    /// is on its own, everything in memory.
    pub fn cluster(mut self, cluster: Arc<dyn Cluster>) -> Self {
        self.cluster = Some(ClusterHandle(cluster));
        self
    }

    /// Most binary attachments one packet may announce. Default 10 (Node's `maxAttachments`).
    pub fn max_attachments(mut self, attachments: usize) -> Self {
        self.decode_limits.max_attachments = attachments;
        self
    }
}

pub(crate) struct IoInner {
    config: IoConfig,
    connect_deadlines: Arc<ConnectDeadlines>,
    namespaces: RwLock<HashMap<Room, Arc<NamespaceInner>>>,
    dynamic: RwLock<Vec<(NamespacePredicate, Arc<NamespaceInner>)>>,
}

impl IoInner {
    pub(crate) fn decode_limits(&self) -> DecodeLimits {
        self.config.decode_limits
    }

    pub(crate) fn parser(&self) -> Parser {
        self.config.parser
    }

    pub(crate) fn msgpack_limits(&self) -> oxio_protocol::msgpack::MsgpackLimits {
        oxio_protocol::msgpack::MsgpackLimits {
            max_attachments: self.config.decode_limits.max_attachments,
            ..Default::default()
        }
    }

    fn namespace_options(&self) -> NamespaceOptions {
        NamespaceOptions {
            recovery: self.config.recovery,
            parser: self.config.parser,
            cluster: self.config.cluster.as_ref().map(|handle| handle.0.clone()),
        }
    }

    pub(crate) fn connect_deadlines(&self) -> &Arc<ConnectDeadlines> {
        &self.connect_deadlines
    }

    fn static_namespace(&self, name: &str) -> Arc<NamespaceInner> {
        if let Some(namespace) = self.namespaces.read().get(name) {
            return namespace.clone();
        }
        self.namespaces
            .write()
            .entry(name.into())
            .or_insert_with(|| NamespaceInner::new(name.into(), None, self.namespace_options()))
            .clone()
    }

    /// The namespace a client asks for: a registered one, or a new child of the first dynamic
    /// namespace whose predicate matches. `None` means "Invalid namespace".
    pub(crate) fn namespace_for(&self, name: &str) -> Option<Arc<NamespaceInner>> {
        if let Some(namespace) = self.namespaces.read().get(name) {
            return Some(namespace.clone());
        }
        let parent = self
            .dynamic
            .read()
            .iter()
            .find(|(matches, _)| matches(name))
            .map(|(_, parent)| parent.clone())?;
        let mut namespaces = self.namespaces.write();
        let child = namespaces
            .entry(name.into())
            .or_insert_with(|| {
                let child = NamespaceInner::new(
                    name.into(),
                    Some(parent.clone()),
                    self.namespace_options(),
                );
                parent.add_child(child.clone());
                child
            })
            .clone();
        Some(child)
    }
}

/// Bridges engine sessions to Socket.IO clients.
struct EngineBridge {
    io: Arc<IoInner>,
}

impl oxio_engine::Handler for EngineBridge {
    fn on_open(&self, socket: &oxio_engine::Socket) {
        socket.set_extension(Client::new(socket.clone(), self.io.clone()));
    }

    fn on_message(&self, socket: &oxio_engine::Socket, message: Message) {
        if let Some(client) = socket.extension::<Client>() {
            client.on_message(message);
        }
    }

    fn on_close(&self, socket: &oxio_engine::Socket, reason: CloseReason) {
        if let Some(client) = socket.extension::<Client>() {
            client.on_close(reason);
        }
    }
}

/// A Socket.IO server. Clone it freely: clones are the same server.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = oxio_server::Io::new(oxio_server::IoConfig::default());
/// io.of("/").on_connection(|socket| {
///     socket.on("ping", |socket, _payload, ack| {
///         if let Some(ack) = ack {
///             let _ = ack.send("pong");
///         }
///     });
/// });
/// io.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?).await
/// # }
/// ```
#[derive(Clone)]
pub struct Io {
    inner: Arc<IoInner>,
    engine: Engine,
}

impl Io {
    /// A server with `config` and the main namespace `/`. Must be called in a tokio runtime.
    pub fn new(config: IoConfig) -> Io {
        let inner = Arc::new(IoInner {
            connect_deadlines: ConnectDeadlines::new(config.connect_timeout),
            config,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
        });
        inner.static_namespace("/");
        let engine = Engine::new(
            inner.config.engine.clone(),
            EngineBridge { io: inner.clone() },
        );
        Io { inner, engine }
    }

    /// A namespace by name, created if it does not exist yet (`/` is added in front if missing).
    pub fn of(&self, name: &str) -> Namespace {
        let inner = if name.starts_with('/') {
            self.inner.static_namespace(name)
        } else {
            self.inner.static_namespace(&format!("/{name}"))
        };
        Namespace { inner }
    }

    /// A dynamic namespace: every name for which `matches` returns true can be connected to, as
    /// its own namespace sharing this one's middlewares and connection handler (Node's
    /// `io.of(/^\/dynamic-\d+$/)`). `label` names the parent in logs.
    pub fn of_dynamic(
        &self,
        label: &str,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Namespace {
        let parent = NamespaceInner::new_parent(label.into(), self.inner.namespace_options());
        self.inner
            .dynamic
            .write()
            .push((Arc::new(matches), parent.clone()));
        Namespace { inner: parent }
    }

    /// The main namespace's broadcast operator.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.of("/").broadcast()
    }

    /// Targets a room of the main namespace.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// Emits to every socket of the main namespace.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.of("/").emit(event, value)
    }

    /// Emits to every socket of the main namespace, with these arguments.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.of("/").emit_args(event, args)
    }

    /// The sockets of the main namespace, on every node of a cluster.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, ClusterError> {
        self.broadcast().fetch_sockets().await
    }

    /// Fires a server-side event on every other node of the cluster (Node's
    /// `io.serverSideEmit`); they handle it with [`Namespace::on_server_event`].
    pub fn server_side_emit(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.of("/").server_side_emit(event, args)
    }

    /// Handles server-side events `event` from other nodes (Node's `io.on(event)`).
    pub fn on_server_event(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Payload, Option<ServerAck>) + Send + Sync + 'static,
    ) {
        self.of("/").on_server_event(event, handler);
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Accepts connections on `listener` until [`Io::shutdown`].
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        self.engine.serve(listener).await
    }

    /// Answers one HTTP request (to mount the server in another hyper service).
    pub async fn handle<B>(
        &self,
        request: Request<B>,
        remote_addr: Option<SocketAddr>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.engine.handle(request, remote_addr).await
    }

    /// Graceful shutdown: every socket disconnects with "server shutting down", connections drain,
    /// then the cluster links close (this node's Redis bookkeeping is removed).
    pub async fn shutdown(&self) {
        self.engine.shutdown().await;
        if let Some(cluster) = &self.inner.config.cluster {
            cluster.0.close().await;
        }
    }
}
