//! Mixed sharded clusters on one real Redis 7 (spec §9, scenario 11): a Node socket.io server with
//! `createShardedAdapter` and an oxio server with the sharded adapter, for each subscription mode
//! (`static`, `dynamic`, `dynamic-private`), clients on both.
//!
//! Besides what the clients receive, the tests watch Redis itself:
//! - `PUBSUB SHARDNUMSUB` tells which room channels oxio holds (dynamic modes: exactly the rooms
//!   with local members; public ones only in `dynamic`) and gives the server count;
//! - a `MONITOR` connection records every SPUBLISH, so the tests see which channel each broadcast
//!   took (the sender's rule of spec §3.1) and its envelope (JSON for plain data, msgpack once
//!   binary is in it, §3.2), from both sides.

mod cluster_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::redis::SubscriptionMode;
use oxio_server::{Args, Payload};
use oxio_test_support::node::{NodeClients, NodePeer, bin, eventually};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A public room whose name is 20 characters long, like a socket id: in `dynamic` mode it travels
/// on the main channel, in `dynamic-private` on its own.
const ROOM20: &str = "public-room-20-chars";
const MAIN: &str = "socket.io#/#";

/// Clients 0 and 1 are on the Node server (A), 2 and 3 on oxio (B).
const ALL: [usize; 4] = [0, 1, 2, 3];
/// The rooms each client joins when it connects.
fn rooms_of(client: usize) -> Vec<&'static str> {
    match client {
        0 => vec!["red"],
        1 => vec!["mixed", ROOM20],
        2 => vec!["blue", "mixed"],
        _ => vec![ROOM20],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_static_mode_interoperates() {
    scenario(SubscriptionMode::Static, "static").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_mode_interoperates() {
    scenario(SubscriptionMode::Dynamic, "dynamic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_private_mode_interoperates() {
    scenario(SubscriptionMode::DynamicPrivate, "dynamic-private").await;
}

/// The whole scenario for one subscription mode.
async fn scenario(mode: SubscriptionMode, mode_name: &str) {
    let redis = RedisServer::start();
    let monitor = Monitor::start(redis.port()).await;
    let config = json!({
        "name": "A",
        "redis": redis.url(),
        "mode": "sharded",
        "adapter": { "subscriptionMode": mode_name },
        "listen": [
            { "nsp": "/", "event": "sse", "ack": "node-ack" },
            { "nsp": "/", "event": "sse-plain" },
        ],
    });
    let options = NodeOptions::sharded("B", &redis.url(), mode)
        .listen("/", "sse", Some(json!("oxio-ack")))
        .listen("/", "sse-plain", None);
    let (node, oxio) = tokio::join!(NodePeer::start(config), OxioNode::start(options));
    let specs: Vec<Value> = ALL
        .iter()
        .map(|&i| {
            let url = if i < 2 { node.url() } else { oxio.url() };
            json!({ "url": url, "nsp": "/", "auth": { "client": i, "join": rooms_of(i) } })
        })
        .collect();
    let clients = NodeClients::start(json!({ "clients": specs })).await;
    let ids = clients.ids().to_vec();
    let cx = Cx {
        mode,
        redis: &redis,
        monitor: &monitor,
        node: &node,
        oxio: &oxio,
        clients: &clients,
        ids: &ids,
    };

    // serverCount = SHARDNUMSUB of the main channel, seen alike from both sides.
    assert_eq!(cx.shard_numsub(MAIN), 2, "SHARDNUMSUB {MAIN}");
    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(oxio.io.of("/").server_count().await, 2);

    cx.room_subscriptions().await;
    cx.broadcasts().await;
    cx.envelopes_and_channels().await;
    cx.fetch_sockets().await;
    cx.server_side_emits().await;
    cx.broadcasts_with_ack().await;
    cx.remote_membership().await;
    cx.disconnects().await;

    // Nothing was delivered twice or to a client outside its target.
    let leftovers: Vec<Value> = clients.drain(Duration::from_millis(500)).await;
    assert!(
        leftovers.is_empty(),
        "unexpected client events: {leftovers:#?}"
    );
    node.exit().await;
    oxio.shutdown().await;
}

struct Cx<'a> {
    mode: SubscriptionMode,
    redis: &'a RedisServer,
    monitor: &'a Monitor,
    node: &'a NodePeer,
    oxio: &'a OxioNode,
    clients: &'a NodeClients,
    ids: &'a [String],
}

impl Cx<'_> {
    fn dynamic(&self) -> bool {
        self.mode != SubscriptionMode::Static
    }

    fn shard_numsub(&self, channel: &str) -> usize {
        shard_numsub(self.redis, channel)
    }

    /// Waits until `channel` has `count` shard subscribers.
    async fn await_numsub(&self, channel: &str, count: usize) {
        let what = format!("SHARDNUMSUB {channel} = {count}");
        eventually(&what, || async { self.shard_numsub(channel) == count }).await;
    }

    /// The channel a single-room broadcast without ack takes in this mode (spec §3.1).
    fn channel_for(&self, room: &str) -> String {
        match self.mode {
            SubscriptionMode::Static => MAIN.to_owned(),
            SubscriptionMode::Dynamic if room.len() == 20 => MAIN.to_owned(),
            _ => format!("{MAIN}{room}#"),
        }
    }

    /// How many nodes hold a room channel for `room` with members on `nodes` nodes; `private`:
    /// the room is a socket's own id.
    fn expected_subscribers(&self, nodes: usize, private: bool) -> usize {
        match self.mode {
            SubscriptionMode::Static => 0,
            SubscriptionMode::Dynamic if private => 0,
            _ => nodes,
        }
    }

    fn oxio_socket(&self, client: usize) -> oxio_server::Socket {
        self.oxio
            .io
            .of("/")
            .socket(&self.ids[client])
            .unwrap_or_else(|| panic!("client {client} is not on oxio"))
    }

    /// oxio holds a room channel exactly while the room has local members (dynamic modes), and
    /// the joined rooms of both servers are subscribed before the broadcasts start.
    async fn room_subscriptions(&self) {
        let room = |name: &str| format!("{MAIN}{name}#");
        // The auth rooms: red (Node only), blue (oxio only), mixed and ROOM20 (both).
        for (name, nodes) in [("red", 1), ("blue", 1), ("mixed", 2), (ROOM20, 2)] {
            let expected = self.expected_subscribers(nodes, false);
            self.await_numsub(&room(name), expected).await;
        }
        // The socket id rooms: every client's, held by its own server in dynamic-private only.
        for id in self.ids {
            self.await_numsub(&room(id), self.expected_subscribers(1, true))
                .await;
        }

        // A room that only an oxio socket joins, then leaves.
        let solo = room("solo-oxio");
        assert_eq!(self.shard_numsub(&solo), 0, "before the join");
        let socket = self.oxio_socket(3);
        socket.join(["solo-oxio"]);
        if self.dynamic() {
            self.await_numsub(&solo, 1).await;
        } else {
            // Static: nothing to await; give a wrong subscription time to show.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(self.shard_numsub(&solo), 0, "static mode subscribed {solo}");
        }
        // While subscribed, a Node broadcast to the room reaches the member.
        self.node
            .request(json!({ "op": "emit", "to": ["solo-oxio"], "event": "n-solo!", "args": [1] }))
            .await;
        self.clients.expect_each("n-solo!", &[3]).await;
        socket.leave("solo-oxio");
        self.await_numsub(&solo, 0).await;
    }

    /// Broadcasts both ways: everyone, rooms on the other node, a 20-character room, except,
    /// socket.to, socket.broadcast, one socket id, plain and binary.
    async fn broadcasts(&self) {
        let plain = json!(["hello", 1, 1.5, null, { "a": [true], "s": "ünï©ødé 🎉" }, ""]);
        let binary = json!(["bin", bin(&[0, 1, 2, 255]), { "k": "v" }]);
        let id0 = self.ids[0].as_str();
        let id2 = self.ids[2].as_str();

        // (event suffix, Node's target, oxio's target, recipients of Node's, recipients of oxio's)
        let cases: Vec<Case<'_>> = vec![
            (
                "all",
                Target::all(),
                Target::all(),
                ALL.to_vec(),
                ALL.to_vec(),
            ),
            // A room with members on the other node only.
            (
                "other-room",
                Target::to(&["blue"]),
                Target::to(&["red"]),
                vec![2],
                vec![0],
            ),
            (
                "room20",
                Target::to(&[ROOM20]),
                Target::to(&[ROOM20]),
                vec![1, 3],
                vec![1, 3],
            ),
            (
                "except",
                Target::all().except(&["mixed"]),
                Target::all().except(&["mixed"]),
                vec![0, 3],
                vec![0, 3],
            ),
            (
                "multi",
                Target::to(&["red", "blue", "mixed"]).except(&[ROOM20]),
                Target::to(&["red", "blue", "mixed"]).except(&[ROOM20]),
                vec![0, 2],
                vec![0, 2],
            ),
            // One socket id, on the other node.
            (
                "sid",
                Target::to(&[id2]),
                Target::to(&[id0]),
                vec![2],
                vec![0],
            ),
        ];
        for (name, node_target, oxio_target, node_gets, oxio_gets) in &cases {
            for (kind, args) in [("plain", &plain), ("bin", &binary)] {
                let event = format!("n-{name}-{kind}!");
                self.node.request(node_target.command(&event, args)).await;
                self.expect(&event, node_gets, args).await;
                let event = format!("o-{name}-{kind}!");
                oxio_target
                    .operator(self.oxio)
                    .emit_args(&event, to_args(args))
                    .expect("emit");
                self.expect(&event, oxio_gets, args).await;
            }
        }

        // socket.to(room): the sender is left out. Node's client 1 to "mixed" reaches client 2;
        // oxio's client 2 to "mixed" reaches client 1.
        for (kind, args) in [("plain", &plain), ("bin", &binary)] {
            let event = format!("n-socket-to-{kind}!");
            self.node
                .request(json!({ "op": "socketTo", "socket": self.ids[1], "to": ["mixed"], "event": event, "args": args }))
                .await;
            self.expect(&event, &[2], args).await;
            let event = format!("o-socket-to-{kind}!");
            self.oxio_socket(2)
                .to("mixed")
                .emit_args(&event, to_args(args))
                .expect("emit");
            self.expect(&event, &[1], args).await;

            // socket.broadcast: everyone but the sender.
            let event = format!("n-socket-broadcast-{kind}!");
            self.node
                .request(json!({ "op": "socketBroadcast", "socket": self.ids[0], "event": event, "args": args }))
                .await;
            self.expect(&event, &[1, 2, 3], args).await;
            let event = format!("o-socket-broadcast-{kind}!");
            self.oxio_socket(3)
                .broadcast()
                .emit_args(&event, to_args(args))
                .expect("emit");
            self.expect(&event, &[0, 1, 2], args).await;
        }
    }

    /// Every recipient gets `event` once, with `args`.
    async fn expect(&self, event: &str, recipients: &[usize], args: &Value) {
        for got in self.clients.expect_each(event, recipients).await {
            assert_eq!(&got["args"], args, "{event} to client {}", got["client"]);
        }
    }

    /// What went over Redis for the broadcasts above: one SPUBLISH each, on the channel the mode
    /// prescribes, JSON when plain and msgpack with binary, from both sides.
    async fn envelopes_and_channels(&self) {
        for side in ["n", "o"] {
            for (name, room) in [
                ("all", None),
                ("other-room", Some(if side == "n" { "blue" } else { "red" })),
                ("room20", Some(ROOM20)),
                ("except", None),
                ("multi", None),
                (
                    "sid",
                    Some(if side == "n" {
                        &*self.ids[2]
                    } else {
                        &*self.ids[0]
                    }),
                ),
            ] {
                let channel = room.map_or_else(|| MAIN.to_owned(), |room| self.channel_for(room));
                for kind in ["plain", "bin"] {
                    let event = format!("{side}-{name}-{kind}!");
                    let published = self.monitor.published_once(&event).await;
                    assert_eq!(published.channel, channel, "channel of {event}");
                    let first = published.payload[0];
                    if kind == "plain" {
                        assert_eq!(first, b'{', "{event} should be JSON");
                        let message: Value = serde_json::from_slice(&published.payload)
                            .unwrap_or_else(|e| panic!("{event}: not JSON ({e})"));
                        assert_eq!(message["type"], 3, "{event}: {message}");
                        assert_eq!(message["nsp"], "/", "{event}: {message}");
                        assert!(message["data"]["packet"]["data"][0] == event.as_str());
                    } else {
                        assert!(
                            (0x80..=0x8f).contains(&first) || first == 0xde || first == 0xdf,
                            "{event} should be a msgpack map, starts with {first:#04x}"
                        );
                        let needle = [0xc4, 4, 0, 1, 2, 255];
                        assert!(
                            published.payload.windows(needle.len()).any(|w| w == needle),
                            "{event}: the bytes travel as msgpack bin8"
                        );
                    }
                }
            }
        }
    }

    /// fetchSockets both ways, everyone and one remote room.
    async fn fetch_sockets(&self) {
        let all = self.node.request(json!({ "op": "fetchSockets" })).await;
        let all = all.as_array().expect("sockets");
        let fetched: Vec<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_same_ids(&fetched, self.ids);
        for socket in all {
            let client = socket["data"]["client"].as_u64().expect("data.client") as usize;
            assert_eq!(socket["id"], self.ids[client]);
            let peer = if client < 2 { "A" } else { "B" };
            assert_eq!(socket["data"]["peer"], peer, "{socket}");
            let mut rooms: Vec<String> = rooms_of(client).iter().map(|r| r.to_string()).collect();
            rooms.push(self.ids[client].clone());
            assert_eq!(sorted_strings(&socket["rooms"]), sorted(rooms), "{socket}");
            for key in [
                "headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth",
            ] {
                assert!(
                    socket["handshake"].get(key).is_some(),
                    "handshake.{key}: {socket}"
                );
            }
        }
        let blue = self
            .node
            .request(json!({ "op": "fetchSockets", "to": ["blue"] }))
            .await;
        assert_eq!(blue.as_array().map(Vec::len), Some(1), "{blue}");
        assert_eq!(blue[0]["id"], self.ids[2]);

        let all = self.oxio.io.fetch_sockets().await.expect("fetch_sockets");
        let fetched: Vec<&str> = all.iter().map(|s| s.id()).collect();
        assert_same_ids(&fetched, self.ids);
        for socket in &all {
            let client = socket.data()["client"].as_u64().expect("data.client") as usize;
            assert_eq!(socket.id(), self.ids[client]);
            assert_eq!(socket.data()["peer"], if client < 2 { "A" } else { "B" });
            let rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
            let mut expected: Vec<String> =
                rooms_of(client).iter().map(|r| r.to_string()).collect();
            expected.push(self.ids[client].clone());
            assert_eq!(sorted(rooms), sorted(expected), "rooms of client {client}");
            assert_eq!(socket.as_local().is_some(), client >= 2);
        }
        let red = self
            .oxio
            .io
            .to("red")
            .fetch_sockets()
            .await
            .expect("fetch_sockets");
        let red: Vec<&str> = red.iter().map(|s| s.id()).collect();
        assert_eq!(red, [self.ids[0].as_str()]);
    }

    /// serverSideEmit with and without ack, both ways.
    async fn server_side_emits(&self) {
        let args = json!(["from-node", 1, { "k": [1, "ü"] }]);
        let answer = self
            .node
            .request(json!({ "op": "serverSideEmitWithAck", "event": "sse", "args": args }))
            .await;
        assert_eq!(answer, json!({ "error": null, "responses": ["oxio-ack"] }));
        self.node
            .request(json!({ "op": "serverSideEmit", "event": "sse-plain", "args": ["n-plain"] }))
            .await;
        let oxio = self.oxio;
        eventually("oxio got the plain server-side event", || async {
            oxio.server_events().iter().any(|e| e.event == "sse-plain")
        })
        .await;
        let events = oxio.server_events();
        let sse: Vec<_> = events.iter().filter(|e| e.event == "sse").collect();
        assert_eq!(sse.len(), 1, "{events:?}");
        assert_eq!(json!(sse[0].args), args);
        assert!(sse[0].wanted_ack);
        let plain: Vec<_> = events.iter().filter(|e| e.event == "sse-plain").collect();
        assert_eq!(plain.len(), 1, "{events:?}");
        assert_eq!(json!(plain[0].args), json!(["n-plain"]));
        assert!(!plain[0].wanted_ack);

        let responses = oxio
            .io
            .of("/")
            .server_side_emit_with_ack("sse", to_args(&json!(["from-oxio", 2, { "k": null }])))
            .await
            .unwrap_or_else(|e| panic!("server_side_emit_with_ack: {e}"));
        assert_eq!(values(&responses), [json!("node-ack")]);
        oxio.io
            .of("/")
            .server_side_emit("sse-plain", Args::one("o-plain"))
            .expect("server_side_emit");
        let node = self.node;
        eventually("Node got the plain server-side event", || async {
            node.request(json!({ "op": "received", "event": "sse-plain" }))
                .await
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
        .await;
        let got = node
            .request(json!({ "op": "received", "event": "sse" }))
            .await;
        assert_eq!(
            got,
            json!([{ "nsp": "/", "event": "sse", "args": ["from-oxio", 2, { "k": null }], "ack": true }])
        );
        let got = node
            .request(json!({ "op": "received", "event": "sse-plain" }))
            .await;
        assert_eq!(
            got,
            json!([{ "nsp": "/", "event": "sse-plain", "args": ["o-plain"], "ack": false }])
        );
    }

    /// emitWithAck across: every client answers, also when one node has no matching client (it
    /// must still report a count of 0, or the requester waits for its timeout).
    async fn broadcasts_with_ack(&self) {
        let all_acks: Vec<String> = ALL.iter().map(|i| format!("ack-from-{i}")).collect();
        for (to, expected) in [
            (vec![], all_acks.clone()),
            (vec!["blue"], vec!["ack-from-2".to_owned()]),
            (vec!["red"], vec!["ack-from-0".to_owned()]),
        ] {
            let event = format!("n-ask-{}!", to.join("-"));
            let started = std::time::Instant::now();
            let answer = self
                .node
                .request(json!({ "op": "emitWithAck", "to": to, "event": event, "args": [7], "flags": { "timeout": 8000 } }))
                .await;
            assert_eq!(answer["error"], Value::Null, "{event}: {answer}");
            assert_eq!(sorted_strings(&answer["responses"]), expected, "{event}");
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "{event} waited for its timeout"
            );
            let recipients: Vec<usize> = expected.iter().map(|a| a[9..].parse().unwrap()).collect();
            for got in self.clients.expect_each(&event, &recipients).await {
                assert_eq!(got["args"], json!([7]));
                assert_eq!(got["ack"], true);
            }

            let event = format!("o-ask-{}!", to.join("-"));
            let mut operator = self.oxio.io.broadcast().timeout(Duration::from_secs(8));
            for room in &to {
                operator = operator.to(*room);
            }
            let responses = operator
                .emit_with_ack(&event, Args::one(&8))
                .await
                .unwrap_or_else(|e| panic!("{event}: {e}"));
            let responses: Vec<String> = sorted(
                values(&responses)
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
            );
            assert_eq!(responses, expected, "{event}");
            for got in self.clients.expect_each(&event, &recipients).await {
                assert_eq!(got["args"], json!([8]));
            }
        }
    }

    /// socketsJoin / socketsLeave both ways, on sockets of both nodes (`mixed` = client 1 on
    /// Node, client 2 on oxio); the joined room's channel follows in dynamic modes, and a
    /// broadcast from the other side reaches both members.
    async fn remote_membership(&self) {
        let channel = |room: &str| format!("{MAIN}{room}#");
        // Node asks.
        self.node
            .request(json!({ "op": "socketsJoin", "to": ["mixed"], "rooms": ["j-node"] }))
            .await;
        self.await_rooms("j-node", true).await;
        self.await_numsub(&channel("j-node"), self.expected_subscribers(2, false))
            .await;
        self.oxio
            .io
            .to("j-node")
            .emit_args("o-j-node!", Args::one("x"))
            .expect("emit");
        self.expect("o-j-node!", &[1, 2], &json!(["x"])).await;
        self.node
            .request(json!({ "op": "socketsLeave", "to": ["j-node"], "rooms": ["j-node"] }))
            .await;
        self.await_rooms("j-node", false).await;
        self.await_numsub(&channel("j-node"), 0).await;

        // oxio asks.
        self.oxio.io.to("mixed").sockets_join(["j-oxio"]);
        self.await_rooms("j-oxio", true).await;
        self.await_numsub(&channel("j-oxio"), self.expected_subscribers(2, false))
            .await;
        self.node
            .request(json!({ "op": "emit", "to": ["j-oxio"], "event": "n-j-oxio!", "args": ["y"] }))
            .await;
        self.expect("n-j-oxio!", &[1, 2], &json!(["y"])).await;
        self.oxio.io.to("j-oxio").sockets_leave("j-oxio");
        self.await_rooms("j-oxio", false).await;
        self.await_numsub(&channel("j-oxio"), 0).await;
    }

    /// Waits until clients 1 (on Node) and 2 (on oxio) are both in `room` (or both out of it).
    async fn await_rooms(&self, room: &str, member: bool) {
        let what = format!(
            "clients 1 and 2 {} {room}",
            if member { "in" } else { "out of" }
        );
        eventually(&what, || async {
            let on_node = self
                .node
                .request(json!({ "op": "connections", "nsp": "/" }))
                .await
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == self.ids[1])
                .is_some_and(|s| s["rooms"].as_array().unwrap().iter().any(|r| r == room));
            let on_oxio = self.oxio_socket(2).rooms().iter().any(|r| &**r == room);
            on_node == member && on_oxio == member
        })
        .await;
    }

    /// disconnectSockets both ways: each side disconnects a socket of the other.
    async fn disconnects(&self) {
        self.node
            .request(json!({ "op": "disconnectSockets", "to": ["blue"], "close": false }))
            .await;
        let got = self.clients.expect_each("disconnect", &[2]).await;
        assert_eq!(got[0]["args"], json!(["io server disconnect"]));
        self.oxio.io.to("red").disconnect_sockets(false);
        let got = self.clients.expect_each("disconnect", &[0]).await;
        assert_eq!(got[0]["args"], json!(["io server disconnect"]));
        // The others stay: one more broadcast reaches exactly them, from both sides.
        self.node
            .request(json!({ "op": "emit", "event": "n-after!", "args": [] }))
            .await;
        self.clients.expect_each("n-after!", &[1, 3]).await;
        self.oxio
            .io
            .emit_args("o-after!", Args::new())
            .expect("emit");
        self.clients.expect_each("o-after!", &[1, 3]).await;
        assert_eq!(self.node.request(json!({ "op": "serverCount" })).await, 2);
        assert_eq!(self.oxio.io.of("/").server_count().await, 2);
    }
}

/// A broadcast battery entry: (event name part, Node's target, oxio's target, recipients of
/// Node's broadcast, recipients of oxio's).
type Case<'a> = (&'a str, Target, Target, Vec<usize>, Vec<usize>);

/// A broadcast target: rooms and excepted rooms.
#[derive(Clone)]
struct Target {
    to: Vec<String>,
    except: Vec<String>,
}

impl Target {
    fn all() -> Target {
        Target {
            to: Vec::new(),
            except: Vec::new(),
        }
    }

    fn to(rooms: &[&str]) -> Target {
        Target {
            to: rooms.iter().map(|r| r.to_string()).collect(),
            except: Vec::new(),
        }
    }

    fn except(mut self, rooms: &[&str]) -> Target {
        self.except = rooms.iter().map(|r| r.to_string()).collect();
        self
    }

    /// The peer's `emit` command.
    fn command(&self, event: &str, args: &Value) -> Value {
        json!({ "op": "emit", "to": self.to, "except": self.except, "event": event, "args": args })
    }

    /// The same target on oxio.
    fn operator(&self, oxio: &OxioNode) -> oxio_server::BroadcastOperator {
        let mut operator = oxio.io.broadcast();
        for room in &self.to {
            operator = operator.to(room.as_str());
        }
        for room in &self.except {
            operator = operator.except(room.as_str());
        }
        operator
    }
}

/// The emit arguments of a JSON array, `{"$bin"}` values as binary.
fn to_args(args: &Value) -> Args {
    use base64::Engine as _;
    let mut out = Args::new();
    for arg in args.as_array().expect("args array") {
        match arg.get("$bin").and_then(Value::as_str) {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                out = out.binary(Bytes::from(bytes));
            }
            None => out = out.arg(arg),
        }
    }
    out
}

/// The first argument of each answer.
fn values(payloads: &[Payload]) -> Vec<Value> {
    payloads
        .iter()
        .map(|p| p.get::<Value>(0).expect("json"))
        .collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn sorted_strings(value: &Value) -> Vec<String> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"));
    sorted(
        items
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect(),
    )
}

/// `got` holds each of `ids` exactly once and nothing else.
fn assert_same_ids(got: &[&str], ids: &[String]) {
    let mut got = got.to_vec();
    got.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want, "fetched socket ids");
    let unique: BTreeSet<&str> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "a socket fetched twice");
}

/// `PUBSUB SHARDNUMSUB channel`.
fn shard_numsub(redis: &RedisServer, channel: &str) -> usize {
    let reply = redis.command(&["PUBSUB", "SHARDNUMSUB", channel]);
    reply
        .lines()
        .last()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("SHARDNUMSUB {channel}: {reply:?}"))
}

// ---------------------------------------------------------------------------------------------
// MONITOR: every SPUBLISH that goes through Redis
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Published {
    channel: String,
    payload: Vec<u8>,
}

/// A `MONITOR` connection recording every SPUBLISH (it does not subscribe to anything, so the
/// subscriber counts stay as they are).
struct Monitor {
    published: Arc<Mutex<Vec<Published>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    async fn start(port: u16) -> Monitor {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to Redis");
        let mut reader = BufReader::new(stream);
        reader
            .get_mut()
            .write_all(b"*1\r\n$7\r\nMONITOR\r\n")
            .await
            .expect("MONITOR");
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).await.expect("+OK");
        assert_eq!(line, b"+OK\r\n", "MONITOR answer");
        let published: Arc<Mutex<Vec<Published>>> = Arc::default();
        let record = published.clone();
        let task = tokio::spawn(async move {
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let args = monitor_args(&line);
                if args.len() == 3 && args[0].eq_ignore_ascii_case(b"SPUBLISH") {
                    record.lock().unwrap().push(Published {
                        channel: String::from_utf8_lossy(&args[1]).into_owned(),
                        payload: args[2].clone(),
                    });
                }
            }
        });
        Monitor { published, task }
    }

    /// The one SPUBLISH whose payload names `event` (waits for it to show up; fails if there is
    /// more than one).
    async fn published_once(&self, event: &str) -> Published {
        let matching = || -> Vec<Published> {
            self.published
                .lock()
                .unwrap()
                .iter()
                .filter(|p| {
                    p.payload
                        .windows(event.len())
                        .any(|w| w == event.as_bytes())
                })
                .cloned()
                .collect()
        };
        eventually(&format!("SPUBLISH of {event}"), || async {
            !matching().is_empty()
        })
        .await;
        let found = matching();
        assert_eq!(
            found.len(),
            1,
            "{event} published {} times: {found:?}",
            found.len()
        );
        found.into_iter().next().unwrap()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The arguments of a MONITOR line: `+<time> [<db> <addr>] "ARG" "ARG" …`, each in Redis's
/// quoted form (`\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\xHH`).
fn monitor_args(line: &[u8]) -> Vec<Vec<u8>> {
    let Some(start) = line.windows(2).position(|w| w == b"] ") else {
        return Vec::new();
    };
    let mut args = Vec::new();
    let mut bytes = line[start + 2..].iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b != b'"' {
            continue;
        }
        let mut arg = Vec::new();
        while let Some(b) = bytes.next() {
            match b {
                b'"' => break,
                b'\\' => match bytes.next() {
                    Some(b'n') => arg.push(b'\n'),
                    Some(b'r') => arg.push(b'\r'),
                    Some(b't') => arg.push(b'\t'),
                    Some(b'a') => arg.push(7),
                    Some(b'b') => arg.push(8),
                    Some(b'x') => {
                        let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                        let hex = std::str::from_utf8(&hex).unwrap_or("00");
                        arg.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    }
                    Some(other) => arg.push(other),
                    None => break,
                },
                other => arg.push(other),
            }
        }
        args.push(arg);
    }
    args
}
