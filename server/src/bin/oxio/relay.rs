//! The relay: what the gateway does with the events of its clients (see `--help`).
//!
//! - any event but `join`, `leave` and `to`: sent to every other socket of the namespace;
//! - `join(room[, ack])`, `leave(room[, ack])`: room membership;
//! - `to(room, event, ...args[, ack])`: `event(...args)` to the sockets in `room`, the sender excluded.

use oxio_server::{AckSender, Args, Io, Payload, Socket};
use serde_json::value::RawValue;

/// Events the relay handles itself instead of relaying them.
const COMMANDS: [&str; 3] = ["join", "leave", "to"];

/// Installs the relay on the main namespace and on every other namespace a client asks for.
pub(crate) fn install(io: &Io) {
    io.of("/").on_connection(on_connection);
    io.of_dynamic("any namespace", |_| true)
        .on_connection(on_connection);
}

fn on_connection(socket: Socket) {
    tracing::debug!(
        namespace = socket.namespace_name(),
        id = socket.id(),
        "connected"
    );
    socket.on_disconnect(|socket, reason| {
        tracing::debug!(namespace = socket.namespace_name(), id = socket.id(), %reason, "disconnected");
    });
    socket.on_any(|socket, event, payload| {
        if !COMMANDS.contains(&event) {
            // A reserved event name (`disconnect`, ...) cannot be emitted: it is dropped.
            let _ = socket.broadcast().emit_args(event, payload.to_args());
        }
    });
    socket.on("join", |socket, payload, ack| {
        let outcome = room_arg(&payload, 0).and_then(|room| {
            // Joining another socket's id room would let a client read that socket's messages.
            // Names shaped like socket ids are refused whole: the socket may be on another node.
            if room != socket.id() && looks_like_socket_id(&room) {
                return Err("cannot join the room of another socket".into());
            }
            socket.join([room]);
            Ok(())
        });
        answer(ack, outcome);
    });
    socket.on("leave", |socket, payload, ack| {
        let outcome = room_arg(&payload, 0).map(|room| socket.leave(&room));
        answer(ack, outcome);
    });
    socket.on("to", |socket, payload, ack| {
        let outcome = room_arg(&payload, 0).and_then(|room| {
            let event = payload
                .get::<String>(1)
                .map_err(|_| "to(room, event, ...args): `event` must be a string".to_owned())?;
            let args = args_from(&payload, 2)?;
            socket
                .to(room)
                .emit_args(&event, args)
                .map_err(|error| error.to_string())
        });
        answer(ack, outcome);
    });
}

/// Whether `room` has the shape of a socket id (20 URL-safe base64 characters), on any node.
fn looks_like_socket_id(room: &str) -> bool {
    room.len() == 20
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Answers a command's ack: no argument on success, the error message on failure.
fn answer(ack: Option<AckSender>, outcome: Result<(), String>) {
    let Some(ack) = ack else {
        return;
    };
    let _ = match outcome {
        Ok(()) => ack.send_args(Args::new()),
        Err(message) => ack.send(&message),
    };
}

/// Argument `index` as a room name (a string).
fn room_arg(payload: &Payload, index: usize) -> Result<String, String> {
    payload
        .get::<String>(index)
        .map_err(|_| "the room name must be a string".to_owned())
}

/// Arguments `skip..` of `payload`, to emit them again: JSON arguments as their raw text (checked,
/// not parsed into a tree), top-level binary arguments as binary. Binary nested inside a JSON
/// argument is refused: `Args` cannot carry those attachments without the arguments before them.
fn args_from(payload: &Payload, skip: usize) -> Result<Args, String> {
    let mut args = Args::new();
    for index in skip..payload.len() {
        if let Some(bytes) = payload.binary(index) {
            args = args.binary(bytes.clone());
            continue;
        }
        let raw = payload.raw(index).unwrap_or("null");
        if !payload.attachments().is_empty() && raw.contains("\"_placeholder\"") {
            return Err(
                "binary nested inside an argument cannot be relayed by `to`; \
                        send it as an argument of its own"
                    .into(),
            );
        }
        let raw = serde_json::from_str::<&RawValue>(raw).map_err(|error| error.to_string())?;
        args = args.arg(raw);
    }
    Ok(args)
}
