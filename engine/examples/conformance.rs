//! The server the official engine.io-protocol test suite expects: 127.0.0.1:3000, path
//! `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000, CORS for any origin,
//! and every message echoed back unchanged (text as text, binary as binary).
//!
//! `cargo run --release -p oxio-engine --example conformance`

use std::time::Duration;

use oxio_engine::{CloseReason, Cors, Engine, EngineConfig, Frame, Handler, Message, Socket};

struct Echo;

impl Handler for Echo {
    fn on_open(&self, _socket: &Socket) {}

    fn on_message(&self, socket: &Socket, message: Message) {
        let _ = socket.send(Frame::from(message));
    }

    fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
}

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
    let engine = Engine::new(config, Echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("conformance server listening on http://127.0.0.1:3000/engine.io/");
    let shutdown = engine.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.shutdown().await;
    });
    engine.serve(listener).await
}
