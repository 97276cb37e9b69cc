//! An Engine.IO v4 server on tokio and hyper 1, with its own websocket framing.
//!
//! The engine speaks HTTP long-polling and websocket, upgrades polling sessions to websocket, keeps
//! the heartbeat, and hands the application whole messages through a [`Handler`]. It can listen on
//! its own ([`Engine::serve`]) or be mounted into another hyper service ([`Engine::handle`]).
//!
//! ```no_run
//! use oxio_engine::{CloseReason, Engine, EngineConfig, Frame, Handler, Message, Socket};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_open(&self, _socket: &Socket) {}
//!     fn on_message(&self, socket: &Socket, message: Message) {
//!         let _ = socket.send(Frame::from(message));
//!     }
//!     fn on_close(&self, _socket: &Socket, _reason: CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Engine::new(EngineConfig::default(), Echo);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! engine.serve(listener).await
//! # }
//! ```
//!
//! Behaviour follows Node's engine.io 6: the same HTTP errors (`400 {"code":N,"message":...}`,
//! `403` from the allow-request hook), the same close reasons, the same upgrade dance.

mod config;
mod direct;
mod engine;
mod frame;
mod polling;
mod request;
mod response;
mod session;
mod sid;
mod socket;
mod timers;
mod websocket;
mod writer_wake;
mod ws_stream;

pub use config::{AllowRequest, Cors, CorsOrigin, EngineConfig, Refusal, Transports};
pub use engine::Engine;
pub use frame::Frame;
pub use oxio_protocol::engine_io::{Message, Utf8Bytes};
pub use request::{EngineQuery, RequestInfo, TransportKind, query_param};
pub use response::ResponseBody;
pub use socket::{CloseReason, Handler, SendError, Socket, WriteHold};
