//! The oxio side of the cluster interop tests: an in-process server joined to Redis, behaving like
//! the Node peer of `server/tests/node/cluster/peer.mjs` so that the same clients and checks work
//! against either:
//!
//! - every socket gets `data = {"peer": <name>, ...auth}`, and joins the rooms of `auth.join`
//!   (an array of strings) before its connection handler returns;
//! - namespaces `/` and `/admin` exist;
//! - server-side events of every namespace named in `listen` are recorded, and acked with the
//!   configured value when the emitter waits for one.
//!
//! The test drives the server through [`OxioNode::io`] directly (emit, fetch_sockets, ...).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxio_cluster::redis::transport::RedisTarget;
use oxio_cluster::redis::{AdapterMode, RedisAdapterOptions, RedisCluster, SubscriptionMode};
use oxio_server::{Io, IoConfig, Payload};
use serde_json::{Value, json};

/// A server-side event an oxio node received.
#[derive(Clone, Debug)]
pub(crate) struct ServerEvent {
    pub(crate) nsp: String,
    pub(crate) event: String,
    pub(crate) args: Vec<Value>,
    pub(crate) wanted_ack: bool,
}

/// How an oxio node joins Redis.
#[derive(Clone, Debug)]
pub(crate) struct NodeOptions {
    pub(crate) name: String,
    pub(crate) redis: RedisAdapterOptions,
    /// Server-side events to record: (namespace, event, ack value or `None` for no ack).
    pub(crate) listen: Vec<(String, String, Option<Value>)>,
}

impl NodeOptions {
    /// The classic adapter on one Redis, Node's defaults.
    pub(crate) fn classic(name: &str, redis_url: &str) -> NodeOptions {
        NodeOptions {
            name: name.to_owned(),
            redis: RedisAdapterOptions::new(RedisTarget::Single(redis_url.to_owned())),
            listen: Vec::new(),
        }
    }

    /// The sharded adapter on one Redis with `mode`.
    pub(crate) fn sharded(name: &str, redis_url: &str, mode: SubscriptionMode) -> NodeOptions {
        let mut options = NodeOptions::classic(name, redis_url);
        options.redis.mode = AdapterMode::Sharded {
            subscription_mode: mode,
        };
        options
    }

    /// Records server-side `event` on namespace `nsp`, answering `ack` when asked.
    pub(crate) fn listen(mut self, nsp: &str, event: &str, ack: Option<Value>) -> Self {
        self.listen.push((nsp.to_owned(), event.to_owned(), ack));
        self
    }
}

/// An oxio server joined to Redis, on 127.0.0.1.
pub(crate) struct OxioNode {
    pub(crate) io: Io,
    pub(crate) cluster: Arc<RedisCluster>,
    pub(crate) address: SocketAddr,
    pub(crate) name: String,
    events: Arc<Mutex<Vec<ServerEvent>>>,
}

impl OxioNode {
    /// Starts the node and waits until Redis confirmed its subscriptions (server count seen from
    /// it includes itself).
    pub(crate) async fn start(options: NodeOptions) -> OxioNode {
        let cluster = RedisCluster::connect(options.redis.clone(), Duration::from_secs(10))
            .await
            .expect("Redis options");
        let io = Io::new(IoConfig::default().cluster(cluster.clone()));
        let name = options.name.clone();
        let events: Arc<Mutex<Vec<ServerEvent>>> = Arc::default();
        for nsp in ["/", "/admin"] {
            let peer = name.clone();
            io.of(nsp).on_connection(move |socket| {
                let mut data = json!({ "peer": peer });
                if let (Some(map), Some(auth)) = (
                    data.as_object_mut(),
                    socket.handshake().auth.as_object().cloned(),
                ) {
                    map.extend(auth);
                }
                socket.set_data(data);
                if let Some(rooms) = socket.handshake().auth["join"].as_array() {
                    let rooms: Vec<String> = rooms
                        .iter()
                        .filter_map(|room| room.as_str().map(str::to_owned))
                        .collect();
                    socket.join(rooms);
                }
            });
        }
        for (nsp, event, ack) in options.listen {
            let (record, nsp_name, event_name) = (events.clone(), nsp.clone(), event.clone());
            io.of(&nsp)
                .on_server_event(event, move |payload: Payload, answer| {
                    record.lock().unwrap().push(ServerEvent {
                        nsp: nsp_name.clone(),
                        event: event_name.clone(),
                        args: payload.to_values(),
                        wanted_ack: answer.is_some(),
                    });
                    if let (Some(answer), Some(value)) = (answer, &ack) {
                        answer.send(value).expect("server-side ack");
                    }
                });
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = io.clone();
        tokio::spawn(async move { server.serve(listener).await });
        // The subscriptions are made in the background: wait until this node counts itself.
        let node = OxioNode {
            io,
            cluster,
            address,
            name,
            events,
        };
        node.wait_subscribed("/").await;
        node.wait_subscribed("/admin").await;
        node
    }

    /// Waits until the namespace's request channel counts this node (its subscriptions are in
    /// place).
    async fn wait_subscribed(&self, nsp: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let transport = self.cluster.transport().clone();
        let (kind, channel) = match self.options_mode() {
            AdapterMode::Classic { .. } => (
                oxio_cluster::redis::transport::ChannelKind::Classic,
                format!("socket.io-request#{nsp}#"),
            ),
            AdapterMode::Sharded { .. } => (
                oxio_cluster::redis::transport::ChannelKind::Shard,
                format!("socket.io#{nsp}#"),
            ),
        };
        loop {
            if transport.numsub(kind, &channel).await.unwrap_or(0) >= 1 {
                // Every subscription of a namespace is asked for together; give the others
                // the time of one round trip.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: not subscribed to {channel} within 20 s",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn options_mode(&self) -> AdapterMode {
        self.cluster.options().mode.clone()
    }

    /// `http://127.0.0.1:<port>`, for the Node clients.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The server-side events received so far.
    pub(crate) fn server_events(&self) -> Vec<ServerEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Graceful stop: sockets disconnect, subscriptions and bookkeeping are removed.
    pub(crate) async fn shutdown(&self) {
        self.io.shutdown().await;
    }
}

/// A message seen by a [`RawSubscriber`].
#[derive(Clone, Debug)]
pub(crate) struct RawMessage {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// A plain Redis connection in subscriber mode (RESP2 over TCP), to watch what the nodes publish
/// without going through either adapter.
pub(crate) struct RawSubscriber {
    messages: tokio::sync::mpsc::UnboundedReceiver<RawMessage>,
    reader: tokio::task::JoinHandle<()>,
}

impl RawSubscriber {
    /// `SUBSCRIBE channels...` on the Redis at 127.0.0.1:`port`; returns once Redis confirmed
    /// every channel.
    pub(crate) async fn subscribe(port: u16, channels: &[&str]) -> RawSubscriber {
        RawSubscriber::start(port, "SUBSCRIBE", channels).await
    }

    /// `PSUBSCRIBE patterns...`; returns once Redis confirmed every pattern.
    pub(crate) async fn psubscribe(port: u16, patterns: &[&str]) -> RawSubscriber {
        RawSubscriber::start(port, "PSUBSCRIBE", patterns).await
    }

    async fn start(port: u16, command: &str, names: &[&str]) -> RawSubscriber {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

        /// One push frame: an array of bulk strings, integers and simple strings.
        async fn read_frame(
            reader: &mut tokio::io::BufReader<tokio::net::TcpStream>,
        ) -> std::io::Result<Vec<Vec<u8>>> {
            let bad =
                |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let count: usize = line
                .trim_end()
                .strip_prefix('*')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad(&format!("not an array: {line:?}")))?;
            let mut items = Vec::with_capacity(count);
            for _ in 0..count {
                line.clear();
                reader.read_line(&mut line).await?;
                let item = line.trim_end();
                match item.split_at_checked(1) {
                    Some(("$", len)) => {
                        let len: usize = len.parse().map_err(|_| bad("bulk length"))?;
                        let mut data = vec![0; len + 2];
                        reader.read_exact(&mut data).await?;
                        data.truncate(len);
                        items.push(data);
                    }
                    Some((":" | "+", text)) => items.push(text.as_bytes().to_vec()),
                    _ => return Err(bad(&format!("unexpected item {item:?}"))),
                }
            }
            Ok(items)
        }

        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to Redis");
        let mut reader = tokio::io::BufReader::new(stream);
        let mut request = format!(
            "*{}\r\n${}\r\n{command}\r\n",
            names.len() + 1,
            command.len()
        );
        for name in names {
            request.push_str(&format!("${}\r\n{name}\r\n", name.len()));
        }
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("send SUBSCRIBE");
        for _ in names {
            let frame = tokio::time::timeout(Duration::from_secs(20), read_frame(&mut reader))
                .await
                .expect("Redis confirms the subscription within 20 s")
                .expect("subscription confirmation");
            assert!(
                frame
                    .first()
                    .is_some_and(|kind| kind.eq_ignore_ascii_case(command.as_bytes())),
                "unexpected answer to {command}: {frame:?}"
            );
        }
        let (tx, messages) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Ok(frame) = read_frame(&mut reader).await {
                let message = match frame.as_slice() {
                    [kind, channel, payload] if kind.as_slice() == b"message" => (channel, payload),
                    [kind, _, channel, payload] if kind.as_slice() == b"pmessage" => {
                        (channel, payload)
                    }
                    _ => continue,
                };
                let message = RawMessage {
                    channel: String::from_utf8_lossy(message.0).into_owned(),
                    payload: message.1.clone(),
                };
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        RawSubscriber { messages, reader }
    }

    /// The first message (from now on, earlier ones included if not yet taken) that satisfies
    /// `matches`; the others before it are dropped. Panics after 20 s.
    pub(crate) async fn next_matching(
        &mut self,
        matches: impl Fn(&RawMessage) -> bool,
    ) -> RawMessage {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut skipped = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.messages.recv()).await {
                Ok(Some(message)) if matches(&message) => return message,
                Ok(Some(message)) => skipped.push(message),
                outcome => panic!(
                    "no matching message within 20 s ({}); seen: {skipped:#?}",
                    if outcome.is_ok() {
                        "connection closed"
                    } else {
                        "timed out"
                    }
                ),
            }
        }
    }

    /// Every message received so far or within `wait`.
    pub(crate) async fn drain(&mut self, wait: Duration) -> Vec<RawMessage> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, self.messages.recv()).await
        {
            messages.push(message);
        }
        messages
    }
}

impl Drop for RawSubscriber {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
