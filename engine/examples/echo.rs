//! An Engine.IO echo server with the default options (pingInterval 25 s, pingTimeout 20 s,
//! maxPayload 1 MB), CORS for any origin, on `127.0.0.1:$PORT` (default 3000).
//!
//! `PORT=3000 cargo run --release -p oxio-engine --example echo`

use oxio_engine::{Cors, Engine, EngineConfig};

#[path = "shared/echo.rs"]
mod echo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let engine = Engine::new(EngineConfig::default().cors(Cors::any()), echo::Echo);
    echo::serve_until_ctrl_c(engine, &format!("127.0.0.1:{port}")).await
}
