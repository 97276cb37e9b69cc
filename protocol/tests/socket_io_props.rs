//! Property tests of the Socket.IO v5 codec: no panics on arbitrary input, and round trips of
//! generated packets.

use bytes::{Bytes, BytesMut};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{
    DecodeLimits, Decoded, MAX_ACK_ID, Packet, PacketType, RESERVED_EVENTS, RawJson, Reassembly,
    encode_event, is_placeholder,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// Any JSON value, small: keys from a small alphabet (never `_placeholder`), finite numbers.
fn json_value() -> impl Strategy<Value = Value> + Clone {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(select(vec!["a", "b", "num", "é", ""]), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{0,6}", json_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn namespace() -> impl Strategy<Value = Utf8Bytes> {
    select(vec!["/", "/a", "/admin", "/é/x", "/a-b.c"]).prop_map(Utf8Bytes::from_static)
}

fn ack_id() -> impl Strategy<Value = u64> {
    prop_oneof![0..100u64, 0..=MAX_ACK_ID]
}

fn event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("reserved", |s| !RESERVED_EVENTS.contains(&s.as_str()))
}

fn text(value: &Value) -> Option<Utf8Bytes> {
    Some(Utf8Bytes::from(serde_json::to_string(value).ok()?))
}

/// A packet as the decoder gives it back: types and attachments consistent.
fn packet() -> impl Strategy<Value = Packet> {
    let args = prop::collection::vec(json_value(), 0..4);
    let attachments = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..4);
    prop_oneof![
        (namespace(), prop::option::of(json_object())).prop_map(|(ns, data)| Packet {
            data: data.as_ref().and_then(text),
            ..Packet::new(PacketType::Connect, ns)
        }),
        namespace().prop_map(|ns| Packet::new(PacketType::Disconnect, ns)),
        (
            namespace(),
            prop_oneof![any::<String>().prop_map(Value::String), json_object()]
        )
            .prop_map(|(ns, data)| Packet {
                data: text(&data),
                ..Packet::new(PacketType::ConnectError, ns)
            }),
        (
            namespace(),
            prop::option::of(ack_id()),
            event_name(),
            args.clone(),
            attachments.clone()
        )
            .prop_map(|(ns, id, name, args, attachments)| {
                let mut data = vec![Value::String(name)];
                data.extend(args);
                with_placeholders(Packet::new(PacketType::Event, ns), id, data, attachments)
            }),
        (namespace(), ack_id(), args, attachments).prop_map(|(ns, id, args, attachments)| {
            with_placeholders(
                Packet::new(PacketType::Ack, ns),
                Some(id),
                args,
                attachments,
            )
        }),
    ]
}

/// Sets the id and data, and for each attachment adds an argument naming it.
fn with_placeholders(
    packet: Packet,
    id: Option<u64>,
    mut data: Vec<Value>,
    atts: Vec<Vec<u8>>,
) -> Packet {
    for i in 0..atts.len() {
        data.push(json!({ "_placeholder": true, "num": i }));
    }
    Packet {
        id,
        data: text(&Value::Array(data)),
        ..packet
    }
    .with_attachments(atts.into_iter().map(Bytes::from).collect())
}

/// Decodes a text and its attachments with a fresh [`Reassembly`].
fn decode_all(text: Utf8Bytes, attachments: &[Bytes]) -> Packet {
    let mut decoder = Reassembly::new(DecodeLimits::default());
    let mut done = decoder.push_text(text).expect("decodes");
    for bytes in attachments {
        assert!(done.is_none(), "complete before its attachments");
        done = decoder.push_binary(bytes.clone()).expect("attachment");
    }
    done.expect("complete")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_never_panics(s in any::<String>()) {
        let _ = Packet::decode_text(Utf8Bytes::from(s.clone()), &DecodeLimits::default());
        let _ = is_placeholder(&s);
    }

    #[test]
    fn packet_like_text_never_panics(
        s in r#"[0-6]([0-9]{0,3}-)?(/[a-z,é]{0,4})?[0-9]{0,3}[\[\]{}",:0-9a-z_\\ -]{0,24}"#,
        attachments in 0..4usize,
    ) {
        let mut decoder = Reassembly::default();
        if let Ok(None) = decoder.push_text(Utf8Bytes::from(s.clone())) {
            for _ in 0..attachments {
                let _ = decoder.push_binary(Bytes::new());
            }
        }
        if let Ok(Decoded::Complete(packet)) = Packet::decode_text(s.into(), &DecodeLimits::default()) {
            let _ = packet.args();
            let _ = packet.event_name();
            prop_assert_eq!(decode_all(packet.to_text(), &[]), packet);
        }
    }

    #[test]
    fn generated_packets_round_trip(packet in packet()) {
        let text = packet.to_text();
        prop_assert_eq!(text.len(), packet.encoded_len());
        let decoded = decode_all(text, &packet.attachments);
        prop_assert_eq!(&decoded, &packet);
        if packet.packet_type.is_event() || packet.packet_type.is_ack() {
            // The data was written by serde_json without whitespace, so the name and the argument
            // slices, joined with commas, must give it back.
            let mut parts = Vec::new();
            if packet.packet_type.is_event() {
                let name = decoded.event_name().expect("event name");
                parts.push(serde_json::to_string(&name).unwrap());
            }
            parts.extend(decoded.args().expect("args").iter().map(|a| a.as_str().to_owned()));
            prop_assert_eq!(format!("[{}]", parts.join(",")), packet.data.as_deref().unwrap());
        }
    }

    #[test]
    fn encode_event_writes_what_node_would(
        ns in namespace(),
        id in prop::option::of(ack_id()),
        name in any::<String>(),
        args in prop::collection::vec(json_value(), 0..4),
    ) {
        let raws: Vec<Box<RawJson>> = args.iter().map(|a| serde_json::value::to_raw_value(a).unwrap()).collect();
        let refs: Vec<&RawJson> = raws.iter().map(|r| &**r).collect();
        let mut out = BytesMut::new();
        encode_event(&mut out, &ns, id, &name, &refs);

        let mut data = vec![Value::String(name.clone())];
        data.extend(args);
        let nsp = if &*ns == "/" { String::new() } else { format!("{ns},") };
        let id = id.map(|i| i.to_string()).unwrap_or_default();
        let expected = format!("2{nsp}{id}{}", Value::Array(data));
        prop_assert_eq!(std::str::from_utf8(&out).unwrap(), expected.as_str());
        let packet = Packet::event(ns, None, &name, &refs);
        prop_assert_eq!(packet.event_name().map(|n| n.into_owned()), Some(name));
    }
}
