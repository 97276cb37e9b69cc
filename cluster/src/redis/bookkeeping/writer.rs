//! The writer task: drains the queue of operations and writes them to Redis in batches.
//!
//! Invariants:
//! - a batch is written in three phases: ownership first (`SADD` to the node set and the
//!   registry), then the socket and room sets, then the release of ownership (`SREM` from the node
//!   set). So at every moment each key this node wrote is reachable from its node set, and a
//!   sweeper that finds the node dead can find all of it;
//! - after any failed write, or an operation dropped on a full queue, or a heartbeat that found
//!   this node's registration gone, the writer *reconciles*: it brings Redis back to the mirror
//!   (writes what is missing, removes stale rooms and sockets of this node) before it writes
//!   anything else. Operations still queued then are dropped: the mirror holds their effect;
//! - a flush is answered once everything queued before it is written (or has failed).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::RedisResult;
use tokio::sync::{mpsc, oneshot};

use super::connection::{Command, strings};
use super::keys::{member, parse_member};
use super::{BookkeepingError, Shared, nodes};

/// The first wait after a failed reconcile; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The answer to a flush or stop.
pub(super) type Ack = oneshot::Sender<Result<(), BookkeepingError>>;

/// What the writer is asked to do.
pub(super) enum Op {
    /// Socket `sid` joined `room`.
    Join {
        nsp: String,
        sid: String,
        room: String,
    },
    /// Socket `sid` left `room`.
    Leave {
        nsp: String,
        sid: String,
        room: String,
    },
    /// Socket `sid` is gone; `rooms` are the rooms the mirror had for it.
    Remove {
        nsp: String,
        sid: String,
        rooms: Vec<String>,
    },
    /// Answer once everything before is written.
    Flush(Ack),
    /// Like [`Op::Flush`], then stop.
    Stop(Ack),
    /// Nothing: wakes the writer up to look at the resync flag.
    Wake,
}

/// Runs until [`Op::Stop`] or until every sender is gone.
pub(super) async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Op>) {
    let mut backoff = MIN_BACKOFF;
    let mut waiting: Vec<Ack> = Vec::new();
    let mut stop: Option<Ack> = None;
    let mut failing = false;
    loop {
        if shared.resync.swap(false, Ordering::AcqRel) {
            // Every operation queued now already shows in the mirror: keep only the controls.
            while let Ok(op) = rx.try_recv() {
                match op {
                    Op::Flush(ack) => waiting.push(ack),
                    Op::Stop(ack) => stop = Some(ack),
                    _ => {}
                }
            }
            let result = reconcile(&shared).await;
            match &result {
                Ok(()) => {
                    if failing {
                        tracing::info!(
                            node = %shared.node_id,
                            "bookkeeping: this node's state is written again"
                        );
                    }
                    failing = false;
                    backoff = MIN_BACKOFF;
                    shared.overflow_warned.store(false, Ordering::Relaxed);
                }
                Err(e) => {
                    shared.resync.store(true, Ordering::Release);
                    if !failing {
                        tracing::warn!(
                            node = %shared.node_id,
                            error = %e,
                            "bookkeeping: Redis write failed; will re-write this node's state"
                        );
                    }
                    failing = true;
                }
            }
            for ack in waiting.drain(..) {
                let _ = ack.send(result.clone().map_err(BookkeepingError::Redis));
            }
            if let Some(ack) = stop.take() {
                let _ = ack.send(result.map_err(BookkeepingError::Redis));
                return;
            }
            if failing {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            continue;
        }
        for ack in waiting.drain(..) {
            let _ = ack.send(Ok(()));
        }
        if let Some(ack) = stop.take() {
            let _ = ack.send(Ok(()));
            return;
        }
        let Some(first) = rx.recv().await else { return };
        let mut data = Vec::new();
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Op::Flush(ack) => waiting.push(ack),
                Op::Stop(ack) => stop = Some(ack),
                Op::Wake => {}
                op => data.push(op),
            }
            if stop.is_none() && data.len() < shared.config.max_batch {
                next = rx.try_recv().ok();
            }
        }
        if data.is_empty() {
            continue;
        }
        if let Err(e) = write(&shared, data).await {
            if !failing {
                tracing::warn!(
                    node = %shared.node_id,
                    error = %e,
                    "bookkeeping: batch not written; will re-write this node's state"
                );
            }
            failing = true;
            shared.resync.store(true, Ordering::Release);
        }
    }
}

/// Writes one batch of socket operations (no controls) in the three phases.
async fn write(shared: &Shared, data: Vec<Op>) -> RedisResult<()> {
    let keys = &shared.keys;
    // The rooms Redis has for the removed sockets, on top of the ones the mirror had.
    let reads: Vec<Command> = data
        .iter()
        .filter_map(|op| match op {
            Op::Remove { nsp, sid, .. } => {
                Some(Command::key_only("SMEMBERS", keys.socket(nsp, sid)))
            }
            _ => None,
        })
        .collect();
    let mut stored = shared.conn.run(reads).await?.into_iter().map(strings);

    let mut owned: HashMap<String, bool> = HashMap::new();
    let mut cmds = Vec::with_capacity(data.len() * 2);
    for op in data {
        match op {
            Op::Join { nsp, sid, room } => {
                cmds.push(Command::new("SADD", keys.room(&nsp, &room), &sid));
                cmds.push(Command::new("SADD", keys.socket(&nsp, &sid), &room));
                owned.insert(member(&nsp, &sid), true);
            }
            Op::Leave { nsp, sid, room } => {
                cmds.push(Command::new("SREM", keys.room(&nsp, &room), &sid));
                cmds.push(Command::new("SREM", keys.socket(&nsp, &sid), &room));
            }
            Op::Remove { nsp, sid, rooms } => {
                let mut all: HashSet<String> = rooms.into_iter().collect();
                all.extend(stored.next().unwrap_or_default());
                for room in all {
                    cmds.push(Command::new("SREM", keys.room(&nsp, &room), &sid));
                }
                cmds.push(Command::key_only("DEL", keys.socket(&nsp, &sid)));
                owned.insert(member(&nsp, &sid), false);
            }
            Op::Flush(_) | Op::Stop(_) | Op::Wake => {}
        }
    }
    let (added, released): (Vec<_>, Vec<_>) = owned.into_iter().partition(|(_, own)| *own);
    let added: Vec<String> = added.into_iter().map(|(m, _)| m).collect();
    let released: Vec<String> = released.into_iter().map(|(m, _)| m).collect();
    shared
        .conn
        .run_phases(vec![
            own_commands(shared, added),
            cmds,
            release_commands(shared, released),
        ])
        .await
}

/// Registers this node and records `members` as its own (nothing when there are none).
fn own_commands(shared: &Shared, members: Vec<String>) -> Vec<Command> {
    if members.is_empty() {
        return Vec::new();
    }
    vec![
        Command::new("SADD", shared.keys.nodes(), &shared.node_id),
        Command::new("SADD", shared.keys.node(&shared.node_id), members),
    ]
}

/// Removes `members` from this node's set (nothing when there are none).
fn release_commands(shared: &Shared, members: Vec<String>) -> Vec<Command> {
    if members.is_empty() {
        return Vec::new();
    }
    vec![Command::new(
        "SREM",
        shared.keys.node(&shared.node_id),
        members,
    )]
}

/// Brings Redis back to the mirror for this node's sockets.
async fn reconcile(shared: &Shared) -> RedisResult<()> {
    let keys = &shared.keys;
    let snapshot = shared.mirror.snapshot();
    let node_key = keys.node(&shared.node_id);

    // Sockets Redis says this node owns but the mirror no longer has.
    let listed = shared
        .conn
        .run(vec![Command::key_only("SMEMBERS", node_key)])
        .await?
        .into_iter()
        .flat_map(strings);
    let mine: HashSet<&str> = snapshot.iter().map(|(m, _)| m.as_str()).collect();
    let orphans: Vec<(String, Vec<String>)> = listed
        .filter(|m| !mine.contains(m.as_str()))
        .map(|m| (m, Vec::new()))
        .collect();
    for chunk in orphans.chunks(shared.config.max_batch) {
        nodes::clean_members(shared, &shared.node_id, chunk).await?;
    }

    // The mirror's sockets: drop the rooms Redis has in excess, write the rest again.
    for chunk in snapshot.chunks(shared.config.max_batch) {
        let parsed: Vec<(&str, &str, &Vec<String>)> = chunk
            .iter()
            .filter_map(|(m, rooms)| parse_member(m).map(|(nsp, sid)| (nsp, sid, rooms)))
            .collect();
        let reads = parsed
            .iter()
            .map(|(nsp, sid, _)| Command::key_only("SMEMBERS", keys.socket(nsp, sid)))
            .collect();
        let stored = shared.conn.run(reads).await?.into_iter().map(strings);
        let mut cmds = Vec::new();
        for ((nsp, sid, rooms), stored) in parsed.iter().zip(stored) {
            for stale in stored.iter().filter(|r| !rooms.contains(r)) {
                cmds.push(Command::new("SREM", keys.room(nsp, stale), *sid));
                cmds.push(Command::new("SREM", keys.socket(nsp, sid), stale));
            }
            if !rooms.is_empty() {
                cmds.push(Command::new("SADD", keys.socket(nsp, sid), *rooms));
            }
            for room in rooms.iter() {
                cmds.push(Command::new("SADD", keys.room(nsp, room), *sid));
            }
        }
        let members = chunk.iter().map(|(m, _)| m.clone()).collect();
        shared
            .conn
            .run_phases(vec![own_commands(shared, members), cmds])
            .await?;
    }
    Ok(())
}
