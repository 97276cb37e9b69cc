//! `redis-server` processes for tests: a single server ([`RedisServer`]) or a cluster of masters
//! ([`RedisCluster`]), each on free loopback ports, in its own temporary directory.
//!
//! Invariants:
//!
//! - A server only counts as started once it answered `PING` with `PONG` (and, for a cluster, once
//!   every node reports `cluster_state:ok`, knows every other node and sees all 16384 slots).
//! - Every child process is killed (SIGKILL) and reaped when its handle is dropped, and its
//!   directory is removed; nothing outlives the test that started it.
//! - No persistence: `--save "" --appendonly no`. A restarted single server starts empty; a
//!   restarted cluster node keeps its `nodes.conf`, so it rejoins its cluster with its slots.
//! - Free ports come from binding `127.0.0.1:0`; since another process may grab the port between
//!   that probe and `redis-server` binding it, a start that fails is retried on a fresh port.
//!
//! The API is blocking (std::process and std::net), so it serves plain `#[test]`s and
//! `#[tokio::test]`s alike; a start takes well under a second on an idle machine and the waits are
//! generous polls (up to [`START_TIMEOUT`]) for loaded ones.
//!
//! When `redis-server` is not installed every constructor panics with a message that says how to
//! get it (`./scripts/test` installs it).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a server (or a whole cluster) may take to come up before the test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many fresh ports a start tries before it gives up.
const START_ATTEMPTS: usize = 5;

/// The distance between a cluster node's client port and its cluster-bus port (fixed by Redis).
const BUS_PORT_OFFSET: u16 = 10_000;

/// The number of hash slots of a Redis Cluster.
const SLOTS: u16 = 16_384;

/// One `redis-server` child process on `127.0.0.1`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra_args: Vec<String>,
}

impl RedisServer {
    /// Starts a standalone server on a free port and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is missing or does not come up within [`START_TIMEOUT`].
    pub fn start() -> RedisServer {
        Self::start_with(Vec::new(), false)
    }

    /// Starts a server with `extra_args`; with `bus_port` the port is chosen so that the cluster
    /// bus port (port + 10000) is free too.
    fn start_with(extra_args: Vec<String>, bus_port: bool) -> RedisServer {
        ensure_installed();
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port(bus_port);
            let mut server = RedisServer {
                child: None,
                port,
                dir: fresh_dir(port),
                extra_args: extra_args.clone(),
            };
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("redis-server did not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// The URL clients connect with: `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The TCP port the server listens on (the same across [`restart`](Self::restart)s).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the child process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the server with SIGKILL (no shutdown, connections are cut) and reaps it. Does nothing
    /// when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The same as [`kill`](Self::kill): tests want the abrupt variant.
    pub fn stop(&mut self) {
        self.kill();
    }

    /// Starts the server again on the same port and in the same directory (killing it first if
    /// it still runs), and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When it does not come up within [`START_TIMEOUT`] (also retried a few times, in case the
    /// port was taken meanwhile).
    pub fn restart(&mut self) {
        self.kill();
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) => {
                    last_error = e;
                    sleep(Duration::from_millis(200));
                }
            }
        }
        panic!(
            "redis-server did not restart on port {}: {last_error}",
            self.port
        );
    }

    /// Sends one command over a fresh connection and returns the reply rendered as text (see
    /// [`command`]).
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or answers with an error.
    pub fn command(&self, args: &[&str]) -> String {
        command(self.port, args)
            .unwrap_or_else(|e| panic!("{args:?} on port {} failed: {e}", self.port))
    }

    /// Spawns the child and waits for `PONG`; on failure the child is killed and the log is
    /// returned as the error.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("temp dir: {e}"))?;
        let log = self.dir.join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                self.child = None;
                return Err(format!("redis-server exited early; log:\n{}", tail(&log)));
            }
            if command(self.port, &["PING"]).is_ok_and(|reply| reply == "PONG") {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "no PONG within {START_TIMEOUT:?}; log:\n{}",
                    tail(&log)
                ));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of masters only (no replicas), each a [`RedisServer`] with
/// `cluster-enabled yes`, the slots split evenly in ranges in node order.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes, assigns the slots, makes them meet and waits until every node
    /// reports `cluster_state:ok`, knows all the others and sees every slot.
    ///
    /// # Panics
    ///
    /// When `masters` is 0, `redis-server` is missing, or the cluster is not ready within
    /// [`START_TIMEOUT`].
    pub fn start(masters: usize) -> RedisCluster {
        assert!(masters > 0, "a cluster needs at least one master");
        let args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| RedisServer::start_with(args.clone(), true))
            .collect();
        let cluster = RedisCluster { nodes };
        cluster.assign_slots();
        cluster.meet();
        cluster.wait_ready();
        cluster
    }

    /// The URLs of every node, in node order (each can serve as a seed).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes, in node order: node `i` owns the `i`-th even share of the slots.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// One node, for resilience tests (kill and restart it).
    ///
    /// # Panics
    ///
    /// When `index` is out of range.
    pub fn node_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.nodes[index]
    }

    /// The index of the node owning the hash slot of `key`, as the cluster itself says
    /// (`CLUSTER KEYSLOT`).
    pub fn owner_of(&self, key: &str) -> usize {
        let slot: usize = self.nodes[0]
            .command(&["CLUSTER", "KEYSLOT", key])
            .parse()
            .expect("CLUSTER KEYSLOT answers an integer");
        let (share, rest) = (
            usize::from(SLOTS) / self.nodes.len(),
            usize::from(SLOTS) % self.nodes.len(),
        );
        (0..self.nodes.len())
            .find(|&i| slot <= Self::range(i, share, rest).1)
            .unwrap_or(self.nodes.len() - 1)
    }

    /// The inclusive slot range of node `i` when `SLOTS` is split in `share`-sized ranges, the
    /// first `rest` nodes taking one slot more.
    fn range(i: usize, share: usize, rest: usize) -> (usize, usize) {
        let start = i * share + i.min(rest);
        let len = share + usize::from(i < rest);
        (start, start + len - 1)
    }

    fn assign_slots(&self) {
        let n = self.nodes.len();
        let (share, rest) = (usize::from(SLOTS) / n, usize::from(SLOTS) % n);
        for (i, node) in self.nodes.iter().enumerate() {
            let (start, end) = Self::range(i, share, rest);
            let (start, end) = (start.to_string(), end.to_string());
            node.command(&["CLUSTER", "ADDSLOTSRANGE", &start, &end]);
            // Distinct epochs, so that no epoch collision has to be resolved first.
            node.command(&["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()]);
        }
    }

    fn meet(&self) {
        let first = &self.nodes[0];
        for node in &self.nodes[1..] {
            first.command(&["CLUSTER", "MEET", "127.0.0.1", &node.port().to_string()]);
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let known = format!("cluster_known_nodes:{}", self.nodes.len());
        let ready = |port| {
            command(port, &["CLUSTER", "INFO"]).is_ok_and(|info| {
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && info.contains(&known)
            })
        };
        while !self.nodes.iter().all(|node| ready(node.port())) {
            if Instant::now() > deadline {
                let infos: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| {
                        command(n.port(), &["CLUSTER", "INFO"]).unwrap_or_else(|e| e.to_string())
                    })
                    .collect();
                panic!("the cluster was not ready within {START_TIMEOUT:?}: {infos:#?}");
            }
            sleep(Duration::from_millis(50));
        }
    }
}

/// Sends one command to `127.0.0.1:port` over a fresh connection and returns the reply as text:
/// a simple string or bulk string as is, an integer in decimal, an array as its elements joined
/// by newlines. An error reply is an `Err`.
pub fn command(port: u16, args: &[&str]) -> io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let reply = read_reply(&mut reader);
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    reply
}

/// Reads one RESP2 reply (enough for the admin commands the harness sends).
fn read_reply(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let (kind, rest) = line
        .split_at_checked(1)
        .ok_or_else(|| invalid("empty reply"))?;
    match kind {
        "+" | ":" => Ok(rest.to_string()),
        "-" => Err(io::Error::other(rest.to_string())),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| invalid("bad bulk length"))?;
            let Ok(len) = usize::try_from(len) else {
                return Ok(String::new());
            };
            let mut data = vec![0; len + 2];
            reader.read_exact(&mut data)?;
            data.truncate(len);
            String::from_utf8(data).map_err(|_| invalid("bulk string not UTF-8"))
        }
        "*" => {
            let len: i64 = rest.parse().map_err(|_| invalid("bad array length"))?;
            let items = (0..len.max(0))
                .map(|_| read_reply(reader))
                .collect::<io::Result<Vec<_>>>()?;
            Ok(items.join("\n"))
        }
        _ => Err(invalid("unknown reply type")),
    }
}

/// Panics with instructions when `redis-server` cannot be run.
fn ensure_installed() {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "redis-server is not installed (or not on PATH): the Redis tests start their own \
         servers. `./scripts/test` installs it (apt-get install -y redis-server)."
    );
}

/// A port that was free a moment ago; with `bus_port`, port + 10000 was free too.
fn free_port(bus_port: bool) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("binding 127.0.0.1:0")
            .port();
        if !bus_port {
            return port;
        }
        if let Some(bus) = port.checked_add(BUS_PORT_OFFSET)
            && TcpListener::bind(("127.0.0.1", bus)).is_ok()
        {
            return port;
        }
    }
}

/// A new, unique directory under the system temp dir.
fn fresh_dir(port: u16) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("oxio-redis-{}-{port}-{n}", std::process::id()))
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_slot_once() {
        for n in 1..=5 {
            let (share, rest) = (usize::from(SLOTS) / n, usize::from(SLOTS) % n);
            let mut next = 0;
            for i in 0..n {
                let (start, end) = RedisCluster::range(i, share, rest);
                assert_eq!(start, next);
                next = end + 1;
            }
            assert_eq!(next, usize::from(SLOTS));
        }
    }
}
