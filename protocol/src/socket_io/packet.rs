//! [`PacketType`] and [`Packet`]: one Socket.IO packet, its JSON data kept as raw text.
//!
//! Invariants of a *decoded* packet (a [`Packet`] built by hand may break them; the encoder then writes
//! whatever it holds, and never panics):
//! - `namespace` is `"/"` or starts with `/` and holds no `,`.
//! - `id` is at most [`MAX_ACK_ID`](super::MAX_ACK_ID), and is `Some` for ACK and BINARY_ACK.
//! - `data` is valid JSON of the shape its type needs (see the [module docs](super)), a slice of the
//!   decoded text.
//! - `attachments` is non-empty exactly when the type is BINARY_EVENT or BINARY_ACK, and every
//!   placeholder in `data` names one of them.

use bytes::Bytes;

use super::DataIndex;

use crate::engine_io::Utf8Bytes;

/// The seven Socket.IO v5 packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: connect to a namespace (client: optional auth object; server: `{"sid":...}`).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event: `["name", args...]`.
    Event,
    /// `3`: the reply to an event that asked for one: `[args...]`.
    Ack,
    /// `4`: the server refused a connection: `{"message":...,"data":...}`.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl PacketType {
    /// The type whose digit is `b` (`b'0'..=b'6'`), or `None`.
    #[must_use]
    pub fn from_byte(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The ASCII digit of this type (`b'0'..=b'6'`).
    #[must_use]
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Connect => b'0',
            Self::Disconnect => b'1',
            Self::Event => b'2',
            Self::Ack => b'3',
            Self::ConnectError => b'4',
            Self::BinaryEvent => b'5',
            Self::BinaryAck => b'6',
        }
    }

    /// Whether this is BINARY_EVENT or BINARY_ACK, the types followed by attachments.
    #[must_use]
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    /// Whether this is EVENT or BINARY_EVENT.
    #[must_use]
    pub fn is_event(self) -> bool {
        matches!(self, Self::Event | Self::BinaryEvent)
    }

    /// Whether this is ACK or BINARY_ACK.
    #[must_use]
    pub fn is_ack(self) -> bool {
        matches!(self, Self::Ack | Self::BinaryAck)
    }

    /// The type written on the wire for a packet of this type with `attachments` attachments: EVENT
    /// and BINARY_EVENT become BINARY_EVENT when there are attachments and EVENT when there are none
    /// (likewise for acks); the other types never carry attachments and stay as they are.
    #[must_use]
    pub fn for_attachments(self, attachments: usize) -> PacketType {
        match (self, attachments) {
            (Self::Event | Self::BinaryEvent, 0) => Self::Event,
            (Self::Event | Self::BinaryEvent, _) => Self::BinaryEvent,
            (Self::Ack | Self::BinaryAck, 0) => Self::Ack,
            (Self::Ack | Self::BinaryAck, _) => Self::BinaryAck,
            (other, _) => other,
        }
    }
}

/// One Socket.IO packet. Its JSON data stays raw text; see [`Packet::args`] and
/// [`Packet::event_name`] to read it without copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The packet type. Decoding keeps the wire type (BINARY_EVENT stays BINARY_EVENT); encoding
    /// picks it from the attachments (see [`PacketType::for_attachments`]).
    pub packet_type: PacketType,
    /// The namespace; `"/"` when the wire text names none.
    pub namespace: Utf8Bytes,
    /// The ack id, if any.
    pub id: Option<u64>,
    /// The raw JSON text of the data, as it came (whitespace included), with attachment placeholders
    /// (`{"_placeholder":true,"num":i}`) left in place.
    pub data: Option<Utf8Bytes>,
    /// The binary attachments, in order: placeholder `num: i` stands for `attachments[i]`. Empty for
    /// non-binary packets.
    pub attachments: Vec<Bytes>,
    /// Where the elements of `data` are, when the decoder has just read it; `DataIndex::default()`
    /// for a packet built by hand. Only saves [`Packet::args`] and [`Packet::event_name`] a second
    /// reading of the data: it is ignored once `data` is not the text it was made from, and it
    /// takes no part in comparing packets.
    pub index: DataIndex,
}

/// The default namespace.
pub(crate) const ROOT: Utf8Bytes = Utf8Bytes::from_static("/");

impl Packet {
    /// A packet of type `packet_type` on `namespace`, with no id, data or attachments.
    #[must_use]
    pub fn new(packet_type: PacketType, namespace: Utf8Bytes) -> Packet {
        Packet {
            packet_type,
            namespace,
            id: None,
            data: None,
            attachments: Vec::new(),
            index: DataIndex::default(),
        }
    }

    /// Sets the attachments, and the type to match them ([`PacketType::for_attachments`]).
    #[must_use]
    pub fn with_attachments(mut self, attachments: Vec<Bytes>) -> Packet {
        self.packet_type = self.packet_type.for_attachments(attachments.len());
        self.attachments = attachments;
        self
    }

    /// The packet as [`Packet::encode`] sees it: the type picked by [`PacketType::for_attachments`],
    /// and no attachments unless it is an event or an ack (the encoder ignores them elsewhere).
    /// Decoding the encoding of a valid packet gives back its normalized form.
    #[must_use]
    pub fn normalized(mut self) -> Packet {
        if !self.packet_type.is_event() && !self.packet_type.is_ack() {
            self.attachments.clear();
        }
        self.packet_type = self.packet_type.for_attachments(self.attachments.len());
        self
    }
}
