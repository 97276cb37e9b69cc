//! The socket table: socket ids interned to dense `u32` slots, each slot's handle and room list.
//!
//! Handles live in their own `Vec` (structure of arrays) so that a broadcast to every socket walks one
//! dense array of handles and touches nothing else. Freed slots go to a free list and are reused by the
//! next insert, so the table is as long as the peak number of sockets, never longer.

use std::collections::HashMap;

use parking_lot::Mutex;
use smallvec::SmallVec;

use super::members::Slot;
use super::{Room, SocketId};

/// The rooms of one socket, in the order it joined them. Most sockets are in 1–3 rooms.
pub(super) type RoomList = SmallVec<[Room; 4]>;

/// What the table knows about a live socket, besides its handle.
#[derive(Debug)]
pub(super) struct Socket {
    /// The socket's id, as registered.
    pub(super) id: SocketId,
    /// The socket's rooms. Locked (under the table's read lock) by join and leave, so that those run in
    /// parallel for different sockets; insert and remove own the whole table and use `get_mut`.
    pub(super) rooms: Mutex<RoomList>,
}

/// Slots, their handles and sockets, and the id → slot map.
#[derive(Debug)]
pub(super) struct Table<H> {
    /// `handles[slot]` is `Some` iff `sockets[slot]` is `Some`.
    handles: Vec<Option<H>>,
    sockets: Vec<Option<Socket>>,
    /// Slots whose entries are `None`, reused last-freed first.
    free: Vec<Slot>,
    by_id: HashMap<SocketId, Slot>,
}

impl<H> Table<H> {
    /// An empty table.
    pub(super) fn new() -> Self {
        Table {
            handles: Vec::new(),
            sockets: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
        }
    }

    /// The number of live sockets.
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// One past the highest slot ever handed out: every live slot is below it.
    pub(super) fn capacity(&self) -> usize {
        self.handles.len()
    }

    /// The slot of the socket named `id`.
    pub(super) fn slot_of(&self, id: &str) -> Option<Slot> {
        self.by_id.get(id).copied()
    }

    /// The live socket named `id`, with its slot.
    pub(super) fn lookup(&self, id: &str) -> Option<(Slot, &Socket)> {
        let slot = self.slot_of(id)?;
        Some((slot, self.socket(slot)?))
    }

    /// The live socket in `slot`.
    pub(super) fn socket(&self, slot: Slot) -> Option<&Socket> {
        self.sockets.get(slot as usize)?.as_ref()
    }

    /// The live socket in `slot`, for a caller that owns the table.
    pub(super) fn socket_mut(&mut self, slot: Slot) -> Option<&mut Socket> {
        self.sockets.get_mut(slot as usize)?.as_mut()
    }

    /// The handle of the live socket in `slot`.
    #[inline]
    pub(super) fn handle(&self, slot: Slot) -> Option<&H> {
        self.handles.get(slot as usize)?.as_ref()
    }

    /// Calls `f` with every live socket's slot and handle, in slot order.
    #[inline]
    pub(super) fn for_each_live<'t>(&'t self, mut f: impl FnMut(Slot, &'t H)) {
        // Slots fit in u32 (`insert` refuses more), so the cast cannot truncate.
        for (slot, handle) in self.handles.iter().enumerate() {
            if let Some(handle) = handle {
                f(slot as Slot, handle);
            }
        }
    }

    /// Like [`for_each_live`](Self::for_each_live), skipping the slots marked in `skip` (bit `s % 64` of
    /// word `s / 64`): walks the handles 64 at a time beside their word, so that a broadcast to everyone
    /// but a few rooms costs a shift per socket, not a lookup.
    #[inline]
    pub(super) fn for_each_live_unmarked<'t>(
        &'t self,
        skip: &[u64],
        mut f: impl FnMut(Slot, &'t H),
    ) {
        for (at, handles) in self.handles.chunks(64).enumerate() {
            let mut marks = skip.get(at).copied().unwrap_or(0);
            let base = at * 64;
            for (i, handle) in handles.iter().enumerate() {
                if let (0, Some(handle)) = (marks & 1, handle) {
                    f((base + i) as Slot, handle);
                }
                marks >>= 1;
            }
        }
    }

    /// Every live socket: slot, id, and room list.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = (Slot, &Socket)> {
        let live = self.sockets.iter().enumerate();
        live.filter_map(|(slot, s)| Some((slot as Slot, s.as_ref()?)))
    }

    /// Replaces the handle of the socket named `id` if there is one; otherwise gives `handle` back.
    pub(super) fn replace_handle(&mut self, id: &str, handle: H) -> Result<H, H> {
        match self
            .slot_of(id)
            .and_then(|s| self.handles.get_mut(s as usize)?.as_mut())
        {
            Some(old) => Ok(std::mem::replace(old, handle)),
            None => Err(handle),
        }
    }

    /// Registers a socket not in the table yet with an empty room list; returns its slot.
    ///
    /// # Panics
    ///
    /// With `u32::MAX` sockets registered at once.
    pub(super) fn alloc(&mut self, id: SocketId, handle: H) -> Slot {
        let socket = Socket {
            id: id.clone(),
            rooms: Mutex::new(RoomList::new()),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.handles[slot as usize] = Some(handle);
                self.sockets[slot as usize] = Some(socket);
                slot
            }
            None => {
                let slot = Slot::try_from(self.handles.len())
                    .ok()
                    .filter(|&s| s != Slot::MAX)
                    .expect("more than u32::MAX - 1 sockets in one room index");
                self.handles.push(Some(handle));
                self.sockets.push(Some(socket));
                slot
            }
        };
        self.by_id.insert(id, slot);
        slot
    }

    /// Forgets the socket named `id`, freeing its slot; returns the slot, handle and socket.
    pub(super) fn free(&mut self, id: &str) -> Option<(Slot, H, Socket)> {
        let slot = self.by_id.remove(id)?;
        let handle = self.handles[slot as usize].take()?;
        let socket = self.sockets[slot as usize].take()?;
        self.free.push(slot);
        Some((slot, handle, socket))
    }

    /// Checks the table's own invariants (the index checks the ones that span rooms).
    #[cfg(test)]
    pub(super) fn check(&self) {
        assert_eq!(self.handles.len(), self.sockets.len());
        for (slot, (h, s)) in self.handles.iter().zip(&self.sockets).enumerate() {
            assert_eq!(
                h.is_some(),
                s.is_some(),
                "slot {slot}: handle and socket disagree"
            );
            let freed = self.free.contains(&(slot as Slot));
            assert_eq!(s.is_none(), freed, "slot {slot}: free list disagrees");
            if let Some(s) = s {
                assert_eq!(self.by_id.get(&s.id), Some(&(slot as Slot)));
            }
        }
        assert_eq!(self.by_id.len() + self.free.len(), self.handles.len());
    }
}
