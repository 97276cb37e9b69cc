//! The echo handler shared by the examples: every message goes back unchanged.

use oxio_engine::{CloseReason, Frame, Handler, Message, Socket};

/// Sends every message back to its sender, text as text and binary as binary.
pub(crate) struct Echo;

impl Handler for Echo {
    fn on_open(&self, _socket: &Socket) {}

    fn on_message(&self, socket: &Socket, message: Message) {
        let _ = socket.send(Frame::from(message));
    }

    fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
}

/// Serves `engine` on `address` until Ctrl-C, then shuts down gracefully.
pub(crate) async fn serve_until_ctrl_c(
    engine: oxio_engine::Engine,
    address: &str,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!(
        "listening on http://{}{}",
        listener.local_addr()?,
        engine.config().get_path()
    );
    let shutdown = engine.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.shutdown().await;
    });
    engine.serve(listener).await
}
