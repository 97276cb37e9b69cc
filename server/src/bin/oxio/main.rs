//! `oxio`: a Socket.IO gateway with no application logic, relaying events between clients (see
//! `oxio --help`, or `cli.rs` and `relay.rs`).
//!
//! `cargo run --release --bin oxio -- --help`

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oxio_cluster::redis::{AdapterMode, RedisCluster};
use oxio_server::Io;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

mod cli;
mod relay;

fn main() -> ExitCode {
    match oxio_server::runtime() {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("oxio: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let options = cli::Options::parse();
    let filter = EnvFilter::builder()
        .with_default_directive(tracing::Level::INFO.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let mut config = match options.io_config() {
        Ok(config) => config,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::from(2);
        }
    };
    let adapter = match options.redis() {
        None => "in-memory",
        Some(redis) => {
            let adapter = match redis.mode {
                AdapterMode::Classic { .. } => "redis (classic)",
                AdapterMode::Sharded { .. } => "redis (sharded)",
            };
            match RedisCluster::connect(redis, Duration::from_secs(5)).await {
                Ok(cluster) => config = config.cluster(cluster),
                Err(error) => {
                    // The URL is not echoed: it may carry a password.
                    tracing::error!("cannot use Redis: {error}");
                    return ExitCode::from(2);
                }
            }
            adapter
        }
    };
    let listener = match tokio::net::TcpListener::bind(options.address.as_str()).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", options.address);
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            tracing::error!("cannot read the listening address: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut shutdown = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!("cannot catch SIGINT and SIGTERM: {error}");
            return ExitCode::FAILURE;
        }
    };
    let io = Io::new(config);
    relay::install(&io);
    let path = io.engine().config().get_path();
    tracing::info!(
        cors = %describe_cors(&options),
        ping_interval_ms = options.ping_interval_ms,
        ping_timeout_ms = options.ping_timeout_ms,
        max_payload = options.max_payload,
        connect_timeout_ms = options.connect_timeout_ms,
        adapter,
        "oxio {} listening on http://{address}{path} (relay, any namespace)",
        env!("CARGO_PKG_VERSION"),
    );

    let server = io.clone();
    let mut serving = tokio::spawn(async move { server.serve(listener).await });
    let outcome = tokio::select! {
        signal = shutdown.received() => {
            tracing::info!("{signal}: shutting down");
            io.shutdown().await;
            serving.await
        }
        // `serve` returns on its own only after a shutdown.
        outcome = &mut serving => outcome,
    };
    match outcome {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            tracing::error!("server failed: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            tracing::error!("server task failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn describe_cors(options: &cli::Options) -> String {
    match options.cors() {
        Ok(cors) => match cors.origin {
            oxio_server::CorsOrigin::Disabled => "disabled".into(),
            oxio_server::CorsOrigin::Any => format!("any origin, credentials {}", cors.credentials),
            oxio_server::CorsOrigin::List(list) => {
                format!("{}, credentials {}", list.join(" "), cors.credentials)
            }
        },
        Err(message) => message,
    }
}

/// SIGINT and SIGTERM, caught from the moment this is made: made before the "listening" line, so that a
/// supervisor that signals as soon as it reads that line gets a graceful shutdown, not the default
/// action of the signal.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal; returns its name.
    async fn received(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
