//! Structure-aware round trip of the Socket.IO codec: an `arbitrary` packet description (type,
//! namespace, ack id, JSON arguments, attachments with placeholders naming them) → `Packet::encode` →
//! `Reassembly` gives the packet back (a seed transcript, see `oxio_fuzz::transcript`, is decoded and
//! its packets round-tripped instead). The `encode_*` functions must write the same text as
//! `Packet::encode`, and `event_name()`/`args()` must give back the name and each argument.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{Input, reassembly_model, round_trip};
use oxio_fuzz::transcript::{self, Frame};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{
    DecodeLimits, MAX_ACK_ID, Packet, PacketType, RESERVED_EVENTS, RawJson, Reassembly, encode_ack,
    encode_binary_ack, encode_binary_event, encode_connect, encode_connect_error,
    encode_disconnect, encode_event,
};
use serde_json::{Map, Value, json};

/// A JSON value; `Placeholder` becomes `{"_placeholder":true,"num":n % attachments}` in a binary
/// packet.
#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    Placeholder(u8),
}

impl Json {
    fn value(&self, attachments: usize) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => json!(i),
            Json::UInt(u) => json!(u),
            Json::Float(f) => Value::from(if f.is_finite() { *f } else { 0.5 }),
            Json::Str(s) => Value::String(s.clone()),
            Json::Array(items) => {
                Value::Array(items.iter().map(|j| j.value(attachments)).collect())
            }
            Json::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    // A `_placeholder` key of our own would be an (illegal) placeholder.
                    let k = if k == "_placeholder" {
                        format!("x{k}")
                    } else {
                        k.clone()
                    };
                    map.insert(k, v.value(attachments));
                }
                Value::Object(map)
            }
            Json::Placeholder(n) if attachments > 0 => {
                json!({"_placeholder": true, "num": usize::from(*n) % attachments})
            }
            Json::Placeholder(n) => json!({"placeholder": n}),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Name {
    Str(String),
    Int(i32),
    Float(f64),
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Connect(Option<Vec<(String, Json)>>),
    Disconnect,
    Event {
        name: Name,
        args: Vec<Json>,
        attachments: Vec<Vec<u8>>,
    },
    Ack {
        args: Vec<Json>,
        attachments: Vec<Vec<u8>>,
    },
    ConnectErrorMessage {
        message: String,
        data: Option<Json>,
    },
    ConnectErrorString(String),
}

#[derive(Arbitrary, Debug)]
struct Description {
    namespace: Option<String>,
    id: Option<u64>,
    pretty: bool,
    kind: Kind,
}

fn text(value: &Value, pretty: bool) -> Utf8Bytes {
    Utf8Bytes::from(if pretty {
        serde_json::to_string_pretty(value).expect("serializable")
    } else {
        serde_json::to_string(value).expect("serializable")
    })
}

fn raw(value: &Value) -> Box<RawJson> {
    serde_json::value::to_raw_value(value).expect("serializable")
}

fn written(f: impl FnOnce(&mut BytesMut)) -> BytesMut {
    let mut out = BytesMut::new();
    f(&mut out);
    out
}

fn run(d: Description) -> Option<()> {
    let limits = DecodeLimits::default();
    let mut namespace = String::from("/");
    if let Some(ns) = d.namespace {
        namespace.push_str(&ns.replace(',', ""));
    }
    if namespace.len() > limits.max_namespace_len {
        return None;
    }
    let ns = Utf8Bytes::from(namespace.clone());
    let id = d.id.map(|id| id % (MAX_ACK_ID + 1));
    let (packet, attachments, expect_args, expect_name, direct) = match d.kind {
        Kind::Connect(data) => {
            let data = data.map(|entries| Json::Object(entries).value(0));
            let direct =
                written(|o| encode_connect(o, &namespace, data.as_ref().map(raw).as_deref()));
            let packet = Packet {
                data: data.as_ref().map(|v| text(v, false)),
                ..Packet::new(PacketType::Connect, ns)
            };
            (packet, Vec::new(), None, None, Some(direct))
        }
        Kind::Disconnect => {
            let direct = written(|o| encode_disconnect(o, &namespace));
            (Packet::disconnect(ns), Vec::new(), None, None, Some(direct))
        }
        Kind::ConnectErrorMessage { message, data } => {
            let data = data.map(|d| d.value(0));
            let direct = written(|o| {
                encode_connect_error(o, &namespace, &message, data.as_ref().map(raw).as_deref())
            });
            let packet = Packet::connect_error(ns, &message, data.as_ref().map(raw).as_deref());
            (packet, Vec::new(), None, None, Some(direct))
        }
        Kind::ConnectErrorString(message) => {
            let packet = Packet {
                data: Some(text(&Value::String(message), d.pretty)),
                ..Packet::new(PacketType::ConnectError, ns)
            };
            (packet, Vec::new(), None, None, None)
        }
        Kind::Event {
            name,
            args,
            attachments,
        } => {
            let attachments: Vec<Bytes> = attachments
                .into_iter()
                .take(limits.max_attachments)
                .map(Bytes::from)
                .collect();
            let n = attachments.len();
            let name_value = match name {
                Name::Str(s) if RESERVED_EVENTS.contains(&s.as_str()) => return None,
                Name::Str(s) => Value::String(s),
                Name::Int(i) => json!(i),
                Name::Float(f) if f.is_finite() => json!(f),
                Name::Float(_) => return None,
            };
            let args: Vec<Value> = args.iter().map(|a| a.value(n)).collect();
            let mut data = vec![name_value.clone()];
            data.extend(args.iter().cloned());
            let packet = Packet {
                id,
                data: Some(text(&Value::Array(data), d.pretty)),
                ..Packet::new(PacketType::Event, ns)
            }
            .with_attachments(attachments.clone());
            let expected_name = match &name_value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let direct = match &name_value {
                Value::String(s) if !d.pretty => {
                    let raws: Vec<Box<RawJson>> = args.iter().map(raw).collect();
                    let refs: Vec<&RawJson> = raws.iter().map(|r| &**r).collect();
                    if n == 0 {
                        Some(written(|o| encode_event(o, &namespace, id, s, &refs)))
                    } else {
                        Some(written(|o| {
                            encode_binary_event(o, &namespace, id, s, &refs, n)
                        }))
                    }
                }
                _ => None,
            };
            (packet, attachments, Some(args), Some(expected_name), direct)
        }
        Kind::Ack { args, attachments } => {
            let id = id.unwrap_or(0);
            let attachments: Vec<Bytes> = attachments
                .into_iter()
                .take(limits.max_attachments)
                .map(Bytes::from)
                .collect();
            let n = attachments.len();
            let args: Vec<Value> = args.iter().map(|a| a.value(n)).collect();
            let packet = Packet {
                id: Some(id),
                data: Some(text(&Value::Array(args.clone()), d.pretty)),
                ..Packet::new(PacketType::Ack, ns)
            }
            .with_attachments(attachments.clone());
            let direct = (!d.pretty).then(|| {
                let raws: Vec<Box<RawJson>> = args.iter().map(raw).collect();
                let refs: Vec<&RawJson> = raws.iter().map(|r| &**r).collect();
                if n == 0 {
                    written(|o| encode_ack(o, &namespace, id, &refs))
                } else {
                    written(|o| encode_binary_ack(o, &namespace, id, &refs, n))
                }
            });
            (packet, attachments, Some(args), None, direct)
        }
    };

    let wire = packet.to_text();
    assert_eq!(wire.len(), packet.encoded_len());
    if let Some(direct) = direct {
        assert_eq!(&direct[..], wire.as_bytes());
    }
    let mut decoder = Reassembly::new(limits);
    let mut done = decoder
        .push_text(wire.clone())
        .unwrap_or_else(|e| panic!("{wire:?}: {e}"));
    for a in &attachments {
        assert!(done.is_none(), "{wire:?}");
        done = decoder.push_binary(a.clone()).expect("attachment");
    }
    let decoded = done.expect("complete");
    assert_eq!(decoded, packet.clone().normalized(), "{wire:?}");
    assert_eq!(decoded.attachments, attachments);

    if let Some(expected) = expect_name {
        assert_eq!(
            decoded.event_name().as_deref(),
            Some(expected.as_str()),
            "{wire:?}"
        );
    }
    if let Some(expected) = expect_args {
        let got = decoded.args().expect("args");
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            if !d.pretty {
                // Compact: each argument is exactly what serde_json wrote for it.
                assert_eq!(g.as_str(), serde_json::to_string(e).expect("serializable"));
                continue;
            }
            match serde_json::from_str::<Value>(g) {
                Ok(g) => assert_eq!(&g, e),
                // serde_json's parser stops at 128 levels; the codec takes any depth.
                Err(err) => assert!(err.to_string().contains("recursion limit"), "{g:?}: {err}"),
            }
        }
    }
    Some(())
}

/// A seed transcript (`#oxio-frames`): its Socket.IO texts and attachments, decoded, then each packet
/// encoded and decoded again, its arguments read back.
fn transcript_round_trip(frames: Vec<Frame>) {
    let inputs = frames.into_iter().map(|f| match f {
        Frame::Text(t) => Input::Text(t),
        Frame::Binary(b) => Input::Binary(Bytes::from(b)),
    });
    let limits = DecodeLimits::default();
    for p in reassembly_model(limits, inputs) {
        round_trip(&p, &limits);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(frames) = transcript::parse(data) {
        transcript_round_trip(frames);
        return;
    }
    let mut u = Unstructured::new(data);
    if let Ok(d) = Description::arbitrary(&mut u) {
        let _ = run(d);
    }
});
