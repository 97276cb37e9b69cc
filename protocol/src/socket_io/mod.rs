//! The Socket.IO v5 packet codec, carried in Engine.IO messages.
//!
//! # Wire format
//! A packet is an Engine.IO text message `<type>[<count>-][<namespace>,][<ack id>][<JSON data>]`:
//! one type digit ([`PacketType`]), an attachment count followed by `-` for BINARY_EVENT (`5`) and
//! BINARY_ACK (`6`) only, a namespace if the next byte is `/` (it runs to the first `,`, or to the
//! end; `/` when absent), an ack id if digits follow, and the JSON data in the rest. A binary packet
//! is followed by `count` Engine.IO binary messages, its attachments; its data holds a placeholder
//! `{"_placeholder":true,"num":i}` where attachment `i` goes ([`is_placeholder`]).
//!
//! | type | data (as Node's `isPayloadValid`) |
//! |---|---|
//! | CONNECT | absent, or an object |
//! | DISCONNECT | absent |
//! | EVENT, BINARY_EVENT | a non-empty array whose first element is a number or a string not in [`RESERVED_EVENTS`] |
//! | ACK, BINARY_ACK | an array (and the packet needs an ack id) |
//! | CONNECT_ERROR | a string or an object |
//!
//! ```
//! use bytes::BytesMut;
//! use oxio_protocol::socket_io::{DecodeLimits, Decoded, Packet, RawJson, encode_event};
//!
//! let arg: &RawJson = serde_json::from_str(r#"{"a":3}"#)?;
//! let mut out = BytesMut::new();
//! encode_event(&mut out, "/admin", Some(12), "hello", &[arg]);
//! assert_eq!(&out[..], br#"2/admin,12["hello",{"a":3}]"#);
//!
//! let text = String::from_utf8(out.to_vec())?.into();
//! let Decoded::Complete(packet) = Packet::decode_text(text, &DecodeLimits::default())? else {
//!     unreachable!()
//! };
//! assert_eq!(packet.namespace, "/admin");
//! assert_eq!(packet.id, Some(12));
//! assert_eq!(packet.event_name().as_deref(), Some("hello"));
//! assert_eq!(packet.args()?.as_slice(), [r#"{"a":3}"#]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//! - Sans-IO; no decoder panics; every malformed input gives a typed [`DecodeError`].
//! - Zero-copy decoding: a decoded packet's namespace and data, and every argument from
//!   [`Packet::args`], are slices of the input buffer; JSON is never copied or re-serialized, and
//!   placeholders stay in the data (the attachments are in [`Packet::attachments`]).
//! - Bounded allocation: attachment count, namespace length and ack id are checked against
//!   [`DecodeLimits`] and [`MAX_ACK_ID`] before anything is allocated for them.
//! - Round trip: decoding [`Packet::encode`]'s output (and then its attachments) gives back
//!   [`Packet::normalized`] of any packet whose parts are valid (as a decoded packet's are).
//!
//! # Differences from Node's `socket.io-parser` (4.2.6 in the reference tree, 4.2.7 on npm)
//! The decoder is stricter than Node's only on input Node's own encoder never produces:
//! - Empty text is an error (Node reads it, and any whitespace-only type such as `" "`, as CONNECT).
//! - Attachment count and ack id must be ASCII digits: Node's `Number()` also takes `1e0`, `+1`,
//!   `0x1`, and whitespace (`"2 5[...]"` has ack id 5 there; `"2 "` has ack id 0). An empty or zero
//!   count is an error, as in 4.2.7 (4.2.6 accepted 0 and then refused every later text packet).
//! - Ack ids above 2^53 - 1 are an error (Node rounds them to the nearest double).
//! - EVENT, BINARY_EVENT, ACK, BINARY_ACK and CONNECT_ERROR need data, and acks an ack id (Node
//!   accepts `"2"` or `"3[]"`, and its server then emits `undefined` or drops the ack).
//! - Namespaces are at most [`DecodeLimits::max_namespace_len`] bytes (Node: no limit). Like Node, a
//!   namespace without `,` runs to the end of the text, so `2/nsp["a"]` is an event without data on
//!   namespace `/nsp["a"]`, which (unlike in Node) is an error for lack of data.
//! - Placeholders are checked when the text arrives, not after the last attachment; a `num` that is
//!   not an integer (`0.5`) is an error (Node substitutes `undefined`); an object whose duplicate key
//!   hides an illegal placeholder (`{"x":<illegal>,"x":1}`) is an error (Node keeps the last `x`).
//! - Data must start right after the header: `"2 [\"a\"]"` is an error (Node reads the space as ack
//!   id 0). Trailing whitespace is accepted, as in Node.
//!
//! Elsewhere:
//! - JSON is checked by the decoder's own one-pass scanner, which accepts exactly what serde_json
//!   accepts, and so agrees with `JSON.parse` on what is valid (lone surrogate escapes included).
//!   Nesting is limited to [`MAX_DEPTH`] levels; Node's decoder overflows its stack somewhere below
//!   100,000 levels.
//! - A reassembled binary packet keeps its type (BINARY_EVENT, BINARY_ACK; Node relabels it EVENT,
//!   ACK) and its placeholders, next to [`Packet::attachments`] (Node puts the buffers in their place).
//! - A numeric event name (Node accepts `[1]`) is given by [`Packet::event_name`] as written, where
//!   JavaScript would turn `1.0` into `"1"`.

mod args;
mod binary;
mod data_index;
mod decode;
mod encode;
mod error;
mod json_scan;
mod packet;
mod placeholder;
mod text_writer;

#[cfg(test)]
mod tests;

pub use args::RawArgs;
pub use binary::{PartialPacket, Reassembly};
pub use data_index::DataIndex;
pub use decode::{DecodeLimits, Decoded, MAX_DEPTH, RESERVED_EVENTS};
pub use encode::{
    JsonArg, RawJson, binary_ack_len, binary_event_len, connect_error_len, connect_len,
    disconnect_len, encode_ack, encode_binary_ack, encode_binary_event, encode_connect,
    encode_connect_error, encode_disconnect, encode_event, fill_binary_ack, fill_binary_event,
    fill_connect, fill_connect_error, fill_disconnect,
};
pub use error::DecodeError;
pub use packet::{Packet, PacketType};
pub use placeholder::is_placeholder;

/// The largest ack id accepted: 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`. Node keeps ack ids
/// as JavaScript numbers, which are exact only up to here.
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;
