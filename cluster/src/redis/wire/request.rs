//! Requests of the classic adapter (`K-request#N#`), types 0–7.
//!
//! Decoding takes JSON when the first byte is `{`, msgpack otherwise (BROADCAST comes as msgpack,
//! the rest as JSON, but Node accepts either). Encoding writes JSON for every type but BROADCAST
//! (7), which is msgpack as Node sends it; REMOTE_FETCH and BROADCAST always carry `opts` with
//! `rooms` and `except` arrays (a Node node crashes on one without).

use bytes::Bytes;

use crate::remote::{BroadcastOptions, RemoteData};
use crate::room_index::Room;

use super::error::WireError;
use super::fields::{self, encode_message};
use super::opts::{OptsLayout, decode_opts, opts_value};
use super::value::Value;

/// A classic request.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicRequest {
    /// The requester's node id; emitters send none (and `"emitter"` for SERVER_SIDE_EMIT).
    pub uid: Option<String>,
    /// The request.
    pub kind: RequestKind,
}

/// What a classic request asks, by its `type`.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestKind {
    /// 0, SOCKETS (adapter 6.x/7.x `sockets()`): the ids of the sockets in any of `rooms`.
    Sockets {
        /// The id to answer with.
        request_id: String,
        /// The rooms; every socket when empty.
        rooms: Vec<Room>,
    },
    /// 1, ALL_ROOMS: every local room.
    AllRooms {
        /// The id to answer with.
        request_id: String,
    },
    /// 2, REMOTE_JOIN: sockets join rooms.
    RemoteJoin(MembershipTarget),
    /// 3, REMOTE_LEAVE: sockets leave rooms.
    RemoteLeave(MembershipTarget),
    /// 4, REMOTE_DISCONNECT: sockets are disconnected.
    RemoteDisconnect {
        /// Which sockets.
        target: DisconnectTarget,
        /// Whether their whole connections close too.
        close: bool,
    },
    /// 5, REMOTE_FETCH: describe the selected sockets.
    RemoteFetch {
        /// The id to answer with.
        request_id: String,
        /// Which sockets.
        opts: BroadcastOptions,
    },
    /// 6, SERVER_SIDE_EMIT: fire a server-side event.
    ServerSideEmit {
        /// Present when the sender waits for an ack.
        request_id: Option<String>,
        /// The event, `[event, ...args]`.
        data: RemoteData,
    },
    /// 7, BROADCAST with ack.
    Broadcast {
        /// The id to answer with.
        request_id: String,
        /// `packet.nsp`, when present.
        nsp: Option<String>,
        /// The event, `[event, ...args]`.
        data: RemoteData,
        /// Which sockets, and the flags (`timeout` among them).
        opts: BroadcastOptions,
    },
}

/// Which sockets a REMOTE_JOIN or REMOTE_LEAVE moves.
#[derive(Clone, Debug, PartialEq)]
pub enum MembershipTarget {
    /// The new form (adapter ≥ 6.1, emitters): every node applies it to the sockets `opts` selects
    /// and does not answer.
    Sockets {
        /// Which sockets.
        opts: BroadcastOptions,
        /// The rooms to join or leave.
        rooms: Vec<Room>,
    },
    /// The old form: the node holding `sid` applies it and answers `{requestId}`.
    Socket {
        /// The id to answer with.
        request_id: String,
        /// The socket.
        sid: String,
        /// The room to join or leave.
        room: Room,
    },
}

/// Which sockets a REMOTE_DISCONNECT disconnects.
#[derive(Clone, Debug, PartialEq)]
pub enum DisconnectTarget {
    /// The new form: every node disconnects the sockets `opts` selects and does not answer.
    Sockets {
        /// Which sockets.
        opts: BroadcastOptions,
    },
    /// The old form: the node holding `sid` disconnects it and answers `{requestId}`.
    Socket {
        /// The id to answer with.
        request_id: String,
        /// The socket.
        sid: String,
    },
}

/// Decodes a message of the request channel. An unknown `type` gives
/// [`WireError::UnknownType`], which the caller should ignore as Node does.
pub fn decode_classic_request(input: &[u8]) -> Result<ClassicRequest, WireError> {
    let msg = fields::envelope(input)?;
    if !matches!(msg, Value::Map(_)) {
        return Err(WireError::InvalidField("message"));
    }
    let request_id = || fields::string(&msg, "requestId");
    let kind = match fields::msg_type(&msg)? {
        0 => RequestKind::Sockets {
            request_id: request_id()?,
            rooms: fields::rooms(&msg, "rooms")?,
        },
        1 => RequestKind::AllRooms {
            request_id: request_id()?,
        },
        2 => RequestKind::RemoteJoin(membership(&msg)?),
        3 => RequestKind::RemoteLeave(membership(&msg)?),
        4 => RequestKind::RemoteDisconnect {
            target: match msg.get("opts").filter(|o| o.truthy()) {
                Some(opts) => DisconnectTarget::Sockets {
                    opts: decode_opts(opts)?,
                },
                None => DisconnectTarget::Socket {
                    request_id: request_id()?,
                    sid: fields::string(&msg, "sid")?,
                },
            },
            close: msg.get("close").is_some_and(Value::truthy),
        },
        5 => RequestKind::RemoteFetch {
            request_id: request_id()?,
            opts: decode_opts(fields::field(&msg, "opts")?)?,
        },
        6 => RequestKind::ServerSideEmit {
            request_id: fields::opt_string(&msg, "requestId")?,
            data: {
                let data = fields::field(&msg, "data")?;
                data.as_array().ok_or(WireError::InvalidField("data"))?;
                data.to_remote_data()
            },
        },
        7 => {
            let packet = fields::field(&msg, "packet")?;
            RequestKind::Broadcast {
                request_id: request_id()?,
                nsp: packet.get("nsp").and_then(Value::as_str).map(str::to_owned),
                data: fields::event_packet(packet)?.to_remote_data(),
                opts: decode_opts(fields::field(&msg, "opts")?)?,
            }
        }
        t => return Err(WireError::UnknownType(t)),
    };
    Ok(ClassicRequest {
        uid: fields::opt_string(&msg, "uid")?,
        kind,
    })
}

fn membership(msg: &Value) -> Result<MembershipTarget, WireError> {
    Ok(match msg.get("opts").filter(|o| o.truthy()) {
        Some(opts) => MembershipTarget::Sockets {
            opts: decode_opts(opts)?,
            rooms: fields::rooms(msg, "rooms")?,
        },
        None => MembershipTarget::Socket {
            request_id: fields::string(msg, "requestId")?,
            sid: fields::string(msg, "sid")?,
            room: fields::field(msg, "room")
                .ok()
                .and_then(fields::room)
                .ok_or(WireError::InvalidField("room"))?,
        },
    })
}

/// Encodes a request as Node sends it: msgpack for BROADCAST, JSON for the others.
pub fn encode_classic_request(request: &ClassicRequest) -> Result<Bytes, WireError> {
    let mut msg = Vec::new();
    let mut put = |key: &str, value: Value| msg.push((key.to_owned(), value));
    if let Some(uid) = &request.uid {
        put("uid", Value::str(uid));
    }
    let id = |id: &str| Value::str(id);
    let msgpack = matches!(request.kind, RequestKind::Broadcast { .. });
    match &request.kind {
        RequestKind::Sockets { request_id, rooms } => {
            put("requestId", id(request_id));
            put("type", Value::Int(0));
            put("rooms", fields::rooms_value(rooms));
        }
        RequestKind::AllRooms { request_id } => {
            put("requestId", id(request_id));
            put("type", Value::Int(1));
        }
        RequestKind::RemoteJoin(target) | RequestKind::RemoteLeave(target) => {
            let ty = if matches!(request.kind, RequestKind::RemoteJoin(_)) {
                2
            } else {
                3
            };
            match target {
                MembershipTarget::Sockets { opts, rooms } => {
                    put("type", Value::Int(ty));
                    put("opts", opts_value(opts, OptsLayout::NoFlags));
                    put("rooms", fields::rooms_value(rooms));
                }
                MembershipTarget::Socket {
                    request_id,
                    sid,
                    room,
                } => {
                    put("requestId", id(request_id));
                    put("type", Value::Int(ty));
                    put("sid", Value::str(sid));
                    put("room", Value::str(&**room));
                }
            }
        }
        RequestKind::RemoteDisconnect { target, close } => {
            match target {
                DisconnectTarget::Sockets { opts } => {
                    put("type", Value::Int(4));
                    put("opts", opts_value(opts, OptsLayout::NoFlags));
                }
                DisconnectTarget::Socket { request_id, sid } => {
                    put("requestId", id(request_id));
                    put("type", Value::Int(4));
                    put("sid", Value::str(sid));
                }
            }
            put("close", Value::Bool(*close));
        }
        RequestKind::RemoteFetch { request_id, opts } => {
            put("requestId", id(request_id));
            put("type", Value::Int(5));
            put("opts", opts_value(opts, OptsLayout::NoFlags));
        }
        RequestKind::ServerSideEmit { request_id, data } => {
            if let Some(request_id) = request_id {
                put("requestId", id(request_id));
            }
            put("type", Value::Int(6));
            put("data", Value::from_remote_data(data)?);
        }
        RequestKind::Broadcast {
            request_id,
            nsp,
            data,
            opts,
        } => {
            put("requestId", id(request_id));
            put("type", Value::Int(7));
            let mut packet = vec![
                ("type".to_owned(), Value::Int(2)),
                ("data".to_owned(), Value::from_remote_data(data)?),
            ];
            if let Some(nsp) = nsp {
                packet.push(("nsp".to_owned(), Value::str(nsp)));
            }
            put("packet", Value::Map(packet));
            put("opts", opts_value(opts, OptsLayout::Flags));
        }
    }
    encode_message(&Value::Map(msg), msgpack)
}
