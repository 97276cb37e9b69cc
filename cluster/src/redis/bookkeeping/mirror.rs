//! The in-memory copy of what this node owns: for each of its sockets, the rooms it is in.
//!
//! Invariants:
//! - the mirror is the truth for this node's own sockets; Redis is brought back to it after
//!   lost writes (see the module docs of `bookkeeping`);
//! - an operation updates its shard and is queued for the writer while the shard's lock is held,
//!   so for any one socket the queue holds the operations in the order the mirror saw them.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use parking_lot::{Mutex, MutexGuard};

/// Member (`{nsp}\0{sid}`) → rooms of that socket.
pub(super) type Shard = HashMap<String, HashSet<String>>;

const SHARDS: usize = 16;

/// The sharded map of this node's sockets.
pub(super) struct Mirror {
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

impl Mirror {
    pub(super) fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
        }
    }

    /// Locks the shard that holds `member`.
    pub(super) fn lock(&self, member: &str) -> MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(member) as usize) % self.shards.len();
        self.shards[i].lock()
    }

    /// Takes and releases every shard lock once: whoever held one before has finished.
    pub(super) fn barrier(&self) {
        for s in self.shards.iter() {
            drop(s.lock());
        }
    }

    /// A copy of every socket and its rooms.
    pub(super) fn snapshot(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let g = s.lock();
            out.extend(
                g.iter()
                    .map(|(m, r)| (m.clone(), r.iter().cloned().collect())),
            );
        }
        out
    }

    /// Forgets everything.
    pub(super) fn clear(&self) {
        for s in self.shards.iter() {
            s.lock().clear();
        }
    }
}
