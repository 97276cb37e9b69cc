//! One Engine.IO connection as the Socket.IO layer sees it: the sockets it has on each namespace,
//! the reassembly of binary packets, the connect flow and the connect timeout.
//!
//! Invariants:
//! - Packets of one connection are handled in order, on the engine's reader (no task per packet;
//!   only connects that run async middlewares spawn one).
//! - A namespace's CONNECT, and everything queued while its connection handler runs, reaches the
//!   client only after the handler returned (a write hold), as in Node: the client cannot send an
//!   event before the handler registered its listeners.
//! - A malformed packet closes this connection alone, with "parse error".
//! - A full outgoing queue (a client too slow to read) closes the connection with
//!   "transport error" instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use oxio_cluster::Room;
use oxio_engine::{CloseReason, Message, SendError};
use oxio_protocol::socket_io::{DecodeError, Packet, PacketType, Reassembly};
use parking_lot::Mutex;
use rand::RngCore;

use crate::encode::{self, EncodedPacket, Parser};
use crate::error::{ConnectError, EmitError};
use crate::handshake::Handshake;
use crate::io::IoInner;
use crate::namespace::NamespaceInner;
use crate::reason::DisconnectReason;
use crate::socket::{Socket, SocketIdentity};

pub(crate) struct Client {
    conn: oxio_engine::Socket,
    io: Arc<IoInner>,
    /// Its socket on each namespace it joined. A list, not a map: a connection joins a few
    /// namespaces, and comparing their names is cheaper than hashing the one a packet names.
    sockets: Mutex<Vec<Joined>>,
    reassembly: Mutex<Reassembly>,
    /// A reason decided here (parse error, slow client, ...) that overrides the engine's.
    close_reason: Mutex<Option<DisconnectReason>>,
    /// True until a namespace connects or the connection closes; while it is, the connect
    /// deadline (see [`crate::connect_deadline`]) closes the connection when it comes.
    awaiting_connect: AtomicBool,
}

/// A socket of the connection with its namespace's name beside it: every packet looks its socket up
/// by name, and reading the name here costs one cache line where reading it through the socket and
/// its namespace costs three.
struct Joined {
    namespace: Room,
    socket: Socket,
}

/// How long the websocket writer waits after writing a CONNECT packet before what follows.
const CONNECT_WRITE_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// A new socket id: 15 random bytes as 20 URL-safe characters.
fn new_socket_id() -> Room {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into()
}

impl Client {
    pub(crate) fn new(conn: oxio_engine::Socket, io: Arc<IoInner>) -> Arc<Client> {
        let limits = io.decode_limits();
        let client = Arc::new(Client {
            conn,
            io,
            sockets: Mutex::default(),
            reassembly: Mutex::new(Reassembly::new(limits)),
            close_reason: Mutex::default(),
            awaiting_connect: AtomicBool::new(true),
        });
        client.io.connect_deadlines().add(&client);
        client
    }

    pub(crate) fn on_message(self: &Arc<Self>, message: Message) {
        // Decode first, then handle: the reassembly lock must be released before handlers run
        // (a handler that closes the connection ends in `on_close`, which takes it again).
        let handled = match self.io.parser() {
            Parser::Default => {
                let decoded = match message {
                    Message::Text(text) => self.reassembly.lock().push_text(text),
                    Message::Binary(bytes) => self.reassembly.lock().push_binary(bytes),
                };
                self.decoded(decoded)
            }
            Parser::Msgpack => match message {
                Message::Binary(bytes) => {
                    match oxio_protocol::msgpack::decode_bytes(&bytes, &self.io.msgpack_limits()) {
                        Ok(packet) => self.on_packet(packet).map_err(|e| e.to_string()),
                        Err(error) => Err(error.to_string()),
                    }
                }
                Message::Text(_) => Err("text message with the msgpack parser".into()),
            },
        };
        if let Err(error) = handled {
            tracing::debug!(sid = self.conn.id(), %error, "malformed socket.io packet");
            self.close(DisconnectReason::ParseError);
        }
    }

    /// Handles what the default parser's reassembly produced.
    fn decoded(
        self: &Arc<Self>,
        decoded: Result<Option<Packet>, DecodeError>,
    ) -> Result<(), String> {
        match decoded {
            Ok(Some(packet)) => self.on_packet(packet).map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }

    fn on_packet(self: &Arc<Self>, mut packet: Packet) -> Result<(), DecodeError> {
        if packet.packet_type == PacketType::Connect {
            self.connect(packet);
            return Ok(());
        }
        let socket = self.socket_on(packet.namespace.as_str());
        let Some(socket) = socket else {
            // Not connected to that namespace: Node ignores the packet.
            return Ok(());
        };
        match packet.packet_type {
            PacketType::Event | PacketType::BinaryEvent => socket.on_event(&mut packet),
            PacketType::Ack | PacketType::BinaryAck => socket.on_ack(packet),
            PacketType::Disconnect => {
                self.forget(socket.namespace_name());
                socket.close(DisconnectReason::ClientNamespaceDisconnect);
                Ok(())
            }
            PacketType::Connect | PacketType::ConnectError => Ok(()),
        }
    }

    fn connect(self: &Arc<Self>, packet: Packet) {
        let name = packet.namespace.as_str();
        if self.socket_on(name).is_some() {
            return;
        }
        let Some(namespace) = self.io.namespace_for(name) else {
            let error = ConnectError::new("Invalid namespace");
            let _ = self.send(encode::connect_error(self.io.parser(), name, &error));
            return;
        };
        let auth = packet
            .data
            .as_ref()
            .and_then(|data| serde_json::from_str(data.as_str()).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        let restored = namespace.recovery().and_then(|store| {
            let pid = auth.get("pid")?.as_str()?;
            let offset = auth.get("offset")?.as_str()?;
            store
                .restore(pid, offset)
                .map(|restored| (pid.to_owned(), restored))
        });
        let (identity, rooms, missed) = match restored {
            Some((pid, restored)) => (
                SocketIdentity {
                    id: restored.sid,
                    pid: Some(pid.into()),
                    recovered: true,
                },
                restored.rooms,
                restored.missed,
            ),
            None => (
                SocketIdentity {
                    id: new_socket_id(),
                    pid: namespace.recovery().map(|_| new_socket_id()),
                    recovered: false,
                },
                Vec::new(),
                Vec::new(),
            ),
        };
        let skip_middlewares = identity.recovered
            && namespace
                .recovery()
                .is_some_and(|store| store.config().skip_middlewares);
        let handshake = Handshake::new(self.conn.request(), auth);
        let socket = Socket::new(identity, namespace.clone(), self.clone(), handshake);
        let restored = Restoration { rooms, missed };
        if namespace.has_middlewares() && !skip_middlewares {
            let client = self.clone();
            tokio::spawn(async move {
                match namespace.run_middlewares(&socket).await {
                    Ok(()) => client.finish_connect(&namespace, socket, restored),
                    Err(error) => {
                        let _ = client.send(encode::connect_error(
                            namespace.parser(),
                            namespace.name(),
                            &error,
                        ));
                    }
                }
            });
        } else {
            self.finish_connect(&namespace, socket, restored);
        }
    }

    fn finish_connect(
        &self,
        namespace: &Arc<NamespaceInner>,
        socket: Socket,
        restored: Restoration,
    ) {
        if !self.conn.is_open() {
            return;
        }
        // Nothing queued from here goes out before the connection handler has run, as in Node: the
        // client cannot see CONNECT, and send an event, before the handler registered its
        // listeners, even when this runs in a middleware's task beside the connection's writer.
        let _hold = self.conn.hold_writes();
        self.settle_connect_deadline();
        {
            let mut sockets = self.sockets.lock();
            sockets.retain(|known| known.namespace != *namespace.name());
            sockets.push(Joined {
                namespace: namespace.name().clone(),
                socket: socket.clone(),
            });
        }
        socket.mark_connected();
        namespace.add(&socket);
        socket.join(restored.rooms);
        let connect = encode::connect(
            namespace.parser(),
            namespace.name(),
            socket.id(),
            socket.pid().map(|pid| &**pid),
        );
        if self.send(connect).is_ok() {
            // Node writes CONNECT on its own and what the handler emits a write later; clients that
            // handle one read per event-loop turn (the official test suite's) depend on it.
            self.conn.pause_after_queued(CONNECT_WRITE_PAUSE);
            for packet in restored.missed {
                let _ = self.send(packet);
            }
            namespace.call_connection_handler(socket);
        }
    }

    /// Forgets the socket of a namespace (it disconnected on its own).
    pub(crate) fn forget(&self, namespace: &str) {
        self.sockets
            .lock()
            .retain(|known| *known.namespace != *namespace);
    }

    /// Its socket on the namespace of that name, if it joined it.
    fn socket_on(&self, namespace: &str) -> Option<Socket> {
        let sockets = self.sockets.lock();
        let joined = sockets.iter().find(|known| *known.namespace == *namespace);
        joined.map(|joined| joined.socket.clone())
    }

    /// Queues a packet; a full queue closes the connection as too slow.
    pub(crate) fn send(&self, packet: EncodedPacket) -> Result<(), EmitError> {
        // Moved, not cloned: a frame's buffer that is never shared needs no refcount allocation.
        for frame in packet.frames {
            match self.conn.send(frame) {
                Ok(()) => {}
                Err(SendError::Closed(_)) => return Err(EmitError::Disconnected),
                Err(SendError::Full(_)) => {
                    tracing::debug!(sid = self.conn.id(), "client too slow: closing");
                    self.close(DisconnectReason::TransportError);
                    return Err(EmitError::SlowClient);
                }
            }
        }
        Ok(())
    }

    /// Queues a broadcast packet. A full queue closes the connection from a task of its own: the
    /// caller holds the adapter's locks, which closing (leaving every room) needs.
    pub(crate) fn send_from_broadcast(self: &Arc<Self>, packet: &EncodedPacket) {
        for frame in &packet.frames {
            match self.conn.send(frame.clone()) {
                Ok(()) => {}
                Err(SendError::Closed(_)) => return,
                Err(SendError::Full(_)) => {
                    let client = self.clone();
                    tokio::spawn(async move { client.close(DisconnectReason::TransportError) });
                    return;
                }
            }
        }
    }

    /// See [`oxio_engine::Socket::touch`].
    pub(crate) fn touch(&self) {
        self.conn.touch();
    }

    /// Queues a packet only if the transport is writable now (its attachments then follow).
    pub(crate) fn send_volatile(&self, packet: &EncodedPacket) {
        let Some((first, rest)) = packet.frames.split_first() else {
            return;
        };
        if self.conn.send_volatile(first.clone()).is_ok() {
            for frame in rest {
                let _ = self.conn.send(frame.clone());
            }
        }
    }

    /// Disconnects every socket of the connection ("server namespace disconnect"), then closes it.
    pub(crate) fn disconnect_all(&self) {
        let sockets: Vec<Socket> = (self.sockets.lock().iter())
            .map(|joined| joined.socket.clone())
            .collect();
        for socket in sockets {
            socket.disconnect(false);
        }
        self.close(DisconnectReason::ForcedClose);
    }

    /// Closes the connection for `reason` (the engine then calls [`Client::on_close`]).
    fn close(&self, reason: DisconnectReason) {
        self.close_reason.lock().get_or_insert(reason);
        self.conn.close();
    }

    /// Whether its transport sends a packet queued now at once (see [`oxio_engine::Socket::is_writable`]).
    pub(crate) fn is_writable(&self) -> bool {
        self.conn.is_writable()
    }

    /// Whether no namespace has connected yet and the connection is open.
    pub(crate) fn awaits_connect(&self) -> bool {
        self.awaiting_connect.load(Ordering::Acquire)
    }

    /// A namespace connected or the connection closed: the connect deadline no longer applies.
    fn settle_connect_deadline(&self) {
        if self.awaiting_connect.swap(false, Ordering::AcqRel) {
            self.io.connect_deadlines().settled();
        }
    }

    /// The connect deadline came (Node's `connectTimeout`): closes the connection unless a
    /// namespace connected.
    pub(crate) fn close_unless_connected(&self) {
        if self.awaits_connect() {
            self.conn.close();
        }
    }

    /// The connection closed: every socket disconnects.
    pub(crate) fn on_close(&self, reason: CloseReason) {
        self.settle_connect_deadline();
        let reason = self.close_reason.lock().unwrap_or(reason.into());
        let sockets = std::mem::take(&mut *self.sockets.lock());
        for Joined { socket, .. } in sockets {
            socket.close(reason);
        }
        self.reassembly.lock().reset();
    }
}

/// What a recovered socket gets back: its rooms and the broadcasts it missed.
struct Restoration {
    rooms: Vec<Room>,
    missed: Vec<EncodedPacket>,
}
