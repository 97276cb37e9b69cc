//! Resilience of mixed clusters (spec §9, scenario 13): Node socket.io servers with
//! `@socket.io/redis-adapter` and oxio servers on real Redis processes.
//!
//! - Redis restarts: both sides subscribe again and broadcasts resume both ways, while oxio keeps
//!   delivering to its own clients and answers cluster queries locally (and promptly) during the
//!   outage.
//! - A Node node that stops answering, or is killed while a `fetchSockets` waits for it: the
//!   requester fails with Node's timeout text, then the cluster heals.
//! - A 3-master Redis Cluster, classic and sharded: broadcasts, rooms on every master, server
//!   counts summed over the masters, fetchSockets and server-side emits with ack, both ways.

mod cluster_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::redis::transport::RedisTarget;
use oxio_cluster::redis::{AdapterMode, RedisAdapterOptions, SubscriptionMode};
use oxio_server::{Args, ClusterError, RemoteSocket};
use oxio_test_support::node::{NodeClients, NodePeer, eventually};
use oxio_test_support::redis::{RedisCluster, RedisServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The requests timeout of every node of these tests (Node's `requestsTimeout`).
const REQUESTS_TIMEOUT: Duration = Duration::from_millis(1500);
/// Node's rejection text when a node does not answer a fetchSockets in time.
const FETCH_TIMEOUT_TEXT: &str = "timeout reached while waiting for fetchSockets response";
/// How much later than the requests timeout a timed-out request may return on a loaded machine.
const SLACK: Duration = Duration::from_secs(5);

/// The classic adapter on `target` with [`REQUESTS_TIMEOUT`].
fn classic(name: &str, target: RedisTarget) -> NodeOptions {
    NodeOptions {
        name: name.to_owned(),
        redis: RedisAdapterOptions::new(target).mode(AdapterMode::Classic {
            requests_timeout: REQUESTS_TIMEOUT,
            publish_on_specific_response_channel: false,
        }),
        listen: Vec::new(),
    }
}

/// A classic Node peer on one Redis with [`REQUESTS_TIMEOUT`].
async fn node_peer(name: &str, redis: &RedisServer) -> NodePeer {
    NodePeer::start(json!({
        "name": name,
        "redis": redis.url(),
        "mode": "classic",
        "adapter": { "requestsTimeout": REQUESTS_TIMEOUT.as_millis() as u64 },
    }))
    .await
}

fn ids_of(sockets: &[RemoteSocket]) -> BTreeSet<String> {
    sockets.iter().map(|s| s.id().to_owned()).collect()
}

/// The `id`s of a Node `fetchSockets` answer.
fn node_ids(sockets: &Value) -> BTreeSet<String> {
    sockets
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {sockets}"))
        .iter()
        .map(|s| s["id"].as_str().expect("socket id").to_owned())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).clone()).collect()
}

/// Sends `signal` (`STOP`, `CONT`) to process `pid`.
fn signal(name: &str, pid: u64) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

fn pid_of(peer: &NodePeer) -> u64 {
    peer.ready()["pid"].as_u64().expect("ready.pid")
}

/// `PUBSUB <subcommand> <channel>` on every master, summed.
fn numsub_sum(cluster: &RedisCluster, subcommand: &str, channel: &str) -> u64 {
    cluster
        .nodes()
        .iter()
        .map(|node| {
            let reply = node.command(&["PUBSUB", subcommand, channel]);
            reply
                .lines()
                .last()
                .and_then(|count| count.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("PUBSUB {subcommand} reply {reply:?}"))
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// (a) Redis restart
// ---------------------------------------------------------------------------------------------

/// Takes every client event queued or arriving within `wait`; fails on a `while-down` event
/// reaching the Node client (a message published while Redis was down must not be replayed).
async fn drain_checked(clients: &NodeClients, wait: Duration) -> Vec<Value> {
    let events = clients.drain(wait).await;
    let replayed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "while-down" && e["client"] != 1)
        .collect();
    assert!(
        replayed.is_empty(),
        "a message emitted while Redis was down reached another server: {replayed:#?}"
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_resubscribes_both_sides() {
    support::install_panic_hook();
    let mut redis = RedisServer::start();
    let node = node_peer("A", &redis).await;
    let oxio = OxioNode::start(classic("B", RedisTarget::Single(redis.url()))).await;
    // Client 0 is on the Node server, client 1 on oxio.
    let clients = NodeClients::connect(&[node.url(), oxio.url()], "/", 1).await;
    let ids = clients.ids().to_vec();
    let (node, clients, oxio_ref) = (&node, &clients, &oxio);

    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(oxio.io.of("/").server_count().await, 2);
    node.request(json!({ "op": "emit", "event": "before-n2o", "args": [1] }))
        .await;
    clients.expect_each("before-n2o", &[0, 1]).await;
    oxio.io.emit("before-o2n", &1).expect("emit");
    clients.expect_each("before-o2n", &[0, 1]).await;

    redis.kill();

    // Local delivery goes on while Redis is down.
    oxio.io.emit("while-down", &"local").expect("emit");
    let got = clients.expect_each("while-down", &[1]).await;
    assert_eq!(got[0]["args"], json!(["local"]));

    // Cluster queries right after the crash: the transport may not have noticed it yet. They
    // must come back promptly: the local sockets (Redis unreachable counts as one server), or a
    // cluster error, never a hang.
    let started = Instant::now();
    let outcome = tokio::time::timeout(REQUESTS_TIMEOUT + SLACK, oxio.io.fetch_sockets())
        .await
        .expect("fetch_sockets hangs while Redis is down");
    match outcome {
        Ok(sockets) => assert!(
            ids_of(&sockets).contains(&ids[1]),
            "the local socket is missing: {sockets:?}"
        ),
        Err(ClusterError::Timeout(text)) => assert_eq!(text, FETCH_TIMEOUT_TEXT),
        Err(ClusterError::Unavailable(_)) => {}
    }
    assert!(started.elapsed() < REQUESTS_TIMEOUT + SLACK);

    // Once the loss is noticed: local answers at once, without waiting for any timeout.
    eventually("oxio notices that Redis is gone", || async {
        !oxio_ref.cluster.transport().is_connected()
    })
    .await;
    let started = Instant::now();
    let sockets = oxio.io.fetch_sockets().await.expect("local fetch_sockets");
    assert_eq!(ids_of(&sockets), set(&[&ids[1]]));
    assert!(sockets[0].as_local().is_some());
    assert_eq!(oxio.io.of("/").server_count().await, 1);
    let rooms = oxio.io.of("/").all_rooms().await.expect("local all_rooms");
    assert!(rooms.iter().any(|room| **room == *ids[1]), "{rooms:?}");
    assert!(
        started.elapsed() < REQUESTS_TIMEOUT,
        "local answers took {:?} while Redis is down",
        started.elapsed()
    );
    oxio.io.emit("while-down", &"again").expect("emit");
    clients.expect_each("while-down", &[1]).await;

    tokio::task::block_in_place(|| redis.restart());

    // Both sides subscribe again: each counts itself and the other.
    eventually("oxio counts both servers again", || async {
        oxio_ref.io.of("/").server_count().await == 2
    })
    .await;
    eventually("Node counts both servers again", || async {
        node.request(json!({ "op": "serverCount" })).await == 2
    })
    .await;

    // Broadcasts resume both ways (emitted again until one arrives: a message published before
    // a subscriber is back is lost by design).
    eventually("a Node broadcast reaches the oxio client", || async {
        node.request(json!({ "op": "emit", "event": "resume-n2o", "args": [] }))
            .await;
        drain_checked(clients, Duration::from_millis(300))
            .await
            .iter()
            .any(|e| e["event"] == "resume-n2o" && e["client"] == 1)
    })
    .await;
    eventually("an oxio broadcast reaches the Node client", || async {
        oxio_ref.io.emit("resume-o2n", &()).expect("emit");
        drain_checked(clients, Duration::from_millis(300))
            .await
            .iter()
            .any(|e| e["event"] == "resume-o2n" && e["client"] == 0)
    })
    .await;

    // Now exactly once, both ways, and the requests and responses work again both ways.
    node.request(json!({ "op": "emit", "event": "after-n2o", "args": ["x"] }))
        .await;
    clients.expect_each("after-n2o", &[0, 1]).await;
    oxio.io.emit("after-o2n", &"y").expect("emit");
    clients.expect_each("after-o2n", &[0, 1]).await;
    let sockets = oxio
        .io
        .fetch_sockets()
        .await
        .expect("fetch_sockets after restart");
    assert_eq!(ids_of(&sockets), set(&[&ids[0], &ids[1]]));
    let fetched = node.request(json!({ "op": "fetchSockets" })).await;
    assert_eq!(node_ids(&fetched), set(&[&ids[0], &ids[1]]));
    clients
        .assert_no("after-n2o", Duration::from_millis(500))
        .await;
    clients.assert_no("after-o2n", Duration::ZERO).await;
    drain_checked(clients, Duration::ZERO).await;
    support::assert_no_panics();
}

// ---------------------------------------------------------------------------------------------
// (b) A Node node that does not answer, or dies, during fetchSockets
// ---------------------------------------------------------------------------------------------

/// A `PSUBSCRIBE` connection to Redis (which `PUBSUB NUMSUB` does not count) that reports the
/// JSON payload of every message on the matching channels.
struct Watcher {
    messages: mpsc::UnboundedReceiver<Value>,
}

impl Watcher {
    async fn start(port: u16, pattern: &str) -> Watcher {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to Redis");
        let (read, mut write) = stream.into_split();
        let command = format!(
            "*2\r\n$10\r\nPSUBSCRIBE\r\n${}\r\n{pattern}\r\n",
            pattern.len()
        );
        write
            .write_all(command.as_bytes())
            .await
            .expect("PSUBSCRIBE");
        let mut lines = BufReader::new(read).lines();
        // The confirmation: *3, $10, psubscribe, $n, pattern, :1.
        for _ in 0..6 {
            lines
                .next_line()
                .await
                .expect("read")
                .expect("confirmation");
        }
        let (tx, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _write = write;
            // Payloads are JSON without line breaks; every other line of the reply is framing.
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && value.is_object()
                {
                    let _ = tx.send(value);
                }
            }
        });
        Watcher { messages }
    }

    /// Waits for a message that satisfies `matches`.
    async fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let message = self.messages.recv().await.expect("watcher connection");
                if matches(&message) {
                    return message;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {what} within 20 s"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_killed_node_fails_fetch_sockets_with_nodes_timeout() {
    support::install_panic_hook();
    let redis = RedisServer::start();
    let (a, c) = tokio::join!(node_peer("A", &redis), node_peer("C", &redis));
    let oxio = OxioNode::start(classic("B", RedisTarget::Single(redis.url()))).await;
    // Client 0 on A, 1 on oxio, 2 on C.
    let clients = NodeClients::connect(&[a.url(), oxio.url(), c.url()], "/", 1).await;
    let ids = clients.ids().to_vec();
    let all = set(&[&ids[0], &ids[1], &ids[2]]);

    assert_eq!(oxio.io.of("/").server_count().await, 3);
    assert_eq!(a.request(json!({ "op": "serverCount" })).await, 3);
    let sockets = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    assert_eq!(ids_of(&sockets), all);

    // C stays subscribed (it is counted) but never answers.
    signal("STOP", pid_of(&c));
    let started = Instant::now();
    let error = oxio
        .io
        .fetch_sockets()
        .await
        .expect_err("a node did not answer");
    let elapsed = started.elapsed();
    match &error {
        ClusterError::Timeout(text) => assert_eq!(text, FETCH_TIMEOUT_TEXT),
        other => panic!("expected the timeout error, got {other:?}"),
    }
    assert_eq!(error.to_string(), FETCH_TIMEOUT_TEXT);
    assert!(
        elapsed >= REQUESTS_TIMEOUT - Duration::from_millis(50)
            && elapsed < REQUESTS_TIMEOUT + SLACK,
        "timed out after {elapsed:?}"
    );
    match oxio.io.of("/").all_rooms().await {
        Err(ClusterError::Timeout(text)) => {
            assert_eq!(text, "timeout reached while waiting for allRooms response");
        }
        other => panic!("expected the allRooms timeout, got {other:?}"),
    }
    // The Node requester fails the same way (oxio answers it, C does not).
    let node_error = a
        .try_request(json!({ "op": "fetchSockets" }))
        .await
        .expect_err("Node's fetchSockets must time out");
    assert_eq!(node_error, FETCH_TIMEOUT_TEXT);

    // C wakes up (answering the stale requests, which the requesters ignore): all is well again.
    signal("CONT", pid_of(&c));
    let sockets = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    assert_eq!(ids_of(&sockets), all);

    // C dies while a fetchSockets of oxio waits for it: stopped first so that it cannot answer,
    // killed once the request is on Redis (the count of 3 was taken before).
    let mut watcher = Watcher::start(redis.port(), "socket.io-request#*").await;
    signal("STOP", pid_of(&c));
    let fetch = async {
        let started = Instant::now();
        (oxio.io.fetch_sockets().await, started.elapsed())
    };
    let kill = async {
        watcher
            .wait_for("REMOTE_FETCH request", |m| m["type"] == 5)
            .await;
        c.kill().await;
    };
    let ((outcome, elapsed), ()) = tokio::join!(fetch, kill);
    match outcome {
        Err(ClusterError::Timeout(text)) => assert_eq!(text, FETCH_TIMEOUT_TEXT),
        other => panic!("expected the timeout error, got {other:?}"),
    }
    assert!(
        elapsed < REQUESTS_TIMEOUT + SLACK,
        "timed out after {elapsed:?}"
    );

    // The dead node's subscriptions are gone with its connections: two servers, both answer.
    let oxio_ref = &oxio;
    eventually("oxio counts two servers", || async {
        oxio_ref.io.of("/").server_count().await == 2
    })
    .await;
    assert_eq!(a.request(json!({ "op": "serverCount" })).await, 2);
    let sockets = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    assert_eq!(ids_of(&sockets), set(&[&ids[0], &ids[1]]));
    let fetched = a.request(json!({ "op": "fetchSockets" })).await;
    assert_eq!(node_ids(&fetched), set(&[&ids[0], &ids[1]]));
    a.request(json!({ "op": "emit", "event": "still-there", "args": [] }))
        .await;
    clients.expect_each("still-there", &[0, 1]).await;
    clients
        .assert_no("still-there", Duration::from_millis(300))
        .await;
    support::assert_no_panics();
}

// ---------------------------------------------------------------------------------------------
// (c) A 3-master Redis Cluster
// ---------------------------------------------------------------------------------------------

/// Three room names whose sharded channels `socket.io#/#<room>#` live on masters 0, 1 and 2.
fn rooms_on_each_master(cluster: &RedisCluster) -> Vec<String> {
    (0..cluster.nodes().len())
        .map(|master| {
            (0..)
                .map(|i| format!("room-{i}"))
                .find(|room| cluster.owner_of(&format!("socket.io#/#{room}#")) == master)
                .expect("some room hashes to every master")
        })
        .collect()
}

/// Node peer A and oxio B on a fresh 3-master cluster, with `mode` (`classic` or `sharded`).
async fn cluster_suite(mode: &str) {
    support::install_panic_hook();
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3))
        .await
        .expect("cluster start");
    let urls = cluster.urls();
    let rooms = rooms_on_each_master(&cluster);
    let owners: BTreeSet<usize> = rooms
        .iter()
        .map(|room| cluster.owner_of(&format!("socket.io#/#{room}#")))
        .collect();
    assert_eq!(owners.len(), 3, "{rooms:?}");

    let node = NodePeer::start(json!({
        "name": "A",
        "cluster": urls,
        "mode": mode,
        "adapter": { "requestsTimeout": 5000 },
        "listen": [{ "nsp": "/", "event": "ping", "ack": "pong-A" }],
    }))
    .await;
    let mut options = classic("B", RedisTarget::Cluster(urls.clone()));
    if mode == "sharded" {
        options.redis.mode = AdapterMode::Sharded {
            subscription_mode: SubscriptionMode::Dynamic,
        };
    }
    let oxio = OxioNode::start(options.listen("/", "ping", Some(json!("pong-B")))).await;

    // Clients 0 and 1 on the Node server, 2 and 3 on oxio; each room has members on both sides
    // but client 1 is in rooms[2] only and client 3 in rooms[1] only.
    let joins = [
        (node.url(), vec![&rooms[0], &rooms[1]]),
        (node.url(), vec![&rooms[2]]),
        (oxio.url(), vec![&rooms[0], &rooms[2]]),
        (oxio.url(), vec![&rooms[1]]),
    ];
    let config: Vec<Value> = joins
        .iter()
        .enumerate()
        .map(|(i, (url, join))| json!({ "url": url, "nsp": "/", "auth": { "client": i, "join": join } }))
        .collect();
    let clients = NodeClients::start(json!({ "clients": config })).await;
    let ids = clients.ids().to_vec();
    let members = |room: usize| -> Vec<usize> {
        (0..4)
            .filter(|&client| joins[client].1.contains(&&rooms[room]))
            .collect()
    };

    // serverCount from both sides, and what the masters say summed.
    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(oxio.io.of("/").server_count().await, 2);
    let (subcommand, channel) = match mode {
        "sharded" => ("SHARDNUMSUB", "socket.io#/#"),
        _ => ("NUMSUB", "socket.io-request#/#"),
    };
    assert_eq!(numsub_sum(&cluster, subcommand, channel), 2);

    // Broadcasts to everyone, both ways.
    node.request(json!({ "op": "emit", "event": "all-n2o", "args": [mode] }))
        .await;
    clients.expect_each("all-n2o", &[0, 1, 2, 3]).await;
    oxio.io.emit("all-o2n", &mode).expect("emit");
    for event in clients.expect_each("all-o2n", &[0, 1, 2, 3]).await {
        assert_eq!(event["args"], json!([mode]));
    }

    // One room per master, both ways.
    for (i, room) in rooms.iter().enumerate() {
        let expected = members(i);
        node.request(json!({ "op": "emit", "to": [room], "event": "room-n2o", "args": [room] }))
            .await;
        for event in clients.expect_each("room-n2o", &expected).await {
            assert_eq!(event["args"], json!([room]));
        }
        oxio.io
            .to(room.as_str())
            .emit("room-o2n", room)
            .expect("emit");
        for event in clients.expect_each("room-o2n", &expected).await {
            assert_eq!(event["args"], json!([room]));
        }
    }

    // fetchSockets both ways, all and in one room.
    let sockets = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    assert_eq!(ids_of(&sockets), ids.iter().cloned().collect());
    let remote = sockets.iter().find(|s| s.id() == ids[0]).expect("client 0");
    assert_eq!(remote.data()["peer"], "A");
    let in_room: BTreeSet<String> = members(1).iter().map(|&c| ids[c].clone()).collect();
    let sockets = oxio
        .io
        .to(rooms[1].as_str())
        .fetch_sockets()
        .await
        .expect("fetch_sockets");
    assert_eq!(ids_of(&sockets), in_room);
    let fetched = node.request(json!({ "op": "fetchSockets" })).await;
    assert_eq!(node_ids(&fetched), ids.iter().cloned().collect());
    let fetched = node
        .request(json!({ "op": "fetchSockets", "to": [rooms[1]] }))
        .await;
    assert_eq!(node_ids(&fetched), in_room);
    let b_socket = fetched
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == ids[3])
        .expect("client 3");
    assert_eq!(b_socket["data"]["peer"], "B");

    // Server-side emits with ack, both ways.
    let responses = oxio
        .io
        .of("/")
        .server_side_emit_with_ack("ping", Args::new().arg(&1))
        .await
        .expect("server-side ack from A");
    let responses: Vec<Vec<Value>> = responses.iter().map(|p| p.to_values()).collect();
    assert_eq!(responses, vec![vec![json!("pong-A")]]);
    let answer = node
        .request(json!({ "op": "serverSideEmitWithAck", "event": "ping", "args": [2] }))
        .await;
    assert_eq!(answer, json!({ "error": null, "responses": ["pong-B"] }));
    let events = oxio.server_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].args, vec![json!(2)]);
    let received = node
        .request(json!({ "op": "received", "event": "ping" }))
        .await;
    assert_eq!(received[0]["args"], json!([1]), "{received}");

    for event in ["all-n2o", "all-o2n", "room-n2o", "room-o2n"] {
        clients.assert_no(event, Duration::from_millis(200)).await;
    }
    support::assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_classic() {
    cluster_suite("classic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_sharded() {
    cluster_suite("sharded").await;
}
