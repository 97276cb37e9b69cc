//! The checks of the `redis_adapter_message` target, shared with the stable-toolchain corpus test
//! of `oxio-cluster` (`cluster/tests/fuzz_corpus.rs` includes this file by path).
//!
//! Every decoder of the Redis adapter's wire codec gets the input. None may panic, and whatever
//! decodes must re-encode without error to bytes that decode again. Re-encoding reaches a fixed
//! point after one trip (the first trip may normalise: a JSON request's binary data becomes Node's
//! `Buffer` object, map keys of fetched sockets get sorted, a fractional timeout is truncated).

use bytes::{Bytes, BytesMut};
use oxio_cluster::redis::wire::{self, Value, WireError};

/// Runs `input` through every decoder and re-encodes what decodes.
pub fn check(input: &[u8]) {
    check_value(input);
    if let Ok(b) = wire::decode_classic_broadcast(input) {
        let uid = b.uid.clone().unwrap_or_default();
        let nsp = b.nsp.clone().unwrap_or_else(|| "/".to_owned());
        let encode = |b: &wire::ClassicBroadcast| {
            wire::encode_classic_broadcast(&uid, &nsp, &b.data, &b.opts)
        };
        fixed_point(&b, encode, wire::decode_classic_broadcast);
    }
    if let Ok(r) = wire::decode_classic_request(input) {
        fixed_point(
            &r,
            wire::encode_classic_request,
            wire::decode_classic_request,
        );
    }
    if let Ok(r) = wire::decode_classic_response(input) {
        fixed_point(
            &r,
            wire::encode_classic_response,
            wire::decode_classic_response,
        );
    }
    if let Ok(m) = wire::decode_cluster_message(input) {
        fixed_point(
            &m,
            wire::encode_cluster_message,
            wire::decode_cluster_message,
        );
    }
}

/// Encodes `first`, decodes the bytes, and checks that two more trips give the same bytes.
fn fixed_point<T: std::fmt::Debug>(
    first: &T,
    encode: impl Fn(&T) -> Result<Bytes, WireError>,
    decode: impl Fn(&[u8]) -> Result<T, WireError>,
) {
    let once = encode(first).unwrap_or_else(|e| panic!("{first:?} does not encode: {e}"));
    let second = decode(&once).unwrap_or_else(|e| panic!("{once:?} does not decode: {e}"));
    let twice = encode(&second).unwrap_or_else(|e| panic!("{second:?} does not encode: {e}"));
    let third = decode(&twice).unwrap_or_else(|e| panic!("{twice:?} does not decode: {e}"));
    let thrice = encode(&third).unwrap_or_else(|e| panic!("{third:?} does not encode: {e}"));
    assert_eq!(twice, thrice, "no fixed point for {first:?}");
}

/// The msgpack value: re-encodes to bytes that decode to a value encoding the same; its JSON and
/// server-data forms convert back without error.
fn check_value(input: &[u8]) {
    let Ok(value) = wire::decode(input) else {
        return;
    };
    let bytes = encode(&value);
    let again = wire::decode(&bytes).unwrap_or_else(|e| panic!("{bytes:?} does not decode: {e}"));
    assert_eq!(
        encode(&again),
        bytes,
        "msgpack is no fixed point for {value:?}"
    );

    let text = value.to_json_text();
    match Value::from_json_text(text.as_bytes()) {
        Ok(parsed) => assert_eq!(parsed.to_json_text(), text, "JSON is no fixed point"),
        // A binary value's `{"type":"Buffer","data":[...]}` adds two levels.
        Err(WireError::TooDeep) if value.contains_bin() => {}
        Err(e) => panic!("{text} does not parse: {e}"),
    }
    let data = value.to_remote_data();
    let back = Value::from_remote_data(&data).expect("server data parses");
    // Placeholders are not escaped: a literal placeholder-shaped map naming an attachment turns into
    // that binary value (as in socket.io-parser), so only "it converts" is checked here.
    back.to_remote_data();
    let json = value.to_json_value();
    Value::from_json_value(&json).expect("serde_json value converts back");
}

fn encode(value: &Value) -> Bytes {
    let mut out = BytesMut::new();
    wire::encode(value, &mut out).unwrap_or_else(|e| panic!("{value:?} does not encode: {e}"));
    out.freeze()
}
