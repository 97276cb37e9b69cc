//! Decoding the text part of a packet: [`Packet::decode_text`], [`DecodeLimits`] and [`Decoded`].
//!
//! Invariants:
//! - The header (`<type>[<count>-][<namespace>,][<id>]`) is read in one left-to-right pass over ASCII
//!   bytes; the namespace is a slice of the input and the data its tail (the input's buffer taken
//!   over, not cloned), both cut next to ASCII bytes, so they stay valid UTF-8 and nothing is copied.
//! - Nothing is allocated from a number read off the wire before it is checked: the attachment count
//!   against [`DecodeLimits::max_attachments`], the namespace length against
//!   [`DecodeLimits::max_namespace_len`] (the `,` is searched for only that far), the ack id against
//!   [`MAX_ACK_ID`] (digit by digit, with checked arithmetic).
//! - The JSON data is read once for syntax, nesting depth (at most [`MAX_DEPTH`]) and shape, by the
//!   iterative, allocation-free [`scan`] (which accepts what serde_json accepts), and once more for
//!   placeholders in binary packets ([`check_placeholders`]). Every error of that pass is
//!   [`DecodeError::InvalidJson`], whatever the shape; only valid JSON is judged by its shape.

use std::ops::{ControlFlow, Range};

use bytes::{Buf, Bytes};

use super::binary::PartialPacket;
use super::data_index::{DataIndex, Elements};
use super::json_scan::{scan, unescape};
use super::placeholder::check_placeholders;
use super::{DecodeError, MAX_ACK_ID, Packet, PacketType, packet::ROOT};
use crate::engine_io::Utf8Bytes;

/// Event names that Socket.IO reserves; an EVENT naming one of them is rejected, as in Node.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The length of the shortest name in [`RESERVED_EVENTS`].
const SHORTEST_RESERVED: usize = {
    let mut shortest = usize::MAX;
    let mut i = 0;
    while i < RESERVED_EVENTS.len() {
        if RESERVED_EVENTS[i].len() < shortest {
            shortest = RESERVED_EVENTS[i].len();
        }
        i += 1;
    }
    shortest
};

/// Limits checked while decoding, before anything is allocated from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most attachments one binary packet may announce. Default 10, Node's `maxAttachments`.
    pub max_attachments: usize,
    /// Longest namespace, in bytes, `/` included. Default 1024 (Node has no limit; only the
    /// Engine.IO message size bounds it there).
    pub max_namespace_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_attachments: 10,
            max_namespace_len: 1024,
        }
    }
}

/// What the text part of a packet decodes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole packet.
    Complete(Packet),
    /// A BINARY_EVENT or BINARY_ACK whose attachments (the next binary messages) are still to come.
    NeedsAttachments(PartialPacket),
}

impl Packet {
    /// Decodes the text of one Socket.IO packet (an Engine.IO text message).
    ///
    /// Binary packets give [`Decoded::NeedsAttachments`]: feed the following binary messages to
    /// [`PartialPacket::push_attachment`], or let [`Reassembly`](super::Reassembly) do it.
    ///
    /// # Errors
    /// Any [`DecodeError`] but the last two; see the [module docs](super) for what is accepted.
    #[inline]
    pub fn decode_text(text: Utf8Bytes, limits: &DecodeLimits) -> Result<Decoded, DecodeError> {
        let (packet, attachments) = Packet::decode_parts(text, limits)?;
        Ok(match attachments {
            0 => Decoded::Complete(packet),
            _ => Decoded::NeedsAttachments(PartialPacket::new(packet, attachments)),
        })
    }

    /// [`Packet::decode_text`]'s packet, and the number of attachments it announced. Inlined into
    /// its callers, so the packet is built where they keep it, not moved there through
    /// [`Decoded`] (each move of a packet is a `memcpy` call).
    #[inline]
    pub(super) fn decode_parts(
        text: Utf8Bytes,
        limits: &DecodeLimits,
    ) -> Result<(Packet, usize), DecodeError> {
        let bytes = text.as_bytes();
        let &first = bytes.first().ok_or(DecodeError::Empty)?;
        let packet_type =
            PacketType::from_byte(first).ok_or(DecodeError::UnknownPacketType(first))?;
        let mut pos = 1;

        let mut count = 0;
        if packet_type.is_binary() {
            (count, pos) = attachment_count(bytes, pos, limits.max_attachments)?;
        }

        let mut namespace = ROOT;
        if bytes.get(pos) == Some(&b'/') {
            let rest = bytes.get(pos..).unwrap_or_default();
            let window = rest.get(..=limits.max_namespace_len).unwrap_or(rest);
            let len = match memchr::memchr(b',', window) {
                Some(len) => len,
                None if window.len() < rest.len() => {
                    return Err(DecodeError::NamespaceTooLong {
                        max: limits.max_namespace_len,
                    });
                }
                None => rest.len(),
            };
            if len > limits.max_namespace_len {
                return Err(DecodeError::NamespaceTooLong {
                    max: limits.max_namespace_len,
                });
            }
            // Cut next to ASCII bytes, so UTF-8; out of bounds (impossible) is empty, not a panic.
            namespace = text.slice(pos..pos + len).unwrap_or_default();
            // Skip the comma, if the namespace did not run to the end.
            pos = (pos + len + 1).min(bytes.len());
        }

        let digits = bytes
            .get(pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let id = match digits {
            0 => None,
            _ => Some(ack_id(bytes.get(pos..pos + digits).unwrap_or_default())?),
        };
        pos += digits;
        if packet_type.is_ack() && id.is_none() {
            return Err(DecodeError::MissingAckId);
        }

        let data = (pos < bytes.len()).then(|| tail(text, pos));
        let elements = check_data(packet_type, data.as_ref().map(Utf8Bytes::as_str))?;
        if let Some(data) = data.as_ref().filter(|_| count > 0) {
            check_placeholders(data.as_bytes(), count)?;
        }

        let packet = Packet {
            packet_type,
            namespace,
            id,
            index: match &data {
                Some(data) if data.as_bytes().first() == Some(&b'[') => {
                    DataIndex::new(data, elements)
                }
                _ => DataIndex::default(),
            },
            data,
            attachments: Vec::new(),
        };
        Ok((packet, count))
    }
}

/// `text[start..]`, taking over its buffer (no refcount change). `start` is in bounds and next to
/// an ASCII byte, so the rest is UTF-8.
fn tail(text: Utf8Bytes, start: usize) -> Utf8Bytes {
    let mut bytes = Bytes::from(text);
    bytes.advance(start.min(bytes.len()));
    Utf8Bytes::from_validated(bytes)
}

/// Reads `<digits>-` at `pos`: returns the count and the position after the `-`.
fn attachment_count(bytes: &[u8], pos: usize, max: usize) -> Result<(usize, usize), DecodeError> {
    let rest = bytes.get(pos..).unwrap_or_default();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b'-') {
        return Err(DecodeError::InvalidAttachmentCount);
    }
    let mut count: usize = 0;
    for &d in rest.get(..digits).unwrap_or_default() {
        count = count
            .checked_mul(10)
            .and_then(|c| c.checked_add(usize::from(d - b'0')))
            .filter(|&c| c <= max)
            .ok_or(DecodeError::TooManyAttachments { max })?;
    }
    if count == 0 {
        return Err(DecodeError::InvalidAttachmentCount);
    }
    Ok((count, pos + digits + 1))
}

/// Parses a run of ASCII digits (leading zeros allowed) as an ack id of at most [`MAX_ACK_ID`].
fn ack_id(digits: &[u8]) -> Result<u64, DecodeError> {
    // Up to 15 digits cannot pass MAX_ACK_ID (16 digits) nor overflow: no checks per digit.
    if digits.len() <= 15 {
        return Ok(digits
            .iter()
            .fold(0, |id, &d| id * 10 + u64::from(d - b'0')));
    }
    digits.iter().try_fold(0u64, |id, &d| {
        id.checked_mul(10)
            .and_then(|id| id.checked_add(u64::from(d - b'0')))
            .filter(|&id| id <= MAX_ACK_ID)
            .ok_or(DecodeError::AckIdTooLarge)
    })
}

/// Checks that `data` is valid JSON of the shape `packet_type` carries (Node's `isPayloadValid`),
/// and that it is present where the type needs it. Its first byte must open the value: leading
/// whitespace is refused (Node would have read it as part of an ack id).
///
/// One [`scan`] decides everything: JSON that is invalid or nested deeper than [`MAX_DEPTH`] is
/// [`DecodeError::InvalidJson`], whatever its shape; valid JSON of the wrong shape is
/// [`DecodeError::InvalidPayload`]; an event named in [`RESERVED_EVENTS`] is
/// [`DecodeError::ReservedEventName`]. Returns the elements of the data when it is an array (for
/// the packet's [`DataIndex`]). (Visible to the tests, which compare it with serde_json.)
pub(super) fn check_data(
    packet_type: PacketType,
    data: Option<&str>,
) -> Result<Elements, DecodeError> {
    use PacketType as T;
    let invalid = DecodeError::InvalidPayload(packet_type);
    let Some(data) = data else {
        return match packet_type {
            T::Connect | T::Disconnect => Ok(Elements::default()),
            _ => Err(invalid),
        };
    };
    let shape_ok = matches!(
        (packet_type, data.as_bytes().first()),
        (T::Connect, Some(&b'{'))
            | (T::ConnectError, Some(&(b'{' | b'"')))
            | (
                T::Ack | T::BinaryAck | T::Event | T::BinaryEvent,
                Some(&b'[')
            )
    );
    // Only an event's first element is looked at; `None` until there is one.
    let mut name_ok = None;
    let mut elements = Elements::default();
    let on_element = |element: Range<usize>| {
        if packet_type.is_event() && name_ok.is_none() {
            name_ok = Some(event_name_ok(data.get(element.clone()).unwrap_or_default()));
        }
        elements.push(element);
        ControlFlow::Continue(())
    };
    scan(data, on_element).map_err(|_| DecodeError::InvalidJson)?;
    if !shape_ok {
        return Err(invalid);
    }
    match (packet_type.is_event(), name_ok) {
        (false, _) | (true, Some(Ok(()))) => Ok(elements),
        (true, Some(Err(HeadError::Reserved))) => Err(DecodeError::ReservedEventName),
        (true, None | Some(Err(HeadError::Invalid))) => Err(invalid),
    }
}

/// The deepest nesting of arrays and objects the data may have. Node's `JSON.parse` goes much
/// deeper; real payloads stay far below this, and the bound keeps the placeholder scan and the
/// msgpack encoder from working on data that costs more memory than its size (finding F1 in
/// `fuzz/README.md`). Checked while the data is first read, before anything else reads it.
pub const MAX_DEPTH: usize = 512;

/// Why an event array's first element is not an event name.
enum HeadError {
    Invalid,
    Reserved,
}

/// Whether `name`, an event array's first element, names an event: a number or a string not in
/// [`RESERVED_EVENTS`].
fn event_name_ok(name: &str) -> Result<(), HeadError> {
    match name.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => Ok(()),
        // A literal shorter than the shortest reserved name and its quotes spells none (escapes
        // only make a literal longer than its value): most names are read no further.
        Some(b'"') if name.len() < SHORTEST_RESERVED + 2 => Ok(()),
        Some(b'"') if RESERVED_EVENTS.contains(&&*unescape(name)) => Err(HeadError::Reserved),
        Some(b'"') => Ok(()),
        _ => Err(HeadError::Invalid),
    }
}
