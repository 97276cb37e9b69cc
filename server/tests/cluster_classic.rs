//! Mixed classic-adapter clusters on one real Redis: a Node socket.io server with
//! `@socket.io/redis-adapter` and oxio servers, clients on each (spec §9, scenarios 2 and 3, and a
//! three-node cluster).
//!
//! Every delivery check takes one event per target client and ends with a round of "end"
//! broadcasts followed by a drain: anything left over (a duplicate, a copy to a client that was
//! not targeted, an event on the wrong namespace) fails the test.

mod cluster_support;

use std::time::Duration;

use cluster_support::{NodeOptions, OxioNode, RawMessage, RawSubscriber};
use oxio_server::Args;
use oxio_test_support::node::{NodeClients, NodePeer, eventually};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};

/// The rooms each client of the rooms test joins: clients 0-2 are on the Node server, 3-5 on
/// oxio. r1 = {0, 1, 3}, r2 = {0, 3, 4}, r3 = {1, 4}.
const ROOM_LAYOUT: [&[&str]; 6] = [
    &["r1", "r2"],
    &["r3", "r1"],
    &[],
    &["r1", "r2"],
    &["r2", "r3"],
    &[],
];

/// The arguments every test emit carries.
fn payload() -> Value {
    json!(["x", 1, { "k": [true, null] }])
}

fn payload_args() -> Args {
    Args::new()
        .arg("x")
        .arg(&1)
        .arg(&json!({ "k": [true, null] }))
}

/// Clients `0..n` without those of `skip`.
fn all_but(n: usize, skip: &[usize]) -> Vec<usize> {
    (0..n).filter(|i| !skip.contains(i)).collect()
}

/// Waits for `event` once on each of `targets`, with the test payload.
async fn delivered(clients: &NodeClients, event: &str, targets: &[usize]) {
    for got in clients.expect_each(event, targets).await {
        assert_eq!(got["args"], payload(), "{event}: {got}");
    }
}

/// Every node emits `end-<i>` to everyone; once every client has each, nothing else may be
/// queued or arrive: each earlier event was delivered exactly where expected. The "end"
/// broadcasts travel behind the earlier ones (one publisher connection per node, one Redis), so a
/// stray copy would have arrived before them.
/// `main` lists the clients of namespace `/`.
async fn nothing_else(clients: &NodeClients, nodes: &[&dyn Emitter], main: &[usize]) {
    for (i, node) in nodes.iter().enumerate() {
        node.emit_all(&format!("end-{i}")).await;
    }
    for i in 0..nodes.len() {
        delivered(clients, &format!("end-{i}"), main).await;
    }
    let extra = clients.drain(Duration::from_millis(400)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
}

/// Something that broadcasts to every client of `/`: a Node peer or an oxio node.
trait Emitter {
    fn emit_all<'a>(&'a self, event: &'a str) -> futures_util::future::BoxFuture<'a, ()>;
}

impl Emitter for NodePeer {
    fn emit_all<'a>(&'a self, event: &'a str) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            self.request(json!({ "op": "emit", "event": event, "args": payload() }))
                .await;
        })
    }
}

impl Emitter for OxioNode {
    fn emit_all<'a>(&'a self, event: &'a str) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            self.io.emit_args(event, payload_args()).expect("emit");
        })
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// msgpack of a short string (fixstr), as it appears inside a published payload.
fn fixstr(text: &str) -> Vec<u8> {
    assert!(text.len() < 32);
    let mut bytes = vec![0xa0 | text.len() as u8];
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The broadcast oxio published for `event` (seen by the raw pattern subscriber).
async fn published(watch: &mut RawSubscriber, event: &str) -> RawMessage {
    let name = fixstr(event);
    watch.next_matching(|m| contains(&m.payload, &name)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_and_except_from_both_sides() {
    let redis = RedisServer::start();
    let node =
        NodePeer::start(json!({ "name": "A", "redis": redis.url(), "mode": "classic" })).await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let specs: Vec<Value> = ROOM_LAYOUT
        .iter()
        .enumerate()
        .map(|(i, rooms)| {
            let url = if i < 3 { node.url() } else { oxio.url() };
            json!({ "url": url, "nsp": "/", "auth": { "client": i, "join": rooms } })
        })
        .collect();
    let clients = NodeClients::start(json!({ "clients": specs })).await;
    let ids = clients.ids().to_vec();
    let mut watch = RawSubscriber::psubscribe(redis.port(), &["socket.io#/#*"]).await;

    // ---- Node → everyone ----
    let emit = |extra: Value, event: &str| {
        let mut command = json!({ "op": "emit", "event": event, "args": payload() });
        command
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        command
    };
    node.request(emit(json!({ "to": ["r1"] }), "n-room")).await;
    delivered(&clients, "n-room", &[0, 1, 3]).await;

    // Clients 0 and 3 are in r1 and r2: one copy each; r3's members (1, 4) are left out.
    node.request(emit(
        json!({ "to": ["r1", "r2"], "except": ["r3"] }),
        "n-multi",
    ))
    .await;
    delivered(&clients, "n-multi", &[0, 3]).await;

    node.request(json!({ "op": "socketBroadcast", "socket": ids[0], "event": "n-sbcast", "args": payload() }))
        .await;
    delivered(&clients, "n-sbcast", &all_but(6, &[0])).await;

    // socket.to(r2) from client 0, itself in r2.
    node.request(json!({ "op": "socketTo", "socket": ids[0], "to": ["r2"], "event": "n-sto", "args": payload() }))
        .await;
    delivered(&clients, "n-sto", &[3, 4]).await;

    // except(<an oxio-held socket id>).
    node.request(emit(json!({ "except": [ids[4]] }), "n-exsid"))
        .await;
    delivered(&clients, "n-exsid", &all_but(6, &[4])).await;

    // An isolated volatile emit: every transport is writable, everyone gets it.
    node.request(emit(json!({ "flags": { "volatile": true } }), "n-vol"))
        .await;
    delivered(&clients, "n-vol", &all_but(6, &[])).await;

    node.request(emit(
        json!({ "to": ["r3"], "flags": { "compress": false } }),
        "n-nocomp",
    ))
    .await;
    delivered(&clients, "n-nocomp", &[1, 4]).await;

    // ---- oxio → everyone ----
    let io = &oxio.io;
    io.to("r1").emit_args("o-room", payload_args()).unwrap();
    delivered(&clients, "o-room", &[0, 1, 3]).await;
    let message = published(&mut watch, "o-room").await;
    assert_eq!(
        message.channel, "socket.io#/#r1#",
        "one room: the room channel"
    );

    io.to("r1")
        .to("r2")
        .except("r3")
        .emit_args("o-multi", payload_args())
        .unwrap();
    delivered(&clients, "o-multi", &[0, 3]).await;
    let message = published(&mut watch, "o-multi").await;
    assert_eq!(
        message.channel, "socket.io#/#",
        "several rooms: the main channel"
    );
    assert!(
        contains(&message.payload, &fixstr("r3")),
        "except r3 is published"
    );

    let socket3 = io.of("/").socket(&ids[3]).expect("client 3 is on oxio");
    socket3
        .broadcast()
        .emit_args("o-sbcast", payload_args())
        .unwrap();
    delivered(&clients, "o-sbcast", &all_but(6, &[3])).await;
    let message = published(&mut watch, "o-sbcast").await;
    assert_eq!(message.channel, "socket.io#/#");
    assert!(
        contains(&message.payload, &fixstr(&ids[3])),
        "socket.broadcast excepts the sender's id on the wire"
    );

    // socket.to(r2) from client 3, itself in r2.
    socket3.to("r2").emit_args("o-sto", payload_args()).unwrap();
    delivered(&clients, "o-sto", &[0, 4]).await;
    let message = published(&mut watch, "o-sto").await;
    assert_eq!(message.channel, "socket.io#/#r2#");

    // except(<a Node-held socket id>).
    io.broadcast()
        .except(ids[1].as_str())
        .emit_args("o-exsid", payload_args())
        .unwrap();
    delivered(&clients, "o-exsid", &all_but(6, &[1])).await;

    io.broadcast()
        .volatile()
        .emit_args("o-vol", payload_args())
        .unwrap();
    delivered(&clients, "o-vol", &all_but(6, &[])).await;
    let message = published(&mut watch, "o-vol").await;
    let volatile_flag = [&fixstr("volatile")[..], &[0xc3]].concat();
    assert!(
        contains(&message.payload, &volatile_flag),
        "flags.volatile = true is published"
    );

    io.to("r3")
        .compress(false)
        .emit_args("o-nocomp", payload_args())
        .unwrap();
    delivered(&clients, "o-nocomp", &[1, 4]).await;
    let message = published(&mut watch, "o-nocomp").await;
    assert_eq!(message.channel, "socket.io#/#r3#");
    let compress_flag = [&fixstr("compress")[..], &[0xc2]].concat();
    assert!(
        contains(&message.payload, &compress_flag),
        "flags.compress = false is published"
    );

    nothing_else(&clients, &[&node, &oxio], &all_but(6, &[])).await;
    // Node survived everything oxio published.
    assert_eq!(
        node.request(json!({ "op": "ping" })).await,
        json!({ "event": "alive" })
    );
    tokio::join!(node.exit(), clients.exit());
    oxio.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_isolated_and_counted() {
    let redis = RedisServer::start();
    let node = NodePeer::start(
        json!({ "name": "A", "redis": redis.url(), "mode": "classic", "namespaces": ["/admin"] }),
    )
    .await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    // 0: Node "/", 1: Node "/admin", 2: oxio "/", 3: oxio "/admin"; every one in room "shared".
    let specs: Vec<Value> = [
        (node.url(), "/"),
        (node.url(), "/admin"),
        (oxio.url(), "/"),
        (oxio.url(), "/admin"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (url, nsp))| json!({ "url": url, "nsp": nsp, "auth": { "client": i, "join": ["shared"] } }))
    .collect();
    let clients = NodeClients::start(json!({ "clients": specs })).await;

    for nsp in ["/", "/admin"] {
        assert_eq!(
            node.request(json!({ "op": "serverCount", "nsp": nsp }))
                .await,
            2,
            "Node's server count of {nsp}"
        );
        assert_eq!(
            oxio.io.of(nsp).server_count().await,
            2,
            "oxio's server count of {nsp}"
        );
    }

    // Node → each namespace, to everyone and to the room both namespaces have.
    for (nsp, targets) in [("/", [0, 2]), ("/admin", [1, 3])] {
        for to in [json!([]), json!(["shared"])] {
            let event = format!("n{nsp}{}", to.as_array().unwrap().len());
            node.request(
                json!({ "op": "emit", "nsp": nsp, "to": to, "event": event, "args": payload() }),
            )
            .await;
            delivered(&clients, &event, &targets).await;
        }
    }
    // oxio → each namespace, the same way.
    for (nsp, targets) in [("/", [0, 2]), ("/admin", [1, 3])] {
        let namespace = oxio.io.of(nsp);
        let event = format!("o{nsp}0");
        namespace.emit_args(&event, payload_args()).unwrap();
        delivered(&clients, &event, &targets).await;
        let event = format!("o{nsp}1");
        namespace
            .to("shared")
            .emit_args(&event, payload_args())
            .unwrap();
        delivered(&clients, &event, &targets).await;
    }
    // The "end" round of `nothing_else` targets "/" only: "/admin" gets its own first.
    node.request(
        json!({ "op": "emit", "nsp": "/admin", "event": "end-admin-n", "args": payload() }),
    )
    .await;
    oxio.io
        .of("/admin")
        .emit_args("end-admin-o", payload_args())
        .unwrap();
    delivered(&clients, "end-admin-n", &[1, 3]).await;
    delivered(&clients, "end-admin-o", &[1, 3]).await;
    nothing_else(&clients, &[&node, &oxio], &[0, 2]).await;

    // A namespace only oxio has: one subscriber of its request channel, server count 1 ...
    let numsub = |nsp: &str| {
        let reply = redis.command(&["PUBSUB", "NUMSUB", &format!("socket.io-request#{nsp}#")]);
        reply.lines().nth(1).unwrap_or("").to_owned()
    };
    let only_oxio = oxio.io.of("/only-oxio");
    eventually("oxio subscribed to /only-oxio", || {
        let count = numsub("/only-oxio");
        async move { count == "1" }
    })
    .await;
    assert_eq!(only_oxio.server_count().await, 1);
    // ... and 2 once Node creates it too.
    node.request(json!({ "op": "namespace", "nsp": "/only-oxio" }))
        .await;
    assert_eq!(numsub("/only-oxio"), "2");
    assert_eq!(only_oxio.server_count().await, 2);
    assert_eq!(
        node.request(json!({ "op": "serverCount", "nsp": "/only-oxio" }))
            .await,
        2
    );

    // A namespace only Node has: oxio has not subscribed to it (it has not created it).
    node.request(json!({ "op": "namespace", "nsp": "/only-node" }))
        .await;
    assert_eq!(
        node.request(json!({ "op": "serverCount", "nsp": "/only-node" }))
            .await,
        1
    );
    let only_node = oxio.io.of("/only-node");
    eventually("oxio subscribed to /only-node", || {
        let count = numsub("/only-node");
        async move { count == "2" }
    })
    .await;
    assert_eq!(only_node.server_count().await, 2);
    assert_eq!(
        node.request(json!({ "op": "serverCount", "nsp": "/only-node" }))
            .await,
        2
    );
    tokio::join!(node.exit(), clients.exit());
    oxio.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_two_of_them_oxio() {
    let redis = RedisServer::start();
    let node =
        NodePeer::start(json!({ "name": "A", "redis": redis.url(), "mode": "classic" })).await;
    let b = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let c = OxioNode::start(NodeOptions::classic("C", &redis.url())).await;
    // Clients 0, 1 on Node; 2, 3 on B; 4, 5 on C. The odd ones are in room "odd".
    let specs: Vec<Value> = [node.url(), b.url(), c.url()]
        .iter()
        .flat_map(|url| [url.clone(), url.clone()])
        .enumerate()
        .map(|(i, url)| {
            let join: &[&str] = if i % 2 == 1 { &["odd"] } else { &[] };
            json!({ "url": url, "nsp": "/", "auth": { "client": i, "join": join } })
        })
        .collect();
    let clients = NodeClients::start(json!({ "clients": specs })).await;

    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 3);
    assert_eq!(b.io.of("/").server_count().await, 3);
    assert_eq!(c.io.of("/").server_count().await, 3);

    let everyone = all_but(6, &[]);
    let senders: [(&str, &dyn Emitter); 3] = [("a", &node), ("b", &b), ("c", &c)];
    for (name, sender) in senders {
        let event = format!("all-from-{name}");
        sender.emit_all(&event).await;
        delivered(&clients, &event, &everyone).await;
    }
    // A room spread over the three nodes, from each of them.
    node.request(json!({ "op": "emit", "to": ["odd"], "event": "odd-from-a", "args": payload() }))
        .await;
    delivered(&clients, "odd-from-a", &[1, 3, 5]).await;
    for (name, oxio) in [("b", &b), ("c", &c)] {
        let event = format!("odd-from-{name}");
        oxio.io.to("odd").emit_args(&event, payload_args()).unwrap();
        delivered(&clients, &event, &[1, 3, 5]).await;
    }
    nothing_else(&clients, &[&node, &b, &c], &everyone).await;
    tokio::join!(node.exit(), clients.exit());
    b.shutdown().await;
    c.shutdown().await;
}
