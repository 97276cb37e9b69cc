//! The per-thread "already selected" bitset that deduplicates recipients across rooms.
//!
//! A broadcast over several rooms (or with `except` rooms) must deliver to each socket once. Instead of a
//! `HashSet` allocated per broadcast, each thread keeps one bitset indexed by slot, taken out of a
//! thread-local for the duration of a broadcast and put back all-zero afterwards. Clearing touches only
//! the words that were set (their indices are recorded when a word first becomes non-zero), so a small
//! broadcast on a server with a million sockets does not wipe 125 KB.
//!
//! The bitset is *moved out* of the thread-local, not borrowed: a `deliver` callback that (against the
//! rules) broadcasts again gets a fresh empty bitset instead of a panic, and a panic in `deliver` just
//! loses the bitset (the next broadcast on that thread starts from an empty one).

use std::cell::Cell;

use super::members::Slot;

thread_local! {
    static SEEN: Cell<Seen> = const { Cell::new(Seen { words: Vec::new(), dirty: Vec::new() }) };
}

/// A set of slots below the capacity it was taken with; all-zero between broadcasts.
#[derive(Debug, Default)]
pub(super) struct Seen {
    words: Vec<u64>,
    /// Indices of the words that are non-zero.
    dirty: Vec<u32>,
}

impl Seen {
    /// This thread's bitset, empty, able to hold slots `0..slots`.
    pub(super) fn take(slots: usize) -> Seen {
        let mut seen = SEEN.with(Cell::take);
        let words = slots.div_ceil(64);
        if seen.words.len() < words {
            seen.words.resize(words, 0);
        }
        seen
    }

    /// Adds `slot`; returns whether it was not in the set yet.
    #[inline]
    pub(super) fn insert(&mut self, slot: Slot) -> bool {
        let at = (slot / 64) as usize;
        let bit = 1u64 << (slot % 64);
        let word = &mut self.words[at];
        if *word & bit != 0 {
            return false;
        }
        if *word == 0 {
            self.dirty.push(slot / 64);
        }
        *word |= bit;
        true
    }

    /// Whether `slot` is in the set.
    #[cfg(test)]
    pub(super) fn contains(&self, slot: Slot) -> bool {
        self.words[(slot / 64) as usize] & (1u64 << (slot % 64)) != 0
    }

    /// The set as words: slot `s` is bit `s % 64` of word `s / 64`.
    pub(super) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Clears the set and returns it to this thread for the next broadcast.
    pub(super) fn give_back(mut self) {
        for &at in &self.dirty {
            self.words[at as usize] = 0;
        }
        self.dirty.clear();
        SEEN.with(|cell| cell.set(self));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comes_back_empty() {
        let mut seen = Seen::take(200);
        assert!(seen.insert(3) && seen.insert(130) && !seen.insert(3));
        assert!(seen.contains(130) && !seen.contains(131));
        seen.give_back();
        let seen = Seen::take(10);
        assert!(seen.words.len() >= 4, "the grown bitset is reused");
        assert!(seen.words.iter().all(|&w| w == 0) && seen.dirty.is_empty());
        assert!(!seen.contains(3) && !seen.contains(130));
        seen.give_back();
    }

    #[test]
    fn nested_take_gets_its_own() {
        let mut outer = Seen::take(64);
        outer.insert(1);
        let inner = Seen::take(64);
        assert!(!inner.contains(1));
        inner.give_back();
        outer.give_back();
    }
}
