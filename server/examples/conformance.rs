//! The server the official socket.io-protocol test suite expects: 127.0.0.1:3000, path
//! `/socket.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000, connectTimeout
//! 1000 ms, CORS for any origin. On connect it emits `auth` with the handshake auth; `message` is
//! answered with `message-back` and the same arguments, `message-with-ack` with an ack carrying the
//! arguments. The `/custom` namespace emits `auth` on connect too.
//!
//! `cargo run --release -p oxio-server --example conformance`

use std::time::Duration;

use oxio_server::{Cors, EngineConfig, Io, IoConfig, Socket};

fn on_connection(socket: Socket) {
    let _ = socket.emit("auth", &socket.handshake().auth);
    socket.on("message", |socket, payload, _ack| {
        let _ = socket.emit_args("message-back", payload.to_args());
    });
    socket.on("message-with-ack", |_socket, payload, ack| {
        if let Some(ack) = ack {
            let _ = ack.send_args(payload.to_args());
        }
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::any());
    let config = IoConfig::default()
        .engine(engine)
        .connect_timeout(Duration::from_millis(1000));
    let io = Io::new(config);
    io.of("/").on_connection(on_connection);
    io.of("/custom").on_connection(on_connection);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("socket.io conformance server on http://127.0.0.1:3000/socket.io/");
    let server = io.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
    });
    io.serve(listener).await
}
