//! The Redis adapter's messages and their encodings, sans-IO: bytes in, typed messages out, and back.
//!
//! Layers, bottom up:
//!
//! - [`Value`]: one decoded msgpack or JSON value (JS semantics: numbers, strings, bytes, arrays,
//!   objects with string keys in order). [`decode`] reads the notepack.io 3 dialect, plus what older
//!   Node peers send (float32, notepack 2's `undefined`, ArrayBuffer and Date extensions, timestamp
//!   extensions, non-string keys); [`encode`] writes exactly the bytes notepack.io 3 writes for the
//!   same JS value. JSON text converts both ways with JSON.parse / JSON.stringify semantics.
//! - Conversions between a [`Value`] and the server's [`RemoteData`](crate::RemoteData) (binary
//!   values ↔ placeholders plus attachments) and `serde_json::Value`.
//! - The classic adapter's messages ([`ClassicBroadcast`], [`ClassicRequest`],
//!   [`ClassicResponse`]) and the sharded adapter's envelope ([`ClusterMessage`]), each with a
//!   `decode_*` and an `encode_*` function.
//!
//! # Invariants
//!
//! - **No panic on any input.** Every decoder returns [`WireError`] for malformed input; unknown
//!   extension types decode to [`Value::Nil`] (logged at debug level) instead of failing the message.
//! - **Bounded memory.** A length read from the input is checked against the bytes that remain
//!   before anything is allocated for it (an array of `n` values needs at least `n` bytes), so
//!   decoding allocates at most a small constant factor (about 40 bytes of [`Value`] per input byte)
//!   of the input's size.
//! - **Bounded nesting.** Decoders refuse values with more than [`MAX_DEPTH`] nested arrays and maps
//!   ([`WireError::TooDeep`]), so recursion depth is bounded; encoders refuse the same, so anything
//!   this module encodes, it decodes again.
//! - **Whole input.** Bytes after the value are an error ([`WireError::TrailingBytes`]), as in Node.
//! - **What goes out is what Node reads**: broadcasts are always a 3-array whose `opts` map holds
//!   `rooms` and `except` arrays, and requests of types 5 and 7 always carry `opts` (a Node node
//!   crashes otherwise).

mod classic;
mod convert;
mod date;
mod error;
mod fields;
mod jsnum;
mod json;
mod json_parse;
mod notepack;
mod opts;
mod request;
mod response;
mod sharded;
#[cfg(test)]
mod tests;
mod value;

pub use classic::{ClassicBroadcast, decode_classic_broadcast, encode_classic_broadcast};
pub use error::WireError;
pub use notepack::{decode, encode};
pub use request::{
    ClassicRequest, DisconnectTarget, MembershipTarget, RequestKind, decode_classic_request,
    encode_classic_request,
};
pub use response::{
    ClassicResponse, ResponseBody, decode_classic_response, encode_classic_response,
};
pub use sharded::{ClusterBody, ClusterMessage, decode_cluster_message, encode_cluster_message};
pub use value::Value;

pub(crate) use classic::broadcast_bytes;
pub(crate) use opts::OptsLayout;
#[cfg(test)]
pub(crate) use tests::dump;

/// The deepest nesting of arrays and maps a decoder accepts and an encoder writes.
///
/// Node has no such limit, but its JSON and msgpack parsers recurse too; 100 levels leave room for
/// any real event data inside the few levels of a message's envelope.
pub const MAX_DEPTH: usize = 100;
