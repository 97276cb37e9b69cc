//! Property tests of the Engine.IO v4 codec: round trips, and no panics on arbitrary input.

use bytes::Bytes;
use oxio_protocol::engine_io::{
    DecodeError, Handshake, Message, Packet, SEPARATOR, Utf8Bytes, decode_payload, encode_payload,
    payload_len,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Any string, as a packet's text.
fn any_text() -> impl Strategy<Value = Utf8Bytes> + Clone {
    any::<String>().prop_map(Utf8Bytes::from)
}

/// Any string without the separator `0x1e`, which a polling payload cannot carry inside a text.
fn payload_text() -> impl Strategy<Value = Utf8Bytes> + Clone {
    any::<String>().prop_map(|s| Utf8Bytes::from(s.replace(char::from(SEPARATOR), "")))
}

fn packet(text: impl Strategy<Value = Utf8Bytes> + Clone) -> impl Strategy<Value = Packet> {
    prop_oneof![
        text.clone().prop_map(Packet::Open),
        Just(Packet::Close),
        text.clone().prop_map(Packet::Ping),
        text.clone().prop_map(Packet::Pong),
        text.prop_map(|t| Packet::Message(Message::Text(t))),
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| Packet::Message(Message::Binary(Bytes::from(b)))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

/// Bytes biased toward the codec's interesting bytes: type digits, `b`, the separator, base64
/// characters, and bytes that break UTF-8.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = select(b"0123456789bAQ=+/-_\x1e\xff\xc3\xa9 ".to_vec());
    prop::collection::vec(prop_oneof![interesting, any::<u8>()], 0..96)
}

fn encode(p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode_text(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_text_round_trip(p in packet(any_text())) {
        let wire = encode(&p);
        prop_assert_eq!(wire.len(), p.text_len());
        prop_assert!(std::str::from_utf8(&wire).is_ok());
        prop_assert_eq!(Packet::decode_text(Bytes::from(wire)), Ok(p));
    }

    #[test]
    fn binary_frame_round_trip(b in prop::collection::vec(any::<u8>(), 0..300)) {
        let p = Packet::decode_binary(Bytes::from(b.clone()));
        prop_assert_eq!(&p, &Packet::Message(Message::Binary(Bytes::from(b))));
        prop_assert_eq!(Packet::decode_text(Bytes::from(encode(&p))), Ok(p));
    }

    #[test]
    fn payload_round_trip(packets in prop::collection::vec(packet(payload_text()), 1..16)) {
        let mut body = Vec::new();
        encode_payload(&packets, &mut body);
        prop_assert_eq!(body.len(), payload_len(&packets));
        let decoded: Result<Vec<Packet>, DecodeError> = decode_payload(Bytes::from(body)).collect();
        prop_assert_eq!(decoded, Ok(packets));
    }

    #[test]
    fn decode_text_never_panics(data in wire_bytes()) {
        if let Ok(p) = Packet::decode_text(Bytes::from(data)) {
            // Whatever decodes re-encodes to something that decodes to the same packet.
            prop_assert_eq!(Packet::decode_text(Bytes::from(encode(&p))), Ok(p));
        }
    }

    #[test]
    fn decode_text_never_panics_on_any_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Packet::decode_text(Bytes::from(data));
    }

    #[test]
    fn decode_payload_never_panics(data in wire_bytes()) {
        let items: Vec<_> = decode_payload(Bytes::from(data.clone())).collect();
        prop_assert!(!items.is_empty());
        // At most one error, and only last.
        let errors = items.iter().filter(|r| r.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || items.last().is_some_and(Result::is_err));
        // Elements come from splitting on 0x1e, so a fully decoded body always round trips.
        if errors == 0 {
            let packets: Vec<Packet> = items.into_iter().map(Result::unwrap).collect();
            let mut body = Vec::new();
            encode_payload(&packets, &mut body);
            let again: Result<Vec<Packet>, DecodeError> = decode_payload(Bytes::from(body)).collect();
            prop_assert_eq!(again, Ok(packets));
        }
    }

    #[test]
    fn utf8_bytes_agrees_with_std(data in prop::collection::vec(any::<u8>(), 0..32)) {
        let ours = Utf8Bytes::try_from(Bytes::from(data.clone()));
        match std::str::from_utf8(&data) {
            Ok(s) => prop_assert_eq!(ours.map(|u| u.as_str().to_owned()), Ok(s.to_owned())),
            Err(_) => prop_assert_eq!(ours, Err(DecodeError::InvalidUtf8)),
        }
    }

    #[test]
    fn handshake_round_trip(
        sid in any::<String>(),
        upgrades in prop::collection::vec(any::<String>(), 0..3),
        ping_interval in any::<u64>(),
        ping_timeout in any::<u64>(),
        max_payload in any::<u64>(),
    ) {
        let h = Handshake { sid, upgrades, ping_interval, ping_timeout, max_payload };
        let Packet::Open(json) = h.to_packet() else { unreachable!() };
        prop_assert_eq!(Handshake::from_json(&json), Ok(h));
    }
}
