//! Micro-benchmarks of the Redis adapter's messages (`oxio_cluster::redis::wire`), decoded and
//! encoded as they cross between nodes: a classic text broadcast and a binary one (msgpack), a
//! broadcast with ack as a classic request (msgpack), a classic fetch-sockets response describing
//! 100 sockets (JSON), a sharded adapter's JSON broadcast, and the notepack `Value` layer under them.
//! Throughput is in bytes of the encoded message.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use oxio_cluster::redis::wire::{
    self, ClassicRequest, ClassicResponse, ClusterBody, ClusterMessage, RequestKind, ResponseBody,
    decode_classic_broadcast, decode_classic_request, decode_classic_response,
    decode_cluster_message, encode_classic_broadcast, encode_classic_request,
    encode_classic_response, encode_cluster_message,
};
use oxio_cluster::{BroadcastFlags, BroadcastOptions, RemoteData, SocketInfo};
use oxio_protocol::engine_io::Utf8Bytes;
use serde_json::json;

/// A node id, as Node's adapter makes them.
const UID: &str = "1fb84a6e6d2562c7";
/// The fan-out scenario's event (`shared/bench-contract.md`): a timestamp and 64 bytes.
const TEXT_EVENT: &str = r#"["msg",{"t":1732272000123456,"p":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]"#;
/// An event with two binary values, 512 bytes each.
const BINARY_EVENT: &str = r#"["file",{"name":"photo.png","parts":2},{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
const ATTACHMENT_LEN: usize = 512;

fn text_event() -> RemoteData {
    RemoteData::json(Utf8Bytes::from_static(TEXT_EVENT))
}

fn binary_event() -> RemoteData {
    RemoteData {
        json: Utf8Bytes::from_static(BINARY_EVENT),
        attachments: (0..2u8)
            .map(|i| Bytes::from(vec![i.wrapping_add(7); ATTACHMENT_LEN]))
            .collect(),
    }
}

/// `io.to("room42").except("banned").emit(...)`.
fn to_a_room() -> BroadcastOptions {
    BroadcastOptions {
        rooms: vec![Arc::from("room42")],
        except: vec![Arc::from("banned")],
        flags: BroadcastFlags::default(),
    }
}

/// One socket as `fetchSockets()` describes it: its rooms, `socket.data` and the handshake of a
/// browser client.
fn socket(i: usize) -> SocketInfo {
    let id = format!("{i:06}-bA2kX9cQaBcDeF");
    SocketInfo {
        rooms: vec![
            Arc::from(id.as_str()),
            Arc::from(format!("room{}", i % 10).as_str()),
        ],
        data: json!({"user": format!("user{i}"), "admin": false}),
        handshake: json!({
            "headers": {
                "host": "localhost:3000",
                "connection": "Upgrade",
                "upgrade": "websocket",
                "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
                "accept-language": "en-US,en;q=0.5",
                "sec-websocket-version": "13",
            },
            "time": "Fri Nov 22 2026 10:00:00 GMT+0000 (Coordinated Universal Time)",
            "address": "::ffff:127.0.0.1",
            "xdomain": false,
            "secure": false,
            "issued": 1_795_341_600_000u64 + i as u64,
            "url": "/socket.io/?EIO=4&transport=websocket",
            "query": {"EIO": "4", "transport": "websocket"},
            "auth": {"room": format!("room{}", i % 10)},
        }),
        id,
    }
}

/// Benches `decode` and `encode` of one message, after checking that they agree.
fn both_ways<T: PartialEq + std::fmt::Debug>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    value: &T,
    encode: impl Fn(&T) -> Result<Bytes, wire::WireError>,
    decode: impl Fn(&[u8]) -> Result<T, wire::WireError>,
) {
    let bytes = encode(value).expect("encodes");
    assert_eq!(decode(&bytes).as_ref(), Ok(value), "{name} round-trips");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(format!("decode/{name}"), |b| {
        b.iter(|| decode(black_box(&bytes)))
    });
    g.bench_function(format!("encode/{name}"), |b| {
        b.iter(|| encode(black_box(value)))
    });
}

fn classic(c: &mut Criterion) {
    let mut g = c.benchmark_group("redis_wire/classic");
    let nsp = Some("/".to_owned());
    for (name, data) in [
        ("broadcast_text", text_event()),
        ("broadcast_binary_2x512B", binary_event()),
    ] {
        let broadcast = wire::ClassicBroadcast {
            uid: Some(UID.to_owned()),
            nsp: nsp.clone(),
            data,
            opts: to_a_room(),
        };
        both_ways(
            &mut g,
            name,
            &broadcast,
            |b| encode_classic_broadcast(UID, "/", &b.data, &b.opts),
            decode_classic_broadcast,
        );
    }

    let mut opts = to_a_room();
    opts.flags.timeout = Some(Duration::from_secs(5));
    let request = ClassicRequest {
        uid: Some(UID.to_owned()),
        kind: RequestKind::Broadcast {
            request_id: "bfa4bd41af7d959e".to_owned(),
            nsp,
            data: text_event(),
            opts,
        },
    };
    both_ways(
        &mut g,
        "request_broadcast_with_ack",
        &request,
        encode_classic_request,
        decode_classic_request,
    );

    let response = ClassicResponse {
        request_id: "a1b2c3d4e5f60718".to_owned(),
        body: ResponseBody::Sockets((0..100).map(socket).collect()),
    };
    both_ways(
        &mut g,
        "response_fetch_sockets_100",
        &response,
        encode_classic_response,
        decode_classic_response,
    );
    g.finish();
}

fn sharded(c: &mut Criterion) {
    let mut g = c.benchmark_group("redis_wire/sharded");
    let message = ClusterMessage {
        uid: UID.to_owned(),
        nsp: Some("/".to_owned()),
        body: ClusterBody::Broadcast {
            data: text_event(),
            opts: to_a_room(),
            request_id: None,
        },
    };
    let bytes = encode_cluster_message(&message).expect("encodes");
    assert_eq!(bytes.first(), Some(&b'{'), "a text broadcast goes as JSON");
    both_ways(
        &mut g,
        "broadcast_json",
        &message,
        encode_cluster_message,
        decode_cluster_message,
    );
    g.finish();
}

/// The msgpack layer alone: the binary broadcast as a `Value` tree.
fn notepack(c: &mut Criterion) {
    let mut g = c.benchmark_group("redis_wire/notepack");
    let bytes = encode_classic_broadcast(UID, "/", &binary_event(), &to_a_room()).expect("encodes");
    let value = wire::decode(&bytes).expect("decodes");
    let mut out = BytesMut::with_capacity(bytes.len());
    wire::encode(&value, &mut out).expect("encodes");
    assert_eq!(out, bytes, "notepack round-trips");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("decode/broadcast_binary_2x512B", |b| {
        b.iter(|| wire::decode(black_box(&bytes)))
    });
    g.bench_function("encode/broadcast_binary_2x512B", |b| {
        b.iter(|| {
            out.clear();
            wire::encode(black_box(&value), &mut out).ok();
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, classic, sharded, notepack);
criterion_main!(benches);
