//! The heartbeat timers of every session, driven by one task.
//!
//! Each session has at most one live deadline (next ping, pong deadline, or end of a lingering
//! close). Deadlines sit in one min-heap; the driver sleeps until the earliest, fires what is due
//! and sleeps again. An idle connection costs one heap entry and nothing per tick. Entries are never
//! removed early: a session moves its generation on instead, and stale entries are dropped when
//! they come due (at most one stale entry per reschedule, and they expire within one interval).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::session::Session;

struct Entry {
    at: Instant,
    sequence: u64,
    generation: u64,
    session: Weak<Session>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    sequence: u64,
}

/// The shared deadline heap and the wake-up of its driver.
#[derive(Default)]
pub(crate) struct Timers {
    heap: Mutex<Heap>,
    /// Wakes the driver when a deadline earlier than all others arrives.
    earlier: Notify,
}

impl Timers {
    /// Calls `session.on_timer(generation, at)` at `at` (if the session still exists).
    pub(crate) fn schedule(&self, at: Instant, session: &Arc<Session>, generation: u64) {
        let mut heap = self.heap.lock();
        heap.sequence += 1;
        let sequence = heap.sequence;
        let earliest = heap
            .entries
            .peek()
            .is_none_or(|Reverse(first)| at < first.at);
        heap.entries.push(Reverse(Entry {
            at,
            sequence,
            generation,
            session: Arc::downgrade(session),
        }));
        drop(heap);
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Fires due deadlines forever; the engine aborts the task when it is dropped.
    pub(crate) async fn drive(self: Arc<Self>) {
        let mut due = Vec::new();
        loop {
            let next = self.take_due(Instant::now(), &mut due);
            for (session, generation, at) in due.drain(..) {
                session.on_timer(generation, at);
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = self.earlier.notified() => {}
                    }
                }
                None => self.earlier.notified().await,
            }
        }
    }

    /// Moves every entry due at `now` into `due`; returns the next deadline.
    fn take_due(
        &self,
        now: Instant,
        due: &mut Vec<(Arc<Session>, u64, Instant)>,
    ) -> Option<Instant> {
        let mut heap = self.heap.lock();
        while let Some(Reverse(first)) = heap.entries.peek() {
            if first.at > now {
                return Some(first.at);
            }
            let Some(Reverse(entry)) = heap.entries.pop() else {
                break;
            };
            if let Some(session) = entry.session.upgrade() {
                due.push((session, entry.generation, entry.at));
            }
        }
        None
    }

    /// The number of pending entries (for tests of memory bounds).
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().entries.len()
    }
}
