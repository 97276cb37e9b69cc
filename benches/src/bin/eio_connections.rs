//! Opens many Engine.IO websocket sessions against a server and measures what they cost it.
//!
//! ```text
//! eio_connections --url ws://127.0.0.1:3000/engine.io/ --connections 10000 --concurrency 64 \
//!                 --server-pid PID [--hold-secs 5] [--polling-handshakes 20000]
//! ```
//!
//! Reports websocket connects/s (until the open packet arrives), the server's RSS before and after
//! (from `/proc/PID/status`) and the delta per connection, then, optionally, polling handshakes/s
//! (GET `?EIO=4&transport=polling` over keep-alive connections). Sessions answer pings, so they stay
//! open while held. Keep `--connections` under the open-file limit of both processes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

struct Options {
    url: String,
    connections: usize,
    concurrency: usize,
    server_pid: Option<u32>,
    hold: Duration,
    polling_handshakes: usize,
}

fn parse_options() -> Options {
    let mut options = Options {
        url: "ws://127.0.0.1:3000/engine.io/".to_owned(),
        connections: 1000,
        concurrency: 64,
        server_pid: None,
        hold: Duration::from_secs(3),
        polling_handshakes: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--url" => options.url = value,
            "--connections" => options.connections = value.parse().expect("--connections N"),
            "--concurrency" => options.concurrency = value.parse().expect("--concurrency N"),
            "--server-pid" => options.server_pid = Some(value.parse().expect("--server-pid PID")),
            "--hold-secs" => {
                options.hold = Duration::from_secs(value.parse().expect("--hold-secs S"))
            }
            "--polling-handshakes" => {
                options.polling_handshakes = value.parse().expect("--polling-handshakes N")
            }
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// The server's resident set size in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// host:port and path of a ws:// URL.
fn split_url(url: &str) -> (String, String) {
    let rest = url
        .trim_start_matches("ws://")
        .trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    (host.to_owned(), format!("/{path}"))
}

/// Opens one websocket session, reports when it is open (the open packet arrived; dropping
/// `on_open` reports a failure), and keeps it alive (answering pings) until `stop`.
async fn hold_session(
    url: String,
    opened: Arc<AtomicUsize>,
    on_open: tokio::sync::oneshot::Sender<()>,
    stop: Arc<tokio::sync::Notify>,
) {
    let (host, _) = split_url(&url);
    let Ok(tcp) = TcpStream::connect(&host).await else {
        return;
    };
    let request = format!("{url}?EIO=4&transport=websocket");
    let Ok((mut ws, _)) = tokio_tungstenite::client_async(request, tcp).await else {
        return;
    };
    match ws.next().await {
        Some(Ok(Message::Text(text))) if text.starts_with('0') => {
            opened.fetch_add(1, Ordering::Relaxed);
            let _ = on_open.send(());
        }
        _ => return,
    }
    let stopped = stop.notified();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    if ws.send(Message::text("3")).await.is_err() { break; }
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }
    let _ = ws.close(None).await;
}

/// Runs `total` polling handshakes over `concurrency` keep-alive connections; returns handshakes/s.
async fn polling_handshakes(url: &str, total: usize, concurrency: usize) -> f64 {
    let (host, path) = split_url(url);
    let remaining = Arc::new(AtomicUsize::new(total));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (host, path, remaining) = (host.clone(), path.clone(), remaining.clone());
        workers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&host).await.expect("connect");
            let request =
                format!("GET {path}?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let mut buffer = vec![0u8; 4096];
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                stream.write_all(request.as_bytes()).await.expect("write");
                // Responses are small: read until the body (which ends with `}`) is in.
                let mut filled = 0;
                loop {
                    let n = stream.read(&mut buffer[filled..]).await.expect("read");
                    assert!(n > 0, "server closed the connection");
                    filled += n;
                    if buffer[..filled].ends_with(b"}") {
                        break;
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let options = parse_options();
    let rss_before = options.server_pid.and_then(rss_kib);
    let opened = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency));
    let started = Instant::now();
    let mut sessions = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let permit = permits.clone().acquire_owned().await.expect("semaphore");
        let (url, opened, stop) = (options.url.clone(), opened.clone(), stop.clone());
        let (on_open, is_open) = tokio::sync::oneshot::channel();
        sessions.push(tokio::spawn(hold_session(url, opened, on_open, stop)));
        // The permit bounds connects in flight: it is released once this session is open or failed.
        tokio::spawn(async move {
            let _ = is_open.await;
            drop(permit);
        });
    }
    while opened.load(Ordering::Relaxed) < options.connections
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let open = opened.load(Ordering::Relaxed);
    println!(
        "websocket sessions open: {open} in {elapsed:.2} s ({:.0} connects/s)",
        open as f64 / elapsed
    );
    tokio::time::sleep(options.hold).await;
    if let (Some(before), Some(pid)) = (rss_before, options.server_pid) {
        let after = rss_kib(pid).unwrap_or(before);
        let per_connection = (after.saturating_sub(before)) as f64 * 1024.0 / open.max(1) as f64;
        println!(
            "server RSS: {before} KiB -> {after} KiB, {per_connection:.0} bytes per idle connection"
        );
    }
    stop.notify_waiters();
    for session in sessions {
        let _ = session.await;
    }
    if options.polling_handshakes > 0 {
        let rate = polling_handshakes(
            &options.url,
            options.polling_handshakes,
            options.concurrency,
        )
        .await;
        println!("polling handshakes: {rate:.0}/s");
    }
}
