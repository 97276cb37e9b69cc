//! The Engine.IO v4 codec: packets, polling payloads and the handshake.
//!
//! # Wire format
//! A packet is one ASCII type digit followed by its data: `0` open, `1` close, `2` ping, `3` pong,
//! `4` message, `5` upgrade, `6` noop. Over a websocket a text frame is `<digit><text>` and a binary
//! frame is a binary message (its raw bytes, no type byte). Over HTTP long-polling a payload joins the
//! text forms of packets with the record separator [`SEPARATOR`] (`0x1e`), a binary message being `b`
//! followed by standard, padded base64 of its bytes.
//!
//! | direction | websocket | long-polling |
//! |---|---|---|
//! | decode | [`Packet::decode_text`], [`Packet::decode_binary`] | [`decode_payload`] |
//! | encode | [`Packet::encode_text`] / a binary frame | [`encode_payload`], [`payload_len`] |
//!
//! ```
//! use bytes::Bytes;
//! use oxio_protocol::engine_io::{Message, Packet, decode_payload, encode_payload};
//!
//! let body = Bytes::from_static(b"4hello\x1ebAQIDBA==");
//! let packets: Vec<Packet> = decode_payload(body).collect::<Result<_, _>>()?;
//! assert_eq!(packets[0], Packet::Message(Message::Text("hello".into())));
//! assert_eq!(packets[1], Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4]))));
//!
//! let mut out = Vec::new();
//! encode_payload(&packets, &mut out);
//! assert_eq!(out, b"4hello\x1ebAQIDBA==");
//! # Ok::<(), oxio_protocol::engine_io::DecodeError>(())
//! ```
//!
//! # Invariants
//! - Sans-IO: nothing here reads, writes, sleeps or spawns.
//! - Zero-copy decoding: decoded text ([`Utf8Bytes`]) and websocket binary messages share the input
//!   [`Bytes`](bytes::Bytes) buffer ([`Bytes::slice`](bytes::Bytes::slice)); only base64 binary
//!   messages of a polling payload allocate, at most 3/4 of their encoded length. No decoder allocates
//!   from a length it read.
//! - Every malformed input gives a typed [`DecodeError`]; no decoder panics.
//! - Round trip: decoding the text form of any packet gives it back, and decoding [`encode_payload`] of
//!   a non-empty list of packets gives the list back, provided no text in it contains `0x1e` (see
//!   [`encode_payload`]).
//! - Encoders write exactly the length their `*_len` function reports ([`Packet::text_len`],
//!   [`payload_len`]), and their output is valid UTF-8.
//!
//! Behaviour follows Node's `engine.io-parser` (v4 protocol), with errors in place of its error packet.

mod error;
mod handshake;
mod packet;
mod payload;
mod utf8;

pub use error::DecodeError;
pub use handshake::Handshake;
pub use packet::{Message, Packet, PacketType};
pub use payload::{PayloadDecoder, decode_payload, encode_payload, payload_len};
pub use utf8::Utf8Bytes;

/// The record separator (`0x1e`) that joins packets in a long-polling payload.
pub const SEPARATOR: u8 = 0x1e;
