//! A socket: one client connected to one namespace.
//!
//! Invariants:
//! - Each socket has its own id (not the Engine.IO sid) and is in the room named after it while
//!   connected.
//! - Handlers for one socket run on the connection's reader, in packet order, one at a time.
//! - `close` runs once: it removes the socket from its namespace and rooms, settles every pending
//!   ack as unanswered, then calls the disconnect handlers with the reason.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxio_cluster::Room;
use oxio_protocol::socket_io::{Packet, RESERVED_EVENTS};
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;
use tokio::sync::oneshot;

use crate::ack::{AckSender, AckWaiter};
use crate::broadcast::BroadcastOperator;
use crate::client::Client;
use crate::encode::{self, EncodedPacket};
use crate::error::{AckError, EmitError};
use crate::handshake::Handshake;
use crate::namespace::NamespaceInner;
use crate::payload::{Args, Payload};
use crate::reason::DisconnectReason;
use crate::recovery::is_recoverable;

type EventHandler = Arc<dyn Fn(&Socket, Payload, Option<AckSender>) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;
type AnyOutgoingHandler = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;
type PacketMiddleware = Arc<dyn Fn(&Socket, &str, &Payload) -> Result<(), String> + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

/// What an incoming event goes through, kept under one lock: every event reads all three.
#[derive(Default)]
struct EventListeners {
    /// By event name. A list, not a map: sockets have a few handlers each, and a hash map of four
    /// is about 350 bytes for every connection.
    handlers: Vec<(Box<str>, EventHandler)>,
    any: Vec<AnyHandler>,
    middlewares: Vec<PacketMiddleware>,
}

impl EventListeners {
    fn handler(&self, event: &str) -> Option<EventHandler> {
        (self.handlers.iter())
            .find(|(name, _)| **name == *event)
            .map(|(_, handler)| handler.clone())
    }
}

/// Who a new socket is: a fresh identity, or the one of a recovered session.
pub(crate) struct SocketIdentity {
    pub(crate) id: Room,
    pub(crate) pid: Option<Room>,
    pub(crate) recovered: bool,
}

/// A client connected to a namespace. Cheap to clone; clones are the same socket.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

pub(crate) struct SocketInner {
    id: Room,
    /// The private session id, when connection state recovery is on (never shown to other clients).
    pid: Option<Room>,
    recovered: bool,
    namespace: Arc<NamespaceInner>,
    client: Arc<Client>,
    handshake: Handshake,
    connected: AtomicBool,
    listeners: RwLock<EventListeners>,
    any_outgoing: RwLock<Vec<AnyOutgoingHandler>>,
    on_disconnect: RwLock<Vec<DisconnectHandler>>,
    on_error: RwLock<Vec<ErrorHandler>>,
    acks: Mutex<HashMap<u64, AckWaiter>>,
    /// Node's `socket.data`: whatever the application keeps with the socket (other nodes of a
    /// cluster see it through `fetch_sockets`).
    data: RwLock<serde_json::Value>,
}

impl Socket {
    pub(crate) fn new(
        identity: SocketIdentity,
        namespace: Arc<NamespaceInner>,
        client: Arc<Client>,
        handshake: Handshake,
    ) -> Socket {
        Socket {
            inner: Arc::new(SocketInner {
                id: identity.id,
                pid: identity.pid,
                recovered: identity.recovered,
                namespace,
                client,
                handshake,
                connected: AtomicBool::new(false),
                listeners: RwLock::default(),
                any_outgoing: RwLock::default(),
                on_disconnect: RwLock::default(),
                on_error: RwLock::default(),
                acks: Mutex::default(),
                data: RwLock::new(serde_json::Value::Object(serde_json::Map::new())),
            }),
        }
    }

    /// The socket id (its own, not the Engine.IO session id).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub(crate) fn id_room(&self) -> &Room {
        &self.inner.id
    }

    pub(crate) fn pid(&self) -> Option<&Room> {
        self.inner.pid.as_ref()
    }

    /// Whether this socket recovered the state of an earlier connection (same id, same rooms,
    /// missed broadcasts delivered): Node's `socket.recovered`.
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    pub(crate) fn parser(&self) -> crate::encode::Parser {
        self.inner.namespace.parser()
    }

    pub(crate) fn namespace(&self) -> &Arc<NamespaceInner> {
        &self.inner.namespace
    }

    /// The namespace name (`/`, `/admin`, ...).
    pub fn namespace_name(&self) -> &str {
        self.inner.namespace.name()
    }

    /// What the client sent when connecting (headers, query, auth, ...).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// Node's `socket.data` (`{}` until set).
    pub fn data(&self) -> serde_json::Value {
        self.inner.data.read().clone()
    }

    /// Sets Node's `socket.data`: what the application keeps with the socket, visible to other
    /// nodes of a cluster through `fetch_sockets`.
    pub fn set_data(&self, data: serde_json::Value) {
        *self.inner.data.write() = data;
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Whether a packet emitted now goes out at once, so a volatile emit would reach this client
    /// (Node's `socket.conn.transport.writable`).
    pub fn is_writable(&self) -> bool {
        self.connected() && self.inner.client.is_writable()
    }

    pub(crate) fn mark_connected(&self) {
        self.inner.connected.store(true, Ordering::Release);
    }

    // Handlers are called on a snapshot of their list (the lock is not held while they run), so a
    // handler may register others.

    /// Handles event `event`; the handler gets the arguments and, when the client asked for one,
    /// an [`AckSender`]. A later registration for the same event replaces the earlier one.
    pub fn on(
        &self,
        event: impl Into<String>,
        handler: impl Fn(&Socket, Payload, Option<AckSender>) + Send + Sync + 'static,
    ) {
        let event: Box<str> = event.into().into_boxed_str();
        let handler: EventHandler = Arc::new(handler);
        let handlers = &mut self.inner.listeners.write().handlers;
        match handlers.iter_mut().find(|(name, _)| *name == event) {
            Some((_, registered)) => *registered = handler,
            None => handlers.push((event, handler)),
        }
    }

    /// Handles event `event` with its first argument deserialized as a `T` (typed handler). An
    /// argument that does not deserialize is reported to the [`Socket::on_error`] handlers and the
    /// handler is not called.
    ///
    /// ```no_run
    /// # fn f(socket: oxio_server::Socket) {
    /// #[derive(serde::Deserialize)]
    /// struct Move { x: i32, y: i32 }
    /// socket.on_data("move", |socket, m: Move, _ack| {
    ///     let _ = socket.broadcast().emit("moved", &(m.x, m.y));
    /// });
    /// # }
    /// ```
    pub fn on_data<T, F>(&self, event: impl Into<String>, handler: F)
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&Socket, T, Option<AckSender>) + Send + Sync + 'static,
    {
        self.on(event, move |socket, payload, ack| {
            match payload.get::<T>(0) {
                Ok(value) => handler(socket, value, ack),
                Err(error) => socket.report_error(&error.to_string()),
            }
        });
    }

    fn report_error(&self, message: &str) {
        let on_error = self.inner.on_error.read().clone();
        for handler in on_error.iter() {
            handler(self, message);
        }
    }

    /// Sees every incoming event (before its own handler), like Node's `socket.onAny`.
    pub fn on_any(&self, handler: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static) {
        self.inner.listeners.write().any.push(Arc::new(handler));
    }

    /// Sees every event this socket emits, like Node's `socket.onAnyOutgoing` (not broadcasts).
    pub fn on_any_outgoing(&self, handler: impl Fn(&Socket, &str, &Args) + Send + Sync + 'static) {
        self.inner.any_outgoing.write().push(Arc::new(handler));
    }

    /// A per-packet middleware, like Node's `socket.use`: it runs before the handlers of every
    /// incoming event; an `Err(message)` stops the event and is reported to the
    /// [`Socket::on_error`] handlers.
    pub fn use_packet(
        &self,
        middleware: impl Fn(&Socket, &str, &Payload) -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.inner
            .listeners
            .write()
            .middlewares
            .push(Arc::new(middleware));
    }

    /// Called with the message of a packet middleware's error (Node's `socket.on("error")`).
    pub fn on_error(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        self.inner.on_error.write().push(Arc::new(handler));
    }

    /// Called once when the socket disconnects, with the reason.
    pub fn on_disconnect(
        &self,
        handler: impl Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        self.inner.on_disconnect.write().push(Arc::new(handler));
    }

    /// Emits `event` with one argument.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.emit_args(event, Args::one(value))
    }

    /// Emits `event` with these arguments.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.emit_packet(event, None, &args, false)
    }

    /// Emits `event` unless the transport is not writable right now (then it is dropped), like
    /// Node's `socket.volatile.emit`.
    pub fn emit_volatile(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.emit_packet(event, None, &args, true)
    }

    fn emit_packet(
        &self,
        event: &str,
        id: Option<u64>,
        args: &Args,
        volatile: bool,
    ) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let any_outgoing = self.inner.any_outgoing.read().clone();
        for handler in any_outgoing.iter() {
            handler(self, event, args);
        }
        let packet = encode::event(self.parser(), self.namespace_name(), id, event, args)?;
        if volatile {
            self.deliver(&packet, true);
            Ok(())
        } else {
            self.send_encoded(packet)
        }
    }

    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Args,
        timeout: Duration,
    ) -> Result<Payload, AckError> {
        let id = self.inner.namespace.next_ack_id();
        let (sender, answer) = oneshot::channel();
        self.inner.acks.lock().insert(id, AckWaiter::Single(sender));
        if let Err(error) = self.emit_packet(event, Some(id), &args, false) {
            self.inner.acks.lock().remove(&id);
            return Err(error.into());
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(payload)) => Ok(payload),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.inner.acks.lock().remove(&id);
                Err(AckError::Timeout)
            }
        }
    }

    pub(crate) fn register_ack(&self, id: u64, waiter: AckWaiter) {
        self.inner.acks.lock().insert(id, waiter);
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        self.inner.acks.lock().remove(&id);
    }

    /// Joins rooms.
    pub fn join<R: Into<Room>>(&self, rooms: impl IntoIterator<Item = R>) {
        if self.connected() {
            let rooms: SmallVec<[Room; 2]> = rooms.into_iter().map(Into::into).collect();
            self.inner.namespace.join(self.id(), &rooms);
        }
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.namespace.leave(self.id(), room);
    }

    /// Leaves every room but its own id room.
    pub fn leave_all(&self) {
        for room in self.rooms() {
            if room != self.inner.id {
                self.leave(&room);
            }
        }
    }

    /// The rooms the socket is in (its own id room included).
    pub fn rooms(&self) -> Vec<Room> {
        self.inner.namespace.adapter().rooms_of(self.id())
    }

    /// Targets `room`, excluding this socket (Node's `socket.to(room)`).
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Targets every socket but those in `room`, and this one.
    pub fn except(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Targets every socket of the namespace but this one (Node's `socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.namespace.clone()).except(self.inner.id.clone())
    }

    /// Disconnects the socket ("server namespace disconnect"): the client gets a DISCONNECT
    /// packet. With `close`, the whole connection closes (every namespace of the client).
    pub fn disconnect(&self, close: bool) {
        if close {
            self.inner.client.disconnect_all();
        } else if self.connected() {
            let packet = encode::disconnect(self.parser(), self.namespace_name());
            let _ = self.send_encoded(packet);
            self.inner.client.forget(self.namespace_name());
            self.close(DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    /// Queues an encoded packet. A full queue means the client is too slow: it is disconnected.
    pub(crate) fn send_encoded(&self, packet: EncodedPacket) -> Result<(), EmitError> {
        self.inner.client.send(packet)
    }

    /// Delivers a broadcast packet; volatile ones are dropped when the transport is not writable.
    /// Runs under the adapter's locks, so a client found too slow is closed later, not here.
    pub(crate) fn deliver(&self, packet: &EncodedPacket, volatile: bool) {
        if volatile {
            self.inner.client.send_volatile(packet);
        } else {
            self.inner.client.send_from_broadcast(packet);
        }
    }

    /// Delivers a broadcast packet to a batch of recipients. Reaching a recipient's queue takes
    /// three dependent loads (socket, client, session), each a likely cache miss when a broadcast
    /// goes to thousands of sockets; touching every recipient's session first lets those misses
    /// overlap, and the sends then find what they need in the cache.
    pub(crate) fn deliver_to_batch(recipients: &[&Socket], packet: &EncodedPacket, volatile: bool) {
        for socket in recipients {
            socket.inner.client.touch();
        }
        for socket in recipients {
            socket.deliver(packet, volatile);
        }
    }

    /// An EVENT or BINARY_EVENT from the client (borrowed, not moved: only its attachments are
    /// taken).
    pub(crate) fn on_event(
        &self,
        packet: &mut Packet,
    ) -> Result<(), oxio_protocol::socket_io::DecodeError> {
        // Taken first, so that the event name can stay borrowed from the packet.
        let attachments = std::mem::take(&mut packet.attachments);
        let Some(event) = packet.event_name() else {
            return Ok(());
        };
        let payload = Payload::new(packet.args()?, attachments);
        // Copied out of the lock (empty lists cost no allocation): a listener may add listeners.
        let (any, middlewares, mut handler) = {
            let listeners = self.inner.listeners.read();
            let handler = listeners.handler(&event);
            (
                listeners.any.clone(),
                listeners.middlewares.clone(),
                handler,
            )
        };
        // As in Node: `onAny` listeners see every event, before the packet middlewares.
        for handler in &any {
            handler(self, &event, &payload);
        }
        for middleware in &middlewares {
            if let Err(message) = middleware(self, &event, &payload) {
                self.report_error(&message);
                return Ok(());
            }
        }
        if !any.is_empty() || !middlewares.is_empty() {
            // The handler as it is now, as Node looks it up after these ran (they may register it).
            handler = self.inner.listeners.read().handler(&event);
        }
        if let Some(handler) = handler {
            let ack = packet.id.map(|id| AckSender::new(self.clone(), id));
            handler(self, payload, ack);
        }
        Ok(())
    }

    /// An ACK or BINARY_ACK from the client.
    pub(crate) fn on_ack(
        &self,
        packet: Packet,
    ) -> Result<(), oxio_protocol::socket_io::DecodeError> {
        let Some(id) = packet.id else {
            return Ok(());
        };
        let Some(waiter) = self.inner.acks.lock().remove(&id) else {
            return Ok(());
        };
        waiter.settle(Some(Payload::new(packet.args()?, packet.attachments)));
        Ok(())
    }

    /// Ends the socket for `reason` (once).
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if !self.inner.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        if let (Some(store), Some(pid)) = (self.inner.namespace.recovery(), &self.inner.pid)
            && is_recoverable(reason)
        {
            store.persist(pid, self.inner.id.clone(), self.rooms());
        }
        self.inner.namespace.remove(self.id());
        let pending: Vec<AckWaiter> = self.inner.acks.lock().drain().map(|(_, w)| w).collect();
        for waiter in pending {
            waiter.settle(None);
        }
        let on_disconnect = self.inner.on_disconnect.read().clone();
        for handler in on_disconnect.iter() {
            handler(self, reason);
        }
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Socket {}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("namespace", &self.namespace_name())
            .finish()
    }
}
