//! Broadcast options (`{rooms, except, flags}`) and fetched sockets on the wire.

use std::time::Duration;

use crate::remote::{BroadcastFlags, BroadcastOptions, SocketInfo};

use super::error::WireError;
use super::fields;
use super::value::Value;

/// Which fields an `opts` object carries, in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptsLayout {
    /// `{rooms, except}`: classic requests other than BROADCAST.
    NoFlags,
    /// `{rooms, except, flags}`: broadcasts and the BROADCAST request.
    Flags,
    /// `{rooms, flags, except}`: what the emitter writes.
    Emitter,
}

/// The wire form of `opts`.
pub(crate) fn opts_value(opts: &BroadcastOptions, layout: OptsLayout) -> Value {
    let rooms = ("rooms".to_owned(), fields::rooms_value(&opts.rooms));
    let except = ("except".to_owned(), fields::rooms_value(&opts.except));
    let flags = ("flags".to_owned(), flags_value(&opts.flags));
    Value::Map(match layout {
        OptsLayout::NoFlags => vec![rooms, except],
        OptsLayout::Flags => vec![rooms, except, flags],
        OptsLayout::Emitter => vec![rooms, flags, except],
    })
}

/// Only the flags that are set: `volatile: true`, `compress`, `timeout` in ms.
fn flags_value(flags: &BroadcastFlags) -> Value {
    let mut entries = Vec::new();
    if flags.volatile {
        entries.push(("volatile".to_owned(), Value::Bool(true)));
    }
    if let Some(compress) = flags.compress {
        entries.push(("compress".to_owned(), Value::Bool(compress)));
    }
    if let Some(timeout) = flags.timeout {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        entries.push(("timeout".to_owned(), Value::from(ms)));
    }
    Value::Map(entries)
}

/// Reads `opts`: a map whose `rooms`, `except` and `flags` may each be missing (then empty).
pub(crate) fn decode_opts(value: &Value) -> Result<BroadcastOptions, WireError> {
    if !matches!(value, Value::Map(_)) {
        return Err(WireError::InvalidField("opts"));
    }
    Ok(BroadcastOptions {
        rooms: fields::rooms(value, "rooms")?,
        except: fields::rooms(value, "except")?,
        flags: value.get("flags").map(decode_flags).unwrap_or_default(),
    })
}

/// The known flags; unknown ones and ones of an unexpected kind are ignored.
fn decode_flags(flags: &Value) -> BroadcastFlags {
    let timeout = flags.get("timeout").and_then(Value::as_f64).and_then(|ms| {
        // A negative delay counts as 0, as in JS timers; +infinity is capped (~31,700 years);
        // NaN and -infinity are no timeout.
        (ms.is_finite() || ms > 0.0).then(|| Duration::from_millis(ms.clamp(0.0, 1e15) as u64))
    });
    BroadcastFlags {
        volatile: flags.get("volatile").is_some_and(Value::truthy),
        compress: match flags.get("compress") {
            None | Some(Value::Nil) => None,
            Some(v) => Some(v.truthy()),
        },
        timeout,
    }
}

/// The wire form of a fetched socket, `{id, handshake, rooms, data}`.
pub(crate) fn socket_value(socket: &SocketInfo) -> Result<Value, WireError> {
    Ok(Value::Map(vec![
        ("id".to_owned(), Value::str(&socket.id)),
        (
            "handshake".to_owned(),
            Value::from_json_value(&socket.handshake)?,
        ),
        ("rooms".to_owned(), fields::rooms_value(&socket.rooms)),
        ("data".to_owned(), Value::from_json_value(&socket.data)?),
    ]))
}

/// Reads a fetched socket; `handshake` and `data` may be missing (`null`), `rooms` too (empty).
pub(crate) fn decode_socket(value: &Value) -> Result<SocketInfo, WireError> {
    if !matches!(value, Value::Map(_)) {
        return Err(WireError::InvalidField("sockets"));
    }
    let json = |key| {
        value
            .get(key)
            .map_or(serde_json::Value::Null, Value::to_json_value)
    };
    Ok(SocketInfo {
        id: fields::string(value, "id")?,
        rooms: fields::rooms(value, "rooms")?,
        data: json("data"),
        handshake: json("handshake"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room_index::Room;

    #[test]
    fn flags_parse_leniently() {
        let v = Value::map([
            (
                "flags",
                Value::map([
                    ("volatile", Value::Int(1)),
                    ("compress", Value::Bool(false)),
                    ("timeout", Value::Float(-5.0)),
                    ("binary", Value::Bool(true)),
                ]),
            ),
            (
                "rooms",
                Value::Array(vec![Value::Int(123), Value::str("r"), Value::Nil]),
            ),
        ]);
        let opts = decode_opts(&v).unwrap();
        assert_eq!(opts.rooms, vec![Room::from("123"), Room::from("r")]);
        assert!(opts.except.is_empty());
        assert!(opts.flags.volatile);
        assert_eq!(opts.flags.compress, Some(false));
        assert_eq!(opts.flags.timeout, Some(Duration::ZERO));
        let huge = Value::map([(
            "flags",
            Value::map([("timeout", Value::Float(f64::INFINITY))]),
        )]);
        assert_eq!(
            decode_opts(&huge).unwrap().flags.timeout,
            Some(Duration::from_millis(1_000_000_000_000_000))
        );
        let nan = Value::map([("flags", Value::map([("timeout", Value::Float(f64::NAN))]))]);
        assert_eq!(decode_opts(&nan).unwrap().flags.timeout, None);
        assert!(decode_opts(&Value::Nil).is_err());
        assert!(decode_opts(&Value::map([("rooms", Value::str("ab"))])).is_err());
    }
}
