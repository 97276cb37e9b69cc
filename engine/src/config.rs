//! Engine options, with the defaults of Node's engine.io.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::request::RequestInfo;

/// Which transports the engine accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transports {
    /// HTTP long-polling (`transport=polling`).
    pub polling: bool,
    /// Websocket (`transport=websocket`), directly or as an upgrade from polling.
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// Which origins may call the engine from a browser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CorsOrigin {
    /// No CORS headers are sent and preflight requests are not answered (the default, like Node).
    #[default]
    Disabled,
    /// Any origin: `Access-Control-Allow-Origin: *`, or the request's origin when credentials are allowed.
    Any,
    /// Only these origins (compared exactly with the `Origin` header), reflected back when they match.
    List(Vec<String>),
}

/// Cross-origin settings, like the `cors` option of Node's engine.io.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    /// The allowed origins.
    pub origin: CorsOrigin,
    /// Sends `Access-Control-Allow-Credentials: true`. Default: false.
    pub credentials: bool,
}

impl Cors {
    /// Any origin, without credentials.
    pub fn any() -> Self {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
        }
    }
}

/// Why the allow-request hook refused a connection; the message goes back in the 403 body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Sent as `message` in `{"code":4,"message":...}`.
    pub message: String,
}

impl Refusal {
    /// A refusal with Node's default message, `Forbidden`.
    pub fn forbidden() -> Self {
        Refusal {
            message: "Forbidden".to_owned(),
        }
    }
}

/// The allow-request hook: called for every handshake (polling or websocket) before a session exists.
pub type AllowRequest = Arc<dyn Fn(&RequestInfo) -> Result<(), Refusal> + Send + Sync>;

/// Engine options. Build with [`EngineConfig::default`] and the setters; every setter documents its
/// default, unit and trade-off.
#[derive(Clone)]
pub struct EngineConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) transports: Transports,
    pub(crate) allow_upgrades: bool,
    pub(crate) cors: Cors,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) max_sessions: usize,
    pub(crate) max_queued_packets: usize,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_millis(10_000),
            transports: Transports::default(),
            allow_upgrades: true,
            cors: Cors::default(),
            allow_request: None,
            max_sessions: 100_000,
            max_queued_packets: 4096,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl EngineConfig {
    /// The HTTP path the engine answers on. Default `/engine.io/`; a trailing `/` is added when missing.
    /// Requests to `path` without the trailing slash are answered too.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.path = path;
        self
    }

    /// How often the server pings each client. Default 25 s. Shorter detects dead peers sooner and
    /// costs one small frame per client per interval.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long the server waits for the pong after a ping before closing with `ping timeout`.
    /// Default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// The largest polling POST body and the largest websocket message accepted, in bytes
    /// (Node's `maxHttpBufferSize`). Default 1 000 000. A larger websocket message closes the
    /// session; a larger polling POST is refused with 413 and the session stays open, as in Node.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// How long a polling session may take to finish an upgrade to websocket once the probe
    /// connection is open. Default 10 s; on expiry the probe is closed and polling continues.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade_timeout = timeout;
        self
    }

    /// The transports accepted. Default: polling and websocket.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Whether polling sessions may upgrade to websocket. Default true.
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.allow_upgrades = allow;
        self
    }

    /// Cross-origin settings. Default: disabled (no CORS headers), like Node.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }

    /// A hook that can refuse handshakes, for example by header; a refusal is answered with
    /// HTTP 403 `{"code":4,"message":...}`. Default: none (everything allowed).
    pub fn allow_request(
        mut self,
        hook: impl Fn(&RequestInfo) -> Result<(), Refusal> + Send + Sync + 'static,
    ) -> Self {
        self.allow_request = Some(Arc::new(hook));
        self
    }

    /// The most sessions open at once; further handshakes get HTTP 503. Default 100 000.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// The most packets queued for one connection and not yet written. Default 4096. A send past the
    /// limit is handed back as [`crate::SendError::Full`]; the caller decides whether to drop it
    /// (volatile) or to close the slow client. Lower bounds memory per slow client; higher rides out
    /// longer stalls.
    pub fn max_queued_packets(mut self, packets: usize) -> Self {
        self.max_queued_packets = packets.max(1);
        self
    }

    /// How long [`crate::Engine::shutdown`] waits for connections to drain their queues.
    /// Default 5 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The configured path, with its trailing slash.
    pub fn get_path(&self) -> &str {
        &self.path
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("max_payload", &self.max_payload)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("cors", &self.cors)
            .field("allow_request", &self.allow_request.is_some())
            .field("max_sessions", &self.max_sessions)
            .field("max_queued_packets", &self.max_queued_packets)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}
