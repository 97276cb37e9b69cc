//! The index against a simple reference model (memchr's style: fast path vs. obviously-correct slow
//! path): random sequences of insert/join/leave/remove, each followed by queries whose answers must agree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;

use super::super::{Room, RoomIndex, SocketId};

/// Room names: `r0`.. and, for rooms numbered past `named`, the id of a socket (`io.to(socket_id)`).
fn room_name(n: u16, named: u16) -> String {
    if n < named {
        format!("r{n}")
    } else {
        format!("s{}", n - named)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u16),
    Join(u16, Vec<u16>),
    Leave(u16, u16),
    Remove(u16),
    Broadcast(Vec<u16>, Vec<u16>),
}

/// Operations over `sockets` socket names and `rooms` room numbers, weighted (insert, join, leave,
/// remove, broadcast).
fn op(sockets: u16, rooms: u16, [wi, wj, wl, wr, wb]: [u32; 5]) -> impl Strategy<Value = Op> {
    let s = 0..sockets;
    let r = 0..rooms;
    let rs = prop::collection::vec(0..rooms, 0..4);
    prop_oneof![
        wi => s.clone().prop_map(Op::Insert),
        wj => (s.clone(), prop::collection::vec(0..rooms, 1..4)).prop_map(|(s, r)| Op::Join(s, r)),
        wl => (s.clone(), r).prop_map(|(s, r)| Op::Leave(s, r)),
        wr => s.prop_map(Op::Remove),
        wb => (rs.clone(), rs).prop_map(|(to, except)| Op::Broadcast(to, except)),
    ]
}

/// The reference: room → members, plus the set of live sockets.
#[derive(Default)]
struct Model {
    sockets: BTreeSet<String>,
    rooms: BTreeMap<String, BTreeSet<String>>,
}

impl Model {
    fn insert(&mut self, s: &str) {
        if self.sockets.insert(s.to_owned()) {
            self.rooms
                .entry(s.to_owned())
                .or_default()
                .insert(s.to_owned());
        }
    }

    fn join(&mut self, s: &str, rooms: &[String]) {
        if self.sockets.contains(s) {
            for r in rooms {
                self.rooms
                    .entry(r.clone())
                    .or_default()
                    .insert(s.to_owned());
            }
        }
    }

    fn leave(&mut self, s: &str, r: &str) {
        if let Some(members) = self.rooms.get_mut(r) {
            members.remove(s);
            if members.is_empty() {
                self.rooms.remove(r);
            }
        }
    }

    fn remove(&mut self, s: &str) {
        if self.sockets.remove(s) {
            let rooms: Vec<String> = self.rooms.keys().cloned().collect();
            for r in rooms {
                self.leave(s, &r);
            }
        }
    }

    fn union(&self, rooms: &[String]) -> BTreeSet<String> {
        rooms
            .iter()
            .filter_map(|r| self.rooms.get(r))
            .flatten()
            .cloned()
            .collect()
    }

    fn recipients(&self, to: &[String], except: &[String]) -> BTreeSet<String> {
        let to = if to.is_empty() {
            self.sockets.clone()
        } else {
            self.union(to)
        };
        &to - &self.union(except)
    }

    fn rooms_of(&self, s: &str) -> BTreeSet<String> {
        let of = self.rooms.iter().filter(|(_, members)| members.contains(s));
        of.map(|(r, _)| r.clone()).collect()
    }
}

fn arcs(names: &[String]) -> Vec<Room> {
    names.iter().map(|n| Arc::from(n.as_str())).collect()
}

/// A set from a listing, failing on duplicates.
fn distinct(items: impl IntoIterator<Item = SocketId>) -> Result<BTreeSet<String>, TestCaseError> {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    let set: BTreeSet<String> = items.iter().cloned().collect();
    prop_assert_eq!(set.len(), items.len(), "duplicates in {:?}", items);
    Ok(set)
}

/// Applies `ops` to an index with `shards` shards and to the model, comparing broadcasts when they
/// happen and the whole state every `every` steps and at the end.
fn run(
    ops: Vec<Op>,
    sockets: u16,
    named: u16,
    shards: usize,
    every: usize,
) -> Result<(), TestCaseError> {
    let index: RoomIndex<SocketId> = RoomIndex::with_shards(shards);
    let mut model = Model::default();
    let sock = |n: u16| format!("s{n}");
    let names = |rs: &[u16]| rs.iter().map(|&r| room_name(r, named)).collect::<Vec<_>>();
    let steps = ops.len();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert(s) => {
                let s = sock(s);
                index.insert(Arc::from(s.as_str()), Arc::from(s.as_str()));
                model.insert(&s);
            }
            Op::Join(s, rs) => {
                index.join(&sock(s), arcs(&names(&rs)));
                model.join(&sock(s), &names(&rs));
            }
            Op::Leave(s, r) => {
                index.leave(&sock(s), &room_name(r, named));
                model.leave(&sock(s), &room_name(r, named));
            }
            Op::Remove(s) => {
                let had = index.remove(&sock(s));
                prop_assert_eq!(had.is_some(), model.sockets.contains(&sock(s)));
                model.remove(&sock(s));
            }
            Op::Broadcast(to, except) => {
                let (to, except) = (names(&to), names(&except));
                let mut got = Vec::new();
                index.for_each_recipient(&arcs(&to), &arcs(&except), |h| got.push(h.clone()));
                prop_assert_eq!(distinct(got)?, model.recipients(&to, &except));
                prop_assert_eq!(
                    distinct(index.sockets_in(&arcs(&to)))?,
                    model.recipients(&to, &[])
                );
            }
        }
        if step % every != 0 && step + 1 != steps {
            continue;
        }
        index.check_invariants();
        prop_assert_eq!(index.len(), model.sockets.len());
        prop_assert_eq!(index.room_count(), model.rooms.len());
        let all: BTreeSet<String> = index.all_rooms().iter().map(|r| r.to_string()).collect();
        prop_assert_eq!(&all, &model.rooms.keys().cloned().collect());
        for s in (0..sockets).map(sock) {
            let of: BTreeSet<String> = index.rooms_of(&s).iter().map(|r| r.to_string()).collect();
            prop_assert_eq!(of, model.rooms_of(&s));
        }
    }
    Ok(())
}

proptest! {
    /// Few sockets and rooms: many collisions, own-id rooms targeted often.
    #[test]
    fn small_rooms_agree_with_the_model(
        ops in prop::collection::vec(op(8, 6 + 8, [3, 4, 2, 1, 2]), 1..80),
        shards in prop_oneof![Just(2usize), Just(4), Just(16)],
    ) {
        run(ops, 8, 6, shards, 1)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Enough sockets in few rooms that rooms grow past the small → large set threshold (a join-heavy
    /// phase), then shrink back (a leave-heavy phase).
    #[test]
    fn large_rooms_agree_with_the_model(
        grow in prop::collection::vec(op(100, 3, [1, 8, 1, 0, 2]), 600..700),
        shrink in prop::collection::vec(op(100, 3, [0, 1, 8, 2, 2]), 900..1100),
    ) {
        // Start with everyone connected so that joins land.
        let ops = (0..100).map(Op::Insert).chain(grow).chain(shrink).collect();
        run(ops, 100, 3, 4, 40)?;
    }
}
