//! Requests between a Node socket.io server (`@socket.io/redis-adapter` 8.x, classic) and an oxio
//! server on one real Redis (spec §9): server-side events with and without acks (scenario 8),
//! broadcasts with acks (scenario 9), mixed `publishOnSpecificResponseChannel` settings
//! (scenario 10), and messages of adapter 7.x / notepack 2 replayed on the broadcast channel
//! (scenario 14).

mod cluster_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::redis::AdapterMode;
use oxio_cluster::redis::transport::{
    ChannelKind, IncomingMessage, RedisTarget, SubscriptionKind, Transport,
};
use oxio_cluster::redis::wire;
use oxio_server::{Args, BroadcastAckError, Payload};
use oxio_test_support::node::{NodeClients, NodePeer, bin, eventually, run_emitter, sorted};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};

/// The text both adapters give when the one other node does not answer a server-side emit.
const SSE_TIMEOUT: &str = "timeout reached: only 0 responses received out of 1";

/// One client of `clients.mjs`: auth `{client: i, join}` (the servers join it to `join`).
fn client(url: &str, nsp: &str, i: usize, join: &[&str]) -> Value {
    json!({ "url": url, "nsp": nsp, "auth": { "client": i, "join": join } })
}

/// The classic adapter with these request options.
fn classic(
    name: &str,
    redis: &RedisServer,
    requests_timeout: Duration,
    specific: bool,
) -> NodeOptions {
    let mut options = NodeOptions::classic(name, &redis.url());
    options.redis.mode = AdapterMode::Classic {
        requests_timeout,
        publish_on_specific_response_channel: specific,
    };
    options
}

/// The first argument of each answer, as JSON, sorted by its text.
fn answers(payloads: &[Payload]) -> Vec<Value> {
    let mut values: Vec<Value> = payloads
        .iter()
        .map(|p| {
            assert_eq!(p.len(), 1, "an answer has one argument: {p:?}");
            p.to_values().remove(0)
        })
        .collect();
    values.sort_by_key(Value::to_string);
    values
}

/// A connection to Redis of the test's own: raw publishing, and a record of what it is
/// subscribed to.
struct Spy {
    transport: Arc<Transport>,
    seen: Arc<Mutex<Vec<IncomingMessage>>>,
}

impl Spy {
    async fn start(redis: &RedisServer) -> Spy {
        let seen: Arc<Mutex<Vec<IncomingMessage>>> = Arc::default();
        let record = seen.clone();
        let transport = Transport::connect(
            RedisTarget::Single(redis.url()),
            Arc::new(move |message| record.lock().unwrap().push(message)),
        )
        .expect("Redis URL");
        assert!(
            transport.wait_connected(Duration::from_secs(20)).await,
            "the spy did not connect to Redis"
        );
        Spy { transport, seen }
    }

    fn publish(&self, channel: &str, payload: Vec<u8>) {
        self.transport
            .publish(ChannelKind::Classic, channel, Bytes::from(payload))
            .expect("publish");
    }

    /// Every message seen so far as (channel, decoded body): JSON when it starts with `{`,
    /// msgpack otherwise.
    fn messages(&self) -> Vec<(String, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|m| {
                let body = if m.payload.first() == Some(&b'{') {
                    serde_json::from_slice(&m.payload).expect("JSON response")
                } else {
                    wire::decode(&m.payload)
                        .expect("msgpack response")
                        .to_json_value()
                };
                (String::from_utf8_lossy(&m.channel).into_owned(), body)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 8: serverSideEmit
// ---------------------------------------------------------------------------------------------

/// Server-side events both ways, with and without ack; Node's timeout error on both sides when
/// the other node has no listener; a 5.x emitter's event (uid "emitter") reaches both nodes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_both_ways() {
    let redis = RedisServer::start();
    let timeout = Duration::from_millis(1000);
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({
            "name": "A", "redis": redis.url(), "adapter": { "requestsTimeout": 1000 },
            "listen": [
                { "event": "note" },
                { "event": "ping", "ack": "pong-A" },
                { "event": "from-emitter" },
            ],
        })),
        OxioNode::start(
            classic("B", &redis, timeout, false)
                .listen("/", "note", None)
                .listen("/", "ping", Some(json!("pong-B")))
                .listen("/", "from-emitter", None)
        )
    );
    let root = oxio.io.of("/");

    // oxio → Node, no ack. Server-side events travel as JSON text (Node's adapter
    // `JSON.stringify`s them), so a binary argument arrives as a Buffer's JSON form, exactly as
    // between two Node nodes.
    root.server_side_emit(
        "note",
        Args::new()
            .arg("from-B")
            .arg(&2)
            .binary(Bytes::from_static(&[1, 2])),
    )
    .expect("serverSideEmit");
    let got = node.events_until(|e| e["event"] == "serverSideEmit").await;
    let got = got.last().expect("event");
    assert_eq!(got["name"], "note");
    assert_eq!(
        got["args"],
        json!(["from-B", 2, { "type": "Buffer", "data": [1, 2] }])
    );
    assert_eq!(got["ack"], false);

    // Node → oxio, no ack.
    node.request(
        json!({ "op": "serverSideEmit", "event": "note", "args": ["from-A", { "k": [1] }] }),
    )
    .await;
    eventually("oxio got note", || async {
        !oxio.server_events().is_empty()
    })
    .await;
    let events = oxio.server_events();
    assert_eq!(
        (events[0].event.as_str(), events[0].args.clone()),
        ("note", vec![json!("from-A"), json!({ "k": [1] })])
    );
    assert!(!events[0].wanted_ack);

    // Node → oxio with ack: oxio's answer comes back, once.
    let answer = node
        .request(json!({ "op": "serverSideEmitWithAck", "event": "ping", "args": [7] }))
        .await;
    assert_eq!(answer, json!({ "error": null, "responses": ["pong-B"] }));
    let events = oxio.server_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (events[1].event.as_str(), events[1].args.clone()),
        ("ping", vec![json!(7)])
    );
    assert!(events[1].wanted_ack);

    // oxio → Node with ack.
    let responses = root
        .server_side_emit_with_ack("ping", Args::one(&8))
        .await
        .expect("every node answered");
    assert_eq!(answers(&responses), [json!("pong-A")]);
    let got = node.events_until(|e| e["event"] == "serverSideEmit").await;
    let got = got.last().expect("event");
    assert_eq!(
        (&got["name"], &got["args"], &got["ack"]),
        (&json!("ping"), &json!([8]), &json!(true))
    );

    // Nobody listens to "nobody" on the other side: Node's text, after requestsTimeout, on both.
    let started = Instant::now();
    let error = root
        .server_side_emit_with_ack("nobody", Args::one(&1))
        .await
        .expect_err("no node answers");
    let waited = started.elapsed();
    assert_eq!(error.message, SSE_TIMEOUT);
    assert!(error.responses.is_empty());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "waited {waited:?} for a 1 s requests timeout"
    );
    let started = Instant::now();
    let answer = node
        .request(json!({ "op": "serverSideEmitWithAck", "event": "nobody", "args": [1] }))
        .await;
    assert_eq!(answer, json!({ "error": SSE_TIMEOUT, "responses": [] }));
    assert!(started.elapsed() >= Duration::from_millis(900));

    // The 5.x emitter (uid "emitter"): both nodes, once each, no ack.
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "serverSideEmit", "event": "from-emitter", "args": ["e", 1] },
    ] }))
    .await;
    let got = node.events_until(|e| e["event"] == "serverSideEmit").await;
    let got = got.last().expect("event");
    assert_eq!(
        (&got["name"], &got["args"], &got["ack"]),
        (&json!("from-emitter"), &json!(["e", 1]), &json!(false))
    );
    eventually("oxio got from-emitter", || async {
        oxio.server_events().len() >= 3
    })
    .await;
    let events = oxio.server_events();
    assert_eq!(
        (events[2].event.as_str(), events[2].args.clone()),
        ("from-emitter", vec![json!("e"), json!(1)])
    );
    assert!(!events[2].wanted_ack);

    // Exactly once, and neither node got its own events.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(oxio.server_events().len(), 3, "{:?}", oxio.server_events());
    let received = node.request(json!({ "op": "received" })).await;
    let names: Vec<&str> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["note", "ping", "from-emitter"], "{received}");
}

// ---------------------------------------------------------------------------------------------
// Scenario 9: broadcastWithAck
// ---------------------------------------------------------------------------------------------

/// `timeout(1000).emitWithAck` from either side collects every client's answer without timing
/// out, also when one node (or both) has no matching client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_ack_collects_every_answer() {
    let redis = RedisServer::start();
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({ "name": "A", "redis": redis.url() })),
        OxioNode::start(NodeOptions::classic("B", &redis.url()))
    );
    let (a, b) = (node.url(), oxio.url());
    let clients = NodeClients::start(json!({ "clients": [
        client(&a, "/", 0, &["only-a"]),
        client(&a, "/", 1, &["only-a"]),
        client(&b, "/", 2, &["only-b"]),
        client(&b, "/", 3, &["only-b"]),
    ] }))
    .await;
    let acks =
        |who: &[usize]| -> Vec<String> { who.iter().map(|i| format!("ack-from-{i}")).collect() };
    let node_ask = |to: &[&str], event: &str| {
        let command = json!({
            "op": "emitWithAck", "to": to, "flags": { "timeout": 1000 }, "event": event, "args": [1],
        });
        node.request(command)
    };
    let oxio_ask = |to: Option<&str>, event: &str| {
        let mut operator = oxio.io.broadcast().timeout(Duration::from_millis(1000));
        if let Some(room) = to {
            operator = operator.to(room);
        }
        let event = event.to_owned();
        async move { operator.emit_with_ack(&event, Args::one(&2)).await }
    };
    let check_node = |answer: Value, who: &[usize]| {
        assert_eq!(answer["error"], Value::Null, "{answer}");
        assert_eq!(sorted(&answer["responses"]), acks(who), "{answer}");
    };
    let check_oxio = |outcome: Result<Vec<Payload>, BroadcastAckError>, who: &[usize]| {
        let responses = outcome.unwrap_or_else(|e| panic!("timed out: {e:?}"));
        let expected: Vec<Value> = acks(who).into_iter().map(Value::from).collect();
        assert_eq!(answers(&responses), expected);
    };

    // Everyone, from each side.
    check_node(node_ask(&[], "ask-all-a").await, &[0, 1, 2, 3]);
    check_oxio(oxio_ask(None, "ask-all-b").await, &[0, 1, 2, 3]);
    for event in clients.expect_each("ask-all-a", &[0, 1, 2, 3]).await {
        assert_eq!((&event["args"], &event["ack"]), (&json!([1]), &json!(true)));
    }
    for event in clients.expect_each("ask-all-b", &[0, 1, 2, 3]).await {
        assert_eq!((&event["args"], &event["ack"]), (&json!([2]), &json!(true)));
    }

    // One node has no matching client: it still reports its count (0) at once.
    check_node(node_ask(&["only-b"], "a-to-b").await, &[2, 3]);
    check_node(node_ask(&["only-a"], "a-to-a").await, &[0, 1]);
    check_oxio(oxio_ask(Some("only-a"), "b-to-a").await, &[0, 1]);
    check_oxio(oxio_ask(Some("only-b"), "b-to-b").await, &[2, 3]);
    // Neither has one.
    check_node(node_ask(&["nobody"], "a-to-nobody").await, &[]);
    check_oxio(oxio_ask(Some("nobody"), "b-to-nobody").await, &[]);

    clients.expect_each("a-to-b", &[2, 3]).await;
    clients.expect_each("a-to-a", &[0, 1]).await;
    clients.expect_each("b-to-a", &[0, 1]).await;
    clients.expect_each("b-to-b", &[2, 3]).await;
    let rest = clients.drain(Duration::from_millis(300)).await;
    assert!(rest.is_empty(), "unexpected events: {rest:#?}");
}

/// Clients that never answer: after the timeout Node reports "operation has timed out" and oxio
/// `BroadcastAckError::Timeout`, both with the answers that did come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_ack_timeout_keeps_partial_answers() {
    let redis = RedisServer::start();
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({ "name": "A", "redis": redis.url() })),
        OxioNode::start(NodeOptions::classic("B", &redis.url()))
    );
    let (a, b) = (node.url(), oxio.url());
    let (answering, silent) = tokio::join!(
        NodeClients::start(json!({ "clients": [
            client(&a, "/", 0, &["mixed"]),
            client(&b, "/", 1, &["mixed"]),
        ] })),
        NodeClients::start(json!({ "ack": null, "clients": [
            client(&a, "/", 10, &["mixed"]),
            client(&b, "/", 11, &["mixed"]),
        ] }))
    );

    let started = Instant::now();
    let answer = node
        .request(json!({ "op": "emitWithAck", "to": ["mixed"], "flags": { "timeout": 1000 }, "event": "ask", "args": [] }))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(answer["error"], "operation has timed out", "{answer}");
    assert_eq!(
        sorted(&answer["responses"]),
        ["ack-from-0", "ack-from-1"],
        "{answer}"
    );

    let started = Instant::now();
    let outcome = oxio
        .io
        .to("mixed")
        .timeout(Duration::from_millis(1000))
        .emit_with_ack("ask-b", Args::new())
        .await;
    let waited = started.elapsed();
    let Err(BroadcastAckError::Timeout(timeout)) = outcome else {
        panic!("expected a timeout, got {outcome:?}");
    };
    assert_eq!(
        answers(&timeout.responses),
        [json!("ack-from-0"), json!("ack-from-1")]
    );
    assert_eq!(timeout.missing, 2, "{timeout:?}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "waited {waited:?} for a 1 s timeout"
    );

    // Every client got each event once, with an ack id.
    for clients in [&answering, &silent] {
        for event in ["ask", "ask-b"] {
            for got in clients.expect_each(event, &[0, 1]).await {
                assert_eq!(got["ack"], true);
            }
        }
        let rest = clients.drain(Duration::from_millis(200)).await;
        assert!(rest.is_empty(), "unexpected events: {rest:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 10: publishOnSpecificResponseChannel
// ---------------------------------------------------------------------------------------------

/// fetchSockets, allRooms and serverSideEmitWithAck both ways between a node answering on the
/// requester's own channel and one answering on the common channel; the Redis traffic shows
/// each responder used its own rule, and that server-side acks always use the common channel.
async fn mixed_response_channels(node_specific: bool) {
    let redis = RedisServer::start();
    let spy = Spy::start(&redis).await;
    spy.transport
        .subscribe(SubscriptionKind::Pattern, "socket.io-response#*")
        .await
        .expect("spy subscription");
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({
            "name": "A", "redis": redis.url(),
            "adapter": { "publishOnSpecificResponseChannel": node_specific },
            "listen": [{ "event": "ping", "ack": "pong-A" }],
        })),
        OxioNode::start(
            classic("B", &redis, Duration::from_secs(5), !node_specific).listen(
                "/",
                "ping",
                Some(json!("pong-B"))
            )
        )
    );
    let (a, b) = (node.url(), oxio.url());
    let clients = NodeClients::start(json!({ "clients": [
        client(&a, "/", 0, &["ra"]),
        client(&b, "/", 1, &["rb"]),
    ] }))
    .await;
    let ids = clients.ids().to_vec();

    // fetchSockets from oxio and from Node.
    let fetched = oxio.io.fetch_sockets().await.expect("fetchSockets");
    let mut seen: Vec<(String, Value)> = fetched
        .iter()
        .map(|s| (s.id().to_owned(), s.data().clone()))
        .collect();
    seen.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![
        (
            ids[0].clone(),
            json!({ "peer": "A", "client": 0, "join": ["ra"] }),
        ),
        (
            ids[1].clone(),
            json!({ "peer": "B", "client": 1, "join": ["rb"] }),
        ),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(seen, expected);
    let remote = fetched
        .iter()
        .find(|s| s.id() == ids[0])
        .expect("A's socket");
    let mut rooms: Vec<String> = remote.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    assert_eq!(rooms, sorted(&json!([ids[0], "ra"])));
    let from_node = node.request(json!({ "op": "fetchSockets" })).await;
    let b_socket = from_node
        .as_array()
        .expect("sockets")
        .iter()
        .find(|s| s["id"] == ids[1].as_str())
        .unwrap_or_else(|| panic!("oxio's socket is missing: {from_node}"));
    assert_eq!(
        b_socket["data"],
        json!({ "peer": "B", "client": 1, "join": ["rb"] })
    );
    assert_eq!(sorted(&b_socket["rooms"]), sorted(&json!([ids[1], "rb"])));
    for key in [
        "headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth",
    ] {
        assert!(
            b_socket["handshake"].get(key).is_some(),
            "handshake.{key}: {b_socket}"
        );
    }
    assert_eq!(from_node.as_array().unwrap().len(), 2, "{from_node}");

    // allRooms, both ways.
    let mut all: Vec<String> = vec![ids[0].clone(), ids[1].clone(), "ra".into(), "rb".into()];
    all.sort();
    let rooms: Vec<String> = oxio
        .io
        .of("/")
        .all_rooms()
        .await
        .expect("allRooms")
        .iter()
        .map(|r| r.to_string())
        .collect();
    let mut rooms = rooms;
    rooms.sort();
    assert_eq!(rooms, all);
    assert_eq!(
        sorted(&node.request(json!({ "op": "allRooms" })).await),
        all
    );

    // serverSideEmitWithAck, both ways.
    let responses = oxio
        .io
        .of("/")
        .server_side_emit_with_ack("ping", Args::one(&1))
        .await
        .expect("A answered");
    assert_eq!(answers(&responses), [json!("pong-A")]);
    let answer = node
        .request(json!({ "op": "serverSideEmitWithAck", "event": "ping", "args": [2] }))
        .await;
    assert_eq!(answer, json!({ "error": null, "responses": ["pong-B"] }));

    // The channels each answer travelled on. `A` answers B's requests, `B` answers A's.
    let common = "socket.io-response#/#".to_owned();
    let a_uid = node.uid("/").to_owned();
    eventually("the spy saw the six answers", || async {
        spy.messages().len() >= 6
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let messages = spy.messages();
    assert_eq!(messages.len(), 6, "{messages:#?}");
    let channel_of = |what: &str, matches: &dyn Fn(&Value) -> bool| -> String {
        let found: Vec<&(String, Value)> = messages.iter().filter(|(_, m)| matches(m)).collect();
        assert_eq!(found.len(), 1, "{what}: {messages:#?}");
        found[0].0.clone()
    };
    let sockets_of = |peer: &'static str| {
        move |m: &Value| {
            m["sockets"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["data"]["peer"] == peer))
        }
    };
    let rooms_with = |room: &'static str| {
        move |m: &Value| {
            m["rooms"]
                .as_array()
                .is_some_and(|r| r.contains(&json!(room)))
        }
    };
    let a_fetch = channel_of("A's fetchSockets answer", &sockets_of("A"));
    let b_fetch = channel_of("B's fetchSockets answer", &sockets_of("B"));
    let a_rooms = channel_of("A's allRooms answer", &rooms_with("ra"));
    let b_rooms = channel_of("B's allRooms answer", &rooms_with("rb"));
    let a_ack = channel_of("A's ack", &|m| m["type"] == 6 && m["data"] == "pong-A");
    let b_ack = channel_of("B's ack", &|m| m["type"] == 6 && m["data"] == "pong-B");
    // Server-side acks: the common channel, whatever the option.
    assert_eq!((&a_ack, &b_ack), (&common, &common));
    // Node's own channel is `socket.io-response#/#<uid>#`; oxio's uid is not exposed, but it is
    // the only other one.
    let to_b = |channel: &str| {
        channel
            .strip_prefix(&common)
            .and_then(|rest| rest.strip_suffix('#'))
            .is_some_and(|uid| uid.len() == 6 && uid != a_uid)
    };
    let to_a = format!("{common}{a_uid}#");
    if node_specific {
        assert!(to_b(&a_fetch), "A answered on {a_fetch}");
        assert_eq!(a_rooms, a_fetch, "A's answers go to B's channel");
        assert_eq!((&b_fetch, &b_rooms), (&common, &common));
    } else {
        assert_eq!((&a_fetch, &a_rooms), (&common, &common));
        assert_eq!((&b_fetch, &b_rooms), (&to_a, &to_a));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specific_response_channel_on_node_only() {
    mixed_response_channels(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specific_response_channel_on_oxio_only() {
    mixed_response_channels(false).await;
}

// ---------------------------------------------------------------------------------------------
// Scenario 14: codec fixtures
// ---------------------------------------------------------------------------------------------

/// A broadcast as adapter 7.x (notepack 2) and a notepack 3 sender write them, published byte for
/// byte on `socket.io#/#`: what the oxio node's clients receive is what a Node server would send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notepack_fixtures_on_the_broadcast_channel() {
    let redis = RedisServer::start();
    let spy = Spy::start(&redis).await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let clients = NodeClients::connect(&[oxio.url()], "/", 2).await;

    let fixstr = |s: &str| {
        let mut out = vec![0xa0 | s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    };
    let date_ms: i64 = 960_854_400_000; // 2000-06-13T00:00:00.000Z
    let secs = (date_ms / 1000) as u64;
    let mut data = vec![0x9a]; // fixarray(10)
    data.extend(fixstr("codec"));
    // notepack 2 `undefined`: fixext1 type 0, one zero byte.
    data.extend([0xd4, 0x00, 0x00]);
    // notepack 2 Date: fixext8 type 0 + int64 ms.
    data.extend([0xd7, 0x00]);
    data.extend(date_ms.to_be_bytes());
    // notepack 2 ArrayBuffer: ext8 type 0.
    data.extend([0xc7, 0x03, 0x00, 1, 2, 3]);
    // timestamp 32 (notepack 3 Date with whole seconds).
    data.extend([0xd6, 0xff]);
    data.extend((secs as u32).to_be_bytes());
    // timestamp 64: nanoseconds (30 bits) above seconds (34 bits).
    data.extend([0xd7, 0xff]);
    data.extend(((123_000_000u64 << 34) | secs).to_be_bytes());
    // timestamp 96 (what notepack 3 writes for a Date before 1970): u32 ns + i64 seconds.
    data.extend([0xc7, 0x0c, 0xff]);
    data.extend(0u32.to_be_bytes());
    data.extend((-1i64).to_be_bytes());
    // An object whose `undefined` member is left out.
    data.extend([0x82]);
    data.extend(fixstr("a"));
    data.extend([0xd4, 0x00, 0x00]);
    data.extend(fixstr("b"));
    data.push(0x01);
    // float32 1.5.
    data.extend([0xca, 0x3f, 0xc0, 0x00, 0x00]);
    // An unknown extension type: null.
    data.extend([0xd4, 0x05, 0x00]);

    let mut message = vec![0x93];
    message.extend(fixstr("Ab3_-x")); // a 7.x node id
    message.push(0x83);
    message.extend(fixstr("type"));
    message.push(0x02);
    message.extend(fixstr("data"));
    message.extend(&data);
    message.extend(fixstr("nsp"));
    message.extend(fixstr("/"));
    message.push(0x83);
    message.extend(fixstr("rooms"));
    message.push(0x90);
    message.extend(fixstr("except"));
    message.push(0x90);
    message.extend(fixstr("flags"));
    message.push(0x80);
    spy.publish("socket.io#/#", message);

    let expected = json!([
        null,
        "2000-06-13T00:00:00.000Z",
        bin(&[1, 2, 3]),
        "2000-06-13T00:00:00.000Z",
        "2000-06-13T00:00:00.123Z",
        "1969-12-31T23:59:59.000Z",
        { "b": 1 },
        1.5,
        null,
    ]);
    for event in clients.expect_each("codec", &[0, 1]).await {
        assert_eq!(event["args"], expected);
    }
    let rest = clients.drain(Duration::from_millis(300)).await;
    assert!(rest.is_empty(), "unexpected events: {rest:#?}");
}
