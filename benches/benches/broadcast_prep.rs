//! Micro-benchmarks of what a broadcast does before any byte is written: encode the event once into
//! an `oxio_engine::Frame`, then hand every recipient a refcount clone of it. Two parts:
//!
//! - `broadcast_prep/fan_out`: one encode, then 10k clones into a preallocated `Vec` (the bare
//!   cost of a clone and its drop), or into 10k per-socket queues (`Mutex<VecDeque<Frame>>`, as an
//!   Engine.IO session keeps them), each then popped as the socket's writer would.
//! - `broadcast_prep/select_and_push`: recipient selection in the room index
//!   (`oxio_cluster::RoomIndex::for_each_recipient`) over 10k sockets, each recipient's clone pushed
//!   into a preallocated `Vec`; the room layouts of `room_index.rs`, plus one `to()` over 100 rooms.
//!
//! Throughput is in recipients.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oxio_cluster::{Room, RoomIndex, SocketId};
use oxio_engine::Frame;
use oxio_protocol::socket_io::{RawJson, binary_event_len, fill_binary_event};

const SOCKETS: usize = 10_000;

/// The fan-out scenario's payload (`shared/bench-contract.md`): a timestamp and 64 bytes.
const PAYLOAD: &str = r#"{"t":1732272000123456,"p":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#;

/// Encodes `io.emit("msg", PAYLOAD)` into one frame, as the server's hot path does: the Socket.IO
/// text written straight into the Engine.IO frame after its `4`.
fn encode(args: &[&RawJson; 1]) -> Frame {
    let len = binary_event_len("/", None, "msg", args, 0);
    Frame::text_with(len, |out| fill_binary_event(out, "/", None, "msg", args, 0))
}

fn args() -> [&'static RawJson; 1] {
    [serde_json::from_str(PAYLOAD).expect("valid JSON")]
}

fn fan_out(c: &mut Criterion) {
    let args = args();
    let frame = encode(&args);
    let mut g = c.benchmark_group("broadcast_prep/fan_out");

    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("encode_frame", |b| b.iter(|| encode(black_box(&args))));

    g.throughput(Throughput::Elements(SOCKETS as u64));
    let mut out: Vec<Frame> = Vec::with_capacity(SOCKETS);
    g.bench_function("encode_once_10k_clones_to_vec", |b| {
        b.iter(|| {
            out.clear();
            let frame = encode(black_box(&args));
            for _ in 0..SOCKETS {
                out.push(frame.clone());
            }
            black_box(out.len())
        })
    });

    let queues: Vec<Mutex<VecDeque<Frame>>> = (0..SOCKETS)
        .map(|_| Mutex::new(VecDeque::with_capacity(4)))
        .collect();
    g.bench_function("encode_once_10k_queues_push_pop", |b| {
        b.iter(|| {
            let frame = encode(black_box(&args));
            for queue in &queues {
                queue.lock().expect("not poisoned").push_back(frame.clone());
            }
            drop(frame);
            // Each socket's writer takes its frame (and drops it once written).
            let mut written = 0;
            for queue in &queues {
                if let Some(frame) = queue.lock().expect("not poisoned").pop_front() {
                    written += frame.len();
                }
            }
            black_box(written)
        })
    });
    g.finish();
}

fn room(name: &str) -> Room {
    Arc::from(name)
}

/// 10k sockets; socket `i` is in `r{i % 100}` (100 rooms of 100), `t{i % 10}` (10 rooms of 1000)
/// and `all` (one room of 10k). The handle is the socket's number.
fn populated() -> RoomIndex<u32> {
    let index = RoomIndex::new();
    for i in 0..SOCKETS {
        let id: SocketId = Arc::from(format!("sock{i:016}").as_str());
        index.insert(id.clone(), i as u32);
        let rooms = [
            format!("r{}", i % 100),
            format!("t{}", i % 10),
            "all".to_owned(),
        ];
        index.join(&id, rooms.iter().map(|r| room(r)));
    }
    index
}

fn select_and_push(c: &mut Criterion) {
    let index = populated();
    let frame = encode(&args());
    let hundred_rooms: Vec<Room> = (0..100).map(|i| room(&format!("r{i}"))).collect();
    let five_rooms: Vec<Room> = (1..6).map(|i| room(&format!("r{i}"))).collect();
    let cases: [(&str, Vec<Room>, Vec<Room>); 6] = [
        ("all_10k", vec![], vec![]),
        ("one_room_of_10k", vec![room("all")], vec![]),
        ("100_rooms_of_100", hundred_rooms.clone(), vec![]),
        (
            "100_rooms_of_100_except_1000",
            hundred_rooms,
            vec![room("t3")],
        ),
        ("one_of_100_rooms_of_100", vec![room("r42")], vec![]),
        (
            "five_rooms_of_100_except_1000",
            five_rooms,
            vec![room("t1")],
        ),
    ];
    let mut g = c.benchmark_group("broadcast_prep/select_and_push");
    let mut out: Vec<Frame> = Vec::with_capacity(SOCKETS);
    for (name, to, except) in &cases {
        out.clear();
        index.for_each_recipient(to, except, |_| out.push(frame.clone()));
        let recipients = out.len();
        assert!(recipients > 0, "{name} selects someone");
        g.throughput(Throughput::Elements(recipients as u64));
        g.bench_function(*name, |b| {
            b.iter(|| {
                out.clear();
                index.for_each_recipient(black_box(to), black_box(except), |socket| {
                    black_box(socket);
                    out.push(frame.clone());
                });
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fan_out, select_and_push);
criterion_main!(benches);
