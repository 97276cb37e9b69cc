//! What crosses between a namespace of the server and the other nodes of a cluster.
//!
//! Two traits meet here:
//!
//! - [`LocalNamespace`], implemented by the server: what a cluster adapter asks of this process when
//!   a message arrives from another node (deliver a broadcast, join sockets to rooms, describe the
//!   local sockets, fire a server-side event, ...). Its methods are called on the adapter's receiving
//!   task, one message after the other: they must not block.
//! - [`ClusterLink`], implemented by the cluster adapters: what the server asks of the other nodes
//!   (publish a broadcast, query their sockets and rooms, count the servers, ...). The server always
//!   applies an operation to its own sockets itself; a link only reaches the *other* nodes.
//!
//! Event data crosses as [`RemoteData`]: JSON text whose binary values are Socket.IO placeholders
//! `{"_placeholder":true,"num":i}`, with the bytes in `attachments[i]`. This is the form the server
//! keeps arguments in, so a broadcast is converted to and from the wire format once per message,
//! never per recipient.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxio_protocol::engine_io::Utf8Bytes;

use crate::room_index::Room;

/// A boxed future, as the link's async methods return them (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One JSON value whose binary values are placeholders, with their bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteData {
    /// The value as JSON text (placeholders `{"_placeholder":true,"num":i}` for binary values).
    pub json: Utf8Bytes,
    /// The bytes of each placeholder, by `num`.
    pub attachments: Vec<Bytes>,
}

impl RemoteData {
    /// A value without binary parts.
    pub fn json(json: impl Into<Utf8Bytes>) -> RemoteData {
        RemoteData {
            json: json.into(),
            attachments: Vec::new(),
        }
    }

    /// JSON `null`.
    pub fn null() -> RemoteData {
        RemoteData::json("null")
    }
}

/// The flags of a broadcast that other nodes apply (Node's `opts.flags`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Drop the packet for a client whose transport is not writable.
    pub volatile: bool,
    /// The per-message compression hint, when the caller gave one.
    pub compress: Option<bool>,
    /// The ack timeout of a broadcast with ack, or of `timeout()` on the operator.
    pub timeout: Option<Duration>,
}

/// Which sockets an operation selects, and how (Node's `BroadcastOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Members of any of these rooms; every socket when empty. In insertion order, no duplicates.
    pub rooms: Vec<Room>,
    /// Minus members of any of these rooms (a socket id counts as a room).
    pub except: Vec<Room>,
    /// The flags.
    pub flags: BroadcastFlags,
}

/// A socket as another node describes it (Node's `RemoteSocket`, as `fetchSockets` returns it).
#[derive(Clone, Debug, PartialEq)]
pub struct SocketInfo {
    /// The socket id.
    pub id: String,
    /// Its rooms, its own id room included.
    pub rooms: Vec<Room>,
    /// `socket.data`, as JSON.
    pub data: serde_json::Value,
    /// The handshake object: `headers`, `time`, `address`, `xdomain`, `secure`, `issued`, `url`,
    /// `query`, `auth`.
    pub handshake: serde_json::Value,
}

/// Receives the first argument of each client ack of a broadcast with ack.
pub type AckSink = Arc<dyn Fn(RemoteData) + Send + Sync>;

/// Answers a server-side event with the first argument of the handler's ack.
pub type ServerSideAck = Box<dyn FnOnce(RemoteData) + Send>;

/// What a cluster adapter asks of this process. Implemented by the server, one per namespace.
///
/// Every method runs on the adapter's receiving task: it must not block, and anything slow (a
/// user's handler that awaits) must be spawned.
pub trait LocalNamespace: Send + Sync + 'static {
    /// Delivers the event `data` (the array `[event, ...args]`) to the selected local sockets.
    fn broadcast(&self, data: &RemoteData, opts: &BroadcastOptions);
    /// Delivers the event with one fresh ack id to the selected local sockets and returns how many
    /// were selected; each ack's first argument goes to `on_ack` (until `opts.flags.timeout`).
    fn broadcast_with_ack(
        &self,
        data: &RemoteData,
        opts: &BroadcastOptions,
        on_ack: AckSink,
    ) -> usize;
    /// Makes the selected local sockets join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the selected local sockets leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the selected local sockets; with `close`, their whole connections.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Describes the selected local sockets.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo>;
    /// Every room with local members, the sockets' own id rooms included.
    fn all_rooms(&self) -> Vec<Room>;
    /// Whether a room has local members.
    fn has_room(&self, room: &str) -> bool;
    /// Fires a server-side event (`data` is `[event, ...args]`); `ack`, when another node waits
    /// for an answer, takes the first argument the handler acknowledges with.
    fn server_side_emit(&self, data: RemoteData, ack: Option<ServerSideAck>);
}

/// Why a request to the other nodes failed, with Node's texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterError {
    /// Not every node answered within the request timeout. The text is Node's (for example
    /// `timeout reached while waiting for fetchSockets response`).
    Timeout(String),
    /// Redis could not be reached; the request was not sent.
    Unavailable(String),
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Timeout(text) | ClusterError::Unavailable(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for ClusterError {}

/// The answers of the other nodes to a server-side emit with ack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSideAcks {
    /// One answer per node that answered (the first argument of its ack).
    pub responses: Vec<RemoteData>,
    /// Set when not every node answered in time: Node's text,
    /// `timeout reached: only X responses received out of Y`.
    pub error: Option<String>,
}

/// The answers of other nodes' clients to a broadcast with ack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteAcks {
    /// The first argument of every client ack that arrived.
    pub responses: Vec<RemoteData>,
    /// Whether every node reported its client count and every counted client answered.
    pub complete: bool,
    /// How many did not answer: the clients counted by the nodes that reported a count and did
    /// not answer, plus one for each node that never reported its count.
    pub missing: usize,
}

/// A namespace's connection to the other nodes. Implemented by the cluster adapters.
///
/// The server applies every operation to its own sockets itself; a link reaches the others only.
/// Publishing never blocks: messages are queued for Redis and, while Redis is down, dropped with a
/// log line (local delivery goes on).
pub trait ClusterLink: Send + Sync + 'static {
    /// Publishes a broadcast of the event `data` (`[event, ...args]`).
    fn publish_broadcast(&self, data: &RemoteData, opts: &BroadcastOptions);
    /// Makes the selected sockets of the other nodes join `rooms`.
    fn publish_sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the selected sockets of the other nodes leave `rooms`.
    fn publish_sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the selected sockets of the other nodes.
    fn publish_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Fires a server-side event (`data` is `[event, ...args]`) on every other node.
    fn server_side_emit(&self, data: &RemoteData);
    /// Fires a server-side event on every other node and collects one answer from each.
    fn server_side_emit_with_ack(&self, data: &RemoteData) -> BoxFuture<'static, ServerSideAcks>;
    /// The selected sockets of the other nodes.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, ClusterError>>;
    /// The rooms of the other nodes.
    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, ClusterError>>;
    /// Broadcasts with ack to the other nodes' clients and collects their answers until
    /// `timeout`.
    fn broadcast_with_ack(
        &self,
        data: &RemoteData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks>;
    /// The number of server processes sharing this namespace, this one included.
    fn server_count(&self) -> BoxFuture<'static, usize>;
    /// A local socket joined a room (`created`: the room had no local member before).
    fn joined(&self, socket: &str, room: &Room, created: bool);
    /// A local socket left a room (`deleted`: it was the room's last local member).
    fn left(&self, socket: &str, room: &Room, deleted: bool);
    /// A local socket disconnected (after it left each of its rooms).
    fn removed(&self, socket: &str);
    /// Stops: unsubscribes and cleans up what this node keeps in Redis.
    fn close(&self) -> BoxFuture<'static, ()>;
}

/// A cluster a server joins (one per process): it gives each namespace its link.
pub trait Cluster: Send + Sync + 'static {
    /// Connects namespace `name` (`/`, `/admin`) to the cluster: subscribes to its channels and
    /// hands what arrives for it to `local` (held weakly: a dropped namespace gets nothing).
    fn attach(
        &self,
        name: &str,
        local: std::sync::Weak<dyn LocalNamespace>,
    ) -> Arc<dyn ClusterLink>;
    /// Closes every link (unsubscribes, cleans up this node's bookkeeping) and the connections.
    fn close(&self) -> BoxFuture<'static, ()>;
}
