//! Micro-benchmarks of the Socket.IO v5 packet codecs (`oxio_protocol::socket_io`, the default JSON
//! parser) and of the msgpack parser (`oxio_protocol::msgpack`), on the same three packets: a text
//! event, an event with an ack id, and a binary event with two attachments (reassembled from its
//! text and two binary messages on the decode side). Throughput counts the bytes on the wire, the
//! attachments included. `socket_io/decode_args/echo_with_ack` follows one incoming echo event
//! through the server's reading of it: decode, then `event_name()` and `args()`.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::msgpack::{self, MsgpackLimits};
use oxio_protocol::socket_io::{
    DecodeLimits, Decoded, Packet, PacketType, RawJson, Reassembly, encode_binary_event,
    encode_event,
};

const NAMESPACE: &str = "/";
const EVENT: &str = "chat message";
/// The argument of the text events: a small object, as a chat or fan-out message would carry.
const ARG: &str =
    r#"{"user":"alice","t":1732272000123456,"text":"hello, world: 64 bytes of chat text here..."}"#;
/// An event with an ack id as the closed-loop echo benchmark's clients send it (the websocket frame
/// `421[...]` without the Engine.IO `4`): a timestamp and 64 bytes of payload.
const ECHO_EVENT: &str = concat!(
    r#"21["echo",{"t":1732280000000000,"p":""#,
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    r#""}]"#
);
/// The ack id of the second packet.
const ACK_ID: u64 = 4_217;
/// The size of each attachment of the binary event.
const ATTACHMENT_LEN: usize = 512;
/// The arguments of the binary event: a name, then a placeholder for each attachment.
const BINARY_ARGS: [&str; 3] = [
    r#"{"name":"photo.png","parts":2}"#,
    r#"{"_placeholder":true,"num":0}"#,
    r#"{"_placeholder":true,"num":1}"#,
];

fn raw(json: &str) -> &RawJson {
    serde_json::from_str(json).expect("valid JSON")
}

fn attachments() -> Vec<Bytes> {
    (0..2u8)
        .map(|i| Bytes::from(vec![i.wrapping_mul(31); ATTACHMENT_LEN]))
        .collect()
}

/// One of the three packets, as the server's encoder builds it.
struct Case {
    name: &'static str,
    id: Option<u64>,
    args: Vec<&'static RawJson>,
    attachments: Vec<Bytes>,
}

impl Case {
    fn all() -> [Case; 3] {
        [
            Case {
                name: "text_event",
                id: None,
                args: vec![raw(ARG)],
                attachments: Vec::new(),
            },
            Case {
                name: "event_with_ack",
                id: Some(ACK_ID),
                args: vec![raw(ARG)],
                attachments: Vec::new(),
            },
            Case {
                name: "binary_event_2_attachments",
                id: None,
                args: BINARY_ARGS.into_iter().map(raw).collect(),
                attachments: attachments(),
            },
        ]
    }

    fn packet(&self) -> Packet {
        Packet::event(
            Utf8Bytes::from_static(NAMESPACE),
            self.id,
            EVENT,
            &self.args,
        )
        .with_attachments(self.attachments.clone())
    }

    fn attachment_bytes(&self) -> usize {
        self.attachments.iter().map(Bytes::len).sum()
    }
}

fn socket_io(c: &mut Criterion) {
    let mut g = c.benchmark_group("socket_io");
    let limits = DecodeLimits::default();
    for case in Case::all() {
        let text = case.packet().to_text();
        g.throughput(Throughput::Bytes(
            (text.len() + case.attachment_bytes()) as u64,
        ));

        if case.attachments.is_empty() {
            let Ok(Decoded::Complete(_)) = Packet::decode_text(text.clone(), &limits) else {
                panic!("{} decodes", case.name);
            };
            g.bench_function(format!("decode/{}", case.name), |b| {
                b.iter(|| Packet::decode_text(black_box(text.clone()), &limits))
            });
        } else {
            // The connection's decoder: the text, then each attachment as a binary message.
            let mut reassembly = Reassembly::new(limits);
            g.bench_function(format!("decode_reassemble/{}", case.name), |b| {
                b.iter(|| {
                    let pending = reassembly.push_text(black_box(text.clone()));
                    debug_assert!(matches!(pending, Ok(None)));
                    let mut whole = None;
                    for attachment in &case.attachments {
                        whole = reassembly.push_binary(black_box(attachment.clone())).ok();
                    }
                    let packet = whole.flatten().expect("the packet is whole");
                    debug_assert_eq!(packet.packet_type, PacketType::BinaryEvent);
                    black_box(packet)
                })
            });
        }

        // The server's hot path: the text written straight from the arguments, no `Packet`. The
        // attachments go out as they are, so only the text is written.
        let encode = |out: &mut BytesMut| {
            out.clear();
            encode_binary_event(
                out,
                NAMESPACE,
                case.id,
                EVENT,
                black_box(&case.args),
                case.attachments.len(),
            );
        };
        let mut out = BytesMut::with_capacity(text.len());
        encode(&mut out);
        assert_eq!(
            &out[..],
            text.as_bytes(),
            "{} encodes as decoded",
            case.name
        );
        g.bench_function(format!("encode/{}", case.name), |b| {
            b.iter(|| {
                encode(&mut out);
                black_box(out.len())
            })
        });
    }

    // A decoded packet's arguments, as an event handler reads them (slices of the input).
    let text = Case::all()[1].packet().to_text();
    let Ok(Decoded::Complete(packet)) = Packet::decode_text(text.clone(), &limits) else {
        panic!("the event with ack decodes");
    };
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("args/event_with_ack", |b| {
        b.iter(|| {
            let p = black_box(&packet);
            (p.event_name().map(|n| n.len()), p.args().map(|a| a.len()))
        })
    });

    // The echo benchmark's incoming event, decoded and read as the server does: name, then args.
    let text = Utf8Bytes::from_static(ECHO_EVENT);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("decode_args/echo_with_ack", |b| {
        b.iter(|| {
            let Ok(Decoded::Complete(p)) = Packet::decode_text(black_box(text.clone()), &limits)
            else {
                panic!("the echo event decodes");
            };
            (p.event_name().map(|n| n.len()), p.args().map(|a| a.len()))
        })
    });

    // For comparison with `encode/text_event`: the same packet through `encode_event`.
    let args = [raw(ARG)];
    let text = Case::all()[0].packet().to_text();
    g.throughput(Throughput::Bytes(text.len() as u64));
    let mut out = BytesMut::with_capacity(text.len());
    g.bench_function("encode_event/text_event", |b| {
        b.iter(|| {
            out.clear();
            encode_event(&mut out, NAMESPACE, None, EVENT, black_box(&args));
            black_box(out.len())
        })
    });
    g.finish();
}

fn msgpack_parser(c: &mut Criterion) {
    let mut g = c.benchmark_group("msgpack");
    let limits = MsgpackLimits::default();
    for case in Case::all() {
        let packet = case.packet();
        let mut encoded = BytesMut::new();
        msgpack::encode(&packet, &mut encoded).expect("encodes");
        let encoded = encoded.freeze();
        assert_eq!(
            msgpack::decode_bytes(&encoded, &limits).as_ref(),
            Ok(&packet.clone().normalized()),
            "{} round-trips",
            case.name
        );
        g.throughput(Throughput::Bytes(encoded.len() as u64));
        bench_msgpack(&mut g, case.name, &packet, &encoded, &limits);
    }
    g.finish();
}

fn bench_msgpack(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    packet: &Packet,
    encoded: &Bytes,
    limits: &MsgpackLimits,
) {
    // Zero-copy: the attachments are slices of the message.
    g.bench_function(format!("decode/{name}"), |b| {
        b.iter(|| msgpack::decode_bytes(black_box(encoded), limits))
    });
    let mut out = BytesMut::with_capacity(encoded.len());
    g.bench_function(format!("encode/{name}"), |b| {
        b.iter(|| {
            out.clear();
            msgpack::encode(black_box(packet), &mut out).ok();
            black_box(out.len())
        })
    });
}

criterion_group!(benches, socket_io, msgpack_parser);
criterion_main!(benches);
