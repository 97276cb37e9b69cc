//! Broadcasts of the classic adapter (`K#N#` and `K#N#R#` channels): `[uid, packet, opts]`.
//!
//! Accepted: a msgpack 3-array, the same as JSON text (first byte `[`, a JSON `parser`), and the
//! legacy 2-array `[packet, opts]` of emitters 0.x (no uid). The packet's type may be 2 (EVENT) or 5
//! (BINARY_EVENT of 1.x/2.x senders); whether it is binary is read from its data, never its type.
//! Written: always the msgpack 3-array with an `opts` map holding `rooms` and `except` arrays, the
//! one form every Node version reads.

use bytes::Bytes;

use crate::remote::{BroadcastOptions, RemoteData};

use super::error::WireError;
use super::fields::{self, encode_message};
use super::opts::{OptsLayout, decode_opts, opts_value};
use super::value::Value;
use super::{json, notepack};

/// A decoded classic broadcast.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicBroadcast {
    /// The sender's node id (`"emitter"` for emitters); `None` for the legacy 2-array.
    pub uid: Option<String>,
    /// `packet.nsp`, when present (a receiver takes a missing one as `/`).
    pub nsp: Option<String>,
    /// The event: the array `[event, ...args]`.
    pub data: RemoteData,
    /// Which sockets receive it, and how.
    pub opts: BroadcastOptions,
}

/// Decodes a message of a broadcast channel.
pub fn decode_classic_broadcast(input: &[u8]) -> Result<ClassicBroadcast, WireError> {
    let msg = match input.first() {
        None => return Err(WireError::Empty),
        Some(b'[') => json::parse(input)?,
        Some(_) => notepack::decode(input)?,
    };
    let (uid, packet, opts) = match msg.as_array() {
        Some([uid, packet, opts]) => (Some(uid), packet, opts),
        Some([packet, opts]) => (None, packet, opts),
        _ => return Err(WireError::InvalidField("message")),
    };
    let uid = match uid {
        None | Some(Value::Nil) => None,
        Some(Value::Str(s)) => Some(s.clone()),
        Some(n @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => Some(n.to_js_string()),
        Some(_) => return Err(WireError::InvalidField("uid")),
    };
    let data = fields::event_packet(packet)?.to_remote_data();
    let nsp = packet.get("nsp").and_then(Value::as_str).map(str::to_owned);
    Ok(ClassicBroadcast {
        uid,
        nsp,
        data,
        opts: decode_opts(opts)?,
    })
}

/// Encodes a broadcast of `data` (`[event, ...args]`) from node `uid` in namespace `nsp`:
/// `[uid, {type: 2, data, nsp}, {rooms, except, flags}]` in msgpack.
pub fn encode_classic_broadcast(
    uid: &str,
    nsp: &str,
    data: &RemoteData,
    opts: &BroadcastOptions,
) -> Result<Bytes, WireError> {
    broadcast_bytes(
        uid,
        nsp,
        Value::from_remote_data(data)?,
        opts,
        OptsLayout::Flags,
    )
}

/// The broadcast message with `opts` laid out as `layout` says (the emitter orders it differently).
pub(crate) fn broadcast_bytes(
    uid: &str,
    nsp: &str,
    data: Value,
    opts: &BroadcastOptions,
    layout: OptsLayout,
) -> Result<Bytes, WireError> {
    let packet = Value::Map(vec![
        ("type".to_owned(), Value::Int(2)),
        ("data".to_owned(), data),
        ("nsp".to_owned(), Value::str(nsp)),
    ]);
    let msg = Value::Array(vec![Value::str(uid), packet, opts_value(opts, layout)]);
    encode_message(&msg, true)
}
