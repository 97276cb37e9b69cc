//! The wire format of `socket.io-msgpack-parser` (3.0.2, on notepack.io 2.2): each Socket.IO packet
//! is one Engine.IO binary message holding a msgpack map.
//!
//! # Wire format
//! The map has the keys `type` (0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR; there is
//! no BINARY_EVENT or BINARY_ACK), `nsp` (the namespace, always present), `data` (any value, absent
//! for none) and `id` (the ack id, if any), in any order; Node's server writes them in the order it
//! builds the packet object: `{type, data, nsp, id}`, or `{id, type, data, nsp}` for an ACK
//! (`Socket#emit` with an ack puts `id` before `nsp`; nothing reads the order). Binary values
//! travel inside the data as msgpack `bin` (a Node `Buffer`), or as `ext` type 0 (an
//! `ArrayBuffer`).
//!
//! Inside this crate a packet keeps the JSON form of [`Packet`](crate::socket_io::Packet):
//! [`decode`] renders the data as JSON text, each binary value as a placeholder
//! `{"_placeholder":true,"num":i}` with its bytes in `attachments[i]` (numbered in document order;
//! the type becomes BINARY_EVENT/BINARY_ACK when there are any), and [`encode`] does the reverse.
//!
//! ```
//! use bytes::BytesMut;
//! use oxio_protocol::msgpack::{self, MsgpackLimits};
//! use oxio_protocol::socket_io::{Packet, PacketType, RawJson};
//!
//! let arg: &RawJson = serde_json::from_str(r#"{"a":3}"#)?;
//! let packet = Packet::event("/".into(), None, "hello", &[arg]);
//! let mut out = BytesMut::new();
//! msgpack::encode(&packet, &mut out)?;
//! // {"type": 2, "data": ["hello", {"a": 3}], "nsp": "/"}
//! assert_eq!(&out[..], b"\x83\xa4type\x02\xa4data\x92\xa5hello\x81\xa1a\x03\xa3nsp\xa1/");
//!
//! let decoded = msgpack::decode(&out, &MsgpackLimits::default())?;
//! assert_eq!(decoded, packet);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decoding: msgpack to JSON
//! Values become JSON as `JSON.stringify` would write what notepack.io decodes:
//! - nil, booleans, strings, arrays and maps as themselves; integers exactly (uint 64 and int 64
//!   too, where JavaScript would round beyond 2^53); floats (float 32 widened) in JavaScript's
//!   shortest form (`1e+21`, `1.5e-7`), NaN and the infinities as `null`, `-0` as `0`.
//! - `fixext 1` type 0 (`undefined`, which socket.io-client sends as the data of a CONNECT without
//!   auth): no data at the top level, `null` in an array, and a map entry left out.
//! - `fixext 8` type 0 (a `Date`): its ISO 8601 string (`null` if out of range).
//! - Other extensions: `[type, <placeholder>]`, as Node reads them (`[type, Buffer]`).
//! - Strings with invalid UTF-8 get U+FFFD replacements, as Node's `Buffer#toString` does.
//! - Map keys are read as a JavaScript object key would be: strings as they are; numbers, booleans,
//!   nil and `undefined` as `String(key)` would write them (`1`, `"true"`, `"null"`); other keys
//!   (containers, binary, extensions, dates) are refused ([`MsgpackError::InvalidKey`]; Node would
//!   write `"[object Object]"`, `"1,2"`, ...). Keys stay in wire order, duplicates included (Node
//!   moves integer-like keys first and keeps the last duplicate).
//!
//! # Decoding: validation
//! As Node's `checkPacket`, with the JSON codec's stricter rules ([`socket_io`](crate::socket_io)
//! module docs):
//! - `type` an integer (`Number.isInteger`: `2.0` counts) in `0..=4`; `nsp` a string starting with
//!   `/`, without `,` (so it could be written as text), at most
//!   [`MsgpackLimits::max_namespace_len`] bytes (Node: any string); `id` absent or an integer in
//!   `0..=`[`MAX_ACK_ID`](crate::socket_io::MAX_ACK_ID) (Node: any integer), and present on an ACK.
//! - `data` by type: CONNECT absent or a map; DISCONNECT absent; EVENT an array whose first element
//!   is a number or a string not in [`RESERVED_EVENTS`](crate::socket_io::RESERVED_EVENTS) (Node's
//!   msgpack parser only asks for an array); ACK an array; CONNECT_ERROR a string or a map.
//! - Binary values only in EVENT and ACK data (the [`Packet`](crate::socket_io::Packet) model has
//!   attachments only there), and never next to a map with `"_placeholder": true`, which would read
//!   as a placeholder ([`MsgpackError::LiteralPlaceholder`]; without binary values such a map is
//!   kept as it is).
//! - Other top-level keys are skipped (socket.io-client sends `options: {compress: true}`); for
//!   duplicate keys the last wins. Nothing may follow the map.
//!
//! # Encoding: JSON to msgpack
//! What notepack.io writes for the JavaScript value `JSON.parse` would give: integers (`1`, `1.0`,
//! `1e3`) in the smallest int/uint form, other numbers as float 64, strings as fixstr/str 8/16/32,
//! arrays as fixarray/array 16/32, objects as fixmap/map 16/32 in text order, placeholders as bin
//! 8/16/32. Deliberate differences: integer literals beyond 2^53 that fit 64 bits are written
//! exactly, not rounded; integral numbers beyond the 64-bit range as float 64 (notepack writes a
//! wrong uint 64, e.g. 0 for `1e300`); a `\u` escape of a lone surrogate as U+FFFD (Node writes
//! U+FFFD for strings over 32 UTF-16 units, garbage for shorter ones). Node's server writes
//! `undefined` entries that JSON cannot hold (`{sid, pid: undefined}`, `{message, data:
//! undefined}`); those entries are absent here.
//!
//! # Invariants
//! - Sans-IO; no decoder or encoder panics, on any input.
//! - Bounded: every length read from the input is checked against the bytes left before it is used;
//!   nesting is limited by [`MsgpackLimits::max_depth`] and binary values by
//!   [`MsgpackLimits::max_attachments`]; the JSON written is at most a small constant times the
//!   input length. Besides its output, [`encode`] keeps 4 bytes per container of the data (at
//!   most twice the data's length) and 32 per placeholder when there are attachments; with what it
//!   uses while reading, at most 6 bytes per byte of the data, for the deepest nesting. Both
//!   directions are iterative: no input can overflow the stack.
//! - Round trip: decoding [`encode`]'s output gives back
//!   [`Packet::normalized`](crate::socket_io::Packet::normalized) for any valid packet (as a decoded
//!   one is: placeholders numbered in document order) whose data is JSON as [`decode`] writes it
//!   (for other JSON, an equivalent value). Every packet [`decode`] accepts is such a packet, and
//!   its data re-encoded nests no deeper than it did (an extension, an array once re-encoded,
//!   already counts as one), so decoding and re-encoding is a fixed point (checked by property
//!   tests on arbitrary input).

mod decode;
mod encode;
mod error;
mod json_in;
mod json_out;
mod read;
mod render;
mod structure;

#[cfg(test)]
mod tests;

pub use decode::{decode, decode_bytes};
pub use encode::encode;
pub use error::MsgpackError;

/// Limits checked while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgpackLimits {
    /// Deepest nesting of arrays and maps in the data (the data itself at depth 1); an extension
    /// rendered as `[type, <placeholder>]` counts as an array, which is what [`encode`] writes for
    /// it. Default 64, well below serde_json's recursion limit of 128, so the JSON written can be
    /// parsed again.
    pub max_depth: usize,
    /// Most binary values one packet may hold. Default 10, as the JSON codec's `max_attachments`
    /// (Node's msgpack parser has no limit).
    pub max_attachments: usize,
    /// Longest namespace, in bytes. Default 1024, as the JSON codec's.
    pub max_namespace_len: usize,
}

impl Default for MsgpackLimits {
    fn default() -> Self {
        MsgpackLimits {
            max_depth: 64,
            max_attachments: 10,
            max_namespace_len: 1024,
        }
    }
}
