//! The adapter: what a namespace broadcasts through and keeps its rooms in.
//!
//! A server holds one adapter per namespace. The in-memory [`InMemoryAdapter`] (the default) keeps
//! everything in a [`RoomIndex`]; cluster adapters (Redis) implement the same trait, keep local
//! sockets the same way, and also reach other nodes. Methods that only concern this process are
//! synchronous; those that may cross the network will be added with the cluster adapters.
//!
//! The same rule as [`RoomIndex::for_each_recipient`] holds for every `deliver` callback: it runs
//! under the adapter's locks, so it must not call back into the adapter and must not block.

use crate::room_index::{Room, RoomIndex, SocketId};

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
    /// Makes a socket join rooms.
    fn join(&self, id: &str, rooms: &[Room]);
    /// Makes a socket leave a room.
    fn leave(&self, id: &str, room: &str);
    /// Removes a socket from every room and forgets it.
    fn remove(&self, id: &str) -> Option<H>;
    /// The rooms of a socket of this process.
    fn rooms_of(&self, id: &str) -> Vec<Room>;
    /// A socket of this process by id.
    fn socket(&self, id: &str) -> Option<H>;
    /// The number of sockets of this process.
    fn local_count(&self) -> usize;
    /// Every room with members in this process.
    fn local_rooms(&self) -> Vec<Room>;
    /// Calls `deliver` once per selected socket of this process.
    fn for_each_local(&self, target: Target<'_>, deliver: &mut dyn FnMut(&H));
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

    fn join(&self, id: &str, rooms: &[Room]) {
        self.index.join(id, rooms.iter().cloned());
    }

    fn leave(&self, id: &str, room: &str) {
        self.index.leave(id, room);
    }

    fn remove(&self, id: &str) -> Option<H> {
        self.index.remove(id)
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

    fn for_each_local(&self, target: Target<'_>, deliver: &mut dyn FnMut(&H)) {
        self.index
            .for_each_recipient(target.rooms, target.except, deliver);
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
        adapter.join("a", &["r".into()]);
        let mut seen = Vec::new();
        let rooms = ["r".into()];
        adapter.for_each_local(
            Target {
                rooms: &rooms,
                ..Target::default()
            },
            &mut |h| seen.push(*h),
        );
        assert_eq!(seen, [1]);
        assert_eq!(adapter.local_count(), 2);
        assert_eq!(adapter.remove("a"), Some(1));
        assert_eq!(adapter.rooms_of("a"), Vec::<Room>::new());
    }
}
