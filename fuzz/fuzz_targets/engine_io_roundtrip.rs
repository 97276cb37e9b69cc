//! Structure-aware round trip: an `arbitrary` list of packets → `encode_payload` → `decode_payload`
//! gives the same list (texts lose their 0x1e bytes first: a polling payload cannot carry them).
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oxio_protocol::engine_io::{
    DecodeError, Message, Packet, SEPARATOR, Utf8Bytes, decode_payload, encode_payload, payload_len,
};

/// An arbitrary packet description.
#[derive(Arbitrary, Debug)]
enum FuzzPacket {
    Open(String),
    Close,
    Ping(String),
    Pong(String),
    Text(String),
    Binary(Vec<u8>),
    Upgrade,
    Noop,
}

fn text(s: String) -> Utf8Bytes {
    Utf8Bytes::from(s.replace(char::from(SEPARATOR), ""))
}

impl From<FuzzPacket> for Packet {
    fn from(p: FuzzPacket) -> Self {
        match p {
            FuzzPacket::Open(s) => Packet::Open(text(s)),
            FuzzPacket::Close => Packet::Close,
            FuzzPacket::Ping(s) => Packet::Ping(text(s)),
            FuzzPacket::Pong(s) => Packet::Pong(text(s)),
            FuzzPacket::Text(s) => Packet::Message(Message::Text(text(s))),
            FuzzPacket::Binary(b) => Packet::Message(Message::Binary(Bytes::from(b))),
            FuzzPacket::Upgrade => Packet::Upgrade,
            FuzzPacket::Noop => Packet::Noop,
        }
    }
}

fuzz_target!(|input: Vec<FuzzPacket>| {
    if input.is_empty() {
        // An empty body is not a payload.
        return;
    }
    let packets: Vec<Packet> = input.into_iter().map(Packet::from).collect();
    let mut body = Vec::with_capacity(payload_len(&packets));
    encode_payload(&packets, &mut body);
    assert_eq!(body.len(), payload_len(&packets));
    for p in &packets {
        let mut wire = Vec::new();
        p.encode_text(&mut wire);
        assert_eq!(Packet::decode_text(Bytes::from(wire)).as_ref(), Ok(p));
    }
    let decoded: Result<Vec<Packet>, DecodeError> = decode_payload(Bytes::from(body)).collect();
    assert_eq!(decoded, Ok(packets));
});
