//! The bench contract (`shared/bench-contract.md`) on socketioxide, served by plain hyper.
//!
//! ```text
//! PORT=3000 taskset -c 0 target/release/socketioxide-bench-server
//! ```
//!
//! Default namespace, default path and settings (socketioxide has no per-message deflate). The payloads
//! are `serde_json::Value`, as an application that does not know their shape would use. No cluster:
//! `REDIS_URL` is refused rather than ignored.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{FromMessageParts, Value as Packet};
use socketioxide::socket::Socket;

/// Whether the client asked for an ack (`AckSender` does not tell).
struct AckId(Option<i64>);

impl<A: Adapter> FromMessageParts<A> for AckId {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut Packet,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(AckId(*ack_id))
    }
}

fn on_connect(socket: SocketRef, Data(auth): Data<Value>) {
    if let Some(room) = auth.get("room") {
        let room = match room {
            Value::String(room) => room.clone(),
            other => other.to_string(),
        };
        socket.join(room);
    }
    socket.on(
        "echo",
        async |s: SocketRef, Data::<Value>(data), AckId(id), ack: AckSender| {
            if id.is_some() {
                ack.send(&data).ok();
            } else {
                s.emit("echo", &data).ok();
            }
        },
    );
    socket.on("bcast", async |io: SocketIo, Data::<Value>(data)| {
        io.emit("msg", &data).await.ok();
    });
    socket.on(
        "room",
        async |io: SocketIo, Data::<(String, Value)>((room, data))| {
            io.to(room).emit("msg", &data).await.ok();
        },
    );
    socket.on(
        "join",
        async |s: SocketRef, Data::<String>(room), ack: AckSender| {
            s.join(room);
            ack.send(&()).ok();
        },
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("REDIS_URL").is_some() {
        return Err("this peer has no cluster support".into());
    }
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let (svc, io) = SocketIo::new_svc();
    io.ns("/", async |s: SocketRef, auth: Data<Value>| {
        on_connect(s, auth)
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("socketioxide on 127.0.0.1:{port}");
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true).ok();
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
