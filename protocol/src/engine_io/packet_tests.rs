//! Unit tests of single packets.

use bytes::Bytes;

use super::{Message, Packet, PacketType};
use crate::engine_io::{DecodeError, Utf8Bytes};

/// Decodes `s` with [`Packet::decode_text`], and checks that [`Packet::decode_utf8`] agrees when `s`
/// is UTF-8.
fn decode(s: &'static [u8]) -> Result<Packet, DecodeError> {
    let decoded = Packet::decode_text(Bytes::from_static(s));
    if let Ok(text) = std::str::from_utf8(s) {
        let from_utf8 = Packet::decode_utf8(Utf8Bytes::from_static(text));
        assert_eq!(from_utf8, decoded, "decode_utf8({text:?})");
    }
    decoded
}

fn encode(p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode_text(&mut out);
    assert_eq!(out.len(), p.text_len(), "text_len of {p:?}");
    assert!(std::str::from_utf8(&out).is_ok());
    assert_eq!(p.to_text().as_bytes(), out.as_slice());
    out
}

fn text(s: &'static str) -> Utf8Bytes {
    Utf8Bytes::from_static(s)
}

#[test]
fn packet_type_digits() {
    let all = [
        PacketType::Open,
        PacketType::Close,
        PacketType::Ping,
        PacketType::Pong,
        PacketType::Message,
        PacketType::Upgrade,
        PacketType::Noop,
    ];
    for (i, ty) in all.into_iter().enumerate() {
        let digit = b'0' + u8::try_from(i).unwrap();
        assert_eq!(ty.as_byte(), digit);
        assert_eq!(PacketType::from_byte(digit), Some(ty));
    }
    for b in (0..=u8::MAX).filter(|b| !(b'0'..=b'6').contains(b)) {
        assert_eq!(PacketType::from_byte(b), None);
    }
}

#[test]
fn every_packet_type_decodes_and_encodes() {
    let cases: [(&[u8], Packet); 11] = [
        (b"0{\"sid\":\"a\"}", Packet::Open(text("{\"sid\":\"a\"}"))),
        (b"1", Packet::Close),
        (b"2", Packet::Ping(text(""))),
        (b"2probe", Packet::Ping(text("probe"))),
        (b"3", Packet::Pong(text(""))),
        (b"3probe", Packet::Pong(text("probe"))),
        (b"4hello", Packet::Message(Message::Text(text("hello")))),
        (b"4", Packet::Message(Message::Text(text("")))),
        (
            b"4h\xc3\xa9\xe2\x82\xac",
            Packet::Message(Message::Text(text("hé€"))),
        ),
        (b"5", Packet::Upgrade),
        (b"6", Packet::Noop),
    ];
    for (wire, packet) in cases {
        let decoded = Packet::decode_text(Bytes::copy_from_slice(wire)).unwrap();
        assert_eq!(decoded, packet);
        assert_eq!(decoded.packet_type().as_byte(), wire[0]);
        assert_eq!(encode(&packet), wire);
    }
}

#[test]
fn data_after_close_upgrade_noop_is_ignored() {
    assert_eq!(decode(b"1reason"), Ok(Packet::Close));
    assert_eq!(decode(b"5probe"), Ok(Packet::Upgrade));
    assert_eq!(decode(b"6\xff\xfe"), Ok(Packet::Noop));
}

#[test]
fn errors() {
    assert_eq!(decode(b""), Err(DecodeError::Empty));
    assert_eq!(decode(b"abc"), Err(DecodeError::UnknownPacketType(b'a')));
    assert_eq!(decode(b"7"), Err(DecodeError::UnknownPacketType(b'7')));
    assert_eq!(decode(b"\xff4"), Err(DecodeError::UnknownPacketType(0xff)));
    assert_eq!(decode(b"\x1e"), Err(DecodeError::UnknownPacketType(0x1e)));
    assert_eq!(decode(b"4\xff"), Err(DecodeError::InvalidUtf8));
    assert_eq!(decode(b"0{\xc3"), Err(DecodeError::InvalidUtf8));
    assert_eq!(decode(b"2\x80"), Err(DecodeError::InvalidUtf8));
    assert_eq!(decode(b"3\xed\xa0\x80"), Err(DecodeError::InvalidUtf8));
    assert_eq!(decode(b"b!!!"), Err(DecodeError::InvalidBase64));
    assert_eq!(decode(b"bA"), Err(DecodeError::InvalidBase64));
    assert_eq!(decode(b"bAQ==="), Err(DecodeError::InvalidBase64));
    assert_eq!(decode(b"bAQ ID"), Err(DecodeError::InvalidBase64));
    assert_eq!(decode(b"bAQ-_"), Err(DecodeError::InvalidBase64));
}

#[test]
fn base64_binary_message() {
    let bin = |b: &'static [u8]| Ok(Packet::Message(Message::Binary(Bytes::from_static(b))));
    assert_eq!(decode(b"bAQIDBA=="), bin(&[1, 2, 3, 4]));
    // Padding is optional on input, as Node's Buffer.from(s, "base64") allows.
    assert_eq!(decode(b"bAQIDBA"), bin(&[1, 2, 3, 4]));
    assert_eq!(decode(b"b"), bin(b""));
    assert_eq!(decode(b"b+/8="), bin(&[0xfb, 0xff]));
    let p = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
    assert_eq!(encode(&p), b"bAQIDBA==");
    assert_eq!(p.packet_type(), PacketType::Message);
}

#[test]
fn long_binary_crosses_base64_chunks() {
    for len in [0, 1, 2, 3, 767, 768, 769, 770, 1536, 5000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let p = Packet::Message(Message::Binary(Bytes::from(data)));
        let wire = encode(&p);
        assert_eq!(Packet::decode_text(Bytes::from(wire)), Ok(p));
    }
}

#[test]
fn websocket_binary_frame() {
    let frame = Bytes::from_static(b"4not a type byte");
    let p = Packet::decode_binary(frame.clone());
    assert_eq!(p, Packet::Message(Message::Binary(frame.clone())));
    let Packet::Message(Message::Binary(b)) = p else {
        unreachable!()
    };
    assert_eq!(b.as_ptr(), frame.as_ptr());
    assert_eq!(
        Packet::decode_binary(Bytes::new()),
        Packet::Message(Message::Binary(Bytes::new()))
    );
}

#[test]
fn decoded_text_shares_the_input() {
    for wire in [&b"4hello world"[..], b"0{}", b"2probe", b"3probe", b"4"] {
        let input = Bytes::from(wire.to_vec());
        let range = input.as_ptr_range();
        let data = match Packet::decode_text(input.clone()).unwrap() {
            Packet::Open(t)
            | Packet::Ping(t)
            | Packet::Pong(t)
            | Packet::Message(Message::Text(t)) => t,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(data.as_bytes(), &wire[1..]);
        let start = data.as_bytes().as_ptr();
        assert_eq!(start, input[1..].as_ptr(), "not a slice of the input");
        assert!(range.start <= start && start <= range.end);
    }
}

#[test]
fn message_helpers() {
    let t = Message::from(text("héllo"));
    assert_eq!((t.len(), t.is_empty(), t.is_binary()), (6, false, false));
    let b = Message::from(Bytes::from_static(&[0]));
    assert_eq!((b.len(), b.is_empty(), b.is_binary()), (1, false, true));
    assert!(Message::Text(Utf8Bytes::default()).is_empty());
    assert_eq!(Packet::from(b.clone()), Packet::Message(b));
}

#[test]
fn encode_into_a_fixed_buffer() {
    let p = Packet::Message(Message::Text(text("abc")));
    let mut buf = [0u8; 4];
    let mut slice = &mut buf[..];
    p.encode_text(&mut slice);
    assert!(slice.is_empty());
    assert_eq!(&buf, b"4abc");
}
