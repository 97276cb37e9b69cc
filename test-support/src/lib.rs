//! Helpers shared by the integration tests of several crates. Test-only: nothing here is part of
//! oxio's API.
//!
//! - [`redis`]: `redis-server` processes (a single server or a 3-master cluster) on free loopback
//!   ports, started and stopped by the tests themselves.
//! - [`node`]: the Node peers of the interop tests (socket.io servers with the Redis adapter,
//!   emitters, clients), driven over JSON lines.

pub mod node;
pub mod redis;
