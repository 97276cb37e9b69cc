//! Responses of the classic adapter (`K-response#N#` and `K-response#N#U#`).
//!
//! Responses to SOCKETS, ALL_ROOMS and REMOTE_FETCH carry no `type`: the body is recognised by its
//! content (`sockets` of strings or of objects, `rooms`), and the requester, which knows what it
//! asked by the `requestId`, takes what it expects. An **empty** `sockets` list decodes as
//! [`ResponseBody::Sockets`] with no entries; a SOCKETS requester takes it as no ids.
//!
//! Encoding writes JSON, except BROADCAST_ACK (type 9), which Node sends as msgpack.

use bytes::Bytes;

use crate::remote::{RemoteData, SocketInfo};
use crate::room_index::Room;

use super::error::WireError;
use super::fields::{self, encode_message};
use super::opts::{decode_socket, socket_value};
use super::value::Value;

/// A classic response: matched to its request by `request_id` alone.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicResponse {
    /// The id of the request it answers.
    pub request_id: String,
    /// The answer.
    pub body: ResponseBody,
}

/// What a response carries.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseBody {
    /// To SOCKETS: socket ids.
    SocketIds(Vec<String>),
    /// To REMOTE_FETCH: the selected sockets (entries without an `id` are skipped).
    Sockets(Vec<SocketInfo>),
    /// To ALL_ROOMS: every room of the node.
    Rooms(Vec<Room>),
    /// Type 6: the first argument of a server-side event's ack.
    ServerSideEmitAck(RemoteData),
    /// Type 8: how many clients a broadcast with ack reached on the node.
    BroadcastClientCount(u64),
    /// Type 9: the first argument of one client's ack.
    BroadcastAck(RemoteData),
    /// A bare `{requestId}`: an old-form join, leave or disconnect was applied.
    Done,
}

/// Decodes a message of a response channel (JSON when the first byte is `{`, msgpack otherwise).
pub fn decode_classic_response(input: &[u8]) -> Result<ClassicResponse, WireError> {
    let msg = fields::envelope(input)?;
    if !matches!(msg, Value::Map(_)) {
        return Err(WireError::InvalidField("message"));
    }
    let request_id = fields::string(&msg, "requestId")?;
    let data = |key| {
        msg.get(key)
            .map_or_else(RemoteData::null, Value::to_remote_data)
    };
    let body = match msg.get("type") {
        None | Some(Value::Nil) => untyped(&msg)?,
        Some(_) => match fields::msg_type(&msg)? {
            6 => ResponseBody::ServerSideEmitAck(data("data")),
            8 => ResponseBody::BroadcastClientCount(fields::count(&msg, "clientCount")?),
            9 => ResponseBody::BroadcastAck(data("packet")),
            t => return Err(WireError::UnknownType(t)),
        },
    };
    Ok(ClassicResponse { request_id, body })
}

fn untyped(msg: &Value) -> Result<ResponseBody, WireError> {
    if let Some(sockets) = msg.get("sockets") {
        let sockets = sockets
            .as_array()
            .ok_or(WireError::InvalidField("sockets"))?;
        if sockets.iter().any(|s| matches!(s, Value::Str(_))) {
            let ids = sockets.iter().filter_map(Value::as_str).map(str::to_owned);
            return Ok(ResponseBody::SocketIds(ids.collect()));
        }
        let sockets = sockets.iter().filter_map(|s| decode_socket(s).ok());
        return Ok(ResponseBody::Sockets(sockets.collect()));
    }
    if msg.get("rooms").is_some() {
        return Ok(ResponseBody::Rooms(fields::rooms(msg, "rooms")?));
    }
    Ok(ResponseBody::Done)
}

/// Encodes a response as Node sends it: JSON, or msgpack for a BROADCAST_ACK.
pub fn encode_classic_response(response: &ClassicResponse) -> Result<Bytes, WireError> {
    let id = ("requestId".to_owned(), Value::str(&response.request_id));
    let typed = |ty: i64, key: &str, value: Value| {
        Value::Map(vec![
            ("type".to_owned(), Value::Int(ty)),
            id.clone(),
            (key.to_owned(), value),
        ])
    };
    let untyped = |key: &str, value: Value| Value::Map(vec![id.clone(), (key.to_owned(), value)]);
    let msg = match &response.body {
        ResponseBody::SocketIds(ids) => untyped(
            "sockets",
            Value::Array(ids.iter().map(Value::str).collect()),
        ),
        ResponseBody::Sockets(sockets) => untyped(
            "sockets",
            Value::Array(sockets.iter().map(socket_value).collect::<Result<_, _>>()?),
        ),
        ResponseBody::Rooms(rooms) => untyped("rooms", fields::rooms_value(rooms)),
        ResponseBody::ServerSideEmitAck(data) => typed(6, "data", Value::from_remote_data(data)?),
        ResponseBody::BroadcastClientCount(n) => typed(8, "clientCount", Value::from(*n)),
        ResponseBody::BroadcastAck(data) => typed(9, "packet", Value::from_remote_data(data)?),
        ResponseBody::Done => Value::Map(vec![id.clone()]),
    };
    let msgpack = matches!(response.body, ResponseBody::BroadcastAck(_));
    encode_message(&msg, msgpack)
}
