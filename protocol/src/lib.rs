//! Sans-IO codecs for the oxio Socket.IO server.
//!
//! Nothing in this crate performs I/O, reads a clock or spawns a task: every function turns bytes into
//! values or values into bytes. Decoders borrow from the input [`bytes::Bytes`] instead of copying it,
//! return a typed error for every malformed input, never panic, and never allocate from a length field
//! they have not checked against a limit.

pub mod date;
pub mod decimal;
pub mod engine_io;
pub mod msgpack;
pub mod socket_io;
pub mod websocket;
