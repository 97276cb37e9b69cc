//! The adapter: what a namespace broadcasts through and keeps its rooms in.
//!
//! A server holds one adapter per namespace. The in-memory [`InMemoryAdapter`] (the default) keeps
//! everything in a [`RoomIndex`]; cluster adapters (Redis) implement the same trait, keep local
//! sockets the same way. What crosses to other nodes goes through a
//! [`ClusterLink`](crate::remote::ClusterLink) beside the adapter, which follows the membership
//! changes the adapter reports.
//!
//! The same rule as [`RoomIndex::for_each_recipient`] holds for every `deliver` and `report`
//! callback: it runs under the adapter's locks, so it must not call back into the adapter and must
//! not block.

use crate::room_index::{MembershipChange, Room, RoomIndex, SocketId};

/// Which sockets a broadcast or a bulk operation selects.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    /// Members of any of these rooms; every socket when empty.
    pub rooms: &'a [Room],
    /// Minus members of any of these rooms.
    pub except: &'a [Room],
    /// Only sockets of this process (cluster adapters skip publishing).
    pub local: bool,
}

/// Where a namespace's sockets and rooms live, and how broadcasts reach them.
pub trait Adapter<H: Clone + Send + Sync + 'static>: Send + Sync + 'static {
    /// Registers a connected socket; it joins the room named after its id.
    fn add(&self, id: SocketId, handle: H);
    /// Makes a socket join rooms; `report` gets each room actually joined.
    fn join(&self, id: &str, rooms: &[Room], report: &mut dyn FnMut(MembershipChange));
    /// Makes a socket leave a room; `report` gets it if the socket was in it.
    fn leave(&self, id: &str, room: &str, report: &mut dyn FnMut(MembershipChange));
    /// Removes a socket from every room (each reported) and forgets it.
    fn remove(&self, id: &str, report: &mut dyn FnMut(MembershipChange)) -> Option<H>;
    /// Whether a room has members in this process.
    fn has_room(&self, room: &str) -> bool;
    /// The rooms of a socket of this process.
    fn rooms_of(&self, id: &str) -> Vec<Room>;
    /// A socket of this process by id.
    fn socket(&self, id: &str) -> Option<H>;
    /// The number of sockets of this process.
    fn local_count(&self) -> usize;
    /// Every room with members in this process.
    fn local_rooms(&self) -> Vec<Room>;
    /// Calls `deliver` with the selected sockets of this process, in batches (each socket once; see
    /// [`RoomIndex::for_each_recipient_batch`]).
    fn for_each_local(&self, target: Target<'_>, deliver: &mut dyn FnMut(&[&H]));
    /// The number of server processes sharing this namespace (1 without a cluster).
    fn server_count(&self) -> usize {
        1
    }
}

/// The default adapter: one process, everything in a [`RoomIndex`].
pub struct InMemoryAdapter<H: Clone + Send + Sync + 'static> {
    index: RoomIndex<H>,
}

impl<H: Clone + Send + Sync + 'static> InMemoryAdapter<H> {
    /// An empty adapter.
    pub fn new() -> Self {
        InMemoryAdapter {
            index: RoomIndex::new(),
        }
    }
}

impl<H: Clone + Send + Sync + 'static> Default for InMemoryAdapter<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Clone + Send + Sync + 'static> Adapter<H> for InMemoryAdapter<H> {
    fn add(&self, id: SocketId, handle: H) {
        self.index.insert(id, handle);
    }

    fn join(&self, id: &str, rooms: &[Room], report: &mut dyn FnMut(MembershipChange)) {
        self.index.join_reporting(id, rooms.iter().cloned(), report);
    }

    fn leave(&self, id: &str, room: &str, report: &mut dyn FnMut(MembershipChange)) {
        self.index.leave_reporting(id, room, report);
    }

    fn remove(&self, id: &str, report: &mut dyn FnMut(MembershipChange)) -> Option<H> {
        self.index.remove_reporting(id, report)
    }

    fn has_room(&self, room: &str) -> bool {
        self.index.has_room(room)
    }

    fn rooms_of(&self, id: &str) -> Vec<Room> {
        self.index.rooms_of(id)
    }

    fn socket(&self, id: &str) -> Option<H> {
        self.index.handle(id)
    }

    fn local_count(&self) -> usize {
        self.index.len()
    }

    fn local_rooms(&self) -> Vec<Room> {
        self.index.all_rooms()
    }

    fn for_each_local(&self, target: Target<'_>, deliver: &mut dyn FnMut(&[&H])) {
        self.index
            .for_each_recipient_batch(target.rooms, target.except, deliver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_adapter_selects_through_the_index() {
        let adapter: Box<dyn Adapter<u32>> = Box::new(InMemoryAdapter::new());
        adapter.add("a".into(), 1);
        adapter.add("b".into(), 2);
        let mut changes = Vec::new();
        adapter.join("a", &["r".into()], &mut |change| changes.push(change));
        assert_eq!(
            changes,
            [MembershipChange::Joined {
                room: "r".into(),
                created: true
            }]
        );
        let mut seen = Vec::new();
        let rooms = ["r".into()];
        adapter.for_each_local(
            Target {
                rooms: &rooms,
                ..Target::default()
            },
            &mut |batch| seen.extend(batch.iter().copied().copied()),
        );
        assert_eq!(seen, [1]);
        assert_eq!(adapter.local_count(), 2);
        assert_eq!(adapter.remove("a", &mut |_| {}), Some(1));
        assert!(!adapter.has_room("r"));
        assert_eq!(adapter.rooms_of("a"), Vec::<Room>::new());
    }
}
