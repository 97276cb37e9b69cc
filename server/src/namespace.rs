//! Namespaces: their sockets and rooms, connect middlewares and connection handler.
//!
//! A dynamic namespace (matched by a predicate) is a parent: each name a client connects to that
//! it matches becomes a child namespace with its own sockets and rooms, using the parent's
//! middlewares and handler. Broadcasting from the parent reaches every child.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use oxio_cluster::{
    Adapter, Cluster, ClusterError, ClusterLink, InMemoryAdapter, LocalNamespace, MembershipChange,
    Room, Target,
};
use parking_lot::RwLock;

use crate::broadcast::BroadcastOperator;
use crate::encode::{EncodedPacket, Parser};
use crate::error::{ConnectError, EmitError};
use crate::payload::{Args, Payload};
use crate::recovery::{RecoveryConfig, SessionStore};
use crate::server_side::{ServerAck, ServerSideEmitError, answer_payload};
use crate::socket::Socket;

/// The future a connect middleware returns.
pub type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;
type Middleware = Arc<dyn Fn(Socket) -> MiddlewareFuture + Send + Sync>;
type ConnectionHandler = Arc<dyn Fn(Socket) + Send + Sync>;
/// A server-side event handler: the arguments, and the ack when the emitting node waits for one.
pub(crate) type ServerEventHandler = Arc<dyn Fn(Payload, Option<ServerAck>) + Send + Sync>;

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
    /// Handlers of server-side events from other nodes (`server_side_emit`), by event name.
    server_events: RwLock<HashMap<String, ServerEventHandler>>,
    /// The connection to the other nodes, when the server is in a cluster (never for a dynamic
    /// parent: its children have their own).
    link: OnceLock<Arc<dyn ClusterLink>>,
}

/// What every namespace of a server shares from its configuration.
#[derive(Clone)]
pub(crate) struct NamespaceOptions {
    pub(crate) recovery: Option<RecoveryConfig>,
    pub(crate) parser: Parser,
    pub(crate) cluster: Option<Arc<dyn Cluster>>,
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
        let cluster = options.cluster.clone();
        let namespace = Arc::new(NamespaceInner {
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
            server_events: RwLock::default(),
            link: OnceLock::new(),
        });
        if let Some(cluster) = cluster.filter(|_| !is_parent) {
            let local: Weak<dyn LocalNamespace> = Arc::downgrade(&namespace) as Weak<_>;
            let _ = namespace.link.set(cluster.attach(&namespace.name, local));
        }
        namespace
    }

    /// The connection to the other nodes, when the server is in a cluster.
    pub(crate) fn link(&self) -> Option<&Arc<dyn ClusterLink>> {
        self.link.get()
    }

    /// Follows a membership change to the cluster link (room channels, bookkeeping).
    fn report_to_link<'a>(&'a self, socket: &'a str) -> impl FnMut(MembershipChange) + 'a {
        move |change| {
            if let Some(link) = self.link.get() {
                match change {
                    MembershipChange::Joined { room, created } => {
                        link.joined(socket, &room, created)
                    }
                    MembershipChange::Left { room, deleted } => link.left(socket, &room, deleted),
                }
            }
        }
    }

    /// Makes socket `id` join `rooms`.
    pub(crate) fn join(&self, id: &str, rooms: &[Room]) {
        self.adapter.join(id, rooms, &mut self.report_to_link(id));
    }

    /// Makes socket `id` leave `room`.
    pub(crate) fn leave(&self, id: &str, room: &str) {
        self.adapter.leave(id, room, &mut self.report_to_link(id));
    }

    pub(crate) fn server_event_handler(&self, event: &str) -> Option<ServerEventHandler> {
        self.origin().server_events.read().get(event).cloned()
    }

    pub(crate) fn name(&self) -> &Room {
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
        let id = socket.id_room().clone();
        self.adapter.add(id.clone(), socket.clone());
        if let Some(link) = self.link.get() {
            link.joined(&id, &id, true);
        }
    }

    pub(crate) fn call_connection_handler(&self, socket: Socket) {
        let handler = self.origin().on_connection.read().clone();
        if let Some(handler) = handler {
            handler(socket);
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        self.adapter.remove(id, &mut self.report_to_link(id));
        if let Some(link) = self.link.get() {
            link.removed(id);
        }
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
        self.for_each_recipient_batch(rooms, except, &mut |batch| {
            batch.iter().for_each(|socket| deliver(socket))
        });
    }

    /// Delivers a broadcast packet to every recipient among this namespace's sockets (see
    /// [`Socket::deliver_to_batch`]).
    pub(crate) fn deliver_to_recipients(
        &self,
        rooms: &[Room],
        except: &[Room],
        packet: &EncodedPacket,
        volatile: bool,
    ) {
        self.for_each_recipient_batch(rooms, except, &mut |batch| {
            Socket::deliver_to_batch(batch, packet, volatile)
        });
    }

    /// The recipients in the adapter's batches (see [`oxio_cluster::Adapter::for_each_local`]).
    fn for_each_recipient_batch(
        &self,
        rooms: &[Room],
        except: &[Room],
        deliver: &mut dyn FnMut(&[&Socket]),
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

    /// Handles server-side events `event` from other nodes (Node's `nsp.on(event)`); `ack` is
    /// set when the emitting node waits for an answer. A later registration replaces the earlier.
    /// The handler runs on the task that receives every message from the other nodes: spawn a
    /// task for slow work (the [`ServerAck`] can move into it).
    pub fn on_server_event(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Payload, Option<ServerAck>) + Send + Sync + 'static,
    ) -> &Self {
        self.inner
            .server_events
            .write()
            .insert(event.into(), Arc::new(handler));
        self
    }

    /// Fires a server-side event on every other node of the cluster (Node's
    /// `nsp.serverSideEmit`). Without a cluster there is no other node: nothing happens.
    pub fn server_side_emit(&self, event: &str, args: Args) -> Result<(), EmitError> {
        check_server_event(event)?;
        let data = crate::cluster::event_data(event, &args)?;
        for namespace in self.inner.broadcast_targets() {
            if let Some(link) = namespace.link() {
                link.server_side_emit(&data);
            }
        }
        Ok(())
    }

    /// Fires a server-side event on every other node and waits for one answer from each (Node's
    /// `nsp.serverSideEmitWithAck`): the answers, or Node's timeout error with those that came.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Args,
    ) -> Result<Vec<Payload>, ServerSideEmitError> {
        let data =
            crate::cluster::event_data(event, &args).map_err(|error| ServerSideEmitError {
                message: error.to_string(),
                responses: Vec::new(),
            })?;
        let mut responses = Vec::new();
        let mut error = None;
        for namespace in self.inner.broadcast_targets() {
            if let Some(link) = namespace.link() {
                let acks = link.server_side_emit_with_ack(&data).await;
                responses.extend(acks.responses.into_iter().map(answer_payload));
                error = error.or(acks.error);
            }
        }
        match error {
            None => Ok(responses),
            Some(message) => Err(ServerSideEmitError { message, responses }),
        }
    }

    /// The number of server processes sharing this namespace, this one included (1 without a
    /// cluster; Node's `adapter.serverCount()`).
    pub async fn server_count(&self) -> usize {
        match self.inner.link() {
            Some(link) => link.server_count().await,
            None => 1,
        }
    }

    /// Every room with members on any node, socket id rooms included (Node's
    /// `adapter.allRooms()`).
    pub async fn all_rooms(&self) -> Result<Vec<Room>, ClusterError> {
        let mut rooms = std::collections::BTreeSet::new();
        for namespace in self.inner.broadcast_targets() {
            rooms.extend(namespace.adapter().local_rooms());
            if let Some(link) = namespace.link() {
                rooms.extend(link.all_rooms().await?);
            }
        }
        Ok(rooms.into_iter().collect())
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

/// Server-side event names Node refuses (`connect`, `connect_error`, `disconnect`, ...).
fn check_server_event(event: &str) -> Result<(), EmitError> {
    if oxio_protocol::socket_io::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    Ok(())
}
