//! Where Socket.IO packets go: to the sockets of this process, and to the other nodes of a cluster.
//!
//! This crate depends on `oxio-protocol` (and the `redis` crate) only and knows nothing about the
//! engine or the server: the server hands it socket handles (a type parameter) and it selects which
//! of them receive a broadcast, to which the server then hands the same already-encoded packet.
//!
//! - [`RoomIndex`]: the sharded in-process room index of one namespace (rooms → sockets, socket →
//!   rooms, recipient selection for broadcasts with `to`/`except`, deduplicated). See
//!   [`room_index`] for its layout, invariants and locking rules.
//!
//! - [`Adapter`]: what a namespace keeps its sockets in and broadcasts through; [`InMemoryAdapter`]
//!   (on top of [`RoomIndex`]) is the default.
//!
//! - [`remote`]: what crosses between a namespace and the other nodes: [`LocalNamespace`] (what
//!   the server does when another node asks), [`ClusterLink`] (what the server asks of the other
//!   nodes), [`Cluster`] (a process's membership, giving each namespace its link).
//!
//! - [`redis`]: the Redis adapters, wire-compatible with `@socket.io/redis-adapter` 8.x (classic
//!   and sharded) and reachable by `@socket.io/redis-emitter` 5.x and `socket.io-emitter`; the
//!   optional Redis SET bookkeeping of sockets and rooms; a Rust emitter.

pub mod adapter;
pub mod redis;
pub mod remote;
pub mod room_index;

pub use adapter::{Adapter, InMemoryAdapter, Target};
pub use remote::{
    AckSink, BroadcastFlags, BroadcastOptions, Cluster, ClusterError, ClusterLink, LocalNamespace,
    RemoteAcks, RemoteData, ServerSideAck, ServerSideAcks, SocketInfo,
};
pub use room_index::{MembershipChange, Room, RoomIndex, SocketId};
