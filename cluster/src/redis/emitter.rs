//! An emitter: sends events to the Socket.IO servers of a classic Redis cluster from a process that
//! is not one of them, as `@socket.io/redis-emitter` 5.x does (and wire-identical to it).
//!
//! ```no_run
//! # async fn demo(conn: redis::aio::ConnectionManager) -> Result<(), oxio_cluster::redis::emitter::EmitterError> {
//! use oxio_cluster::redis::emitter::{Emitter, EmitterOptions};
//!
//! let io = Emitter::new(conn, EmitterOptions::default());
//! io.to("room1").except("room2").emit("news", &[serde_json::json!({"n": 1})]).await?;
//! io.of("admin").volatile().emit("tick", &[]).await?;
//! io.to("room1").sockets_join(["room3"]).await?;
//! # Ok(()) }
//! ```
//!
//! Invariants:
//!
//! - An [`Emitter`] is immutable: every operator (`of`, `to`, `within`, `except`, `volatile`,
//!   `compress`) returns a new one, so one value can be shared and reused.
//! - The uid on the wire is always `"emitter"`, which no server takes for its own, so every server
//!   (and every namespace adapter) handles what the emitter sends.
//! - Broadcasts go to `K#N#R#` when exactly one room is targeted, otherwise to `K#N#`; requests
//!   (`socketsJoin`, `socketsLeave`, `disconnectSockets`, `serverSideEmit`) go to `K-request#N#`.
//!   Each method publishes one message; the emitter never subscribes nor waits for answers.
//! - What is published is built by the pure `*_message` methods, so the bytes are testable without
//!   Redis.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;

use crate::remote::{BroadcastOptions, RemoteData};
use crate::room_index::Room;

use super::wire::{
    self, ClassicRequest, DisconnectTarget, MembershipTarget, OptsLayout, RequestKind, Value,
    WireError,
};

/// The uid every emitter message carries.
const UID: &str = "emitter";

/// Event names the Socket.IO servers keep for themselves; emitting them is refused.
const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The options of an [`Emitter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitterOptions {
    /// The channel prefix; the servers' adapter `key` (default `socket.io`).
    pub key: String,
}

impl Default for EmitterOptions {
    fn default() -> EmitterOptions {
        EmitterOptions {
            key: "socket.io".to_owned(),
        }
    }
}

/// Where an emitter publishes.
#[derive(Clone)]
pub enum Publisher {
    /// A single Redis server (or a replica set behind one address).
    Single(ConnectionManager),
    /// A Redis Cluster; PUBLISH reaches the subscribers of every node.
    Cluster(ClusterConnection),
    /// No Redis: every message is appended to the list instead (for tests of code that emits).
    Memory(Arc<Mutex<Vec<Outgoing>>>),
}

impl Publisher {
    /// A [`Publisher::Memory`] with an empty list.
    pub fn memory() -> Publisher {
        Publisher::Memory(Arc::default())
    }

    async fn publish(&self, out: Outgoing) -> redis::RedisResult<()> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&out.channel).arg(out.payload.as_ref());
        match self {
            Publisher::Single(conn) => cmd.query_async(&mut conn.clone()).await,
            Publisher::Cluster(conn) => cmd.query_async(&mut conn.clone()).await,
            Publisher::Memory(list) => {
                list.lock().push(out);
                Ok(())
            }
        }
    }
}

impl From<ConnectionManager> for Publisher {
    fn from(conn: ConnectionManager) -> Publisher {
        Publisher::Single(conn)
    }
}

impl From<ClusterConnection> for Publisher {
    fn from(conn: ClusterConnection) -> Publisher {
        Publisher::Cluster(conn)
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Publisher::Single(_) => "Publisher::Single",
            Publisher::Cluster(_) => "Publisher::Cluster",
            Publisher::Memory(_) => "Publisher::Memory",
        })
    }
}

/// Why an emitter call published nothing.
#[derive(Debug)]
pub enum EmitterError {
    /// The event name is one the servers keep for themselves (`connect`, `disconnect`, ...).
    ReservedEvent(String),
    /// The event data is not an array that starts with the event name.
    InvalidEvent,
    /// The data cannot be encoded (nested too deeply, or too large).
    Wire(WireError),
    /// Redis refused or could not be reached.
    Redis(redis::RedisError),
}

impl fmt::Display for EmitterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitterError::ReservedEvent(name) => write!(f, "\"{name}\" is a reserved event name"),
            EmitterError::InvalidEvent => f.write_str("event data must be [name, ...args]"),
            EmitterError::Wire(e) => write!(f, "cannot encode the message: {e}"),
            EmitterError::Redis(e) => write!(f, "cannot publish: {e}"),
        }
    }
}

impl std::error::Error for EmitterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitterError::Wire(e) => Some(e),
            EmitterError::Redis(e) => Some(e),
            _ => None,
        }
    }
}

impl From<WireError> for EmitterError {
    fn from(e: WireError) -> EmitterError {
        EmitterError::Wire(e)
    }
}

impl From<redis::RedisError> for EmitterError {
    fn from(e: redis::RedisError) -> EmitterError {
        EmitterError::Redis(e)
    }
}

/// One message ready to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The channel.
    pub channel: String,
    /// The payload.
    pub payload: Bytes,
}

/// One or more room names: a `&str`, a `String`, or a list of them.
pub trait IntoRooms {
    /// The rooms, in order.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl<T: AsRef<str>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|r| Room::from(r.as_ref())).collect()
    }
}

impl<T: AsRef<str>> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|r| Room::from(r.as_ref())).collect()
    }
}

impl<T: AsRef<str>, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|r| Room::from(r.as_ref())).collect()
    }
}

/// Sends events and requests to the servers of one namespace, selected by rooms and flags.
#[derive(Clone, Debug)]
pub struct Emitter {
    publisher: Publisher,
    key: String,
    nsp: String,
    opts: BroadcastOptions,
}

impl Emitter {
    /// An emitter for the main namespace `/`, every socket selected.
    pub fn new(publisher: impl Into<Publisher>, options: EmitterOptions) -> Emitter {
        Emitter {
            publisher: publisher.into(),
            key: options.key,
            nsp: "/".to_owned(),
            opts: BroadcastOptions::default(),
        }
    }

    /// An emitter for namespace `nsp` (a missing leading `/` is added), every socket selected.
    pub fn of(&self, nsp: &str) -> Emitter {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Emitter {
            nsp,
            opts: BroadcastOptions::default(),
            ..self.clone()
        }
    }

    /// Also targets the members of `rooms` (Node's `to`).
    pub fn to(&self, rooms: impl IntoRooms) -> Emitter {
        let mut next = self.clone();
        add_rooms(&mut next.opts.rooms, rooms);
        next
    }

    /// The same as [`to`](Emitter::to) (Node's `in`).
    pub fn within(&self, rooms: impl IntoRooms) -> Emitter {
        self.to(rooms)
    }

    /// Leaves out the members of `rooms` (a socket id counts as a room).
    pub fn except(&self, rooms: impl IntoRooms) -> Emitter {
        let mut next = self.clone();
        add_rooms(&mut next.opts.except, rooms);
        next
    }

    /// Drops the event for clients that cannot take it at once.
    pub fn volatile(&self) -> Emitter {
        let mut next = self.clone();
        next.opts.flags.volatile = true;
        next
    }

    /// Sets the per-message compression hint.
    pub fn compress(&self, compress: bool) -> Emitter {
        let mut next = self.clone();
        next.opts.flags.compress = Some(compress);
        next
    }

    /// Emits `event` with JSON arguments to the selected clients.
    pub async fn emit(&self, event: &str, args: &[serde_json::Value]) -> Result<(), EmitterError> {
        self.publish(self.emit_message(event, args)?).await
    }

    /// Emits an event given as server-held data: the array `[event, ...args]`, whose binary
    /// arguments are placeholders with their bytes in the attachments.
    pub async fn emit_data(&self, data: &RemoteData) -> Result<(), EmitterError> {
        self.publish(self.emit_data_message(data)?).await
    }

    /// Fires a server-side event on every server (no acks: the emitter receives nothing).
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: &[serde_json::Value],
    ) -> Result<(), EmitterError> {
        self.publish(self.server_side_emit_message(event, args)?)
            .await
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.publish(self.sockets_join_message(rooms)?).await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.publish(self.sockets_leave_message(rooms)?).await
    }

    /// Disconnects the selected sockets; with `close`, their whole connections.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.publish(self.disconnect_sockets_message(close)?).await
    }

    /// What [`emit`](Emitter::emit) publishes.
    pub fn emit_message(
        &self,
        event: &str,
        args: &[serde_json::Value],
    ) -> Result<Outgoing, EmitterError> {
        self.broadcast(event_value(event, args)?)
    }

    /// What [`emit_data`](Emitter::emit_data) publishes.
    pub fn emit_data_message(&self, data: &RemoteData) -> Result<Outgoing, EmitterError> {
        let data = Value::from_remote_data(data)?;
        match data
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
        {
            Some(event) if RESERVED_EVENTS.contains(&event) => {
                Err(EmitterError::ReservedEvent(event.to_owned()))
            }
            Some(_) => self.broadcast(data),
            None => Err(EmitterError::InvalidEvent),
        }
    }

    /// What [`server_side_emit`](Emitter::server_side_emit) publishes.
    pub fn server_side_emit_message(
        &self,
        event: &str,
        args: &[serde_json::Value],
    ) -> Result<Outgoing, EmitterError> {
        let mut data = vec![Value::str(event)];
        for arg in args {
            data.push(Value::from_json_value(arg)?);
        }
        self.request(RequestKind::ServerSideEmit {
            request_id: None,
            data: Value::Array(data).to_remote_data(),
        })
    }

    /// What [`sockets_join`](Emitter::sockets_join) publishes.
    pub fn sockets_join_message(&self, rooms: impl IntoRooms) -> Result<Outgoing, EmitterError> {
        self.request(RequestKind::RemoteJoin(MembershipTarget::Sockets {
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        }))
    }

    /// What [`sockets_leave`](Emitter::sockets_leave) publishes.
    pub fn sockets_leave_message(&self, rooms: impl IntoRooms) -> Result<Outgoing, EmitterError> {
        self.request(RequestKind::RemoteLeave(MembershipTarget::Sockets {
            opts: self.opts.clone(),
            rooms: rooms.into_rooms(),
        }))
    }

    /// What [`disconnect_sockets`](Emitter::disconnect_sockets) publishes.
    pub fn disconnect_sockets_message(&self, close: bool) -> Result<Outgoing, EmitterError> {
        self.request(RequestKind::RemoteDisconnect {
            target: DisconnectTarget::Sockets {
                opts: self.opts.clone(),
            },
            close,
        })
    }

    fn broadcast(&self, data: Value) -> Result<Outgoing, EmitterError> {
        let mut channel = format!("{}#{}#", self.key, self.nsp);
        if let [room] = self.opts.rooms.as_slice() {
            channel.push_str(room);
            channel.push('#');
        }
        let payload = wire::broadcast_bytes(UID, &self.nsp, data, &self.opts, OptsLayout::Emitter)?;
        Ok(Outgoing { channel, payload })
    }

    fn request(&self, kind: RequestKind) -> Result<Outgoing, EmitterError> {
        // Node's emitter names itself only on SERVER_SIDE_EMIT.
        let uid = matches!(kind, RequestKind::ServerSideEmit { .. }).then(|| UID.to_owned());
        let payload = wire::encode_classic_request(&ClassicRequest { uid, kind })?;
        Ok(Outgoing {
            channel: format!("{}-request#{}#", self.key, self.nsp),
            payload,
        })
    }

    async fn publish(&self, out: Outgoing) -> Result<(), EmitterError> {
        Ok(self.publisher.publish(out).await?)
    }
}

/// Adds rooms in insertion order, without duplicates (Node keeps them in a `Set`).
fn add_rooms(list: &mut Vec<Room>, rooms: impl IntoRooms) {
    for room in rooms.into_rooms() {
        if !list.contains(&room) {
            list.push(room);
        }
    }
}

/// `[event, ...args]`, refusing reserved names.
fn event_value(event: &str, args: &[serde_json::Value]) -> Result<Value, EmitterError> {
    if RESERVED_EVENTS.contains(&event) {
        return Err(EmitterError::ReservedEvent(event.to_owned()));
    }
    let mut data = vec![Value::str(event)];
    for arg in args {
        data.push(Value::from_json_value(arg)?);
    }
    Ok(Value::Array(data))
}

#[cfg(test)]
mod tests {
    use oxio_protocol::engine_io::Utf8Bytes;
    use serde_json::json;

    use super::*;
    use crate::redis::wire::dump;

    fn io() -> Emitter {
        Emitter::new(Publisher::memory(), EmitterOptions::default())
    }

    #[track_caller]
    fn json_request(out: Outgoing, channel: &str, payload: &str) {
        assert_eq!(out.channel, channel);
        assert_eq!(std::str::from_utf8(&out.payload), Ok(payload));
    }

    #[test]
    fn captured_emit() {
        let out = io()
            .to("room1")
            .except("room2")
            .volatile()
            .emit_message("em2", &[json!({"k": "v"})])
            .unwrap();
        assert_eq!(out.channel, "socket.io#/#room1#");
        let expected = dump(
            "93 a7\"emitter\" 83 a4\"type\" 02 a4\"data\" 92 a3\"em2\" 81 a1\"k\" a1\"v\" a3\"nsp\" a1\"/\" \
             83 a5\"rooms\" 91 a5\"room1\" a5\"flags\" 81 a8\"volatile\" c3 a6\"except\" 91 a5\"room2\"",
        );
        assert_eq!(out.payload.as_ref(), expected.as_slice());
    }

    #[test]
    fn channels_follow_the_rooms() {
        assert_eq!(io().emit_message("e", &[]).unwrap().channel, "socket.io#/#");
        assert_eq!(
            io().to("a").to("a").emit_message("e", &[]).unwrap().channel,
            "socket.io#/#a#"
        );
        let both = io().to(["a", "b"]).within("a");
        let out = both.emit_message("e", &[]).unwrap();
        assert_eq!(out.channel, "socket.io#/#");
        assert!(out.payload.ends_with(&dump(
            "83 a5\"rooms\" 92 a1\"a\" a1\"b\" a5\"flags\" 80 a6\"except\" 90"
        )));
        let custom = Emitter::new(Publisher::memory(), EmitterOptions { key: "k".into() });
        assert_eq!(
            custom
                .of("x")
                .to("r")
                .emit_message("e", &[])
                .unwrap()
                .channel,
            "k#/x#r#"
        );
        assert_eq!(
            custom.disconnect_sockets_message(false).unwrap().channel,
            "k-request#/#"
        );
    }

    #[test]
    fn of_adds_the_slash_and_starts_afresh() {
        let admin = io().to("r").volatile().of("admin");
        assert_eq!(admin.of("/x").nsp, "/x");
        let out = admin.emit_message("legacy2", &[]).unwrap();
        assert_eq!(out.channel, "socket.io#/admin#");
        let expected = dump(
            "93 a7\"emitter\" 83 a4\"type\" 02 a4\"data\" 91 a7\"legacy2\" a3\"nsp\" a6\"/admin\" \
             83 a5\"rooms\" 90 a5\"flags\" 80 a6\"except\" 90",
        );
        assert_eq!(out.payload.as_ref(), expected.as_slice());
    }

    #[test]
    fn flags_and_binary() {
        let out = io()
            .compress(false)
            .emit_message("e", &[json!(1.5)])
            .unwrap();
        assert!(
            out.payload
                .ends_with(&dump("a5\"flags\" 81 a8\"compress\" c2 a6\"except\" 90"))
        );
        let data = RemoteData {
            json: r#"["bin",{"_placeholder":true,"num":0}]"#.to_owned().into(),
            attachments: vec![Bytes::from_static(&[1, 2, 3])],
        };
        let out = io().emit_data_message(&data).unwrap();
        assert!(out.payload.starts_with(&dump(
            "93 a7\"emitter\" 83 a4\"type\" 02 a4\"data\" 92 a3\"bin\" c4 03 01 02 03"
        )));
        let decoded = wire::decode_classic_broadcast(&out.payload).unwrap();
        assert_eq!(decoded.data, data);
    }

    #[test]
    fn reserved_and_invalid_events() {
        for name in RESERVED_EVENTS {
            assert!(matches!(
                io().emit_message(name, &[]),
                Err(EmitterError::ReservedEvent(_))
            ));
        }
        let reserved = RemoteData::json(r#"["disconnect"]"#);
        assert!(matches!(
            io().emit_data_message(&reserved),
            Err(EmitterError::ReservedEvent(_))
        ));
        for bad in ["[1]", "[]", "{}", "\"x\""] {
            let data = RemoteData::json(Utf8Bytes::from(bad.to_owned()));
            assert!(
                matches!(
                    io().emit_data_message(&data),
                    Err(EmitterError::InvalidEvent)
                ),
                "{bad}"
            );
        }
        let mut deep = json!(null);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        assert!(matches!(
            io().emit_message("e", &[deep]),
            Err(EmitterError::Wire(WireError::TooDeep))
        ));
    }

    #[test]
    fn requests() {
        let sel = io().to("r1").except("r2");
        json_request(
            sel.sockets_join_message("new").unwrap(),
            "socket.io-request#/#",
            r#"{"type":2,"opts":{"rooms":["r1"],"except":["r2"]},"rooms":["new"]}"#,
        );
        json_request(
            io().sockets_leave_message(vec!["a", "b"]).unwrap(),
            "socket.io-request#/#",
            r#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["a","b"]}"#,
        );
        json_request(
            io().of("/admin").disconnect_sockets_message(true).unwrap(),
            "socket.io-request#/admin#",
            r#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#,
        );
        json_request(
            io().server_side_emit_message("hello", &[json!(1), json!("x")])
                .unwrap(),
            "socket.io-request#/#",
            r#"{"uid":"emitter","type":6,"data":["hello",1,"x"]}"#,
        );
    }

    #[tokio::test]
    async fn publishes_what_it_builds() {
        let list = Arc::new(Mutex::new(Vec::new()));
        let io = Emitter::new(Publisher::Memory(list.clone()), EmitterOptions::default());
        io.to("r").emit("e", &[json!({"a": 1})]).await.unwrap();
        io.sockets_join(String::from("x")).await.unwrap();
        io.sockets_leave(["x"].as_slice()).await.unwrap();
        io.disconnect_sockets(false).await.unwrap();
        io.server_side_emit("s", &[]).await.unwrap();
        io.emit_data(&RemoteData::json(r#"["d"]"#)).await.unwrap();
        assert!(io.emit("connect", &[]).await.is_err());
        let sent = list.lock().clone();
        assert_eq!(sent.len(), 6);
        assert_eq!(
            sent[0],
            io.to("r").emit_message("e", &[json!({"a": 1})]).unwrap()
        );
        assert_eq!(sent[3], io.disconnect_sockets_message(false).unwrap());
    }
}
