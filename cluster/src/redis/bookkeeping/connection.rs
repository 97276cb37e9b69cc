//! The connection the bookkeeping talks through, and how it sends batches of commands.
//!
//! Invariants:
//! - commands are sent as non-atomic pipelines (no `MULTI`): each command stands alone, and
//!   every command the bookkeeping sends is idempotent, so a batch cut short by an error can be
//!   sent again;
//! - commands on the same key keep their order: on a single Redis a batch is one pipeline; on a
//!   Redis Cluster a batch is split into one pipeline per hash slot (a key always maps to the same
//!   slot), sent concurrently, and the replies are put back in the batch's order;
//! - the replies of a batch come back in the order of its commands.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Cmd, RedisResult, ToRedisArgs, Value};

/// How long a reply may take before the command counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to a single Redis or to a Redis Cluster. Cheap to clone: clones share the
/// underlying connections, which reconnect by themselves.
#[derive(Clone)]
pub enum RedisConnection {
    /// A single Redis server (or a primary behind a proxy).
    Single(ConnectionManager),
    /// A Redis Cluster; commands go to the master of their key's slot.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single(_) => f.write_str("RedisConnection::Single"),
            Self::Cluster(_) => f.write_str("RedisConnection::Cluster"),
        }
    }
}

impl RedisConnection {
    /// Connects to the single Redis at `url` (`redis://host:port/db`). Fails when the first
    /// connection cannot be made; later disconnects are retried in the background.
    pub async fn from_url(url: &str) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
        Ok(Self::Single(
            ConnectionManager::new_with_config(client, config).await?,
        ))
    }

    /// Connects to the Redis Cluster reachable through any of `urls` (its seed nodes).
    pub async fn from_cluster_urls<S: AsRef<str>>(urls: &[S]) -> RedisResult<Self> {
        let client = ClusterClient::builder(urls.iter().map(|u| u.as_ref().to_owned()))
            .response_timeout(RESPONSE_TIMEOUT)
            .build()?;
        Ok(Self::Cluster(client.get_async_connection().await?))
    }

    /// Sends `cmds` and returns their replies in the same order.
    pub(super) async fn run(&self, cmds: Vec<Command>) -> RedisResult<Vec<Value>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Self::Single(conn) => {
                let mut pipe = redis::pipe();
                for c in cmds {
                    pipe.add_command(c.cmd);
                }
                pipe.query_async(&mut conn.clone()).await
            }
            Self::Cluster(conn) => run_by_slot(conn, cmds).await,
        }
    }

    /// Sends `phases` one after the other: every command of a phase is executed before any
    /// command of the next one. Replies are not returned.
    pub(super) async fn run_phases(&self, phases: Vec<Vec<Command>>) -> RedisResult<()> {
        match self {
            // One connection executes a pipeline in order, so the phases can share it.
            Self::Single(_) => {
                self.run(phases.into_iter().flatten().collect()).await?;
            }
            Self::Cluster(_) => {
                for phase in phases {
                    self.run(phase).await?;
                }
            }
        }
        Ok(())
    }
}

/// Sends one pipeline per hash slot, concurrently, and reassembles the replies in order.
async fn run_by_slot(conn: &ClusterConnection, cmds: Vec<Command>) -> RedisResult<Vec<Value>> {
    let total = cmds.len();
    let mut groups: HashMap<Slot, (Vec<usize>, redis::Pipeline)> = HashMap::new();
    for (i, c) in cmds.into_iter().enumerate() {
        let (idx, pipe) = groups
            .entry(Slot::for_key(c.key.as_bytes()))
            .or_insert_with(|| (Vec::new(), redis::pipe()));
        idx.push(i);
        pipe.add_command(c.cmd);
    }
    let sends = groups.into_values().map(|(idx, pipe)| {
        let mut conn = conn.clone();
        async move {
            let replies: Vec<Value> = pipe.query_async(&mut conn).await?;
            RedisResult::Ok((idx, replies))
        }
    });
    let mut out = vec![Value::Nil; total];
    for result in join_all(sends).await {
        let (idx, replies) = result?;
        for (i, v) in idx.into_iter().zip(replies) {
            if let Some(slot) = out.get_mut(i) {
                *slot = v;
            }
        }
    }
    Ok(out)
}

/// One command and the key it works on (which decides its slot on a cluster).
pub(super) struct Command {
    key: String,
    cmd: Cmd,
}

impl Command {
    /// `name key args…`; a list in `args` becomes one argument per element.
    pub(super) fn new<A: ToRedisArgs>(name: &str, key: String, args: A) -> Self {
        let mut cmd = redis::cmd(name);
        cmd.arg(&key).arg(args);
        Self { key, cmd }
    }

    /// This command with `args` appended.
    pub(super) fn with_args<A: ToRedisArgs>(mut self, args: A) -> Self {
        self.cmd.arg(args);
        self
    }

    /// `name key` with no further argument.
    pub(super) fn key_only(name: &str, key: String) -> Self {
        let mut cmd = redis::cmd(name);
        cmd.arg(&key);
        Self { key, cmd }
    }
}

/// The strings of a `SMEMBERS`/`SRANDMEMBER` reply; empty for nil or anything unexpected.
pub(super) fn strings(v: Value) -> Vec<String> {
    redis::from_redis_value::<Vec<String>>(v).unwrap_or_default()
}
