//! Where Socket.IO packets go.
//!
//! This crate will hold the sharded in-process room index and the Redis adapter that is wire-compatible
//! with `@socket.io/redis-adapter`. It depends on `oxio-protocol` only and knows nothing about the engine
//! or the server: the server hands it socket handles and it delivers already-encoded packets to them.
//!
//! Nothing is implemented here yet; the Socket.IO server and cluster work fill it in.
