//! Unit tests of each operation; the reference-model property test and the concurrency test are in
//! their own modules.

mod concurrent;
mod prop;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::{RECIPIENT_BATCH, Room, RoomIndex, SocketId, table};

impl<H: Clone + Send + Sync + 'static> RoomIndex<H> {
    /// Checks every invariant of the [module documentation](super); panics on the first violation.
    pub(super) fn check_invariants(&self) {
        let table = self.table.read();
        table.check();
        // Socket mutexes first, then shards: the lock order of the module docs.
        let mut lists = HashMap::new();
        for (slot, socket) in table.iter() {
            let rooms: table::RoomList = socket.rooms.lock().clone();
            for (i, room) in rooms.iter().enumerate() {
                assert!(
                    !rooms[..i].contains(room),
                    "{room} twice in {}'s rooms",
                    socket.id
                );
                let members = self.rooms.get(room);
                assert!(
                    members.is_some_and(|m| m.contains(slot)),
                    "{} not in {room}",
                    socket.id
                );
            }
            lists.insert(slot, rooms);
        }
        let memberships: usize = lists.values().map(|rooms| rooms.len()).sum();
        let mut members_total = 0;
        for entry in self.rooms.iter() {
            let (room, members) = entry.pair();
            assert!(!members.is_empty(), "empty room {room} exists");
            members.for_each(|slot| {
                let rooms = lists.get(&slot).expect("a member slot is live");
                assert!(rooms.contains(room), "{room} lists a non-member");
            });
            members_total += members.len();
        }
        assert_eq!(memberships, members_total);
    }
}

fn id(s: &str) -> SocketId {
    Arc::from(s)
}

fn rooms(names: &[&str]) -> Vec<Room> {
    names.iter().map(|&n| Arc::from(n)).collect()
}

/// The handles `for_each_recipient` delivers to, sorted; panics on a duplicate delivery.
fn recipients(index: &RoomIndex<SocketId>, to: &[&str], except: &[&str]) -> Vec<String> {
    let mut got = Vec::new();
    index.for_each_recipient(&rooms(to), &rooms(except), |h| got.push(h.to_string()));
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "duplicate delivery in {got:?}");
    unique.into_iter().collect()
}

fn sorted<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    v.sort();
    v
}

/// Sockets `a`, `b`, `c`, `d`: `a` in x, `b` in x and y, `c` in y and z, `d` in no named room.
fn abcd() -> RoomIndex<SocketId> {
    let index = RoomIndex::new();
    for s in ["a", "b", "c", "d"] {
        assert!(index.insert(id(s), id(s)).is_none());
    }
    index.join("a", rooms(&["x"]));
    index.join("b", rooms(&["x", "y"]));
    index.join("c", rooms(&["y", "z"]));
    index.check_invariants();
    index
}

#[test]
fn insert_joins_the_own_id_room() {
    let index = RoomIndex::new();
    assert!(index.is_empty());
    assert_eq!(index.insert(id("s1"), 1u32), None);
    assert_eq!((index.len(), index.room_count()), (1, 1));
    assert_eq!(sorted(index.rooms_of("s1")), ["s1"]);
    assert_eq!(index.handle("s1"), Some(1));
    assert_eq!(index.handle("nope"), None);
    // Inserting again replaces the handle only.
    index.join("s1", rooms(&["r"]));
    assert_eq!(index.insert(id("s1"), 2), Some(1));
    assert_eq!(index.handle("s1"), Some(2));
    assert_eq!(sorted(index.rooms_of("s1")), ["r", "s1"]);
    assert_eq!(index.len(), 1);
    index.check_invariants();
}

#[test]
fn join_skips_duplicates_and_unknown_sockets() {
    let index = abcd();
    index.join("a", rooms(&["x", "x", "w"]));
    assert_eq!(
        index.rooms_of("a").iter().map(|r| &**r).collect::<Vec<_>>(),
        ["a", "x", "w"]
    );
    index.join("ghost", rooms(&["x", "ghost-room"]));
    assert_eq!(index.len(), 4);
    assert!(!index.all_rooms().iter().any(|r| &**r == "ghost-room"));
    // Members of one room share the room name's allocation.
    let (a, b) = (index.rooms_of("a"), index.rooms_of("b"));
    assert!(Arc::ptr_eq(&a[1], &b[1]));
    index.check_invariants();
}

#[test]
fn leave_removes_empty_rooms() {
    let index = abcd();
    assert_eq!(index.room_count(), 4 + 3);
    index.leave("a", "x");
    assert_eq!(recipients(&index, &["x"], &[]), ["b"]);
    index.leave("b", "x");
    assert_eq!(index.room_count(), 4 + 2, "x is gone");
    assert!(recipients(&index, &["x"], &[]).is_empty());
    index.leave("b", "x"); // not a member any more
    index.leave("ghost", "y");
    // Like in Node, a socket may leave its own room.
    index.leave("d", "d");
    assert!(index.rooms_of("d").is_empty());
    assert!(recipients(&index, &["d"], &[]).is_empty());
    assert_eq!(recipients(&index, &[], &[]), ["a", "b", "c", "d"]);
    index.check_invariants();
}

#[test]
fn remove_forgets_the_socket_and_its_empty_rooms() {
    let index = abcd();
    assert_eq!(index.remove("c").as_deref(), Some("c"));
    assert_eq!(index.remove("c"), None);
    assert_eq!(index.len(), 3);
    assert_eq!(sorted(index.all_rooms()), ["a", "b", "d", "x", "y"]);
    assert!(index.rooms_of("c").is_empty());
    assert_eq!(index.handle("c"), None);
    // The freed slot is reused, and the newcomer is in none of the old socket's rooms.
    index.insert(id("e"), id("e"));
    assert_eq!(recipients(&index, &["y"], &[]), ["b"]);
    assert_eq!(recipients(&index, &["z", "e"], &[]), ["e"]);
    index.check_invariants();
}

#[test]
fn sockets_in_is_a_union() {
    let index = abcd();
    assert_eq!(sorted(index.sockets_in(&[])), ["a", "b", "c", "d"]);
    assert_eq!(sorted(index.sockets_in(&rooms(&["x"]))), ["a", "b"]);
    assert_eq!(
        sorted(index.sockets_in(&rooms(&["x", "y", "x"]))),
        ["a", "b", "c"]
    );
    assert_eq!(sorted(index.sockets_in(&rooms(&["nope", "d"]))), ["d"]);
    assert!(index.sockets_in(&rooms(&["nope"])).is_empty());
}

#[test]
fn for_each_recipient_covers_every_case() {
    let index = abcd();
    assert_eq!(recipients(&index, &[], &[]), ["a", "b", "c", "d"]);
    assert_eq!(recipients(&index, &["y"], &[]), ["b", "c"]);
    assert_eq!(recipients(&index, &["x", "y"], &[]), ["a", "b", "c"]);
    assert_eq!(recipients(&index, &["x", "y"], &["z"]), ["a", "b"]);
    assert_eq!(
        recipients(&index, &["x", "y"], &["x", "y"]),
        Vec::<String>::new()
    );
    assert_eq!(recipients(&index, &[], &["y"]), ["a", "d"]);
    assert_eq!(recipients(&index, &[], &["nope"]), ["a", "b", "c", "d"]);
    assert_eq!(recipients(&index, &["x"], &["b"]), ["a"]);
    assert_eq!(recipients(&index, &["nope"], &[]), Vec::<String>::new());
    assert_eq!(recipients(&index, &["c", "y"], &[]), ["b", "c"]);
}

#[test]
fn recipients_come_in_full_batches_but_the_last() {
    let index = RoomIndex::with_shards(2);
    let count = 3 * RECIPIENT_BATCH + 5;
    for i in 0..count {
        let name = format!("s{i}");
        index.insert(id(&name), id(&name));
        index.join(&name, rooms(&["big"]));
    }
    for (to, except, expected) in [
        (&[][..], &[][..], count),
        (&["big"][..], &[][..], count),
        (&["big", "s0"][..], &["s1"][..], count - 1),
    ] {
        let mut sizes = Vec::new();
        let mut got = BTreeSet::new();
        index.for_each_recipient_batch(&rooms(to), &rooms(except), |batch| {
            sizes.push(batch.len());
            got.extend(batch.iter().map(|h| h.to_string()));
        });
        assert_eq!(got.len(), expected, "{to:?} except {except:?}");
        assert_eq!(sizes.iter().sum::<usize>(), expected, "each recipient once");
        let (last, full) = sizes.split_last().unwrap();
        assert!(
            full.iter().all(|&size| size == RECIPIENT_BATCH),
            "{sizes:?}"
        );
        assert!((1..=RECIPIENT_BATCH).contains(last), "{sizes:?}");
    }
    let mut batches = 0;
    index.for_each_recipient_batch(&rooms(&["nope"]), &[], |_| batches += 1);
    assert_eq!(batches, 0, "no recipients, no batch");
}

#[test]
fn large_rooms_grow_and_shrink() {
    let index = RoomIndex::with_shards(2);
    let names: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
    for name in &names {
        index.insert(id(name), id(name));
        index.join(name, rooms(&["big", "other"]));
    }
    assert_eq!(recipients(&index, &["big"], &[]).len(), 300);
    for name in names.iter().step_by(2) {
        index.leave(name, "big");
    }
    assert_eq!(recipients(&index, &["big"], &[]).len(), 150);
    assert_eq!(recipients(&index, &["other"], &["big"]).len(), 150);
    for name in &names[..290] {
        index.remove(name);
    }
    assert_eq!(
        recipients(&index, &["big"], &[]),
        ["s291", "s293", "s295", "s297", "s299"]
    );
    assert_eq!(recipients(&index, &["big", "other"], &[]).len(), 10);
    index.check_invariants();
}

#[test]
fn shard_counts_round_up_to_powers_of_two() {
    for (asked, got) in [(0, 2), (1, 2), (3, 4), (16, 16), (17, 32)] {
        let index: RoomIndex<u8> = RoomIndex::with_shards(asked);
        assert_eq!(index.shards, got);
    }
    let index: RoomIndex<u8> = RoomIndex::default();
    assert_eq!(index.shards, super::DEFAULT_SHARDS);
    index.insert(id("s"), 0);
    assert_eq!(
        format!("{index:?}"),
        "RoomIndex { sockets: 1, rooms: 1, shards: 16 }"
    );
}
