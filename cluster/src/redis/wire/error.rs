//! Why a message could not be decoded or encoded.

use std::fmt;

/// Why a message could not be decoded or encoded. Receivers log it and drop the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The input is empty.
    Empty,
    /// The input ends inside a value.
    Truncated,
    /// A complete value is followed by this many bytes.
    TrailingBytes(usize),
    /// A byte that starts no msgpack value (`0xc1`).
    InvalidByte(u8),
    /// Arrays and maps are nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep,
    /// A string, byte string, array or map too long for msgpack (2^32 or more bytes or entries).
    TooLarge,
    /// JSON text that does not parse (the parser's message).
    Json(String),
    /// A message `type` this side does not know. Node ignores such messages; so should the caller.
    UnknownType(i64),
    /// A field the message needs is missing.
    MissingField(&'static str),
    /// A field has a value of the wrong kind.
    InvalidField(&'static str),
}

impl WireError {
    /// Whether the message was well formed but of a type to ignore ([`WireError::UnknownType`]).
    pub fn is_unknown_type(&self) -> bool {
        matches!(self, WireError::UnknownType(_))
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Empty => f.write_str("empty message"),
            WireError::Truncated => f.write_str("message ends inside a value"),
            WireError::TrailingBytes(n) => write!(f, "{n} trailing bytes"),
            WireError::InvalidByte(b) => write!(f, "invalid msgpack byte 0x{b:02x}"),
            WireError::TooDeep => write!(f, "nested deeper than {}", super::MAX_DEPTH),
            WireError::TooLarge => f.write_str("value too large for msgpack"),
            WireError::Json(e) => write!(f, "invalid JSON: {e}"),
            WireError::UnknownType(t) => write!(f, "unknown message type {t}"),
            WireError::MissingField(name) => write!(f, "missing field `{name}`"),
            WireError::InvalidField(name) => write!(f, "invalid field `{name}`"),
        }
    }
}

impl std::error::Error for WireError {}
