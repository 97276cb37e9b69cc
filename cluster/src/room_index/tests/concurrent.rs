//! Several threads inserting, joining, leaving, removing and broadcasting at once: no deadlock, no
//! duplicate delivery, and an end state that matches what each thread did to its own sockets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use super::super::{Room, RoomIndex};

const WORKERS: u32 = 4;
const SOCKETS_PER_WORKER: u32 = 40;
const OPS_PER_WORKER: u32 = 20_000;
const ROOMS: u32 = 6;

/// xorshift64*: enough randomness for a stress test, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32 % n
    }
}

fn room(n: u32) -> Room {
    Arc::from(format!("room{n}").as_str())
}

fn socket(worker: u32, n: u32) -> String {
    format!("w{worker}-{n}")
}

/// One worker: random operations on its own sockets (handle = a unique number), shared rooms. Returns
/// what its sockets' rooms must be at the end (`None`: removed).
fn work(index: &RoomIndex<u32>, worker: u32) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(worker + 1));
    let mut expect = BTreeMap::new();
    for _ in 0..OPS_PER_WORKER {
        let n = rng.below(SOCKETS_PER_WORKER);
        let id = socket(worker, n);
        let rooms: &mut Option<BTreeSet<String>> = expect.entry(id.clone()).or_default();
        let r = room(rng.below(ROOMS));
        match rng.below(10) {
            0..=1 => {
                index.insert(Arc::from(id.as_str()), worker * 1000 + n);
                rooms.get_or_insert_with(|| BTreeSet::from([id.clone()]));
            }
            2..=5 => {
                index.join(&id, [r.clone()]);
                if let Some(rooms) = rooms {
                    rooms.insert(r.to_string());
                }
            }
            6..=8 => {
                index.leave(&id, &r);
                if let Some(rooms) = rooms {
                    rooms.remove(&*r);
                }
            }
            _ => {
                assert_eq!(index.remove(&id).is_some(), rooms.is_some());
                *rooms = None;
            }
        }
    }
    expect
}

/// Broadcasts and queries until `stop`, checking that nobody is delivered to twice.
fn broadcast(index: &RoomIndex<u32>, seed: u64, stop: &AtomicBool) -> u64 {
    let mut rng = Rng(seed);
    let mut deliveries = 0;
    let mut got = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let to: Vec<Room> = (0..rng.below(4)).map(|_| room(rng.below(ROOMS))).collect();
        let except: Vec<Room> = (0..rng.below(2)).map(|_| room(rng.below(ROOMS))).collect();
        got.clear();
        index.for_each_recipient(&to, &except, |&h| got.push(h));
        deliveries += got.len() as u64;
        got.sort_unstable();
        assert!(got.windows(2).all(|w| w[0] != w[1]), "duplicate delivery");
        let ids = index.sockets_in(&to);
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
        for id in ids.iter().take(3) {
            index.rooms_of(id);
        }
        index.all_rooms();
        index.room_count();
    }
    deliveries
}

fn stress(index: &RoomIndex<u32>) {
    let stop = &AtomicBool::new(false);
    let expected = thread::scope(|scope| {
        let broadcasters: Vec<_> = (0..2u64)
            .map(|b| scope.spawn(move || broadcast(index, 0x1234_5678 + b, stop)))
            .collect();
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| scope.spawn(move || work(index, w)))
            .collect();
        let expected: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        stop.store(true, Ordering::Relaxed);
        for b in broadcasters {
            b.join().expect("broadcaster");
        }
        expected
    });
    index.check_invariants();
    let mut live = 0;
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, rooms) in expected.iter().flatten() {
        let got: BTreeSet<String> = index.rooms_of(id).iter().map(|r| r.to_string()).collect();
        assert_eq!(got, rooms.clone().unwrap_or_default(), "rooms of {id}");
        for r in rooms.iter().flatten() {
            members.entry(r.clone()).or_default().insert(id.clone());
        }
        live += usize::from(rooms.is_some());
    }
    assert_eq!(index.len(), live);
    assert_eq!(index.room_count(), members.len());
    for (r, ids) in &members {
        let got: BTreeSet<String> = index
            .sockets_in(&[Arc::from(r.as_str())])
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(&got, ids, "members of {r}");
    }
}

#[test]
fn concurrent_joins_leaves_and_broadcasts() {
    // The work runs on its own thread so that a deadlock fails the test instead of hanging it.
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        for shards in [2, 4, 16] {
            stress(&RoomIndex::with_shards(shards));
        }
        done.send(()).ok();
    });
    match finished.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: the stress test did not finish"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the stress test panicked"),
    }
}
