//! Cross-node queries and remote membership in a mixed classic-adapter cluster on one real Redis:
//! a Node socket.io server with `@socket.io/redis-adapter` and an oxio server, clients on both
//! (spec §9, scenarios 6 and 7).

mod cluster_support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use cluster_support::{NodeOptions, OxioNode, RawSubscriber};
use oxio_server::{Args, RemoteSocket};
use oxio_test_support::node::{NodeClients, NodePeer, eventually, repo_root, sorted};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

/// The rooms each client joins: clients 0, 1 are on the Node server, 2, 3 on oxio.
/// r1 = {0, 1, 2}, r2 = {3}, r3 = {1, 3}.
const LAYOUT: [&[&str]; 4] = [&["r1"], &["r1", "r3"], &["r1"], &["r2", "r3"]];

/// The keys of a handshake as Node's `fetchSockets` reports it.
const HANDSHAKE_KEYS: [&str; 9] = [
    "address", "auth", "headers", "issued", "query", "secure", "time", "url", "xdomain",
];

/// Node server A, oxio server B, and the four clients of [`LAYOUT`] (with query `q=v<i>`).
async fn cluster(redis: &RedisServer) -> (NodePeer, OxioNode, NodeClients) {
    let node = NodePeer::start(
        json!({ "name": "A", "redis": redis.url(), "mode": "classic", "namespaces": ["/admin"] }),
    )
    .await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let specs: Vec<Value> = LAYOUT
        .iter()
        .enumerate()
        .map(|(i, rooms)| {
            let url = if i < 2 { node.url() } else { oxio.url() };
            json!({
                "url": url,
                "nsp": "/",
                "auth": { "client": i, "join": rooms },
                "query": { "q": format!("v{i}") },
            })
        })
        .collect();
    let clients = NodeClients::start(json!({ "clients": specs })).await;
    (node, oxio, clients)
}

fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut items: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    items.sort();
    items
}

/// The rooms client `i` is in, as it should be: its id and the rooms of [`LAYOUT`].
fn expected_rooms(ids: &[String], i: usize) -> Vec<String> {
    strings(LAYOUT[i].iter().copied().chain([ids[i].as_str()]))
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    strings(
        value
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {value}"))
            .keys(),
    )
}

/// The JSON type of a value, for comparing handshakes field by field.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `Date.parse` of each string, run by Node.
async fn js_date_parse(texts: &[&str]) -> Vec<Value> {
    let output = tokio::process::Command::new("node")
        .arg("-e")
        .arg("console.log(JSON.stringify(process.argv.slice(1).map((s) => Date.parse(s))))")
        .args(texts)
        .output()
        .await
        .expect("run node");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice::<Vec<Value>>(&output.stdout).expect("Date.parse output")
}

/// Checks that `handshake`, oxio's description of oxio-held client `i`, has every key Node's
/// handshakes have, of the same JSON types as `reference` (a Node-held socket's handshake), and
/// values that describe that client.
async fn check_oxio_handshake(handshake: &Value, reference: &Value, oxio: &OxioNode, i: usize) {
    assert_eq!(keys(reference), strings(HANDSHAKE_KEYS), "{reference}");
    assert_eq!(keys(handshake), strings(HANDSHAKE_KEYS), "{handshake}");
    for key in HANDSHAKE_KEYS {
        assert_eq!(
            kind(&handshake[key]),
            kind(&reference[key]),
            "type of handshake.{key}: {handshake} vs Node's {reference}"
        );
    }
    assert_eq!(
        handshake["auth"],
        json!({ "client": i, "join": LAYOUT[i] }),
        "{handshake}"
    );
    assert_eq!(
        handshake["headers"]["host"],
        json!(oxio.address.to_string()),
        "{handshake}"
    );
    // The same query keys as Node's (EIO, transport, q), with this client's values.
    assert_eq!(keys(&handshake["query"]), keys(&reference["query"]));
    assert_eq!(handshake["query"]["q"], json!(format!("v{i}")));
    assert_eq!(handshake["query"]["EIO"], json!("4"));
    assert_eq!(handshake["query"]["transport"], json!("websocket"));
    let url = handshake["url"].as_str().unwrap();
    assert!(
        url.starts_with("/socket.io/?") && url.contains(&format!("q=v{i}")),
        "{url}"
    );
    let address = handshake["address"].as_str().unwrap();
    assert!(address.ends_with("127.0.0.1"), "{address}");
    assert_eq!(handshake["xdomain"], reference["xdomain"]);
    assert_eq!(handshake["secure"], json!(false));
    // `issued` is epoch ms from the last minutes; `time` is the same instant as JS prints it.
    let issued = handshake["issued"].as_u64().expect("issued ms");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        issued <= now && now - issued < 600_000,
        "issued {issued}, now {now}"
    );
    let time = handshake["time"].as_str().unwrap();
    let parsed = js_date_parse(&[time]).await;
    assert_eq!(
        parsed,
        [json!(issued / 1000 * 1000)],
        "time {time:?} vs issued {issued}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_all_rooms_and_server_count_both_ways() {
    let redis = RedisServer::start();
    let (node, oxio, clients) = cluster(&redis).await;
    let ids = clients.ids().to_vec();

    assert_eq!(node.request(json!({ "op": "serverCount" })).await, 2);
    assert_eq!(oxio.io.of("/").server_count().await, 2);

    // ---- Node asks: oxio answers with its sockets ----
    let fetched = node.request(json!({ "op": "fetchSockets" })).await;
    let fetched = fetched.as_array().unwrap().clone();
    assert_eq!(
        strings(fetched.iter().map(|s| s["id"].as_str().unwrap())),
        strings(&ids),
        "{fetched:#?}"
    );
    let by_id = |i: usize| {
        fetched
            .iter()
            .find(|s| s["id"] == ids[i])
            .unwrap_or_else(|| panic!("client {i} not fetched"))
            .clone()
    };
    let node_reference = by_id(0)["handshake"].clone();
    for i in [2, 3] {
        let socket = by_id(i);
        assert_eq!(
            sorted(&socket["rooms"]),
            expected_rooms(&ids, i),
            "{socket}"
        );
        assert_eq!(
            socket["data"],
            json!({ "peer": "B", "client": i, "join": LAYOUT[i] })
        );
        check_oxio_handshake(&socket["handshake"], &node_reference, &oxio, i).await;
    }
    // Selections: r1 except r3 = {0, 2}; r3 except <an oxio-held id> = {1}; r2 = {3}.
    for (to, except, expected) in [
        (json!(["r1"]), json!(["r3"]), vec![0, 2]),
        (json!(["r3"]), json!([ids[3]]), vec![1]),
        (json!(["r2"]), json!([]), vec![3]),
        (json!(["r1", "r2"]), json!([ids[0]]), vec![1, 2, 3]),
    ] {
        let fetched = node
            .request(json!({ "op": "fetchSockets", "to": to, "except": except }))
            .await;
        let got: Vec<String> = sorted(&json!(
            fetched
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].clone())
                .collect::<Vec<_>>()
        ));
        assert_eq!(
            got,
            strings(expected.iter().map(|&i| &ids[i])),
            "to {to} except {except}"
        );
    }

    // ---- oxio asks: Node answers with its sockets ----
    let fetched = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    assert_eq!(strings(fetched.iter().map(RemoteSocket::id)), strings(&ids));
    let node_view = node.request(json!({ "op": "fetchSockets" })).await;
    for socket in &fetched {
        let i = ids.iter().position(|id| id == socket.id()).unwrap();
        assert_eq!(
            strings(socket.rooms()),
            expected_rooms(&ids, i),
            "{socket:?}"
        );
        let peer = if i < 2 { "A" } else { "B" };
        assert_eq!(
            socket.data(),
            &json!({ "peer": peer, "client": i, "join": LAYOUT[i] })
        );
        assert_eq!(socket.as_local().is_some(), i >= 2, "client {i}");
        if i < 2 {
            // A Node-held socket: exactly the handshake Node itself reports.
            let own = node_view
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == socket.id())
                .unwrap();
            assert_eq!(socket.handshake(), &own["handshake"]);
            assert_eq!(keys(socket.handshake()), strings(HANDSHAKE_KEYS));
        } else {
            check_oxio_handshake(socket.handshake(), &node_reference, &oxio, i).await;
        }
    }
    let io = oxio.io.of("/");
    for (operator, expected) in [
        (io.to("r1").except("r3"), vec![0, 2]),
        (io.to("r3").except(ids[3].as_str()), vec![1]),
        (io.to("r3").except(ids[1].as_str()), vec![3]),
        (io.to("r1").to("r2").except(ids[2].as_str()), vec![0, 1, 3]),
    ] {
        let fetched = operator.fetch_sockets().await.expect("fetch_sockets");
        assert_eq!(
            strings(fetched.iter().map(RemoteSocket::id)),
            strings(expected.iter().map(|&i| &ids[i])),
            "{fetched:?}"
        );
    }

    // ---- allRooms, both ways ----
    let every_room = strings(ids.iter().map(String::as_str).chain(["r1", "r2", "r3"]));
    let from_node = node.request(json!({ "op": "allRooms" })).await;
    assert_eq!(sorted(&from_node), every_room);
    let from_oxio = io.all_rooms().await.expect("all_rooms");
    assert_eq!(strings(from_oxio.iter().map(|r| &**r)), every_room);

    // Nothing the queries did reached a client.
    let extra = clients.drain(Duration::from_millis(200)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
    tokio::join!(node.exit(), clients.exit());
    oxio.shutdown().await;
}

/// The rooms of a Node-held socket, as Node's `connections` reports them (`None`: not
/// connected).
async fn node_rooms(node: &NodePeer, id: &str) -> Option<Vec<String>> {
    let connections = node
        .request(json!({ "op": "connections", "nsp": "/" }))
        .await;
    connections
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| sorted(&c["rooms"]))
}

/// The rooms of an oxio-held socket (`None`: not connected).
fn oxio_rooms(oxio: &OxioNode, id: &str) -> Option<Vec<String>> {
    let socket = oxio.io.of("/").socket(id)?;
    Some(strings(socket.rooms().iter().map(|r| &**r)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_socket_api_on_a_node_held_socket() {
    let redis = RedisServer::start();
    let (node, oxio, clients) = cluster(&redis).await;
    let ids = clients.ids().to_vec();

    let fetched = oxio
        .io
        .of("/")
        .to(ids[0].as_str())
        .fetch_sockets()
        .await
        .expect("fetch_sockets");
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    let remote = &fetched[0];
    assert_eq!(remote.id(), ids[0]);
    assert!(remote.as_local().is_none());

    // emit: that client only, once.
    remote
        .emit_args("private", Args::new().arg("p").arg(&7))
        .unwrap();
    let got = clients.expect_each("private", &[0]).await;
    assert_eq!(got[0]["args"], json!(["p", 7]));

    // join / leave, as Node sees the socket.
    remote.join(["j1", "j2"]);
    eventually("Node's socket 0 joined j1 and j2", || async {
        node_rooms(&node, &ids[0]).await == Some(strings([ids[0].as_str(), "j1", "j2", "r1"]))
    })
    .await;
    remote.leave("j1");
    eventually("Node's socket 0 left j1", || async {
        node_rooms(&node, &ids[0]).await == Some(strings([ids[0].as_str(), "j2", "r1"]))
    })
    .await;
    // Nobody else moved.
    assert_eq!(
        node_rooms(&node, &ids[1]).await,
        Some(expected_rooms(&ids, 1))
    );
    for i in [2, 3] {
        assert_eq!(oxio_rooms(&oxio, &ids[i]), Some(expected_rooms(&ids, i)));
    }

    // disconnect: client 0 goes, Node reports it, the others stay.
    remote.disconnect(false);
    let got = clients.expect_each("disconnect", &[0]).await;
    assert_eq!(got[0]["args"], json!(["io server disconnect"]));
    let events = node
        .events_until(|e| e["event"] == "disconnect" && e["id"] == ids[0])
        .await;
    assert_eq!(
        events.last().unwrap()["reason"],
        json!("server namespace disconnect")
    );
    node.request(json!({ "op": "emit", "event": "after", "args": [] }))
        .await;
    clients.expect_each("after", &[1, 2, 3]).await;
    let extra = clients.drain(Duration::from_millis(300)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
    tokio::join!(node.exit(), clients.exit());
    oxio.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_and_leave_both_ways() {
    let redis = RedisServer::start();
    let (node, oxio, clients) = cluster(&redis).await;
    let ids = clients.ids().to_vec();
    // r3 = {1 (Node), 3 (oxio)}: each operation acts on the requester's own socket and on the
    // other node's.
    let rooms_of = |i: usize| {
        let (node, oxio, id) = (&node, &oxio, ids[i].clone());
        async move {
            if i < 2 {
                node_rooms(node, &id).await
            } else {
                oxio_rooms(oxio, &id)
            }
        }
    };
    let with = |i: usize, extra: &[&str]| {
        let mut rooms = expected_rooms(&ids, i);
        rooms.extend(extra.iter().map(|r| r.to_string()));
        rooms.sort();
        Some(rooms)
    };

    node.request(json!({ "op": "socketsJoin", "to": ["r3"], "rooms": ["x1", "x2"] }))
        .await;
    eventually("Node's socketsJoin reached 1 and 3", || async {
        rooms_of(1).await == with(1, &["x1", "x2"]) && rooms_of(3).await == with(3, &["x1", "x2"])
    })
    .await;
    oxio.io.of("/").to("r3").sockets_join(["y"]);
    assert_eq!(
        rooms_of(3).await,
        with(3, &["x1", "x2", "y"]),
        "at once for oxio's own"
    );
    eventually("oxio's sockets_join reached 1", || async {
        rooms_of(1).await == with(1, &["x1", "x2", "y"])
    })
    .await;
    node.request(json!({ "op": "socketsLeave", "to": ["r3"], "rooms": ["x1"] }))
        .await;
    eventually("Node's socketsLeave reached 1 and 3", || async {
        rooms_of(1).await == with(1, &["x2", "y"]) && rooms_of(3).await == with(3, &["x2", "y"])
    })
    .await;
    oxio.io.of("/").to("r3").sockets_leave("y");
    eventually("oxio's sockets_leave reached 1 and 3", || async {
        rooms_of(1).await == with(1, &["x2"]) && rooms_of(3).await == with(3, &["x2"])
    })
    .await;
    // except: everyone but r1 (= only 3) joins z, from Node; everyone but 3 joins w, from oxio.
    node.request(json!({ "op": "socketsJoin", "except": ["r1"], "rooms": ["z"] }))
        .await;
    oxio.io
        .of("/")
        .broadcast()
        .except(ids[3].as_str())
        .sockets_join(["w"]);
    eventually("except was honoured both ways", || async {
        rooms_of(0).await == with(0, &["w"])
            && rooms_of(1).await == with(1, &["x2", "w"])
            && rooms_of(2).await == with(2, &["w"])
            && rooms_of(3).await == with(3, &["x2", "z"])
    })
    .await;
    // The cluster agrees: Node's allRooms and oxio's all_rooms.
    let mut every_room: Vec<String> = ids.clone();
    every_room.extend(["r1", "r2", "r3", "w", "x2", "z"].map(String::from));
    every_room.sort();
    assert_eq!(
        sorted(&node.request(json!({ "op": "allRooms" })).await),
        every_room
    );
    let from_oxio = oxio.io.of("/").all_rooms().await.unwrap();
    assert_eq!(strings(from_oxio.iter().map(|r| &**r)), every_room);

    // The old (7.x) per-socket REMOTE_JOIN: only the node holding `sid` joins it, and answers.
    let mut responses = RawSubscriber::subscribe(redis.port(), &["socket.io-response#/#"]).await;
    for (request_id, i) in [("abc123", 3), ("abc124", 0)] {
        let request = json!({ "uid": "XXXXXX", "requestId": request_id, "type": 2, "sid": ids[i], "room": "old" });
        node.request(json!({ "op": "publishRaw", "channel": "socket.io-request#/#", "text": request.to_string() }))
            .await;
        let answer = responses
            .next_matching(|m| m.payload.windows(6).any(|w| w == request_id.as_bytes()))
            .await;
        let answer: Value = serde_json::from_slice(&answer.payload).expect("a JSON response");
        assert_eq!(answer, json!({ "requestId": request_id }));
    }
    assert_eq!(rooms_of(3).await, with(3, &["x2", "z", "old"]));
    assert_eq!(rooms_of(0).await, with(0, &["w", "old"]));
    // One answer each (oxio does not answer for Node's socket, nor Node for oxio's).
    let more = responses.drain(Duration::from_millis(300)).await;
    assert!(more.is_empty(), "unexpected responses: {more:#?}");
    for i in [1, 2] {
        assert!(!rooms_of(i).await.unwrap().contains(&"old".to_owned()));
    }

    let extra = clients.drain(Duration::from_millis(200)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
    tokio::join!(node.exit(), clients.exit());
    oxio.shutdown().await;
}

/// socket.io-client managers, each with one connection carrying a `/` socket and an `/admin`
/// socket, so that `disconnectSockets(close)` can be told apart: `close = true` ends the whole
/// connection (the `/admin` socket too), `close = false` only the `/` socket.
struct MuxClients {
    events: mpsc::UnboundedReceiver<Value>,
    ids: Vec<Value>,
    _child: tokio::process::Child,
}

const MUX_SCRIPT: &str = r#"
const { Manager } = require("socket.io-client");
const specs = JSON.parse(process.argv[1]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const ids = specs.map(() => ({}));
let waiting = specs.length * 2;
specs.forEach((spec, i) => {
  const manager = new Manager(spec.url, { transports: ["websocket"], reconnection: false, timeout: 10000 });
  for (const nsp of ["/", "/admin"]) {
    const socket = manager.socket(nsp, { auth: { mux: i, join: [spec.room] } });
    socket.once("connect", () => {
      ids[i][nsp] = socket.id;
      if (--waiting === 0) print({ event: "connected", ids });
    });
    socket.on("connect_error", (error) => { print({ event: "fail", message: String(error) }); process.exit(1); });
    socket.on("disconnect", (reason) => print({ event: "disconnect", client: i, nsp, reason }));
  }
});
"#;

impl MuxClients {
    /// One manager per `(url, room)`; both of its sockets join `room`.
    async fn start(specs: &[(String, &str)]) -> MuxClients {
        let specs: Vec<Value> = specs
            .iter()
            .map(|(url, room)| json!({ "url": url, "room": room }))
            .collect();
        let mut child = tokio::process::Command::new("node")
            .arg("-e")
            .arg(MUX_SCRIPT)
            .arg(json!(specs).to_string())
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run node");
        let (tx, mut events) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send(value).is_err()
                {
                    return;
                }
            }
        });
        let first = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("mux clients connect within 30 s")
            .expect("mux clients output");
        assert_eq!(first["event"], "connected", "{first}");
        let ids = first["ids"].as_array().unwrap().clone();
        MuxClients {
            events,
            ids,
            _child: child,
        }
    }

    /// The id of manager `i`'s socket of `nsp`.
    fn id(&self, i: usize, nsp: &str) -> String {
        self.ids[i][nsp].as_str().unwrap().to_owned()
    }

    /// Takes `expected` disconnect events (as `(client, nsp)`), in any order; panics on any other
    /// event or after 20 s.
    async fn disconnects(&mut self, expected: &[(usize, &str)]) -> Vec<Value> {
        let mut wanted: BTreeSet<(u64, String)> = expected
            .iter()
            .map(|(i, nsp)| (*i as u64, nsp.to_string()))
            .collect();
        let mut got = Vec::new();
        while !wanted.is_empty() {
            let event = tokio::time::timeout(Duration::from_secs(20), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("still waiting for {wanted:?}; got {got:#?}"))
                .expect("mux clients output");
            let key = (
                event["client"].as_u64().unwrap_or(u64::MAX),
                event["nsp"].as_str().unwrap_or("").to_owned(),
            );
            assert!(
                event["event"] == "disconnect" && wanted.remove(&key),
                "unexpected {event}; waiting for {wanted:?}"
            );
            got.push(event);
        }
        got
    }

    /// Every event that arrives within `wait`.
    async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            events.push(event);
        }
        events
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_sockets_both_ways_with_and_without_close() {
    let redis = RedisServer::start();
    let node = NodePeer::start(
        json!({ "name": "A", "redis": redis.url(), "mode": "classic", "namespaces": ["/admin"] }),
    )
    .await;
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    // Managers 2k on Node and 2k+1 on oxio are in room d<k>; managers 8, 9 in no such room.
    let mut specs = Vec::new();
    for room in ["d0", "d1", "d2", "d3", "none"] {
        specs.push((node.url(), room));
        specs.push((oxio.url(), room));
    }
    let mut mux = MuxClients::start(&specs).await;
    let admin_ids = |mux: &MuxClients, managers: &[usize]| {
        strings(managers.iter().map(|&i| mux.id(i, "/admin")))
    };
    let admin_sockets = || async {
        let fetched = node
            .request(json!({ "op": "fetchSockets", "nsp": "/admin" }))
            .await;
        sorted(&json!(
            fetched
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].clone())
                .collect::<Vec<_>>()
        ))
    };
    assert_eq!(
        admin_sockets().await,
        admin_ids(&mux, &(0..10).collect::<Vec<_>>())
    );

    // Node, close = false: the `/` sockets of d0 go, on Node (the requester's own) and on oxio.
    node.request(json!({ "op": "disconnectSockets", "to": ["d0"], "close": false }))
        .await;
    for event in mux.disconnects(&[(0, "/"), (1, "/")]).await {
        assert_eq!(event["reason"], "io server disconnect", "{event}");
    }
    // oxio, close = false: the same for d1.
    oxio.io.of("/").to("d1").disconnect_sockets(false);
    for event in mux.disconnects(&[(2, "/"), (3, "/")]).await {
        assert_eq!(event["reason"], "io server disconnect", "{event}");
    }
    // Node, close = true: d2's whole connections close, their `/admin` sockets with them.
    node.request(json!({ "op": "disconnectSockets", "to": ["d2"], "close": true }))
        .await;
    mux.disconnects(&[(4, "/"), (5, "/"), (4, "/admin"), (5, "/admin")])
        .await;
    // oxio, close = true: the same for d3.
    oxio.io.of("/").to("d3").disconnect_sockets(true);
    mux.disconnects(&[(6, "/"), (7, "/"), (6, "/admin"), (7, "/admin")])
        .await;

    // Nothing else went: the close = false managers kept their `/admin` sockets, the others all.
    let extra = mux.drain(Duration::from_millis(500)).await;
    assert!(extra.is_empty(), "unexpected events: {extra:#?}");
    eventually(
        "the cluster's /admin sockets are those of managers 0-3, 8, 9",
        || async { admin_sockets().await == admin_ids(&mux, &[0, 1, 2, 3, 8, 9]) },
    )
    .await;
    let main = node.request(json!({ "op": "fetchSockets" })).await;
    assert_eq!(
        sorted(&json!(
            main.as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].clone())
                .collect::<Vec<_>>()
        )),
        strings([mux.id(8, "/"), mux.id(9, "/")])
    );
    node.exit().await;
    oxio.shutdown().await;
}
