//! The `oxio` binary, run as a process: its options, the relay (driven by socket.io-client), and
//! graceful shutdown on SIGTERM.

mod bench_support;

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const OXIO: &str = env!("CARGO_BIN_EXE_oxio");

/// The environment variables `oxio` reads, removed so that the tests do not depend on the caller's.
const ENV: [&str; 15] = [
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
    "RUST_LOG",
];

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(OXIO);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for name in ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

/// Runs `oxio` with `args` to its end (for the runs that must not start a server).
async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = command(args, env).output();
    tokio::time::timeout(Duration::from_secs(10), output)
        .await
        .expect("oxio exited within 10 s")
        .expect("oxio runs")
}

/// A running `oxio` server.
struct Server {
    child: Child,
    /// `host:port`, as logged at startup.
    address: String,
    /// Everything it logged.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `oxio --address 127.0.0.1:0 <args>` and waits for its startup line.
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut all = vec!["--address", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut child = command(&all, env)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oxio starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let address = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    return rest.split('/').next().expect("host:port").to_owned();
                }
            }
            panic!("oxio exited before listening:\n{}", log.lock().unwrap());
        })
        .await
        .expect("oxio listens within 10 s");
        let rest = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                rest.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        Server {
            child,
            address,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and returns the exit status.
    async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().expect("running").to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(kill.success());
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("oxio exits within 10 s of SIGTERM")
            .expect("exit status");
        // Let the reader take the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        (status, self.log())
    }
}

/// A plain HTTP/1.1 GET; the whole response as text.
async fn http_get(address: &str, target: &str, headers: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {address}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .expect("response within 5 s")
        .expect("read");
    response
}

/// Runs a case of `tests/node/oxio_bin.mjs` against a fresh server; the checks it passed.
async fn relay_case(case: &str) -> Vec<String> {
    let server = Server::start(&[], &[]).await;
    let run = bench_support::run_node("oxio_bin", &[&server.url(), case]).await;
    let (status, log) = server.terminate().await;
    let checks = run.checks();
    assert!(status.success(), "oxio exited with {status}:\n{log}");
    checks
}

#[tokio::test]
async fn help_describes_every_option_and_the_relay() {
    let output = run(&["--help"], &[]).await;
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8");
    for expected in [
        "--address",
        "OXIO_ADDRESS",
        "0.0.0.0:3000",
        "--path",
        "OXIO_PATH",
        "/socket.io/",
        "--cors-origin",
        "OXIO_CORS_ORIGIN",
        "--cors-credentials",
        "--ping-interval-ms",
        "25000",
        "--ping-timeout-ms",
        "20000",
        "--max-payload",
        "1000000",
        "--connect-timeout-ms",
        "45000",
        "--redis",
        "REDIS_URL",
        "--redis-cluster",
        "--sharded",
        "--redis-bookkeeping",
        "join(room",
        "leave(room",
        "to(room, event",
        "Every namespace",
        "SIGTERM",
        "RUST_LOG",
    ] {
        assert!(
            help.contains(expected),
            "--help lacks {expected:?}:\n{help}"
        );
    }
}

#[tokio::test]
async fn a_bad_redis_url_is_refused_without_echoing_it() {
    for (args, env) in [
        (&["--redis", "http://secret@127.0.0.1:6379"][..], &[][..]),
        (&[][..], &[("REDIS_URL", "secret://127.0.0.1:6379")][..]),
    ] {
        let output = run(args, env).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot use Redis"), "{stderr}");
        assert!(
            !stderr.contains("secret"),
            "the URL is not echoed: {stderr}"
        );
    }
}

#[tokio::test]
async fn bad_options_are_refused() {
    for args in [
        &["--cors-credentials"][..],
        &["--ping-interval-ms", "0"][..],
        &["--max-payload", "lots"][..],
        &["--no-such-flag"][..],
    ] {
        let output = run(args, &[]).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?} says why");
    }
}

#[tokio::test]
async fn options_and_their_environment_variables_reach_the_server() {
    let server = Server::start(
        &[
            "--path",
            "/rt",
            "--cors-origin",
            "http://a.test,http://b.test",
            "--ping-interval-ms",
            "1234",
            "--max-payload",
            "4321",
        ],
        &[
            ("OXIO_PING_TIMEOUT_MS", "567"),
            // The flag wins over the variable.
            ("OXIO_MAX_PAYLOAD", "999"),
        ],
    )
    .await;
    let handshake = http_get(
        &server.address,
        "/rt/?EIO=4&transport=polling",
        "Origin: http://b.test\r\n",
    )
    .await;
    let lower = handshake.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{handshake}");
    assert!(
        lower.contains("access-control-allow-origin: http://b.test"),
        "{handshake}"
    );
    for field in [
        "\"pingInterval\":1234",
        "\"pingTimeout\":567",
        "\"maxPayload\":4321",
    ] {
        assert!(handshake.contains(field), "{field} in {handshake}");
    }
    let default_path = http_get(&server.address, "/socket.io/?EIO=4&transport=polling", "").await;
    assert!(default_path.starts_with("HTTP/1.1 404"), "{default_path}");
    let (status, log) = server.terminate().await;
    assert!(status.success(), "oxio exited with {status}:\n{log}");
    assert!(
        log.contains("http://b.test"),
        "the startup line shows the options:\n{log}"
    );
}

#[tokio::test]
async fn events_are_relayed_to_the_other_sockets_of_the_namespace() {
    assert_eq!(
        relay_case("relay").await,
        ["an event reaches every other socket of the namespace, binary included"]
    );
}

#[tokio::test]
async fn join_leave_and_to_manage_and_target_rooms() {
    assert_eq!(
        relay_case("rooms").await,
        [
            "join acks with no argument",
            "to(room, ...) reaches the members of the room only",
            "to(room, ...) excludes the sender, carries binary",
            "leave acks, and the socket no longer gets the room's events; to(id) reaches one socket",
            "join refuses bad room names and other sockets' id rooms"
        ]
    );
}

#[tokio::test]
async fn any_namespace_is_accepted() {
    assert_eq!(
        relay_case("namespaces").await,
        ["any namespace is accepted, and events stay in their namespace"]
    );
}

#[tokio::test]
async fn sigterm_disconnects_clients_and_exits_with_0() {
    let server = Server::start(&[], &[]).await;
    let mut client = bench_support::spawn_node("oxio_bin", &[&server.url(), "wait-disconnect"]);
    let mut stdout = BufReader::new(client.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .expect("the client connects within 10 s")
        .expect("read");
    assert_eq!(first.as_deref(), Some(r#"{"event":"connected"}"#));

    let (status, log) = server.terminate().await;
    assert!(status.success(), "oxio exited with {status}:\n{log}");
    assert!(log.contains("SIGTERM: shutting down"), "{log}");

    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = stdout.next_line().await.expect("read") {
            rest.push(line);
        }
    })
    .await
    .expect("the client ends within 10 s");
    let client_status = client.wait().await.expect("node exit status");
    assert!(client_status.success(), "{rest:?}");
    assert!(
        rest.first()
            .is_some_and(|line| line.contains("\"disconnected\"")),
        "{rest:?}"
    );
}
