//! Robustness of the Redis adapters on a real Redis (spec §9, scenario 12), classic and sharded.
//!
//! - **oxio's publisher never crashes Node.** A Node peer is the watchdog: it exits on any uncaught
//!   exception (which is what Node's adapters do with a message they cannot take, spec §2.4). A
//!   seeded generator drives many oxio operations with odd payloads (deep and wide JSON, unicode,
//!   empty strings, binary of 0..64 KiB, hundreds of rooms, room names with `#` `*` `?` `[`,
//!   server-side emits, emits with ack, remote joins with odd room names, ...). Each delivery that
//!   Node can represent is checked (exactly once, same arguments); after each batch the watchdog
//!   answers `ping` and receives a normal broadcast.
//! - **oxio survives garbage on every channel it listens to.** Raw bytes (random, truncated or
//!   mutated msgpack, JSON of wrong shapes, unknown types, missing fields, huge declared lengths,
//!   deep nesting) are published on each of oxio's channels, each reaching exactly oxio (the
//!   receiver count says so). Node's adapters crash on such input, so no Node peer runs while the
//!   garbage flows; after each batch a fresh one joins, and broadcasts both ways and fetchSockets
//!   both ways must work.
//!
//! The generator's seed is printed; set `OXIO_FUZZ_SEED` to replay a run.

mod cluster_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cluster_support::{NodeOptions, OxioNode};
use oxio_cluster::redis::SubscriptionMode;
use oxio_server::{Args, BroadcastOperator};
use oxio_test_support::node::{NodeClients, NodePeer, bin, eventually};
use oxio_test_support::redis::RedisServer;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

const DEFAULT_SEED: u64 = 0x5eed_0f0a;
const BATCHES: usize = 6;
const OPS_PER_BATCH: usize = 30;

/// The rooms of the watched client (client 0, on Node) besides its id.
const NODE_CLIENT_ROOMS: [&str; 3] = ["fz-member", "we#ird*ro?om[x]", "ünï 🎉 #*"];
/// The rooms of client 1 (on oxio) besides its id.
const OXIO_CLIENT_ROOMS: [&str; 1] = ["fz-member"];

/// Panics raised outside the test code (in oxio, on any thread) since the process started. The
/// adapter catches a panicking message handler and carries on, so only this shows one.
static FOREIGN_PANICS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records every panic whose location is not in a test file or the test harness.
fn watch_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map_or("", |l| l.file());
            if !file.contains("tests/") && !file.starts_with("test-support") {
                FOREIGN_PANICS.lock().unwrap().push(format!("{info}"));
            }
            default(info);
        }));
    });
}

/// Fails if oxio panicked anywhere so far.
fn assert_no_foreign_panics() {
    let panics = FOREIGN_PANICS.lock().unwrap().clone();
    assert!(panics.is_empty(), "oxio panicked: {panics:#?}");
}

fn seed() -> u64 {
    watch_panics();
    let seed = std::env::var("OXIO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    eprintln!("fuzz seed: {seed} (set OXIO_FUZZ_SEED to replay)");
    seed
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Classic,
    Sharded,
}

impl Mode {
    fn options(self, name: &str, url: &str) -> NodeOptions {
        match self {
            Mode::Classic => NodeOptions::classic(name, url),
            Mode::Sharded => NodeOptions::sharded(name, url, SubscriptionMode::Dynamic),
        }
    }

    fn peer_config(self, url: &str) -> Value {
        match self {
            Mode::Classic => json!({ "name": "A", "redis": url, "mode": "classic" }),
            Mode::Sharded => json!({
                "name": "A", "redis": url, "mode": "sharded",
                "adapter": { "subscriptionMode": "dynamic" },
            }),
        }
    }
}

// =============================================================================================
// (a) fuzzing oxio's publisher, a Node watchdog on the other side
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_oxio_publishes_never_crash_node_classic() {
    fuzz_publisher(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_oxio_publishes_never_crash_node_sharded() {
    fuzz_publisher(Mode::Sharded).await;
}

/// One emit argument.
#[derive(Clone, Debug)]
enum Arg {
    Json(Value),
    Bin(Vec<u8>),
}

fn to_args(args: &[Arg]) -> Args {
    args.iter().fold(Args::new(), |out, arg| match arg {
        Arg::Json(value) => out.arg(value),
        Arg::Bin(bytes) => out.binary(Bytes::from(bytes.clone())),
    })
}

/// The arguments as a Node script reports them.
fn wire(args: &[Arg]) -> Value {
    Value::Array(
        args.iter()
            .map(|arg| match arg {
                Arg::Json(value) => value.clone(),
                Arg::Bin(bytes) => bin(bytes),
            })
            .collect(),
    )
}

/// What a fuzz run expects the clients and the watchdog to have seen.
#[derive(Default)]
struct Expected {
    /// (event, recipients, arguments).
    deliveries: Vec<(String, Vec<usize>, Value)>,
    /// Server-side events `fz-sse` the watchdog must have recorded, in order: (args, ack).
    server_events: Vec<(Value, bool)>,
}

struct Fuzz<'a> {
    rng: StdRng,
    mode: Mode,
    node: &'a NodePeer,
    oxio: &'a OxioNode,
    clients: &'a NodeClients,
    redis: &'a RedisServer,
    /// Rooms of client 0 and 1, their ids included.
    rooms: [BTreeSet<String>; 2],
    expected: Expected,
    counter: usize,
}

async fn fuzz_publisher(mode: Mode) {
    let redis = RedisServer::start();
    let mut config = mode.peer_config(&redis.url());
    config["listen"] = json!([{ "nsp": "/", "event": "fz-sse", "ack": "w-ack" }]);
    let (node, oxio) = tokio::join!(
        NodePeer::start(config),
        OxioNode::start(mode.options("B", &redis.url()))
    );
    let clients = NodeClients::start(json!({ "clients": [
        { "url": node.url(), "nsp": "/", "auth": { "client": 0, "join": NODE_CLIENT_ROOMS } },
        { "url": oxio.url(), "nsp": "/", "auth": { "client": 1, "join": OXIO_CLIENT_ROOMS } },
    ] }))
    .await;
    let ids = clients.ids().to_vec();
    let mut rooms: [BTreeSet<String>; 2] = Default::default();
    rooms[0].extend(NODE_CLIENT_ROOMS.iter().map(|r| r.to_string()));
    rooms[0].insert(ids[0].clone());
    rooms[1].extend(OXIO_CLIENT_ROOMS.iter().map(|r| r.to_string()));
    rooms[1].insert(ids[1].clone());
    if let Mode::Sharded = mode {
        // Dynamic mode: each node holds the channels of its public rooms.
        for room in ["fz-member", NODE_CLIENT_ROOMS[1], NODE_CLIENT_ROOMS[2]] {
            let nodes = if room == "fz-member" { 2 } else { 1 };
            let channel = format!("socket.io#/#{room}#");
            let what = format!("{channel} subscribed by {nodes}");
            eventually(&what, || async { shard_numsub(&redis, &channel) == nodes }).await;
        }
    }
    let mut fuzz = Fuzz {
        rng: StdRng::seed_from_u64(seed() ^ mode as u64),
        mode,
        node: &node,
        oxio: &oxio,
        clients: &clients,
        redis: &redis,
        rooms,
        expected: Expected::default(),
        counter: 0,
    };
    let started = Instant::now();
    for batch in 0..BATCHES {
        for _ in 0..OPS_PER_BATCH {
            fuzz.step(batch).await;
        }
        fuzz.verify(batch).await;
    }
    eprintln!("{mode:?}: {BATCHES} batches in {:?}", started.elapsed());
    assert_no_foreign_panics();
    node.exit().await;
    oxio.shutdown().await;
}

impl Fuzz<'_> {
    fn event(&mut self, batch: usize, checked: bool) -> String {
        self.counter += 1;
        let odd = *[
            "",
            "ü🎉",
            "#*?[]",
            "a b",
            "\"q\"",
            "日本",
            "\\",
            "\u{0}",
            "socket.io#/#",
        ]
        .choose(&mut self.rng)
        .unwrap();
        let kind = if checked { "fzc" } else { "fzu" };
        format!("{kind}-{batch}-{}-{odd}", self.counter)
    }

    /// Clients (0, 1) that a broadcast to `to` except `except` reaches.
    fn recipients(&self, to: &[String], except: &[String]) -> Vec<usize> {
        (0..2)
            .filter(|&c| {
                let rooms = &self.rooms[c];
                (to.is_empty() || to.iter().any(|r| rooms.contains(r)))
                    && !except.iter().any(|r| rooms.contains(r))
            })
            .collect()
    }

    /// Odd room names nobody is in.
    fn odd_rooms(&mut self, max: usize) -> Vec<String> {
        let count = self.rng.random_range(1..=max);
        (0..count)
            .map(|_| odd_room(&mut self.rng))
            .filter(|room| !self.rooms.iter().any(|rooms| rooms.contains(room)))
            .collect()
    }

    fn operator(&self, to: &[String], except: &[String]) -> BroadcastOperator {
        let mut operator = self.oxio.io.broadcast();
        for room in to {
            operator = operator.to(room.as_str());
        }
        for room in except {
            operator = operator.except(room.as_str());
        }
        operator
    }

    /// One random operation.
    async fn step(&mut self, batch: usize) {
        match self.rng.random_range(0..14) {
            // Emit to everyone, to member rooms mixed with odd ones, with odd excepts.
            0..=5 => {
                let checked = self.rng.random_bool(0.8);
                let args = odd_args(&mut self.rng, checked);
                let (to, except) = match self.rng.random_range(0..4) {
                    0 => (Vec::new(), Vec::new()),
                    1 => (Vec::new(), self.odd_rooms(50)),
                    2 => {
                        let mut to = self.odd_rooms(300);
                        let members: Vec<String> = self.rooms[0].iter().cloned().collect();
                        to.push(members.choose(&mut self.rng).unwrap().clone());
                        (to, self.odd_rooms(5))
                    }
                    _ => {
                        // One room alone: a room channel (classic, sharded dynamic).
                        let all: Vec<String> = self.rooms[0]
                            .iter()
                            .chain(&self.rooms[1])
                            .cloned()
                            .collect();
                        let room = if self.rng.random_bool(0.5) {
                            all.choose(&mut self.rng).unwrap().clone()
                        } else {
                            odd_room(&mut self.rng)
                        };
                        (vec![room], Vec::new())
                    }
                };
                let event = self.event(batch, checked);
                let mut operator = self.operator(&to, &except);
                if self.rng.random_bool(0.3) {
                    // A flag travels in opts.flags.
                    operator = operator.compress(self.rng.random_bool(0.5));
                }
                operator
                    .emit_args(&event, to_args(&args))
                    .unwrap_or_else(|e| panic!("emit {event}: {e}"));
                if checked {
                    let recipients = self.recipients(&to, &except);
                    self.expected
                        .deliveries
                        .push((event, recipients, wire(&args)));
                }
            }
            // Binary of every size class, to everyone.
            6 => {
                let sizes = [0, 1, 2, 127, 128, 255, 256, 65_535, 65_536];
                let mut args = Vec::new();
                for _ in 0..self.rng.random_range(1..=3) {
                    let size = if self.rng.random_bool(0.5) {
                        *sizes.choose(&mut self.rng).unwrap()
                    } else {
                        self.rng.random_range(0..=65_536)
                    };
                    let mut bytes = vec![0; size];
                    self.rng.fill(&mut bytes[..]);
                    args.push(Arg::Bin(bytes));
                    if self.rng.random_bool(0.3) {
                        let value = odd_value(&mut self.rng, 3, true);
                        args.push(Arg::Json(without_placeholder_marks(value)));
                    }
                }
                let event = self.event(batch, true);
                self.oxio
                    .io
                    .emit_args(&event, to_args(&args))
                    .expect("emit");
                self.expected
                    .deliveries
                    .push((event, vec![0, 1], wire(&args)));
            }
            // Server-side events: the watched one with odd args, with and without ack, and odd
            // names nobody listens to.
            7 | 8 => {
                let args = odd_args(&mut self.rng, true);
                let nsp = self.oxio.io.of("/");
                if self.rng.random_bool(0.5) {
                    nsp.server_side_emit("fz-sse", to_args(&args))
                        .expect("server_side_emit");
                    self.expected.server_events.push((wire(&args), false));
                } else {
                    let answers = nsp
                        .server_side_emit_with_ack("fz-sse", to_args(&args))
                        .await
                        .unwrap_or_else(|e| panic!("server_side_emit_with_ack: {e}"));
                    let answers: Vec<Value> =
                        answers.iter().map(|p| p.get(0).expect("json")).collect();
                    assert_eq!(answers, [json!("w-ack")]);
                    self.expected.server_events.push((wire(&args), true));
                }
                let odd = self.event(batch, false);
                let args = odd_args(&mut self.rng, false);
                nsp.server_side_emit(&odd, to_args(&args))
                    .expect("server_side_emit");
            }
            // Emit with ack: to both clients, and to odd rooms nobody is in.
            9 => {
                let args = odd_args(&mut self.rng, true);
                let event = self.event(batch, true);
                let started = Instant::now();
                let answers = self
                    .operator(&["fz-member".to_owned()], &[])
                    .timeout(Duration::from_secs(10))
                    .emit_with_ack(&event, to_args(&args))
                    .await
                    .unwrap_or_else(|e| panic!("emit_with_ack {event}: {e}"));
                let mut answers: Vec<String> = answers
                    .iter()
                    .map(|p| p.get::<String>(0).expect("string ack"))
                    .collect();
                answers.sort();
                assert_eq!(
                    answers,
                    ["ack-from-0", "ack-from-1"],
                    "{event} with {:.2000}",
                    wire(&args)
                );
                self.expected
                    .deliveries
                    .push((event, vec![0, 1], wire(&args)));

                let rooms = self.odd_rooms(20);
                let event = self.event(batch, true);
                let answers = self
                    .operator(&rooms, &[])
                    .timeout(Duration::from_secs(10))
                    .emit_with_ack(&event, to_args(&odd_args(&mut self.rng, true)))
                    .await
                    .unwrap_or_else(|e| panic!("emit_with_ack {event} to {rooms:?}: {e}"));
                assert!(answers.is_empty(), "{event}: {answers:?}");
                assert!(
                    started.elapsed() < Duration::from_secs(8),
                    "an emit with ack waited for its timeout"
                );
            }
            // Remote joins and leaves with odd room names, on both clients.
            10 => {
                let rooms = self.odd_rooms(6);
                self.oxio
                    .io
                    .to("fz-member")
                    .sockets_join(rooms.iter().cloned());
                self.await_rooms(&rooms, true).await;
                // Sharded (dynamic): both nodes hold each room's channel while it has members.
                self.await_room_channels(&rooms, 2).await;
                for room in &rooms {
                    self.oxio.io.to("fz-member").sockets_leave(room);
                }
                self.await_rooms(&rooms, false).await;
                self.await_room_channels(&rooms, 0).await;
                // Odd targets, odd rooms: nobody moves.
                let targets = self.odd_rooms(5);
                let joined = self.odd_rooms(5);
                self.operator(&targets, &[])
                    .sockets_join(joined.iter().cloned());
                if let Some(room) = joined.first() {
                    self.operator(&targets, &[]).sockets_leave(room);
                }
            }
            // fetchSockets with odd and with member rooms.
            11 => {
                let rooms = self.odd_rooms(40);
                let fetched = self
                    .operator(&rooms, &[])
                    .fetch_sockets()
                    .await
                    .expect("fetch_sockets");
                assert!(fetched.is_empty(), "{fetched:?}");
                let fetched = self
                    .operator(&["fz-member".to_owned()], &[])
                    .fetch_sockets()
                    .await
                    .expect("fetch_sockets");
                let mut ids: Vec<&str> = fetched.iter().map(|s| s.id()).collect();
                ids.sort_unstable();
                let mut want: Vec<&str> = self.clients.ids().iter().map(String::as_str).collect();
                want.sort_unstable();
                assert_eq!(ids, want);
                assert_eq!(
                    fetched
                        .iter()
                        .find(|s| s.id() == self.clients.ids()[0])
                        .map(|s| s.data()["client"].clone()),
                    Some(json!(0))
                );
            }
            // Disconnects aimed at nobody.
            12 => {
                let rooms = self.odd_rooms(10);
                let close = self.rng.random_bool(0.5);
                self.operator(&rooms, &[]).disconnect_sockets(close);
            }
            // Anything goes (unchecked): values Node cannot represent exactly, nesting beyond
            // what the adapter publishes, `__proto__` keys.
            _ => {
                let mut args = odd_args(&mut self.rng, false);
                match self.rng.random_range(0..3) {
                    0 => args.push(Arg::Json(deep(&mut self.rng, 1_000))),
                    1 => args.push(Arg::Json(deep(&mut self.rng, 120))),
                    _ => args.push(Arg::Json(json!({ "__proto__": { "x": 1 }, "n": u64::MAX }))),
                }
                let event = self.event(batch, false);
                let _ = self.oxio.io.emit_args(&event, to_args(&args));
            }
        }
    }

    /// Sharded mode: waits until each room's channel has `count` shard subscribers.
    async fn await_room_channels(&self, rooms: &[String], count: usize) {
        if let Mode::Classic = self.mode {
            return;
        }
        for room in rooms {
            let channel = format!("socket.io#/#{room}#");
            let what = format!("SHARDNUMSUB {channel:?} = {count}");
            eventually(&what, || async {
                shard_numsub(self.redis, &channel) == count
            })
            .await;
        }
    }

    /// Waits until both clients are in (or out of) every room of `rooms`, as each server sees it.
    async fn await_rooms(&self, rooms: &[String], member: bool) {
        let what = format!("clients {} {rooms:?}", if member { "in" } else { "out of" });
        let node_socket = &self.clients.ids()[0];
        let oxio_socket = &self.clients.ids()[1];
        eventually(&what, || async {
            let connections = self
                .node
                .request(json!({ "op": "connections", "nsp": "/" }))
                .await;
            let on_node: BTreeSet<String> = connections
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == *node_socket)
                .map(|s| {
                    s["rooms"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let on_oxio: BTreeSet<String> = self
                .oxio
                .io
                .of("/")
                .socket(oxio_socket)
                .map(|s| s.rooms().iter().map(|r| r.to_string()).collect())
                .unwrap_or_default();
            rooms
                .iter()
                .all(|r| on_node.contains(r) == member && on_oxio.contains(r) == member)
        })
        .await;
    }

    /// After a batch: everything checkable arrived exactly once with its arguments, the watchdog
    /// is alive and gets a normal broadcast.
    async fn verify(&mut self, batch: usize) {
        let alive = self.node.request(json!({ "op": "ping" })).await;
        assert_eq!(
            alive,
            json!({ "event": "alive" }),
            "watchdog after batch {batch}"
        );
        let deliveries = std::mem::take(&mut self.expected.deliveries);
        eprintln!(
            "{:?} batch {batch}: checking {} deliveries and {} server-side events",
            self.mode,
            deliveries.len(),
            self.expected.server_events.len()
        );
        for (event, recipients, args) in deliveries {
            for got in self.clients.expect_each(&event, &recipients).await {
                assert!(
                    json_eq(&got["args"], &args),
                    "{:?}: {event} to client {} arrived as\n{}\nexpected\n{}",
                    self.mode,
                    got["client"],
                    got["args"],
                    args
                );
            }
        }
        let check = format!("fz-check-{batch}");
        self.oxio
            .io
            .emit_args(&check, Args::one(&batch))
            .expect("emit");
        for got in self.clients.expect_each(&check, &[0, 1]).await {
            assert_eq!(got["args"], json!([batch]));
        }
        let expected = std::mem::take(&mut self.expected.server_events);
        let node = self.node;
        let count = expected.len();
        eventually("the watchdog recorded every fz-sse", || async {
            let got = node
                .request(json!({ "op": "received", "event": "fz-sse" }))
                .await;
            got.as_array().map(Vec::len) == Some(count)
        })
        .await;
        let got = node
            .request(json!({ "op": "received", "event": "fz-sse", "clear": true }))
            .await;
        for (got, (args, ack)) in got.as_array().unwrap().iter().zip(&expected) {
            assert!(
                json_eq(&got["args"], args) && got["ack"] == *ack,
                "server-side event arrived as {got}, expected {args} (ack {ack})"
            );
        }
        // Nothing checkable twice or to a client outside its target; nobody disconnected.
        for event in self.clients.drain(Duration::from_millis(300)).await {
            let name = event["event"].as_str().unwrap_or_default();
            assert!(
                !name.starts_with("fzc") && !name.starts_with("fz-check") && name != "disconnect",
                "{:?} batch {batch}: unexpected {event}",
                self.mode
            );
        }
        let alive = self.node.request(json!({ "op": "ping" })).await;
        assert_eq!(
            alive,
            json!({ "event": "alive" }),
            "watchdog after batch {batch}"
        );
    }
}

/// 1 to 4 odd arguments; `checked`: only values that come back exactly from Node.
fn odd_args(rng: &mut StdRng, checked: bool) -> Vec<Arg> {
    let count = rng.random_range(0..=4);
    let mut args: Vec<Arg> = (0..count)
        .map(|_| match rng.random_range(0..10) {
            0 => {
                let levels = rng.random_range(1..=80);
                Arg::Json(deep(rng, levels))
            }
            1 => Arg::Json(wide(rng, checked)),
            // Looks like a binary placeholder but is plain data (no binary in these args).
            2 => Arg::Json(json!({ "_placeholder": true, "num": rng.random_range(0..3) })),
            _ => Arg::Json(odd_value(rng, 4, checked)),
        })
        .collect();
    if !checked && rng.random_bool(0.3) {
        args.push(Arg::Json(json!(u64::MAX)));
        args.push(Arg::Json(json!(i64::MIN)));
    }
    args
}

const STRINGS: &[&str] = &[
    "",
    " ",
    "ü",
    "🎉",
    "日本語テキスト",
    "\u{0}",
    "\u{1}\u{1f}",
    "\u{7f}",
    "\u{ffff}",
    "\u{10ffff}",
    "\u{200b}zero-width",
    "\u{202e}rtl",
    "\u{fffd}",
    "\"quote\"",
    "back\\slash",
    "line\nbreak\r\n",
    "tab\t",
    "{\"a\":1}",
    "[1,2]",
    "_placeholder",
    "#",
    "*",
    "socket.io#/#",
    "$bin",
    "\u{2028}\u{2029}",
];

const KEYS: &[&str] = &[
    "",
    "a",
    "_placeholder",
    "num",
    "type",
    "data",
    "nsp",
    "uid",
    "rooms",
    "constructor",
    "toString",
    "ü🎉",
    "#*",
    "with space",
    "\u{0}",
];

fn odd_string(rng: &mut StdRng) -> String {
    match rng.random_range(0..6) {
        0 => "x".repeat(rng.random_range(1_000..20_000)),
        1 => "é🎉".repeat(rng.random_range(100..3_000)),
        2 => (0..rng.random_range(0..40))
            .map(|_| {
                let ranges = [
                    0x20..0x7f,
                    0xa0..0x800,
                    0x800..0xd800,
                    0xe000..0xfffe,
                    0x1_0000..0x11_0000,
                ];
                let range = ranges.choose(rng).unwrap().clone();
                char::from_u32(rng.random_range(range)).unwrap_or('?')
            })
            .collect(),
        _ => STRINGS.choose(rng).unwrap().to_string(),
    }
}

/// A room name nobody joins by chance: odd characters, sometimes empty or long.
fn odd_room(rng: &mut StdRng) -> String {
    match rng.random_range(0..8) {
        0 => String::new(),
        1 => "#".to_owned(),
        2 => "*".to_owned(),
        3 => format!("r{}#*?[]\\", rng.random::<u32>()),
        4 => format!("🎉{}ü#", rng.random::<u16>()),
        5 => "long".repeat(250),
        6 => format!("{:020}", rng.random::<u64>()),
        _ => odd_string(rng),
    }
}

fn odd_number(rng: &mut StdRng, checked: bool) -> Value {
    const SAFE: i64 = 1 << 53;
    match rng.random_range(0..5) {
        0 => json!(rng.random_range(-SAFE..=SAFE)),
        1 => json!(rng.random_range(-300..300)),
        2 => {
            let exponent = rng.random_range(-30..30);
            json!((rng.random::<f64>() - 0.5) * 10f64.powi(exponent))
        }
        3 => json!(
            *[0.5, -0.25, 1e-300, 1.7976931348623157e308, 5e-324, 0.1]
                .choose(rng)
                .unwrap()
        ),
        _ if checked => json!(SAFE),
        _ => json!(*[u64::MAX, (1u64 << 53) + 1].choose(rng).unwrap()),
    }
}

/// `value` with every `_placeholder` key renamed: in a packet with binary attachments, Socket.IO
/// clients take any object with `_placeholder: true` for an attachment (and fail on a bad one),
/// whichever server sent it.
fn without_placeholder_marks(value: Value) -> Value {
    match value {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(without_placeholder_marks).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let key = if key == "_placeholder" {
                        "_placeholder_".to_owned()
                    } else {
                        key
                    };
                    (key, without_placeholder_marks(value))
                })
                .collect(),
        ),
        other => other,
    }
}

/// A random value nested at most `depth` levels.
fn odd_value(rng: &mut StdRng, depth: usize, checked: bool) -> Value {
    let kinds = if depth == 0 { 5 } else { 7 };
    match rng.random_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => odd_number(rng, checked),
        3 | 4 => json!(odd_string(rng)),
        5 => Value::Array(
            (0..rng.random_range(0..6))
                .map(|_| odd_value(rng, depth - 1, checked))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.random_range(0..6) {
                let key = if rng.random_bool(0.7) {
                    KEYS.choose(rng).unwrap().to_string()
                } else {
                    odd_string(rng)
                };
                map.insert(key, odd_value(rng, depth - 1, checked));
            }
            Value::Object(map)
        }
    }
}

/// `levels` nested arrays and objects around a leaf.
fn deep(rng: &mut StdRng, levels: usize) -> Value {
    let mut value = json!("bottom");
    for level in 0..levels {
        value = if rng.random_bool(0.5) {
            json!([value])
        } else {
            json!({ format!("k{level}"): value })
        };
    }
    value
}

/// A wide array or object of small values.
fn wide(rng: &mut StdRng, checked: bool) -> Value {
    let small = |rng: &mut StdRng| match rng.random_range(0..4) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => odd_number(rng, checked),
        _ => json!(STRINGS.choose(rng).unwrap()),
    };
    if rng.random_bool(0.5) {
        Value::Array(
            (0..rng.random_range(500..5_000))
                .map(|_| small(rng))
                .collect(),
        )
    } else {
        let mut map = Map::new();
        for i in 0..rng.random_range(200..2_000) {
            let key = format!("key-{i}-{}", STRINGS.choose(rng).unwrap());
            map.insert(key, small(rng));
        }
        Value::Object(map)
    }
}

/// JSON equality with numbers compared as doubles (JS has one number type), within a relative
/// 1e-12: the harness reads the scripts' output with serde_json's default float parsing, which
/// may be one ULP off.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()) || (x - y).abs() < 1e-300
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

// =============================================================================================
// (b) garbage on oxio's channels
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxio_survives_garbage_on_classic_channels() {
    survive_garbage(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxio_survives_garbage_on_sharded_channels() {
    survive_garbage(Mode::Sharded).await;
}

async fn survive_garbage(mode: Mode) {
    let redis = RedisServer::start();
    let mut rng = StdRng::seed_from_u64(seed() ^ 0x6a5b ^ mode as u64);
    let oxio = OxioNode::start(mode.options("B", &redis.url())).await;
    let oxio_clients = NodeClients::start(json!({ "clients": [
        { "url": oxio.url(), "nsp": "/", "auth": { "client": 0, "join": ["g-room"] } },
    ] }))
    .await;

    // oxio's channels, as Redis lists them (no Node peer runs yet).
    let channels: Vec<(&str, String)> = match mode {
        Mode::Classic => {
            let listed = redis.command(&["PUBSUB", "CHANNELS", "*"]);
            let own = listed
                .lines()
                .find(|c| {
                    c.starts_with("socket.io-response#/#")
                        && c.len() > "socket.io-response#/#".len()
                })
                .unwrap_or_else(|| panic!("no own response channel in {listed:?}"))
                .to_owned();
            for channel in ["socket.io-request#/#", "socket.io-response#/#"] {
                assert!(
                    listed.lines().any(|c| c == channel),
                    "{channel} in {listed:?}"
                );
            }
            vec![
                ("PUBLISH", "socket.io#/#".to_owned()),
                ("PUBLISH", "socket.io#/#g-room#".to_owned()),
                ("PUBLISH", "socket.io-request#/#".to_owned()),
                ("PUBLISH", "socket.io-response#/#".to_owned()),
                ("PUBLISH", own),
            ]
        }
        Mode::Sharded => {
            let room = "socket.io#/#g-room#";
            eventually("oxio holds the g-room channel", || async {
                shard_numsub(&redis, room) == 1
            })
            .await;
            let listed = redis.command(&["PUBSUB", "SHARDCHANNELS", "socket.io#/#*"]);
            // The response channel: the node id is 16 hex characters.
            let own = listed
                .lines()
                .find(|c| {
                    c.strip_prefix("socket.io#/#")
                        .and_then(|rest| rest.strip_suffix('#'))
                        .is_some_and(|id| {
                            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                })
                .unwrap_or_else(|| panic!("no own response channel in {listed:?}"))
                .to_owned();
            vec![
                ("SPUBLISH", "socket.io#/#".to_owned()),
                ("SPUBLISH", own),
                ("SPUBLISH", room.to_owned()),
            ]
        }
    };

    // A first round with a Node peer, to know the checks pass before any garbage.
    cross_checks(&redis, mode, &oxio, &oxio_clients, "before").await;
    for (command, channel) in &channels {
        let payloads = garbage(&mut rng, mode);
        let count = payloads.len();
        let mut publisher = RawRedis::connect(redis.port());
        for payload in &payloads {
            let receivers = publisher.publish(command, channel, payload);
            assert_eq!(
                receivers,
                1,
                "{command} {channel}: oxio alone should get {:?}…",
                &payload[..payload.len().min(40)]
            );
        }
        eprintln!("{mode:?}: {count} garbage payloads on {channel}");
        cross_checks(&redis, mode, &oxio, &oxio_clients, channel).await;
        assert_no_foreign_panics();
    }
    assert_no_foreign_panics();
    // oxio never dropped its client.
    for event in oxio_clients.drain(Duration::from_millis(200)).await {
        assert_ne!(event["event"], "disconnect", "{event}");
    }
    oxio.shutdown().await;
}

/// With a fresh Node peer and a client on it: broadcasts both ways reach both clients once, and
/// fetchSockets works both ways. The peer leaves again at the end (so that no Node process is
/// subscribed while garbage flows).
async fn cross_checks(
    redis: &RedisServer,
    mode: Mode,
    oxio: &OxioNode,
    oxio_clients: &NodeClients,
    after: &str,
) {
    let node = NodePeer::start(mode.peer_config(&redis.url())).await;
    let node_clients = NodeClients::start(json!({ "clients": [
        { "url": node.url(), "nsp": "/", "auth": { "client": 1, "join": ["g-room"] } },
    ] }))
    .await;
    let oxio_id = oxio_clients.ids()[0].clone();
    let node_id = node_clients.ids()[0].clone();
    assert_eq!(
        node.request(json!({ "op": "serverCount" })).await,
        2,
        "after {after}"
    );
    assert_eq!(oxio.io.of("/").server_count().await, 2, "after {after}");
    if let Mode::Sharded = mode {
        let channel = "socket.io#/#g-room#";
        eventually("both hold the g-room channel", || async {
            shard_numsub(redis, channel) == 2
        })
        .await;
    }

    let event = format!("g-node after {after}");
    node.request(json!({ "op": "emit", "event": event, "args": [1, "ü", bin(&[1, 2])] }))
        .await;
    let event_to_room = format!("g-node-room after {after}");
    node.request(json!({ "op": "emit", "to": ["g-room"], "event": event_to_room, "args": [] }))
        .await;
    for clients in [oxio_clients, &node_clients] {
        let got = clients.expect_each(&event, &[0]).await;
        assert_eq!(
            got[0]["args"],
            json!([1, "ü", bin(&[1, 2])]),
            "after {after}"
        );
        clients.expect_each(&event_to_room, &[0]).await;
    }
    let event = format!("g-oxio after {after}");
    oxio.io
        .emit_args(&event, Args::one("x").binary(Bytes::from_static(&[3])))
        .expect("emit");
    let event_to_room = format!("g-oxio-room after {after}");
    oxio.io
        .to("g-room")
        .emit_args(&event_to_room, Args::new())
        .expect("emit");
    for clients in [oxio_clients, &node_clients] {
        let got = clients.expect_each(&event, &[0]).await;
        assert_eq!(got[0]["args"], json!(["x", bin(&[3])]), "after {after}");
        clients.expect_each(&event_to_room, &[0]).await;
    }

    let fetched = node.request(json!({ "op": "fetchSockets" })).await;
    let mut ids: Vec<&str> = fetched
        .as_array()
        .expect("sockets")
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![oxio_id.as_str(), node_id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "Node's fetchSockets after {after}");
    let oxio_socket = fetched
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == oxio_id)
        .unwrap();
    assert_eq!(oxio_socket["data"]["peer"], "B");
    let fetched = oxio.io.fetch_sockets().await.expect("fetch_sockets");
    let mut ids: Vec<&str> = fetched.iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    assert_eq!(ids, want, "oxio's fetch_sockets after {after}");

    // Exactly once: nothing more of these arrives.
    for clients in [oxio_clients, &node_clients] {
        for event in clients.drain(Duration::from_millis(300)).await {
            let name = event["event"].as_str().unwrap_or_default();
            assert!(!name.starts_with("g-"), "after {after}: duplicate {event}");
        }
    }
    node_clients.exit().await;
    node.exit().await;
    // Wait until Redis no longer counts the peer.
    let (kind, channel) = match mode {
        Mode::Classic => ("NUMSUB", "socket.io-request#/#"),
        Mode::Sharded => ("SHARDNUMSUB", "socket.io#/#"),
    };
    eventually("the Node peer is gone", || async {
        let reply = redis.command(&["PUBSUB", kind, channel]);
        reply.lines().last() == Some("1")
    })
    .await;
}

/// Garbage for one channel: a fixed corpus plus random and mutated messages.
fn garbage(rng: &mut StdRng, mode: Mode) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let text = |s: &str| s.as_bytes().to_vec();
    for s in [
        "",
        "hello",
        "{",
        "[",
        "{}",
        "[]",
        "null",
        "42",
        "\"str\"",
        "true",
        "{\"type\":5}",
        "{\"type\":5,\"requestId\":\"x\"}",
        "{\"type\":5,\"requestId\":\"x\",\"opts\":null}",
        "{\"type\":5,\"requestId\":\"x\",\"opts\":{\"rooms\":\"r\",\"except\":5}}",
        "{\"uid\":\"u\",\"type\":7,\"requestId\":\"r\"}",
        "{\"type\":\"5\"}",
        "{\"type\":null}",
        "{\"type\":99}",
        "{\"type\":-1}",
        "{\"type\":1.5}",
        "{\"type\":1e999}",
        "{\"type\":0,\"requestId\":\"q\",\"rooms\":\"x\"}",
        "{\"type\":1}",
        "{\"type\":1,\"requestId\":[]}",
        "{\"type\":6,\"data\":\"notarray\"}",
        "{\"type\":6,\"data\":[]}",
        "{\"type\":6,\"data\":[1,2]}",
        "{\"type\":6,\"data\":{\"packet\":5}}",
        "{\"type\":6,\"requestId\":\"q\",\"data\":[\"ev\"]}",
        "{\"type\":2,\"opts\":{\"rooms\":\"x\",\"except\":5},\"rooms\":\"r\"}",
        "{\"type\":2,\"sid\":5,\"room\":[]}",
        "{\"type\":3,\"sid\":null,\"room\":null,\"requestId\":7}",
        "{\"type\":4,\"sid\":\"nobody\",\"requestId\":\"q\",\"close\":\"yes\"}",
        "{\"requestId\":\"x\",\"sockets\":\"nope\"}",
        "{\"requestId\":null}",
        "{\"requestId\":\"zz\",\"rooms\":[1,2]}",
        "{\"type\":8,\"requestId\":\"r\",\"clientCount\":-5}",
        "{\"type\":8,\"requestId\":\"r\",\"clientCount\":1e300}",
        "{\"type\":9,\"requestId\":\"r\"}",
        "{\"type\":6,\"requestId\":\"r\",\"data\":{\"deep\":[[[[]]]]}}",
        "[1,2,3]",
        "[\"uid\",{\"type\":2},{\"rooms\":[]}]",
        "{\"type\":3,\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":3,\"data\":null,\"uid\":\"x\"}",
        "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":\"s\"},\"opts\":{}},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":3,\"data\":{\"packet\":null,\"opts\":{\"rooms\":[],\"except\":[]}},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"ev\"]},\"opts\":{\"rooms\":[],\"except\":[]},\"requestId\":5},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":7,\"data\":{\"requestId\":\"q\"},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":8,\"data\":{\"requestId\":\"q\",\"sockets\":[{\"id\":5}]},\"uid\":\"x\"}",
        "{\"type\":11,\"data\":{\"requestId\":\"q\",\"clientCount\":\"two\"},\"uid\":\"x\"}",
        "{\"type\":12,\"data\":{},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":13}",
        "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":\"notarray\"},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":9,\"data\":{\"packet\":\"notarray\"},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"type\":9,\"data\":{\"packet\":[]},\"uid\":\"x\",\"nsp\":\"/\"}",
        "{\"uid\":\"x\",\"nsp\":5,\"type\":3}",
        "{\"type\":\"\\ud800\"}",
        "{\"type\":\"\\u12\"}",
        "{\"a\":123456789012345678901234567890}",
        "{\"a\":-0}",
        "{\"type\":5,\"requestId\":\"q\",\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{\"timeout\":-1}}}",
    ] {
        out.push(text(s));
    }
    out.push(b"{\"type\":\"\xff\xfe\"}".to_vec());
    out.push(
        [
            b"{\"type\":5,\"requestId\":\"".as_slice(),
            &vec![b'x'; 1 << 20],
            b"\"}",
        ]
        .concat(),
    );
    // Deep nesting.
    out.push("[".repeat(200_000).into_bytes());
    out.push("{\"a\":".repeat(100_000).into_bytes());
    out.push(format!("{{\"type\":3,\"data\":{}", "[".repeat(50_000)).into_bytes());
    out.push(vec![0x91; 200_000]);
    out.push([0x81, 0xa1, b'a'].repeat(60_000));
    out.push([[0x93, 0xa1, b'x'].as_slice(), &[0x91; 10_000]].concat());
    // Huge declared lengths.
    for header in [
        &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
        &[0xdc, 0xff, 0xff],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0xde, 0xff, 0xff],
        &[0xdb, 0x7f, 0xff, 0xff, 0xff, b'a'],
        &[0xda, 0xff, 0xff, b'a'],
        &[0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2],
        &[0xc9, 0x7f, 0xff, 0xff, 0xff, 0x00],
        &[0xc9, 0x00, 0x00, 0x00, 0x10, 0xff],
        &[0x93, 0xa1, b'x', 0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0x85, 0xa3, b'u', b'i', b'd', 0xdb, 0xff, 0xff, 0xff, 0xff],
    ] {
        out.push(header.to_vec());
    }
    // Odd msgpack: never-used byte, lone undefined, unknown ext types, odd timestamps,
    // non-string keys, wrong shapes of the broadcast array.
    for bytes in [
        &[0xc1][..],
        &[0xd4, 0x00, 0x00],
        &[0xc0],
        &[0xd6, 0x05, 0, 0, 0, 0],
        &[0xc7, 0x00, 0x7f],
        &[0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[
            0xc7, 0x0c, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff,
        ],
        &[0xd7, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0x81, 0x01, 0x02],
        &[0x81, 0xc0, 0xc0],
        &[0x93, 0xa1, b'x', 0x80, 0xc0],
        &[0x93, 0xa1, b'x', 0xc0, 0x80],
        &[0x93, 0xc0, 0xc0, 0xc0],
        &[0x92, 0xa1, b'x', 0x80],
        &[0x90],
        &[0x80],
    ] {
        out.push(bytes.to_vec());
    }
    let templates = templates(mode);
    for template in &templates {
        out.push(template.clone());
        // Every truncation of the first bytes, and some further in.
        for cut in 0..template.len().min(24) {
            out.push(template[..cut].to_vec());
        }
        for _ in 0..8 {
            out.push(template[..rng.random_range(0..template.len())].to_vec());
        }
    }
    // Random bytes, some with a JSON or msgpack lead byte.
    for _ in 0..60 {
        let len = if rng.random_bool(0.1) {
            rng.random_range(0..65_536)
        } else {
            rng.random_range(0..256)
        };
        let mut bytes = vec![0; len];
        rng.fill(&mut bytes[..]);
        if let Some(first) = bytes.first_mut() {
            *first = *[*first, b'{', b'[', 0x93, 0x83, 0x84, 0x85, 0xde]
                .choose(rng)
                .unwrap();
        }
        out.push(bytes);
    }
    // Mutated valid messages: flipped, inserted and deleted bytes.
    for _ in 0..80 {
        let mut bytes = templates.choose(rng).unwrap().clone();
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random(),
                1 => bytes.insert(at, rng.random()),
                _ => {
                    bytes.remove(at);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        if !could_disconnect(&bytes) {
            out.push(bytes);
        }
    }
    out
}

/// Whether a mutated message might have become a valid disconnect request (classic type 4,
/// sharded type 6): that would be a real command, not garbage.
fn could_disconnect(bytes: &[u8]) -> bool {
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    contains(b"\"type\":4")
        || contains(b"\"type\":6")
        || contains(&[0xa4, b't', b'y', b'p', b'e', 0x04])
        || contains(&[0xa4, b't', b'y', b'p', b'e', 0x06])
}

/// Messages of the mode, valid ones and wrong shapes: sent as they are, and the starting points
/// of truncation and mutation.
fn templates(mode: Mode) -> Vec<Vec<u8>> {
    use Mp::*;
    let s = |t: &str| Str(t.to_owned());
    let opts = || {
        Map(vec![
            (s("rooms"), Arr(vec![])),
            (s("except"), Arr(vec![])),
            (s("flags"), Map(vec![])),
        ])
    };
    let packet = |data: Vec<Mp>| {
        Map(vec![
            (s("type"), Int(2)),
            (s("data"), Arr(data)),
            (s("nsp"), s("/")),
        ])
    };
    let mut out = Vec::new();
    match mode {
        Mode::Classic => {
            // Wrong shapes: no data, data not an array, opts not a map, rooms not an array.
            let bad_packets = [
                Map(vec![(s("type"), Int(2)), (s("nsp"), s("/"))]),
                Map(vec![
                    (s("type"), Int(2)),
                    (s("data"), s("str")),
                    (s("nsp"), s("/")),
                ]),
                Map(vec![
                    (s("type"), Int(2)),
                    (s("data"), Arr(vec![Int(5)])),
                    (s("nsp"), s("/")),
                ]),
                Map(vec![
                    (s("type"), Int(2)),
                    (s("data"), Arr(vec![])),
                    (s("nsp"), Int(1)),
                ]),
                Nil,
            ];
            for bad in bad_packets {
                out.push(encode(&Arr(vec![s("zz1234"), bad, opts()])));
            }
            for bad_opts in [
                Nil,
                Arr(vec![]),
                Map(vec![(s("rooms"), s("g-room")), (s("except"), Map(vec![]))]),
                Map(vec![
                    (s("rooms"), Arr(vec![Nil, Int(3)])),
                    (s("flags"), Int(1)),
                ]),
            ] {
                out.push(encode(&Arr(vec![
                    s("zz1234"),
                    packet(vec![s("garbage-ev")]),
                    bad_opts,
                ])));
            }
            out.push(encode(&Map(vec![
                (s("type"), Int(7)),
                (s("requestId"), Nil),
            ])));
            out.push(encode(&Arr(vec![
                s("zz1234"),
                packet(vec![s("garbage-ev"), s("x")]),
                opts(),
            ])));
            out.push(encode(&Arr(vec![
                s("zz1234"),
                packet(vec![s("garbage-ev"), Bin(vec![1, 2, 3])]),
                opts(),
            ])));
            out.push(encode(&Map(vec![
                (s("uid"), s("zz1234")),
                (s("requestId"), s("qqqqqq")),
                (s("type"), Int(7)),
                (s("packet"), packet(vec![s("garbage-ev"), Int(42)])),
                (s("opts"), opts()),
            ])));
            out.push(encode(&Map(vec![
                (s("type"), Int(9)),
                (s("requestId"), s("qqqqqq")),
                (s("packet"), Bin(vec![0; 10])),
            ])));
            for json in [
                "{\"uid\":\"zz1234\",\"requestId\":\"qqqqqq\",\"type\":5,\"opts\":{\"rooms\":[\"g-room\"],\"except\":[]}}",
                "{\"uid\":\"zz1234\",\"requestId\":\"qqqqqq\",\"type\":1}",
                "{\"uid\":\"zz1234\",\"type\":2,\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":[\"joined-by-garbage\"]}",
                "{\"uid\":\"zz1234\",\"type\":6,\"data\":[\"garbage-sse\",1,{\"a\":[]}]}",
                "{\"requestId\":\"qqqqqq\",\"sockets\":[{\"id\":\"x\",\"rooms\":[],\"data\":null,\"handshake\":{}}]}",
                "{\"type\":8,\"requestId\":\"qqqqqq\",\"clientCount\":3}",
            ] {
                out.push(json.as_bytes().to_vec());
            }
        }
        Mode::Sharded => {
            let message = |ty: i64, data: Mp| {
                Map(vec![
                    (s("type"), Int(ty)),
                    (s("data"), data),
                    (s("uid"), s("00112233aabbccdd")),
                    (s("nsp"), s("/")),
                ])
            };
            // Wrong shapes: no data, data of the wrong type, type as a string.
            for (ty, data) in [
                (Int(3), Nil),
                (Int(3), Arr(vec![])),
                (s("3"), Map(vec![])),
                (Int(3), Map(vec![(s("packet"), Nil), (s("opts"), opts())])),
                (Int(7), Map(vec![(s("requestId"), Int(5))])),
                (Int(9), Map(vec![(s("packet"), Map(vec![]))])),
                (Int(12), Map(vec![(s("requestId"), s("0011"))])),
                (Int(99), Nil),
            ] {
                out.push(encode(&Map(vec![
                    (s("type"), ty),
                    (s("data"), data),
                    (s("uid"), s("00112233aabbccdd")),
                ])));
            }
            out.push(encode(&message(
                3,
                Map(vec![
                    (
                        s("packet"),
                        Map(vec![
                            (s("type"), Int(2)),
                            (s("data"), Arr(vec![s("garbage-ev"), Bin(vec![1, 2, 3])])),
                        ]),
                    ),
                    (s("opts"), opts()),
                ]),
            )));
            out.push(encode(&message(
                12,
                Map(vec![
                    (s("requestId"), s("0011")),
                    (s("packet"), Bin(vec![9; 5])),
                ]),
            )));
            for json in [
                "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"garbage-ev\",1]},\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{}}},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
                "{\"type\":7,\"data\":{\"opts\":{\"rooms\":[\"g-room\"],\"except\":[]},\"requestId\":\"0011\"},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
                "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":[\"joined-by-garbage\"]},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
                "{\"type\":9,\"data\":{\"packet\":[\"garbage-sse\",{}],\"requestId\":\"0011\"},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
                "{\"type\":8,\"data\":{\"requestId\":\"0011\",\"sockets\":[]},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
                "{\"type\":11,\"data\":{\"requestId\":\"0011\",\"clientCount\":2},\"uid\":\"00112233aabbccdd\",\"nsp\":\"/\"}",
            ] {
                out.push(json.as_bytes().to_vec());
            }
        }
    }
    out
}

/// Just enough msgpack to write the templates.
enum Mp {
    Nil,
    Int(i64),
    Str(String),
    Bin(Vec<u8>),
    Arr(Vec<Mp>),
    Map(Vec<(Mp, Mp)>),
}

fn encode(value: &Mp) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

fn encode_into(value: &Mp, out: &mut Vec<u8>) {
    match value {
        Mp::Nil => out.push(0xc0),
        Mp::Int(n) if (0..128).contains(n) => out.push(*n as u8),
        Mp::Int(n) => {
            out.push(0xd3);
            out.extend(n.to_be_bytes());
        }
        Mp::Str(s) => {
            assert!(s.len() < 256);
            if s.len() < 32 {
                out.push(0xa0 | s.len() as u8);
            } else {
                out.extend([0xd9, s.len() as u8]);
            }
            out.extend(s.as_bytes());
        }
        Mp::Bin(b) => {
            assert!(b.len() < 256);
            out.extend([0xc4, b.len() as u8]);
            out.extend(b);
        }
        Mp::Arr(items) => {
            assert!(items.len() < 16);
            out.push(0x90 | items.len() as u8);
            items.iter().for_each(|item| encode_into(item, out));
        }
        Mp::Map(entries) => {
            assert!(entries.len() < 16);
            out.push(0x80 | entries.len() as u8);
            for (key, value) in entries {
                encode_into(key, out);
                encode_into(value, out);
            }
        }
    }
}

/// A plain connection to Redis that publishes raw bytes (binary-safe, unlike the text helper of
/// `RedisServer`).
struct RawRedis {
    reader: BufReader<TcpStream>,
}

impl RawRedis {
    fn connect(port: u16) -> RawRedis {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to Redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        RawRedis {
            reader: BufReader::new(stream),
        }
    }

    /// `command channel payload` (PUBLISH / SPUBLISH); returns the receiver count.
    fn publish(&mut self, command: &str, channel: &str, payload: &[u8]) -> i64 {
        let mut request = Vec::new();
        for arg in [command.as_bytes(), channel.as_bytes(), payload] {
            if request.is_empty() {
                request.extend(b"*3\r\n");
            }
            request.extend(format!("${}\r\n", arg.len()).as_bytes());
            request.extend(arg);
            request.extend(b"\r\n");
        }
        self.reader
            .get_mut()
            .write_all(&request)
            .expect("write to Redis");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("Redis reply");
        line.trim_end()
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{command} {channel}: unexpected reply {line:?}"))
    }
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
