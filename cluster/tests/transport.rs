//! The Redis transport against real `redis-server` processes: a single server and a 3-master
//! cluster, round trips of every subscription kind, subscriber counts, restarts, order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxio_cluster::redis::transport::{
    ChannelKind, IncomingMessage, PublishError, RedisTarget, SubscriptionKind, Transport,
    TransportConfig, TransportError,
};
use oxio_test_support::redis::{RedisCluster, RedisServer, command};
use tokio::sync::mpsc;

/// Generous, for a loaded machine; waits return as soon as the condition holds.
const WAIT: Duration = Duration::from_secs(20);

type Inbox = mpsc::UnboundedReceiver<IncomingMessage>;

/// Quick reconnects, so that restart tests stay short.
fn config() -> TransportConfig {
    TransportConfig {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        health_check: Duration::from_secs(1),
        ..TransportConfig::default()
    }
}

/// A connected transport and the messages it receives.
async fn connect(target: RedisTarget) -> (Arc<Transport>, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let on_message = Arc::new(move |message| {
        let _ = tx.send(message);
    });
    let transport = Transport::connect_with(target, config(), on_message).unwrap();
    assert!(transport.wait_connected(WAIT).await, "not connected");
    (transport, rx)
}

async fn single(server: &RedisServer) -> (Arc<Transport>, Inbox) {
    connect(RedisTarget::Single(server.url())).await
}

async fn clustered(cluster: &RedisCluster, seed: usize) -> (Arc<Transport>, Inbox) {
    let mut seeds = cluster.urls();
    seeds.rotate_left(seed);
    connect(RedisTarget::Cluster(seeds)).await
}

async fn next(inbox: &mut Inbox) -> IncomingMessage {
    tokio::time::timeout(WAIT, inbox.recv())
        .await
        .expect("no message in time")
        .expect("inbox closed")
}

/// Publishes `payload` and expects it back as a `kind` message on `channel`.
async fn round_trip(
    publisher: &Transport,
    inbox: &mut Inbox,
    kind: SubscriptionKind,
    channel: &str,
    payload: &str,
) -> IncomingMessage {
    let space = match kind {
        SubscriptionKind::Shard => ChannelKind::Shard,
        _ => ChannelKind::Classic,
    };
    publisher
        .publish(space, channel, Bytes::from(payload.to_owned()))
        .unwrap();
    let message = next(inbox).await;
    assert_eq!(message.kind, kind);
    assert_eq!(&message.channel[..], channel.as_bytes());
    assert_eq!(&message.payload[..], payload.as_bytes());
    message
}

/// Subscribes to one channel of each kind.
async fn subscribe_all(transport: &Transport, channel: &str, pattern: &str, shard: &str) {
    transport
        .subscribe(SubscriptionKind::Channel, channel)
        .await
        .unwrap();
    transport
        .subscribe(SubscriptionKind::Pattern, pattern)
        .await
        .unwrap();
    transport
        .subscribe(SubscriptionKind::Shard, shard)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_round_trips_and_unsubscribe() {
    let server = RedisServer::start();
    let (a, mut inbox) = single(&server).await;
    let (b, _) = single(&server).await;
    subscribe_all(&a, "chan", "pat#*", "shard").await;

    round_trip(&b, &mut inbox, SubscriptionKind::Channel, "chan", "one").await;
    let m = round_trip(&b, &mut inbox, SubscriptionKind::Pattern, "pat#x#", "two").await;
    assert_eq!(m.pattern.as_deref(), Some(&b"pat#*"[..]));
    round_trip(&b, &mut inbox, SubscriptionKind::Shard, "shard", "three").await;
    // Its own messages come back too.
    round_trip(&a, &mut inbox, SubscriptionKind::Channel, "chan", "four").await;

    a.unsubscribe(SubscriptionKind::Channel, "chan")
        .await
        .unwrap();
    a.unsubscribe(SubscriptionKind::Shard, "shard")
        .await
        .unwrap();
    b.publish(ChannelKind::Classic, "chan", Bytes::from("lost"))
        .unwrap();
    b.publish(ChannelKind::Shard, "shard", Bytes::from("lost"))
        .unwrap();
    round_trip(
        &b,
        &mut inbox,
        SubscriptionKind::Pattern,
        "pat#y#",
        "marker",
    )
    .await;
    a.unsubscribe(SubscriptionKind::Pattern, "pat#*")
        .await
        .unwrap();
    assert_eq!(a.numsub(ChannelKind::Classic, "chan").await, Ok(0));

    a.close().await;
    assert_eq!(
        a.subscribe(SubscriptionKind::Channel, "x").await,
        Err(TransportError::Closed)
    );
    assert_eq!(
        a.publish(ChannelKind::Classic, "x", Bytes::new()),
        Err(PublishError::Closed)
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_numsub_counts_one_per_transport() {
    let server = RedisServer::start();
    let (a, _) = single(&server).await;
    let (b, _) = single(&server).await;
    for kind in [SubscriptionKind::Channel, SubscriptionKind::Shard] {
        let space = if kind == SubscriptionKind::Shard {
            ChannelKind::Shard
        } else {
            ChannelKind::Classic
        };
        assert_eq!(a.numsub(space, "req").await, Ok(0));
        a.subscribe(kind, "req").await.unwrap();
        a.subscribe(kind, "req").await.unwrap();
        assert_eq!(a.numsub(space, "req").await, Ok(1), "{kind:?}");
        b.subscribe(kind, "req").await.unwrap();
        assert_eq!(b.numsub(space, "req").await, Ok(2), "{kind:?}");
        a.unsubscribe(kind, "req").await.unwrap();
        assert_eq!(a.numsub(space, "req").await, Ok(1), "{kind:?}");
    }
    // The other space is separate.
    assert_eq!(a.numsub(ChannelKind::Classic, "none").await, Ok(0));
}

/// Shard channels whose slots live on three different masters, in master order.
fn spread_channels(cluster: &RedisCluster) -> Vec<String> {
    let mut found: Vec<Option<String>> = vec![None; cluster.nodes().len()];
    for i in 0.. {
        let channel = format!("socket.io#/#room{i}#");
        let owner = cluster.owner_of(&channel);
        found[owner].get_or_insert(channel);
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found.into_iter().flatten().collect()
}

/// `PUBSUB <sub> channel` summed over every node, asked directly.
fn raw_count(cluster: &RedisCluster, sub: &str, channel: &str) -> usize {
    cluster
        .nodes()
        .iter()
        .map(|node| {
            let reply = command(node.port(), &["PUBSUB", sub, channel]).unwrap_or_default();
            reply
                .lines()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_round_trips_and_numsub() {
    let cluster = RedisCluster::start(3);
    let shards = spread_channels(&cluster);
    assert_eq!(shards.len(), 3);
    let (a, mut inbox) = clustered(&cluster, 0).await;
    let (b, _) = clustered(&cluster, 2).await;

    a.subscribe(SubscriptionKind::Channel, "chan")
        .await
        .unwrap();
    a.subscribe(SubscriptionKind::Channel, "chan")
        .await
        .unwrap();
    a.subscribe(SubscriptionKind::Pattern, "pat#*")
        .await
        .unwrap();
    for shard in &shards {
        a.subscribe(SubscriptionKind::Shard, shard).await.unwrap();
        a.subscribe(SubscriptionKind::Shard, shard).await.unwrap();
    }
    round_trip(&b, &mut inbox, SubscriptionKind::Channel, "chan", "one").await;
    let m = round_trip(&b, &mut inbox, SubscriptionKind::Pattern, "pat#z", "two").await;
    assert_eq!(m.pattern.as_deref(), Some(&b"pat#*"[..]));
    for shard in &shards {
        round_trip(&b, &mut inbox, SubscriptionKind::Shard, shard, shard).await;
    }

    assert_eq!(a.numsub(ChannelKind::Classic, "chan").await, Ok(1));
    assert_eq!(raw_count(&cluster, "NUMSUB", "chan"), 1);
    b.subscribe(SubscriptionKind::Channel, "chan")
        .await
        .unwrap();
    assert_eq!(a.numsub(ChannelKind::Classic, "chan").await, Ok(2));
    assert_eq!(raw_count(&cluster, "NUMSUB", "chan"), 2);
    for shard in &shards {
        assert_eq!(a.numsub(ChannelKind::Shard, shard).await, Ok(1));
        b.subscribe(SubscriptionKind::Shard, shard).await.unwrap();
        assert_eq!(b.numsub(ChannelKind::Shard, shard).await, Ok(2));
        assert_eq!(raw_count(&cluster, "SHARDNUMSUB", shard), 2);
    }

    a.unsubscribe(SubscriptionKind::Shard, &shards[1])
        .await
        .unwrap();
    assert_eq!(a.numsub(ChannelKind::Shard, &shards[1]).await, Ok(1));
    b.publish(ChannelKind::Shard, &shards[1], Bytes::from("lost"))
        .unwrap();
    round_trip(
        &b,
        &mut inbox,
        SubscriptionKind::Shard,
        &shards[2],
        "marker",
    )
    .await;
    a.close().await;
    b.close().await;
}

/// Waits until `transport` noticed the server is gone.
async fn wait_disconnected(transport: &Transport) {
    let deadline = Instant::now() + WAIT;
    while transport.is_connected() {
        assert!(Instant::now() < deadline, "still connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_restart_resubscribes() {
    let mut server = RedisServer::start();
    let (a, mut inbox) = single(&server).await;
    subscribe_all(&a, "chan", "pat#*", "shard").await;

    server.kill();
    wait_disconnected(&a).await;
    let started = Instant::now();
    for i in 0..10_000 {
        let result = a.publish(ChannelKind::Classic, "chan", Bytes::from(format!("{i}")));
        assert_eq!(result, Err(PublishError::Disconnected));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "publishing blocked"
    );
    assert_eq!(
        a.numsub(ChannelKind::Classic, "chan").await,
        Err(TransportError::Disconnected)
    );
    // Wanted while down: established with the next connection.
    let late = a.subscribe(SubscriptionKind::Channel, "late").await;
    assert_eq!(late, Err(TransportError::Disconnected));

    server.restart();
    assert!(a.wait_connected(WAIT).await, "no reconnect");
    let (b, _) = single(&server).await;
    round_trip(&b, &mut inbox, SubscriptionKind::Channel, "chan", "one").await;
    round_trip(&b, &mut inbox, SubscriptionKind::Pattern, "pat#q", "two").await;
    round_trip(&b, &mut inbox, SubscriptionKind::Shard, "shard", "three").await;
    round_trip(&b, &mut inbox, SubscriptionKind::Channel, "late", "four").await;
    assert_eq!(b.numsub(ChannelKind::Classic, "chan").await, Ok(1));
    assert_eq!(b.numsub(ChannelKind::Shard, "shard").await, Ok(1));
    round_trip(&a, &mut inbox, SubscriptionKind::Channel, "chan", "own").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_master_restart_resubscribes() {
    let mut cluster = RedisCluster::start(3);
    let shards = spread_channels(&cluster);
    let (a, mut inbox) = clustered(&cluster, 0).await;
    a.subscribe(SubscriptionKind::Channel, "chan")
        .await
        .unwrap();
    for shard in &shards {
        a.subscribe(SubscriptionKind::Shard, shard).await.unwrap();
    }

    cluster.node_mut(1).kill();
    wait_disconnected(&a).await;
    cluster.node_mut(1).restart();
    assert!(a.wait_connected(WAIT).await, "no reconnect");
    let (b, _) = clustered(&cluster, 2).await;
    round_trip(&b, &mut inbox, SubscriptionKind::Channel, "chan", "one").await;
    for shard in &shards {
        round_trip(&b, &mut inbox, SubscriptionKind::Shard, shard, "two").await;
        assert_eq!(b.numsub(ChannelKind::Shard, shard).await, Ok(1));
    }
    assert_eq!(b.numsub(ChannelKind::Classic, "chan").await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_messages_keep_their_order() {
    const COUNT: usize = 30_000;
    let server = RedisServer::start();
    let (a, mut inbox) = single(&server).await;
    a.subscribe(SubscriptionKind::Channel, "one").await.unwrap();
    a.subscribe(SubscriptionKind::Shard, "two").await.unwrap();
    let (b, _) = single(&server).await;
    for i in 0..COUNT {
        let (kind, channel) = if i % 2 == 0 {
            (ChannelKind::Classic, "one")
        } else {
            (ChannelKind::Shard, "two")
        };
        b.publish(kind, channel, Bytes::from(i.to_string()))
            .unwrap();
    }
    let mut last = [None::<usize>; 2];
    for _ in 0..COUNT {
        let message = next(&mut inbox).await;
        let n: usize = std::str::from_utf8(&message.payload)
            .unwrap()
            .parse()
            .unwrap();
        let lane = &mut last[n % 2];
        assert!(lane.is_none_or(|prev| prev + 2 == n), "{n} after {lane:?}");
        *lane = Some(n);
    }
    assert_eq!(last, [Some(COUNT - 2), Some(COUNT - 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_neither_blocks_nor_panics() {
    let err = Transport::connect(RedisTarget::Single("nope://".into()), Arc::new(|_| {}));
    assert!(matches!(err, Err(TransportError::InvalidUrl(_))));
    assert!(matches!(
        Transport::connect(RedisTarget::Cluster(vec![]), Arc::new(|_| {})),
        Err(TransportError::InvalidUrl(_))
    ));

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for target in [
        RedisTarget::Single(format!("redis://127.0.0.1:{port}/")),
        RedisTarget::Cluster(vec![format!("redis://127.0.0.1:{port}/")]),
    ] {
        let t = Transport::connect_with(target, config(), Arc::new(|_| {})).unwrap();
        assert!(!t.wait_connected(Duration::from_millis(300)).await);
        assert_eq!(
            t.publish(ChannelKind::Classic, "c", Bytes::new()),
            Err(PublishError::Disconnected)
        );
        assert_eq!(
            t.subscribe(SubscriptionKind::Pattern, "p*").await,
            Err(TransportError::Disconnected)
        );
        assert_eq!(t.unsubscribe(SubscriptionKind::Pattern, "p*").await, Ok(()));
        assert_eq!(
            t.numsub(ChannelKind::Shard, "c").await,
            Err(TransportError::Disconnected)
        );
        t.close().await;
    }
}
