//! The publisher task: drains the bounded publish queue in order, in pipelined batches.
//!
//! Invariants:
//!
//! - Messages leave in the order they were queued: a batch is split into one pipeline per node
//!   (keeping the queue order inside each), and the next batch starts only once every pipeline
//!   of the current one has been answered. So messages on one channel (always one node) are
//!   published in queue order.
//! - A message is published on the session current when its batch is taken; without a session
//!   the batch is dropped, and when a pipeline fails its messages may or may not have been
//!   published. Either way the loss is counted and logged by [`DropLog`], never retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::join_all;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::session::Session;
use super::{ChannelKind, SubscriptionKind};

/// How many queued messages go out in one batch.
const BATCH: usize = 512;

/// At most one warning about dropped messages per this interval.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// A queued message.
pub(super) struct Outgoing {
    pub(super) kind: ChannelKind,
    pub(super) channel: Bytes,
    pub(super) payload: Bytes,
}

/// Counts dropped messages and logs them, rate-limited.
#[derive(Default)]
pub(super) struct DropLog {
    /// When the last warning was logged, and the drops counted since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl DropLog {
    /// Counts `count` dropped messages; logs a warning with the count since the previous
    /// warning, unless one was logged less than [`WARN_EVERY`] ago.
    pub(super) fn record(&self, count: usize, reason: &str) {
        let mut state = self.state.lock();
        state.1 = state.1.saturating_add(count as u64);
        let now = Instant::now();
        if state
            .0
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY)
        {
            tracing::warn!(dropped = state.1, reason, "Redis messages dropped");
            *state = (Some(now), 0);
        }
    }
}

/// Runs until the queue's sender is gone.
pub(super) async fn run(
    mut queue: mpsc::Receiver<Outgoing>,
    session: watch::Receiver<Option<Arc<Session>>>,
    drops: Arc<DropLog>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let current = session.borrow().clone();
        match current {
            Some(session) => send_batch(&session, &batch, &drops).await,
            None => drops.record(batch.len(), "Redis is not connected"),
        }
        batch.clear();
    }
}

/// Publishes one batch: one pipeline per node, sent concurrently.
async fn send_batch(session: &Session, batch: &[Outgoing], drops: &DropLog) {
    let mut pipelines: Vec<(redis::Pipeline, usize)> =
        (0..session.len()).map(|_| (redis::pipe(), 0)).collect();
    for message in batch {
        let (kind, command) = match message.kind {
            ChannelKind::Classic => (SubscriptionKind::Channel, "PUBLISH"),
            ChannelKind::Shard => (SubscriptionKind::Shard, "SPUBLISH"),
        };
        let node = session.node_for(kind, &message.channel);
        if let Some((pipeline, count)) = pipelines.get_mut(node) {
            pipeline
                .cmd(command)
                .arg(&message.channel[..])
                .arg(&message.payload[..])
                .ignore();
            *count += 1;
        }
    }
    let sends = pipelines
        .into_iter()
        .enumerate()
        .filter(|(_, (_, count))| *count > 0)
        .map(|(node, (pipeline, count))| {
            let mut conn = session.conn(node);
            async move { (count, pipeline.exec_async(&mut conn).await) }
        });
    for (count, result) in join_all(sends).await {
        if let Err(error) = result {
            session.check(&error);
            drops.record(count, "publishing failed");
            tracing::debug!(%error, "a publish pipeline failed");
        }
    }
}
