//! Single Engine.IO v4 packets: [`PacketType`], [`Message`] and [`Packet`], and their text form.
//!
//! Invariants:
//! - The text form of a packet is one ASCII type digit `'0'..='6'` followed by its data; a binary
//!   message's text form is `b` followed by standard, padded base64 of its bytes. [`Packet::encode_text`]
//!   writes exactly [`Packet::text_len`] bytes, and its output is always valid UTF-8.
//! - [`Packet::decode_text`] inverts [`Packet::encode_text`] for every packet: decoding the encoding
//!   of `p` gives back `p`.
//! - Decoded text (open JSON, ping/pong data, text messages) is a [`Bytes::slice`] of the input: no
//!   copy. Only a base64 binary message allocates, at most 3/4 of its input length.
//! - The data after the digit of a close, upgrade or noop packet is ignored without being checked
//!   (Node keeps it but never uses it), so `"1xyz"` decodes to [`Packet::Close`].

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{Buf, BufMut, Bytes};

use super::{DecodeError, Utf8Bytes};

/// Standard base64 alphabet; writes padding, and accepts input with or without it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Bytes of input base64-encoded per step of [`Packet::encode_text`]; a multiple of 3, so only the
/// last step can pad.
const BASE64_CHUNK: usize = 768;

/// The seven Engine.IO packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: the server's handshake, sent first on a new session.
    Open,
    /// `1`: the session is closing.
    Close,
    /// `2`: heartbeat request (from the server in v4), or `2probe` during an upgrade.
    Ping,
    /// `3`: heartbeat reply, or `3probe` during an upgrade.
    Pong,
    /// `4`: an application message.
    Message,
    /// `5`: the client switches to the new transport.
    Upgrade,
    /// `6`: nothing; ends a pending long-poll during an upgrade.
    Noop,
}

impl PacketType {
    /// The type whose digit is `b` (`b'0'..=b'6'`), or `None`.
    #[must_use]
    pub fn from_byte(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The ASCII digit of this type (`b'0'..=b'6'`).
    #[must_use]
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Open => b'0',
            Self::Close => b'1',
            Self::Ping => b'2',
            Self::Pong => b'3',
            Self::Message => b'4',
            Self::Upgrade => b'5',
            Self::Noop => b'6',
        }
    }
}

/// An application message: the data of a message packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (`4<text>`).
    Text(Utf8Bytes),
    /// A binary message: a websocket binary frame, or `b<base64>` in a polling payload.
    Binary(Bytes),
}

impl Message {
    /// Length of the text or binary data in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// Whether the message has no data.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a binary message.
    #[must_use]
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary(_))
    }
}

impl From<Utf8Bytes> for Message {
    fn from(t: Utf8Bytes) -> Self {
        Self::Text(t)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

/// One Engine.IO v4 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// The handshake JSON (without the leading `0`); see [`Handshake`](super::Handshake).
    Open(Utf8Bytes),
    /// Close the session.
    Close,
    /// Ping with its data: usually empty, `probe` during an upgrade.
    Ping(Utf8Bytes),
    /// Pong with its data: usually empty, `probe` during an upgrade.
    Pong(Utf8Bytes),
    /// An application message.
    Message(Message),
    /// Switch to the upgraded transport.
    Upgrade,
    /// Does nothing.
    Noop,
}

impl From<Message> for Packet {
    fn from(m: Message) -> Self {
        Self::Message(m)
    }
}

impl Packet {
    /// The type of this packet.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Open(_) => PacketType::Open,
            Self::Close => PacketType::Close,
            Self::Ping(_) => PacketType::Ping,
            Self::Pong(_) => PacketType::Pong,
            Self::Message(_) => PacketType::Message,
            Self::Upgrade => PacketType::Upgrade,
            Self::Noop => PacketType::Noop,
        }
    }

    /// Decodes a websocket text frame, or one element of a polling payload.
    ///
    /// The text after the type digit becomes the packet's data, as a slice of `data` (no copy). Data
    /// after the digit of Close/Upgrade/Noop is ignored (Node keeps it but never uses it). Like Node's
    /// `decodePacket`, text that starts with `b` is a base64 binary message (the polling form, which
    /// [`Packet::encode_text`] writes), so this function decodes every element of a polling payload and
    /// inverts `encode_text` for every packet.
    ///
    /// # Errors
    /// [`DecodeError::Empty`] for no bytes, [`DecodeError::UnknownPacketType`] for a first byte that is
    /// neither a type digit nor `b`, [`DecodeError::InvalidUtf8`] for text data that is not UTF-8, and
    /// [`DecodeError::InvalidBase64`] for a `b` element whose rest is not standard base64 (padding
    /// optional).
    pub fn decode_text(data: Bytes) -> Result<Packet, DecodeError> {
        decode_text_as(data, Utf8Bytes::try_from)
    }

    /// [`Packet::decode_text`] for a websocket text message, which the websocket layer has already
    /// found to be UTF-8: the same packet, without checking the text a second time.
    ///
    /// # Errors
    /// As [`Packet::decode_text`], but never [`DecodeError::InvalidUtf8`].
    pub fn decode_utf8(text: Utf8Bytes) -> Result<Packet, DecodeError> {
        // What follows the ASCII type digit (or `b`) of UTF-8 text is UTF-8 too.
        decode_text_as(Bytes::from(text), |rest| {
            Ok(Utf8Bytes::from_validated(rest))
        })
    }

    /// A websocket binary frame: always a binary message, holding `data` itself (no copy).
    #[must_use]
    pub fn decode_binary(data: Bytes) -> Packet {
        Packet::Message(Message::Binary(data))
    }

    /// Number of bytes [`Packet::encode_text`] writes.
    #[must_use]
    pub fn text_len(&self) -> usize {
        1 + match self {
            Self::Open(t) | Self::Ping(t) | Self::Pong(t) | Self::Message(Message::Text(t)) => {
                t.len()
            }
            Self::Message(Message::Binary(b)) => b.len().div_ceil(3) * 4,
            Self::Close | Self::Upgrade | Self::Noop => 0,
        }
    }

    /// Writes the text form: `<digit><data>`; a binary message is written as `b<base64>` (the polling
    /// form). Writes exactly [`Packet::text_len`] bytes of valid UTF-8.
    ///
    /// Over a websocket, send a binary message as a binary frame of its bytes instead.
    ///
    /// # Panics
    /// Only as [`BufMut::put_slice`] does: if `out` cannot grow to take [`Packet::text_len`] more bytes
    /// (a fixed-size `&mut [u8]` that is too short, say).
    pub fn encode_text<B: BufMut>(&self, out: &mut B) {
        match self {
            Self::Message(Message::Binary(b)) => {
                out.put_u8(b'b');
                encode_base64(b, out);
            }
            Self::Open(t) | Self::Ping(t) | Self::Pong(t) | Self::Message(Message::Text(t)) => {
                out.put_u8(self.packet_type().as_byte());
                out.put_slice(t.as_bytes());
            }
            Self::Close | Self::Upgrade | Self::Noop => out.put_u8(self.packet_type().as_byte()),
        }
    }

    /// The text form of [`Packet::encode_text`] in a new buffer of exactly [`Packet::text_len`] bytes:
    /// ready to send as a websocket text frame (for any packet but a binary message).
    #[must_use]
    pub fn to_text(&self) -> Utf8Bytes {
        let mut out = Vec::with_capacity(self.text_len());
        self.encode_text(&mut out);
        Utf8Bytes::from_validated(Bytes::from(out))
    }
}

/// [`Packet::decode_text`], with `text` making the packet's text of what follows the type digit.
fn decode_text_as(
    mut data: Bytes,
    text: impl FnOnce(Bytes) -> Result<Utf8Bytes, DecodeError>,
) -> Result<Packet, DecodeError> {
    let Some(&first) = data.first() else {
        return Err(DecodeError::Empty);
    };
    if first == b'b' {
        return decode_base64(&data[1..]).map(|b| Packet::Message(Message::Binary(b)));
    }
    let ty = PacketType::from_byte(first).ok_or(DecodeError::UnknownPacketType(first))?;
    // The same buffer without the digit: like `data.slice(1..)`, without a reference count change.
    data.advance(1);
    Ok(match ty {
        PacketType::Open => Packet::Open(text(data)?),
        PacketType::Close => Packet::Close,
        PacketType::Ping => Packet::Ping(text(data)?),
        PacketType::Pong => Packet::Pong(text(data)?),
        PacketType::Message => Packet::Message(Message::Text(text(data)?)),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    })
}

/// Decodes standard base64 (padding optional) into a new buffer of at most `3/4 * input.len() + 3`
/// bytes.
fn decode_base64(input: &[u8]) -> Result<Bytes, DecodeError> {
    BASE64
        .decode(input)
        .map(Bytes::from)
        .map_err(|_| DecodeError::InvalidBase64)
}

/// Writes padded standard base64 of `input` to `out`, through a stack buffer (no heap allocation).
fn encode_base64<B: BufMut>(input: &[u8], out: &mut B) {
    let mut buf = [0u8; BASE64_CHUNK / 3 * 4];
    for chunk in input.chunks(BASE64_CHUNK) {
        // `buf` fits the encoding of a whole chunk, so encode_slice cannot fail.
        let n = BASE64.encode_slice(chunk, &mut buf).unwrap_or_default();
        debug_assert_eq!(n, chunk.len().div_ceil(3) * 4);
        out.put_slice(&buf[..n]);
    }
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
