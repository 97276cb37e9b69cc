//! The Redis SET bookkeeping against real `redis-server`s: a single server and a 3-master cluster.
//!
//! Every test starts its own servers, so they need no cleanup between them. Node "kills" are a real
//! SIGKILL of a child process (this test binary, re-run as one node), or dropping a handle without
//! `shutdown` (its tasks are aborted: no heartbeat, no cleanup).

use std::future::Future;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxio_cluster::redis::bookkeeping::{
    Bookkeeping, BookkeepingConfig, BookkeepingError, KeyLayout, RedisConnection,
};
use oxio_test_support::redis::{RedisCluster, RedisServer, command};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Short intervals: a node is dead 1 s after its last heartbeat, sweeps run every 500 ms.
fn fast() -> BookkeepingConfig {
    BookkeepingConfig {
        heartbeat_interval: Duration::from_millis(100),
        node_ttl: Duration::from_secs(1),
        sweep_interval: Duration::from_millis(500),
        ..BookkeepingConfig::default()
    }
}

/// Every key on the servers at `ports`, sorted.
fn keys(ports: &[u16]) -> Vec<String> {
    let mut all: Vec<String> = ports
        .iter()
        .flat_map(|p| {
            command(*p, &["KEYS", "*"])
                .expect("KEYS")
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort();
    all
}

/// The members of a SET, sorted (on a cluster, asked of every node; only its owner answers).
fn members(ports: &[u16], key: &str) -> Vec<String> {
    let mut out: Vec<String> = ports
        .iter()
        .filter_map(|p| command(*p, &["SMEMBERS", key]).ok())
        .flat_map(|r| r.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Polls `check` until it holds or `timeout` passes; returns whether it held.
async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn single(url: &str) -> RedisConnection {
    RedisConnection::from_url(url).await.expect("connect")
}

/// Node B's sockets: `b1` in `room` and `b-only`, `b2` in `/chat` `room`.
async fn populate_b(b: &Bookkeeping) {
    for (nsp, sid, room) in [
        ("/", "b1", "b1"),
        ("/", "b1", "room"),
        ("/", "b1", "b-only"),
        ("/chat", "b2", "room"),
    ] {
        b.joined(nsp, sid, room);
    }
    b.flush().await.expect("flush B");
}

/// Node A's sockets: `a1` in `room` and `a-only`, `a2` in `/chat` `room`.
async fn populate_a(a: &Bookkeeping) {
    for (nsp, sid, room) in [
        ("/", "a1", "a1"),
        ("/", "a1", "room"),
        ("/", "a1", "a-only"),
        ("/chat", "a2", "room"),
        ("/chat", "a2", "a2"),
    ] {
        a.joined(nsp, sid, room);
    }
    a.flush().await.expect("flush A");
}

/// The keys left when only node B (id `B`, populated by [`populate_b`]) remains.
fn only_b() -> Vec<String> {
    sorted(
        [
            "socket.io#/#r#b-only",
            "socket.io#/#r#b1",
            "socket.io#/#r#room",
            "socket.io#/#s#b1",
            "socket.io#/chat#r#room",
            "socket.io#/chat#s#b2",
            "socket.io#alive#B",
            "socket.io#node#B",
            "socket.io#nodes",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
}

/// B's sets still hold exactly B's sockets.
async fn assert_b_intact(b: &Bookkeeping, ports: &[u16]) {
    assert_eq!(keys(ports), only_b());
    assert_eq!(b.sockets_in("/", "room").await.unwrap(), ["b1"]);
    assert_eq!(b.sockets_in("/chat", "room").await.unwrap(), ["b2"]);
    assert_eq!(
        sorted(b.rooms_of("/", "b1").await.unwrap()),
        ["b-only", "b1", "room"]
    );
    assert_eq!(members(ports, "socket.io#nodes"), ["B"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_remove_are_reflected_and_shutdown_leaves_nothing() {
    let server = RedisServer::start();
    let ports = [server.port()];
    let a = Bookkeeping::start(single(&server.url()).await, "A", fast()).await;
    a.joined("/", "s1", "s1");
    a.joined("/", "s1", "lobby");
    a.joined("/chat", "s1", "lobby");
    a.joined("/", "s2", "s1"); // a room named like a socket id
    a.flush().await.unwrap();

    assert_eq!(sorted(a.sockets_in("/", "lobby").await.unwrap()), ["s1"]);
    assert_eq!(a.sockets_in("/chat", "lobby").await.unwrap(), ["s1"]);
    assert_eq!(sorted(a.sockets_in("/", "s1").await.unwrap()), ["s1", "s2"]);
    assert_eq!(
        sorted(a.rooms_of("/", "s1").await.unwrap()),
        ["lobby", "s1"]
    );
    assert_eq!(a.rooms_of("/chat", "s1").await.unwrap(), ["lobby"]);
    assert_eq!(
        members(&ports, "socket.io#node#A"),
        ["/\0s1", "/\0s2", "/chat\0s1"]
    );

    a.left("/", "s1", "lobby");
    a.left("/", "s1", "never-joined");
    a.flush().await.unwrap();
    assert!(a.sockets_in("/", "lobby").await.unwrap().is_empty());
    assert_eq!(a.rooms_of("/", "s1").await.unwrap(), ["s1"]);

    a.removed("/", "s1");
    a.flush().await.unwrap();
    assert!(a.rooms_of("/", "s1").await.unwrap().is_empty());
    assert_eq!(a.sockets_in("/", "s1").await.unwrap(), ["s2"]);
    assert_eq!(a.rooms_of("/chat", "s1").await.unwrap(), ["lobby"]);
    assert_eq!(members(&ports, "socket.io#node#A"), ["/\0s2", "/chat\0s1"]);

    a.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
    a.joined("/", "late", "room");
    assert!(matches!(a.flush().await, Err(BookkeepingError::Closed)));
    assert_eq!(keys(&ports), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_rooms_and_a_graceful_stop_leaves_none_of_its_keys() {
    let server = RedisServer::start();
    let ports = [server.port()];
    let a = Bookkeeping::start(single(&server.url()).await, "A", fast()).await;
    let b = Bookkeeping::start(single(&server.url()).await, "B", fast()).await;
    populate_a(&a).await;
    populate_b(&b).await;

    assert_eq!(
        sorted(b.sockets_in("/", "room").await.unwrap()),
        ["a1", "b1"]
    );
    assert_eq!(
        sorted(a.sockets_in("/chat", "room").await.unwrap()),
        ["a2", "b2"]
    );
    assert_eq!(
        sorted(b.rooms_of("/", "a1").await.unwrap()),
        ["a-only", "a1", "room"]
    );
    assert_eq!(members(&ports, "socket.io#nodes"), ["A", "B"]);

    a.shutdown().await.unwrap();
    assert_b_intact(&b, &ports).await;

    b.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_node_is_swept_after_its_ttl() {
    let server = RedisServer::start();
    let ports = [server.port()];
    let a = Bookkeeping::start(single(&server.url()).await, "A", fast()).await;
    let b = Bookkeeping::start(single(&server.url()).await, "B", fast()).await;
    populate_a(&a).await;
    populate_b(&b).await;

    // Alive nodes are never swept.
    assert_eq!(b.sweep_now().await.unwrap(), 0);
    drop(a); // tasks aborted: no more heartbeats, no cleanup
    let swept = eventually(Duration::from_secs(8), || async {
        keys(&ports) == only_b()
    })
    .await;
    assert!(swept, "A's keys remain: {:?}", keys(&ports));
    assert_b_intact(&b, &ports).await;
    b.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
}

/// Run by [`a_sigkilled_node_is_swept`] in a child process: starts node A, writes its sockets,
/// prints `READY` and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of a_sigkilled_node_is_swept"]
async fn child_node() {
    let Ok(url) = std::env::var("OXIO_BOOKKEEPING_CHILD_URL") else {
        return;
    };
    let a = Bookkeeping::start(single(&url).await, "A", fast()).await;
    populate_a(&a).await;
    println!("READY");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_node_is_swept() {
    let server = RedisServer::start();
    let ports = [server.port()];
    let b = Bookkeeping::start(single(&server.url()).await, "B", fast()).await;
    populate_b(&b).await;

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_node", "--ignored", "--nocapture"])
        .env("OXIO_BOOKKEEPING_CHILD_URL", server.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("READY") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the child node did not start");
    assert_eq!(
        sorted(b.sockets_in("/", "room").await.unwrap()),
        ["a1", "b1"]
    );

    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let swept = eventually(Duration::from_secs(8), || async {
        keys(&ports) == only_b()
    })
    .await;
    assert!(swept, "A's keys remain: {:?}", keys(&ports));
    assert_b_intact(&b, &ports).await;
    b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_three_master_cluster_sweeps_and_stops_leave_nothing() {
    let cluster = RedisCluster::start(3);
    let ports: Vec<u16> = cluster.nodes().iter().map(|n| n.port()).collect();
    let urls = cluster.urls();
    let conn = || async {
        RedisConnection::from_cluster_urls(&urls)
            .await
            .expect("cluster")
    };
    let a = Bookkeeping::start(conn().await, "A", fast()).await;
    let b = Bookkeeping::start(conn().await, "B", fast()).await;
    // Enough rooms that a batch spans every master.
    for i in 0..50 {
        a.joined("/", "a1", &format!("many-{i}"));
    }
    populate_a(&a).await;
    populate_b(&b).await;
    assert_eq!(
        sorted(b.sockets_in("/", "room").await.unwrap()),
        ["a1", "b1"]
    );
    assert_eq!(b.rooms_of("/", "a1").await.unwrap().len(), 53);
    assert_eq!(a.sockets_in("/", "many-7").await.unwrap(), ["a1"]);
    let used: Vec<usize> = ports.iter().map(|p| keys(&[*p]).len()).collect();
    assert!(used.iter().all(|n| *n > 0), "keys per master: {used:?}");

    drop(a);
    let swept = eventually(Duration::from_secs(8), || async {
        keys(&ports) == only_b()
    })
    .await;
    assert!(swept, "A's keys remain: {:?}", keys(&ports));
    assert_b_intact(&b, &ports).await;

    // A again, this time stopped gracefully.
    let a = Bookkeeping::start(conn().await, "A", fast()).await;
    populate_a(&a).await;
    a.removed("/chat", "a2");
    a.shutdown().await.unwrap();
    assert_b_intact(&b, &ports).await;
    b.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_compatible_layout_writes_the_literal_keys_for_the_main_namespace() {
    let server = RedisServer::start();
    let ports = [server.port()];
    let config = BookkeepingConfig {
        layout: KeyLayout::ForkCompatible,
        ..fast()
    };
    let a = Bookkeeping::start(single(&server.url()).await, "A", config).await;
    a.joined("/", "sid1", "sid1");
    a.joined("/", "sid1", "lobby");
    a.joined("/chat", "sid2", "lobby");
    a.flush().await.unwrap();
    assert_eq!(members(&ports, "socket.io#sid1"), ["lobby", "sid1"]);
    assert_eq!(members(&ports, "socket.io#lobby"), ["sid1"]);
    assert_eq!(members(&ports, "socket.io#/chat#r#lobby"), ["sid2"]);
    assert_eq!(members(&ports, "socket.io#/chat#s#sid2"), ["lobby"]);
    assert_eq!(
        sorted(a.rooms_of("/", "sid1").await.unwrap()),
        ["lobby", "sid1"]
    );
    a.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_restarts_empty_a_node_writes_its_state_again() {
    let mut server = RedisServer::start();
    let ports = [server.port()];
    let a = Bookkeeping::start(single(&server.url()).await, "A", fast()).await;
    populate_a(&a).await;
    let before = keys(&ports);

    server.restart(); // no persistence: it comes back empty
    // Made while Redis was away or just back: must not be lost either.
    a.left("/", "a1", "a-only");
    a.joined("/", "a1", "later");
    let expected: Vec<String> = sorted(
        before
            .into_iter()
            .map(|k| k.replace("#a-only", "#later"))
            .collect(),
    );
    // The alive key comes back with the next heartbeat, the rest with the writes and the resync.
    let back = eventually(Duration::from_secs(10), || async {
        keys(&ports) == expected
            && a.rooms_of("/", "a1")
                .await
                .is_ok_and(|r| sorted(r) == ["a1", "later", "room"])
    })
    .await;
    assert!(back, "A's state was not re-written: {:?}", keys(&ports));
    a.flush().await.unwrap();
    assert_eq!(sorted(a.sockets_in("/chat", "room").await.unwrap()), ["a2"]);
    assert!(a.sockets_in("/", "a-only").await.unwrap().is_empty());
    a.shutdown().await.unwrap();
    assert_eq!(keys(&ports), Vec::<String>::new());
}

#[tokio::test]
async fn a_disabled_bookkeeping_does_nothing() {
    let off: Arc<Bookkeeping> = Bookkeeping::disabled();
    assert!(!off.is_enabled());
    off.joined("/", "s", "r");
    assert!(matches!(
        off.sockets_in("/", "r").await,
        Err(BookkeepingError::Disabled)
    ));
    assert!(matches!(off.flush().await, Err(BookkeepingError::Disabled)));
    off.shutdown().await.unwrap();
}
