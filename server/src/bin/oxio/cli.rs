//! The command line: flags, their environment variables and defaults, and the server
//! configuration they make.

use std::time::Duration;

use clap::Parser;
use oxio_cluster::redis::bookkeeping::BookkeepingConfig;
use oxio_cluster::redis::transport::RedisTarget;
use oxio_cluster::redis::{AdapterMode, RedisAdapterOptions, SubscriptionMode};
use oxio_server::{Cors, CorsOrigin, EngineConfig, IoConfig};

const ABOUT: &str =
    "A Socket.IO gateway: relays the events of its clients to each other (details: --help)";

const LONG_ABOUT: &str = "\
A Socket.IO v5 server (Engine.IO v4: websocket and HTTP long-polling) with no application logic of
its own, working as a relay: in memory (one process), or clustered through Redis with other oxio
or Node socket.io servers (--redis, --redis-cluster, --sharded).

What it does with events:
  <event>(...args)           every event a client emits is sent, with the same arguments (binary
                             included), to every other socket of the same namespace. Acks asked
                             for on relayed events are not answered.
  join(room[, ack])          the socket joins `room`; ack() when done, ack(\"<error>\") when
                             `room` is not a string or has the shape of a socket id (20
                             URL-safe characters) other than the socket's own.
  leave(room[, ack])         the socket leaves `room`; ack() when done.
  to(room, event, ...args[, ack])
                             sends event(...args) to the sockets in `room`, the sender excluded;
                             every socket is in a room named after its id, so to(id, ...) reaches
                             one socket. ack() when sent.
  Every namespace can be connected to (/, /chat, /game-42, ...): each has its own sockets and
  rooms, and events never cross namespaces.

Every option can also be set through its environment variable; the flag wins over the variable.";

const AFTER_HELP: &str = "\
Logs go to stderr, filtered by RUST_LOG (default: info). SIGINT and SIGTERM shut the server down
gracefully: it stops accepting, disconnects every client, flushes what was queued, exits with 0.";

/// The options of `oxio`.
#[derive(Debug, Parser)]
#[command(name = "oxio", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Options {
    /// Address to listen on, HOST:PORT (port 0: any free port, logged at startup)
    #[arg(
        long,
        env = "OXIO_ADDRESS",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:3000"
    )]
    pub(crate) address: String,

    /// HTTP path of the Socket.IO endpoint (Node's `path` option)
    #[arg(
        long,
        env = "OXIO_PATH",
        value_name = "PATH",
        default_value = "/socket.io/"
    )]
    pub(crate) path: String,

    /// Origin allowed to connect from a browser page of another origin (CORS); repeat the flag or
    /// separate origins with commas, `*` for any origin. Default: CORS disabled (no CORS headers)
    #[arg(
        long = "cors-origin",
        env = "OXIO_CORS_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub(crate) cors_origins: Vec<String>,

    /// Allow credentials (cookies, HTTP auth) on cross-origin requests; needs --cors-origin
    #[arg(
        long,
        env = "OXIO_CORS_CREDENTIALS",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub(crate) cors_credentials: bool,

    /// How often each client is pinged, in milliseconds
    #[arg(
        long,
        env = "OXIO_PING_INTERVAL_MS",
        value_name = "MS",
        default_value_t = 25_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) ping_interval_ms: u64,

    /// How long to wait for a client's pong before closing its connection, in milliseconds
    #[arg(
        long,
        env = "OXIO_PING_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) ping_timeout_ms: u64,

    /// Largest message (websocket) or request body (polling) a client may send, in bytes
    #[arg(
        long,
        env = "OXIO_MAX_PAYLOAD",
        value_name = "BYTES",
        default_value_t = 1_000_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) max_payload: u64,

    /// How long a connection may stay without joining any namespace, in milliseconds
    #[arg(
        long,
        env = "OXIO_CONNECT_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 45_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) connect_timeout_ms: u64,

    /// Redis URL, to share rooms, broadcasts and server-side events with other servers (oxio or
    /// Node socket.io with @socket.io/redis-adapter) through Redis; without it (or
    /// --redis-cluster) everything stays in memory
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub(crate) redis: Option<String>,

    /// Redis Cluster seed node URLs, comma-separated, instead of --redis
    #[arg(
        long,
        env = "REDIS_CLUSTER",
        value_name = "URL,...",
        value_delimiter = ',',
        hide_env_values = true,
        conflicts_with = "redis"
    )]
    pub(crate) redis_cluster: Vec<String>,

    /// Use the sharded adapter (Redis 7+, SPUBLISH/SSUBSCRIBE) with this subscription mode,
    /// like Node's createShardedAdapter; the classic adapter otherwise
    #[arg(long, env = "OXIO_SHARDED", value_name = "MODE", num_args = 0..=1,
          default_missing_value = "dynamic", value_parser = ["static", "dynamic", "dynamic-private"])]
    pub(crate) sharded: Option<String>,

    /// The prefix of the Redis channels (Node's `key` / `channelPrefix`)
    #[arg(
        long,
        env = "OXIO_REDIS_KEY",
        value_name = "KEY",
        default_value = "socket.io"
    )]
    pub(crate) redis_key: String,

    /// How long cluster-wide requests (fetch sockets, all rooms, server-side emits with ack)
    /// wait for the other servers, in milliseconds (Node's `requestsTimeout`)
    #[arg(
        long,
        env = "OXIO_REQUESTS_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 5000
    )]
    pub(crate) requests_timeout_ms: u64,

    /// Keep every socket and room as Redis SETs (`KEY#/#s#<socket>`, `KEY#/#r#<room>`),
    /// readable by other processes; stale entries of crashed servers are swept
    #[arg(long, env = "OXIO_REDIS_BOOKKEEPING")]
    pub(crate) redis_bookkeeping: bool,

    /// Bookkeeping: how often this server refreshes its liveness key, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) redis_bookkeeping_heartbeat_ms: Option<u64>,

    /// Bookkeeping: how long a silent server counts as alive before it is swept, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) redis_bookkeeping_ttl_ms: Option<u64>,

    /// Bookkeeping: how often this server looks for dead servers to sweep, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) redis_bookkeeping_sweep_ms: Option<u64>,
}

impl Options {
    /// The Redis adapter the options ask for; `None` for in-memory.
    pub(crate) fn redis(&self) -> Option<RedisAdapterOptions> {
        let target = match (&self.redis, self.redis_cluster.as_slice()) {
            (Some(url), _) if !url.is_empty() => RedisTarget::Single(url.clone()),
            (_, seeds) if !seeds.is_empty() => RedisTarget::Cluster(seeds.to_vec()),
            _ => return None,
        };
        let mode = match self.sharded.as_deref() {
            None => AdapterMode::Classic {
                requests_timeout: Duration::from_millis(self.requests_timeout_ms),
                publish_on_specific_response_channel: false,
            },
            Some(mode) => AdapterMode::Sharded {
                subscription_mode: match mode {
                    "static" => SubscriptionMode::Static,
                    "dynamic-private" => SubscriptionMode::DynamicPrivate,
                    _ => SubscriptionMode::Dynamic,
                },
            },
        };
        let mut options = RedisAdapterOptions::new(target)
            .key(self.redis_key.clone())
            .mode(mode);
        if self.redis_bookkeeping {
            let mut config = BookkeepingConfig {
                key: self.redis_key.clone(),
                ..BookkeepingConfig::default()
            };
            // Hidden timing overrides, for tests that cannot wait for the defaults.
            if let Some(ms) = self.redis_bookkeeping_heartbeat_ms {
                config.heartbeat_interval = Duration::from_millis(ms);
            }
            if let Some(ms) = self.redis_bookkeeping_ttl_ms {
                config.node_ttl = Duration::from_millis(ms);
            }
            if let Some(ms) = self.redis_bookkeeping_sweep_ms {
                config.sweep_interval = Duration::from_millis(ms);
            }
            options = options.bookkeeping(config);
        }
        Some(options)
    }

    /// The CORS settings the options ask for.
    pub(crate) fn cors(&self) -> Result<Cors, String> {
        let origins: Vec<String> = self
            .cors_origins
            .iter()
            .map(|origin| origin.trim().to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        let origin = if origins.is_empty() {
            CorsOrigin::Disabled
        } else if origins.iter().any(|origin| origin == "*") {
            CorsOrigin::Any
        } else {
            CorsOrigin::List(origins)
        };
        if self.cors_credentials && origin == CorsOrigin::Disabled {
            return Err("--cors-credentials needs --cors-origin (CORS is disabled)".into());
        }
        Ok(Cors {
            origin,
            credentials: self.cors_credentials,
        })
    }

    /// The server configuration.
    pub(crate) fn io_config(&self) -> Result<IoConfig, String> {
        let max_payload = usize::try_from(self.max_payload)
            .map_err(|_| format!("--max-payload {} is too large", self.max_payload))?;
        let engine = EngineConfig::default()
            .path(self.path.as_str())
            .ping_interval(Duration::from_millis(self.ping_interval_ms))
            .ping_timeout(Duration::from_millis(self.ping_timeout_ms))
            .max_payload(max_payload)
            .cors(self.cors()?);
        Ok(IoConfig::default()
            .engine(engine)
            .connect_timeout(Duration::from_millis(self.connect_timeout_ms)))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Options {
        Options::try_parse_from(std::iter::once("oxio").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_command_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn cors_origins_are_repeatable_and_comma_separated() {
        let options = parse(&[
            "--cors-origin",
            "http://a.test, http://b.test",
            "--cors-origin=http://c.test",
        ]);
        assert_eq!(
            options.cors().unwrap().origin,
            CorsOrigin::List(vec![
                "http://a.test".into(),
                "http://b.test".into(),
                "http://c.test".into()
            ])
        );
        let options = parse(&["--cors-origin", "http://a.test,*"]);
        assert_eq!(options.cors().unwrap().origin, CorsOrigin::Any);
        assert_eq!(parse(&[]).cors().unwrap(), Cors::default());
    }

    #[test]
    fn credentials_need_an_origin() {
        assert!(parse(&["--cors-credentials"]).cors().is_err());
        let cors = parse(&["--cors-credentials", "--cors-origin", "*"])
            .cors()
            .unwrap();
        assert!(cors.credentials);
    }

    #[test]
    fn bookkeeping_timings_override_the_defaults() {
        let options = parse(&[
            "--redis",
            "redis://127.0.0.1:6379/",
            "--redis-bookkeeping",
            "--redis-bookkeeping-heartbeat-ms",
            "100",
            "--redis-bookkeeping-ttl-ms=400",
            "--redis-bookkeeping-sweep-ms",
            "200",
        ]);
        let config = options.redis().unwrap().bookkeeping.unwrap();
        assert_eq!(config.heartbeat_interval, Duration::from_millis(100));
        assert_eq!(config.node_ttl, Duration::from_millis(400));
        assert_eq!(config.sweep_interval, Duration::from_millis(200));
        let defaults = parse(&["--redis", "redis://127.0.0.1:6379/", "--redis-bookkeeping"])
            .redis()
            .unwrap()
            .bookkeeping
            .unwrap();
        assert_eq!(defaults.node_ttl, BookkeepingConfig::default().node_ttl);
    }

    #[test]
    fn zero_durations_are_refused() {
        for flag in [
            "--ping-interval-ms",
            "--ping-timeout-ms",
            "--max-payload",
            "--connect-timeout-ms",
        ] {
            assert!(
                Options::try_parse_from(["oxio", flag, "0"]).is_err(),
                "{flag}"
            );
        }
    }
}
