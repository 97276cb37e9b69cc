//! Namespaces: their sockets and rooms, connect middlewares and connection handler.
//!
//! A dynamic namespace (matched by a predicate) is a parent: each name a client connects to that
//! it matches becomes a child namespace with its own sockets and rooms, using the parent's
//! middlewares and handler. Broadcasting from the parent reaches every child.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oxio_cluster::{Adapter, InMemoryAdapter, Room, Target};
use parking_lot::RwLock;

use crate::broadcast::BroadcastOperator;
use crate::encode::Parser;
use crate::error::{ConnectError, EmitError};
use crate::payload::Args;
use crate::recovery::{RecoveryConfig, SessionStore};
use crate::socket::Socket;

/// The future a connect middleware returns.
pub type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;
type Middleware = Arc<dyn Fn(Socket) -> MiddlewareFuture + Send + Sync>;
type ConnectionHandler = Arc<dyn Fn(Socket) + Send + Sync>;

pub(crate) struct NamespaceInner {
    name: Room,
    adapter: Box<dyn Adapter<Socket>>,
    /// Set for the children of a dynamic namespace: middlewares and handler come from it.
    parent: Option<Arc<NamespaceInner>>,
    /// A dynamic namespace: it has no sockets of its own, its children do.
    is_parent: bool,
    children: RwLock<Vec<Arc<NamespaceInner>>>,
    middlewares: RwLock<Vec<Middleware>>,
    on_connection: RwLock<Option<ConnectionHandler>>,
    ack_ids: AtomicU64,
    recovery: Option<SessionStore>,
    parser: Parser,
}

/// What every namespace of a server shares from its configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NamespaceOptions {
    pub(crate) recovery: Option<RecoveryConfig>,
    pub(crate) parser: Parser,
}

impl NamespaceInner {
    pub(crate) fn new(
        name: Room,
        parent: Option<Arc<NamespaceInner>>,
        options: NamespaceOptions,
    ) -> Arc<NamespaceInner> {
        Self::build(name, parent, false, options)
    }

    /// A dynamic namespace (the parent of the namespaces its predicate matches).
    pub(crate) fn new_parent(name: Room, options: NamespaceOptions) -> Arc<NamespaceInner> {
        Self::build(name, None, true, options)
    }

    fn build(
        name: Room,
        parent: Option<Arc<NamespaceInner>>,
        is_parent: bool,
        options: NamespaceOptions,
    ) -> Arc<NamespaceInner> {
        Arc::new(NamespaceInner {
            name,
            is_parent,
            adapter: Box::new(InMemoryAdapter::new()),
            parent,
            children: RwLock::default(),
            middlewares: RwLock::default(),
            on_connection: RwLock::default(),
            ack_ids: AtomicU64::new(0),
            recovery: options.recovery.map(SessionStore::new),
            parser: options.parser,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn adapter(&self) -> &dyn Adapter<Socket> {
        &*self.adapter
    }

    /// The wire format of this server's packets.
    pub(crate) fn parser(&self) -> Parser {
        self.parser
    }

    /// The recovery tables, when connection state recovery is on.
    pub(crate) fn recovery(&self) -> Option<&SessionStore> {
        self.recovery.as_ref()
    }

    pub(crate) fn add_child(&self, child: Arc<NamespaceInner>) {
        self.children.write().push(child);
    }

    /// The namespace whose middlewares and handler apply (the parent for a dynamic child).
    fn origin(&self) -> &NamespaceInner {
        self.parent.as_deref().unwrap_or(self)
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn has_middlewares(&self) -> bool {
        !self.origin().middlewares.read().is_empty()
    }

    /// Runs the connect middlewares in order; the first error refuses the connection.
    pub(crate) async fn run_middlewares(&self, socket: &Socket) -> Result<(), ConnectError> {
        let middlewares = self.origin().middlewares.read().clone();
        for middleware in middlewares {
            middleware(socket.clone()).await?;
        }
        Ok(())
    }

    /// Registers a connected socket (in its own id room) and calls the connection handler.
    pub(crate) fn add(&self, socket: &Socket) {
        self.adapter.add(socket.id_room().clone(), socket.clone());
    }

    pub(crate) fn call_connection_handler(&self, socket: Socket) {
        let handler = self.origin().on_connection.read().clone();
        if let Some(handler) = handler {
            handler(socket);
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        self.adapter.remove(id);
    }

    /// The namespaces a broadcast from this one reaches: itself, or every child of a dynamic
    /// parent (each encodes the packet with its own name).
    pub(crate) fn broadcast_targets(self: &Arc<Self>) -> Vec<Arc<NamespaceInner>> {
        if self.is_parent {
            self.children.read().clone()
        } else {
            vec![self.clone()]
        }
    }

    /// Calls `deliver` once per recipient among this namespace's sockets. `deliver` runs under
    /// the adapter's locks: it must not block nor call back into the namespace (see
    /// [`oxio_cluster::adapter`]).
    pub(crate) fn for_each_recipient(
        &self,
        rooms: &[Room],
        except: &[Room],
        deliver: &mut dyn FnMut(&Socket),
    ) {
        let target = Target {
            rooms,
            except,
            local: false,
        };
        self.adapter.for_each_local(target, deliver);
    }

    pub(crate) fn socket(&self, id: &str) -> Option<Socket> {
        self.adapter.socket(id)
    }
}

/// A namespace handle (`io.of("/admin")`). Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    pub(crate) inner: Arc<NamespaceInner>,
}

impl Namespace {
    /// The name (`/`, `/admin`; for a dynamic parent, the name it was registered with).
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// Sets the handler called for every socket that connects (Node's `on("connection")`).
    pub fn on_connection(&self, handler: impl Fn(Socket) + Send + Sync + 'static) -> &Self {
        *self.inner.on_connection.write() = Some(Arc::new(handler));
        self
    }

    /// Adds a connect middleware (Node's `use`): it runs, in order with the others, before the
    /// socket connects; an error refuses the connection, and the client gets `connect_error` with
    /// the error's message and data.
    pub fn use_middleware<F, Fut>(&self, middleware: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.inner
            .middlewares
            .write()
            .push(Arc::new(move |socket| Box::pin(middleware(socket))));
        self
    }

    /// A broadcast to every socket of the namespace (add rooms and flags with the operators).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.clone())
    }

    /// Targets a room.
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Targets every socket but those in `room`.
    pub fn except(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.broadcast().emit(event, value)
    }

    /// Emits to every socket of the namespace, with these arguments.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.broadcast().emit_args(event, args)
    }

    /// A connected socket of this namespace by id.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        self.inner.socket(id)
    }

    /// The number of connected sockets (of every child, for a dynamic parent).
    pub fn socket_count(&self) -> usize {
        self.inner
            .broadcast_targets()
            .iter()
            .map(|namespace| namespace.adapter.local_count())
            .sum()
    }
}
