//! The sharded adapter's envelope (socket.io-adapter's `ClusterAdapter`): `{type, data?, uid, nsp}`.
//!
//! Decoding takes JSON when the first byte is `{`, msgpack otherwise. Encoding writes msgpack iff
//! the type can carry binary (3, 8, 9, 10, 12) and its data really holds a binary value, otherwise
//! the `JSON.stringify` text, keys in Node's order (`type`, `data`, `uid`, `nsp`). A broadcast's
//! `packet` carries no `nsp`.

use bytes::Bytes;

use crate::remote::{BroadcastOptions, RemoteData, SocketInfo};
use crate::room_index::Room;

use super::error::WireError;
use super::fields::{self, encode_message};
use super::opts::{OptsLayout, decode_opts, decode_socket, opts_value, socket_value};
use super::value::Value;

/// A message of the sharded adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterMessage {
    /// The sender's node id (16 hex characters; empty when the sender gave none).
    pub uid: String,
    /// The namespace, when present.
    pub nsp: Option<String>,
    /// The message.
    pub body: ClusterBody,
}

/// What a sharded message carries, by its `type` (Node's `MessageType`).
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterBody {
    /// 1, INITIAL_HEARTBEAT (heartbeat variant only).
    InitialHeartbeat,
    /// 2, HEARTBEAT.
    Heartbeat,
    /// 3, BROADCAST; with a `request_id`, a broadcast with ack.
    Broadcast {
        /// The event, `[event, ...args]`.
        data: RemoteData,
        /// Which sockets, and how.
        opts: BroadcastOptions,
        /// Present for a broadcast with ack.
        request_id: Option<String>,
    },
    /// 4, SOCKETS_JOIN.
    SocketsJoin {
        /// Which sockets.
        opts: BroadcastOptions,
        /// The rooms to join.
        rooms: Vec<Room>,
    },
    /// 5, SOCKETS_LEAVE.
    SocketsLeave {
        /// Which sockets.
        opts: BroadcastOptions,
        /// The rooms to leave.
        rooms: Vec<Room>,
    },
    /// 6, DISCONNECT_SOCKETS.
    DisconnectSockets {
        /// Which sockets.
        opts: BroadcastOptions,
        /// Whether their whole connections close too.
        close: bool,
    },
    /// 7, FETCH_SOCKETS.
    FetchSockets {
        /// Which sockets.
        opts: BroadcastOptions,
        /// The id to answer with.
        request_id: String,
    },
    /// 8, FETCH_SOCKETS_RESPONSE.
    FetchSocketsResponse {
        /// The request answered.
        request_id: String,
        /// The selected sockets (entries without an `id` are skipped).
        sockets: Vec<SocketInfo>,
    },
    /// 9, SERVER_SIDE_EMIT.
    ServerSideEmit {
        /// The event, `[event, ...args]`.
        data: RemoteData,
        /// Present when the sender waits for an ack.
        request_id: Option<String>,
    },
    /// 10, SERVER_SIDE_EMIT_RESPONSE.
    ServerSideEmitResponse {
        /// The request answered.
        request_id: String,
        /// The first argument of the handler's ack.
        data: RemoteData,
    },
    /// 11, BROADCAST_CLIENT_COUNT.
    BroadcastClientCount {
        /// The request answered.
        request_id: String,
        /// How many clients the broadcast reached on the node.
        client_count: u64,
    },
    /// 12, BROADCAST_ACK.
    BroadcastAck {
        /// The request answered.
        request_id: String,
        /// The first argument of one client's ack.
        data: RemoteData,
    },
    /// 13, ADAPTER_CLOSE (heartbeat variant only).
    AdapterClose,
}

/// Decodes a sharded message. An unknown `type` gives [`WireError::UnknownType`], to be ignored.
pub fn decode_cluster_message(input: &[u8]) -> Result<ClusterMessage, WireError> {
    let msg = fields::envelope(input)?;
    if !matches!(msg, Value::Map(_)) {
        return Err(WireError::InvalidField("message"));
    }
    let ty = fields::msg_type(&msg)?;
    let data = || -> Result<&Value, WireError> {
        let data = fields::field(&msg, "data")?;
        match data {
            Value::Map(_) => Ok(data),
            _ => Err(WireError::InvalidField("data")),
        }
    };
    let id = |d: &Value| fields::string(d, "requestId");
    let opt_id = |d: &Value| fields::opt_string(d, "requestId");
    let opts = |d: &Value| decode_opts(fields::field(d, "opts")?);
    let packet = |d: &Value| {
        d.get("packet")
            .map_or_else(RemoteData::null, Value::to_remote_data)
    };
    let body = match ty {
        1 => ClusterBody::InitialHeartbeat,
        2 => ClusterBody::Heartbeat,
        13 => ClusterBody::AdapterClose,
        3 => {
            let d = data()?;
            ClusterBody::Broadcast {
                data: fields::event_packet(fields::field(d, "packet")?)?.to_remote_data(),
                opts: opts(d)?,
                request_id: opt_id(d)?,
            }
        }
        4 | 5 => {
            let d = data()?;
            let (opts, rooms) = (opts(d)?, fields::rooms(d, "rooms")?);
            if ty == 4 {
                ClusterBody::SocketsJoin { opts, rooms }
            } else {
                ClusterBody::SocketsLeave { opts, rooms }
            }
        }
        6 => {
            let d = data()?;
            ClusterBody::DisconnectSockets {
                opts: opts(d)?,
                close: d.get("close").is_some_and(Value::truthy),
            }
        }
        7 => {
            let d = data()?;
            ClusterBody::FetchSockets {
                opts: opts(d)?,
                request_id: id(d)?,
            }
        }
        8 => {
            let d = data()?;
            let sockets = fields::array(d, "sockets")?;
            ClusterBody::FetchSocketsResponse {
                request_id: id(d)?,
                sockets: sockets
                    .iter()
                    .filter_map(|s| decode_socket(s).ok())
                    .collect(),
            }
        }
        9 => {
            let d = data()?;
            let event = fields::field(d, "packet")?;
            event.as_array().ok_or(WireError::InvalidField("packet"))?;
            ClusterBody::ServerSideEmit {
                data: event.to_remote_data(),
                request_id: opt_id(d)?,
            }
        }
        10 | 12 => {
            let d = data()?;
            let (request_id, data) = (id(d)?, packet(d));
            if ty == 10 {
                ClusterBody::ServerSideEmitResponse { request_id, data }
            } else {
                ClusterBody::BroadcastAck { request_id, data }
            }
        }
        11 => {
            let d = data()?;
            ClusterBody::BroadcastClientCount {
                request_id: id(d)?,
                client_count: fields::count(d, "clientCount")?,
            }
        }
        t => return Err(WireError::UnknownType(t)),
    };
    Ok(ClusterMessage {
        uid: fields::opt_string(&msg, "uid")?.unwrap_or_default(),
        nsp: msg.get("nsp").and_then(Value::as_str).map(str::to_owned),
        body,
    })
}

/// Encodes a sharded message as Node does (msgpack only when binary data requires it).
pub fn encode_cluster_message(message: &ClusterMessage) -> Result<Bytes, WireError> {
    let (ty, data) = body_value(&message.body)?;
    let msgpack =
        matches!(ty, 3 | 8 | 9 | 10 | 12) && data.as_ref().is_some_and(Value::contains_bin);
    let mut msg = vec![("type".to_owned(), Value::Int(ty))];
    if let Some(data) = data {
        msg.push(("data".to_owned(), data));
    }
    msg.push(("uid".to_owned(), Value::str(&message.uid)));
    if let Some(nsp) = &message.nsp {
        msg.push(("nsp".to_owned(), Value::str(nsp)));
    }
    encode_message(&Value::Map(msg), msgpack)
}

/// The type number and the `data` object of a body.
fn body_value(body: &ClusterBody) -> Result<(i64, Option<Value>), WireError> {
    let entry = |key: &str, value: Value| (key.to_owned(), value);
    let id = |id: &str| entry("requestId", Value::str(id));
    let opts = |opts| entry("opts", opts_value(opts, OptsLayout::Flags));
    let data = |data: &RemoteData| Value::from_remote_data(data);
    let (ty, entries) = match body {
        ClusterBody::InitialHeartbeat => return Ok((1, None)),
        ClusterBody::Heartbeat => return Ok((2, None)),
        ClusterBody::AdapterClose => return Ok((13, None)),
        ClusterBody::Broadcast {
            data: event,
            opts: o,
            request_id,
        } => {
            let packet = Value::map([("type", Value::Int(2)), ("data", data(event)?)]);
            let mut entries = vec![entry("packet", packet)];
            entries.extend(request_id.as_deref().map(id));
            entries.push(opts(o));
            (3, entries)
        }
        ClusterBody::SocketsJoin { opts: o, rooms } => {
            (4, vec![opts(o), entry("rooms", fields::rooms_value(rooms))])
        }
        ClusterBody::SocketsLeave { opts: o, rooms } => {
            (5, vec![opts(o), entry("rooms", fields::rooms_value(rooms))])
        }
        ClusterBody::DisconnectSockets { opts: o, close } => {
            (6, vec![opts(o), entry("close", Value::Bool(*close))])
        }
        ClusterBody::FetchSockets {
            opts: o,
            request_id,
        } => (7, vec![opts(o), id(request_id)]),
        ClusterBody::FetchSocketsResponse {
            request_id,
            sockets,
        } => {
            let sockets = sockets.iter().map(socket_value).collect::<Result<_, _>>()?;
            (
                8,
                vec![id(request_id), entry("sockets", Value::Array(sockets))],
            )
        }
        ClusterBody::ServerSideEmit {
            data: event,
            request_id,
        } => {
            let mut entries: Vec<_> = request_id.as_deref().map(id).into_iter().collect();
            entries.push(entry("packet", data(event)?));
            (9, entries)
        }
        ClusterBody::ServerSideEmitResponse {
            request_id,
            data: arg,
        } => (10, vec![id(request_id), entry("packet", data(arg)?)]),
        ClusterBody::BroadcastClientCount {
            request_id,
            client_count,
        } => (
            11,
            vec![
                id(request_id),
                entry("clientCount", Value::from(*client_count)),
            ],
        ),
        ClusterBody::BroadcastAck {
            request_id,
            data: arg,
        } => (12, vec![id(request_id), entry("packet", data(arg)?)]),
    };
    Ok((ty, Some(Value::Map(entries))))
}
