//! The Redis SET bookkeeping across oxio nodes (spec §9, scenario 15), on real Redis processes:
//!
//! - the keys `K#N#s#<sid>` / `K#N#r#<room>` and the node keys follow joins, leaves, remote
//!   membership operations and disconnects, per namespace; the cluster-wide queries span both
//!   nodes, and broadcasts still reach every client once;
//! - a graceful stop leaves none of the stopped node's keys;
//! - a node killed with SIGKILL (the `oxio` binary, a process of its own) leaves nothing behind
//!   once the surviving node's sweep ran, on one Redis and on a 3-master Redis Cluster, while the
//!   survivor's keys stay.

mod cluster_support;
mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::redis::RedisAdapterOptions;
use oxio_cluster::redis::bookkeeping::{Bookkeeping, BookkeepingConfig};
use oxio_cluster::redis::transport::RedisTarget;
use oxio_test_support::node::{NodeClients, eventually};
use oxio_test_support::redis::{RedisCluster, RedisServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KEY: &str = "socket.io";

/// Short timings, so that a dead node is swept within about two seconds.
const HEARTBEAT_MS: u64 = 250;
const TTL_MS: u64 = 1500;
const SWEEP_MS: u64 = 300;

fn short_timings() -> BookkeepingConfig {
    BookkeepingConfig {
        heartbeat_interval: Duration::from_millis(HEARTBEAT_MS),
        node_ttl: Duration::from_millis(TTL_MS),
        sweep_interval: Duration::from_millis(SWEEP_MS),
        ..BookkeepingConfig::default()
    }
}

/// An oxio node (classic adapter) with the bookkeeping on.
async fn oxio_node(name: &str, target: RedisTarget) -> OxioNode {
    OxioNode::start(NodeOptions {
        name: name.to_owned(),
        redis: RedisAdapterOptions::new(target).bookkeeping(short_timings()),
        listen: Vec::new(),
    })
    .await
}

fn bookkeeping(node: &OxioNode) -> &Arc<Bookkeeping> {
    node.cluster.bookkeeping().expect("the bookkeeping is on")
}

fn node_id(node: &OxioNode) -> String {
    bookkeeping(node).node_id().expect("node id").to_owned()
}

fn socket_key(nsp: &str, sid: &str) -> String {
    format!("{KEY}#{nsp}#s#{sid}")
}

fn room_key(nsp: &str, room: &str) -> String {
    format!("{KEY}#{nsp}#r#{room}")
}

fn nodes_key() -> String {
    format!("{KEY}#nodes")
}

fn node_key(id: &str) -> String {
    format!("{KEY}#node#{id}")
}

fn alive_key(id: &str) -> String {
    format!("{KEY}#alive#{id}")
}

/// A node-set member: namespace, NUL, socket id.
fn member(nsp: &str, sid: &str) -> String {
    format!("{nsp}\0{sid}")
}

fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

/// Where the keys are: one Redis, or the masters of a Redis Cluster.
#[derive(Clone, Copy)]
enum Store<'a> {
    Single(&'a RedisServer),
    Cluster(&'a RedisCluster),
}

impl Store<'_> {
    /// The server holding `key`.
    fn server(&self, key: &str) -> &RedisServer {
        match self {
            Store::Single(server) => server,
            Store::Cluster(cluster) => &cluster.nodes()[cluster.owner_of(key)],
        }
    }

    fn smembers(&self, key: &str) -> BTreeSet<String> {
        let reply = self.server(key).command(&["SMEMBERS", key]);
        reply
            .split('\n')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn exists(&self, key: &str) -> bool {
        self.server(key).command(&["EXISTS", key]) == "1"
    }

    /// Every bookkeeping key, on every server.
    fn keys(&self) -> BTreeSet<String> {
        let servers: Vec<&RedisServer> = match self {
            Store::Single(server) => vec![server],
            Store::Cluster(cluster) => cluster.nodes().iter().collect(),
        };
        servers
            .iter()
            .flat_map(|server| {
                let reply = server.command(&["KEYS", &format!("{KEY}#*")]);
                reply
                    .split('\n')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn flush(nodes: &[&OxioNode]) {
    for node in nodes {
        bookkeeping(node).flush().await.expect("flush");
    }
}

fn sorted(result: Result<Vec<String>, impl std::fmt::Debug>) -> BTreeSet<String> {
    set(result.expect("bookkeeping query"))
}

// ---------------------------------------------------------------------------------------------
// Two in-process nodes: the keys follow membership; a graceful stop removes a node's keys
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_follow_membership_and_a_graceful_stop_removes_a_node() {
    support::install_panic_hook();
    let redis = RedisServer::start();
    let store = Store::Single(&redis);
    let a = oxio_node("A", RedisTarget::Single(redis.url())).await;
    let b = oxio_node("B", RedisTarget::Single(redis.url())).await;
    let (id_a, id_b) = (node_id(&a), node_id(&b));
    assert_ne!(id_a, id_b);

    // Clients 0, 1 (and 4, of /admin) on A; 2 and 3 on B.
    let specs = [
        (a.url(), "/", vec!["r1", "shared"]),
        (a.url(), "/", vec!["r2"]),
        (b.url(), "/", vec!["r1", "shared"]),
        (b.url(), "/", vec![]),
        (a.url(), "/admin", vec!["r1"]),
    ];
    let config: Vec<Value> = specs
        .iter()
        .enumerate()
        .map(|(i, (url, nsp, join))| json!({ "url": url, "nsp": nsp, "auth": { "client": i, "join": join } }))
        .collect();
    let clients = NodeClients::start(json!({ "clients": config })).await;
    let ids = clients.ids().to_vec();
    flush(&[&a, &b]).await;

    // Rooms and sockets, per namespace; every socket is in its own id room.
    assert_eq!(
        store.smembers(&room_key("/", "r1")),
        set([&ids[0], &ids[2]])
    );
    assert_eq!(
        store.smembers(&room_key("/", "shared")),
        set([&ids[0], &ids[2]])
    );
    assert_eq!(store.smembers(&room_key("/", "r2")), set([&ids[1]]));
    assert_eq!(store.smembers(&room_key("/", &ids[3])), set([&ids[3]]));
    assert_eq!(
        store.smembers(&socket_key("/", &ids[0])),
        set([ids[0].as_str(), "r1", "shared"])
    );
    assert_eq!(store.smembers(&socket_key("/", &ids[3])), set([&ids[3]]));
    assert_eq!(store.smembers(&room_key("/admin", "r1")), set([&ids[4]]));
    assert_eq!(
        store.smembers(&socket_key("/admin", &ids[4])),
        set([ids[4].as_str(), "r1"])
    );
    assert!(!store.exists(&socket_key("/", &ids[4])));
    // Node ownership and liveness.
    assert_eq!(store.smembers(&nodes_key()), set([&id_a, &id_b]));
    assert_eq!(
        store.smembers(&node_key(&id_a)),
        set([
            member("/", &ids[0]),
            member("/", &ids[1]),
            member("/admin", &ids[4])
        ])
    );
    assert_eq!(
        store.smembers(&node_key(&id_b)),
        set([member("/", &ids[2]), member("/", &ids[3])])
    );
    assert!(store.exists(&alive_key(&id_a)) && store.exists(&alive_key(&id_b)));

    // The cluster-wide queries see both nodes' sockets, from either node.
    for node in [&a, &b] {
        let bk = bookkeeping(node);
        assert_eq!(
            sorted(bk.sockets_in("/", "shared").await),
            set([&ids[0], &ids[2]])
        );
        assert_eq!(
            sorted(bk.rooms_of("/", &ids[2]).await),
            set([ids[2].as_str(), "r1", "shared"])
        );
        assert_eq!(
            sorted(bk.rooms_of("/", &ids[1]).await),
            set([ids[1].as_str(), "r2"])
        );
        assert_eq!(sorted(bk.sockets_in("/admin", "r1").await), set([&ids[4]]));
        assert!(sorted(bk.sockets_in("/", "nobody").await).is_empty());
    }

    // Broadcasts from either node reach every client of the namespace once.
    a.io.emit("from-a", &1).expect("emit");
    clients.expect_each("from-a", &[0, 1, 2, 3]).await;
    b.io.emit("from-b", &2).expect("emit");
    clients.expect_each("from-b", &[0, 1, 2, 3]).await;
    b.io.to("shared").emit("to-shared", &3).expect("emit");
    clients.expect_each("to-shared", &[0, 2]).await;
    a.io.of("/admin")
        .to("r1")
        .emit("admin-r1", &4)
        .expect("emit");
    clients.expect_each("admin-r1", &[4]).await;
    for event in ["from-a", "from-b", "to-shared", "admin-r1"] {
        clients.assert_no(event, Duration::from_millis(200)).await;
    }

    // Local joins and leaves.
    let socket = |node: &OxioNode, id: &str| node.io.of("/").socket(id).expect("local socket");
    socket(&a, &ids[1]).join(["r3"]);
    socket(&b, &ids[3]).join(["r1"]);
    socket(&a, &ids[0]).leave("shared");
    flush(&[&a, &b]).await;
    assert_eq!(store.smembers(&room_key("/", "r3")), set([&ids[1]]));
    assert_eq!(
        store.smembers(&room_key("/", "r1")),
        set([&ids[0], &ids[2], &ids[3]])
    );
    assert_eq!(store.smembers(&room_key("/", "shared")), set([&ids[2]]));
    assert_eq!(
        store.smembers(&socket_key("/", &ids[0])),
        set([ids[0].as_str(), "r1"])
    );
    assert_eq!(
        store.smembers(&socket_key("/", &ids[3])),
        set([ids[3].as_str(), "r1"])
    );

    // Membership changed by the other node, through Redis.
    b.io.to(ids[0].as_str()).sockets_join(["remote"]);
    eventually("A's socket joined `remote` at B's request", || async {
        store.smembers(&room_key("/", "remote")) == set([&ids[0]])
            && store.smembers(&socket_key("/", &ids[0])) == set([ids[0].as_str(), "r1", "remote"])
    })
    .await;
    b.io.to("remote").sockets_leave("remote");
    eventually("A's socket left `remote` at B's request", || async {
        !store.exists(&room_key("/", "remote"))
            && store.smembers(&socket_key("/", &ids[0])) == set([ids[0].as_str(), "r1"])
    })
    .await;
    a.io.to(ids[3].as_str()).disconnect_sockets(false);
    clients.expect_each("disconnect", &[3]).await;
    eventually("B's socket disconnected at A's request is gone", || async {
        !store.exists(&socket_key("/", &ids[3]))
            && !store.exists(&room_key("/", &ids[3]))
            && store.smembers(&room_key("/", "r1")) == set([&ids[0], &ids[2]])
            && store.smembers(&node_key(&id_b)) == set([member("/", &ids[2])])
    })
    .await;

    // A client that disconnects itself.
    clients
        .request(json!({ "op": "disconnect", "client": 1 }))
        .await;
    clients.expect_each("disconnect", &[1]).await;
    eventually("the disconnected client's keys are gone", || async {
        !store.exists(&socket_key("/", &ids[1]))
            && !store.exists(&room_key("/", "r2"))
            && !store.exists(&room_key("/", "r3"))
            && store.smembers(&node_key(&id_a))
                == set([member("/", &ids[0]), member("/admin", &ids[4])])
    })
    .await;

    // B stops gracefully: none of its keys remain, A's do.
    b.shutdown().await;
    let expected = set([
        nodes_key(),
        node_key(&id_a),
        alive_key(&id_a),
        socket_key("/", &ids[0]),
        room_key("/", &ids[0]),
        room_key("/", "r1"),
        socket_key("/admin", &ids[4]),
        room_key("/admin", &ids[4]),
        room_key("/admin", "r1"),
    ]);
    assert_eq!(store.keys(), expected);
    assert_eq!(store.smembers(&nodes_key()), set([&id_a]));
    assert_eq!(store.smembers(&room_key("/", "r1")), set([&ids[0]]));
    assert_eq!(
        sorted(bookkeeping(&a).sockets_in("/", "r1").await),
        set([&ids[0]])
    );
    // A keeps delivering to its client.
    a.io.emit("after-stop", &5).expect("emit");
    clients.expect_each("after-stop", &[0]).await;
    support::assert_no_panics();
}

// ---------------------------------------------------------------------------------------------
// A killed node (the `oxio` binary) is swept by the survivor
// ---------------------------------------------------------------------------------------------

/// The environment variables `oxio` reads, removed so that the caller's do not leak in.
const OXIO_ENV: [&str; 14] = [
    "OXIO_ADDRESS",
    "OXIO_PATH",
    "OXIO_CORS_ORIGIN",
    "OXIO_CORS_CREDENTIALS",
    "OXIO_PING_INTERVAL_MS",
    "OXIO_PING_TIMEOUT_MS",
    "OXIO_MAX_PAYLOAD",
    "OXIO_CONNECT_TIMEOUT_MS",
    "REDIS_URL",
    "REDIS_CLUSTER",
    "OXIO_SHARDED",
    "OXIO_REDIS_KEY",
    "OXIO_REQUESTS_TIMEOUT_MS",
    "OXIO_REDIS_BOOKKEEPING",
];

/// The `oxio` binary, run as its own process.
struct OxioProcess {
    child: Child,
    address: String,
    log: Arc<Mutex<String>>,
}

impl OxioProcess {
    /// Starts `oxio --address 127.0.0.1:0 <redis args> --redis-bookkeeping <short timings>` and
    /// waits for its "listening on" line.
    async fn start(redis_args: &[String]) -> OxioProcess {
        // `option_env!`: without the `cli` feature there is no binary, but the file still builds.
        let Some(binary) = option_env!("CARGO_BIN_EXE_oxio") else {
            panic!("the `oxio` binary is built with the `cli` feature only (on by default)");
        };
        let mut command = Command::new(binary);
        command
            .args(["--address", "127.0.0.1:0"])
            .args(redis_args)
            .arg("--redis-bookkeeping")
            .arg(format!("--redis-bookkeeping-heartbeat-ms={HEARTBEAT_MS}"))
            .arg(format!("--redis-bookkeeping-ttl-ms={TTL_MS}"))
            .arg(format!("--redis-bookkeeping-sweep-ms={SWEEP_MS}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for name in OXIO_ENV {
            command.env_remove(name);
        }
        let mut child = command.env("RUST_LOG", "info").spawn().expect("oxio runs");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                eprintln!("[oxio] {line}");
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    return rest.split('/').next().expect("host:port").to_owned();
                }
            }
            panic!("oxio exited before listening:\n{}", log.lock().unwrap());
        })
        .await
        .expect("oxio listens within 30 s");
        let rest = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[oxio] {line}");
                rest.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        OxioProcess {
            child,
            address,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// SIGKILL, and reap it.
    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("oxio dies within 10 s of SIGKILL")
            .expect("exit status");
        assert!(!status.success(), "oxio exited normally: {status}");
    }
}

/// Survivor A (in this process) and victim V (the binary) on `store`: V's sockets are recorded,
/// V is killed, and A's sweep removes every key of V while A's own keys stay.
async fn killed_node_is_swept(store: Store<'_>, target: RedisTarget, redis_args: Vec<String>) {
    support::install_panic_hook();
    let a = oxio_node("A", target).await;
    let id_a = node_id(&a);
    let mut victim = OxioProcess::start(&redis_args).await;

    // Client 0 on A (in r1), 1 and 2 on the victim; they join rooms through the relay.
    let clients = NodeClients::start(json!({ "clients": [
        { "url": a.url(), "nsp": "/", "auth": { "client": 0, "join": ["r1"] } },
        { "url": victim.url(), "nsp": "/", "auth": { "client": 1 } },
        { "url": victim.url(), "nsp": "/", "auth": { "client": 2 } },
    ] }))
    .await;
    let ids = clients.ids().to_vec();
    for (client, room) in [(1, "r1"), (2, "r2"), (2, "r3")] {
        let answer = clients
            .request(json!({ "op": "emit", "client": client, "event": "join", "args": [room], "timeout": 10_000 }))
            .await;
        assert_eq!(answer[0]["error"], Value::Null, "join {room}: {answer}");
    }

    // The victim's keys, as it writes them in the background.
    let nodes = store.smembers(&nodes_key());
    assert!(nodes.contains(&id_a), "{nodes:?}");
    let others: Vec<String> = nodes.into_iter().filter(|id| *id != id_a).collect();
    let [id_v] = others.as_slice() else {
        panic!("expected exactly one other node, got {others:?}");
    };
    eventually("the victim's sockets are recorded", || async {
        store.smembers(&room_key("/", "r1")) == set([&ids[0], &ids[1]])
            && store.smembers(&room_key("/", "r2")) == set([&ids[2]])
            && store.smembers(&socket_key("/", &ids[2])) == set([ids[2].as_str(), "r2", "r3"])
            && store.smembers(&node_key(id_v)) == set([member("/", &ids[1]), member("/", &ids[2])])
    })
    .await;
    assert!(store.exists(&alive_key(id_v)));
    let bk = bookkeeping(&a);
    assert_eq!(
        sorted(bk.sockets_in("/", "r1").await),
        set([&ids[0], &ids[1]])
    );
    assert_eq!(
        sorted(bk.rooms_of("/", &ids[2]).await),
        set([ids[2].as_str(), "r2", "r3"])
    );

    // The two nodes relay to each other: once each.
    clients
        .request(json!({ "op": "emit", "client": 1, "event": "chat", "args": ["hi"] }))
        .await;
    clients.expect_each("chat", &[0, 2]).await;
    a.io.to("r1").emit("to-r1", &1).expect("emit");
    clients.expect_each("to-r1", &[0, 1]).await;
    clients.assert_no("chat", Duration::from_millis(200)).await;
    clients.assert_no("to-r1", Duration::ZERO).await;

    victim.kill().await;

    // After the TTL and a sweep: nothing of the victim remains, and A's keys are intact.
    let expected = set([
        nodes_key(),
        node_key(&id_a),
        alive_key(&id_a),
        socket_key("/", &ids[0]),
        room_key("/", &ids[0]),
        room_key("/", "r1"),
    ]);
    eventually("the survivor swept the killed node", || async {
        store.keys() == expected
    })
    .await;
    assert_eq!(store.smembers(&nodes_key()), set([&id_a]));
    assert_eq!(store.smembers(&room_key("/", "r1")), set([&ids[0]]));
    assert_eq!(
        store.smembers(&socket_key("/", &ids[0])),
        set([ids[0].as_str(), "r1"])
    );
    assert_eq!(
        store.smembers(&node_key(&id_a)),
        set([member("/", &ids[0])])
    );
    assert_eq!(sorted(bk.sockets_in("/", "r1").await), set([&ids[0]]));
    // The survivor's client is unaffected.
    a.io.emit("after-kill", &2).expect("emit");
    clients.expect_each("after-kill", &[0]).await;
    let log = victim.log.lock().unwrap().clone();
    assert!(!log.contains("panicked"), "the victim panicked:\n{log}");
    support::assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_swept_on_one_redis() {
    let redis = RedisServer::start();
    killed_node_is_swept(
        Store::Single(&redis),
        RedisTarget::Single(redis.url()),
        vec!["--redis".into(), redis.url()],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_swept_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3))
        .await
        .expect("cluster start");
    let urls = cluster.urls();
    killed_node_is_swept(
        Store::Cluster(&cluster),
        RedisTarget::Cluster(urls.clone()),
        vec!["--redis-cluster".into(), urls.join(",")],
    )
    .await;
}
