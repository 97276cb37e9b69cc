//! Unit tests of the msgpack codec.

mod decode_tests;
mod encode_tests;
mod json_tests;
mod node_vectors;
mod node_vectors_decode;

use bytes::{Bytes, BytesMut};

use super::{MsgpackError, MsgpackLimits, decode, decode_bytes, encode};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{Packet, PacketType};

/// Bytes from hex digits.
fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Decodes with the default limits, both ways (copying and sharing), which must agree.
fn dec(bytes: &[u8]) -> Result<Packet, MsgpackError> {
    let copied = decode(bytes, &MsgpackLimits::default());
    let shared = decode_bytes(&Bytes::copy_from_slice(bytes), &MsgpackLimits::default());
    assert_eq!(copied, shared);
    copied
}

/// Encodes, or panics.
fn enc(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(packet, &mut out).unwrap();
    out.to_vec()
}

/// A packet with the given parts.
fn packet(
    packet_type: PacketType,
    namespace: &'static str,
    id: Option<u64>,
    data: Option<&str>,
    attachments: &[&[u8]],
) -> Packet {
    Packet {
        packet_type,
        namespace: Utf8Bytes::from_static(namespace),
        id,
        data: data.map(|d| Utf8Bytes::from(d.to_owned())),
        attachments: attachments
            .iter()
            .map(|a| Bytes::copy_from_slice(a))
            .collect(),
        index: Default::default(),
    }
}

/// An EVENT on `/` with data `data` and no attachments.
fn event(data: &str) -> Packet {
    packet(PacketType::Event, "/", None, Some(data), &[])
}

/// The data JSON of decoding `{type: 2, data: <data>, nsp: "/"}`, `data` being msgpack bytes.
fn event_data(data: &[u8]) -> Result<String, MsgpackError> {
    let mut bytes = b"\x83\xa4type\x02\xa4data".to_vec();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"\xa3nsp\xa1/");
    Ok(dec(&bytes)?.data.unwrap().to_string())
}
