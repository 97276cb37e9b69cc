//! Micro-benchmarks of the in-process room index (`oxio_cluster::RoomIndex`): membership changes and
//! broadcast recipient selection over 10k sockets. Each recipient is counted into a `black_box`, which
//! stands in for the server's queue push.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oxio_cluster::{Room, RoomIndex, SocketId};

const SOCKETS: usize = 10_000;

/// What the server would store per socket: a pointer to its connection state.
type Handle = Arc<u64>;

fn id(i: usize) -> SocketId {
    // Socket.IO ids are 20 characters.
    Arc::from(format!("sock{i:016}").as_str())
}

fn room(name: &str) -> Room {
    Arc::from(name)
}

/// 10k sockets; socket `i` is in `r{i % 100}` (100 rooms of 100), `t{i % 10}` (10 rooms of 1000, which
/// overlap the others) and `all` (one room of 10k).
fn populated() -> (RoomIndex<Handle>, Vec<SocketId>) {
    let index = RoomIndex::new();
    let ids: Vec<SocketId> = (0..SOCKETS).map(id).collect();
    for (i, id) in ids.iter().enumerate() {
        index.insert(id.clone(), Arc::new(i as u64));
        let rooms = [
            format!("r{}", i % 100),
            format!("t{}", i % 10),
            "all".to_owned(),
        ];
        index.join(id, rooms.iter().map(|r| room(r)));
    }
    (index, ids)
}

/// Runs one broadcast, counting recipients.
fn count(index: &RoomIndex<Handle>, to: &[Room], except: &[Room]) -> usize {
    let mut n = 0;
    index.for_each_recipient(to, except, |h| {
        black_box(h);
        n += 1;
    });
    black_box(n)
}

fn membership(c: &mut Criterion) {
    let (index, ids) = populated();
    let mut g = c.benchmark_group("room_index/membership");
    let (lonely, all) = (room("lonely"), room("all"));
    let newcomer = id(SOCKETS);
    g.bench_function("join_leave_new_room", |b| {
        b.iter(|| {
            index.join(&ids[7], [lonely.clone()]);
            index.leave(&ids[7], &lonely);
        })
    });
    g.bench_function("leave_join_room_of_10k", |b| {
        b.iter(|| {
            index.leave(&ids[7], &all);
            index.join(&ids[7], [all.clone()]);
        })
    });
    g.bench_function("insert_join_remove", |b| {
        let rooms = [room("r3"), room("t3")];
        b.iter(|| {
            index.insert(newcomer.clone(), Arc::new(0));
            index.join(&newcomer, rooms.iter().cloned());
            black_box(index.remove(&newcomer))
        })
    });
    g.finish();
}

fn broadcast(c: &mut Criterion) {
    let (index, _) = populated();
    let mut g = c.benchmark_group("room_index/for_each_recipient");
    let cases: [(&str, Vec<Room>, Vec<Room>); 6] = [
        ("all_10k", vec![], vec![]),
        ("one_room_of_10k", vec![room("all")], vec![]),
        ("one_of_100_rooms_of_100", vec![room("r42")], vec![]),
        (
            "five_rooms_of_100",
            (1..6).map(|i| room(&format!("r{i}"))).collect(),
            vec![],
        ),
        (
            "five_rooms_of_100_except_1000",
            (1..6).map(|i| room(&format!("r{i}"))).collect(),
            vec![room("t1")],
        ),
        ("all_except_1000", vec![], vec![room("t0")]),
    ];
    for (name, to, except) in &cases {
        let recipients = count(&index, to, except);
        assert!(recipients > 0, "{name} selects someone");
        g.throughput(Throughput::Elements(recipients as u64));
        g.bench_function(*name, |b| {
            b.iter(|| count(&index, black_box(to), black_box(except)))
        });
    }
    g.finish();
}

criterion_group!(benches, membership, broadcast);
criterion_main!(benches);
