//! Property tests: values survive msgpack, JSON and the server's data form.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::super::{
    Value, decode, decode_classic_broadcast, decode_classic_request, decode_classic_response,
    decode_cluster_message, encode, encode_classic_broadcast, encode_classic_request,
    encode_classic_response, encode_cluster_message,
};

/// Values as the decoders produce them: `Int` for every `i64`, `UInt` above, floats that are no
/// integers (JS has no integral floats), no NaN (it equals nothing).
fn value(json_only: bool) -> impl Strategy<Value = Value> {
    let float = any::<f64>().prop_filter("a JS float", move |f| {
        !f.is_nan() && f.fract() != 0.0 && !(json_only && f.is_infinite())
    });
    let mut leaves = vec![
        Just(Value::Nil).boxed(),
        any::<bool>().prop_map(Value::Bool).boxed(),
        any::<i64>().prop_map(Value::Int).boxed(),
        (i64::MAX as u64 + 1..=u64::MAX)
            .prop_map(Value::UInt)
            .boxed(),
        float.prop_map(Value::Float).boxed(),
        ".{0,40}".prop_map(Value::Str).boxed(),
    ];
    if !json_only {
        let bin = proptest::collection::vec(any::<u8>(), 0..40);
        leaves.push(bin.prop_map(|b| Value::Bin(Bytes::from(b))).boxed());
    }
    let leaf = proptest::strategy::Union::new(leaves);
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{0,6}", inner), 0..8).prop_map(Value::Map),
        ]
    })
}

proptest! {
    #[test]
    fn msgpack_round_trip(v in value(false)) {
        let mut out = BytesMut::new();
        encode(&v, &mut out).unwrap();
        prop_assert_eq!(decode(&out), Ok(v));
    }

    #[test]
    fn json_round_trip(v in value(true)) {
        prop_assert_eq!(Value::from_json_text(v.to_json_text().as_bytes()), Ok(v.clone()));
        // serde_json's map sorts keys and keeps one of each: compare from that side.
        let j = v.to_json_value();
        prop_assert_eq!(Value::from_json_value(&j).map(|v| v.to_json_value()), Ok(j));
    }

    #[test]
    fn remote_data_round_trip(v in value(false)) {
        prop_assert_eq!(Value::from_remote_data(&v.to_remote_data()), Ok(v));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = decode(&input) {
            let mut out = BytesMut::new();
            encode(&v, &mut out).unwrap();
            prop_assert_eq!(decode(&out), Ok(v));
        }
        if let Ok(b) = decode_classic_broadcast(&input) {
            let bytes = encode_classic_broadcast(b.uid.as_deref().unwrap_or(""), "/", &b.data, &b.opts).unwrap();
            prop_assert!(decode_classic_broadcast(&bytes).is_ok());
        }
        if let Ok(r) = decode_classic_request(&input) {
            prop_assert_eq!(decode_classic_request(&encode_classic_request(&r).unwrap()), Ok(r));
        }
        if let Ok(r) = decode_classic_response(&input) {
            prop_assert_eq!(decode_classic_response(&encode_classic_response(&r).unwrap()), Ok(r));
        }
        if let Ok(m) = decode_cluster_message(&input) {
            prop_assert_eq!(decode_cluster_message(&encode_cluster_message(&m).unwrap()), Ok(m));
        }
    }
}
