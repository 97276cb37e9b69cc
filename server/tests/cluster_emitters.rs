//! Emitters reaching oxio servers through one real Redis, classic adapter (spec §9, scenarios 4
//! and 5): `@socket.io/redis-emitter` 5.1, the legacy `socket.io-emitter` 3.2.0, messages of older
//! emitters replayed byte for byte, and the Rust emitter of `oxio_cluster::redis::emitter`.
//!
//! A Node peer (`peer.mjs`) sits next to the oxio node where its behaviour is the reference: the
//! same message must reach the clients of both the same number of times.

mod cluster_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::RemoteData;
use oxio_cluster::redis::emitter::{Emitter, EmitterOptions, Publisher};
use oxio_cluster::redis::transport::{ChannelKind, RedisTarget, Transport};
use oxio_test_support::node::{NodeClients, NodePeer, bin, eventually, run_emitter, sorted};
use oxio_test_support::redis::RedisServer;
use serde_json::{Value, json};
use support::RawClient;

/// One client of `clients.mjs`: auth `{client: i, join}` (the servers join it to `join`).
fn client(url: &str, nsp: &str, i: usize, join: &[&str]) -> Value {
    json!({ "url": url, "nsp": nsp, "auth": { "client": i, "join": join } })
}

/// Takes `event` once from each of `who` and checks its arguments.
async fn expect_args(clients: &NodeClients, event: &str, who: &[usize], args: &Value) {
    for got in clients.expect_each(event, who).await {
        assert_eq!(&got["args"], args, "{event} at client {}", got["client"]);
    }
}

/// Fails on any event still queued or arriving within `wait`: a duplicate or a misdelivery (every
/// expected event has been taken by then).
async fn assert_quiet(clients: &NodeClients, wait: Duration) {
    let rest = clients.drain(wait).await;
    assert!(
        rest.is_empty(),
        "unexpected events (duplicates or wrong recipients): {rest:#?}"
    );
}

/// A publishing-only connection to Redis (raw fixtures, the Rust emitter's messages).
async fn publisher(url: &str) -> Arc<Transport> {
    let transport = Transport::connect(RedisTarget::Single(url.to_owned()), Arc::new(|_| {}))
        .expect("Redis URL");
    assert!(
        transport.wait_connected(Duration::from_secs(20)).await,
        "the publisher did not connect to Redis"
    );
    transport
}

/// The rooms of oxio socket `id` of namespace `nsp`, sorted (`None` once it is gone).
fn oxio_rooms(oxio: &OxioNode, nsp: &str, id: &str) -> Option<Vec<String>> {
    let socket = oxio.io.of(nsp).socket(id)?;
    let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    Some(rooms)
}

/// A MessagePack writer for hand-made fixtures, independent of the codec under test. Only the
/// forms the fixtures need: fixstr/str8, fixarray, fixmap, positive fixint, nil, bin8, raw bytes.
mod mp {
    pub(crate) fn str(s: &str) -> Vec<u8> {
        let mut out = if s.len() < 32 {
            vec![0xa0 | s.len() as u8]
        } else {
            vec![0xd9, u8::try_from(s.len()).expect("str8")]
        };
        out.extend_from_slice(s.as_bytes());
        out
    }

    pub(crate) fn arr(items: &[Vec<u8>]) -> Vec<u8> {
        assert!(items.len() < 16);
        let mut out = vec![0x90 | items.len() as u8];
        items.iter().for_each(|item| out.extend_from_slice(item));
        out
    }

    pub(crate) fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        assert!(entries.len() < 16);
        let mut out = vec![0x80 | entries.len() as u8];
        for (key, value) in entries {
            out.extend(str(key));
            out.extend_from_slice(value);
        }
        out
    }

    pub(crate) fn int(n: u8) -> Vec<u8> {
        assert!(n < 128);
        vec![n]
    }

    pub(crate) fn bin(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0xc4, u8::try_from(bytes.len()).expect("bin8")];
        out.extend_from_slice(bytes);
        out
    }

    pub(crate) fn strs(items: &[&str]) -> Vec<u8> {
        arr(&items.iter().map(|s| str(s)).collect::<Vec<_>>())
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: @socket.io/redis-emitter 5.1
// ---------------------------------------------------------------------------------------------

/// Every operator of the 5.x emitter reaches the right clients of the oxio node (and of the Node
/// peer, the reference) exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_emitter_broadcasts_reach_oxio_clients_once() {
    let redis = RedisServer::start();
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({ "name": "A", "redis": redis.url(), "namespaces": ["/admin"] })),
        OxioNode::start(NodeOptions::classic("B", &redis.url()))
    );
    let (a, b) = (node.url(), oxio.url());
    // 0, 1 and 5 on the Node peer; the others on oxio.
    let clients = NodeClients::start(json!({ "clients": [
        client(&a, "/", 0, &["r1"]),
        client(&a, "/", 1, &["r2"]),
        client(&b, "/", 2, &["r1"]),
        client(&b, "/", 3, &["r2", "r3"]),
        client(&b, "/", 4, &[]),
        client(&a, "/admin", 5, &["r1"]),
        client(&b, "/admin", 6, &["r1"]),
    ] }))
    .await;
    let ids = clients.ids().to_vec();
    const ROOT: [usize; 5] = [0, 1, 2, 3, 4];

    let payload = json!(["s", 1, 1.5, null, { "k": [true, { "n": -7 }] }, "é ✓"]);
    let binary = json!([bin(&[0, 1, 255]), { "nested": [bin(&[7])] }, "text"]);
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "emit", "event": "all", "args": payload },
        { "op": "emit", "to": ["r1"], "event": "to-r1", "args": [1] },
        { "op": "emit", "in": ["r2"], "event": "in-r2", "args": [2] },
        { "op": "emit", "to": ["r1", "r2"], "except": ["r3"], "event": "r1-r2-not-r3", "args": [] },
        { "op": "emit", "except": [ids[4]], "event": "except-sid", "args": [] },
        { "op": "emit", "to": [ids[3]], "event": "to-sid", "args": [] },
        { "op": "emit", "nsp": "/admin", "event": "admin-all", "args": ["a"] },
        { "op": "emit", "nsp": "admin", "to": ["r1"], "event": "admin-r1", "args": [] },
        { "op": "emit", "nsp": "/admin", "to": ["r2"], "event": "admin-r2", "args": [] },
        { "op": "emit", "compress": false, "to": ["r2"], "event": "no-compress", "args": [] },
        { "op": "emit", "compress": true, "event": "compress", "args": [] },
        { "op": "emit", "event": "binary", "args": binary },
        { "op": "emit", "to": ["r1"], "except": ["r1"], "event": "nobody", "args": [] },
    ] }))
    .await;

    expect_args(&clients, "all", &ROOT, &payload).await;
    expect_args(&clients, "to-r1", &[0, 2], &json!([1])).await;
    expect_args(&clients, "in-r2", &[1, 3], &json!([2])).await;
    clients.expect_each("r1-r2-not-r3", &[0, 1, 2]).await;
    clients.expect_each("except-sid", &[0, 1, 2, 3]).await;
    clients.expect_each("to-sid", &[3]).await;
    expect_args(&clients, "admin-all", &[5, 6], &json!(["a"])).await;
    clients.expect_each("admin-r1", &[5, 6]).await;
    clients.expect_each("no-compress", &[1, 3]).await;
    clients.expect_each("compress", &ROOT).await;
    expect_args(&clients, "binary", &ROOT, &binary).await;
    // Nothing else: no duplicates, nothing for "admin-r2" (no member) nor "nobody".
    assert_quiet(&clients, Duration::from_millis(500)).await;

    // Volatile: dropped for a client whose transport is still busy writing (Node's rule, and
    // oxio's), so it is sent alone, once every client is idle.
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "emit", "volatile": true, "except": ["r1"], "event": "volatile", "args": [] },
    ] }))
    .await;
    clients.expect_each("volatile", &[1, 3, 4]).await;
    assert_quiet(&clients, Duration::from_millis(300)).await;
    assert!(!node.log().contains("crash"), "{}", node.log());
}

/// The 5.x emitter's requests: serverSideEmit fires oxio's handlers, socketsJoin/socketsLeave
/// change oxio sockets' rooms, disconnectSockets(false) disconnects the socket only and
/// disconnectSockets(true) closes the whole connection (every namespace on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_emitter_requests_act_on_oxio_sockets() {
    let redis = RedisServer::start();
    let oxio = OxioNode::start(
        NodeOptions::classic("B", &redis.url())
            .listen("/", "job", None)
            .listen("/admin", "job", None),
    )
    .await;
    let b = oxio.url();
    let clients = NodeClients::start(json!({ "clients": [
        client(&b, "/", 0, &["r1"]),
        client(&b, "/", 1, &["r2"]),
        client(&b, "/", 2, &["r1", "r2"]),
        client(&b, "/admin", 3, &["r1"]),
    ] }))
    .await;
    let ids = clients.ids().to_vec();
    // Two hand-driven connections, each with a socket on `/` and one on `/admin`.
    let mut keep = RawClient::open(oxio.address).await;
    let keep_root = keep.connect("/").await;
    let keep_admin = keep.connect("/admin").await;
    let mut close = RawClient::open(oxio.address).await;
    let close_root = close.connect("/").await;
    let close_admin = close.connect("/admin").await;

    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "serverSideEmit", "event": "job", "args": ["x", 1, { "k": "v" }] },
        { "op": "serverSideEmit", "nsp": "/admin", "event": "job", "args": ["admin"] },
        { "op": "socketsJoin", "to": ["r1"], "rooms": ["j1", "j2"] },
        { "op": "socketsLeave", "in": ["r2"], "except": ["r1"], "rooms": ["r2"] },
        { "op": "socketsJoin", "nsp": "/admin", "rooms": ["admin-joined"] },
    ] }))
    .await;

    // Server-side events: once per namespace, no ack wanted (the emitter cannot receive one).
    eventually("oxio got both server-side events", || async {
        oxio.server_events().len() >= 2
    })
    .await;
    let mut events = oxio.server_events();
    events.sort_by(|x, y| x.nsp.cmp(&y.nsp));
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (events[0].nsp.as_str(), events[0].event.as_str()),
        ("/", "job")
    );
    assert_eq!(
        events[0].args,
        vec![json!("x"), json!(1), json!({ "k": "v" })]
    );
    assert!(!events[0].wanted_ack);
    assert_eq!(
        (events[1].nsp.as_str(), events[1].args.clone()),
        ("/admin", vec![json!("admin")])
    );

    // socketsJoin to r1 reached 0 and 2 (not 1, not the /admin socket in r1).
    let rooms = |id: &str, list: &[&str]| {
        let mut rooms: Vec<String> = list.iter().map(|r| r.to_string()).collect();
        rooms.push(id.to_owned());
        rooms.sort();
        rooms
    };
    eventually("0 and 2 joined j1 and j2; 1 left r2", || async {
        oxio_rooms(&oxio, "/", &ids[0]) == Some(rooms(&ids[0], &["r1", "j1", "j2"]))
            && oxio_rooms(&oxio, "/", &ids[2]) == Some(rooms(&ids[2], &["r1", "r2", "j1", "j2"]))
            && oxio_rooms(&oxio, "/", &ids[1]) == Some(rooms(&ids[1], &[]))
    })
    .await;
    assert_eq!(
        oxio_rooms(&oxio, "/admin", &ids[3]),
        Some(rooms(&ids[3], &["r1", "admin-joined"]))
    );
    assert_eq!(
        oxio_rooms(&oxio, "/admin", &keep_admin),
        Some(rooms(&keep_admin, &["admin-joined"]))
    );
    assert_eq!(
        oxio_rooms(&oxio, "/", &keep_root),
        Some(rooms(&keep_root, &[]))
    );

    // The joined rooms route broadcasts; then the two kinds of disconnect.
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "op": "emit", "to": ["j1"], "event": "to-j1", "args": [] },
        { "op": "disconnectSockets", "in": [ids[0]] },
        { "op": "disconnectSockets", "in": [keep_root], "close": false },
        { "op": "disconnectSockets", "in": [close_root], "close": true },
    ] }))
    .await;
    clients.expect_each("to-j1", &[0, 2]).await;
    let disconnect = clients.expect_each("disconnect", &[0]).await;
    assert_eq!(disconnect[0]["args"], json!(["io server disconnect"]));
    eventually("socket 0 is gone from oxio", || async {
        oxio.io.of("/").socket(&ids[0]).is_none()
    })
    .await;

    // close=false: only the `/` socket goes; the connection and its `/admin` socket stay.
    assert_eq!(keep.next_text().await, "41");
    oxio.io
        .of("/admin")
        .to(keep_admin.clone())
        .emit("still-here", &json!(1))
        .expect("emit");
    assert_eq!(keep.next_text().await, "42/admin,[\"still-here\",1]");
    assert!(oxio.io.of("/").socket(&keep_root).is_none());

    // close=true: both sockets are told, then the connection ends.
    let (frames, _) = close.read_to_end().await;
    let mut texts: Vec<String> = frames
        .iter()
        .filter_map(|f| f.to_text().ok().map(str::to_owned))
        .collect();
    texts.sort();
    assert_eq!(texts, ["41", "41/admin,"], "frames before the close");
    eventually("the closed connection's sockets are gone", || async {
        oxio.io.of("/").socket(&close_root).is_none()
            && oxio.io.of("/admin").socket(&close_admin).is_none()
    })
    .await;
    assert!(oxio.io.of("/admin").socket(&keep_admin).is_some());
    assert!(oxio.io.of("/").socket(&ids[2]).is_some());

    // Exactly once: no second server-side event, nobody else disconnected or messaged.
    assert_quiet(&clients, Duration::from_millis(500)).await;
    assert_eq!(oxio.server_events().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: socket.io-emitter 3.2.0, and replayed messages of older emitters
// ---------------------------------------------------------------------------------------------

/// The legacy emitter (`require("socket.io-emitter")({host, port})`) reaches oxio's clients as it
/// reaches Node's; 1.x/2.x multi-room messages (one PUBLISH per room) are delivered once per copy
/// whose room the node holds, by oxio as by Node's adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_emitter_reaches_oxio_clients() {
    let redis = RedisServer::start();
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({ "name": "A", "redis": redis.url(), "namespaces": ["/admin"] })),
        OxioNode::start(NodeOptions::classic("B", &redis.url()))
    );
    let (a, b) = (node.url(), oxio.url());
    let clients = NodeClients::start(json!({ "clients": [
        client(&a, "/", 0, &["r1"]),
        client(&a, "/", 1, &["r2"]),
        client(&b, "/", 2, &["r1"]),
        client(&b, "/", 3, &["r2"]),
        client(&b, "/", 4, &["r1", "r2"]),
        client(&b, "/", 5, &[]),
        client(&a, "/admin", 6, &[]),
        client(&b, "/admin", 7, &["r1"]),
    ] }))
    .await;
    const ROOT: [usize; 6] = [0, 1, 2, 3, 4, 5];

    let args = json!(["x", 1, bin(&[4, 5]), { "b": bin(&[6]) }, null]);
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "emitter": "legacy", "op": "emit", "event": "legacy-all", "args": args },
        { "emitter": "legacy", "op": "emit", "to": ["r1"], "event": "legacy-r1", "args": [] },
        { "emitter": "legacy", "op": "emit", "to": ["r1", "r2"], "event": "legacy-r1-r2", "args": [] },
        { "emitter": "legacy", "op": "emit", "nsp": "/admin", "event": "legacy-admin", "args": [] },
        { "emitter": "legacy", "op": "emit", "nsp": "/admin", "to": ["r1"], "event": "legacy-admin-r1", "args": [] },
        { "emitter": "legacy", "op": "emit", "nsp": "admin", "event": "legacy-admin-noslash", "args": [] },
        { "emitter": "legacy", "op": "emit", "flags": ["json"], "event": "legacy-json", "args": [{ "j": 1 }] },
        { "emitter": "legacy", "op": "emit", "flags": ["broadcast"], "to": ["r2"], "event": "legacy-broadcast-r2", "args": [] },
        // Rooms and flags reset after each emit: this one goes to everyone again.
        { "emitter": "legacy", "op": "emit", "event": "legacy-reset", "args": [] },
    ] }))
    .await;
    expect_args(&clients, "legacy-all", &ROOT, &args).await;
    clients.expect_each("legacy-r1", &[0, 2, 4]).await;
    clients.expect_each("legacy-r1-r2", &[0, 1, 2, 3, 4]).await;
    clients.expect_each("legacy-admin", &[6, 7]).await;
    clients.expect_each("legacy-admin-r1", &[7]).await;
    clients.expect_each("legacy-admin-noslash", &[6, 7]).await;
    expect_args(&clients, "legacy-json", &ROOT, &json!([{ "j": 1 }])).await;
    clients.expect_each("legacy-broadcast-r2", &[1, 3, 4]).await;
    clients.expect_each("legacy-reset", &ROOT).await;
    assert_quiet(&clients, Duration::from_millis(500)).await;
    // Volatile alone, every client idle (a busy transport drops a volatile packet).
    run_emitter(json!({ "redis": redis.url(), "ops": [
        { "emitter": "legacy", "op": "emit", "flags": ["volatile"], "event": "legacy-volatile", "args": [] },
    ] }))
    .await;
    clients.expect_each("legacy-volatile", &ROOT).await;

    // 1.x/2.x multi-room: `["emitter", packet, {rooms: [r1, r2], flags}]` (no `except`) published
    // once per room channel. Each copy that passes the room-channel filter is delivered to every
    // member of r1 ∪ r2: a node holding both rooms delivers twice. That is what Node's adapter did
    // with those emitters (and still does: peer A shows it); oxio does the same and does not
    // implement the optional exactly-once rule of spec §5.
    let multi = |event: &str, rooms: &[&str]| {
        mp::arr(&[
            mp::str("emitter"),
            mp::map(&[
                ("type", mp::int(2)),
                ("data", mp::arr(&[mp::str(event), mp::str("m")])),
                ("nsp", mp::str("/")),
            ]),
            mp::map(&[("rooms", mp::strs(rooms)), ("flags", mp::map(&[]))]),
        ])
    };
    let transport = publisher(&redis.url()).await;
    let publish = |channel: &str, payload: Vec<u8>| {
        transport
            .publish(ChannelKind::Classic, channel, Bytes::from(payload))
            .expect("publish");
    };
    for room in ["r1", "r2"] {
        publish(
            &format!("socket.io#/#{room}#"),
            multi("multi", &["r1", "r2"]),
        );
    }
    // r9 has no member anywhere: its copy is dropped by every node, the r1 copy delivers once.
    for room in ["r1", "r9"] {
        publish(
            &format!("socket.io#/#{room}#"),
            multi("multi-r9", &["r1", "r9"]),
        );
    }
    let got = clients.expect("multi", 10).await;
    for who in [0, 1, 2, 3, 4] {
        let count = got.iter().filter(|e| e["client"] == who).count();
        assert_eq!(count, 2, "client {who} got `multi` {count} times: {got:#?}");
    }
    for event in &got {
        assert_eq!(event["args"], json!(["m"]));
    }
    clients.expect_each("multi-r9", &[0, 2, 4]).await;
    assert_quiet(&clients, Duration::from_millis(500)).await;
    assert!(!node.log().contains("crash"), "{}", node.log());
}

/// Messages only older emitters send, published byte for byte on an oxio-only cluster (a Node
/// 8.x node crashes on the 2-element form, spec §2.4): `[packet, opts]` without uid, packet type 5
/// (BINARY_EVENT), `opts` without `except` (or without anything), a packet without `nsp`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_fixtures_replayed_on_oxio() {
    let redis = RedisServer::start();
    let oxio = OxioNode::start(NodeOptions::classic("B", &redis.url())).await;
    let b = oxio.url();
    let clients = NodeClients::start(json!({ "clients": [
        client(&b, "/", 0, &["r1"]),
        client(&b, "/", 1, &[]),
        client(&b, "/admin", 2, &["r1"]),
    ] }))
    .await;
    let transport = publisher(&redis.url()).await;
    let publish = |channel: &str, payload: Vec<u8>| {
        transport
            .publish(ChannelKind::Classic, channel, Bytes::from(payload))
            .expect("publish");
    };
    let packet = |ty: u8, data: Vec<u8>, nsp: Option<&str>| {
        let mut entries = vec![("type", mp::int(ty)), ("data", data)];
        if let Some(nsp) = nsp {
            entries.push(("nsp", mp::str(nsp)));
        }
        mp::map(&entries)
    };
    let opts = |rooms: &[&str]| mp::map(&[("rooms", mp::strs(rooms)), ("flags", mp::map(&[]))]);
    let event = |name: &str| mp::arr(&[mp::str(name), mp::str("v")]);

    // A packet without nsp counts as "/" (as in Node's classic adapter): on /admin's channel it
    // is not for /admin. Published first, so the later deliveries prove it had its chance.
    publish(
        "socket.io#/admin#",
        mp::arr(&[
            mp::str("emitter"),
            packet(2, event("no-nsp-admin"), None),
            opts(&[]),
        ]),
    );
    // 0.x: `[packet, opts]`, no uid.
    publish(
        "socket.io#/#",
        mp::arr(&[packet(2, event("two-elements"), Some("/")), opts(&[])]),
    );
    publish(
        "socket.io#/#r1#",
        mp::arr(&[
            packet(2, event("two-elements-r1"), Some("/")),
            opts(&["r1"]),
        ]),
    );
    // 1.x/2.x: BINARY_EVENT (type 5), with and without binary data.
    let binary = mp::arr(&[mp::str("type5"), mp::bin(&[1, 2]), mp::str("t")]);
    publish(
        "socket.io#/#",
        mp::arr(&[mp::str("emitter"), packet(5, binary, Some("/")), opts(&[])]),
    );
    publish(
        "socket.io#/#",
        mp::arr(&[
            mp::str("emitter"),
            packet(5, event("type5-text"), Some("/")),
            opts(&[]),
        ]),
    );
    // 3.x: no `except`; and an `opts` with nothing at all.
    publish(
        "socket.io#/#r1#",
        mp::arr(&[
            mp::str("emitter"),
            packet(2, event("no-except"), Some("/")),
            opts(&["r1"]),
        ]),
    );
    publish(
        "socket.io#/#",
        mp::arr(&[
            mp::str("emitter"),
            packet(2, event("empty-opts"), Some("/")),
            mp::map(&[]),
        ]),
    );
    publish(
        "socket.io#/admin#",
        mp::arr(&[
            mp::str("emitter"),
            packet(2, event("admin-ok"), Some("/admin")),
            opts(&[]),
        ]),
    );
    publish(
        "socket.io#/#",
        mp::arr(&[
            mp::str("emitter"),
            packet(2, event("no-nsp"), None),
            opts(&[]),
        ]),
    );

    let v = json!(["v"]);
    expect_args(&clients, "two-elements", &[0, 1], &v).await;
    expect_args(&clients, "two-elements-r1", &[0], &v).await;
    expect_args(&clients, "type5", &[0, 1], &json!([bin(&[1, 2]), "t"])).await;
    expect_args(&clients, "type5-text", &[0, 1], &v).await;
    expect_args(&clients, "no-except", &[0], &v).await;
    expect_args(&clients, "empty-opts", &[0, 1], &v).await;
    expect_args(&clients, "admin-ok", &[2], &v).await;
    expect_args(&clients, "no-nsp", &[0, 1], &v).await;
    assert_quiet(&clients, Duration::from_millis(500)).await;
}

// ---------------------------------------------------------------------------------------------
// The Rust emitter
// ---------------------------------------------------------------------------------------------

/// `oxio_cluster::redis::emitter::Emitter` reaches the clients of a Node peer and of an oxio node
/// alike: emit, to, except, of, binary, flags, serverSideEmit, socketsJoin.
///
/// The server crate's tests do not link the `redis` crate, so the emitter publishes into its
/// in-memory list and the test forwards each message, in order, with a Redis connection of its
/// own (PUBLISH on the channel the emitter chose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_emitter_reaches_node_and_oxio_clients() {
    let redis = RedisServer::start();
    let (node, oxio) = tokio::join!(
        NodePeer::start(json!({
            "name": "A", "redis": redis.url(), "namespaces": ["/admin"],
            "listen": [{ "nsp": "/", "event": "rust-job" }],
        })),
        OxioNode::start(NodeOptions::classic("B", &redis.url()).listen("/", "rust-job", None))
    );
    let (a, b) = (node.url(), oxio.url());
    let clients = NodeClients::start(json!({ "clients": [
        client(&a, "/", 0, &["r1"]),
        client(&a, "/", 1, &[]),
        client(&b, "/", 2, &["r1"]),
        client(&b, "/", 3, &["r2"]),
        client(&a, "/admin", 4, &[]),
        client(&b, "/admin", 5, &["r1"]),
    ] }))
    .await;
    let ids = clients.ids().to_vec();
    const ROOT: [usize; 4] = [0, 1, 2, 3];

    let transport = publisher(&redis.url()).await;
    let Publisher::Memory(outbox) = Publisher::memory() else {
        unreachable!()
    };
    let io = Emitter::new(Publisher::Memory(outbox.clone()), EmitterOptions::default());
    let flush = || {
        let messages: Vec<_> = outbox.lock().drain(..).collect();
        assert!(!messages.is_empty(), "the emitter published nothing");
        for message in messages {
            transport
                .publish(ChannelKind::Classic, &message.channel, message.payload)
                .expect("publish");
        }
    };

    let payload = [json!("s"), json!(1), json!({ "k": [null, 1.5] })];
    io.emit("rust-all", &payload).await.expect("emit");
    io.to("r1").emit("rust-r1", &[]).await.expect("emit");
    io.except("r1")
        .emit("rust-not-r1", &[])
        .await
        .expect("emit");
    io.to(["r1", "r2"])
        .except(ids[0].as_str())
        .emit("rust-r1-r2-not-0", &[])
        .await
        .expect("emit");
    io.of("admin")
        .emit("rust-admin", &[json!("a")])
        .await
        .expect("emit");
    let data = RemoteData {
        json: r#"["rust-bin",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}}]"#
            .into(),
        attachments: vec![Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[255])],
    };
    io.emit_data(&data).await.expect("emit binary");
    io.server_side_emit("rust-job", &[json!("x"), json!(2)])
        .await
        .expect("serverSideEmit");
    io.to("r1").sockets_join("rj").await.expect("socketsJoin");
    flush();

    expect_args(&clients, "rust-all", &ROOT, &json!(payload)).await;
    clients.expect_each("rust-r1", &[0, 2]).await;
    clients.expect_each("rust-not-r1", &[1, 3]).await;
    clients.expect_each("rust-r1-r2-not-0", &[2, 3]).await;
    expect_args(&clients, "rust-admin", &[4, 5], &json!(["a"])).await;
    let binary = json!([bin(&[1, 2, 3]), { "n": bin(&[255]) }]);
    expect_args(&clients, "rust-bin", &ROOT, &binary).await;
    // Volatile alone, every client idle (a busy transport drops a volatile packet).
    io.volatile()
        .compress(false)
        .emit("rust-flags", &[])
        .await
        .expect("emit");
    flush();
    clients.expect_each("rust-flags", &ROOT).await;

    // serverSideEmit: once on each server, without an ack.
    let received = node.events_until(|e| e["event"] == "serverSideEmit").await;
    let received = received.last().expect("event");
    assert_eq!(
        (&received["name"], &received["args"], &received["ack"]),
        (&json!("rust-job"), &json!(["x", 2]), &json!(false))
    );
    eventually("oxio got rust-job", || async {
        !oxio.server_events().is_empty()
    })
    .await;
    let events = oxio.server_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].args, vec![json!("x"), json!(2)]);
    assert!(!events[0].wanted_ack);

    // socketsJoin: r1's members on both servers joined rj, the others did not.
    let node_rooms = || async {
        let connections = node
            .request(json!({ "op": "connections", "nsp": "/" }))
            .await;
        let mut rooms: Vec<(String, Vec<String>)> = connections
            .as_array()
            .expect("connections")
            .iter()
            .map(|c| (c["id"].as_str().unwrap().to_owned(), sorted(&c["rooms"])))
            .collect();
        rooms.sort();
        rooms
    };
    let joined = |id: &str, others: &[&str]| {
        let mut rooms: Vec<String> = others.iter().map(|r| r.to_string()).collect();
        rooms.push(id.to_owned());
        rooms.sort();
        rooms
    };
    let mut expected_on_node = vec![
        (ids[0].clone(), joined(&ids[0], &["r1", "rj"])),
        (ids[1].clone(), joined(&ids[1], &[])),
    ];
    expected_on_node.sort();
    eventually("client 0 joined rj on Node, client 2 on oxio", || async {
        oxio_rooms(&oxio, "/", &ids[2]) == Some(joined(&ids[2], &["r1", "rj"]))
            && node_rooms().await == expected_on_node
    })
    .await;
    assert_eq!(
        oxio_rooms(&oxio, "/", &ids[3]),
        Some(joined(&ids[3], &["r2"]))
    );
    io.to("rj").emit("rust-rj", &[]).await.expect("emit");
    flush();
    clients.expect_each("rust-rj", &[0, 2]).await;

    assert_quiet(&clients, Duration::from_millis(500)).await;
    let more = node
        .request(json!({ "op": "received", "event": "rust-job" }))
        .await;
    assert_eq!(more.as_array().map(Vec::len), Some(1), "{more}");
    assert_eq!(oxio.server_events().len(), 1);
}
