//! The load generator behind `src/bin/loadgen.rs`: Engine.IO v4 + Socket.IO v5 clients over a minimal
//! websocket client (and HTTP long-polling), driving the scenarios of the bench contract
//! (`shared/bench-contract.md`).
//!
//! Two threads, pinned together to one core by the caller (`taskset`):
//! - a current-thread tokio runtime in one `LocalSet` runs the scenario driver, every connect and
//!   handshake, the publisher, the idle and long-polling clients. Its shared state is
//!   `Cell`/`RefCell` in one [`Shared`];
//! - the receiver pool ([`receivers`]) serves the websocket receivers and the echo clients once they
//!   are connected: one `mio` loop whose passes are paced (at most one per receive interval), so that
//!   one read returns many deliveries; it also runs the echo clients' closed loop. It counts into its
//!   own tally, which [`Shared`] merges with its own counts (window, received, expected, echoes in
//!   flight, latencies, drops) when the driver asks.
//!
//! Latency is receipt time minus the `t` stamped into the payload by the publisher, both on this
//! process's clock (µs since [`Shared`] was made, the pool's clock included).

pub mod client;
pub mod histogram;
pub mod options;
pub mod polling;
pub mod procstat;
pub mod receivers;
pub mod scenarios;
pub mod ws;

use std::cell::{Cell, OnceCell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use histogram::Histogram;
use oxio_protocol::decimal;
use receivers::ReceiverPool;

/// The padding literal, for `concat!`.
macro_rules! pad {
    () => {
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    };
}

/// The 64 bytes of padding in every payload.
pub const PAD: &str = pad!();

/// Where a client connects: a resolved loopback address, the Host header and the Socket.IO path.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resolved address (always loopback).
    pub addr: SocketAddr,
    /// `host:port` as given, for the Host header.
    pub host: String,
    /// The Engine.IO path, `/socket.io/` unless the URL has one.
    pub path: String,
}

impl Target {
    /// Parses `http://host:port[/path/]` (or `ws://`, or bare `host:port`) and resolves it; refuses any
    /// address outside the loopback range: this tool only ever loads servers on this machine.
    pub async fn resolve(url: &str) -> io::Result<Target> {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let (host, path) = match rest.split_once('/') {
            Some((host, path)) if !path.trim_matches('/').is_empty() => {
                (host, format!("/{}/", path.trim_matches('/')))
            }
            Some((host, _)) => (host, "/socket.io/".to_owned()),
            None => (rest, "/socket.io/".to_owned()),
        };
        let addr = tokio::net::lookup_host(host)
            .await?
            .find(|a| a.ip().is_loopback())
            .ok_or_else(|| io::Error::other(format!("{host} is not a loopback address")))?;
        Ok(Target {
            addr,
            host: host.to_owned(),
            path,
        })
    }
}

/// State shared by every client task and the scenario driver (single-threaded).
#[derive(Debug)]
pub struct Shared {
    clock: Instant,
    /// The measured window `[start, end)` in µs; payloads stamped inside it are counted.
    pub window: Cell<(u64, u64)>,
    /// Latencies (µs) of counted deliveries or round trips on this thread (the receiver pool has its
    /// own: see [`Shared::window_latencies`]).
    pub histogram: RefCell<Histogram>,
    /// Deliveries (or round trips) counted in the window on this thread (all of them:
    /// [`Shared::received_in_window`]).
    pub received: Cell<u64>,
    /// Deliveries (or round trips) owed for what was sent in the window, on this thread (all of them:
    /// [`Shared::expected_in_window`]).
    pub expected: Cell<u64>,
    /// Clients whose Socket.IO connect completed.
    pub connected: Cell<usize>,
    /// Clients that failed before connecting.
    pub failed: Cell<usize>,
    /// Clients that lost their connection after connecting, on this thread (all of them:
    /// [`Shared::dropped_in_all`]).
    pub dropped: Cell<usize>,
    /// The first error seen on this thread, for the report (or the pool's: [`Shared::any_error`]).
    pub first_error: RefCell<Option<String>>,
    /// The receiver pool that connected receivers and echo clients go to, if the scenario started one.
    pub receivers: OnceCell<ReceiverPool>,
    /// The publisher's rate in publishes per second (0: paused).
    pub rate: Cell<f64>,
    /// Bumped on every rate change, so the publisher restarts its schedule.
    pub rate_epoch: Cell<u64>,
    /// Echo clients on this thread keep sending while this is set (set both this and the pool's
    /// with [`Shared::set_echo_running`]).
    pub echo_running: Cell<bool>,
    /// Echoes sent and not yet answered on this thread (all of them: [`Shared::in_flight_in_all`]).
    pub in_flight: Cell<u64>,
    /// Acks received by idle clients after the trigger (connect scenario).
    pub echo_answered: Cell<u64>,
    /// Counting clients connected per room (index 0 when there are no rooms).
    pub room_sizes: RefCell<Vec<u64>>,
    /// Idle clients send one echo each time this changes.
    pub trigger: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    /// Fresh state with `rooms` rooms (0: none); the clock starts now.
    pub fn new(rooms: usize) -> Self {
        Self {
            clock: Instant::now(),
            window: Cell::new((u64::MAX, u64::MAX)),
            histogram: RefCell::new(Histogram::default()),
            received: Cell::new(0),
            expected: Cell::new(0),
            connected: Cell::new(0),
            failed: Cell::new(0),
            dropped: Cell::new(0),
            first_error: RefCell::new(None),
            rate: Cell::new(0.0),
            rate_epoch: Cell::new(0),
            echo_running: Cell::new(false),
            in_flight: Cell::new(0),
            echo_answered: Cell::new(0),
            room_sizes: RefCell::new(vec![0; rooms.max(1)]),
            trigger: tokio::sync::watch::channel(0).0,
            receivers: OnceCell::new(),
        }
    }

    /// Starts the receiver pool (on this clock), pacing its passes to one per `interval`; receivers and
    /// echo clients that connect from now on are handed to it.
    pub fn start_receiver_pool(&self, interval: Duration) -> io::Result<()> {
        let pool = ReceiverPool::start(self.clock, interval)?;
        self.receivers
            .set(pool)
            .map_err(|_| io::Error::other("the receiver pool was already started"))
    }

    /// µs since the load generator started.
    #[inline]
    pub fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }

    /// Whether a payload stamped `t` belongs to the measured window.
    #[inline]
    pub fn in_window(&self, t: u64) -> bool {
        let (start, end) = self.window.get();
        t >= start && t < end
    }

    /// Counts one delivery of a payload stamped `t` received at `now`, if it is in the window.
    #[inline]
    pub fn record(&self, t: u64, now: u64) {
        if self.in_window(t) {
            self.histogram.borrow_mut().record(now.saturating_sub(t));
            self.received.set(self.received.get() + 1);
        }
    }

    /// Opens a new measured window of `duration_us` from now, forgetting the previous one (here and in
    /// the receiver pool).
    pub fn start_window(&self, duration_us: u64) {
        self.histogram.borrow_mut().clear();
        self.received.set(0);
        self.expected.set(0);
        let now = self.now_us();
        self.window.set((now, now + duration_us));
        if let Some(pool) = self.receivers.get() {
            pool.start_window((now, now + duration_us));
        }
    }

    /// Deliveries (or round trips) counted in the window, by this thread and by the receiver pool.
    pub fn received_in_window(&self) -> u64 {
        self.received.get() + self.receivers.get().map_or(0, ReceiverPool::received)
    }

    /// Deliveries (or round trips) owed for what was sent in the window, by this thread and by the
    /// receiver pool (its echo clients).
    pub fn expected_in_window(&self) -> u64 {
        self.expected.get() + self.receivers.get().map_or(0, ReceiverPool::expected)
    }

    /// Echoes sent and not yet answered, by this thread and by the receiver pool.
    pub fn in_flight_in_all(&self) -> u64 {
        self.in_flight.get() + self.receivers.get().map_or(0, ReceiverPool::in_flight)
    }

    /// Starts or stops the echo clients, here and in the receiver pool.
    pub fn set_echo_running(&self, running: bool) {
        self.echo_running.set(running);
        if let Some(pool) = self.receivers.get() {
            pool.set_echo_running(running);
        }
    }

    /// The latencies of the window, recorded by this thread and by the receiver pool.
    pub fn window_latencies(&self) -> Histogram {
        let mut histogram = self.histogram.borrow().clone();
        if let Some(pool) = self.receivers.get() {
            pool.add_latencies_to(&mut histogram);
        }
        histogram
    }

    /// Clients that lost their connection after connecting, on this thread or in the receiver pool.
    pub fn dropped_in_all(&self) -> usize {
        self.dropped.get() + self.receivers.get().map_or(0, ReceiverPool::dropped)
    }

    /// The first error this thread saw, else the first one the receiver pool saw.
    pub fn any_error(&self) -> Option<String> {
        let own = self.first_error.borrow().clone();
        own.or_else(|| self.receivers.get().and_then(ReceiverPool::first_error))
    }

    /// Sets the publisher's rate (publishes per second).
    pub fn set_rate(&self, rate: f64) {
        self.rate.set(rate);
        self.rate_epoch.set(self.rate_epoch.get() + 1);
    }

    /// Notes an error (the first one is kept for the report).
    pub fn note_error(&self, error: &io::Error) {
        let mut first = self.first_error.borrow_mut();
        if first.is_none() {
            *first = Some(error.to_string());
        }
    }
}

/// What a payload holds before its `t`.
const PAYLOAD_HEAD: &[u8] = b"{\"t\":";
/// What a payload holds after its `t`.
const PAYLOAD_TAIL: &[u8] = concat!(",\"p\":\"", pad!(), "\"}").as_bytes();
/// What an echo packet holds between its ack id and its payload.
const ECHO_HEAD: &[u8] = b"[\"echo\",";

/// Appends `n` in decimal (see [`decimal`]).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    let start = out.len();
    out.resize(start + decimal::len(n), 0);
    decimal::write(&mut out[start..], n);
}

/// Writes `bytes` at the start of `out` and returns the rest of `out`.
#[inline]
fn put<'a>(out: &'a mut [u8], bytes: &[u8]) -> &'a mut [u8] {
    let (head, rest) = out.split_at_mut(bytes.len());
    head.copy_from_slice(bytes);
    rest
}

/// Writes `n` in decimal at the start of `out` and returns the rest of `out`.
#[inline]
fn put_u64(out: &mut [u8], n: u64) -> &mut [u8] {
    let (digits, rest) = out.split_at_mut(decimal::len(n));
    decimal::write(digits, n);
    rest
}

/// Appends `{"t":<t>,"p":"<64 bytes>"}`.
#[inline]
pub fn push_payload(out: &mut Vec<u8>, t: u64) {
    out.extend_from_slice(PAYLOAD_HEAD);
    push_u64(out, t);
    out.extend_from_slice(PAYLOAD_TAIL);
}

/// The length of what [`push_payload`] appends for `t`.
#[inline]
pub fn payload_len(t: u64) -> usize {
    PAYLOAD_HEAD.len() + decimal::len(t) + PAYLOAD_TAIL.len()
}

/// Writes the echo packet `42<id>["echo",{"t":<t>,"p":"<64 bytes>"}]` into `out`, which must be
/// [`echo_packet_len(id, t)`](echo_packet_len) bytes long (the receiver pool builds it in place in
/// its connection's write queue, see [`ws::Writer::text_with`]).
///
/// # Panics
/// If `out` is shorter; a longer `out` is not filled to the end.
#[inline]
pub fn write_echo_packet(out: &mut [u8], id: u64, t: u64) {
    let out = put(out, b"42");
    let out = put_u64(out, id);
    let out = put(out, ECHO_HEAD);
    let out = put(out, PAYLOAD_HEAD);
    let out = put_u64(out, t);
    let out = put(out, PAYLOAD_TAIL);
    put(out, b"]");
}

/// The length of the echo packet [`write_echo_packet`] writes for `id` and `t`.
#[inline]
pub fn echo_packet_len(id: u64, t: u64) -> usize {
    2 + decimal::len(id) + ECHO_HEAD.len() + payload_len(t) + 1
}

/// The `t` of the first payload in a packet.
#[inline]
pub fn find_t(packet: &[u8]) -> Option<u64> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"t\":"));
    let at = FINDER.find(packet)? + 4;
    leading_u64(&packet[at..])
}

/// The `t` of an ack, `43<id>[{"t":<t>,..}]`: where the server answered with the payload as it was
/// sent, `t` is read in place without a search; otherwise as [`find_t`] finds it.
#[inline]
pub fn ack_t(packet: &[u8]) -> Option<u64> {
    let rest = packet.strip_prefix(b"43").unwrap_or(packet);
    let id_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    match rest[id_len..].strip_prefix(b"[") {
        Some(payload) if payload.starts_with(PAYLOAD_HEAD) => {
            leading_u64(&payload[PAYLOAD_HEAD.len()..])
        }
        _ => find_t(packet),
    }
}

/// The decimal number `bytes` starts with (at most 19 digits).
#[inline]
fn leading_u64(digits: &[u8]) -> Option<u64> {
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 19 {
        return None;
    }
    Some(
        digits[..len]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let mut out = b"42[\"msg\",".to_vec();
        push_payload(&mut out, 123_456);
        out.push(b']');
        assert_eq!(find_t(&out), Some(123_456));
        assert_eq!(find_t(b"42[\"msg\",{}]"), None);
        let mut formatted = format!("{{\"t\":123456,\"p\":\"{PAD}\"}}").into_bytes();
        assert_eq!(out[9..out.len() - 1], formatted[..]);
        assert_eq!(payload_len(123_456), formatted.len());
        formatted.clear();
        push_payload(&mut formatted, 0);
        assert_eq!(payload_len(0), formatted.len());
    }

    #[test]
    fn integers_are_appended_as_to_string_writes_them() {
        // Every length; the digits themselves are `oxio_protocol::decimal`'s, tested there.
        for n in (0..20).map(|exp| 10u64.pow(exp) - 1).chain([u64::MAX]) {
            let mut out = b"x".to_vec();
            push_u64(&mut out, n);
            assert_eq!(out[1..], *n.to_string().as_bytes(), "{n}");
        }
    }

    #[test]
    fn echo_packets_are_the_formatted_ones() {
        for (id, t) in [
            (0, 0),
            (1, 9),
            (10, 123_456),
            (999, 10),
            (u64::MAX, u64::MAX),
        ] {
            let mut out = vec![0; echo_packet_len(id, t)];
            write_echo_packet(&mut out, id, t);
            let expected = format!("42{id}[\"echo\",{{\"t\":{t},\"p\":\"{PAD}\"}}]");
            assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
            assert_eq!(echo_packet_len(id, t), expected.len());
        }
    }

    #[test]
    fn acks_give_their_stamp() {
        let mut ack = b"4317[".to_vec();
        push_payload(&mut ack, 98_765);
        ack.push(b']');
        assert_eq!(ack_t(&ack), Some(98_765));
        // Not in the expected place: searched for.
        assert_eq!(ack_t(b"4317[{\"p\":\"x\",\"t\":5}]"), Some(5));
        assert_eq!(ack_t(b"43[{\"t\":6}]"), Some(6));
        assert_eq!(ack_t(b"4317[{\"t\":x}]"), None);
        assert_eq!(ack_t(b"4317[]"), None);
    }

    #[tokio::test]
    async fn targets() {
        let t = Target::resolve("http://127.0.0.1:3000").await.unwrap();
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:3000", "/socket.io/")
        );
        let t = Target::resolve("ws://localhost:3001/engine.io/")
            .await
            .unwrap();
        assert_eq!(t.path, "/engine.io/");
        assert!(t.addr.ip().is_loopback());
        assert!(Target::resolve("10.0.0.1:80").await.is_err());
    }
}
