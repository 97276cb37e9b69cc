//! The Redis adapters, wire-compatible with `@socket.io/redis-adapter` 8.x, and what they stand
//! on.
//!
//! - [`RedisCluster`]: a server's membership of a Redis cluster (hand it to the server's
//!   configuration); one link per namespace, classic or sharded.
//! - [`wire`]: the messages and their encodings (notepack msgpack and JSON), sans-IO.
//! - [`transport`]: connections to a single Redis or a Redis Cluster, subscriptions that survive
//!   reconnects, publishing that never blocks.
//! - [`bookkeeping`]: the optional Redis SET bookkeeping of sockets and rooms.
//! - [`emitter`]: a Rust emitter, for processes that are not Socket.IO servers.

pub mod bookkeeping;
mod classic;
pub mod emitter;
mod node;
mod options;
mod pending;
mod sharded;
pub mod transport;
pub mod wire;

pub use node::RedisCluster;
pub use options::{AdapterMode, RedisAdapterOptions, SubscriptionMode};
