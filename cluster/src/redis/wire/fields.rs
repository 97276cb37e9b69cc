//! Reading the fields of a decoded message, leniently where Node is lenient.

use crate::room_index::Room;

use super::error::WireError;
use super::value::Value;
use super::{json, notepack};

/// A request, response or sharded message: JSON when the first byte is `{`, msgpack otherwise.
pub(crate) fn envelope(input: &[u8]) -> Result<Value, WireError> {
    match input.first() {
        None => Err(WireError::Empty),
        Some(b'{') => json::parse(input),
        Some(_) => notepack::decode(input),
    }
}

/// The numeric `type` field.
pub(crate) fn msg_type(msg: &Value) -> Result<i64, WireError> {
    match msg.get("type") {
        None | Some(Value::Nil) => Err(WireError::MissingField("type")),
        Some(t) => t.as_i64().ok_or(WireError::InvalidField("type")),
    }
}

/// An optional string field (an id): a string, or a number written as JS would. `null` is absent.
pub(crate) fn opt_string(msg: &Value, key: &'static str) -> Result<Option<String>, WireError> {
    match msg.get(key) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(n @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => Ok(Some(n.to_js_string())),
        Some(_) => Err(WireError::InvalidField(key)),
    }
}

/// A required string field.
pub(crate) fn string(msg: &Value, key: &'static str) -> Result<String, WireError> {
    opt_string(msg, key)?.ok_or(WireError::MissingField(key))
}

/// A room name: a string, or a number turned into its decimal text (JS allows numeric rooms).
pub(crate) fn room(value: &Value) -> Option<Room> {
    match value {
        Value::Str(s) => Some(Room::from(s.as_str())),
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => Some(Room::from(value.to_js_string())),
        _ => None,
    }
}

/// A list of rooms; a missing or `null` list is empty, entries that are no room name are skipped.
pub(crate) fn rooms(msg: &Value, key: &'static str) -> Result<Vec<Room>, WireError> {
    match msg.get(key) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.iter().filter_map(room).collect()),
        Some(_) => Err(WireError::InvalidField(key)),
    }
}

/// Room names as a wire array of strings.
pub(crate) fn rooms_value(rooms: &[Room]) -> Value {
    Value::Array(rooms.iter().map(|r| Value::str(&**r)).collect())
}

/// A required field of any kind.
pub(crate) fn field<'a>(msg: &'a Value, key: &'static str) -> Result<&'a Value, WireError> {
    msg.get(key).ok_or(WireError::MissingField(key))
}

/// A required array field.
pub(crate) fn array<'a>(msg: &'a Value, key: &'static str) -> Result<&'a [Value], WireError> {
    field(msg, key)?
        .as_array()
        .ok_or(WireError::InvalidField(key))
}

/// A non-negative count (JS numbers beyond `u64` saturate; negative or fractional ones are invalid).
pub(crate) fn count(msg: &Value, key: &'static str) -> Result<u64, WireError> {
    match field(msg, key)? {
        Value::UInt(n) => Ok(*n),
        v => v
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or(WireError::InvalidField(key)),
    }
}

/// The `[event, ...args]` array of a Socket.IO packet object (`{type: 2|5, data, nsp?}`).
pub(crate) fn event_packet(packet: &Value) -> Result<&Value, WireError> {
    if !matches!(packet, Value::Map(_)) {
        return Err(WireError::InvalidField("packet"));
    }
    match msg_type(packet)? {
        2 | 5 => {}
        _ => return Err(WireError::InvalidField("packet.type")),
    }
    let data = field(packet, "data")?;
    if data.as_array().is_none() {
        return Err(WireError::InvalidField("data"));
    }
    Ok(data)
}

/// Encodes a message map: msgpack bytes when `msgpack`, otherwise its `JSON.stringify` text.
pub(crate) fn encode_message(msg: &Value, msgpack: bool) -> Result<bytes::Bytes, WireError> {
    if msg.depth_exceeds(super::MAX_DEPTH) {
        return Err(WireError::TooDeep);
    }
    if msgpack {
        let mut out = bytes::BytesMut::new();
        notepack::encode(msg, &mut out)?;
        Ok(out.freeze())
    } else {
        Ok(bytes::Bytes::from(msg.to_json_text()))
    }
}
