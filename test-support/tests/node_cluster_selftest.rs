//! Node-only clusters on a real redis-server: two `peer.mjs` servers, clients on both, and the two
//! emitters. Proves the tooling of `oxio_test_support::node` before Rust nodes join such clusters.

use std::time::Duration;

use oxio_test_support::node::{NodeClients, NodePeer, bin, date, eventually, run_emitter, sorted};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};

/// Clients 0 and 1 are on peer A, 2 and 3 on peer B.
const ALL: [usize; 4] = [0, 1, 2, 3];

async fn two_peers(redis: &RedisServer, mode: &str) -> (NodePeer, NodePeer) {
    let config = |name: &str| json!({ "name": name, "redis": redis.url(), "mode": mode, "namespaces": ["/admin"] });
    tokio::join!(NodePeer::start(config("A")), NodePeer::start(config("B")))
}

/// What both modes share: broadcast, rooms, fetchSockets, server-side events, acks.
async fn common_checks(a: &NodePeer, b: &NodePeer, clients: &NodeClients) {
    let ids = clients.ids().to_vec();
    assert_eq!(a.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(
        b.request(json!({ "op": "serverCount", "nsp": "/admin" }))
            .await,
        2
    );

    // A broadcast from A reaches every client once; binary and dates survive the trip.
    let args = json!(["world", 1, 1.5, null, { "a": [true] }, bin(&[1, 2, 3]), date("2000-06-13T00:00:00.000Z")]);
    a.request(json!({ "op": "emit", "event": "hello", "args": args }))
        .await;
    for event in clients.expect_each("hello", &ALL).await {
        let mut expected = args.clone();
        expected[6] = json!("2000-06-13T00:00:00.000Z");
        assert_eq!(event["args"], expected);
    }

    // Rooms: client 2 (on B) joins r1 through B; A emits to r1, and to everyone except r1.
    let rooms = b
        .request(json!({ "op": "socketJoin", "socket": ids[2], "rooms": ["r1"] }))
        .await;
    assert_eq!(sorted(&rooms), sorted(&json!([ids[2], "r1"])));
    a.request(json!({ "op": "emit", "to": ["r1"], "event": "to-r1", "args": [] }))
        .await;
    clients.expect_each("to-r1", &[2]).await;
    a.request(json!({ "op": "emit", "except": ["r1"], "flags": { "compress": false }, "event": "not-r1", "args": [] })).await;
    clients.expect_each("not-r1", &[0, 1, 3]).await;

    // fetchSockets from B sees A's sockets, with their data.
    let sockets = b.request(json!({ "op": "fetchSockets" })).await;
    let fetched: Vec<&Value> = sockets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(sorted(&json!(fetched)), sorted(&json!(ids)));
    let first = sockets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == ids[0])
        .expect("client 0");
    assert_eq!(first["data"], json!({ "peer": "A", "client": 0 }));
    assert!(first["handshake"]["issued"].is_u64(), "{first}");
    let in_r1 = a
        .request(json!({ "op": "fetchSockets", "to": ["r1"] }))
        .await;
    assert_eq!(in_r1.as_array().unwrap().len(), 1, "{in_r1}");

    // Server-side events, with and without ack.
    b.request(json!({ "op": "listen", "event": "ping", "ack": "pong-B" }))
        .await;
    let answer = a
        .request(json!({ "op": "serverSideEmitWithAck", "event": "ping", "args": [7] }))
        .await;
    assert_eq!(answer, json!({ "error": null, "responses": ["pong-B"] }));
    let received = b.events_until(|e| e["event"] == "serverSideEmit").await;
    assert_eq!(received.last().unwrap()["args"], json!([7]));

    // Broadcast with acks: every client answers once.
    let answer = b.request(json!({ "op": "emitWithAck", "flags": { "timeout": 5000 }, "event": "ask", "args": [] })).await;
    assert_eq!(answer["error"], Value::Null);
    assert_eq!(
        sorted(&answer["responses"]),
        ["ack-from-0", "ack-from-1", "ack-from-2", "ack-from-3"]
    );
    clients.expect_each("ask", &ALL).await;

    // socketsJoin from A moves B's sockets too (once B got the request through Redis).
    a.request(json!({ "op": "socketsJoin", "rooms": ["r2"] }))
        .await;
    eventually("B's sockets are in r2", || async {
        let connections = b.request(json!({ "op": "connections", "nsp": "/" })).await;
        connections
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["rooms"].as_array().unwrap().contains(&json!("r2")))
    })
    .await;
}

#[tokio::test]
async fn classic_node_cluster() {
    let redis = RedisServer::start();
    let (a, b) = two_peers(&redis, "classic").await;
    let clients = NodeClients::connect(&[a.url(), b.url()], "/", 2).await;
    common_checks(&a, &b, &clients).await;

    let rooms = a.request(json!({ "op": "allRooms" })).await;
    let mut expected = clients.ids().to_vec();
    expected.extend(["r1".to_owned(), "r2".to_owned()]);
    expected.sort();
    assert_eq!(sorted(&rooms), expected);

    // The 5.x emitter and the legacy 3.2.0 one reach every client of both peers.
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "emit", "event": "v5", "args": [bin(&[9]), { "k": "v" }] },
        { "op": "emit", "in": "r1", "compress": false, "event": "v5-r1", "args": [] },
        { "emitter": "legacy", "op": "emit", "event": "legacy", "args": ["x", bin(&[4, 5])] },
        { "emitter": "legacy", "op": "emit", "to": ["r1"], "flags": ["json"], "event": "legacy-r1", "args": [] },
    ] }))
    .await;
    for event in clients.expect_each("v5", &ALL).await {
        assert_eq!(event["args"], json!([bin(&[9]), { "k": "v" }]));
    }
    clients.expect_each("v5-r1", &[2]).await;
    for event in clients.expect_each("legacy", &ALL).await {
        assert_eq!(event["args"], json!(["x", bin(&[4, 5])]));
    }
    clients.expect_each("legacy-r1", &[2]).await;

    // Emitter requests: serverSideEmit reaches both peers, socketsJoin and disconnectSockets
    // act on both.
    a.request(json!({ "op": "listen", "event": "ping" })).await;
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "serverSideEmit", "event": "ping", "args": ["from-emitter"] },
        { "op": "socketsJoin", "except": "r1", "rooms": ["r3"] },
    ] }))
    .await;
    for peer in [&a, &b] {
        let received = peer.events_until(|e| e["event"] == "serverSideEmit").await;
        assert_eq!(received.last().unwrap()["args"], json!(["from-emitter"]));
    }
    eventually("clients 0, 1 and 3 are in r3", || async {
        let rooms = a.request(json!({ "op": "allRooms" })).await;
        let in_r3 = a
            .request(json!({ "op": "fetchSockets", "to": ["r3"] }))
            .await;
        sorted(&rooms).contains(&"r3".to_owned()) && in_r3.as_array().unwrap().len() == 3
    })
    .await;
    run_emitter(json!({ "redis": redis.url(), "ops": [{ "op": "disconnectSockets", "in": "r1", "close": true }] })).await;
    let disconnect = clients.expect_each("disconnect", &[2]).await;
    assert_eq!(disconnect[0]["args"], json!(["io server disconnect"]));

    // Nothing arrived twice.
    let extra = clients.drain(Duration::from_millis(300)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");

    // Garbage: Node ignores an unknown request type, but dies of a broadcast that is not msgpack.
    redis.command(&["PUBLISH", "socket.io-request#/#", r#"{"type":99}"#]);
    assert_eq!(
        b.request(json!({ "op": "ping" })).await,
        json!({ "event": "alive" })
    );
    redis.command(&["PUBLISH", "socket.io#/#", "hello"]);
    let crash = b.events_until(|e| e["event"] == "crash").await;
    assert!(crash.last().unwrap()["message"].is_string());
    let status = b.wait_exit(Duration::from_secs(10)).await.expect("B exits");
    assert!(!status.success());
    tokio::join!(a.exit(), b.exit(), clients.exit());
}

#[tokio::test]
async fn sharded_node_cluster() {
    let redis = RedisServer::start();
    let (a, b) = two_peers(&redis, "sharded").await;
    let clients = NodeClients::connect(&[a.url(), b.url()], "/", 2).await;
    common_checks(&a, &b, &clients).await;

    // The sharded adapter has no allRooms; the emitters (plain PUBLISH) cannot reach it.
    let error = a
        .try_request(json!({ "op": "allRooms" }))
        .await
        .unwrap_err();
    assert!(error.contains("not supported"), "{error}");
    run_emitter(
        json!({ "redis": redis.url(), "ops": [{ "op": "emit", "event": "v5", "args": [] }] }),
    )
    .await;

    let extra = clients.drain(Duration::from_millis(300)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
    tokio::join!(a.exit(), b.exit(), clients.exit());
}
