//! Fuzzes `decode_payload` on arbitrary bytes: no panic, an error only as the last item, and a fully
//! decoded payload whose texts hold no 0x1e re-encodes to a body that decodes to the same packets.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oxio_protocol::engine_io::{
    DecodeError, Message, Packet, SEPARATOR, decode_payload, encode_payload, payload_len,
};

fn has_separator(p: &Packet) -> bool {
    match p {
        Packet::Open(t) | Packet::Ping(t) | Packet::Pong(t) | Packet::Message(Message::Text(t)) => {
            t.as_bytes().contains(&SEPARATOR)
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let items: Vec<Result<Packet, DecodeError>> =
        decode_payload(Bytes::copy_from_slice(data)).collect();
    assert!(!items.is_empty());
    assert!(items.iter().rev().skip(1).all(Result::is_ok));
    let Ok(packets) = items.into_iter().collect::<Result<Vec<_>, _>>() else {
        return;
    };
    if packets.iter().any(has_separator) {
        return;
    }
    let mut body = Vec::with_capacity(payload_len(&packets));
    encode_payload(&packets, &mut body);
    assert_eq!(body.len(), payload_len(&packets));
    let again: Result<Vec<Packet>, DecodeError> = decode_payload(Bytes::from(body)).collect();
    assert_eq!(again, Ok(packets));
});
