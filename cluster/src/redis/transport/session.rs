//! One connected session: a RESP3 connection per Redis node in use and the routing between them.
//!
//! A session is all-or-nothing. For a single Redis it is one connection; for a cluster it is one
//! connection per master (from `CLUSTER SLOTS`) plus the slot table. When any of its connections
//! fails (a disconnection push, an I/O error or timeout, a redirection), the session is declared
//! dead through [`Session::kill`] and the supervisor builds a new one from scratch: fresh topology,
//! fresh connections, every subscription again. Nothing is ever repaired in place, so a session's
//! routing and its subscriptions always belong to one consistent view of the servers.
//!
//! Routing: classic channels and patterns always live on the first connection (the "home" node;
//! classic PUBLISH reaches every node of a cluster, so one subscriber connection suffices and
//! NUMSUB summed over the masters counts it once). Sharded channels live on the master that owns
//! their slot.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use redis::aio::{AsyncPushSender, MultiplexedConnection, SendError};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo,
    ProtocolVersion, PushInfo, PushKind, RedisError, ServerErrorKind, Value,
};
use tokio::sync::{Notify, mpsc};

use super::slot::{SLOTS, slot};
use super::{IncomingMessage, SubscriptionKind, TransportConfig};

/// The subscriptions the transport wants, shared by the supervisor (the only writer) and the push
/// sinks (which read it to tell a server-initiated shard unsubscription from a requested one).
pub(super) type Wanted = Arc<Mutex<HashSet<(SubscriptionKind, Bytes)>>>;

/// A parsed target: connection infos with RESP3 set.
#[derive(Debug, Clone)]
pub(super) enum Endpoints {
    /// One standalone server.
    Single(ConnectionInfo),
    /// Seed nodes of a cluster.
    Cluster(Vec<ConnectionInfo>),
}

/// Parses `url` and switches it to RESP3 (pushes on the command connection).
pub(super) fn parse_url(url: &str) -> Result<ConnectionInfo, RedisError> {
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Ok(info.set_redis_settings(settings))
}

/// The live connections of one session and how channels map onto them.
pub(super) struct Session {
    /// Never empty; node 0 is the home node.
    nodes: Vec<MultiplexedConnection>,
    /// For a cluster: the node index owning each slot (`u16::MAX` when unassigned).
    slots: Option<Vec<u16>>,
    /// Notified once when the session must be replaced.
    dead: Arc<Notify>,
}

impl Session {
    /// The connection that carries `kind` subscriptions (and publishes) on `channel`.
    pub(super) fn node_for(&self, kind: SubscriptionKind, channel: &[u8]) -> usize {
        match (kind, &self.slots) {
            (SubscriptionKind::Shard, Some(slots)) => slots
                .get(usize::from(slot(channel)))
                .map(|&n| usize::from(n))
                .filter(|&n| n < self.nodes.len())
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// A handle on node `index` (node 0 when out of range).
    pub(super) fn conn(&self, index: usize) -> MultiplexedConnection {
        self.nodes.get(index).unwrap_or(&self.nodes[0]).clone()
    }

    /// Handles on every node (every master of a cluster).
    pub(super) fn all(&self) -> impl Iterator<Item = MultiplexedConnection> + '_ {
        self.nodes.iter().cloned()
    }

    /// How many connections the session holds.
    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Declares the session dead; the supervisor replaces it.
    pub(super) fn kill(&self) {
        self.dead.notify_one();
    }

    /// Kills the session when `error` means its connections or its routing can't be trusted.
    pub(super) fn check(&self, error: &RedisError) {
        if is_fatal(error) {
            self.kill();
        }
    }

    /// Resolves once the session has been declared dead.
    pub(super) async fn died(&self) {
        self.dead.notified().await;
    }
}

/// Whether an error means the connection is gone or the topology changed, so that the session
/// has to be rebuilt (as opposed to an error about one command).
pub(super) fn is_fatal(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_unrecoverable_error()
        || error.is_cluster_error()
        || matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly)
        )
}

/// What the push sinks hand to the dispatcher task: a bounded queue, so a handler that falls
/// behind costs dropped messages (counted and logged), never unbounded memory.
pub(super) type Incoming = mpsc::Sender<IncomingMessage>;

/// Receives the pushes of one connection: messages go to the dispatcher, a disconnection or a
/// server-side shard unsubscription of a wanted channel kills the session.
struct PushSink {
    messages: Incoming,
    dead: Arc<Notify>,
    wanted: Wanted,
    drops: Arc<super::publisher::DropLog>,
}

impl AsyncPushSender for PushSink {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        match info.kind {
            PushKind::Disconnection => self.dead.notify_one(),
            PushKind::SUnsubscribe => {
                // Redis unsubscribes shard channels itself when their slot moves away.
                let channel = info.data.into_iter().next().and_then(bytes_of);
                if channel
                    .is_some_and(|c| self.wanted.lock().contains(&(SubscriptionKind::Shard, c)))
                {
                    self.dead.notify_one();
                }
            }
            kind => {
                if let Some(message) = to_message(kind, info.data) {
                    // The dispatcher is gone only while the transport shuts down.
                    if let Err(mpsc::error::TrySendError::Full(_)) = self.messages.try_send(message)
                    {
                        self.drops
                            .record(1, "the incoming queue is full (the handler falls behind)");
                    }
                }
            }
        }
        Ok(())
    }
}

/// Turns a `message` / `pmessage` / `smessage` push into an [`IncomingMessage`]; anything else
/// (subscription confirmations, unknown kinds, malformed data) is `None`.
fn to_message(kind: PushKind, data: Vec<Value>) -> Option<IncomingMessage> {
    let mut data = data.into_iter().map(bytes_of);
    let (kind, pattern) = match kind {
        PushKind::Message => (SubscriptionKind::Channel, None),
        PushKind::SMessage => (SubscriptionKind::Shard, None),
        PushKind::PMessage => (SubscriptionKind::Pattern, Some(data.next()??)),
        _ => return None,
    };
    let channel = data.next()??;
    let payload = data.next()??;
    Some(IncomingMessage {
        kind,
        channel,
        pattern,
        payload,
    })
}

/// The bytes of a string value.
pub(super) fn bytes_of(value: Value) -> Option<Bytes> {
    match value {
        Value::BulkString(bytes) => Some(Bytes::from(bytes)),
        Value::SimpleString(text) => Some(Bytes::from(text)),
        _ => None,
    }
}

/// An integer value (RESP integers, or digits in a string).
pub(super) fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

/// Builds a new session: connects every node it needs, with `messages` receiving their pushes.
/// `known` holds the masters of the previous cluster session, tried after the seeds.
pub(super) async fn connect(
    endpoints: &Endpoints,
    known: &mut Vec<ConnectionInfo>,
    config: &TransportConfig,
    messages: &Incoming,
    wanted: &Wanted,
) -> Result<Session, RedisError> {
    let dead = Arc::new(Notify::new());
    let drops = Arc::new(super::publisher::DropLog::default());
    let sink = || PushSink {
        messages: messages.clone(),
        dead: dead.clone(),
        wanted: wanted.clone(),
        drops: drops.clone(),
    };
    match endpoints {
        Endpoints::Single(info) => {
            let conn = open(info, config, Some(sink())).await?;
            Ok(Session {
                nodes: vec![conn],
                slots: None,
                dead,
            })
        }
        Endpoints::Cluster(seeds) => {
            let (masters, slots) = discover(seeds, known, config).await?;
            let mut nodes = Vec::with_capacity(masters.len());
            for info in &masters {
                nodes.push(open(info, config, Some(sink())).await?);
            }
            *known = masters;
            Ok(Session {
                nodes,
                slots: Some(slots),
                dead,
            })
        }
    }
}

/// Opens one connection, with the push sink when given.
async fn open(
    info: &ConnectionInfo,
    config: &TransportConfig,
    sink: Option<PushSink>,
) -> Result<MultiplexedConnection, RedisError> {
    let client = Client::open(info.clone())?;
    let mut settings = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connection_timeout))
        .set_response_timeout(Some(config.response_timeout));
    if let Some(sink) = sink {
        settings = settings.set_push_sender(sink);
    }
    client
        .get_multiplexed_async_connection_with_config(&settings)
        .await
}

/// Asks the seeds (then the previously known masters) for `CLUSTER SLOTS`; returns the masters
/// and the slot table indexing them.
async fn discover(
    seeds: &[ConnectionInfo],
    known: &[ConnectionInfo],
    config: &TransportConfig,
) -> Result<(Vec<ConnectionInfo>, Vec<u16>), RedisError> {
    let mut last_error = None;
    for seed in seeds.iter().chain(known) {
        let reply = match open(seed, config, None).await {
            Ok(mut conn) => {
                redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<Value>(&mut conn)
                    .await
            }
            Err(e) => Err(e),
        };
        match reply.map(|value| parse_slots(seed, value)) {
            Ok(Some(topology)) => return Ok(topology),
            Ok(None) => last_error = Some(invalid("CLUSTER SLOTS: no usable slot ranges")),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| invalid("no cluster seed")))
}

/// Reads a `CLUSTER SLOTS` reply: `[[start, end, [host, port, ...], replicas...], ...]`.
/// Returns `None` when it holds no usable range. Hosts that are empty or `?` mean "the address
/// you asked" and are replaced by the seed's host.
fn parse_slots(seed: &ConnectionInfo, value: Value) -> Option<(Vec<ConnectionInfo>, Vec<u16>)> {
    let seed_host = match seed.addr() {
        ConnectionAddr::Tcp(host, _) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let Value::Array(ranges) = value else {
        return None;
    };
    let mut masters: Vec<(String, u16)> = Vec::new();
    let mut table = vec![u16::MAX; SLOTS];
    for range in ranges {
        let Value::Array(items) = range else { continue };
        let mut items = items.into_iter();
        let (Some(start), Some(end), Some(Value::Array(node))) =
            (items.next(), items.next(), items.next())
        else {
            continue;
        };
        let (Some(start), Some(end)) = (int_of(&start), int_of(&end)) else {
            continue;
        };
        let mut node = node.into_iter();
        let host = node.next().and_then(bytes_of);
        let port = node
            .next()
            .as_ref()
            .and_then(int_of)
            .and_then(|p| u16::try_from(p).ok());
        let (Some(host), Some(port)) = (host, port) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            continue;
        };
        let mut host = String::from_utf8_lossy(&host).into_owned();
        if host.is_empty() || host == "?" {
            host.clone_from(&seed_host);
        }
        let index = match masters.iter().position(|m| m.0 == host && m.1 == port) {
            Some(index) => index,
            None => {
                masters.push((host, port));
                masters.len() - 1
            }
        };
        for entry in table.iter_mut().take(end.saturating_add(1)).skip(start) {
            *entry = u16::try_from(index).unwrap_or(u16::MAX);
        }
    }
    if masters.is_empty() {
        return None;
    }
    let infos = masters
        .into_iter()
        .map(|(host, port)| seed.clone().set_addr(ConnectionAddr::Tcp(host, port)))
        .collect();
    Some((infos, table))
}

/// A client-side error with `message`.
fn invalid(message: &'static str) -> RedisError {
    RedisError::from((ErrorKind::Client, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_cluster_slots() {
        let seed = parse_url("redis://10.0.0.1:7000/").unwrap();
        let node = |host: &str, port| Value::Array(vec![bulk(host), Value::Int(port), bulk("id")]);
        let reply = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(99), node("127.0.0.1", 7001)]),
            Value::Array(vec![
                Value::Int(100),
                Value::Int(16383),
                node("?", 7002),
                node("r", 1),
            ]),
            Value::Array(vec![Value::Int(5)]),
            Value::Int(3),
        ]);
        let (masters, table) = parse_slots(&seed, reply).unwrap();
        assert_eq!(masters.len(), 2);
        assert_eq!(
            masters[1].addr(),
            &ConnectionAddr::Tcp("10.0.0.1".into(), 7002)
        );
        assert_eq!(table[0], 0);
        assert_eq!(table[99], 0);
        assert_eq!(table[100], 1);
        assert_eq!(table[SLOTS - 1], 1);
        assert!(parse_slots(&seed, Value::Array(vec![])).is_none());
        assert!(parse_slots(&seed, Value::Nil).is_none());
    }

    #[test]
    fn huge_ranges_do_not_panic() {
        let seed = parse_url("redis://127.0.0.1:7000/").unwrap();
        let node = Value::Array(vec![bulk("h"), Value::Int(1)]);
        let reply = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(i64::MAX),
            node.clone(),
        ])]);
        assert!(parse_slots(&seed, reply).is_some());
        let reply = Value::Array(vec![Value::Array(vec![
            Value::Int(-5),
            Value::Int(3),
            node,
        ])]);
        assert!(parse_slots(&seed, reply).is_none());
    }

    #[test]
    fn messages_from_pushes() {
        let m = to_message(PushKind::PMessage, vec![bulk("p*"), bulk("pa"), bulk("x")]).unwrap();
        assert_eq!(m.kind, SubscriptionKind::Pattern);
        assert_eq!(m.pattern.as_deref(), Some(&b"p*"[..]));
        assert_eq!(&m.channel[..], b"pa");
        assert_eq!(&m.payload[..], b"x");
        let m = to_message(PushKind::SMessage, vec![bulk("s"), bulk("y")]).unwrap();
        assert_eq!((m.kind, m.pattern), (SubscriptionKind::Shard, None));
        assert!(to_message(PushKind::Message, vec![bulk("c")]).is_none());
        assert!(to_message(PushKind::Message, vec![Value::Nil, bulk("c")]).is_none());
        assert!(to_message(PushKind::Subscribe, vec![bulk("c"), Value::Int(1)]).is_none());
    }
}
