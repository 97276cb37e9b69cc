//! The settings of the bookkeeping and its error type.
//!
//! Invariants: [`BookkeepingConfig::sanitized`] settings keep `node_ttl` at least twice the
//! heartbeat interval (one lost heartbeat never makes a node dead), timers above zero and the
//! queue and batches at least one long.

use std::time::Duration;

/// Which key names the bookkeeping uses (see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyLayout {
    /// `K#N#s#<sid>` and `K#N#r#<room>` for every namespace.
    #[default]
    Separated,
    /// The original fork's `K#<sid>` and `K#<room>` for the main namespace `/`; other namespaces
    /// as in [`KeyLayout::Separated`].
    ForkCompatible,
}

/// Settings of the bookkeeping. Every node sharing a `key` must use the same `key` and `layout`.
#[derive(Debug, Clone)]
pub struct BookkeepingConfig {
    /// The prefix of every key. Default `socket.io`.
    pub key: String,
    /// The key names. Default [`KeyLayout::Separated`].
    pub layout: KeyLayout,
    /// How often a node says it is alive. Default 5 s.
    pub heartbeat_interval: Duration,
    /// A node not heard from for this long is dead and gets swept. Default 15 s; raised to twice
    /// the heartbeat interval when lower.
    pub node_ttl: Duration,
    /// How often a node looks for dead nodes to sweep. Default 10 s.
    pub sweep_interval: Duration,
    /// How many operations may wait for the writer; beyond, operations are dropped and this node's
    /// state is re-written from memory once Redis keeps up. Default 65 536.
    pub queue_capacity: usize,
    /// The most operations (or, in sweeps and reconciles, sockets) written in one batch.
    /// Default 512.
    pub max_batch: usize,
}

impl Default for BookkeepingConfig {
    fn default() -> Self {
        Self {
            key: "socket.io".to_owned(),
            layout: KeyLayout::Separated,
            heartbeat_interval: Duration::from_secs(5),
            node_ttl: Duration::from_secs(15),
            sweep_interval: Duration::from_secs(10),
            queue_capacity: 65_536,
            max_batch: 512,
        }
    }
}

impl BookkeepingConfig {
    /// The same settings, with values that would break the protocol (or a timer) raised to
    /// the nearest that work.
    pub(super) fn sanitized(mut self) -> Self {
        const MIN_INTERVAL: Duration = Duration::from_millis(10);
        self.heartbeat_interval = self.heartbeat_interval.max(MIN_INTERVAL);
        self.sweep_interval = self.sweep_interval.max(MIN_INTERVAL);
        self.node_ttl = self.node_ttl.max(self.heartbeat_interval * 2);
        self.queue_capacity = self.queue_capacity.max(1);
        self.max_batch = self.max_batch.max(1);
        self
    }

    /// `node_ttl` in milliseconds, as `PX` takes it.
    pub(super) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.node_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Why a bookkeeping call failed.
#[derive(Debug, Clone)]
pub enum BookkeepingError {
    /// The bookkeeping is switched off
    /// ([`Bookkeeping::disabled`](super::Bookkeeping::disabled)).
    Disabled,
    /// [`Bookkeeping::shutdown`](super::Bookkeeping::shutdown) was called.
    Closed,
    /// Redis did not answer, or answered with an error.
    Redis(redis::RedisError),
}

impl std::fmt::Display for BookkeepingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Disabled => f.write_str("the Redis bookkeeping is switched off"),
            Self::Closed => f.write_str("the Redis bookkeeping was shut down"),
            Self::Redis(e) => write!(f, "Redis bookkeeping: {e}"),
        }
    }
}

impl std::error::Error for BookkeepingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(e) => Some(e),
            _ => None,
        }
    }
}

impl From<redis::RedisError> for BookkeepingError {
    fn from(e: redis::RedisError) -> Self {
        Self::Redis(e)
    }
}
