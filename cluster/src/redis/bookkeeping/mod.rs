//! Redis SET bookkeeping: which sockets are in which rooms, readable from any node.
//!
//! Optional state that only oxio reads and writes (no Node adapter knows these keys), so in a
//! mixed deployment it covers the sockets of oxio nodes only. It is switched off by not starting
//! it; [`Bookkeeping::disabled`] gives an inert handle where one is required.
//!
//! # Keys
//!
//! `K` is [`BookkeepingConfig::key`] (default `socket.io`), `N` a namespace name with its leading
//! slash (`/`, `/chat`). Every key is a SET unless said otherwise.
//!
//! | key | members |
//! |---|---|
//! | `K#N#s#<sid>` | the rooms socket `sid` is in (with its own id: a socket joins that room) |
//! | `K#N#r#<room>` | the ids of the sockets in `room` |
//! | `K#nodes` | the ids of the nodes that registered |
//! | `K#node#<id>` | the sockets node `id` owns, each as `N` + NUL + `sid` |
//! | `K#alive#<id>` | a string with a TTL of `node_ttl`: node `id` is alive while it exists |
//! | `K#sweep#<id>` | a string with a TTL: some node is sweeping node `id` |
//!
//! **Namespaces are kept apart by `N` in the key**: `/` and `/chat` never share a key, and since
//! `N` starts with a slash no socket or room key can equal `K#nodes` or a `K#node#…` key. Socket
//! and room keys differ by `s#`/`r#`, so a room named like a socket id is its own key.
//!
//! [`KeyLayout::ForkCompatible`] uses the literal keys of the original fork for the main
//! namespace only: `K#<sid>` (the socket's rooms) and `K#<room>` (a room's sockets). There a
//! socket's set and its own room are the same key, as in the fork, and a room named `nodes`,
//! `node#…`, `alive#…` or `sweep#…` would collide with the node keys. Other namespaces keep the
//! separated keys. All nodes sharing a `K` must use the same layout, or sweeps miss keys.
//!
//! # Writes
//!
//! [`Bookkeeping::joined`], [`left`](Bookkeeping::left) and [`removed`](Bookkeeping::removed)
//! update an in-memory mirror of this node's sockets and queue the operation on a bounded queue;
//! they never wait. A writer task drains the queue in batches of up to `max_batch` operations and
//! writes each batch as non-atomic pipelines in three phases: ownership (`SADD K#nodes`,
//! `SADD K#node#<id>`), then the socket and room sets, then the release of ownership
//! (`SREM K#node#<id>`). Hence the invariant the sweep relies on: **every socket key a node wrote
//! is listed in its node set**. On a Redis Cluster the keys of a batch live in many slots; a phase
//! is sent as one pipeline per slot, concurrently, which keeps the order of commands on each key.
//! Empty sets vanish in Redis, so a room no socket is in leaves no key.
//!
//! Writes are eventually visible: [`Bookkeeping::flush`] waits for everything queued before it.
//!
//! # Liveness and the sweep
//!
//! [`Bookkeeping::start`] and then a heartbeat every `heartbeat_interval` set `K#alive#<id>` with
//! a TTL of `node_ttl`, then (alive key first) add the id to `K#nodes`. A node not heard from for
//! `node_ttl` is dead: its alive key has expired (Redis's clock decides, not the nodes'). Every
//! `sweep_interval` (±20 %) each node:
//!
//! 1. reads `K#nodes` and checks `EXISTS K#alive#<id>` for every other id;
//! 2. for each dead id, takes `K#sweep#<id>` with `SET NX PX node_ttl` (skips it if another node
//!    holds it);
//! 3. repeatedly takes up to `max_batch` members of `K#node#<id>` (`SRANDMEMBER`), reads each
//!    socket's set, `SREM`s the socket from each of its rooms, `DEL`s the socket's set, and only
//!    then `SREM`s the members from the node set; before each round it checks the node is still
//!    dead, and it extends its lock after each round (it gives up, for a later sweep, if the set
//!    keeps growing: a node that still writes although its alive key is gone);
//! 4. when the node set is empty, checks once more that the node is dead, removes the id from
//!    `K#nodes` and deletes the node set and the lock.
//!
//! Every step is idempotent, so concurrent sweepers (for instance after a lock expired) are safe.
//! A node killed with SIGKILL thus leaves nothing behind after `node_ttl` + `sweep_interval`.
//!
//! # Graceful stop
//!
//! [`Bookkeeping::shutdown`] stops taking operations, stops the heartbeat and the sweeps (a sweep
//! under way finishes first, up to `node_ttl`), writes out the queue, removes every socket this
//! node owns (from the mirror and from its node set), then its node set, its alive key and its
//! registration: nothing of the node remains.
//! Dropping the handle without `shutdown` aborts the tasks and leaves the keys to the sweep, as a
//! crash would.
//!
//! # When Redis fails
//!
//! A failed batch, an operation dropped because the queue was full (`queue_capacity`; a warning
//! is logged), or a heartbeat that finds this node's alive key gone (Redis restarted empty, or the
//! node was taken for dead and swept) makes the writer *reconcile*: it drops what is still queued
//! (the mirror holds its effect), removes the sockets its node set lists that the mirror no
//! longer has, removes rooms Redis has in excess for the mirror's sockets, and writes the mirror
//! again. It retries with backoff (up to 2 s) until Redis answers. After a lost registration the
//! heartbeat asks for a second reconcile one beat later, to repair whatever a sweep running at
//! that moment removed. Reads fail while Redis is unreachable.
//!
//! # Invariants
//!
//! - Nothing here panics on input: names are opaque strings, replies of unexpected shape read as
//!   empty.
//! - Operations on one socket reach Redis in the order they were made (the mirror shard's lock is
//!   held while queuing).
//! - Only the writer, the heartbeat and `shutdown` write this node's keys; sweepers only delete.

mod config;
mod connection;
mod keys;
mod mirror;
mod nodes;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use config::{BookkeepingConfig, BookkeepingError, KeyLayout};
pub use connection::RedisConnection;

use connection::{Command, strings};
use keys::{Keys, member};
use mirror::Mirror;
use writer::Op;

/// What the handle and the tasks share.
struct Shared {
    conn: RedisConnection,
    node_id: String,
    keys: Keys,
    config: BookkeepingConfig,
    mirror: Mirror,
    tx: mpsc::Sender<Op>,
    /// The writer must bring Redis back to the mirror before writing anything else.
    resync: AtomicBool,
    /// No more operations are taken.
    closed: AtomicBool,
    /// A full queue was reported since the last successful reconcile.
    overflow_warned: AtomicBool,
}

impl Shared {
    /// Queues `op`; on a full queue drops it and asks for a resync.
    fn enqueue(&self, op: Op) {
        match self.tx.try_send(op) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.overflow_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        node = %self.node_id,
                        "bookkeeping: queue full, operations dropped; will re-write this node"
                    );
                }
                self.resync.store(true, Ordering::Release);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

#[derive(Default)]
struct Tasks {
    writer: Option<JoinHandle<()>>,
    /// The heartbeat and the sweep.
    background: Vec<JoinHandle<()>>,
    /// Tells the heartbeat and the sweep to stop.
    stop: Option<watch::Sender<bool>>,
}

/// The bookkeeping of one node: records its sockets' rooms in Redis, answers room queries for the
/// whole cluster, and sweeps up after dead nodes. See the [module docs](self).
pub struct Bookkeeping {
    shared: Option<Arc<Shared>>,
    tasks: Mutex<Tasks>,
}

impl std::fmt::Debug for Bookkeeping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bookkeeping")
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

impl Bookkeeping {
    /// Registers node `node_id` (unique among the nodes sharing `config.key`) and starts its
    /// writer, heartbeat and sweep tasks on the current Tokio runtime. Never fails: when Redis
    /// cannot be reached, the heartbeat keeps trying and the state is written once it answers.
    pub async fn start(
        connection: RedisConnection,
        node_id: impl Into<String>,
        config: BookkeepingConfig,
    ) -> Arc<Self> {
        let config = config.sanitized();
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared {
            conn: connection,
            node_id: node_id.into(),
            keys: Keys::new(&config.key, config.layout),
            config,
            mirror: Mirror::new(),
            tx,
            resync: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            overflow_warned: AtomicBool::new(false),
        });
        if let Err(e) = nodes::heartbeat(&shared).await {
            tracing::warn!(
                node = %shared.node_id,
                error = %e,
                "bookkeeping: cannot register this node yet"
            );
        }
        let (stop, stopped) = watch::channel(false);
        let tasks = Tasks {
            writer: Some(tokio::spawn(writer::run(shared.clone(), rx))),
            background: vec![
                tokio::spawn(nodes::heartbeat_loop(shared.clone(), stopped.clone())),
                tokio::spawn(nodes::sweep_loop(shared.clone(), stopped)),
            ],
            stop: Some(stop),
        };
        Arc::new(Self {
            shared: Some(shared),
            tasks: Mutex::new(tasks),
        })
    }

    /// A switched-off bookkeeping: operations do nothing, queries fail with
    /// [`BookkeepingError::Disabled`].
    pub fn disabled() -> Arc<Self> {
        Arc::new(Self {
            shared: None,
            tasks: Mutex::new(Tasks::default()),
        })
    }

    /// False for [`Bookkeeping::disabled`].
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// This node's id; `None` when switched off.
    pub fn node_id(&self) -> Option<&str> {
        self.shared.as_deref().map(|s| s.node_id.as_str())
    }

    /// Records that local socket `sid` of namespace `nsp` joined `room`. Returns at once.
    pub fn joined(&self, nsp: &str, sid: &str, room: &str) {
        let Some(s) = &self.shared else { return };
        let m = member(nsp, sid);
        let mut shard = s.mirror.lock(&m);
        if s.closed.load(Ordering::Acquire) {
            return;
        }
        if !shard.entry(m).or_default().insert(room.to_owned()) {
            return;
        }
        s.enqueue(Op::Join {
            nsp: nsp.to_owned(),
            sid: sid.to_owned(),
            room: room.to_owned(),
        });
    }

    /// Records that local socket `sid` of namespace `nsp` left `room`. Returns at once.
    pub fn left(&self, nsp: &str, sid: &str, room: &str) {
        let Some(s) = &self.shared else { return };
        let m = member(nsp, sid);
        let mut shard = s.mirror.lock(&m);
        if s.closed.load(Ordering::Acquire) {
            return;
        }
        if !shard.get_mut(&m).is_some_and(|rooms| rooms.remove(room)) {
            return;
        }
        s.enqueue(Op::Leave {
            nsp: nsp.to_owned(),
            sid: sid.to_owned(),
            room: room.to_owned(),
        });
    }

    /// Records that local socket `sid` of namespace `nsp` is gone: it leaves all its rooms and its
    /// set is deleted. Returns at once.
    pub fn removed(&self, nsp: &str, sid: &str) {
        let Some(s) = &self.shared else { return };
        let m = member(nsp, sid);
        let mut shard = s.mirror.lock(&m);
        if s.closed.load(Ordering::Acquire) {
            return;
        }
        let Some(rooms) = shard.remove(&m) else {
            return;
        };
        s.enqueue(Op::Remove {
            nsp: nsp.to_owned(),
            sid: sid.to_owned(),
            rooms: rooms.into_iter().collect(),
        });
    }

    /// The ids of the sockets in `room` of namespace `nsp`, on every node (unordered).
    pub async fn sockets_in(&self, nsp: &str, room: &str) -> Result<Vec<String>, BookkeepingError> {
        let s = self.shared.as_ref().ok_or(BookkeepingError::Disabled)?;
        self.members(Command::key_only("SMEMBERS", s.keys.room(nsp, room)))
            .await
    }

    /// The rooms socket `sid` of namespace `nsp` is in, whichever node holds it (unordered).
    pub async fn rooms_of(&self, nsp: &str, sid: &str) -> Result<Vec<String>, BookkeepingError> {
        let s = self.shared.as_ref().ok_or(BookkeepingError::Disabled)?;
        self.members(Command::key_only("SMEMBERS", s.keys.socket(nsp, sid)))
            .await
    }

    async fn members(&self, cmd: Command) -> Result<Vec<String>, BookkeepingError> {
        let s = self.shared.as_ref().ok_or(BookkeepingError::Disabled)?;
        let reply = s.conn.run(vec![cmd]).await?;
        Ok(reply.into_iter().flat_map(strings).collect())
    }

    /// Waits until every operation made before this call is written to Redis (or has failed, and
    /// the state could not be re-written: then the error).
    pub async fn flush(&self) -> Result<(), BookkeepingError> {
        let s = self.shared.as_ref().ok_or(BookkeepingError::Disabled)?;
        if s.closed.load(Ordering::Acquire) {
            return Err(BookkeepingError::Closed);
        }
        let (ack, done) = oneshot::channel();
        s.tx.send(Op::Flush(ack))
            .await
            .map_err(|_| BookkeepingError::Closed)?;
        done.await.map_err(|_| BookkeepingError::Closed)?
    }

    /// Sweeps the dead nodes now instead of at the next sweep interval. Returns how many nodes
    /// it swept.
    pub async fn sweep_now(&self) -> Result<usize, BookkeepingError> {
        let s = self.shared.as_ref().ok_or(BookkeepingError::Disabled)?;
        Ok(nodes::sweep_once(s).await?)
    }

    /// Stops this node's bookkeeping and removes everything it wrote (see the
    /// [module docs](self#graceful-stop)). Later operations are ignored; a second call does
    /// nothing. Fails when Redis could not be reached; the sweep of the other nodes then removes
    /// the rest after `node_ttl`.
    pub async fn shutdown(&self) -> Result<(), BookkeepingError> {
        let Some(s) = &self.shared else {
            return Ok(());
        };
        if s.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Whoever queued an operation before `closed` was set has done so by now.
        s.mirror.barrier();
        let (writer, background, stop) = {
            let mut tasks = self.tasks.lock();
            let background = std::mem::take(&mut tasks.background);
            (tasks.writer.take(), background, tasks.stop.take())
        };
        if let Some(stop) = stop {
            let _ = stop.send(true);
        }
        // A sweep under way may finish (and release its lock), within reason.
        let patience = s.config.node_ttl;
        for mut task in background {
            if tokio::time::timeout(patience, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        let (ack, done) = oneshot::channel();
        let flushed = match s.tx.send(Op::Stop(ack)).await {
            Ok(()) => done.await.unwrap_or(Err(BookkeepingError::Closed)),
            Err(_) => Err(BookkeepingError::Closed),
        };
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        if let Err(e) = flushed {
            tracing::warn!(
                node = %s.node_id,
                error = %e,
                "bookkeeping: queue not fully written before shutdown"
            );
        }
        nodes::remove_own(s).await?;
        s.mirror.clear();
        Ok(())
    }
}

impl Drop for Bookkeeping {
    /// Aborts the tasks without removing anything: the other nodes' sweeps do that.
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut();
        if let Some(w) = tasks.writer.take() {
            w.abort();
        }
        for t in tasks.background.drain(..) {
            t.abort();
        }
    }
}
