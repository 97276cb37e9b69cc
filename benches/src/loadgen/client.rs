//! One Socket.IO client over websocket: Engine.IO open, Socket.IO connect (with the room in the auth),
//! pings answered, and the client's role in the scenario.
//!
//! A receiver or an echo client is served here only until its Socket.IO connect completed (Engine.IO
//! open received, `40` sent, `40` received); then its socket goes to the receiver pool
//! ([`super::receivers`]), when the scenario started one. An echo client is handed over before it sent
//! any echo: the pool sends the first one and runs the closed loop from there. Without a pool, the echo
//! loop runs here.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Interval, MissedTickBehavior};

use super::receivers::{Duty, Handoff};
use super::ws::{self, ReadBuf, Writer};
use super::{Shared, Target, echo_packet_len, find_t, push_payload, push_u64, write_echo_packet};

/// What a client does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Counts `msg` events.
    Receiver,
    /// Also sends `bcast` (or `room` emits, when there are rooms) at the shared rate.
    Publisher,
    /// Closed loop: `echo` with ack, the next one as soon as the ack arrives.
    Echo,
    /// Sends one `echo` with ack each time the shared trigger changes.
    Idle,
}

/// How one client is set up.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server.
    pub target: Rc<Target>,
    /// What it does.
    pub role: Role,
    /// Its room (sent as auth `{"room":"r<k>"}`), if the scenario has rooms.
    pub room: Option<usize>,
    /// Number of rooms the publisher cycles through (0: it sends `bcast`).
    pub rooms: usize,
    /// Whether its deliveries count (not the publisher's own on server A in the cluster scenario).
    pub counts: bool,
    /// Seeds its websocket masks.
    pub seed: u32,
}

impl Spec {
    /// The Socket.IO CONNECT packet for this client.
    pub fn connect_packet(&self) -> String {
        match self.room {
            Some(room) => format!("40{{\"room\":\"r{room}\"}}"),
            None => "40".to_owned(),
        }
    }
}

/// Runs a client until its connection ends; records the outcome in `shared`. `permit` bounds connects in
/// flight and is released once connected.
pub async fn run(spec: Spec, shared: Rc<Shared>, permit: OwnedSemaphorePermit) {
    let mut session = Session {
        spec,
        shared: shared.clone(),
        connected: false,
        permit: Some(permit),
        ack_id: 0,
        scratch: Vec::with_capacity(256),
        epoch: u64::MAX,
        epoch_start: 0,
        sent: 0,
        next_room: 0,
    };
    if let Err(error) = session.run().await {
        shared.note_error(&error);
        if session.connected {
            shared.dropped.set(shared.dropped.get() + 1);
        } else {
            shared.failed.set(shared.failed.get() + 1);
        }
    }
}

struct Session {
    spec: Spec,
    shared: Rc<Shared>,
    connected: bool,
    permit: Option<OwnedSemaphorePermit>,
    ack_id: u64,
    scratch: Vec<u8>,
    // Publisher schedule: `sent` publishes since `epoch_start` (µs) at the rate of `epoch`.
    epoch: u64,
    epoch_start: u64,
    sent: u64,
    next_room: usize,
}

impl Session {
    async fn run(&mut self) -> io::Result<()> {
        let path = format!("{}?EIO=4&transport=websocket", self.spec.target.path);
        let target = self.spec.target.clone();
        let (mut stream, mut read) = ws::connect(target.addr, &target.host, &path, 4096).await?;
        let mut writer = Writer::new(self.spec.seed);
        let mut tick: Option<Interval> = (self.spec.role == Role::Publisher).then(|| {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            tick
        });
        let mut trigger = self.shared.trigger.subscribe();
        let idle = self.spec.role == Role::Idle;
        // Frames may already be buffered (sent right after the 101).
        self.on_frames(&mut read, &mut writer)?;
        writer.flush(&mut stream).await?;
        loop {
            // A connected receiver or echo client goes to the receiver pool (every complete frame was
            // handled, every answer written: what is left in `read` is at most a partial frame).
            if self.connected
                && let Some(duty) = self.pool_duty()
                && let Some(pool) = self.shared.receivers.get()
            {
                let stream = stream.into_std()?;
                stream.set_nonblocking(true)?;
                return pool.attach(Handoff {
                    stream,
                    buffered: read.unconsumed().to_vec(),
                    writer,
                    duty,
                });
            }
            tokio::select! {
                n = read.fill(&mut stream) => {
                    if n? == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"));
                    }
                    self.on_frames(&mut read, &mut writer)?;
                }
                _ = tick_or_never(&mut tick), if self.connected => self.publish_due(&mut writer),
                changed = trigger.changed(), if idle && self.connected => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    self.send_echo(&mut writer);
                }
            }
            writer.flush(&mut stream).await?;
        }
    }

    /// What the receiver pool does with this client once it is handed over, if it is handed over.
    fn pool_duty(&self) -> Option<Duty> {
        match self.spec.role {
            Role::Receiver => Some(Duty::Receive {
                counts: self.spec.counts,
            }),
            Role::Echo => Some(Duty::Echo {
                ack_id: self.ack_id,
            }),
            Role::Publisher | Role::Idle => None,
        }
    }

    fn on_frames(&mut self, read: &mut ReadBuf, writer: &mut Writer) -> io::Result<()> {
        let now = self.shared.now_us();
        ws::on_frames(read, writer, |packet, writer| {
            self.on_packet(packet, now, writer)
        })
        .map(drop)
    }

    fn on_packet(&mut self, packet: &[u8], now: u64, writer: &mut Writer) -> io::Result<()> {
        match packet {
            [b'4', b'2', rest @ ..] if rest.starts_with(b"[\"msg\",") => match find_t(rest) {
                Some(t) if self.spec.counts => self.shared.record(t, now),
                _ => {}
            },
            [b'4', b'3', ..] => self.on_ack(packet, now, writer),
            [b'2'] => writer.text(b"3"),
            [b'0', ..] => writer.text(self.spec.connect_packet().as_bytes()),
            [b'4', b'0', ..] if !self.connected => self.on_connected(writer),
            [b'4', b'4', ..] | [b'4', b'1', ..] | [b'1', ..] => return Err(session_ended(packet)),
            _ => {}
        }
        Ok(())
    }

    fn on_connected(&mut self, writer: &mut Writer) {
        self.connected = true;
        self.permit = None;
        let shared = &self.shared;
        shared.connected.set(shared.connected.get() + 1);
        if self.spec.counts {
            let mut sizes = shared.room_sizes.borrow_mut();
            sizes[self.spec.room.unwrap_or(0)] += 1;
        }
        // With a receiver pool, the pool sends the first echo once this client is handed over.
        if self.spec.role == Role::Echo && self.shared.receivers.get().is_none() {
            self.send_echo(writer);
        }
    }

    fn on_ack(&mut self, packet: &[u8], now: u64, writer: &mut Writer) {
        let shared = &self.shared;
        shared
            .in_flight
            .set(shared.in_flight.get().saturating_sub(1));
        match self.spec.role {
            Role::Echo => {
                if let Some(t) = find_t(packet) {
                    shared.record(t, now);
                }
                if shared.echo_running.get() {
                    self.send_echo(writer);
                }
            }
            Role::Idle => shared.echo_answered.set(shared.echo_answered.get() + 1),
            _ => {}
        }
    }

    fn send_echo(&mut self, writer: &mut Writer) {
        self.ack_id += 1;
        let t = self.shared.now_us();
        let id = self.ack_id;
        writer.text_with(echo_packet_len(id, t), |out| write_echo_packet(out, id, t));
        let shared = &self.shared;
        shared.in_flight.set(shared.in_flight.get() + 1);
        if shared.in_window(t) {
            shared.expected.set(shared.expected.get() + 1);
        }
    }

    /// Sends what the schedule owes at the shared rate (at most a burst of 10 000 per tick).
    fn publish_due(&mut self, writer: &mut Writer) {
        let shared = self.shared.clone();
        let now = shared.now_us();
        if self.epoch != shared.rate_epoch.get() {
            (self.epoch, self.epoch_start, self.sent) = (shared.rate_epoch.get(), now, 0);
        }
        let due = ((now - self.epoch_start) as f64 * shared.rate.get() / 1e6) as u64;
        let burst = due.saturating_sub(self.sent).min(10_000);
        for _ in 0..burst {
            let t = shared.now_us();
            self.scratch.clear();
            let room = if self.spec.rooms > 0 {
                let room = self.next_room;
                self.next_room = (room + 1) % self.spec.rooms;
                self.scratch.extend_from_slice(b"42[\"room\",\"r");
                push_u64(&mut self.scratch, room as u64);
                self.scratch.extend_from_slice(b"\",");
                room
            } else {
                self.scratch.extend_from_slice(b"42[\"bcast\",");
                0
            };
            push_payload(&mut self.scratch, t);
            self.scratch.push(b']');
            writer.text(&self.scratch);
            if shared.in_window(t) {
                let owed = shared.room_sizes.borrow()[room];
                shared.expected.set(shared.expected.get() + owed);
            }
        }
        self.sent += burst;
    }
}

/// The error for a packet by which the server refused (`44`) or ended (`41`, Engine.IO `1`) the session.
pub(super) fn session_ended(packet: &[u8]) -> io::Error {
    io::Error::other(format!(
        "server refused or ended the session: {}",
        String::from_utf8_lossy(&packet[..packet.len().min(120)])
    ))
}

async fn tick_or_never(tick: &mut Option<Interval>) {
    match tick {
        Some(tick) => {
            tick.tick().await;
        }
        None => std::future::pending().await,
    }
}
