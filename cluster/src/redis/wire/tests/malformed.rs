//! Malformed, truncated, oversized and deeply nested input: refused, never a panic.

use bytes::BytesMut;

use super::super::{
    MAX_DEPTH, Value, WireError, decode, decode_classic_broadcast, decode_classic_request,
    decode_classic_response, decode_cluster_message, encode,
};
use super::dump;

fn all_decoders(input: &[u8]) {
    let _ = decode(input);
    let _ = decode_classic_broadcast(input);
    let _ = decode_classic_request(input);
    let _ = decode_classic_response(input);
    let _ = decode_cluster_message(input);
}

#[test]
fn empty_invalid_and_trailing() {
    assert_eq!(decode(b""), Err(WireError::Empty));
    assert_eq!(decode(&[0xc1]), Err(WireError::InvalidByte(0xc1)));
    assert_eq!(
        decode(&[0x01, 0x02, 0x03]),
        Err(WireError::TrailingBytes(2))
    );
    assert_eq!(decode_classic_request(b""), Err(WireError::Empty));
    assert!(matches!(
        decode_classic_request(br#"{"type":1} x"#),
        Err(WireError::Json(_))
    ));
}

#[test]
fn every_truncation_is_refused() {
    let full = dump(
        "93 a6\"D-ZMLx\" 83 a4\"type\" 02 a4\"data\" 93 a3\"bin\" c4 03 01 02 03 \
         cb 3f f8 00 00 00 00 00 00 a3\"nsp\" a1\"/\" \
         83 a5\"rooms\" 91 a5\"room1\" a6\"except\" 90 a5\"flags\" 81 a7\"timeout\" cd 03 e8",
    );
    assert!(decode_classic_broadcast(&full).is_ok());
    for len in 0..full.len() {
        assert!(decode(&full[..len]).is_err(), "{len}");
        assert!(decode_classic_broadcast(&full[..len]).is_err(), "{len}");
    }
}

#[test]
fn huge_declared_lengths_allocate_nothing() {
    for hex in [
        "dd ff ff ff ff",
        "df ff ff ff ff",
        "db ff ff ff ff",
        "c6 ff ff ff ff",
        "c9 ff ff ff ff 00",
        "dc ff ff 01",
        "de 00 02 a1 \"a\" 01",
        "c7 10 ff",
        "d8 00 00",
    ] {
        assert_eq!(decode(&dump(hex)), Err(WireError::Truncated), "{hex}");
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |n: usize| {
        let mut v = vec![0x91; n];
        v.push(0xc0);
        v
    };
    assert!(decode(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(decode(&nested(MAX_DEPTH + 1)), Err(WireError::TooDeep));
    assert_eq!(decode(&nested(1_000_000)), Err(WireError::TooDeep));
    // Maps and map keys count too.
    let mut keys = vec![0x81; MAX_DEPTH + 1];
    keys.push(0xc0);
    assert_eq!(decode(&keys), Err(WireError::TooDeep));
    let json = "[".repeat(1_000_000);
    for f in [decode_classic_broadcast, |b: &[u8]| {
        decode_classic_broadcast(b)
    }] {
        assert!(f(json.as_bytes()).is_err());
    }
    let json = "{\"a\":".repeat(1_000_000);
    assert!(decode_classic_request(json.as_bytes()).is_err());
    assert!(decode_cluster_message(json.as_bytes()).is_err());
}

#[test]
fn encoding_refuses_what_decoding_would() {
    let mut v = Value::Nil;
    for _ in 0..=MAX_DEPTH {
        v = Value::Array(vec![v]);
    }
    let mut out = BytesMut::from(&b"keep"[..]);
    assert_eq!(encode(&v, &mut out), Err(WireError::TooDeep));
    assert_eq!(&out[..], b"keep");
    if let Value::Array(mut inner) = v {
        let inner = inner.pop().unwrap();
        assert!(encode(&inner, &mut out).is_ok());
        assert!(decode(&out[4..]).is_ok());
    }
}

#[test]
fn pseudo_random_garbage() {
    // xorshift: deterministic bytes biased towards msgpack headers.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                match r % 4 {
                    0 => 0x80 | (r >> 8) as u8 & 0x1f,
                    1 => 0xc0 | (r >> 8) as u8 & 0x3f,
                    _ => (r >> 8) as u8,
                }
            })
            .collect();
        all_decoders(&input);
        let mut json = input.clone();
        json.insert(0, b'{');
        all_decoders(&json);
    }
}
