//! [`MsgpackError`]: why a msgpack packet could not be decoded, or a packet encoded.
//!
//! Invariant: every malformed input maps to one variant; nothing panics. The error is `Copy` and
//! carries no heap data.

use std::fmt;

use crate::socket_io::PacketType;

/// Why a `socket.io-msgpack-parser` packet could not be decoded (or, for the last three variants,
/// why a [`Packet`](crate::socket_io::Packet) could not be encoded).
///
/// Node's parser throws for most of these (its message is given where it has one); the server then
/// closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MsgpackError {
    /// The input ends inside a value, or a length read from it runs past its end.
    Truncated,
    /// Bytes follow the packet's map. Node: "N trailing bytes".
    TrailingBytes,
    /// A byte that starts no msgpack value (`0xc1`). Node: "Could not parse".
    InvalidPrefix(u8),
    /// The data nests containers (extensions, rendered as arrays, included) deeper than
    /// [`MsgpackLimits::max_depth`](super::MsgpackLimits). (Node has no limit.)
    TooDeep {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The data holds more binary values than
    /// [`MsgpackLimits::max_attachments`](super::MsgpackLimits). (Node has no limit.)
    TooManyAttachments {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The packet is not a msgpack map. Node: "invalid packet type".
    NotAMap,
    /// A map key in the data is a container, binary, an extension or a date: JSON has no key for
    /// it. (Node turns it into a string with `String(key)`.)
    InvalidKey,
    /// `type` is missing or not an integer in `0..=4`. Node: "invalid packet type".
    InvalidPacketType,
    /// `nsp` is missing, not a string, does not start with `/`, or holds a `,`. Node: "invalid
    /// namespace" (Node only asks for a string).
    InvalidNamespace,
    /// `nsp` is longer than [`MsgpackLimits::max_namespace_len`](super::MsgpackLimits) bytes.
    NamespaceTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// `id` is present but not an integer in `0..=MAX_ACK_ID`. Node: "invalid packet id" (Node
    /// accepts any integer).
    InvalidAckId,
    /// An ACK has no `id`. (Node accepts it and ignores the packet.)
    MissingAckId,
    /// The data is not what the packet type carries (see the module docs). Carries the type. Node:
    /// "invalid payload".
    InvalidPayload(PacketType),
    /// The event name is one Socket.IO reserves (`"connect"`, ...). (Node's msgpack parser does not
    /// check; its server would then emit a reserved event.)
    ReservedEventName,
    /// The data holds both binary values and a map with `"_placeholder": true`, which would read as
    /// an attachment placeholder. (Node keeps it as a plain object.)
    LiteralPlaceholder,
    /// Encoding: the packet's data is not valid JSON.
    InvalidJson,
    /// Encoding: a placeholder in the data does not name one of the packet's attachments.
    IllegalAttachments,
    /// Encoding: a string, binary, array or map has 2^32 or more bytes or elements. Node: "String
    /// too long" and the like.
    TooLarge,
}

impl fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated msgpack value"),
            Self::TrailingBytes => f.write_str("trailing bytes after the msgpack packet"),
            Self::InvalidPrefix(b) => write!(f, "invalid msgpack byte 0x{b:02x}"),
            Self::TooDeep { max } => write!(f, "msgpack data nested deeper than {max} levels"),
            Self::TooManyAttachments { max } => {
                write!(f, "too many binary values in msgpack data (at most {max})")
            }
            Self::NotAMap => f.write_str("msgpack packet is not a map"),
            Self::InvalidKey => f.write_str("msgpack map key cannot be a JSON key"),
            Self::InvalidPacketType => f.write_str("invalid socket.io packet type"),
            Self::InvalidNamespace => f.write_str("invalid socket.io namespace"),
            Self::NamespaceTooLong { max } => {
                write!(f, "socket.io namespace longer than {max} bytes")
            }
            Self::InvalidAckId => f.write_str("invalid socket.io ack id"),
            Self::MissingAckId => f.write_str("socket.io ack without an ack id"),
            Self::InvalidPayload(t) => write!(f, "invalid socket.io payload for {t:?}"),
            Self::ReservedEventName => f.write_str("reserved socket.io event name"),
            Self::LiteralPlaceholder => {
                f.write_str("msgpack data holds a placeholder object next to binary values")
            }
            Self::InvalidJson => f.write_str("packet data is not valid JSON"),
            Self::IllegalAttachments => f.write_str("placeholder names no attachment"),
            Self::TooLarge => f.write_str("value too large for msgpack"),
        }
    }
}

impl std::error::Error for MsgpackError {}
