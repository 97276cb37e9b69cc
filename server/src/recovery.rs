//! Connection state recovery (socket.io 4.6+): a client that reconnects within
//! `max_disconnection_duration` gets its socket id, its rooms, and the broadcasts it missed.
//!
//! Each namespace keeps, when recovery is on:
//! - the broadcasts of the last `max_disconnection_duration` (events without ack, not volatile),
//!   each with an offset that is also appended as the event's last argument, so the client knows
//!   the last one it processed (Node's wire format);
//! - the sessions of sockets that disconnected for a recoverable reason, by private id (`pid`).
//!
//! A restore takes the session out (it is used once) and yields the stored broadcasts after the
//! client's offset that the session's rooms would have received. Both tables drop what is older
//! than `max_disconnection_duration` as new entries arrive, so their size is bounded by the
//! traffic of that window.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oxio_cluster::Room;
use parking_lot::Mutex;
use smallvec::SmallVec;

use crate::encode::EncodedPacket;
use crate::reason::DisconnectReason;

/// Connection state recovery options (Node's `connectionStateRecovery`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long after a disconnection the state can be recovered. Default 2 minutes. Longer keeps
    /// more broadcasts in memory.
    pub max_disconnection_duration: Duration,
    /// Whether a recovered connection skips the connect middlewares. Default true.
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

/// Whether a socket that disconnected for `reason` keeps a recoverable session (as in Node).
pub(crate) fn is_recoverable(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::TransportError
            | DisconnectReason::TransportClose
            | DisconnectReason::ForcedClose
            | DisconnectReason::PingTimeout
            | DisconnectReason::ServerShuttingDown
    )
}

struct StoredBroadcast {
    offset: String,
    rooms: SmallVec<[Room; 2]>,
    except: SmallVec<[Room; 2]>,
    packet: EncodedPacket,
    at: Instant,
}

struct PersistedSession {
    sid: Room,
    rooms: Vec<Room>,
    at: Instant,
}

/// A restored session.
pub(crate) struct Restored {
    pub(crate) sid: Room,
    pub(crate) rooms: Vec<Room>,
    pub(crate) missed: Vec<EncodedPacket>,
}

/// The recovery tables of one namespace.
pub(crate) struct SessionStore {
    config: RecoveryConfig,
    sessions: Mutex<HashMap<String, PersistedSession>>,
    broadcasts: Mutex<VecDeque<StoredBroadcast>>,
    /// Offsets are `<process start in ms, base 36>-<counter>`: unique within the process.
    epoch: String,
    counter: AtomicU64,
}

impl SessionStore {
    pub(crate) fn new(config: RecoveryConfig) -> SessionStore {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        SessionStore {
            config,
            sessions: Mutex::default(),
            broadcasts: Mutex::default(),
            epoch: base36(millis),
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> RecoveryConfig {
        self.config
    }

    /// A new broadcast offset.
    pub(crate) fn next_offset(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}", self.epoch, base36(n))
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.duration_since(at) > self.config.max_disconnection_duration
    }

    /// Keeps a broadcast for clients that may come back.
    pub(crate) fn store(
        &self,
        offset: String,
        rooms: &[Room],
        except: &[Room],
        packet: &EncodedPacket,
    ) {
        let now = Instant::now();
        let mut broadcasts = self.broadcasts.lock();
        while broadcasts.front().is_some_and(|b| self.expired(b.at, now)) {
            broadcasts.pop_front();
        }
        broadcasts.push_back(StoredBroadcast {
            offset,
            rooms: rooms.iter().cloned().collect(),
            except: except.iter().cloned().collect(),
            packet: packet.clone(),
            at: now,
        });
    }

    /// Keeps the session of a socket that disconnected for a recoverable reason.
    pub(crate) fn persist(&self, pid: &str, sid: Room, rooms: Vec<Room>) {
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        sessions.retain(|_, session| !self.expired(session.at, now));
        sessions.insert(
            pid.to_owned(),
            PersistedSession {
                sid,
                rooms,
                at: now,
            },
        );
    }

    /// The session of `pid` with the broadcasts after `offset` it would have received, if the
    /// session is still recoverable and the offset is still known.
    pub(crate) fn restore(&self, pid: &str, offset: &str) -> Option<Restored> {
        let session = self.sessions.lock().remove(pid)?;
        if self.expired(session.at, Instant::now()) {
            return None;
        }
        let broadcasts = self.broadcasts.lock();
        let index = broadcasts.iter().position(|b| b.offset == offset)?;
        let missed = broadcasts
            .iter()
            .skip(index + 1)
            .filter(|b| reaches(&session.rooms, &b.rooms, &b.except))
            .map(|b| b.packet.clone())
            .collect();
        Some(Restored {
            sid: session.sid,
            rooms: session.rooms,
            missed,
        })
    }
}

/// Whether a broadcast to `rooms` minus `except` reaches a socket in `socket_rooms` (Node's
/// `shouldIncludePacket`).
fn reaches(socket_rooms: &[Room], rooms: &[Room], except: &[Room]) -> bool {
    let included = rooms.is_empty() || rooms.iter().any(|r| socket_rooms.contains(r));
    let excluded = except.iter().any(|r| socket_rooms.contains(r));
    included && !excluded
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;

    fn packet() -> EncodedPacket {
        encode::disconnect(encode::Parser::Default, "/")
    }

    #[test]
    fn restores_rooms_and_missed_broadcasts_after_the_offset() {
        let store = SessionStore::new(RecoveryConfig::default());
        let first = store.next_offset();
        store.store(first.clone(), &[], &[], &packet());
        store.persist("pid", "sid".into(), vec!["sid".into(), "a".into()]);
        store.store(store.next_offset(), &["a".into()], &[], &packet());
        store.store(store.next_offset(), &["b".into()], &[], &packet());
        store.store(store.next_offset(), &[], &["a".into()], &packet());
        store.store(store.next_offset(), &[], &[], &packet());
        let restored = store.restore("pid", &first).expect("recoverable");
        assert_eq!(&*restored.sid, "sid");
        assert_eq!(
            restored.missed.len(),
            2,
            "room a, then the broadcast to all"
        );
        assert!(
            store.restore("pid", &first).is_none(),
            "a session is used once"
        );
    }

    #[test]
    fn unknown_offset_or_expired_session_is_not_recovered() {
        let store = SessionStore::new(RecoveryConfig {
            max_disconnection_duration: Duration::ZERO,
            skip_middlewares: true,
        });
        let offset = store.next_offset();
        store.store(offset.clone(), &[], &[], &packet());
        store.persist("pid", "sid".into(), vec![]);
        std::thread::sleep(Duration::from_millis(2));
        assert!(store.restore("pid", &offset).is_none());
        let fresh = SessionStore::new(RecoveryConfig::default());
        fresh.persist("pid", "sid".into(), vec![]);
        assert!(fresh.restore("pid", "nope").is_none());
    }

    #[test]
    fn offsets_are_unique_and_ascii() {
        let store = SessionStore::new(RecoveryConfig::default());
        assert_ne!(store.next_offset(), store.next_offset());
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36), "10");
    }
}
