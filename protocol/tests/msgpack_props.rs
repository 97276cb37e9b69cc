//! Property tests of the msgpack codec: no panics on any input, every accepted input round-trips,
//! and generated packets survive encoding and decoding.

use bytes::{Bytes, BytesMut};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::msgpack::{MsgpackLimits, decode, decode_bytes, encode};
use oxio_protocol::socket_io::{MAX_ACK_ID, Packet, PacketType};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

fn limits() -> MsgpackLimits {
    MsgpackLimits::default()
}

fn encoded(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(packet, &mut out).expect("a decoded or generated packet encodes");
    out.to_vec()
}

/// Whatever `bytes` decode to, both decoders agree, and an accepted packet is a fixed point:
/// encoding it and decoding again gives it back, and encodes to the same bytes.
fn check_any(bytes: &[u8]) -> Result<(), TestCaseError> {
    let decoded = decode(bytes, &limits());
    prop_assert_eq!(
        &decoded,
        &decode_bytes(&Bytes::copy_from_slice(bytes), &limits())
    );
    if let Ok(packet) = decoded {
        let again = encoded(&packet);
        prop_assert_eq!(decode(&again, &limits()), Ok(packet));
        let decoded_again = decode(&again, &limits()).unwrap();
        prop_assert_eq!(encoded(&decoded_again), again);
    }
    Ok(())
}

/// A msgpack value, to be written in one of its possible forms.
#[derive(Clone, Debug)]
enum Msg {
    /// Raw bytes of a scalar (any form: ints of every width, floats, nil, ext, dates...).
    Raw(Vec<u8>),
    Str(Vec<u8>),
    Bin(Vec<u8>),
    Array(Vec<Msg>),
    Map(Vec<(Msg, Msg)>),
}

fn write(msg: &Msg, out: &mut Vec<u8>) {
    let header = |out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, tag16: u8| {
        if len < fix_max {
            out.push(fix | len as u8);
        } else {
            out.push(tag16);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
    };
    match msg {
        Msg::Raw(bytes) => out.extend_from_slice(bytes),
        Msg::Str(s) => {
            header(out, s.len(), 0xa0, 32, 0xda);
            out.extend_from_slice(s);
        }
        Msg::Bin(b) => {
            out.extend_from_slice(&[0xc4, b.len() as u8]);
            out.extend_from_slice(b);
        }
        Msg::Array(items) => {
            header(out, items.len(), 0x90, 16, 0xdc);
            items.iter().for_each(|m| write(m, out));
        }
        Msg::Map(entries) => {
            header(out, entries.len(), 0x80, 16, 0xde);
            for (k, v) in entries {
                write(k, out);
                write(v, out);
            }
        }
    }
}

fn scalar() -> impl Strategy<Value = Msg> {
    let raw = |prefix: u8, body: Vec<u8>| Msg::Raw([vec![prefix], body].concat());
    prop_oneof![
        any::<u8>()
            .prop_filter("scalar", |b| *b < 0x80 || *b >= 0xe0)
            .prop_map(|b| Msg::Raw(vec![b])),
        select(vec![0xc0u8, 0xc2, 0xc3]).prop_map(|b| Msg::Raw(vec![b])),
        (0xccu8..=0xd3, any::<[u8; 8]>()).prop_map(move |(p, b)| {
            let len = [1, 2, 4, 8][usize::from(p - 0xcc) % 4];
            raw(p, b[..len].to_vec())
        }),
        any::<[u8; 4]>().prop_map(move |b| raw(0xca, b.to_vec())),
        any::<f64>().prop_map(move |f| raw(0xcb, f.to_be_bytes().to_vec())),
        any::<[u8; 8]>().prop_map(move |b| raw(0xd7, [&[0][..], &b].concat())),
        Just(Msg::Raw(vec![0xd4, 0, 0])),
        (any::<i8>(), prop::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(t, b)| Msg::Raw([vec![0xc7, b.len() as u8, t as u8], b].concat())),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Msg::Str),
        "[a-z_é]{0,12}".prop_map(|s| Msg::Str(s.into_bytes())),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Msg::Bin),
    ]
}

fn value() -> impl Strategy<Value = Msg> {
    let key = prop_oneof![
        12 => select(vec!["a", "b", "num", "_placeholder", ""]).prop_map(|k| Msg::Str(k.into())),
        1 => scalar(),
    ];
    scalar().prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Msg::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(Msg::Map),
        ]
    })
}

/// Mostly well-formed packets with arbitrary data.
fn msgpack_packet() -> impl Strategy<Value = Vec<u8>> {
    let data = prop_oneof![
        3 => (select(vec!["ev", "connect", ""]), prop::collection::vec(value(), 0..5)).prop_map(
            |(name, args)| {
                Msg::Array([vec![Msg::Str(name.into())], args].concat())
            }
        ),
        1 => value(),
    ];
    let field = |k: &str, v: Msg| (Msg::Str(k.into()), v);
    (
        prop_oneof![6 => Just(2u8), 3 => Just(3), 2 => 0u8..6],
        prop::option::weighted(0.9, data),
        select(vec!["/", "/", "/", "/a", "a", "/é"]),
        prop::option::weighted(0.7, 0u8..0x80),
        any::<bool>(),
    )
        .prop_map(move |(t, data, nsp, id, extra)| {
            let mut entries = vec![field("type", Msg::Raw(vec![t]))];
            entries.extend(data.map(|d| field("data", d)));
            entries.push(field("nsp", Msg::Str(nsp.into())));
            entries.extend(id.map(|id| field("id", Msg::Raw(vec![id]))));
            if extra {
                entries.push(field(
                    "options",
                    Msg::Map(vec![field("x", Msg::Raw(vec![0xc3]))]),
                ));
            }
            let mut out = Vec::new();
            write(&Msg::Map(entries), &mut out);
            out
        })
}

/// JSON values whose text serde_json writes as the decoder does (numbers: integers, and
/// fractions in quarters, which print the same in Rust and JavaScript).
fn json_value() -> impl Strategy<Value = Value> + Clone {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-4_000_000i64..4_000_000)
            .prop_filter("fraction", |q| q % 4 != 0)
            .prop_map(|q| Value::from(q as f64 / 4.0)),
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

fn text(value: &Value) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(value).unwrap())
}

/// A valid packet, its attachments (if any) at placeholders in document order.
fn packet() -> impl Strategy<Value = Packet> {
    let namespace = select(vec!["/", "/a", "/admin", "/é/x"]).prop_map(Utf8Bytes::from_static);
    let id = prop_oneof![0..100u64, 0..=MAX_ACK_ID];
    let bins = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..4);
    let object = prop::collection::btree_map("[a-z_]{0,6}", json_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    let args = prop::collection::vec(json_value(), 0..4);
    prop_oneof![
        (namespace.clone(), prop::option::of(object.clone())).prop_map(|(ns, data)| Packet {
            data: data.as_ref().map(text),
            ..Packet::new(PacketType::Connect, ns)
        }),
        namespace.clone().prop_map(Packet::disconnect),
        (
            namespace.clone(),
            prop_oneof![object, any::<String>().prop_map(Value::String)]
        )
            .prop_map(|(ns, data)| Packet {
                data: Some(text(&data)),
                ..Packet::new(PacketType::ConnectError, ns)
            }),
        (
            namespace,
            prop::option::of(id),
            "e[a-z]{0,7}",
            args,
            bins,
            any::<bool>()
        )
            .prop_map(|(ns, id, name, mut args, bins, ack)| {
                for num in 0..bins.len() {
                    args.push(json!({"b": [{"_placeholder": true, "num": num}]}));
                }
                let (t, data) = match ack {
                    true => (PacketType::Ack, Value::Array(args)),
                    false => {
                        let items = std::iter::once(Value::String(name)).chain(args).collect();
                        (PacketType::Event, Value::Array(items))
                    }
                };
                Packet {
                    id: if ack { Some(id.unwrap_or(7)) } else { id },
                    data: Some(text(&data)),
                    ..Packet::new(t, ns)
                        .with_attachments(bins.into_iter().map(Bytes::from).collect())
                }
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_any(&bytes)?;
    }

    #[test]
    fn generated_msgpack_round_trips(bytes in msgpack_packet()) {
        check_any(&bytes)?;
    }

    #[test]
    fn mutated_msgpack_never_panics(
        bytes in msgpack_packet(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = bytes;
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        check_any(&bytes)?;
    }

    #[test]
    fn packets_round_trip(packet in packet()) {
        let bytes = encoded(&packet);
        let decoded = decode(&bytes, &limits());
        prop_assert_eq!(&decoded, &Ok(packet.clone().normalized()));
        prop_assert_eq!(encoded(&decoded.unwrap()), bytes);
    }
}
