//! One room's member set: socket slots, small rooms as a sorted inline vector, large rooms as a dense
//! vector with a position map.
//!
//! Most rooms are tiny (every socket's own id room has exactly one member), so the common case is an
//! inline `SmallVec` that costs no allocation. Past [`SMALL_MAX`] members a room becomes [`Dense`] so that
//! join and leave stay O(1) in rooms of 10k and more while a broadcast still walks a plain `Vec<u32>`; it
//! turns back into a sorted vector when it shrinks to [`SMALL_AGAIN`] (hysteresis, so a room hovering at
//! the boundary does not flip back and forth).
//!
//! Measured on a room of 10k (ad-hoc harness beside the `room_index` bench, best of several runs on a
//! noisy 2-core VM): a broadcast over a `HashSet<u32>` cost 30–39 µs (3–4 ns per recipient: hashbrown's
//! group scan, and handles visited in hash order, i.e. at random), over [`Dense`] 13–15 µs, close to
//! walking every socket (9–10 µs); joins and leaves cost the same within noise. A sorted `Vec` for large
//! rooms iterates as fast but makes a join or leave move 20 KB on average in a room of 10k.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

/// A socket's interned id: its index in the socket table.
pub(super) type Slot = u32;

/// Rooms up to this many members are a sorted vector (binary search, at most 256 bytes shifted per
/// join or leave); one more turns the room into a [`Dense`] set.
pub(super) const SMALL_MAX: usize = 64;
/// A [`Dense`] room that shrinks to this many members turns back into a sorted vector.
pub(super) const SMALL_AGAIN: usize = SMALL_MAX / 4;

/// A room's members (never empty while the room exists: the index removes empty rooms).
#[derive(Debug)]
pub(super) enum Members {
    /// Sorted, no duplicates; inline up to 4 members.
    Small(SmallVec<[Slot; 4]>),
    /// More than [`SMALL_MAX`] members at some point, still more than [`SMALL_AGAIN`]. Boxed so that
    /// the many one-member rooms (every socket's own) stay 32 bytes instead of 64.
    Large(Box<Dense>),
}

/// A set of slots that iterates like a vector: the members in a dense `Vec` (in join order, until
/// removals swap the last member into the holes), each one's position in a map. 13–28 bytes per
/// member (vector and map growth) against 5–10 for a `HashSet<u32>`: the price of iterating at vector
/// speed, paid only by rooms of more than 64.
#[derive(Debug, Default)]
pub(super) struct Dense {
    order: Vec<Slot>,
    at: HashMap<Slot, u32, BuildHasherDefault<SlotHasher>>,
}

impl Dense {
    fn insert(&mut self, slot: Slot) -> bool {
        let pos = self.order.len() as u32;
        match self.at.entry(slot) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(pos);
                self.order.push(slot);
                true
            }
        }
    }

    fn remove(&mut self, slot: Slot) -> bool {
        let Some(pos) = self.at.remove(&slot) else {
            return false;
        };
        self.order.swap_remove(pos as usize);
        if let Some(&moved) = self.order.get(pos as usize) {
            self.at.insert(moved, pos);
        }
        true
    }
}

impl Members {
    /// A room with one member.
    pub(super) fn one(slot: Slot) -> Self {
        let mut v = SmallVec::new();
        v.push(slot);
        Members::Small(v)
    }

    /// Adds `slot`; returns whether it was not a member yet.
    pub(super) fn insert(&mut self, slot: Slot) -> bool {
        match self {
            Members::Small(v) => {
                let Err(at) = v.binary_search(&slot) else {
                    return false;
                };
                v.insert(at, slot);
                if v.len() > SMALL_MAX {
                    let mut dense = Box::<Dense>::default();
                    v.iter().for_each(|&s| _ = dense.insert(s));
                    *self = Members::Large(dense);
                }
                true
            }
            Members::Large(dense) => dense.insert(slot),
        }
    }

    /// Removes `slot`; returns whether it was a member.
    pub(super) fn remove(&mut self, slot: Slot) -> bool {
        match self {
            Members::Small(v) => {
                let Ok(at) = v.binary_search(&slot) else {
                    return false;
                };
                v.remove(at);
                true
            }
            Members::Large(dense) => {
                if !dense.remove(slot) {
                    return false;
                }
                if dense.order.len() <= SMALL_AGAIN {
                    let mut v: SmallVec<[Slot; 4]> = dense.order.iter().copied().collect();
                    v.sort_unstable();
                    *self = Members::Small(v);
                }
                true
            }
        }
    }

    /// Whether `slot` is a member.
    #[cfg(test)]
    pub(super) fn contains(&self, slot: Slot) -> bool {
        match self {
            Members::Small(v) => v.binary_search(&slot).is_ok(),
            Members::Large(dense) => dense.at.contains_key(&slot),
        }
    }

    /// The number of members.
    pub(super) fn len(&self) -> usize {
        match self {
            Members::Small(v) => v.len(),
            Members::Large(dense) => dense.order.len(),
        }
    }

    /// Whether there are no members left (the index then removes the room).
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` once per member (in no particular order). A callback, not an iterator, so each
    /// representation runs its own tight loop.
    #[inline]
    pub(super) fn for_each(&self, mut f: impl FnMut(Slot)) {
        match self {
            Members::Small(v) => v.iter().for_each(|&s| f(s)),
            Members::Large(dense) => dense.order.iter().for_each(|&s| f(s)),
        }
    }
}

/// A multiplicative hash for slots (FxHash's step): one multiply, top bits well mixed for hashbrown's
/// control bytes, and on dense small integers the low bits (the bucket index) are a permutation.
/// Slots are assigned by the index, never by a client, so a keyless hash is not a flooding risk.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SlotHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for SlotHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(SEED);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(m: &Members) -> Vec<Slot> {
        let mut v = Vec::new();
        m.for_each(|s| v.push(s));
        v.sort_unstable();
        v
    }

    #[test]
    fn grows_into_a_set_and_shrinks_back() {
        let mut m = Members::one(7);
        assert!(!m.insert(7));
        for s in 0..=SMALL_MAX as Slot {
            m.insert(s);
        }
        assert!(matches!(m, Members::Large(_)));
        assert_eq!(m.len(), SMALL_MAX + 1);
        assert_eq!(collect(&m), (0..=SMALL_MAX as Slot).collect::<Vec<_>>());
        for s in (SMALL_AGAIN as Slot)..=(SMALL_MAX as Slot) {
            assert!(m.remove(s));
        }
        assert!(matches!(m, Members::Small(_)));
        assert_eq!(collect(&m), (0..SMALL_AGAIN as Slot).collect::<Vec<_>>());
        assert!(!m.remove(SMALL_MAX as Slot));
        assert!(m.contains(0) && !m.contains(SMALL_MAX as Slot));
        for s in 0..SMALL_AGAIN as Slot {
            assert!(m.remove(s));
        }
        assert!(m.is_empty());
    }

    #[test]
    fn one_member_rooms_stay_small() {
        assert!(size_of::<Members>() <= 32, "{}", size_of::<Members>());
    }

    #[test]
    fn small_stays_sorted() {
        let mut m = Members::one(5);
        for s in [3, 9, 1, 5, 7] {
            m.insert(s);
        }
        let Members::Small(v) = &m else {
            panic!("6 members is small")
        };
        assert_eq!(v.as_slice(), &[1, 3, 5, 7, 9]);
    }
}
