//! The server the official engine.io-protocol test suite expects: 127.0.0.1:3000, path
//! `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000, CORS for any origin,
//! and every message echoed back unchanged (text as text, binary as binary).
//!
//! `cargo run --release -p oxio-engine --example engine_conformance`

use std::time::Duration;

use oxio_engine::{Cors, Engine, EngineConfig};

#[path = "shared/echo.rs"]
mod echo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = EngineConfig::default()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::any());
    echo::serve_until_ctrl_c(Engine::new(config, echo::Echo), "127.0.0.1:3000").await
}
