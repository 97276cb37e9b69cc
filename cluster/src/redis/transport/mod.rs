//! Connections to a single Redis or a Redis Cluster that the Redis adapters sit on:
//! subscriptions that survive reconnects, publishing that never blocks, subscriber counts.
//!
//! # Model
//!
//! A [`Transport`] runs three tasks on the current tokio runtime:
//!
//! - the **supervisor** connects, reconnects with exponential backoff (by default 100 ms doubling
//!   to 5 s, one `warn` log line per failed attempt), owns the set of wanted subscriptions and
//!   re-sends all of them on every new connection before declaring it usable;
//! - the **publisher** drains a bounded queue in order, in pipelined batches;
//! - the **dispatcher** calls the `on_message` handler for every message, one at a time, in the
//!   order the server(s) pushed them.
//!
//! Every connection speaks RESP3, so one connection per node carries commands, subscriptions and
//! pushed messages alike. A single Redis gets one connection. A cluster gets one connection per
//! master (learned from `CLUSTER SLOTS` of a seed): classic channels and patterns are subscribed on
//! the first master only (classic PUBLISH reaches every node of a cluster, so one subscription is
//! enough, and a NUMSUB summed over the masters counts it exactly once), sharded channels on the
//! master owning their hash slot. When any connection of a cluster fails, or a redirection shows
//! the slots moved, all of them are replaced together with a fresh topology.
//!
//! # Invariants
//!
//! - Subscriptions are a set: subscribing twice to the same `(kind, channel)` keeps one Redis
//!   subscription; one unsubscribe removes it. Per connection there is at most one subscription
//!   per channel, which is what `PUBSUB NUMSUB` counting (socket.io's `serverCount`) relies on.
//! - After every reconnect every wanted subscription is in place again before
//!   [`Transport::is_connected`] turns true and before anything is published on the new
//!   connection.
//! - No call blocks on Redis being up and nothing panics on what the network sends: malformed
//!   pushes are skipped, failures become errors or log lines.
//!
//! # What is lost while Redis is down
//!
//! Redis Pub/Sub keeps nothing for absent subscribers, and neither does the transport:
//!
//! - messages published by anyone while this transport is disconnected never reach it;
//! - [`Transport::publish`] refuses messages while disconnected ([`PublishError::Disconnected`]),
//!   and messages already queued when the connection breaks, or in a pipeline that fails, are
//!   dropped (they may or may not have reached Redis). Drops are counted and logged at most once
//!   every 5 s. Nothing is replayed after the reconnect: socket.io broadcasts are not durable.

mod error;
mod publisher;
mod session;
mod slot;
mod supervisor;
mod types;

pub use error::{PublishError, TransportError};
pub use types::{
    ChannelKind, IncomingMessage, MessageHandler, RedisTarget, SubscriptionKind, TransportConfig,
};

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use parking_lot::Mutex;
use redis::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use publisher::{DropLog, Outgoing};
use session::{Endpoints, Session, int_of};
use supervisor::{Command, Supervisor};

/// Connections to one Redis deployment; see the [module docs](self).
pub struct Transport {
    commands: mpsc::UnboundedSender<Command>,
    queue: mpsc::Sender<Outgoing>,
    session: watch::Receiver<Option<Arc<Session>>>,
    drops: Arc<DropLog>,
    closed: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("connected", &self.is_connected())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// [`connect_with`](Self::connect_with) the default [`TransportConfig`].
    ///
    /// # Errors
    ///
    /// [`TransportError::InvalidUrl`] when a URL cannot be parsed (or a cluster has no seed).
    pub fn connect(
        target: RedisTarget,
        on_message: MessageHandler,
    ) -> Result<Arc<Transport>, TransportError> {
        Self::connect_with(target, TransportConfig::default(), on_message)
    }

    /// Starts connecting to `target` in the background and returns at once; `on_message`
    /// receives every message of every subscription. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`TransportError::InvalidUrl`] when a URL cannot be parsed (or a cluster has no seed).
    pub fn connect_with(
        target: RedisTarget,
        config: TransportConfig,
        on_message: MessageHandler,
    ) -> Result<Arc<Transport>, TransportError> {
        let invalid = |e: redis::RedisError| TransportError::InvalidUrl(e.to_string());
        // Logs name the servers by address only: URLs may hold passwords.
        let (endpoints, name) = match target {
            RedisTarget::Single(url) => {
                let info = session::parse_url(&url).map_err(invalid)?;
                let name = info.addr().to_string();
                (Endpoints::Single(info), name)
            }
            RedisTarget::Cluster(seeds) => {
                if seeds.is_empty() {
                    return Err(TransportError::InvalidUrl(
                        "a cluster needs a seed URL".into(),
                    ));
                }
                let infos = seeds
                    .iter()
                    .map(|url| session::parse_url(url))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                let names: Vec<String> = infos.iter().map(|info| info.addr().to_string()).collect();
                (Endpoints::Cluster(infos), names.join(","))
            }
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (queue, queue_rx) = mpsc::channel(config.publish_queue.max(1));
        let (session_tx, session) = watch::channel(None);
        let (messages, mut message_rx) = mpsc::channel(config.incoming_queue.max(1));
        let drops = Arc::new(DropLog::default());
        let supervisor = Supervisor {
            name,
            endpoints,
            config,
            commands: command_rx,
            session: session_tx,
            messages,
            wanted: Arc::default(),
            known: Vec::new(),
        };
        let dispatcher = async move {
            while let Some(message) = message_rx.recv().await {
                // A panicking handler loses its message, not the subscription.
                if catch_unwind(AssertUnwindSafe(|| on_message(message))).is_err() {
                    tracing::error!("the Redis message handler panicked");
                }
            }
        };
        let tasks = vec![
            tokio::spawn(supervisor.run()),
            tokio::spawn(publisher::run(queue_rx, session.clone(), drops.clone())),
            tokio::spawn(dispatcher),
        ];
        Ok(Arc::new(Transport {
            commands,
            queue,
            session,
            drops,
            closed: AtomicBool::new(false),
            tasks: Mutex::new(tasks),
        }))
    }

    /// Whether the transport is connected with every wanted subscription in place.
    pub fn is_connected(&self) -> bool {
        self.session.borrow().is_some()
    }

    /// Waits until [`is_connected`](Self::is_connected), at most `timeout`; returns whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut session = self.session.clone();
        tokio::time::timeout(timeout, session.wait_for(Option::is_some))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Wants the subscription `(kind, channel)` (for [`SubscriptionKind::Pattern`], `channel` is
    /// the glob pattern) and returns once Redis confirmed it. Idempotent.
    ///
    /// # Errors
    ///
    /// [`TransportError::Disconnected`] or [`TransportError::Redis`] when it could not be
    /// confirmed now: the subscription is still wanted and will be established with the next
    /// connection. [`TransportError::Closed`] after [`close`](Self::close).
    pub async fn subscribe(
        &self,
        kind: SubscriptionKind,
        channel: impl AsRef<[u8]>,
    ) -> Result<(), TransportError> {
        let channel = Bytes::copy_from_slice(channel.as_ref());
        self.request(|done| Command::Subscribe {
            kind,
            channel,
            done,
        })
        .await
    }

    /// Drops the subscription `(kind, channel)`; returns once Redis confirmed it (at once when
    /// it was not wanted or while disconnected).
    ///
    /// # Errors
    ///
    /// [`TransportError::Redis`] when Redis could not confirm it (it is no longer wanted and
    /// will not come back after a reconnect), [`TransportError::Closed`] after
    /// [`close`](Self::close).
    pub async fn unsubscribe(
        &self,
        kind: SubscriptionKind,
        channel: impl AsRef<[u8]>,
    ) -> Result<(), TransportError> {
        let channel = Bytes::copy_from_slice(channel.as_ref());
        self.request(|done| Command::Unsubscribe {
            kind,
            channel,
            done,
        })
        .await
    }

    /// Sends a command to the supervisor and waits for its answer.
    async fn request(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), TransportError>>) -> Command,
    ) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let (done, answer) = oneshot::channel();
        self.commands
            .send(command(done))
            .map_err(|_| TransportError::Closed)?;
        answer.await.unwrap_or(Err(TransportError::Closed))
    }

    /// Queues `payload` for publication on `channel` (`PUBLISH` or `SPUBLISH`) and returns at
    /// once. Queued messages are published in order.
    ///
    /// # Errors
    ///
    /// The message is dropped (and counted in a rate-limited warning) when the transport is
    /// disconnected, its queue is full or it is closed; see the [module docs](self) for what
    /// else may be lost while Redis is down.
    pub fn publish(
        &self,
        kind: ChannelKind,
        channel: impl AsRef<[u8]>,
        payload: Bytes,
    ) -> Result<(), PublishError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PublishError::Closed);
        }
        if !self.is_connected() {
            self.drops.record(1, "Redis is not connected");
            return Err(PublishError::Disconnected);
        }
        let message = Outgoing {
            kind,
            channel: Bytes::copy_from_slice(channel.as_ref()),
            payload,
        };
        self.queue.try_send(message).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                self.drops.record(1, "the publish queue is full");
                PublishError::QueueFull
            }
            mpsc::error::TrySendError::Closed(_) => PublishError::Closed,
        })
    }

    /// The number of subscribers of `channel` (`PUBSUB NUMSUB` or `PUBSUB SHARDNUMSUB`), asked
    /// of every master of a cluster and summed (socket.io's `serverCount`). Pattern subscribers
    /// are not counted, as in Redis.
    ///
    /// # Errors
    ///
    /// [`TransportError::Disconnected`] when not connected, [`TransportError::Redis`] when a
    /// node fails to answer (one missing count would make the sum wrong).
    pub async fn numsub(
        &self,
        kind: ChannelKind,
        channel: impl AsRef<[u8]>,
    ) -> Result<usize, TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let session = self
            .session
            .borrow()
            .clone()
            .ok_or(TransportError::Disconnected)?;
        let subcommand = match kind {
            ChannelKind::Classic => "NUMSUB",
            ChannelKind::Shard => "SHARDNUMSUB",
        };
        let channel = channel.as_ref();
        // A sharded channel only has subscribers on its slot's shard; the other masters answer
        // 0, so the sum stays right even while the slot table is stale.
        let replies = session.all().map(|mut conn| async move {
            redis::cmd("PUBSUB")
                .arg(subcommand)
                .arg(channel)
                .query_async::<Value>(&mut conn)
                .await
        });
        let mut total = 0usize;
        for reply in join_all(replies).await {
            let reply = reply.inspect_err(|e| session.check(e));
            let count = reply
                .map_err(|e| TransportError::Redis(e.to_string()))
                .and_then(|value| {
                    count_of(&value).ok_or_else(|| {
                        TransportError::Redis(format!("unexpected PUBSUB reply {value:?}"))
                    })
                })?;
            total = total.saturating_add(count);
        }
        Ok(total)
    }

    /// Unsubscribes everything, stops the tasks and drops the connections. Later calls fail with
    /// [`TransportError::Closed`] / [`PublishError::Closed`]; messages still queued are dropped.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (done, answer) = oneshot::channel();
        if self.commands.send(Command::Close { done }).is_ok() {
            let _ = answer.await;
        }
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().drain(..) {
            task.abort();
        }
    }
}

/// The count in a `PUBSUB NUMSUB` reply for one channel: `[channel, count]` (RESP2) or
/// `{channel: count}` (RESP3).
fn count_of(value: &Value) -> Option<usize> {
    let count = match value {
        Value::Array(items) => items.get(1).and_then(int_of),
        Value::Map(pairs) => pairs.first().and_then(|(_, count)| int_of(count)),
        _ => None,
    }?;
    usize::try_from(count).ok()
}
