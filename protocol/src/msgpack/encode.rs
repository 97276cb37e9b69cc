//! [`encode`]: a [`Packet`] to the msgpack bytes `socket.io-msgpack-parser` writes for it.
//!
//! Invariants:
//! - Two passes over the JSON data: [`structure`] checks it and counts each container's elements
//!   (4 bytes per container, and a placeholder record per placeholder only when there are
//!   attachments; see its invariants for the bound), then the data is written straight into `out`,
//!   reserved once; no JSON value is built.
//! - Bytes are notepack.io's for the same JavaScript value (see the [module docs](super)): smallest
//!   int/uint form for integers, float 64 for other numbers, fixstr/str 8/16/32, bin 8/16/32.
//! - On error nothing is left in `out`.

use bytes::{BufMut, Bytes, BytesMut};

use super::MsgpackError;
use super::json_in::{Lexer, Tok, unescape, unescaped_len};
use super::structure::{Structure, structure};
use crate::socket_io::{Packet, PacketType};

/// Appends the msgpack encoding of `packet` to `out`: the map `{type, data, nsp, id}` (an ACK:
/// `{id, type, data, nsp}`), as Node's server builds it; `data` and `id` only when present.
///
/// BINARY_EVENT and BINARY_ACK are written as EVENT (2) and ACK (3): with this parser binary values
/// travel inside the data, each placeholder `{"_placeholder":true,"num":i}` replaced by
/// `attachments[i]` as msgpack bin. Packets of other types, and packets without attachments, keep
/// placeholder-like objects as plain maps. An attachment no placeholder names is not written. The
/// namespace and the id are not checked.
///
/// # Errors
/// [`MsgpackError::InvalidJson`] if the data is not valid JSON,
/// [`MsgpackError::IllegalAttachments`] if a placeholder names no attachment, and
/// [`MsgpackError::TooLarge`] for a value msgpack cannot hold. `out` is then left as it was.
pub fn encode(packet: &Packet, out: &mut BytesMut) -> Result<(), MsgpackError> {
    let start = out.len();
    let result = encode_into(packet, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_into(packet: &Packet, out: &mut BytesMut) -> Result<(), MsgpackError> {
    let t = packet.packet_type;
    let binary = (t.is_event() || t.is_ack()) && !packet.attachments.is_empty();
    let attachments = binary.then_some(&packet.attachments[..]);
    let shape = match &packet.data {
        Some(data) => structure(data.as_bytes(), binary)?,
        None => Structure::default(),
    };
    let estimate = 24
        + packet.namespace.len()
        + packet.data.as_ref().map_or(0, |d| d.len())
        + attachments.map_or(0, |a| a.iter().map(Bytes::len).sum());
    out.reserve(estimate);

    let type_number: u8 = match t {
        PacketType::Connect => 0,
        PacketType::Disconnect => 1,
        PacketType::Event | PacketType::BinaryEvent => 2,
        PacketType::Ack | PacketType::BinaryAck => 3,
        PacketType::ConnectError => 4,
    };
    let fields = 2 + u8::from(packet.data.is_some()) + u8::from(packet.id.is_some());
    out.put_u8(0x80 | fields);
    let id = |out: &mut BytesMut| {
        if let Some(id) = packet.id {
            out.put_slice(b"\xa2id");
            write_uint(out, id);
        }
    };
    if t.is_ack() {
        id(out);
    }
    out.put_slice(b"\xa4type");
    out.put_u8(type_number);
    if let Some(data) = &packet.data {
        out.put_slice(b"\xa4data");
        write_data(out, data.as_bytes(), &shape, attachments)?;
    }
    out.put_slice(b"\xa3nsp");
    write_str_header(out, packet.namespace.len())?;
    out.put_slice(packet.namespace.as_bytes());
    if !t.is_ack() {
        id(out);
    }
    Ok(())
}

/// The second pass: writes the JSON `json`, described by `shape`, as msgpack (with `attachments`,
/// each placeholder as its attachment; `shape` must then list the placeholders).
fn write_data(
    out: &mut BytesMut,
    json: &[u8],
    shape: &Structure,
    attachments: Option<&[Bytes]>,
) -> Result<(), MsgpackError> {
    let mut lexer = Lexer { json, pos: 0 };
    // The next container, as an index into `shape.counts`.
    let mut index = 0;
    // The next placeholder of `shape.placeholders` not yet passed.
    let mut next_placeholder = 0;
    while let Some(tok) = lexer.next()? {
        match tok {
            Tok::Open(array) => {
                if let Some(attachments) = attachments {
                    // Skip those nested in a placeholder already written as binary.
                    let placeholders = shape.placeholders.get(next_placeholder..);
                    let passed = placeholders
                        .unwrap_or_default()
                        .iter()
                        .take_while(|p| p.index < index)
                        .count();
                    next_placeholder += passed;
                    let placeholder = shape
                        .placeholders
                        .get(next_placeholder)
                        .filter(|p| p.index == index);
                    if let Some(p) = placeholder {
                        let bin = p
                            .num
                            .and_then(|n| usize::try_from(n).ok())
                            .and_then(|n| attachments.get(n))
                            .ok_or(MsgpackError::IllegalAttachments)?;
                        write_bin(out, bin)?;
                        lexer.pos = p.end;
                        index = p.next;
                        next_placeholder += 1;
                        continue;
                    }
                }
                let count = shape.counts.get(index).ok_or(MsgpackError::InvalidJson)?;
                let count = usize::try_from(*count).map_err(|_| MsgpackError::TooLarge)?;
                write_container_header(out, count, array)?;
                index += 1;
            }
            Tok::Close(_) | Tok::Comma | Tok::Colon => {}
            Tok::Str(lit) => {
                write_str_header(out, unescaped_len(lit)?)?;
                if memchr::memchr(b'\\', lit).is_none() {
                    out.put_slice(lit);
                } else {
                    unescape(lit, |part| out.put_slice(part))?;
                }
            }
            Tok::Num(text) => write_number(out, text),
            Tok::Bool(b) => out.put_u8(if b { 0xc3 } else { 0xc2 }),
            Tok::Null => out.put_u8(0xc0),
        }
    }
    Ok(())
}

/// A JSON number as notepack writes the JavaScript number `JSON.parse` gives: an integer in the
/// smallest int/uint form, anything else as float 64. Integer literals that fit 64 bits are written
/// exactly (JavaScript would round those beyond 2^53 first), and integral values outside the 64-bit
/// range as float 64 (notepack writes a wrong uint 64 for them).
fn write_number(out: &mut BytesMut, text: &[u8]) {
    let text = std::str::from_utf8(text).unwrap_or("0");
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(v) = text.parse::<i64>() {
            return write_int(out, v);
        }
        if let Ok(v) = text.parse::<u64>() {
            return write_uint(out, v);
        }
    }
    let v: f64 = text.parse().unwrap_or(f64::NAN);
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if v.fract() == 0.0 && (-TWO_63..0.0).contains(&v) {
        write_int(out, v as i64);
    } else if v.fract() == 0.0 && (0.0..2.0 * TWO_63).contains(&v) {
        write_uint(out, v as u64); // -0 included: notepack writes it as 0.
    } else {
        out.put_u8(0xcb);
        out.put_f64(v);
    }
}

/// An unsigned integer in its smallest form.
pub(super) fn write_uint(out: &mut BytesMut, v: u64) {
    match v {
        0..0x80 => out.put_u8(v as u8),
        0x80..0x100 => out.put_slice(&[0xcc, v as u8]),
        0x100..0x1_0000 => {
            out.put_u8(0xcd);
            out.put_u16(v as u16);
        }
        0x1_0000..0x1_0000_0000 => {
            out.put_u8(0xce);
            out.put_u32(v as u32);
        }
        _ => {
            out.put_u8(0xcf);
            out.put_u64(v);
        }
    }
}

/// A signed integer in its smallest form (a non-negative one as unsigned, as notepack does).
fn write_int(out: &mut BytesMut, v: i64) {
    match v {
        0.. => write_uint(out, v.unsigned_abs()),
        -0x20..0 => out.put_i8(v as i8),
        -0x80..-0x20 => out.put_slice(&[0xd0, v as u8]),
        -0x8000..-0x80 => {
            out.put_u8(0xd1);
            out.put_i16(v as i16);
        }
        -0x8000_0000..-0x8000 => {
            out.put_u8(0xd2);
            out.put_i32(v as i32);
        }
        _ => {
            out.put_u8(0xd3);
            out.put_i64(v);
        }
    }
}

/// A header with a length: the fixed form below `fix` (`fix_tag | len`), else the 8-bit (if
/// `tag8` is given), 16-bit or 32-bit form.
fn write_len(
    out: &mut BytesMut,
    len: usize,
    fix: Option<(usize, u8)>,
    tag8: Option<u8>,
    tag16: u8,
) -> Result<(), MsgpackError> {
    match (fix, tag8) {
        (Some((limit, tag)), _) if len < limit => out.put_u8(tag | len as u8),
        (_, Some(tag)) if len < 0x100 => out.put_slice(&[tag, len as u8]),
        _ if len < 0x1_0000 => {
            out.put_u8(tag16);
            out.put_u16(len as u16);
        }
        _ => {
            let len = u32::try_from(len).map_err(|_| MsgpackError::TooLarge)?;
            out.put_u8(tag16 + 1);
            out.put_u32(len);
        }
    }
    Ok(())
}

/// A string header: fixstr, str 8, str 16 or str 32.
pub(super) fn write_str_header(out: &mut BytesMut, len: usize) -> Result<(), MsgpackError> {
    write_len(out, len, Some((0x20, 0xa0)), Some(0xd9), 0xda)
}

/// Binary: bin 8, bin 16 or bin 32, then the bytes.
fn write_bin(out: &mut BytesMut, bin: &[u8]) -> Result<(), MsgpackError> {
    write_len(out, bin.len(), None, Some(0xc4), 0xc5)?;
    out.put_slice(bin);
    Ok(())
}

/// An array (fixarray, array 16/32) or map (fixmap, map 16/32) header.
fn write_container_header(
    out: &mut BytesMut,
    count: usize,
    array: bool,
) -> Result<(), MsgpackError> {
    match array {
        true => write_len(out, count, Some((0x10, 0x90)), None, 0xdc),
        false => write_len(out, count, Some((0x10, 0x80)), None, 0xde),
    }
}
