//! The options of the Redis adapters, with Node's defaults.

use std::time::Duration;

use super::transport::RedisTarget;

/// Which Redis adapter, and its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterMode {
    /// `createAdapter` of `@socket.io/redis-adapter`: PUBLISH/PSUBSCRIBE, requests and
    /// responses on their own channels. The emitters reach this one only.
    Classic {
        /// How long `fetch_sockets`, `all_rooms` and server-side emits with ack wait for the
        /// other nodes (Node's `requestsTimeout`, default 5 s).
        requests_timeout: Duration,
        /// Answer requests on the requester's own response channel (Node's
        /// `publishOnSpecificResponseChannel`, default false).
        publish_on_specific_response_channel: bool,
    },
    /// `createShardedAdapter` (Redis ≥ 7): SPUBLISH/SSUBSCRIBE.
    Sharded {
        /// Which room channels a node subscribes to (Node's `subscriptionMode`).
        subscription_mode: SubscriptionMode,
    },
}

impl Default for AdapterMode {
    fn default() -> Self {
        AdapterMode::Classic {
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
        }
    }
}

/// Which room channels a sharded node subscribes to; every node of a cluster must use the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// None: everything goes through the namespace's main channel.
    Static,
    /// The rooms with local members, but not the sockets' own id rooms (Node's default).
    #[default]
    Dynamic,
    /// The rooms with local members, the sockets' own id rooms included.
    DynamicPrivate,
}

/// How a server joins a Redis cluster.
#[derive(Clone, Debug)]
pub struct RedisAdapterOptions {
    /// The Redis server or Redis Cluster.
    pub target: RedisTarget,
    /// The prefix of every channel (Node's `key`, or `channelPrefix` for the sharded adapter;
    /// default `socket.io`).
    pub key: String,
    /// Classic or sharded, with the options of each.
    pub mode: AdapterMode,
    /// The Redis SET bookkeeping of sockets and rooms; `None` (the default) turns it off.
    pub bookkeeping: Option<super::bookkeeping::BookkeepingConfig>,
}

impl RedisAdapterOptions {
    /// The classic adapter on `target` with Node's defaults.
    pub fn new(target: RedisTarget) -> RedisAdapterOptions {
        RedisAdapterOptions {
            target,
            key: "socket.io".to_owned(),
            mode: AdapterMode::default(),
            bookkeeping: None,
        }
    }

    /// Sets the channel prefix.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets the adapter and its options.
    #[must_use]
    pub fn mode(mut self, mode: AdapterMode) -> Self {
        self.mode = mode;
        self
    }

    /// Turns the Redis SET bookkeeping on.
    #[must_use]
    pub fn bookkeeping(mut self, config: super::bookkeeping::BookkeepingConfig) -> Self {
        self.bookkeeping = Some(config);
        self
    }
}
