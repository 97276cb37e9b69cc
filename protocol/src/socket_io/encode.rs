//! Encoding: [`Packet::encode`] for a whole packet, and `encode_*` functions that write a packet
//! straight from its parts (the server's hot path: no [`Packet`], no parsing of the arguments).
//!
//! Invariants:
//! - Every function writes one packet's text once, appending to `out` (nothing is cleared), and what
//!   it writes is valid UTF-8. [`Packet::encode`] writes exactly [`Packet::encoded_len`] bytes.
//! - Output matches Node's `Encoder` byte for byte (for arguments Node would serialize the same
//!   way): the namespace is written (followed by `,`) unless it is `/` or empty; the attachment count
//!   (followed by `-`) only for binary packets; names and messages are JSON-escaped by serde_json,
//!   which escapes the same characters `JSON.stringify` does.
//! - Arguments ([`JsonArg`]: a [`RawJson`], or JSON text known to be valid) are written as they are.
//!   Nothing is checked:
//!   a namespace that does not start with `/` or contains `,`, a reserved event name, or an ack id
//!   above [`MAX_ACK_ID`](super::MAX_ACK_ID) is written anyway, and will not decode.
//! - The hot-path writers ([`encode_binary_event`], [`encode_binary_ack`] and their shorthands)
//!   reserve nothing: a caller that wants one allocation sizes `out` with [`binary_event_len`] or
//!   [`binary_ack_len`] first, which the server does; the length is not computed twice.

use bytes::{BufMut, BytesMut};
use serde::Serialize;

use super::{Packet, PacketType};
use crate::engine_io::Utf8Bytes;

/// Raw JSON text, valid by construction: a borrowed `&RawJson` comes from
/// `serde_json::from_str::<&RawJson>`, an owned `Box<RawJson>` from `serde_json::value::to_raw_value`.
pub type RawJson = serde_json::value::RawValue;

/// One argument as JSON text, which the `encode_*` functions write as it is: nothing is checked.
///
/// Implemented by [`RawJson`] (valid by construction) and by [`Utf8Bytes`], for text known to be one
/// JSON value: an argument [`Packet::args`] cut out of a decoded packet, or what serde_json wrote.
/// Any other text makes a packet that will not decode.
pub trait JsonArg {
    /// The JSON text.
    fn json(&self) -> &str;
}

impl JsonArg for &RawJson {
    fn json(&self) -> &str {
        self.get()
    }
}

impl JsonArg for Utf8Bytes {
    fn json(&self) -> &str {
        self.as_str()
    }
}

impl Packet {
    /// Length in bytes of what [`Packet::encode`] writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let (_, count) = self.wire_type();
        header_len(count, &self.namespace, self.id) + self.data.as_ref().map_or(0, Utf8Bytes::len)
    }

    /// Appends the text of this packet to `out`: `<type>[<count>-][<namespace>,][<id>][<data>]`.
    /// The attachments themselves are not written: send them as binary messages after the text.
    ///
    /// The type comes from [`PacketType::for_attachments`]: an EVENT or ACK with attachments is sent
    /// as BINARY_EVENT/BINARY_ACK, and a BINARY_EVENT/BINARY_ACK without any as EVENT/ACK. Other types
    /// cannot carry attachments; theirs are ignored.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        let (packet_type, count) = self.wire_type();
        let mut pending = write_header(out, packet_type, count, &self.namespace, self.id);
        if let Some(data) = &self.data {
            pending.put_slice(data.as_bytes());
        }
        pending.flush();
    }

    /// The text of this packet, as [`Packet::encode`] writes it.
    #[must_use]
    pub fn to_text(&self) -> Utf8Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        Utf8Bytes::from_validated(out.freeze())
    }

    /// The type to write, and the attachment count to announce.
    fn wire_type(&self) -> (PacketType, usize) {
        let count = match self.packet_type {
            t if t.is_event() || t.is_ack() => self.attachments.len(),
            _ => 0,
        };
        (self.packet_type.for_attachments(count), count)
    }

    /// An EVENT `["event", args...]`. Add attachments with [`Packet::with_attachments`].
    #[must_use]
    pub fn event(namespace: Utf8Bytes, id: Option<u64>, event: &str, args: &[&RawJson]) -> Packet {
        let mut data = BytesMut::new();
        write_array(Pending::new(&mut data), Some(event), args);
        Packet {
            id,
            data: Some(Utf8Bytes::from_validated(data.freeze())),
            ..Packet::new(PacketType::Event, namespace)
        }
    }

    /// An ACK `[args...]` answering ack id `id`.
    #[must_use]
    pub fn ack(namespace: Utf8Bytes, id: u64, args: &[&RawJson]) -> Packet {
        let mut data = BytesMut::new();
        write_array(Pending::new(&mut data), None, args);
        Packet {
            id: Some(id),
            data: Some(Utf8Bytes::from_validated(data.freeze())),
            ..Packet::new(PacketType::Ack, namespace)
        }
    }

    /// A CONNECT, with `data` (the client's auth, or the server's `{"sid":...}`) if given.
    #[must_use]
    pub fn connect(namespace: Utf8Bytes, data: Option<&RawJson>) -> Packet {
        Packet {
            data: data.map(|d| Utf8Bytes::from(d.get().to_owned())),
            ..Packet::new(PacketType::Connect, namespace)
        }
    }

    /// A CONNECT_ERROR `{"message":...,"data":...}` (no `data` key when `data` is `None`).
    #[must_use]
    pub fn connect_error(namespace: Utf8Bytes, message: &str, data: Option<&RawJson>) -> Packet {
        let mut out = BytesMut::new();
        write_error_object(&mut out, message, data);
        Packet {
            data: Some(Utf8Bytes::from_validated(out.freeze())),
            ..Packet::new(PacketType::ConnectError, namespace)
        }
    }

    /// A DISCONNECT.
    #[must_use]
    pub fn disconnect(namespace: Utf8Bytes) -> Packet {
        Packet::new(PacketType::Disconnect, namespace)
    }
}

/// Appends an EVENT: `2[<namespace>,][<id>]["event",args...]`.
pub fn encode_event(
    out: &mut BytesMut,
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &[impl JsonArg],
) {
    encode_binary_event(out, namespace, id, event, args, 0);
}

/// Appends a BINARY_EVENT announcing `attachments` attachments (an EVENT if that is 0), whose `args`
/// hold the placeholders. Send the attachments as binary messages after it.
pub fn encode_binary_event(
    out: &mut BytesMut,
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &[impl JsonArg],
    attachments: usize,
) {
    let packet_type = PacketType::Event.for_attachments(attachments);
    let header = write_header(out, packet_type, attachments, namespace, id);
    write_array(header, Some(event), args);
}

/// Appends an ACK: `3[<namespace>,]<id>[args...]`.
pub fn encode_ack(out: &mut BytesMut, namespace: &str, id: u64, args: &[impl JsonArg]) {
    encode_binary_ack(out, namespace, id, args, 0);
}

/// Appends a BINARY_ACK announcing `attachments` attachments (an ACK if that is 0).
pub fn encode_binary_ack(
    out: &mut BytesMut,
    namespace: &str,
    id: u64,
    args: &[impl JsonArg],
    attachments: usize,
) {
    let packet_type = PacketType::Ack.for_attachments(attachments);
    let header = write_header(out, packet_type, attachments, namespace, Some(id));
    write_array(header, None, args);
}

/// The number of bytes [`encode_binary_event`] writes with these arguments, exactly when the event
/// name needs no JSON escaping (no `"`, `\` or control character), else a lower bound: for buffers
/// sized to what they will hold.
pub fn binary_event_len(
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &[impl JsonArg],
    attachments: usize,
) -> usize {
    header_len(attachments, namespace, id) + array_len(Some(event), args)
}

/// The number of bytes [`encode_binary_ack`] writes with these arguments, exactly.
pub fn binary_ack_len(
    namespace: &str,
    id: u64,
    args: &[impl JsonArg],
    attachments: usize,
) -> usize {
    header_len(attachments, namespace, Some(id)) + array_len(None, args)
}

/// Appends a CONNECT: `0[<namespace>,][<data>]`; the server's reply carries `{"sid":"..."}`.
pub fn encode_connect(out: &mut BytesMut, namespace: &str, data: Option<&RawJson>) {
    let data = data.map_or("", RawJson::get);
    out.reserve(header_len(0, namespace, None) + data.len());
    let mut pending = write_header(out, PacketType::Connect, 0, namespace, None);
    pending.put_slice(data.as_bytes());
}

/// Appends a CONNECT_ERROR: `4[<namespace>,]{"message":"...","data":...}`, without the `data` key
/// when `data` is `None` (as `JSON.stringify` drops an undefined `data`).
pub fn encode_connect_error(
    out: &mut BytesMut,
    namespace: &str,
    message: &str,
    data: Option<&RawJson>,
) {
    let mut pending = write_header(out, PacketType::ConnectError, 0, namespace, None);
    write_error_object(pending.out(), message, data);
}

/// Appends a DISCONNECT: `1[<namespace>,]`.
pub fn encode_disconnect(out: &mut BytesMut, namespace: &str) {
    write_header(out, PacketType::Disconnect, 0, namespace, None).flush();
}

/// Whether the namespace is written: Node leaves out `/` (and an empty one).
fn names_namespace(namespace: &str) -> bool {
    !namespace.is_empty() && namespace != "/"
}

/// Number of decimal digits of `n`.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

fn header_len(attachments: usize, namespace: &str, id: Option<u64>) -> usize {
    let count = match attachments {
        0 => 0,
        n => digits(n as u64) + 1,
    };
    let namespace = match names_namespace(namespace) {
        true => namespace.len() + 1,
        false => 0,
    };
    1 + count + namespace + id.map_or(0, digits)
}

/// Writes `<type>[<count>-][<namespace>,][<id>]`; what follows the namespace is left pending, for
/// the data's first bytes to join it.
fn write_header<'a>(
    out: &'a mut BytesMut,
    packet_type: PacketType,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
) -> Pending<'a> {
    let mut pending = Pending::new(out);
    pending.push(packet_type.as_byte());
    if attachments > 0 && packet_type.is_binary() {
        pending.push_u64(attachments as u64);
        pending.push(b'-');
    }
    if names_namespace(namespace) {
        pending.put_slice(namespace.as_bytes());
        pending.push(b',');
    }
    if let Some(id) = id {
        pending.push_u64(id);
    }
    pending
}

/// ASCII punctuation and digits gathered on the stack, so that they reach the output in one copy
/// rather than one each; anything longer is written through [`Pending::put_slice`], which writes
/// what is pending first. Nothing reaches the output before [`Pending::flush`] or `put_slice`.
struct Pending<'a> {
    out: &'a mut BytesMut,
    bytes: [u8; 32],
    len: usize,
}

impl<'a> Pending<'a> {
    fn new(out: &'a mut BytesMut) -> Pending<'a> {
        Pending {
            out,
            bytes: [0; 32],
            len: 0,
        }
    }

    /// The room left: a `u64` in decimal needs at most 20.
    fn room(&self) -> usize {
        self.bytes.len() - self.len
    }

    fn push(&mut self, byte: u8) {
        if self.room() == 0 {
            self.flush();
        }
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// Writes `n` in decimal, two digits per division.
    fn push_u64(&mut self, n: u64) {
        /// "00" to "99", each as two ASCII digits.
        const PAIRS: [u8; 200] = {
            let mut pairs = [0; 200];
            let mut i = 0;
            while i < 100 {
                pairs[2 * i] = b'0' + (i / 10) as u8;
                pairs[2 * i + 1] = b'0' + (i % 10) as u8;
                i += 1;
            }
            pairs
        };
        let len = digits(n);
        if self.room() < len {
            self.flush();
        }
        let mut rest = n;
        let mut end = self.len + len;
        while rest >= 100 {
            let pair = (rest % 100) as usize * 2;
            rest /= 100;
            self.bytes[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
            end -= 2;
        }
        if rest >= 10 {
            let pair = rest as usize * 2;
            self.bytes[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            self.bytes[end - 1] = b'0' + rest as u8;
        }
        self.len += len;
    }

    fn put_slice(&mut self, bytes: &[u8]) {
        self.flush();
        self.out.put_slice(bytes);
    }

    /// The output, after what is pending.
    fn out(&mut self) -> &mut BytesMut {
        self.flush();
        self.out
    }

    fn flush(&mut self) {
        if self.len > 0 {
            self.out.put_slice(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

impl Drop for Pending<'_> {
    /// Every writer flushes before it is done; bytes left here would be lost.
    fn drop(&mut self) {
        debug_assert_eq!(self.len, 0, "Pending dropped with bytes not written");
    }
}

/// Writes `s` as a JSON string literal.
fn write_json_str(out: &mut BytesMut, s: &str) {
    let mut ser = serde_json::Serializer::new(out.writer());
    // Writing to a `BytesMut` cannot fail, and serializing a `str` has no other error.
    let _ = s.serialize(&mut ser);
}

/// What [`write_array`] writes, exactly unless the name needs escaping (then a lower bound).
fn array_len(name: Option<&str>, args: &[impl JsonArg]) -> usize {
    let items = usize::from(name.is_some()) + args.len();
    let commas = items.saturating_sub(1);
    let name = name.map_or(0, |n| n.len() + 2);
    2 + name + commas + args.iter().map(|a| a.json().len()).sum::<usize>()
}

/// Writes `["name",args...]`, or `[args...]` without a name, after what `pending` holds.
fn write_array(mut pending: Pending<'_>, name: Option<&str>, args: &[impl JsonArg]) {
    pending.push(b'[');
    let mut first = true;
    if let Some(name) = name {
        write_json_str(pending.out(), name);
        first = false;
    }
    for arg in args {
        if !first {
            pending.push(b',');
        }
        first = false;
        pending.put_slice(arg.json().as_bytes());
    }
    pending.push(b']');
    pending.flush();
}

/// Writes `{"message":"...","data":...}`.
fn write_error_object(out: &mut BytesMut, message: &str, data: Option<&RawJson>) {
    out.put_slice(b"{\"message\":");
    write_json_str(out, message);
    if let Some(data) = data {
        out.put_slice(b",\"data\":");
        out.put_slice(data.get().as_bytes());
    }
    out.put_u8(b'}');
}
