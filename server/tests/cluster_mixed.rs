//! Mixed clusters on one real Redis: a Node socket.io server with `@socket.io/redis-adapter`
//! (classic) and an oxio server, clients on both (spec §9, scenario 1).

mod cluster_support;

use cluster_support::{NodeOptions, OxioNode};
use oxio_server::Args;
use oxio_test_support::node::{NodeClients, NodePeer, bin, date};
use oxio_test_support::redis::RedisServer;
use serde_json::json;

/// Clients 0 and 1 are on the Node server, 2 and 3 on oxio.
const ALL: [usize; 4] = [0, 1, 2, 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_every_client_once_from_either_side() {
    let redis = RedisServer::start();
    let node =
        NodePeer::start(json!({ "name": "A", "redis": redis.url(), "mode": "classic" })).await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let clients = NodeClients::connect(&[node.url(), oxio.url()], "/", 2).await;

    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(oxio.io.of("/").server_count().await, 2);

    // Node → everyone: strings, numbers, null, objects, binary, a date (as its ISO string).
    let args = json!(["world", 1, 1.5, null, { "a": [true] }, bin(&[1, 2, 3]), date("2000-06-13T00:00:00.000Z")]);
    node.request(json!({ "op": "emit", "event": "from-node", "args": args }))
        .await;
    let mut expected = args.clone();
    expected[6] = json!("2000-06-13T00:00:00.000Z");
    for event in clients.expect_each("from-node", &ALL).await {
        assert_eq!(event["args"], expected);
    }

    // oxio → everyone, binary included.
    let args = Args::new()
        .arg("world")
        .arg(&1)
        .arg(&1.5)
        .arg(&json!(null))
        .arg(&json!({ "a": [true] }))
        .binary(bytes::Bytes::from_static(&[1, 2, 3]));
    oxio.io.emit_args("from-oxio", args).expect("emit");
    for event in clients.expect_each("from-oxio", &ALL).await {
        assert_eq!(
            event["args"],
            json!(["world", 1, 1.5, null, { "a": [true] }, bin(&[1, 2, 3])])
        );
    }
    clients
        .assert_no("from-node", std::time::Duration::from_millis(300))
        .await;
}
