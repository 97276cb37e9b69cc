//! The in-process room index of one namespace: rooms → member sockets, socket → rooms, and broadcast
//! recipient selection.
//!
//! The index stores a handle of type `H` per socket (whatever the server uses to reach a connection: a
//! queue sender, an `Arc` of its state). A broadcast selects recipients — members of any target room, or
//! every socket when no room is given, minus members of any `except` room, each exactly once — and calls
//! a `deliver` callback with each recipient's handle, which typically pushes a refcount clone of the one
//! already-encoded packet onto that socket's queue.
//!
//! # Layout
//!
//! - **Socket table** (one `parking_lot::RwLock`): socket ids are interned to dense `u32` *slots* (a free
//!   list reuses the slots of removed sockets). Per slot: the handle, in a dense `Vec` of its own so that a
//!   broadcast to everyone walks one array, and the socket's rooms, a `SmallVec<[Room; 4]>` behind a
//!   per-socket `parking_lot::Mutex`. One lock, not shards, because a broadcast needs a stable slot →
//!   handle view for its whole run and takes it once; only insert and remove take it exclusively.
//! - **Rooms**: a `DashMap<Room, Members>` (`N` shards of `RwLock<HashMap>`). Chosen over hand-rolled
//!   `RwLock<HashMap>` shards because it hashes a name once for both shard and bucket: 42 ns against 72
//!   ns per lookup of a 20-byte name in an ad-hoc measurement. A member set is a set of slots: a sorted
//!   inline vector for rooms of up to 64 sockets, above that a dense `Vec<u32>` plus a slot → position
//!   map (O(1) join and leave, and a broadcast walks a plain vector; see `members.rs` for the
//!   measurements against a `HashSet<u32>`).
//! - **Deduplication** across rooms uses a per-thread bitset indexed by slot, cleared word by word after
//!   use (no allocation per broadcast).
//!
//! # Invariants
//!
//! Between calls (every call keeps them, under the locks described below):
//!
//! 1. A socket's slot is in room `R`'s member set **iff** `R` is in the socket's room list.
//! 2. Empty rooms do not exist: leaving or removing the last member removes the room.
//! 3. [`insert`](RoomIndex::insert) puts every socket in the room named after its own id (Socket.IO's
//!    "every socket is in its own room"); like in Node, it stays there until it explicitly leaves it.
//! 4. Every live slot has a handle; a freed slot is in no room and is on the free list.
//!
//! Memory is bounded by the live state: the socket table is as long as the peak number of sockets, and
//! rooms exist only while they have members.
//!
//! # Locking
//!
//! Locks are always taken in this order, which rules out deadlock: the socket table, then one socket's
//! room list, then one room shard (never two room shards at once).
//!
//! - [`join`](RoomIndex::join), [`leave`](RoomIndex::leave): table *read* + that socket's mutex + one
//!   shard *write* at a time. Joins and leaves of different sockets run in parallel.
//! - [`insert`](RoomIndex::insert), [`remove`](RoomIndex::remove): table *write* (they allocate or free
//!   a slot, so no broadcast may be between "look up slot" and "read handle").
//! - Broadcasts and queries: table *read* for the whole call, plus one shard *read* at a time.
//!
//! A broadcast therefore sees no socket appear or disappear while it runs, but reads its rooms one
//! after the other: a socket that concurrently moves between two target rooms may be missed (never
//! delivered twice). No lock is ever held across anything async: this module has no async at all.
//!
//! # Rules for `deliver`
//!
//! [`for_each_recipient`](RoomIndex::for_each_recipient) calls `deliver` *while holding* the table's read
//! lock and a shard's read lock: this is the fastest way (no copying of the recipient list) and is fine
//! for what `deliver` is meant to do, a non-blocking queue push. So `deliver` **must not** call back
//! into the same index (it can deadlock once a writer is waiting) and **must not** block or do slow work
//! (it would hold up every join, leave, insert and remove meanwhile).
//!
//! # Batches
//!
//! [`for_each_recipient_batch`](RoomIndex::for_each_recipient_batch) hands the recipients over up to
//! [`RECIPIENT_BATCH`] at a time (every batch full but the last). A broadcast to thousands of sockets
//! reaches each one's queue through a few pointers, and each is a likely cache miss: given a batch,
//! the caller can load what it needs of every recipient first, so that those misses overlap, and then
//! deliver.

mod members;
mod seen;
mod table;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use parking_lot::RwLock;
use smallvec::SmallVec;

use members::{Members, Slot};
use seen::Seen;
use table::Table;

/// A socket id as the server names it (Socket.IO ids are ~20-character strings).
///
/// An `Arc<str>` rather than a newtype: the index stores each id twice (the id → slot map and the
/// socket's own entry) plus once more as the name of the socket's own room, all as refcount clones of
/// the one allocation, and a socket id *is* a room name (`io.to(socket_id)`), so the two types coincide.
pub type SocketId = Arc<str>;

/// A room name. Rooms are keyed by content; the index keeps one allocation per room name and hands out
/// refcount clones of it.
pub type Room = Arc<str>;

/// A change of one socket's membership, as the `*_reporting` methods report it (cluster adapters
/// follow them to subscribe to room channels and to keep Redis bookkeeping).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// The socket joined `room`; `created`: it is the room's first member.
    Joined {
        /// The room.
        room: Room,
        /// Whether the room did not exist before.
        created: bool,
    },
    /// The socket left `room`; `deleted`: it was the room's last member.
    Left {
        /// The room.
        room: Room,
        /// Whether the room no longer exists.
        deleted: bool,
    },
}

/// The number of room shards [`RoomIndex::new`] uses.
pub const DEFAULT_SHARDS: usize = 16;

/// The most recipients [`RoomIndex::for_each_recipient_batch`] hands over at once.
pub const RECIPIENT_BATCH: usize = 32;

/// One namespace's rooms and sockets; see the [module documentation](self) for layout and invariants.
///
/// All methods take `&self`: share the index (e.g. in an `Arc`) between the connection tasks.
pub struct RoomIndex<H: Clone + Send + Sync + 'static> {
    table: RwLock<Table<H>>,
    /// Room → members, sharded. SipHash with random keys (the std default): room names come from
    /// clients.
    rooms: DashMap<Room, Members>,
    /// The number of shards of `rooms`.
    shards: usize,
}

impl<H: Clone + Send + Sync + 'static> RoomIndex<H> {
    /// An empty index with [`DEFAULT_SHARDS`] room shards.
    pub fn new() -> Self {
        Self::with_shards(DEFAULT_SHARDS)
    }

    /// An empty index with `n` room shards, rounded up to a power of two (at least 2).
    ///
    /// More shards let more threads join and leave rooms at once; each costs one small empty map. A few
    /// per core is plenty: lookups are short.
    pub fn with_shards(n: usize) -> Self {
        let n = n.max(2).next_power_of_two();
        RoomIndex {
            table: RwLock::new(Table::new()),
            rooms: DashMap::with_shard_amount(n),
            shards: n,
        }
    }

    /// Registers socket `id` with its handle and puts it in the room named after its id.
    ///
    /// If `id` is already registered, only its handle is replaced (its rooms are kept) and the previous
    /// handle is returned.
    pub fn insert(&self, id: SocketId, handle: H) -> Option<H> {
        let mut table = self.table.write();
        let handle = match table.replace_handle(&id, handle) {
            Ok(old) => return Some(old),
            Err(handle) => handle,
        };
        let slot = table.alloc(id.clone(), handle);
        // A fresh slot is in no room (invariant 4), so this always adds it.
        let own_room = self.add_member(id, slot);
        if let (Some((room, _)), Some(socket)) = (own_room, table.socket_mut(slot)) {
            socket.rooms.get_mut().push(room);
        }
        None
    }

    /// Puts socket `id` in each of `rooms` (rooms it is already in are skipped). Does nothing if `id` is
    /// not registered.
    pub fn join(&self, id: &str, rooms: impl IntoIterator<Item = Room>) {
        self.join_reporting(id, rooms, &mut |_| {});
    }

    /// [`join`](RoomIndex::join), calling `report` for each room actually joined. `report` runs
    /// under the index's locks: the rules for `deliver` apply to it.
    pub fn join_reporting(
        &self,
        id: &str,
        rooms: impl IntoIterator<Item = Room>,
        report: &mut dyn FnMut(MembershipChange),
    ) {
        let table = self.table.read();
        let Some((slot, socket)) = table.lookup(id) else {
            return;
        };
        let mut mine = socket.rooms.lock();
        for room in rooms {
            if let Some((room, created)) = self.add_member(room, slot) {
                mine.push(room.clone());
                report(MembershipChange::Joined { room, created });
            }
        }
    }

    /// Takes socket `id` out of `room`. Does nothing if it is not registered or not in that room.
    pub fn leave(&self, id: &str, room: &str) {
        self.leave_reporting(id, room, &mut |_| {});
    }

    /// [`leave`](RoomIndex::leave), calling `report` if the socket was in the room (under the
    /// index's locks, as for [`join_reporting`](RoomIndex::join_reporting)).
    pub fn leave_reporting(&self, id: &str, room: &str, report: &mut dyn FnMut(MembershipChange)) {
        let table = self.table.read();
        let Some((slot, socket)) = table.lookup(id) else {
            return;
        };
        let mut mine = socket.rooms.lock();
        if let Some(at) = mine.iter().position(|r| **r == *room) {
            let room = mine.remove(at);
            let deleted = self.remove_member(room.clone(), slot);
            report(MembershipChange::Left { room, deleted });
        }
    }

    /// Takes socket `id` out of every room and forgets it; returns its handle, or `None` if `id` is not
    /// registered. Rooms left empty are removed.
    pub fn remove(&self, id: &str) -> Option<H> {
        self.remove_reporting(id, &mut |_| {})
    }

    /// [`remove`](RoomIndex::remove), calling `report` for each room the socket was in (under the
    /// index's locks, as for [`join_reporting`](RoomIndex::join_reporting)).
    pub fn remove_reporting(
        &self,
        id: &str,
        report: &mut dyn FnMut(MembershipChange),
    ) -> Option<H> {
        let mut table = self.table.write();
        let (slot, handle, socket) = table.free(id)?;
        for room in socket.rooms.into_inner() {
            let deleted = self.remove_member(room.clone(), slot);
            report(MembershipChange::Left { room, deleted });
        }
        Some(handle)
    }

    /// Whether `room` has members.
    pub fn has_room(&self, room: &str) -> bool {
        self.rooms.contains_key(room)
    }

    /// The rooms socket `id` is in, in the order it joined them (empty if it is not registered).
    pub fn rooms_of(&self, id: &str) -> Vec<Room> {
        let table = self.table.read();
        let rooms = table.lookup(id).map(|(_, s)| s.rooms.lock().to_vec());
        rooms.unwrap_or_default()
    }

    /// The sockets in any of `rooms`, each once; every socket if `rooms` is empty.
    pub fn sockets_in(&self, rooms: &[Room]) -> Vec<SocketId> {
        let table = self.table.read();
        let mut ids = Vec::new();
        self.select(&table, rooms, &[], |slot, _| {
            if let Some(socket) = table.socket(slot) {
                ids.push(socket.id.clone());
            }
        });
        ids
    }

    /// Calls `deliver` once per recipient: the members of any of `rooms` (every socket when `rooms` is
    /// empty), minus the members of any of `except`. Each recipient is delivered to exactly once, in no
    /// particular order.
    ///
    /// `deliver` runs under the index's read locks: it must not call into this index and must not block
    /// (see the [module documentation](self#rules-for-deliver)).
    pub fn for_each_recipient(&self, rooms: &[Room], except: &[Room], mut deliver: impl FnMut(&H)) {
        self.for_each_recipient_batch(rooms, except, |batch| {
            batch.iter().for_each(|handle| deliver(handle))
        });
    }

    /// Like [`for_each_recipient`](Self::for_each_recipient), handing the recipients over in batches
    /// of up to [`RECIPIENT_BATCH`], so that `deliver` can touch what it will need of every recipient
    /// of a batch before it delivers to the first (see the [module documentation](self#batches)).
    pub fn for_each_recipient_batch(
        &self,
        rooms: &[Room],
        except: &[Room],
        mut deliver: impl FnMut(&[&H]),
    ) {
        let table = self.table.read();
        let mut batch: SmallVec<[&H; RECIPIENT_BATCH]> = SmallVec::new();
        self.select(&table, rooms, except, |_, handle| {
            batch.push(handle);
            if batch.len() == RECIPIENT_BATCH {
                deliver(&batch);
                batch.clear();
            }
        });
        if !batch.is_empty() {
            deliver(&batch);
        }
    }

    /// Every room that exists (has members), including the sockets' own id rooms.
    pub fn all_rooms(&self) -> Vec<Room> {
        self.rooms.iter().map(|room| room.key().clone()).collect()
    }

    /// The number of registered sockets.
    pub fn len(&self) -> usize {
        self.table.read().len()
    }

    /// Whether no socket is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of rooms that exist, including the sockets' own id rooms.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The handle of socket `id`.
    pub fn handle(&self, id: &str) -> Option<H> {
        let table = self.table.read();
        let slot = table.slot_of(id)?;
        table.handle(slot).cloned()
    }

    /// Adds `slot` to `room`, creating the room; returns the room's shared name and whether the room
    /// was created if `slot` was not a member yet. The caller holds the table lock and the socket's
    /// room list.
    fn add_member(&self, room: Room, slot: Slot) -> Option<(Room, bool)> {
        match self.rooms.entry(room) {
            Entry::Occupied(mut o) => o.get_mut().insert(slot).then(|| (o.key().clone(), false)),
            Entry::Vacant(v) => {
                let room = v.key().clone();
                v.insert(Members::one(slot));
                Some((room, true))
            }
        }
    }

    /// Takes `slot` out of `room`, removing the room if it becomes empty; returns whether it did. The
    /// caller holds the table lock and the socket's room list.
    fn remove_member(&self, room: Room, slot: Slot) -> bool {
        if let Entry::Occupied(mut o) = self.rooms.entry(room) {
            o.get_mut().remove(slot);
            if o.get().is_empty() {
                o.remove();
                return true;
            }
        }
        false
    }

    /// Calls `f` with the members of `room`, if it exists, under its shard's read lock.
    #[inline]
    fn with_members(&self, room: &str, f: impl FnOnce(&Members)) {
        if let Some(members) = self.rooms.get(room) {
            f(&members);
        }
    }

    /// The recipient selection behind every broadcast and listing: calls `f` once per selected live
    /// socket. `table` is the caller's read guard.
    ///
    /// One loop per common case, so that none pays for the others: everyone (walk the handle array, no
    /// room lookup), one room (its members are already distinct), several rooms and/or `except`
    /// (deduplicate with the thread's bitset).
    fn select<'t>(
        &self,
        table: &'t Table<H>,
        rooms: &[Room],
        except: &[Room],
        mut f: impl FnMut(Slot, &'t H),
    ) {
        let mut visit = |slot: Slot| {
            if let Some(handle) = table.handle(slot) {
                f(slot, handle);
            }
        };
        match (rooms, except) {
            ([], []) => table.for_each_live(f),
            ([room], []) => self.with_members(room, |m| m.for_each(visit)),
            _ => {
                let mut seen = Seen::take(table.capacity());
                for room in except {
                    self.with_members(room, |m| m.for_each(|s| _ = seen.insert(s)));
                }
                if rooms.is_empty() {
                    table.for_each_live_unmarked(seen.words(), f);
                } else {
                    for room in rooms {
                        self.with_members(room, |m| {
                            m.for_each(|s| {
                                if seen.insert(s) {
                                    visit(s);
                                }
                            });
                        });
                    }
                }
                seen.give_back();
            }
        }
    }
}

impl<H: Clone + Send + Sync + 'static> Default for RoomIndex<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Clone + Send + Sync + 'static> fmt::Debug for RoomIndex<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomIndex")
            .field("sockets", &self.len())
            .field("rooms", &self.room_count())
            .field("shards", &self.shards)
            .finish()
    }
}
