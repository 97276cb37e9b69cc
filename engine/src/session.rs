//! One Engine.IO session: its state machine, its bounded outgoing queue and its heartbeat.
//!
//! ```text
//!            handshake (polling)            handshake (websocket)
//!                   │                                │
//!                   ▼                                ▼
//!   ┌──────── Open, polling ── "2probe" ──► Upgrading ── "5" ──► Open, websocket ──┐
//!   │               ▲                            │                       │         │
//!   │               └── probe fails / times out ─┘                       │         │
//!   │ server close, no GET parked                                        │         │
//!   ▼                                                                    │         │
//! Closing (polling: "1" waits for the next GET, or a timer) ─────────────┤         │
//!                                                                        ▼         │
//!                                      Closed (out of the session table) ◄─────────┘
//! ```
//!
//! Invariants:
//! - The state lock is never held across an `.await`, a socket write or a call into the handler.
//! - `Handler::on_close` runs exactly once per session, when it leaves `Open`/`Upgrading`, which
//!   only [`Session::leave_open`] does (it keeps the lock-free `open` flag in step).
//! - The outgoing queue never holds more than `max_queued_packets` application frames; control frames
//!   (ping, pong, noop, close) always fit.
//! - A session has at most one heartbeat timer that counts: timer entries carry the generation they
//!   were scheduled with and are ignored once it has moved on.
//! - Exactly one writer drains the queue: the parked polling GET, or the websocket task.
//! - While a write hold is in progress ([`crate::Socket::hold_writes`]) and the session is open,
//!   the writers take nothing from the queue; the end of the last hold wakes them.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oxio_protocol::engine_io::Packet;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::engine::Shared;
use crate::frame::Frame;
use crate::request::{RequestInfo, TransportKind};
use crate::socket::{CloseReason, SendError, Socket};
use crate::writer_wake::WriterWake;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    /// A websocket probe is open for this polling session.
    Upgrading {
        /// The client sent `2probe`: parked and new GETs are answered at once (with `6` when idle).
        probed: bool,
    },
    /// Closed for the application; a polling close waits here for a GET to carry the `1`.
    Closing,
    Closed,
}

/// The session's mutable state. `#[repr(C)]`: what a send reads and writes comes first, so that
/// with the lock in front of it (see [`Session`]) it fills one cache line.
#[repr(C)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    pub(crate) transport: TransportKind,
    /// A polling GET is waiting for frames.
    pub(crate) poll_parked: bool,
    /// Application frames in `queue` (control frames are not counted against the limit).
    queued_messages: usize,
    pub(crate) queue: Vec<Frame>,
    /// A polling POST is being read.
    pub(crate) post_in_progress: bool,
    /// A write pause requested by [`crate::Socket::pause_after_queued`]: the websocket writer writes
    /// this many frames, then waits this long before writing more.
    pause_after: Option<(usize, Duration)>,
    /// Set while a ping waits for its pong: the session closes with "ping timeout" at this instant.
    pong_deadline: Option<Instant>,
    timer_generation: u64,
    /// Write holds in progress (see [`crate::Socket::hold_writes`]).
    holds: u32,
}

impl State {
    fn new(transport: TransportKind) -> State {
        State {
            phase: Phase::Open,
            transport,
            poll_parked: false,
            queued_messages: 0,
            queue: Vec::new(),
            post_in_progress: false,
            pause_after: None,
            pong_deadline: None,
            timer_generation: 0,
            holds: 0,
        }
    }

    /// Whether the writers must leave the queue alone: a write hold is in progress and the session
    /// is open (a closing session writes what it has).
    pub(crate) fn writes_held(&self) -> bool {
        self.holds > 0 && matches!(self.phase, Phase::Open | Phase::Upgrading { .. })
    }
}

/// The engine's record of one session. Shared by the session table, the transports and every
/// [`Socket`] handle.
///
/// A broadcast sends to thousands of sessions in a row, and each send's first touch of its session
/// is a cache miss. `#[repr(C, align(64))]` puts what a send reads (`shared`, for the queue limit,
/// and the state's lock and first fields) in the first cache line of the session, so that a send
/// misses once and [`Session::touch`] loads all of it.
#[repr(C, align(64))]
pub(crate) struct Session {
    pub(crate) shared: Arc<Shared>,
    pub(crate) state: Mutex<State>,
    pub(crate) id: Arc<str>,
    pub(crate) request: Arc<RequestInfo>,
    /// State the application attaches to the session (see [`Socket::set_extension`]); dropped right
    /// after `on_close`, so state that holds the socket does not keep the session alive.
    pub(crate) extension: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    /// Wakes the parked GET. `notify_one` keeps a permit, so no wake-up is lost between checking
    /// the queue and waiting.
    pub(crate) wake: Notify,
    /// Wakes the websocket task.
    pub(crate) writer: WriterWake,
    /// The websocket task is in the middle of a write (the transport is not writable). Outside the
    /// state lock: the task sets it without taking the lock again after each write.
    pub(crate) writing: AtomicBool,
    /// Whether the phase is `Open` or `Upgrading`, for readers that do not take the state lock
    /// (every message received asks): cleared by [`Session::leave_open`], under the lock, and
    /// never set again (a session does not reopen).
    open: AtomicBool,
}

/// What the transport should do after handing a packet to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Closed,
}

impl Session {
    pub(crate) fn new(
        id: Arc<str>,
        request: RequestInfo,
        shared: Arc<Shared>,
        transport: TransportKind,
    ) -> Arc<Session> {
        Arc::new(Session {
            shared,
            id,
            request: Arc::new(request),
            state: Mutex::new(State::new(transport)),
            extension: Mutex::new(None),
            wake: Notify::new(),
            writer: WriterWake::default(),
            writing: AtomicBool::new(false),
            open: AtomicBool::new(true),
        })
    }

    pub(crate) fn socket(self: &Arc<Self>) -> Socket {
        Socket::from_session(self.clone())
    }

    /// Queues an application frame. `volatile` frames are dropped (handed back as `Full`) when the
    /// transport is not writable right now.
    pub(crate) fn send(&self, frame: Frame, volatile: bool) -> Result<(), SendError> {
        let mut state = self.state.lock();
        if !matches!(state.phase, Phase::Open | Phase::Upgrading { .. }) {
            return Err(SendError::Closed(frame));
        }
        if state.queued_messages >= self.shared.config.max_queued_packets
            || (volatile && !self.writable(&state))
        {
            return Err(SendError::Full(frame));
        }
        state.queued_messages += 1;
        state.queue.push(frame);
        let first = state.queue.len() == 1;
        let poll_parked = state.poll_parked;
        drop(state);
        if first {
            self.wake_writer(poll_parked);
        }
        Ok(())
    }

    /// Reads the state lock, so that a send that follows finds its cache line (see [`Session`]) in
    /// the cache.
    #[inline]
    pub(crate) fn touch(&self) {
        std::hint::black_box(self.state.is_locked());
    }

    /// Wakes whichever writer drains the queue: the websocket task, and the parked GET if one is.
    /// `poll_parked` is read under the state lock that queued the frame: a GET that parks later
    /// looks at the queue first, so only a GET parked by then needs the notification (and a
    /// websocket session's sends skip it).
    fn wake_writer(&self, poll_parked: bool) {
        if poll_parked {
            self.wake.notify_one();
        }
        self.writer.wake();
    }

    /// Queues a control frame (not counted against the queue limit).
    pub(crate) fn send_control(&self, frame: Frame) {
        let mut state = self.state.lock();
        state.queue.push(frame);
        let poll_parked = state.poll_parked;
        drop(state);
        self.wake_writer(poll_parked);
    }

    /// Takes everything queued, for one batched write (a polling response ignores write pauses).
    pub(crate) fn drain_into(state: &mut State, out: &mut Vec<Frame>) {
        if out.is_empty() {
            // The buffers trade places: no frame is moved.
            std::mem::swap(out, &mut state.queue);
        } else {
            out.append(&mut state.queue);
        }
        state.queued_messages = 0;
        state.pause_after = None;
    }

    /// Takes what the websocket writer may write now: nothing while writes are held, else
    /// everything, or the frames before a requested pause, with the pause.
    pub(crate) fn drain_for_websocket(state: &mut State, out: &mut Vec<Frame>) -> Option<Duration> {
        if state.writes_held() {
            return None;
        }
        let Some((count, pause)) = state.pause_after.take() else {
            Session::drain_into(state, out);
            return None;
        };
        let count = count.min(state.queue.len());
        out.extend(state.queue.drain(..count));
        // Control frames are not counted; at worst this under-counts until the next full drain.
        state.queued_messages = state.queued_messages.saturating_sub(count);
        Some(pause)
    }

    /// Starts a write hold (see [`crate::Socket::hold_writes`]).
    pub(crate) fn hold_writes(&self) {
        self.state.lock().holds += 1;
    }

    /// Ends a write hold; the end of the last one wakes the writers if frames wait.
    pub(crate) fn release_writes(&self) {
        let mut state = self.state.lock();
        state.holds = state.holds.saturating_sub(1);
        let wake = state.holds == 0 && !state.queue.is_empty();
        let poll_parked = state.poll_parked;
        drop(state);
        if wake {
            self.wake_writer(poll_parked);
        }
    }

    /// Asks the websocket writer to pause for `pause` once the frames queued now are written.
    pub(crate) fn pause_after_queued(&self, pause: Duration) {
        let mut state = self.state.lock();
        let queued = state.queue.len();
        state.pause_after = Some((queued, pause));
    }

    /// Handles one packet from the client of `socket`'s session. Called in packet order by the
    /// single reader of the session (the websocket task, or the one POST in progress), which keeps
    /// the socket it hands to the handler: no refcount is taken per message.
    pub(crate) fn receive(socket: &Socket, packet: Packet) -> Flow {
        let session = socket.session();
        match packet {
            Packet::Message(message) => {
                if session.is_open() {
                    session.shared.handler.on_message(socket, message);
                }
                Flow::Continue
            }
            Packet::Pong(_) => {
                session.on_pong();
                Flow::Continue
            }
            Packet::Close => {
                session.close(CloseReason::TransportClose);
                Flow::Closed
            }
            // In v4 only the server pings ("invalid heartbeat direction" in Node).
            Packet::Ping(_) => {
                session.close(CloseReason::TransportError);
                Flow::Closed
            }
            // Node ignores these outside an upgrade.
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => Flow::Continue,
        }
    }

    /// See [`crate::Socket::is_writable`].
    pub(crate) fn is_writable(&self) -> bool {
        let state = self.state.lock();
        matches!(state.phase, Phase::Open | Phase::Upgrading { .. }) && self.writable(&state)
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Moves the session, whose locked state is `state`, to `Closing` or `Closed`: the one way out
    /// of `Open`/`Upgrading`.
    pub(crate) fn leave_open(&self, state: &mut State, phase: Phase) {
        debug_assert!(matches!(phase, Phase::Closing | Phase::Closed));
        state.phase = phase;
        self.open.store(false, Ordering::Release);
    }

    /// Starts the heartbeat: the first ping goes out one `ping_interval` from now.
    pub(crate) fn start_heartbeat(self: &Arc<Self>) {
        let generation = {
            let mut state = self.state.lock();
            state.timer_generation += 1;
            state.timer_generation
        };
        let at = Instant::now() + self.shared.config.ping_interval;
        self.shared.timers.schedule(at, self, generation);
    }

    fn on_pong(self: &Arc<Self>) {
        let generation = {
            // Any pong, even unsolicited, restarts the interval (as in Node).
            let mut state = self.state.lock();
            if !matches!(state.phase, Phase::Open | Phase::Upgrading { .. }) {
                return;
            }
            state.pong_deadline = None;
            state.timer_generation += 1;
            state.timer_generation
        };
        let at = Instant::now() + self.shared.config.ping_interval;
        self.shared.timers.schedule(at, self, generation);
    }

    /// A heartbeat timer scheduled for `scheduled_at` fired: send a ping, or close on a missing pong,
    /// or finish a lingering close. The pong deadline counts from the scheduled instant, so timer
    /// latency does not stretch the heartbeat.
    pub(crate) fn on_timer(self: &Arc<Self>, generation: u64, scheduled_at: Instant) {
        let mut state = self.state.lock();
        if state.timer_generation != generation {
            return;
        }
        match state.phase {
            Phase::Closed => {}
            Phase::Closing => {
                self.leave_open(&mut state, Phase::Closed);
                drop(state);
                self.shared.remove(&self.id);
            }
            Phase::Open | Phase::Upgrading { .. } if state.pong_deadline.is_some() => {
                drop(state);
                self.close(CloseReason::PingTimeout);
            }
            Phase::Open | Phase::Upgrading { .. } => {
                let deadline = scheduled_at + self.shared.config.ping_timeout;
                state.pong_deadline = Some(deadline);
                state.timer_generation += 1;
                let generation = state.timer_generation;
                state.queue.push(Frame::PING);
                let poll_parked = state.poll_parked;
                drop(state);
                self.wake_writer(poll_parked);
                self.shared.timers.schedule(deadline, self, generation);
            }
        }
    }

    /// Closes the session now if its pong is overdue and the timer has not fired yet, so that a
    /// request arriving right at the deadline sees the same outcome as one arriving later.
    /// Returns whether the session is gone (closed, not lingering).
    pub(crate) fn close_if_overdue(self: &Arc<Self>) -> bool {
        let overdue = {
            let state = self.state.lock();
            match state.phase {
                Phase::Closed => return true,
                // A server close waiting for the next GET to carry the `1`.
                Phase::Closing => return false,
                Phase::Open | Phase::Upgrading { .. } => {}
            }
            state
                .pong_deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
        };
        if overdue {
            self.close(CloseReason::PingTimeout);
        }
        overdue
    }

    /// Closes the session for `reason`; the transport finishes writing on its own.
    ///
    /// What the client gets: after its own close packet, a parked GET is released with `6` (noop);
    /// otherwise a polling client gets `1` with its next GET (a parked one at once), and a websocket
    /// client gets what was queued and then a close frame.
    pub(crate) fn close(self: &Arc<Self>, reason: CloseReason) {
        let mut state = self.state.lock();
        if !matches!(state.phase, Phase::Open | Phase::Upgrading { .. }) {
            return;
        }
        state.timer_generation += 1;
        // Only a forced close lingers: what is queued goes out with one GET and the `1` with a
        // later one (Node's drain-then-close; clients handle a payload's close packet before its
        // other packets). Errors, timeouts and a shutdown drop the session at once (a parked GET
        // still gets what is queued and the `1`; a later GET gets "Session ID unknown"), as in
        // Node, whose server closes every client with `close(true)`, which discards: after a
        // shutdown no GET may come to fetch a lingering close.
        let lingers = state.transport == TransportKind::Polling
            && reason == CloseReason::ForcedClose
            && !(state.poll_parked && state.queue.is_empty());
        match (state.transport, reason) {
            (TransportKind::Polling, CloseReason::TransportClose) => {
                if state.poll_parked {
                    state.queue.push(Frame::NOOP);
                }
            }
            // A lingering close sends its `1` once the queue is empty (see `polling::poll`).
            (TransportKind::Polling, _) if !lingers => state.queue.push(Frame::CLOSE),
            (TransportKind::Polling, _) | (TransportKind::Websocket, _) => {}
        }
        let linger_generation = state.timer_generation;
        let phase = if lingers {
            Phase::Closing
        } else {
            Phase::Closed
        };
        self.leave_open(&mut state, phase);
        let closed = state.phase == Phase::Closed;
        let poll_parked = state.poll_parked;
        drop(state);
        self.wake_writer(poll_parked);
        if closed {
            self.shared.remove(&self.id);
        } else {
            let at = Instant::now() + self.shared.config.ping_timeout;
            self.shared.timers.schedule(at, self, linger_generation);
        }
        tracing::debug!(sid = %self.id, reason = reason.as_str(), "session closed");
        self.shared.handler.on_close(&self.socket(), reason);
        self.extension.lock().take();
    }

    /// A GET delivered the `1` of a lingering close: the session is gone now.
    pub(crate) fn finish_linger(&self) {
        let mut state = self.state.lock();
        if state.phase == Phase::Closing {
            self.leave_open(&mut state, Phase::Closed);
            drop(state);
            self.shared.remove(&self.id);
        }
    }
}

impl Session {
    /// Whether a frame sent now goes out without waiting behind others (Node's `transport.writable`).
    fn writable(&self, state: &State) -> bool {
        match state.transport {
            TransportKind::Polling => state.poll_parked && state.queue.is_empty(),
            TransportKind::Websocket => !self.writing.load(Ordering::Acquire),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_send_reads_and_writes_is_in_the_first_cache_line() {
        assert_eq!(std::mem::align_of::<Session>(), 64);
        assert_eq!(std::mem::offset_of!(Session, shared), 0);
        // The lock comes before the data in the mutex (its layout is not `repr(C)`: checked here).
        let mutex = Mutex::new(State::new(TransportKind::Websocket));
        let data_offset = mutex.data_ptr() as usize - std::ptr::from_ref(&mutex) as usize;
        assert!(data_offset > 0, "the lock is after the state");
        let state_end = std::mem::offset_of!(State, queue) + std::mem::size_of::<Vec<Frame>>();
        for field_offset in [
            std::mem::offset_of!(State, phase),
            std::mem::offset_of!(State, transport),
            std::mem::offset_of!(State, poll_parked),
            std::mem::offset_of!(State, queued_messages),
        ] {
            assert!(field_offset < state_end);
        }
        assert!(std::mem::offset_of!(Session, state) + data_offset + state_end <= 64);
    }
}
