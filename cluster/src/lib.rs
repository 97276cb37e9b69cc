//! Where Socket.IO packets go.
//!
//! This crate depends on `oxio-protocol` only and knows nothing about the engine or the server: the
//! server hands it socket handles (a type parameter) and it selects which of them receive a broadcast,
//! to which the server then hands the same already-encoded packet.
//!
//! What exists:
//!
//! - [`RoomIndex`]: the sharded in-process room index of one namespace (rooms → sockets, socket →
//!   rooms, recipient selection for broadcasts with `to`/`except`, deduplicated). See
//!   [`room_index`] for its layout, invariants and locking rules.
//!
//! - [`Adapter`]: what a namespace keeps its sockets in and broadcasts through; [`InMemoryAdapter`]
//!   (on top of [`RoomIndex`]) is the default.
//!
//! What is to come: the Redis adapter and emitter, wire-compatible with `@socket.io/redis-adapter`
//! 8.x and `@socket.io/redis-emitter` 5.x.

pub mod adapter;
pub mod room_index;

pub use adapter::{Adapter, InMemoryAdapter, Target};
pub use room_index::{Room, RoomIndex, SocketId};
