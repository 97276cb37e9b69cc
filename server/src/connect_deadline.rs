//! The connect timeout (Node's `connectTimeout`) of every connection of an [`Io`](crate::Io), driven
//! by one task: a connection that has joined no namespace when its deadline comes is closed.
//!
//! Invariants:
//! - Every connection of an `Io` gets the same timeout, so deadlines are queued in the order they
//!   fall due: a FIFO, where adding one is a push and the driver only ever looks at the front.
//! - A connection that connects or closes *settles* (once: [`Client::settle_connect_deadline`]
//!   says whether it was the first time); its entry is not searched for, but skipped when it comes
//!   due. An entry keeps a `Weak<Client>`, which keeps the client's allocation, so the queue is
//!   compacted (settled entries dropped) whenever it holds more than twice the unsettled
//!   connections plus [`SLACK`]: what it keeps stays proportional to the connections still waiting.
//! - A driver task runs while the queue is not empty: the deadline queued into an empty queue
//!   spawns it (an `Io` can be built outside any runtime), and so does the next deadline after its
//!   runtime dropped it. It holds no strong reference while it sleeps, and ends when the queue is
//!   empty or the `Io` is gone.
//!
//! Why not a task per connection (as before): spawning, arming and aborting one cost more than the
//! rest of the Socket.IO connect did.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::client::Client;

/// Settled entries the queue may hold beyond twice the unsettled ones before it is compacted.
const SLACK: usize = 64;

/// The deadlines of the connections of one `Io` that have not connected yet.
pub(crate) struct ConnectDeadlines {
    timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(Instant, Weak<Client>)>,
    /// Connections queued that have not settled.
    unsettled: usize,
    driver_running: bool,
}

impl ConnectDeadlines {
    pub(crate) fn new(timeout: Duration) -> Arc<ConnectDeadlines> {
        Arc::new(ConnectDeadlines {
            timeout,
            state: Mutex::default(),
        })
    }

    /// Queues `client`'s deadline, one timeout from now. Must be called within a tokio runtime.
    pub(crate) fn add(self: &Arc<Self>, client: &Arc<Client>) {
        let Some(at) = Instant::now().checked_add(self.timeout) else {
            return; // Too far to ever come.
        };
        let start_driver = {
            let mut state = self.state.lock();
            if state.queue.len() > 2 * state.unsettled + SLACK {
                state.queue.retain(|(_, client)| {
                    client
                        .upgrade()
                        .is_some_and(|client| client.awaits_connect())
                });
            }
            state.queue.push_back((at, Arc::downgrade(client)));
            state.unsettled += 1;
            !std::mem::replace(&mut state.driver_running, true)
        };
        if start_driver {
            tokio::spawn(drive(Arc::downgrade(self)));
        }
    }

    /// One queued connection connected or closed (called once per connection).
    pub(crate) fn settled(&self) {
        let mut state = self.state.lock();
        state.unsettled = state.unsettled.saturating_sub(1);
    }

    /// Takes the clients due at `now` (whether or not they settled), and the next deadline; `None`
    /// when the queue is empty, and then the driver is marked gone (it ends).
    fn take_due(&self, now: Instant) -> (Vec<Arc<Client>>, Option<Instant>) {
        let mut state = self.state.lock();
        let mut due = Vec::new();
        while let Some(&(at, _)) = state.queue.front() {
            if at > now {
                return (due, Some(at));
            }
            if let Some((_, client)) = state.queue.pop_front()
                && let Some(client) = client.upgrade()
            {
                due.push(client);
            }
        }
        state.driver_running = false;
        (due, None)
    }
}

/// Marks the driver gone if its runtime drops it mid-sleep, so that the next deadline spawns another.
struct DriverRunning {
    deadlines: Weak<ConnectDeadlines>,
    /// False once the driver has ended on its own (and said so under the lock).
    armed: bool,
}

impl Drop for DriverRunning {
    fn drop(&mut self) {
        if self.armed
            && let Some(deadlines) = self.deadlines.upgrade()
        {
            deadlines.state.lock().driver_running = false;
        }
    }
}

/// Closes each connection whose deadline came before it connected; ends when the queue is empty
/// (the next deadline spawns another driver) or the `Io` is gone.
async fn drive(deadlines: Weak<ConnectDeadlines>) {
    let mut running = DriverRunning {
        deadlines: deadlines.clone(),
        armed: true,
    };
    loop {
        let Some(strong) = deadlines.upgrade() else {
            return;
        };
        let (due, next) = strong.take_due(Instant::now());
        drop(strong);
        for client in due {
            client.close_unless_connected();
        }
        let Some(at) = next else {
            running.armed = false;
            return;
        };
        tokio::time::sleep_until(at.into()).await;
    }
}
