//! The handlers of the bench contract (`shared/bench-contract.md`), on the main namespace:
//!
//! | event from client | server does |
//! |---|---|
//! | connect with auth `{"room": R}` | the socket joins room `R` |
//! | `echo(data, ack)` | `ack(data)`; without an ack: `socket.emit("echo", data)` |
//! | `bcast(data)` | `io.emit("msg", data)` (every socket, the sender included) |
//! | `room(R, data)` | `io.to(R).emit("msg", data)` |
//! | `join(R, ack)` | `socket.join(R)`, then `ack()` |
//!
//! Payloads are forwarded as the raw JSON text the codec sliced out of the packet (binary
//! attachments as they came, `Payload::args_from` for `room`): no JSON tree is built on the hot
//! path. `echo` and `bcast` forward
//! every argument the client sent (the contract's clients send one). Room names are strings;
//! numbers are accepted too, as their decimal text.
//!
//! Shared by the `bench_server` example and its test (`tests/bench_contract.rs`, through `#[path]`).

use oxio_server::{Args, Io, Namespace, Payload, Room, Socket};

/// Installs the contract on the main namespace of `io`.
pub(crate) fn install(io: &Io) {
    let main = io.of("/");
    let handle = main.clone();
    main.on_connection(move |socket| on_connection(&handle, socket));
}

fn on_connection(main: &Namespace, socket: Socket) {
    if let Some(room) = socket.handshake().auth.get("room").and_then(room_name) {
        socket.join([room]);
    }
    socket.on("echo", |socket, payload, ack| match ack {
        Some(ack) => {
            let _ = ack.send_args(Args::from(payload));
        }
        None => {
            let _ = socket.emit_args("echo", Args::from(payload));
        }
    });
    let all = main.clone();
    socket.on("bcast", move |_socket, payload, _ack| {
        let _ = all.emit_args("msg", Args::from(payload));
    });
    let all = main.clone();
    socket.on("room", move |_socket, payload, _ack| {
        let Some(room) = room_arg(&payload, 0) else {
            return;
        };
        let _ = all.to(room).emit_args("msg", payload.args_from(1));
    });
    socket.on("join", |socket, payload, ack| {
        if let Some(room) = room_arg(&payload, 0) {
            socket.join([room]);
        }
        if let Some(ack) = ack {
            let _ = ack.send_args(Args::new());
        }
    });
}

/// A room name: a JSON string, or a number as its text.
fn room_name(value: &serde_json::Value) -> Option<Room> {
    match value {
        serde_json::Value::String(name) => Some(name.as_str().into()),
        serde_json::Value::Number(number) => Some(number.to_string().into()),
        _ => None,
    }
}

/// Argument `index` as a room name, read from its raw JSON text.
fn room_arg(payload: &Payload, index: usize) -> Option<Room> {
    let raw = payload.raw(index)?;
    if let Ok(name) = serde_json::from_str::<&str>(raw) {
        return Some(name.into());
    }
    room_name(&serde_json::from_str(raw).ok()?)
}
