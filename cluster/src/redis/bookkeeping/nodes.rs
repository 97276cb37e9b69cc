//! Node liveness: the heartbeat, the sweep of dead nodes, and the removal of a node's sockets.
//!
//! Invariants:
//! - a node is alive while its key `{K}#alive#{id}` exists; the heartbeat sets it with a TTL of
//!   `node_ttl` (`SET … PX … GET`), so liveness is judged by Redis's clock alone;
//! - every step of a sweep is idempotent (`SREM`, `DEL`), so sweepers that race do no harm; the
//!   per-node lock only saves duplicate work;
//! - a sweeper checks that the node is still dead before every batch and before it unregisters
//!   the node, so a node that comes back stops the sweep within one batch (and re-writes itself,
//!   see the writer's reconcile).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::{RedisResult, Value};
use tokio::sync::watch;

use super::connection::{Command, strings};
use super::keys::parse_member;
use super::{Shared, writer::Op};

/// Sets this node's alive key and registers it. Returns true when the alive key was missing
/// (first start, Redis lost its data, or this node was taken for dead).
pub(super) async fn heartbeat(shared: &Shared) -> RedisResult<bool> {
    let keys = &shared.keys;
    // The alive key first: a registered node without one counts as dead.
    let set = Command::new("SET", keys.alive(&shared.node_id), "1").with_args((
        "PX",
        shared.config.ttl_ms(),
        "GET",
    ));
    let previous = shared.conn.run(vec![set]).await?;
    let register = Command::new("SADD", keys.nodes(), &shared.node_id);
    shared.conn.run(vec![register]).await?;
    Ok(matches!(previous.first(), Some(Value::Nil) | None))
}

/// Asks the writer to bring Redis back to the mirror.
pub(super) fn request_resync(shared: &Shared) {
    shared.resync.store(true, Ordering::Release);
    let _ = shared.tx.try_send(Op::Wake);
}

/// The heartbeat task: beats every `heartbeat_interval`, and asks for a resync when this node's
/// registration was gone (twice: a sweep that was running may have undone part of the first).
pub(super) async fn heartbeat_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(shared.config.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut again = false;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match heartbeat(&shared).await {
            Ok(lost) => {
                if lost {
                    tracing::warn!(
                        node = %shared.node_id,
                        "bookkeeping: this node's registration was gone; re-writing its sockets"
                    );
                }
                if lost || again {
                    request_resync(&shared);
                }
                again = lost;
                failing = false;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(
                        node = %shared.node_id,
                        error = %e,
                        "bookkeeping: heartbeat failed"
                    );
                }
                failing = true;
            }
        }
    }
}

/// The sweep task: every `sweep_interval` (±20 %), sweeps the nodes found dead. A stop request
/// lets a sweep under way finish (so it releases its lock).
pub(super) async fn sweep_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let jitter = rand::random_range(0.8..1.2);
        tokio::select! {
            _ = tokio::time::sleep(shared.config.sweep_interval.mul_f64(jitter)) => {}
            _ = stop.changed() => return,
        }
        match sweep_once(&shared).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(node = %shared.node_id, swept = n, "bookkeeping: swept dead nodes")
            }
            Err(e) => {
                tracing::warn!(node = %shared.node_id, error = %e, "bookkeeping: sweep failed")
            }
        }
    }
}

/// Sweeps every registered node, other than this one, whose alive key is gone. Returns how many
/// nodes this call swept to the end.
pub(super) async fn sweep_once(shared: &Shared) -> RedisResult<usize> {
    let keys = &shared.keys;
    let registered = shared
        .conn
        .run(vec![Command::key_only("SMEMBERS", keys.nodes())])
        .await?
        .into_iter()
        .flat_map(strings);
    let others: Vec<String> = registered.filter(|id| *id != shared.node_id).collect();
    let checks = others
        .iter()
        .map(|id| Command::key_only("EXISTS", keys.alive(id)))
        .collect();
    let alive = shared.conn.run(checks).await?;
    let mut swept = 0;
    for (id, alive) in others.iter().zip(alive) {
        if !matches!(alive, Value::Int(0)) {
            continue;
        }
        let lock = Command::new("SET", keys.sweep_lock(id), &shared.node_id).with_args((
            "NX",
            "PX",
            shared.config.ttl_ms(),
        ));
        let got = shared.conn.run(vec![lock]).await?;
        if matches!(got.first(), Some(Value::Nil) | None) {
            continue; // another node is sweeping it
        }
        let done = sweep_node(shared, id, true).await;
        let unlock = Command::key_only("DEL", keys.sweep_lock(id));
        let _ = shared.conn.run(vec![unlock]).await;
        if done? {
            swept += 1;
        }
    }
    Ok(swept)
}

/// Removes every socket node `id` owns, then the node itself. With `while_dead`, stops (returns
/// false) as soon as the node's alive key exists again, and keeps the sweep lock alive.
pub(super) async fn sweep_node(shared: &Shared, id: &str, while_dead: bool) -> RedisResult<bool> {
    let keys = &shared.keys;
    let node_key = keys.node(id);
    // Each round removes up to `max_batch` members; more rounds than the set had batches (plus
    // slack) means someone keeps adding: a node that writes while its alive key is gone.
    let count = shared
        .conn
        .run(vec![Command::key_only("SCARD", node_key.clone())])
        .await?;
    let size = match count.first() {
        Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let mut rounds = size / shared.config.max_batch + 3;
    loop {
        if while_dead && is_alive(shared, id).await? {
            return Ok(false);
        }
        if rounds == 0 {
            tracing::warn!(
                node = %shared.node_id,
                swept = %id,
                "bookkeeping: node set keeps growing during its sweep; left for a later sweep"
            );
            return Ok(false);
        }
        rounds -= 1;
        let pick = Command::new("SRANDMEMBER", node_key.clone(), shared.config.max_batch);
        let members: Vec<(String, Vec<String>)> = shared
            .conn
            .run(vec![pick])
            .await?
            .into_iter()
            .flat_map(strings)
            .map(|m| (m, Vec::new()))
            .collect();
        if members.is_empty() {
            break;
        }
        clean_members(shared, id, &members).await?;
        if while_dead {
            let keep = Command::new("PEXPIRE", keys.sweep_lock(id), shared.config.ttl_ms());
            shared.conn.run(vec![keep]).await?;
        }
    }
    if while_dead && is_alive(shared, id).await? {
        return Ok(false);
    }
    let mut last = vec![
        Command::new("SREM", keys.nodes(), id),
        Command::key_only("DEL", node_key),
    ];
    if !while_dead {
        last.push(Command::key_only("DEL", keys.alive(id)));
    }
    shared.conn.run(last).await?;
    Ok(true)
}

async fn is_alive(shared: &Shared, id: &str) -> RedisResult<bool> {
    let check = Command::key_only("EXISTS", shared.keys.alive(id));
    let reply = shared.conn.run(vec![check]).await?;
    Ok(!matches!(reply.first(), Some(Value::Int(0))))
}

/// Removes the sockets `members` (node-set members, each with rooms known besides the ones Redis
/// lists) of node `id`: each from its rooms, its socket set, then from the node set.
pub(super) async fn clean_members(
    shared: &Shared,
    id: &str,
    members: &[(String, Vec<String>)],
) -> RedisResult<()> {
    let keys = &shared.keys;
    let parsed: Vec<(&str, &str, &Vec<String>)> = members
        .iter()
        .filter_map(|(m, known)| parse_member(m).map(|(nsp, sid)| (nsp, sid, known)))
        .collect();
    let reads = parsed
        .iter()
        .map(|(nsp, sid, _)| Command::key_only("SMEMBERS", keys.socket(nsp, sid)))
        .collect();
    let stored = shared.conn.run(reads).await?.into_iter().map(strings);
    let mut cmds = Vec::new();
    for ((nsp, sid, known), stored) in parsed.iter().zip(stored) {
        let rooms: HashSet<&String> = known.iter().chain(stored.iter()).collect();
        for room in rooms {
            cmds.push(Command::new("SREM", keys.room(nsp, room), *sid));
        }
        cmds.push(Command::key_only("DEL", keys.socket(nsp, sid)));
    }
    let all: Vec<&String> = members.iter().map(|(m, _)| m).collect();
    let release = if all.is_empty() {
        Vec::new()
    } else {
        vec![Command::new("SREM", keys.node(id), all)]
    };
    shared.conn.run_phases(vec![cmds, release]).await
}

/// Removes everything this node wrote: its sockets (the mirror's and the ones its node set
/// lists), its node set, its alive key and its registration.
pub(super) async fn remove_own(shared: &Shared) -> RedisResult<()> {
    let own = shared.mirror.snapshot();
    for chunk in own.chunks(shared.config.max_batch) {
        clean_members(shared, &shared.node_id, chunk).await?;
    }
    sweep_node(shared, &shared.node_id, false).await?;
    Ok(())
}
