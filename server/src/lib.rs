//! The Socket.IO v5 server: namespaces, sockets, events, acks, rooms, broadcasts and middleware,
//! with the behaviour of Node's socket.io 4 on the wire, on top of the `oxio-engine` Engine.IO
//! server and the `oxio-cluster` room index.
//!
//! ```no_run
//! use oxio_server::{Io, IoConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = Io::new(IoConfig::default());
//! let chat = io.clone();
//! io.of("/").on_connection(move |socket| {
//!     let chat = chat.clone();
//!     socket.on("message", move |_socket, payload, _ack| {
//!         let _ = chat.emit_args("message", payload.to_args());
//!     });
//! });
//! io.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?).await
//! # }
//! ```
//!
//! Handlers are plain closures that run on the connection's reader, in packet order: spawn a task
//! for slow work (an [`AckSender`] can move into it).

mod ack;
mod broadcast;
mod client;
mod cluster;
mod connect_deadline;
mod encode;
mod error;
mod handshake;
mod io;
mod namespace;
mod payload;
mod reason;
mod recovery;
mod remote_socket;
mod runtime;
mod server_side;
mod socket;

pub use ack::AckSender;
pub use broadcast::{BroadcastAckError, BroadcastAckTimeout, BroadcastOperator};
pub use encode::Parser;
pub use error::{AckError, ConnectError, EmitError};
pub use handshake::Handshake;
pub use io::{Io, IoConfig};
pub use namespace::{MiddlewareFuture, Namespace};
pub use oxio_cluster::Room;
pub use oxio_cluster::{ClusterError, SocketInfo};
pub use oxio_engine::{Cors, CorsOrigin, EngineConfig, Transports};
pub use payload::{Args, Payload};
pub use reason::DisconnectReason;
pub use recovery::RecoveryConfig;
pub use remote_socket::RemoteSocket;
pub use runtime::runtime;
pub use server_side::{ServerAck, ServerSideEmitError};
pub use socket::Socket;
