//! The one error type of the Engine.IO codec.
//!
//! Invariant: every malformed input maps to exactly one [`DecodeError`] variant; no decoder panics. The
//! error is `Copy` and carries no heap data, so returning it costs nothing.

use std::fmt;

/// Why an Engine.IO packet, payload or handshake could not be decoded.
///
/// Small, `Copy` and comparable, so callers can match on it and tests can assert it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet (or an element of a polling payload) has no bytes at all, so it has no type.
    Empty,
    /// The first byte is not one of the packet type digits `'0'..='6'` (nor `'b'` for a base64 binary
    /// message). Carries that byte.
    UnknownPacketType(u8),
    /// The text of a packet is not valid UTF-8.
    InvalidUtf8,
    /// A `b`-prefixed binary message does not hold valid standard base64.
    InvalidBase64,
    /// The JSON of an open packet is not a valid handshake object.
    InvalidHandshake,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty engine.io packet"),
            Self::UnknownPacketType(b) if b.is_ascii_graphic() => {
                write!(f, "unknown engine.io packet type '{}'", char::from(*b))
            }
            Self::UnknownPacketType(b) => write!(f, "unknown engine.io packet type byte 0x{b:02x}"),
            Self::InvalidUtf8 => f.write_str("engine.io packet text is not valid UTF-8"),
            Self::InvalidBase64 => f.write_str("engine.io binary message is not valid base64"),
            Self::InvalidHandshake => f.write_str("engine.io open packet is not a valid handshake"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::DecodeError;

    #[test]
    fn display_names_the_problem() {
        assert_eq!(
            DecodeError::UnknownPacketType(b'a').to_string(),
            "unknown engine.io packet type 'a'"
        );
        assert_eq!(
            DecodeError::UnknownPacketType(0xff).to_string(),
            "unknown engine.io packet type byte 0xff"
        );
        for e in [
            DecodeError::Empty,
            DecodeError::InvalidUtf8,
            DecodeError::InvalidBase64,
            DecodeError::InvalidHandshake,
        ] {
            assert!(!e.to_string().is_empty());
        }
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(DecodeError::Empty);
        assert_eq!(boxed.to_string(), "empty engine.io packet");
    }
}
