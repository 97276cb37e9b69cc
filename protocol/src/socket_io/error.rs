//! The one error type of the Socket.IO codec.
//!
//! Invariant: every malformed input maps to one [`DecodeError`] variant; no decoder panics. The error
//! is `Copy` and carries no heap data (not even the JSON parser's message), so returning it is free.

use std::fmt;

use super::PacketType;

/// Why a Socket.IO packet (or an attachment of one) could not be decoded.
///
/// Node's `socket.io-parser` throws an `Error` for each of these; the server then closes the
/// connection. The Node message is given in each variant's docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is empty, so it has no packet type. (Node reads `""` as a CONNECT to `/`.)
    Empty,
    /// The first byte is not a packet type digit `'0'..='6'`. Carries that byte. Node: "unknown
    /// packet type".
    UnknownPacketType(u8),
    /// A BINARY_EVENT/BINARY_ACK whose attachment count is missing, is not ASCII decimal digits, is
    /// zero, or is not followed by `-`. Node: "Illegal attachments".
    InvalidAttachmentCount,
    /// The attachment count is above [`DecodeLimits::max_attachments`](super::DecodeLimits). Node:
    /// "too many attachments".
    TooManyAttachments {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The namespace is longer than [`DecodeLimits::max_namespace_len`](super::DecodeLimits) bytes.
    /// (Node has no such limit.)
    NamespaceTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The ack id is above [`MAX_ACK_ID`](super::MAX_ACK_ID) (2^53 - 1), where a JavaScript number
    /// loses precision. (Node accepts it and rounds it.)
    AckIdTooLarge,
    /// An ACK or BINARY_ACK has no ack id. (Node accepts it and ignores the packet.)
    MissingAckId,
    /// The data is not valid JSON (or nests deeper than 128 levels). Node: "invalid payload".
    InvalidJson,
    /// The data is valid JSON but not what this packet type carries (see the module docs), or it is
    /// missing where the type needs it. Carries the type. Node: "invalid payload".
    InvalidPayload(PacketType),
    /// The event name is one Socket.IO reserves (`"connect"`, `"disconnect"`, ...). Node: "invalid
    /// payload".
    ReservedEventName,
    /// A placeholder of a binary packet does not name an attachment: its `num` is not an integer in
    /// `0..count`. Node: "illegal attachments".
    IllegalAttachments,
    /// A binary message arrived while no binary packet was waiting for attachments. Node: "got
    /// binary data when not reconstructing a packet".
    UnexpectedAttachment,
    /// A text packet arrived while a binary packet was still waiting for attachments. Node: "got
    /// plaintext data when reconstructing a packet".
    AttachmentsPending,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty socket.io packet"),
            Self::UnknownPacketType(b) if b.is_ascii_graphic() => {
                write!(f, "unknown socket.io packet type '{}'", char::from(*b))
            }
            Self::UnknownPacketType(b) => {
                write!(f, "unknown socket.io packet type byte 0x{b:02x}")
            }
            Self::InvalidAttachmentCount => f.write_str("illegal socket.io attachment count"),
            Self::TooManyAttachments { max } => {
                write!(f, "too many socket.io attachments (at most {max})")
            }
            Self::NamespaceTooLong { max } => {
                write!(f, "socket.io namespace longer than {max} bytes")
            }
            Self::AckIdTooLarge => f.write_str("socket.io ack id above 2^53 - 1"),
            Self::MissingAckId => f.write_str("socket.io ack packet without an ack id"),
            Self::InvalidJson => f.write_str("socket.io packet data is not valid JSON"),
            Self::InvalidPayload(t) => write!(f, "invalid socket.io payload for a {t:?} packet"),
            Self::ReservedEventName => f.write_str("reserved socket.io event name"),
            Self::IllegalAttachments => f.write_str("illegal socket.io attachment placeholder"),
            Self::UnexpectedAttachment => {
                f.write_str("socket.io binary attachment without a binary packet")
            }
            Self::AttachmentsPending => {
                f.write_str("socket.io text packet while attachments are pending")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
