//! Micro-benchmarks of the Engine.IO v4 codec (`oxio_protocol::engine_io`).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oxio_protocol::engine_io::{
    Message, Packet, Utf8Bytes, decode_payload, encode_payload, payload_len,
};

/// A 64-byte websocket text frame: `4` and 63 bytes of Socket.IO-like JSON.
const MESSAGE_64: &str = r#"42["chat message",{"user":"alice","text":"hello, world!!!!!!"}]"#;

fn ten_packets() -> Vec<Packet> {
    let text = |s: &'static str| Packet::Message(Message::Text(Utf8Bytes::from_static(s)));
    vec![
        Packet::Ping(Utf8Bytes::default()),
        text(r#"2["event",1]"#),
        text(r#"2["chat message",{"user":"alice","text":"hello"}]"#),
        Packet::Message(Message::Binary(Bytes::from_static(&[7; 48]))),
        text(r#"3[{"ok":true}]"#),
        Packet::Noop,
        text(r#"2["typing",{"user":"bob"}]"#),
        Packet::Pong(Utf8Bytes::from_static("probe")),
        text(r#"0{"sid":"lv_VI97HAXpY6yYWAAAC"}"#),
        Packet::Close,
    ]
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_io");

    assert_eq!(MESSAGE_64.len() + 1, 64);
    let frame = Bytes::from(format!("4{MESSAGE_64}"));
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("decode_text_64B", |b| {
        b.iter(|| Packet::decode_text(black_box(frame.clone())))
    });

    let packet = Packet::Message(Message::Text(Utf8Bytes::from_static(MESSAGE_64)));
    let mut out = BytesMut::with_capacity(packet.text_len());
    g.bench_function("encode_text_64B", |b| {
        b.iter(|| {
            out.clear();
            black_box(&packet).encode_text(&mut out);
            black_box(out.len())
        })
    });

    let packets = ten_packets();
    let mut body = BytesMut::with_capacity(payload_len(&packets));
    encode_payload(&packets, &mut body);
    let body = body.freeze();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("decode_payload_10_mixed", |b| {
        b.iter(|| {
            for packet in decode_payload(black_box(body.clone())) {
                black_box(packet).ok();
            }
        })
    });

    let mut out = BytesMut::with_capacity(body.len());
    g.bench_function("encode_payload_10_with_binary", |b| {
        b.iter(|| {
            out.clear();
            encode_payload(black_box(&packets), &mut out);
            black_box(out.len())
        })
    });

    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
