//! The server of the side-by-side benchmarks: the bench contract (`shared/bench-contract.md`) on
//! the main namespace, path `/socket.io/`, address `HOST` (default 127.0.0.1) and port `PORT`
//! (default 3000), default ping settings, no logging per message. SIGINT or SIGTERM shut it down
//! gracefully.
//!
//! It listens where the other servers of `benches/run.sh` do (Node's `server.mjs`, socketioxide's
//! peer and the calibration server all take 127.0.0.1): a dual-stack `::` socket costs every
//! packet a little more in the kernel, and the comparison must not differ in that.
//!
//! `REDIS_URL` (the contract's cluster mode) joins the classic Redis adapter on that server.
//!
//! `cargo run --release -p oxio-server --example bench_server`

use std::process::ExitCode;
use std::time::Duration;

use oxio_cluster::redis::transport::RedisTarget;
use oxio_cluster::redis::{RedisAdapterOptions, RedisCluster};
use oxio_server::{Io, IoConfig};

mod contract;

fn main() -> ExitCode {
    match oxio_server::runtime() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => {
            eprintln!("bench_server: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    let port = match std::env::var("PORT") {
        Err(_) => 3000,
        Ok(port) => match port.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("bench_server: PORT must be a port number, not {port:?}");
                return ExitCode::from(2);
            }
        },
    };
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing::Level::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("bench_server: cannot listen on {host} port {port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = IoConfig::default();
    if let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        let options = RedisAdapterOptions::new(RedisTarget::Single(url));
        match RedisCluster::connect(options, Duration::from_secs(5)).await {
            Ok(cluster) => config = config.cluster(cluster),
            Err(error) => {
                eprintln!("bench_server: cannot use Redis: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let io = Io::new(config);
    contract::install(&io);
    let address = listener
        .local_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string());
    println!(
        "bench_server (oxio) on http://{address}/socket.io/ (pid {})",
        std::process::id()
    );

    let server = io.clone();
    let serving = tokio::spawn(async move { server.serve(listener).await });
    shutdown_signal().await;
    io.shutdown().await;
    match serving.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("bench_server: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("bench_server: the server task failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
