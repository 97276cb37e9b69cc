//! The plain data of the transport's API: targets, kinds, messages, configuration.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

#[cfg(doc)]
use super::Transport;

/// Where the transport connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One standalone Redis server, e.g. `redis://127.0.0.1:6379/`.
    Single(String),
    /// A Redis Cluster, given by one or more seed node URLs; the masters are discovered.
    Cluster(Vec<String>),
}

/// The three kinds of Redis subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionKind {
    /// `SUBSCRIBE` to one classic channel.
    Channel,
    /// `PSUBSCRIBE` to a glob pattern of classic channels.
    Pattern,
    /// `SSUBSCRIBE` to one sharded channel (Redis 7+).
    Shard,
}

/// The two channel spaces one can publish to and count subscribers of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Classic channels: `PUBLISH`, `PUBSUB NUMSUB`.
    Classic,
    /// Sharded channels: `SPUBLISH`, `PUBSUB SHARDNUMSUB`.
    Shard,
}

/// A message pushed by Redis on one of the transport's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Which kind of subscription matched.
    pub kind: SubscriptionKind,
    /// The channel the message was published to.
    pub channel: Bytes,
    /// The pattern that matched, for [`SubscriptionKind::Pattern`] only.
    pub pattern: Option<Bytes>,
    /// The message as published.
    pub payload: Bytes,
}

/// The handler receiving every [`IncomingMessage`], called from one task, one message at a time,
/// in arrival order. It should be quick: the messages behind it wait in a bounded queue
/// ([`TransportConfig::incoming_queue`]; beyond it they are dropped and counted in a warning). A
/// panic in it is caught and logged; the message is lost, later ones are still delivered.
pub type MessageHandler = Arc<dyn Fn(IncomingMessage) + Send + Sync>;

/// Tuning of a [`Transport`]; [`Default`] suits production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// The first reconnection delay (default 100 ms).
    pub min_backoff: Duration,
    /// The longest reconnection delay; the delay doubles up to it (default 5 s).
    pub max_backoff: Duration,
    /// How long opening one connection may take (default 2 s).
    pub connection_timeout: Duration,
    /// How long any command may wait for its reply before the connection counts as broken
    /// (default 5 s).
    pub response_timeout: Duration,
    /// How often every connection is pinged to notice silent failures (default 5 s).
    pub health_check: Duration,
    /// How many messages the publish queue holds before [`Transport::publish`] refuses more
    /// (default 65 536).
    pub publish_queue: usize,
    /// How many received messages may wait for the handler before more are dropped (default
    /// 65 536).
    pub incoming_queue: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            health_check: Duration::from_secs(5),
            publish_queue: 65_536,
            incoming_queue: 65_536,
        }
    }
}
