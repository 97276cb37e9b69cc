//! The receiver pool: websocket receivers ([`Role::Receiver`](super::client::Role::Receiver), the bulk of
//! fanout, rooms and cluster) and echo clients ([`Role::Echo`](super::client::Role::Echo), the echo
//! scenario) are served by one `mio` loop on its own OS thread once their Socket.IO connect completed,
//! with reads coalesced by pacing. Each connection has a [`Duty`]: receive (count `msg` events, if its
//! deliveries count) or echo (run the closed loop, see "Echo clients" below).
//!
//! Why: on the tokio side every message to every connection cost its own task wake-up and two reads (the
//! second one returning WouldBlock), about 4 µs per delivery: the load generator used its whole core at
//! ~200k deliveries/s, far below what the servers it measures can send. Parsing a frame costs ~60 ns;
//! what has to go is the per-message wake-up, so here one read returns many frames. Echo clients paid
//! the same wake-up and second read on every round trip (what the pool saves them, and what it cannot:
//! see "Echo clients").
//!
//! # A pass
//! The loop waits for readiness events (`Poll::poll`), then serves every connection that has one: reads
//! into the one [`READ_BUFFER`]-byte buffer shared by all connections (after the partial frame the
//! connection's previous read ended with), parses every complete frame in place, answers Engine.IO pings,
//! and keeps the new partial trailing frame, if any, in the connection. That is a pass. Passes are paced
//! in two ways:
//! - **one pass per interval at most**: after a pass shorter than the receive interval, the thread
//!   sleeps until one interval after the pass started, so wake-ups and reads per connection are bounded
//!   by `1 / interval` whatever the delivery rate. Meanwhile deliveries pile up in the socket buffers,
//!   and the next read of each connection returns all of them;
//! - **a CPU budget**: passes may take [`BUSY_BUDGET`] (two thirds) of the wall time on average. Unused
//!   budget carries over up to [`BUDGET_CARRY`], so bursts (a fan-out of 1000 writes takes the server a
//!   few ms) run flat out; only sustained work beyond the budget makes the loop rest, which stretches the
//!   cycle so that each read returns more frames. This matters because a read costs 3–5 µs whatever it
//!   returns, most of it in the kernel (the read, and the ACK it sends, whose loopback delivery runs on
//!   this core too), against 40–60 ns per frame for the parsing; while each connection gets less than one
//!   write per interval, reads follow the server's writes one for one, and a server on its own core can
//!   write about as fast as this loop reads. Measured with the interval alone (500 µs, 1000 receivers),
//!   the load generator used 60–93 % of its core between 150k and 1.2M deliveries/s, at 150–200k reads/s
//!   of 1 to 7 frames. A plain rest after every long pass (no carry) kept it at two thirds too, but
//!   delayed reads within each fan-out burst: fanout-50k's p50 rose by 1–2 ms.
//!
//! The price is latency resolution: a delivery may wait in its socket buffer for up to one cycle (from a
//! pass's start to the next's) before it is read, half of it on average; measured latencies include that
//! wait, the same way for every server. The cycle is the interval unless the loop is busy; the step JSON
//! reports its mean (`receiver_pool.cycle_us`) next to the mean pass length (`pass_us`).
//!
//! # Echo clients
//! An echo client is handed over right after its Socket.IO connect, before it sent any echo. While
//! echoes are running ([`ReceiverPool::set_echo_running`], set by the scenario driver before the
//! clients connect and cleared when the window stops), the pool sends its first echo when it attaches
//! it, then answers each ack (`43<id>[...]`): the round trip is recorded like a delivery (latency from
//! the `t` the ack carries back, counted if it is in the window), and the next echo,
//! `42<id+1>["echo",{"t":<now>,...}]` stamped when it is queued, goes into the connection's [`Writer`];
//! the flush that ends the read writes it. Once echoes are stopped, acks are still recorded but not
//! answered.
//!
//! Each connection has one echo in flight at most, so every read returns one ack: the pool saves the
//! task wake-up and the second read of every round trip, and shares one `epoll_wait` among the
//! connections ready in a pass, but it has no reads to coalesce. What remains is one `recv` and one
//! `send` per round trip, and it is most of the cost: profiled, ~70 % of the load generator's CPU
//! was in `send` (over loopback the sender's core also runs the receiving socket's TCP input, in the
//! softirq), ~13 % in `recv`, ~5 % in `epoll_wait`. Measured against the calibration server, a round
//! trip cost the load generator ~7.9 µs of CPU here against ~8.8 µs on tokio (medians), about what it
//! costs the server (which does the same syscalls), so against that server the load generator still
//! nears its core when the server does.
//!
//! The kernel's share being symmetric, what the load generator did on top was its user space (~16 %
//! of its CPU in a `perf` profile), and that was cut by half. Measured with callgrind (instructions of
//! the pool thread per round trip, user space only, noise-free), against the calibration server:
//! 2600 before, 1472 after the first three items below, 1335 after the fourth, 1306 in all:
//! - **the echo is built in place**: [`write_echo_packet`] writes the packet with a hand-written
//!   integer writer straight into the connection's write queue ([`Writer::text_with`]), which masks
//!   it there 8 bytes at a time ([`ws::mask_in_place`]). Before,
//!   `write!` formatted it into a scratch buffer (`core::fmt` alone was a third of the instructions),
//!   and `encode_frame` copied and masked it 4 bytes at a time, appending each word with its own
//!   length update (`unmask_into`: another 15 %);
//! - **one clock read per read**: the ack's receipt time is also the stamp of the echo that answers it
//!   (before, a second `Instant::elapsed` when the echo was queued). The stamp is thus earlier than
//!   the queueing by the parsing of that read, well under the µs latencies are counted in. The clock
//!   is not read once per pass instead: a pass serves many connections, for tens of µs under load, and
//!   latencies would be off by up to that much;
//! - **the ack's `t` is read in place** (`43<id>[{"t":`, as servers answer) instead of searched for
//!   ([`ack_t`]; any other layout is still searched);
//! - **raw `recv`/`send`** (`rustix`, see `Socket`) instead of glibc's, whose cancellation-point
//!   wrappers and `std`'s and `mio`'s layers cost ~140 instructions per round trip.
//!
//! In wall-clock terms (interleaved runs on a busy shared machine, medians; the CPU per round trip is
//! `loadgen_cpu_share / round_trips_per_s`): against the calibration server 9.06 → 8.28 µs (4 runs
//! each), against oxio's bench server 8.60 → 7.79 µs (3 runs each), about 9 % less, most of what the
//! user space could give. The rest is the syscalls, so the load generator still needs about as much
//! CPU per round trip as the calibration server does.
//!
//! Pacing cannot help: a round trip takes one cycle at least (its ack waits in the socket buffer for
//! the next pass), so the rate is at most the number of echo clients per cycle, and the budget then
//! caps the rate instead of the work per round trip (68–88k round trips/s with the load generator at
//! 0.55–0.68 of its core and the server at 0.6–0.8 of its own: the load generator would set the rate
//! without being marked saturated). The echo scenario therefore runs the pool without pacing by
//! default (`--receive-interval-us 0`): a pass starts as soon as an ack is ready.
//!
//! # Invariants
//! - **No data is stranded.** `mio` registers sockets edge-triggered (`EPOLLET`): an event is reported
//!   once per arrival of data, not for as long as data is waiting, so a connection must be drained before
//!   its event is forgotten. A connection is read until a read returns *less* than the free space it was
//!   offered (or WouldBlock): on Linux a TCP `recv` returns short only when it emptied the receive queue
//!   (it also processes the socket's backlog before giving up), so at that moment nothing was left.
//!   Anything that arrives later wakes the socket again and queues a new event, because the events of
//!   this pass were harvested (by `epoll_wait`) before the read. Data that arrives between the harvest
//!   and the read is read now *and* reported again: the next pass's read finds nothing, which costs one
//!   syscall and nothing else. The exception is end of stream: a read stops short at a FIN without
//!   reporting it, and no new event follows, so when an event says the peer closed or failed
//!   (`is_read_closed`, `is_error`) the connection is read until it returns 0 or an error.
//! - **Registered before read.** A handed-over socket is registered first, then read once: whatever
//!   arrived before the registration is read then, whatever arrives after raises an event.
//! - **One partial frame per connection** survives a pass (its `partial`); every complete frame
//!   is parsed in the pass that read it. The tokio side hands over the bytes it had read and not parsed
//!   (at most a partial frame: it parses every complete frame before handing over).
//! - **Pongs and echoes are never lost.** Answers to pings, and echoes, are written at the end of the
//!   read that found the ping or the ack (an echo client's first echo: at the end of the read that
//!   follows its registration); what a full send buffer refuses stays in the connection's [`Writer`]
//!   and goes out on the next writable edge (connections are registered for both readable and
//!   writable events).
//! - **Counting.** The pool keeps its own window, histogram, count of deliveries (round trips
//!   included), of echoes owed (sent with a stamp in the window: `expected`) and in flight, the echo
//!   switch and the count of dropped connections in one [`Mutex`]-protected tally, locked once per pass
//!   for the whole pass: a window change (which also clears the counts of received and owed) or an
//!   echo stop never lands in the middle of a pass, so every delivery is judged by the window it is
//!   counted under, and an echo is owed (or not) by the window it is stamped in. An echo is in
//!   flight from the moment it is queued until its ack is read or its connection is dropped (a dropped
//!   connection's echo will not be answered: the driver's straggler wait must not wait for it). The
//!   scenario driver merges the tally with its own counts (the publisher's, the idle clients') when it
//!   measures: the loss compares received with expected, both summed, and the straggler wait after the
//!   echo window lasts while the sum of echoes in flight is not zero.
//!
//! The loop runs on its own thread next to the tokio thread; the load generator is still pinned to one
//! core (`taskset`), so the two share it, and the process's CPU share (`/proc/self/stat`, all threads)
//! is still the saturation check. [`PassStats`] adds the loop's own view: the share of wall time spent
//! in passes, frames per read, the pass length and the cycle.

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use serde_json::{Value, json};

use super::client::session_ended;
use super::histogram::Histogram;
use super::ws::{self, ReadBuf, Writer};
use super::{ack_t, echo_packet_len, find_t, write_echo_packet};

/// Size of the one read buffer every connection is read into (it grows only for a frame that does not
/// fit, which the benchmark never sends).
pub const READ_BUFFER: usize = 256 * 1024;

/// Readiness events taken per `poll`; a pass polls again (without waiting) while a harvest fills it.
const EVENTS: usize = 4096;

/// The share of wall time passes may take on average (see "A pass" in the module docs).
pub const BUSY_BUDGET: f64 = 2.0 / 3.0;

/// How much unused [`BUSY_BUDGET`] carries over: the loop works flat out through a burst until it has
/// spent this much more than its budget (a fan-out burst of a few ms never waits for the budget).
pub const BUDGET_CARRY: Duration = Duration::from_millis(20);

/// The token of the waker that announces hand-overs.
const WAKER: Token = Token(usize::MAX);

/// What the pool does with a connection's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// A receiver: counts `msg` events when `counts` is set.
    Receive {
        /// Whether its deliveries count.
        counts: bool,
    },
    /// An echo client: the closed loop (see "Echo clients" in the module docs).
    Echo {
        /// The ack id of the last echo it sent (0: none yet); the next echo takes the next one.
        ack_id: u64,
    },
}

/// A connected websocket client (a receiver or an echo client) handed over by the tokio side.
#[derive(Debug)]
pub struct Handoff {
    /// Its TCP stream, non-blocking.
    pub stream: std::net::TcpStream,
    /// Bytes read on the tokio side and not yet parsed (at most a partial frame).
    pub buffered: Vec<u8>,
    /// Its frame writer, whose mask sequence goes on (anything it still held would be written at the
    /// hand-over; the tokio side writes everything it queued first).
    pub writer: Writer,
    /// What the pool does with it.
    pub duty: Duty,
}

/// Cumulative work of the receive loop since it started (take two and [`since`](Self::since)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Passes run.
    pub passes: u64,
    /// Read calls, those that found nothing included.
    pub reads: u64,
    /// Websocket frames parsed.
    pub frames: u64,
    /// Wall time spent inside passes.
    pub busy: Duration,
    /// Sum over passes of the time from a pass's start to the earliest start of the next (the longest
    /// a delivery that just missed the pass waits in its socket buffer).
    pub cycles: Duration,
}

impl PassStats {
    /// The work done between `earlier` and `self`.
    pub fn since(&self, earlier: &PassStats) -> PassStats {
        PassStats {
            passes: self.passes - earlier.passes,
            reads: self.reads - earlier.reads,
            frames: self.frames - earlier.frames,
            busy: self.busy.saturating_sub(earlier.busy),
            cycles: self.cycles.saturating_sub(earlier.cycles),
        }
    }

    /// The figures of the step JSON for this much work done in `wall` seconds.
    pub fn summary(&self, wall: f64) -> Value {
        let wall = wall.max(1e-9);
        let per_pass = |total: Duration| total.as_secs_f64() * 1e6 / self.passes.max(1) as f64;
        let per_read = if self.reads == 0 {
            0.0
        } else {
            self.frames as f64 / self.reads as f64
        };
        json!({
            "busy_share": (self.busy.as_secs_f64() / wall * 1000.0).round() / 1000.0,
            "passes_per_s": (self.passes as f64 / wall).round(),
            "reads_per_s": (self.reads as f64 / wall).round(),
            "frames_per_read": (per_read * 10.0).round() / 10.0,
            "pass_us": per_pass(self.busy).round(),
            "cycle_us": per_pass(self.cycles).round(),
        })
    }
}

/// What the pool counted; shared with the scenario driver.
#[derive(Debug)]
struct Tally {
    /// The measured window `[start, end)` in µs; payloads stamped inside it are counted.
    window: (u64, u64),
    histogram: Histogram,
    /// Deliveries (for echo clients: round trips) counted in the window.
    received: u64,
    /// Whether echo clients send (their first echo on attach, the next one on each ack).
    echo_running: bool,
    /// Echoes sent whose stamp is in the window (round trips owed).
    expected: u64,
    /// Echoes sent and not answered yet, by connections the loop still serves.
    in_flight: u64,
    attached: usize,
    dropped: usize,
    first_error: Option<String>,
    stats: PassStats,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            window: (u64::MAX, u64::MAX),
            histogram: Histogram::default(),
            received: 0,
            echo_running: false,
            expected: 0,
            in_flight: 0,
            attached: 0,
            dropped: 0,
            first_error: None,
            stats: PassStats::default(),
        }
    }
}

impl Tally {
    /// Whether a payload stamped `t` belongs to the window.
    #[inline]
    fn in_window(&self, t: u64) -> bool {
        let (start, end) = self.window;
        t >= start && t < end
    }

    /// Counts one delivery of a payload stamped `t` received at `now` (µs), if it is in the window.
    #[inline]
    fn record(&mut self, t: u64, now: u64) {
        if self.in_window(t) {
            self.histogram.record(now.saturating_sub(t));
            self.received += 1;
        }
    }

    fn note_dropped(&mut self, error: &io::Error) {
        self.attached -= 1;
        self.dropped += 1;
        self.first_error.get_or_insert_with(|| error.to_string());
    }
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_us(clock: Instant) -> u64 {
    clock.elapsed().as_micros() as u64
}

enum Command {
    Attach(Handoff),
    Stop,
}

/// The tokio side's handle on the receive loop; dropping it stops the loop.
#[derive(Debug)]
pub struct ReceiverPool {
    commands: mpsc::Sender<Command>,
    waker: Arc<Waker>,
    tally: Arc<Mutex<Tally>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ReceiverPool {
    /// Starts the receive loop on its own thread. Latencies are measured on `clock` (the one the
    /// publisher stamps payloads with); passes start at most once per `interval` (zero: no pacing, a
    /// pass starts as soon as something is ready).
    pub fn start(clock: Instant, interval: Duration) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (commands, inbox) = mpsc::channel();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let receive_loop = ReceiveLoop {
            poll,
            inbox,
            tally: tally.clone(),
            clock,
            pacer: Pacer::new(interval),
            connections: Vec::new(),
            free_slots: Vec::new(),
            buffer: ReadBuf::new(READ_BUFFER),
        };
        let thread = thread::Builder::new()
            .name("receivers".to_owned())
            .spawn(move || receive_loop.run())?;
        Ok(Self {
            commands,
            waker,
            tally,
            thread: Some(thread),
        })
    }

    /// Hands a connected receiver over to the loop.
    pub fn attach(&self, handoff: Handoff) -> io::Result<()> {
        self.commands
            .send(Command::Attach(handoff))
            .map_err(|_| io::Error::other("the receive loop has stopped"))?;
        self.waker.wake()
    }

    /// Opens a new measured window `[start, end)` (µs on the pool's clock), forgetting the counts of the
    /// previous one.
    pub fn start_window(&self, window: (u64, u64)) {
        let mut tally = lock(&self.tally);
        tally.window = window;
        tally.histogram.clear();
        tally.received = 0;
        tally.expected = 0;
    }

    /// Starts or stops the echo clients: while running, an echo client sends its first echo when it is
    /// attached and the next one on each ack. Takes effect from the next pass on.
    pub fn set_echo_running(&self, running: bool) {
        lock(&self.tally).echo_running = running;
    }

    /// Deliveries (round trips, for echo clients) counted in the window.
    pub fn received(&self) -> u64 {
        lock(&self.tally).received
    }

    /// Echoes sent in the window: the round trips owed.
    pub fn expected(&self) -> u64 {
        lock(&self.tally).expected
    }

    /// Echoes sent and not answered yet (those of connections that were dropped are forgotten).
    pub fn in_flight(&self) -> u64 {
        lock(&self.tally).in_flight
    }

    /// Adds the latencies recorded in the window to `histogram`.
    pub fn add_latencies_to(&self, histogram: &mut Histogram) {
        histogram.merge(&lock(&self.tally).histogram);
    }

    /// Connections the loop serves now.
    pub fn attached(&self) -> usize {
        lock(&self.tally).attached
    }

    /// Connections lost after the hand-over.
    pub fn dropped(&self) -> usize {
        lock(&self.tally).dropped
    }

    /// The first error that ended a connection.
    pub fn first_error(&self) -> Option<String> {
        lock(&self.tally).first_error.clone()
    }

    /// The loop's work so far.
    pub fn stats(&self) -> PassStats {
        lock(&self.tally).stats
    }
}

impl Drop for ReceiverPool {
    fn drop(&mut self) {
        // Joins only a loop that was told to stop (a loop that already ended has nothing to join for).
        if self.commands.send(Command::Stop).is_ok()
            && self.waker.wake().is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// One connection as the loop sees it.
#[derive(Debug)]
struct Connection<S> {
    stream: S,
    /// The partial frame the last read ended with (empty between frames).
    partial: Vec<u8>,
    /// Masks pongs and echoes; holds what the socket refused to take.
    writer: Writer,
    /// What it does with its packets.
    handler: Handler,
}

impl<S: Read + Write> Connection<S> {
    fn new(stream: S, partial: Vec<u8>, writer: Writer, duty: Duty) -> Self {
        Self {
            stream,
            partial,
            writer,
            handler: Handler { duty, in_flight: 0 },
        }
    }

    /// Reads until the socket is drained (see the module docs; `to_the_end`: until end of stream or
    /// WouldBlock), counting each read's frames into `tally`, then writes any answer. An error ends the
    /// connection.
    fn receive(
        &mut self,
        buffer: &mut ReadBuf,
        to_the_end: bool,
        tally: &mut Tally,
        clock: Instant,
    ) -> io::Result<()> {
        buffer.clear();
        if !self.partial.is_empty() {
            buffer.extend(&self.partial);
        }
        let outcome = loop {
            let offered = buffer.spare();
            tally.stats.reads += 1;
            let read = match buffer.read_from(&mut self.stream) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ));
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => break Err(error),
            };
            if let Err(error) = self.on_frames(buffer, now_us(clock), tally) {
                break Err(error);
            }
            if read < offered && !to_the_end {
                break Ok(());
            }
        };
        self.partial.clear();
        let unconsumed = buffer.unconsumed();
        if !unconsumed.is_empty() {
            self.partial.extend_from_slice(unconsumed);
        }
        outcome?;
        self.flush()
    }

    /// Handles every complete frame in `buffer`.
    fn on_frames(&mut self, buffer: &mut ReadBuf, now: u64, tally: &mut Tally) -> io::Result<()> {
        let handler = &mut self.handler;
        tally.stats.frames += ws::on_frames(buffer, &mut self.writer, |packet, writer| {
            handler.on_packet(packet, now, tally, writer)
        })?;
        Ok(())
    }

    /// Sends the first echo of an echo client, if echoes are running (the next flush writes it).
    fn start_echo(&mut self, tally: &mut Tally, clock: Instant) {
        if matches!(self.handler.duty, Duty::Echo { .. }) && tally.echo_running {
            self.handler
                .send_echo(tally, &mut self.writer, now_us(clock));
        }
    }

    /// Writes what the writer holds, as far as the socket takes it; the rest waits for a writable edge.
    fn flush(&mut self) -> io::Result<()> {
        let out = &mut self.writer.out;
        while !out.is_empty() {
            match self.stream.write(out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) if written == out.len() => out.clear(),
                Ok(written) => {
                    out.drain(..written);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// What a [`Connection`] does with its packets: its duty and an echo client's loop state.
#[derive(Debug)]
struct Handler {
    /// What its packets are for (an echo client's last ack id included).
    duty: Duty,
    /// Echoes it sent that are not answered yet (counted in the tally's `in_flight` too).
    in_flight: u64,
}

impl Handler {
    /// The packets the pool acts on: `msg` events (counted by receivers whose deliveries count), acks
    /// (an echo client's round trip, answered by the next echo while echoes are running), pings, and
    /// the end of the session. `now` is when the read that found `packet` returned: the receipt time
    /// of acks and the stamp of the echoes that answer them.
    fn on_packet(
        &mut self,
        packet: &[u8],
        now: u64,
        tally: &mut Tally,
        writer: &mut Writer,
    ) -> io::Result<()> {
        match (packet, self.duty) {
            ([b'4', b'2', rest @ ..], Duty::Receive { counts: true })
                if rest.starts_with(b"[\"msg\",") =>
            {
                if let Some(t) = find_t(rest) {
                    tally.record(t, now);
                }
            }
            ([b'4', b'3', ..], Duty::Echo { .. }) => {
                if self.in_flight > 0 {
                    self.in_flight -= 1;
                    tally.in_flight = tally.in_flight.saturating_sub(1);
                }
                if let Some(t) = ack_t(packet) {
                    tally.record(t, now);
                }
                if tally.echo_running {
                    self.send_echo(tally, writer, now);
                }
            }
            ([b'2'], _) => writer.text(b"3"),
            ([b'4', b'4', ..] | [b'4', b'1', ..] | [b'1', ..], _) => {
                return Err(session_ended(packet));
            }
            _ => {}
        }
        Ok(())
    }

    /// Queues the next echo, `42<id>["echo",{"t":<t>,"p":..}]` with the next ack id, in `writer`
    /// (built in place in its queue).
    fn send_echo(&mut self, tally: &mut Tally, writer: &mut Writer, t: u64) {
        let Duty::Echo { ack_id } = &mut self.duty else {
            return;
        };
        *ack_id += 1;
        let id = *ack_id;
        writer.text_with(echo_packet_len(id, t), |out| write_echo_packet(out, id, t));
        self.in_flight += 1;
        tally.in_flight += 1;
        if tally.in_window(t) {
            tally.expected += 1;
        }
    }
}

/// When passes may start: at most once per interval, and within the [`BUSY_BUDGET`] (see "A pass" in
/// the module docs).
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    /// Unspent budget, seconds of pass time (negative: overspent, the loop must rest).
    credit: f64,
    /// The end of the previous pass: the budget is earned on wall time from there.
    last_end: Option<Instant>,
}

impl Pacer {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            credit: BUDGET_CARRY.as_secs_f64(),
            last_end: None,
        }
    }

    /// When the next pass may start after one that ran from `started` to `ended`; `None` (a zero
    /// interval: no pacing) means as soon as something is ready.
    fn next_pass_at(&mut self, started: Instant, ended: Instant) -> Option<Instant> {
        if self.interval.is_zero() {
            return None;
        }
        let since_last = ended - self.last_end.unwrap_or(started);
        self.last_end = Some(ended);
        let earned = since_last.as_secs_f64() * BUSY_BUDGET;
        let spent = (ended - started).as_secs_f64();
        self.credit = (self.credit + earned - spent).min(BUDGET_CARRY.as_secs_f64());
        let paced = started + self.interval;
        if self.credit >= 0.0 {
            return Some(paced);
        }
        // Rest until the overspent budget is earned back.
        let rest = Duration::from_secs_f64(-self.credit / BUSY_BUDGET);
        Some(paced.max(ended + rest))
    }
}

/// A connection's socket, read and written with `rustix` (raw system calls) rather than through
/// `std`/`mio`, which call glibc's `recv` and `send`: those are thread cancellation points, whose
/// wrappers (`__pthread_enable_asynccancel`, `__pthread_disable_asynccancel`) with `std`'s and `mio`'s
/// layers cost ~140 of the ~1470 user-space instructions of an echo round trip (see "Echo clients" in
/// the module docs).
#[derive(Debug)]
struct Socket(TcpStream);

impl Read for Socket {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (read, _) = rustix::net::recv(&self.0, buf, rustix::net::RecvFlags::empty())?;
        Ok(read)
    }
}

impl Write for Socket {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // `NOSIGNAL` as `std` sends: a peer gone is an error, not a `SIGPIPE`.
        Ok(rustix::net::send(
            &self.0,
            buf,
            rustix::net::SendFlags::NOSIGNAL,
        )?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The state of the receive thread.
struct ReceiveLoop {
    poll: Poll,
    inbox: mpsc::Receiver<Command>,
    tally: Arc<Mutex<Tally>>,
    clock: Instant,
    pacer: Pacer,
    /// Connections by token; `None` slots are listed in `free_slots`.
    connections: Vec<Option<Connection<Socket>>>,
    free_slots: Vec<usize>,
    buffer: ReadBuf,
}

impl ReceiveLoop {
    fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            // Waits for the first event: an idle pool costs nothing.
            match self.poll.poll(&mut events, None) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    lock(&self.tally)
                        .first_error
                        .get_or_insert(error.to_string());
                    return;
                }
            }
            let started = Instant::now();
            let tally = self.tally.clone();
            let mut tally = lock(&tally);
            loop {
                let mut harvested = 0;
                for event in events.iter() {
                    harvested += 1;
                    if event.token() == WAKER {
                        if !self.take_commands(&mut tally) {
                            return;
                        }
                    } else {
                        self.on_event(event, &mut tally);
                    }
                }
                // A full harvest may have left events behind: take them in this pass.
                if harvested < EVENTS || self.poll.poll(&mut events, Some(Duration::ZERO)).is_err()
                {
                    break;
                }
            }
            let ended = Instant::now();
            let next = self.pacer.next_pass_at(started, ended);
            tally.stats.passes += 1;
            tally.stats.busy += ended - started;
            tally.stats.cycles += next.unwrap_or(ended).max(ended) - started;
            drop(tally);
            if let Some(next) = next {
                let now = Instant::now();
                if now < next {
                    thread::sleep(next - now);
                }
            }
        }
    }

    /// Attaches what was handed over; false once the pool is told to stop (or its handle is gone).
    fn take_commands(&mut self, tally: &mut Tally) -> bool {
        loop {
            match self.inbox.try_recv() {
                Ok(Command::Attach(handoff)) => self.attach(handoff, tally),
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => return false,
                Err(mpsc::TryRecvError::Empty) => return true,
            }
        }
    }

    fn attach(&mut self, handoff: Handoff, tally: &mut Tally) {
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.connections.push(None);
            self.connections.len() - 1
        });
        let mut connection = Connection::new(
            Socket(TcpStream::from_std(handoff.stream)),
            handoff.buffered,
            handoff.writer,
            handoff.duty,
        );
        tally.attached += 1;
        let registered = self.poll.registry().register(
            &mut connection.stream.0,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        );
        // Registered first, then read: see "Registered before read" in the module docs. An echo
        // client's first echo goes out with the flush that ends the read.
        if registered.is_ok() {
            connection.start_echo(tally, self.clock);
        }
        let outcome = registered
            .and_then(|()| connection.receive(&mut self.buffer, false, tally, self.clock));
        self.connections[slot] = Some(connection);
        if let Err(error) = outcome {
            self.detach(slot, &error, tally);
        }
    }

    fn on_event(&mut self, event: &mio::event::Event, tally: &mut Tally) {
        let slot = event.token().0;
        // A connection dropped earlier in this pass may still have an event in the harvest.
        let Some(Some(connection)) = self.connections.get_mut(slot) else {
            return;
        };
        let to_the_end = event.is_read_closed() || event.is_error();
        let outcome = if event.is_readable() || to_the_end {
            connection.receive(&mut self.buffer, to_the_end, tally, self.clock)
        } else {
            connection.flush()
        };
        if let Err(error) = outcome {
            self.detach(slot, &error, tally);
        }
    }

    fn detach(&mut self, slot: usize, error: &io::Error, tally: &mut Tally) {
        if let Some(mut connection) = self.connections[slot].take() {
            let _ = self.poll.registry().deregister(&mut connection.stream.0);
            self.free_slots.push(slot);
            // Its unanswered echoes will never be answered: no straggler wait for them.
            tally.in_flight = tally.in_flight.saturating_sub(connection.handler.in_flight);
            tally.note_dropped(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A socket that returns scripted reads (then WouldBlock) and records what is written.
    #[derive(Default)]
    struct Scripted {
        reads: VecDeque<io::Result<Vec<u8>>>,
        written: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.reads.pop_front() {
                None => Err(io::ErrorKind::WouldBlock.into()),
                Some(Err(error)) => Err(error),
                Some(Ok(mut bytes)) => {
                    // A chunk longer than the space offered is read in parts, as from a socket.
                    if bytes.len() > buf.len() {
                        let rest = bytes.split_off(buf.len());
                        self.reads.push_front(Ok(rest));
                    }
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
            }
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The server's frame carrying `packet`.
    fn frame(packet: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ws::write_frame(&mut out, ws::TEXT, packet, None);
        out
    }

    fn msg(t: u64) -> Vec<u8> {
        let mut packet = b"42[\"msg\",".to_vec();
        super::super::push_payload(&mut packet, t);
        packet.push(b']');
        frame(&packet)
    }

    fn connection(reads: Vec<Vec<u8>>) -> Connection<Scripted> {
        with_duty(reads, Duty::Receive { counts: true })
    }

    fn with_duty(reads: Vec<Vec<u8>>, duty: Duty) -> Connection<Scripted> {
        let stream = Scripted {
            reads: reads.into_iter().map(Ok).collect(),
            written: Vec::new(),
        };
        Connection::new(stream, Vec::new(), Writer::new(7), duty)
    }

    /// The server's answer to the echo `id` stamped `t`.
    fn ack(id: u64, t: u64) -> Vec<u8> {
        let mut packet = format!("43{id}[").into_bytes();
        super::super::push_payload(&mut packet, t);
        packet.push(b']');
        frame(&packet)
    }

    /// An echo client whose echo `ack_id` is in flight.
    fn echo_client(reads: Vec<Vec<u8>>, ack_id: u64, tally: &mut Tally) -> Connection<Scripted> {
        let mut connection = with_duty(reads, Duty::Echo { ack_id });
        connection.handler.in_flight = 1;
        tally.in_flight += 1;
        connection
    }

    /// The ack id and the stamp of an echo packet.
    fn parse_echo(packet: &[u8]) -> (u64, u64) {
        let text = std::str::from_utf8(packet).unwrap();
        let (id, rest) = text
            .strip_prefix("42")
            .and_then(|rest| rest.split_once('['))
            .unwrap();
        assert!(rest.starts_with("\"echo\",{\"t\":"), "{text}");
        assert!(
            rest.ends_with(&format!("\"p\":\"{}\"}}]", super::super::PAD)),
            "{text}"
        );
        (id.parse().unwrap(), find_t(packet).unwrap())
    }

    fn counting_tally() -> Tally {
        Tally {
            window: (0, u64::MAX),
            attached: 1,
            ..Tally::default()
        }
    }

    /// The text payloads of the client frames in `bytes` (unmasked).
    fn client_texts(mut bytes: Vec<u8>) -> Vec<Vec<u8>> {
        let mut read = ReadBuf::new(64);
        read.extend(&std::mem::take(&mut bytes));
        let mut texts = Vec::new();
        while let Some((opcode, payload)) = read.next_frame().unwrap() {
            assert_eq!(opcode, ws::TEXT);
            texts.push(payload.to_vec());
        }
        assert!(read.unconsumed().is_empty());
        texts
    }

    #[test]
    fn frames_split_across_reads_are_counted_once_complete() {
        let stream: Vec<u8> = (1..=5).flat_map(msg).collect();
        // Cut in the middle of the second frame's header and of the fourth frame's payload.
        let first_len = msg(1).len();
        let cuts = [first_len + 1, 3 * first_len + 20];
        let chunks = vec![
            stream[..cuts[0]].to_vec(),
            stream[cuts[0]..cuts[1]].to_vec(),
            stream[cuts[1]..].to_vec(),
        ];
        let mut tally = counting_tally();
        let mut buffer = ReadBuf::new(READ_BUFFER);
        let clock = Instant::now();
        let mut connection = connection(Vec::new());
        let expected = [(1, 1), (3, 3), (5, 5)];
        for (chunk, (received, frames)) in chunks.into_iter().zip(expected) {
            // One event per chunk: the read until WouldBlock takes it all.
            connection.stream.reads.push_back(Ok(chunk));
            connection
                .receive(&mut buffer, false, &mut tally, clock)
                .unwrap();
            assert_eq!((tally.received, tally.stats.frames), (received, frames));
        }
        assert!(connection.partial.is_empty());
        assert_eq!(tally.histogram.len(), 5);
    }

    #[test]
    fn the_partial_trailing_frame_is_kept_between_passes() {
        let whole = msg(42);
        let mut connection = connection(vec![whole[..30].to_vec()]);
        let mut tally = counting_tally();
        // Another connection uses the shared buffer in between.
        let mut buffer = ReadBuf::new(READ_BUFFER);
        let clock = Instant::now();
        connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        assert_eq!(connection.partial, whole[..30]);
        assert_eq!(tally.received, 0);
        let mut other = self::connection(vec![msg(7)]);
        other
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        assert_eq!(tally.received, 1);
        connection.stream.reads.push_back(Ok(whole[30..].to_vec()));
        connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        assert_eq!(tally.received, 2);
        assert!(connection.partial.is_empty());
    }

    #[test]
    fn a_read_filling_the_buffer_is_followed_by_another() {
        // More than the shared buffer holds: the first read fills it, so the socket may hold more.
        let one = msg(1);
        let count = READ_BUFFER / one.len() + 10;
        let stream: Vec<u8> = (0..count).flat_map(|_| one.clone()).collect();
        let mut connection = connection(vec![stream]);
        let mut tally = counting_tally();
        let mut buffer = ReadBuf::new(READ_BUFFER);
        connection
            .receive(&mut buffer, false, &mut tally, Instant::now())
            .unwrap();
        assert_eq!(tally.received, count as u64);
        assert!(connection.stream.reads.is_empty());
    }

    #[test]
    fn a_short_read_ends_the_service_unless_the_peer_closed() {
        let mut connection = connection(vec![msg(1), msg(2)]);
        let mut tally = counting_tally();
        let mut buffer = ReadBuf::new(READ_BUFFER);
        let clock = Instant::now();
        connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        // The second chunk stands for data that arrived after the read: it raised a new event.
        assert_eq!((tally.received, tally.stats.reads), (1, 1));
        // An event that says the peer closed reads on to the end of the stream.
        connection.stream.reads.push_back(Ok(Vec::new()));
        let error = connection
            .receive(&mut buffer, true, &mut tally, clock)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(tally.received, 2);
    }

    /// An Engine.IO ping, a `msg` event stamped 3, and a websocket ping `hi`, in one read.
    fn pings_around_a_msg() -> Vec<u8> {
        let mut chunk = frame(b"2");
        chunk.extend_from_slice(&msg(3));
        ws::write_frame(&mut chunk, ws::PING, b"hi", None);
        chunk
    }

    #[test]
    fn pings_are_answered() {
        let chunk = pings_around_a_msg();
        let mut connection = connection(vec![chunk]);
        let mut tally = counting_tally();
        connection
            .receive(
                &mut ReadBuf::new(READ_BUFFER),
                false,
                &mut tally,
                Instant::now(),
            )
            .unwrap();
        assert_eq!(tally.received, 1);
        let written = std::mem::take(&mut connection.stream.written);
        // A masked Engine.IO pong, then a websocket pong with the ping's payload.
        assert_eq!(written[0], 0x80 | ws::TEXT);
        assert_ne!(written[1] & 0x80, 0, "client frames are masked");
        let mut read = ReadBuf::new(64);
        read.extend(&written);
        assert_eq!(read.next_frame().unwrap(), Some((ws::TEXT, &b"3"[..])));
        assert_eq!(read.next_frame().unwrap(), Some((ws::PONG, &b"hi"[..])));
        assert!(connection.writer.out.is_empty());
    }

    #[test]
    fn outside_the_window_nothing_counts_and_session_ends_are_errors() {
        let mut connection = connection(vec![msg(5), frame(b"41")]);
        let mut tally = Tally {
            window: (10, 20),
            ..counting_tally()
        };
        let mut buffer = ReadBuf::new(READ_BUFFER);
        let clock = Instant::now();
        connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        assert_eq!((tally.received, tally.stats.frames), (0, 1));
        let error = connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap_err();
        assert!(error.to_string().contains("41"), "{error}");
    }

    #[test]
    fn an_ack_is_recorded_and_answered_by_the_next_echo() {
        let clock = Instant::now();
        let mut tally = Tally {
            echo_running: true,
            ..counting_tally()
        };
        let mut connection = echo_client(vec![ack(4, 0)], 4, &mut tally);
        connection
            .receive(&mut ReadBuf::new(READ_BUFFER), false, &mut tally, clock)
            .unwrap();
        let after = now_us(clock);
        assert_eq!((tally.received, tally.histogram.len()), (1, 1));
        let texts = client_texts(std::mem::take(&mut connection.stream.written));
        assert_eq!(texts.len(), 1, "one echo per ack");
        let (id, t) = parse_echo(&texts[0]);
        assert_eq!(id, 5, "the next ack id");
        // Built in place, the same packet as `format!` made.
        let formatted = format!(
            "425[\"echo\",{{\"t\":{t},\"p\":\"{}\"}}]",
            super::super::PAD
        );
        assert_eq!(texts[0], formatted.as_bytes());
        assert!(t <= after, "stamped when it was sent");
        assert_eq!(connection.handler.duty, Duty::Echo { ack_id: 5 });
        // One answered, one sent.
        assert_eq!((connection.handler.in_flight, tally.in_flight), (1, 1));
        assert_eq!(tally.expected, 1);
        // The next ack: the loop goes on with the id after.
        connection.stream.reads.push_back(Ok(ack(5, t)));
        connection
            .receive(&mut ReadBuf::new(READ_BUFFER), false, &mut tally, clock)
            .unwrap();
        let texts = client_texts(std::mem::take(&mut connection.stream.written));
        assert_eq!(parse_echo(&texts[0]).0, 6);
        assert_eq!((tally.received, tally.expected, tally.in_flight), (2, 2, 1));
        assert!(connection.writer.out.is_empty());
    }

    #[test]
    fn no_new_echo_once_stopped() {
        let clock = Instant::now();
        let mut tally = counting_tally();
        assert!(!tally.echo_running);
        // Two acks in one read (the server answered twice): neither is answered.
        let mut chunk = ack(1, 0);
        chunk.extend(ack(2, 0));
        let mut connection = echo_client(vec![chunk], 2, &mut tally);
        connection.handler.in_flight = 2;
        tally.in_flight = 2;
        connection
            .receive(&mut ReadBuf::new(READ_BUFFER), false, &mut tally, clock)
            .unwrap();
        assert_eq!(tally.received, 2, "the round trips still count");
        assert!(connection.stream.written.is_empty(), "no new echo");
        assert_eq!(connection.handler.duty, Duty::Echo { ack_id: 2 });
        assert_eq!(
            (
                connection.handler.in_flight,
                tally.in_flight,
                tally.expected
            ),
            (0, 0, 0)
        );
        // An extra ack does not push the counts below zero.
        connection.stream.reads.push_back(Ok(ack(2, 0)));
        connection
            .receive(&mut ReadBuf::new(READ_BUFFER), false, &mut tally, clock)
            .unwrap();
        assert_eq!((connection.handler.in_flight, tally.in_flight), (0, 0));
        // Not running either: no first echo on attach.
        connection.start_echo(&mut tally, clock);
        assert!(connection.writer.out.is_empty());
    }

    #[test]
    fn echoes_in_flight_count_and_only_those_stamped_in_the_window_are_owed() {
        let clock = Instant::now();
        let mut tally = Tally {
            echo_running: true,
            ..counting_tally()
        };
        // The first echo on attach: in flight, and owed (stamped in the window).
        let mut connection = with_duty(Vec::new(), Duty::Echo { ack_id: 0 });
        connection.start_echo(&mut tally, clock);
        let texts = client_texts(connection.writer.out.clone());
        assert_eq!(parse_echo(&texts[0]).0, 1);
        assert_eq!(
            (
                connection.handler.in_flight,
                tally.in_flight,
                tally.expected
            ),
            (1, 1, 1)
        );
        // A second client, with the window over: in flight, not owed.
        tally.window = (0, 0);
        let mut other = with_duty(Vec::new(), Duty::Echo { ack_id: 0 });
        other.start_echo(&mut tally, clock);
        assert_eq!(
            (other.handler.in_flight, tally.in_flight, tally.expected),
            (1, 2, 1)
        );
        // Its ack is stamped outside the window: it does not count, but it is no longer in flight,
        // and the next echo is sent (echoes run on after the window until they are stopped).
        other.stream.reads.push_back(Ok(ack(1, now_us(clock))));
        other
            .receive(&mut ReadBuf::new(READ_BUFFER), false, &mut tally, clock)
            .unwrap();
        assert_eq!((tally.received, tally.expected, tally.in_flight), (0, 1, 2));
        // A receiver sends nothing on attach.
        let mut receiver = self::connection(Vec::new());
        receiver.start_echo(&mut tally, clock);
        assert!(receiver.writer.out.is_empty());
        assert_eq!(tally.in_flight, 2);
    }

    #[test]
    fn an_echo_client_answers_pings_and_ends_with_the_session() {
        // The `msg` event is not for echo clients: it does not count.
        let chunk = pings_around_a_msg();
        let mut tally = Tally {
            echo_running: true,
            ..counting_tally()
        };
        let mut connection = echo_client(vec![chunk, frame(b"41")], 1, &mut tally);
        let mut buffer = ReadBuf::new(READ_BUFFER);
        let clock = Instant::now();
        connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap();
        assert_eq!((tally.received, tally.stats.frames), (0, 3));
        let mut read = ReadBuf::new(64);
        read.extend(&std::mem::take(&mut connection.stream.written));
        assert_eq!(read.next_frame().unwrap(), Some((ws::TEXT, &b"3"[..])));
        assert_eq!(read.next_frame().unwrap(), Some((ws::PONG, &b"hi"[..])));
        assert_eq!(read.next_frame().unwrap(), None, "no echo without an ack");
        assert_eq!((connection.handler.in_flight, tally.in_flight), (1, 1));
        let error = connection
            .receive(&mut buffer, false, &mut tally, clock)
            .unwrap_err();
        assert!(error.to_string().contains("41"), "{error}");
    }

    #[test]
    fn passes_start_an_interval_apart_within_the_budget() {
        let interval = Duration::from_micros(500);
        let start = Instant::now();
        let at = |us| start + Duration::from_micros(us);
        let mut pacer = Pacer::new(interval);
        // Short passes: the next one starts an interval after this one started.
        assert_eq!(pacer.next_pass_at(at(0), at(100)), Some(at(500)));
        assert_eq!(pacer.next_pass_at(at(500), at(600)), Some(at(1_000)));
        // Back-to-back passes of 1 ms never wait while the carried budget lasts: 20 ms carried, a third
        // of each pass overspent, about 60 passes.
        let mut started = 1_000;
        for _ in 0..50 {
            let next = pacer.next_pass_at(at(started), at(started + 1_000));
            assert!(next <= Some(at(started + 1_000)), "no wait in a burst");
            started += 1_000;
        }
        let mut waited = None;
        for pass in 0..20 {
            let next = pacer
                .next_pass_at(at(started), at(started + 1_000))
                .unwrap();
            if next > at(started + 1_000) {
                waited = Some(pass);
                break;
            }
            started += 1_000;
        }
        assert!(waited.is_some(), "the budget ran out");
        // Sustained work: passes of two intervals, each starting as soon as allowed, take the budget's
        // share of the time.
        let mut started = pacer.last_end.unwrap();
        let (mut worked, mut total) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..100 {
            let ended = started + interval * 2;
            let next = pacer.next_pass_at(started, ended).unwrap().max(ended);
            worked += ended - started;
            total += next - started;
            started = next;
        }
        let share = worked.as_secs_f64() / total.as_secs_f64();
        assert!((share - BUSY_BUDGET).abs() < 0.02, "{share}");
        assert_eq!(Pacer::new(Duration::ZERO).next_pass_at(at(0), at(1)), None);
    }

    /// A loopback socket pair: the pool's end (non-blocking) and the server's (whose reads fail after
    /// 10 s without data, so that a missing echo fails the test rather than hang it).
    fn socket_pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (client, server)
    }

    /// Waits (10 s at most) until `what` holds for `pool`.
    fn wait_for(pool: &ReceiverPool, what: impl Fn(&ReceiverPool) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !what(pool) {
            assert!(Instant::now() < deadline, "the pool did not get there");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// The server's side of an echo client: reads the next echo, returns its ack id and stamp.
    fn next_echo(server: &mut std::net::TcpStream, read: &mut ReadBuf) -> (u64, u64) {
        loop {
            if let Some((opcode, payload)) = read.next_frame().unwrap() {
                assert_eq!(opcode, ws::TEXT);
                return parse_echo(payload);
            }
            assert_ne!(read.read_from(server).unwrap(), 0, "the pool closed");
        }
    }

    /// The echo loop over real loopback sockets: the first echo on attach, each ack answered by the
    /// next echo, a new window, the stop, and a dropped client's echo forgotten.
    #[test]
    fn the_pool_runs_the_echo_loop() {
        let (client, mut server) = socket_pair();
        let pool = ReceiverPool::start(Instant::now(), Duration::from_micros(200)).unwrap();
        pool.start_window((0, u64::MAX));
        pool.set_echo_running(true);
        pool.attach(Handoff {
            stream: client,
            buffered: Vec::new(),
            writer: Writer::new(5),
            duty: Duty::Echo { ack_id: 0 },
        })
        .unwrap();
        let mut read = ReadBuf::new(1024);
        for expected_id in 1..=4 {
            let (id, t) = next_echo(&mut server, &mut read);
            assert_eq!(id, expected_id);
            server.write_all(&ack(id, t)).unwrap();
        }
        // Echo 5 was sent in the pass that counted ack 4.
        let (id, t) = next_echo(&mut server, &mut read);
        assert_eq!(id, 5);
        assert_eq!(
            (pool.received(), pool.expected(), pool.in_flight()),
            (4, 5, 1)
        );
        // A new window forgets what was owed, not what is in flight.
        pool.start_window((0, u64::MAX));
        assert_eq!(
            (pool.received(), pool.expected(), pool.in_flight()),
            (0, 0, 1)
        );
        pool.set_echo_running(false);
        server.write_all(&ack(id, t)).unwrap();
        wait_for(&pool, |pool| pool.received() == 1);
        assert_eq!((pool.expected(), pool.in_flight()), (0, 0));
        let mut histogram = Histogram::default();
        pool.add_latencies_to(&mut histogram);
        assert_eq!(histogram.len(), 1);
        // Another client while echoes run: its first echo goes out on attach; the server drops it
        // unanswered, which takes its echo out of the count in flight.
        pool.set_echo_running(true);
        let (other, mut other_server) = socket_pair();
        pool.attach(Handoff {
            stream: other,
            buffered: Vec::new(),
            writer: Writer::new(9),
            duty: Duty::Echo { ack_id: 0 },
        })
        .unwrap();
        assert_eq!(next_echo(&mut other_server, &mut ReadBuf::new(1024)).0, 1);
        assert_eq!((pool.expected(), pool.in_flight()), (1, 1));
        drop(other_server);
        wait_for(&pool, |pool| pool.dropped() == 1);
        assert_eq!((pool.in_flight(), pool.attached()), (0, 1));
    }

    /// The whole loop over a real loopback socket: hand-over with buffered bytes, frames in odd pieces, a
    /// ping, then the server closing.
    #[test]
    fn the_pool_serves_a_handed_over_socket() {
        let (client, mut server) = socket_pair();
        let clock = Instant::now();
        let pool = ReceiverPool::start(clock, Duration::from_micros(200)).unwrap();
        pool.start_window((0, u64::MAX));
        let first = msg(1);
        pool.attach(Handoff {
            stream: client,
            buffered: first[..10].to_vec(),
            writer: Writer::new(3),
            duty: Duty::Receive { counts: true },
        })
        .unwrap();
        let mut stream = first[10..].to_vec();
        stream.extend((2..=100).flat_map(msg));
        stream.extend(frame(b"2"));
        for piece in stream.chunks(37) {
            server.write_all(piece).unwrap();
        }
        wait_for(&pool, |pool| pool.received() == 100);
        let mut answer = [0u8; 7];
        server.read_exact(&mut answer).unwrap();
        assert_eq!(client_texts(answer.to_vec()), vec![b"3".to_vec()]);
        let mut histogram = Histogram::default();
        pool.add_latencies_to(&mut histogram);
        assert_eq!(histogram.len(), 100);
        assert_eq!((pool.attached(), pool.dropped()), (1, 0));
        drop(server);
        wait_for(&pool, |pool| pool.dropped() == 1);
        assert_eq!(pool.attached(), 0);
        assert!(pool.first_error().is_some());
        let stats = pool.stats();
        assert_eq!(stats.frames, 101);
        assert!(stats.passes > 0 && stats.reads > 0);
    }
}
