//! [`decode`] and [`decode_bytes`]: one msgpack message to a [`Packet`].
//!
//! Invariants: one pass over the input; every length is checked against the bytes left before it is
//! used ([`Reader`]); the namespace is checked against [`MsgpackLimits::max_namespace_len`] before
//! it is copied; keys are read as Node's decoder would keep them (the last of duplicate keys wins,
//! unknown keys are skipped but must be well-formed); then the packet is checked in Node's order
//! (type, namespace, data, id).

use bytes::Bytes;

use super::read::{Reader, Token};
use super::render::{Head, Kind, Renderer};
use super::{MsgpackError, MsgpackLimits};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{DataIndex, MAX_ACK_ID, Packet, PacketType};

/// Decodes one Socket.IO packet from the bytes of one Engine.IO binary message.
///
/// The data becomes JSON text, binary values placeholders `{"_placeholder":true,"num":i}` with the
/// bytes in [`Packet::attachments`] (copied; [`decode_bytes`] shares them with the input instead).
///
/// # Errors
/// Any [`MsgpackError`] but the encoding ones; see the [module docs](super) for what is accepted.
pub fn decode(bytes: &[u8], limits: &MsgpackLimits) -> Result<Packet, MsgpackError> {
    decode_from(bytes, None, limits)
}

/// [`decode`], but the attachments (and the namespace, when it is valid UTF-8) are slices of
/// `bytes` rather than copies.
///
/// # Errors
/// As [`decode`].
pub fn decode_bytes(bytes: &Bytes, limits: &MsgpackLimits) -> Result<Packet, MsgpackError> {
    decode_from(bytes, Some(bytes), limits)
}

/// A number read for `type` or `id`, kept until the last duplicate key has been seen.
#[derive(Clone, Copy)]
enum Number {
    Absent,
    Integer(u64),
    Invalid,
}

fn decode_from(
    bytes: &[u8],
    source: Option<&Bytes>,
    limits: &MsgpackLimits,
) -> Result<Packet, MsgpackError> {
    let mut r = Reader::new(bytes);
    let Token::Map(entries) = r.next()? else {
        return Err(MsgpackError::NotAMap);
    };
    let mut packet_type = Number::Absent;
    let mut id = Number::Absent;
    let mut namespace: Option<Token<'_>> = None;
    let mut renderer = Renderer::new(source, *limits);
    // The JSON is usually about as long as the msgpack; more is allocated only as it is written.
    renderer.json.reserve(bytes.len());
    let mut kind = Kind::Undefined;
    for _ in 0..entries {
        match whole(&mut r)? {
            Token::Str(b"type") => packet_type = number(whole(&mut r)?),
            Token::Str(b"id") => id = number(whole(&mut r)?),
            Token::Str(b"nsp") => namespace = Some(whole(&mut r)?),
            Token::Str(b"data") => {
                renderer.clear();
                kind = renderer.render(&mut r)?;
            }
            // Any other key (socket.io-client adds `options`): its value is skipped whole.
            _ => r.skip()?,
        }
    }
    if r.remaining() > 0 {
        return Err(MsgpackError::TrailingBytes);
    }

    let packet_type = match packet_type {
        Number::Integer(0) => PacketType::Connect,
        Number::Integer(1) => PacketType::Disconnect,
        Number::Integer(2) => PacketType::Event,
        Number::Integer(3) => PacketType::Ack,
        Number::Integer(4) => PacketType::ConnectError,
        _ => return Err(MsgpackError::InvalidPacketType),
    };
    let namespace = check_namespace(namespace, source, limits)?;
    check_data(packet_type, kind, &renderer)?;
    let id = match id {
        Number::Absent => None,
        Number::Integer(id) if id <= MAX_ACK_ID => Some(id),
        _ => return Err(MsgpackError::InvalidAckId),
    };
    if packet_type.is_ack() && id.is_none() {
        return Err(MsgpackError::MissingAckId);
    }

    let data = match kind {
        Kind::Undefined => None,
        _ => Some(Utf8Bytes::from_validated(Bytes::from(renderer.json))),
    };
    let attachments = renderer.attachments;
    Ok(Packet {
        packet_type: packet_type.for_attachments(attachments.len()),
        namespace,
        id,
        data,
        attachments,
        index: DataIndex::default(),
    })
}

/// Reads one value; a container is skipped whole, its header returned.
fn whole<'a>(r: &mut Reader<'a>) -> Result<Token<'a>, MsgpackError> {
    let token = r.next()?;
    let elements = match token {
        Token::Array(n) => n,
        Token::Map(n) => n.saturating_mul(2),
        _ => 0,
    };
    for _ in 0..elements {
        r.skip()?;
    }
    Ok(token)
}

/// A `type` or `id` value: JavaScript's `Number.isInteger` decides, so `2.0` is 2; `undefined`
/// counts as absent. Negative integers are kept as invalid.
fn number(token: Token<'_>) -> Number {
    match token {
        Token::Undefined => Number::Absent,
        Token::UInt(v) => Number::Integer(v),
        Token::Int(v) => u64::try_from(v).map_or(Number::Invalid, Number::Integer),
        // Every integral f64 in this range converts to u64 exactly.
        Token::Float(v) if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) => {
            Number::Integer(v as u64)
        }
        _ => Number::Invalid,
    }
}

/// The namespace: a string starting with `/`, without `,`, at most `max_namespace_len` bytes.
fn check_namespace(
    token: Option<Token<'_>>,
    source: Option<&Bytes>,
    limits: &MsgpackLimits,
) -> Result<Utf8Bytes, MsgpackError> {
    let Some(Token::Str(raw)) = token else {
        return Err(MsgpackError::InvalidNamespace);
    };
    let max = limits.max_namespace_len;
    if raw.len() > max {
        return Err(MsgpackError::NamespaceTooLong { max });
    }
    if raw.first() != Some(&b'/') || raw.contains(&b',') {
        return Err(MsgpackError::InvalidNamespace);
    }
    if raw == b"/" {
        return Ok(Utf8Bytes::from_static("/"));
    }
    Ok(match (source, std::str::from_utf8(raw)) {
        (Some(source), Ok(_)) => Utf8Bytes::from_validated(source.slice_ref(raw)),
        (None, Ok(text)) => Utf8Bytes::from(text.to_owned()),
        (_, Err(_)) => {
            let text = String::from_utf8_lossy(raw).into_owned();
            if text.len() > max {
                return Err(MsgpackError::NamespaceTooLong { max });
            }
            Utf8Bytes::from(text)
        }
    })
}

/// Checks the data against the packet type, as Node's `isDataValid` (plus the event name rule of
/// the JSON parser, and the binary rules of this crate's [`Packet`]).
fn check_data(t: PacketType, kind: Kind, renderer: &Renderer<'_>) -> Result<(), MsgpackError> {
    use PacketType as T;
    let binary = !renderer.attachments.is_empty();
    let valid = match (t, kind) {
        (T::Connect, Kind::Undefined | Kind::Object) => !binary,
        (T::Disconnect, Kind::Undefined) => true,
        (T::ConnectError, Kind::String | Kind::Object) => !binary,
        (T::Event, Kind::Array(Head::Reserved)) => return Err(MsgpackError::ReservedEventName),
        (T::Event, Kind::Array(head)) => head == Head::Name,
        (T::Ack, Kind::Array(_)) => true,
        _ => false,
    };
    if !valid {
        return Err(MsgpackError::InvalidPayload(t));
    }
    if binary && renderer.literal_placeholder {
        return Err(MsgpackError::LiteralPlaceholder);
    }
    Ok(())
}
