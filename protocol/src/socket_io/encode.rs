//! Encoding: [`Packet::encode`] for a whole packet, and functions that write a packet straight from
//! its parts (the server's hot path: no [`Packet`], no parsing of the arguments).
//!
//! Invariants:
//! - Every function writes one packet's text once, front to back, into room sized to it in advance
//!   (see [`TextWriter`]), and what it writes is valid UTF-8. Appending functions grow `out` by
//!   exactly what they write (nothing is cleared); [`Packet::encode`] writes
//!   [`Packet::encoded_len`] bytes.
//! - Output matches Node's `Encoder` byte for byte (for arguments Node would serialize the same
//!   way): the namespace is written (followed by `,`) unless it is `/` or empty; the attachment count
//!   (followed by `-`) only for binary packets; names and messages are JSON-escaped as
//!   `JSON.stringify` escapes them (see [`TextWriter::json_str`]).
//! - Arguments ([`JsonArg`]: a [`RawJson`], or JSON text known to be valid) are written as they are.
//!   Nothing is checked:
//!   a namespace that does not start with `/` or contains `,`, a reserved event name, or an ack id
//!   above [`MAX_ACK_ID`](super::MAX_ACK_ID) is written anyway, and will not decode.
//! - Every packet the server sends has three functions: `*_len` (its exact length), `fill_*` (writes
//!   it over a slice of exactly that length: the server's frames are allocated at their size and
//!   filled in one pass) and `encode_*` (appends it to a `BytesMut`, grown once by that length).

use bytes::BytesMut;

use super::text_writer::{TextWriter, grow, json_str_len};
use super::{Packet, PacketType};
use crate::decimal;
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
        let (packet_type, count) = self.wire_type();
        let mut text = TextWriter::append(out, self.encoded_len());
        write_header(&mut text, packet_type, count, &self.namespace, self.id);
        if let Some(data) = &self.data {
            text.bytes(data.as_bytes());
        }
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
        let data = text_of(array_len(Some(event), args), |text| {
            write_array(text, Some(event), args);
        });
        Packet {
            id,
            data: Some(data),
            ..Packet::new(PacketType::Event, namespace)
        }
    }

    /// An ACK `[args...]` answering ack id `id`.
    #[must_use]
    pub fn ack(namespace: Utf8Bytes, id: u64, args: &[&RawJson]) -> Packet {
        let data = text_of(array_len(None, args), |text| write_array(text, None, args));
        Packet {
            id: Some(id),
            data: Some(data),
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
        let data = text_of(error_object_len(message, data), |text| {
            write_error_object(text, message, data);
        });
        Packet {
            data: Some(data),
            ..Packet::new(PacketType::ConnectError, namespace)
        }
    }

    /// A DISCONNECT.
    #[must_use]
    pub fn disconnect(namespace: Utf8Bytes) -> Packet {
        Packet::new(PacketType::Disconnect, namespace)
    }
}

/// The `len` bytes `write` writes, in a buffer of their own.
fn text_of(len: usize, write: impl FnOnce(&mut TextWriter<'_>)) -> Utf8Bytes {
    let mut out = BytesMut::with_capacity(len);
    write(&mut TextWriter::append(&mut out, len));
    Utf8Bytes::from_validated(out.freeze())
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
    let len = binary_event_len(namespace, id, event, args, attachments);
    fill_binary_event(grow(out, len), namespace, id, event, args, attachments);
}

/// [`encode_binary_event`] over `buf`, which must be [`binary_event_len`] bytes long.
pub fn fill_binary_event(
    buf: &mut [u8],
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &[impl JsonArg],
    attachments: usize,
) {
    let mut text = TextWriter::over(buf);
    let packet_type = PacketType::Event.for_attachments(attachments);
    write_header(&mut text, packet_type, attachments, namespace, id);
    write_array(&mut text, Some(event), args);
}

/// The number of bytes [`encode_binary_event`] writes with these arguments.
pub fn binary_event_len(
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &[impl JsonArg],
    attachments: usize,
) -> usize {
    header_len(attachments, namespace, id) + array_len(Some(event), args)
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
    let len = binary_ack_len(namespace, id, args, attachments);
    fill_binary_ack(grow(out, len), namespace, id, args, attachments);
}

/// [`encode_binary_ack`] over `buf`, which must be [`binary_ack_len`] bytes long.
pub fn fill_binary_ack(
    buf: &mut [u8],
    namespace: &str,
    id: u64,
    args: &[impl JsonArg],
    attachments: usize,
) {
    let mut text = TextWriter::over(buf);
    let packet_type = PacketType::Ack.for_attachments(attachments);
    write_header(&mut text, packet_type, attachments, namespace, Some(id));
    write_array(&mut text, None, args);
}

/// The number of bytes [`encode_binary_ack`] writes with these arguments.
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
    fill_connect(grow(out, connect_len(namespace, data)), namespace, data);
}

/// [`encode_connect`] over `buf`, which must be [`connect_len`] bytes long.
pub fn fill_connect(buf: &mut [u8], namespace: &str, data: Option<&RawJson>) {
    let mut text = TextWriter::over(buf);
    write_header(&mut text, PacketType::Connect, 0, namespace, None);
    text.bytes(data.map_or("", RawJson::get).as_bytes());
}

/// The number of bytes [`encode_connect`] writes.
pub fn connect_len(namespace: &str, data: Option<&RawJson>) -> usize {
    header_len(0, namespace, None) + data.map_or(0, |d| d.get().len())
}

/// Appends a CONNECT_ERROR: `4[<namespace>,]{"message":"...","data":...}`, without the `data` key
/// when `data` is `None` (as `JSON.stringify` drops an undefined `data`).
pub fn encode_connect_error(
    out: &mut BytesMut,
    namespace: &str,
    message: &str,
    data: Option<&RawJson>,
) {
    let len = connect_error_len(namespace, message, data);
    fill_connect_error(grow(out, len), namespace, message, data);
}

/// [`encode_connect_error`] over `buf`, which must be [`connect_error_len`] bytes long.
pub fn fill_connect_error(buf: &mut [u8], namespace: &str, message: &str, data: Option<&RawJson>) {
    let mut text = TextWriter::over(buf);
    write_header(&mut text, PacketType::ConnectError, 0, namespace, None);
    write_error_object(&mut text, message, data);
}

/// The number of bytes [`encode_connect_error`] writes.
pub fn connect_error_len(namespace: &str, message: &str, data: Option<&RawJson>) -> usize {
    header_len(0, namespace, None) + error_object_len(message, data)
}

/// Appends a DISCONNECT: `1[<namespace>,]`.
pub fn encode_disconnect(out: &mut BytesMut, namespace: &str) {
    fill_disconnect(grow(out, disconnect_len(namespace)), namespace);
}

/// [`encode_disconnect`] over `buf`, which must be [`disconnect_len`] bytes long.
pub fn fill_disconnect(buf: &mut [u8], namespace: &str) {
    write_header(
        &mut TextWriter::over(buf),
        PacketType::Disconnect,
        0,
        namespace,
        None,
    );
}

/// The number of bytes [`encode_disconnect`] writes.
pub fn disconnect_len(namespace: &str) -> usize {
    header_len(0, namespace, None)
}

/// Whether the namespace is written: Node leaves out `/` (and an empty one).
fn names_namespace(namespace: &str) -> bool {
    !namespace.is_empty() && namespace != "/"
}

fn header_len(attachments: usize, namespace: &str, id: Option<u64>) -> usize {
    let count = match attachments {
        0 => 0,
        n => decimal::len(n as u64) + 1,
    };
    let namespace = match names_namespace(namespace) {
        true => namespace.len() + 1,
        false => 0,
    };
    1 + count + namespace + id.map_or(0, decimal::len)
}

/// Writes `<type>[<count>-][<namespace>,][<id>]` ([`header_len`] bytes).
fn write_header(
    text: &mut TextWriter<'_>,
    packet_type: PacketType,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
) {
    text.byte(packet_type.as_byte());
    if attachments > 0 && packet_type.is_binary() {
        text.decimal(attachments as u64);
        text.byte(b'-');
    }
    if names_namespace(namespace) {
        text.bytes(namespace.as_bytes());
        text.byte(b',');
    }
    if let Some(id) = id {
        text.decimal(id);
    }
}

/// The number of bytes [`write_array`] writes.
fn array_len(name: Option<&str>, args: &[impl JsonArg]) -> usize {
    let items = usize::from(name.is_some()) + args.len();
    let commas = items.saturating_sub(1);
    let name = name.map_or(0, json_str_len);
    2 + name + commas + args.iter().map(|a| a.json().len()).sum::<usize>()
}

/// Writes `["name",args...]`, or `[args...]` without a name.
fn write_array(text: &mut TextWriter<'_>, name: Option<&str>, args: &[impl JsonArg]) {
    text.byte(b'[');
    if let Some(name) = name {
        text.json_str(name);
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 || name.is_some() {
            text.byte(b',');
        }
        text.bytes(arg.json().as_bytes());
    }
    text.byte(b']');
}

/// The number of bytes [`write_error_object`] writes.
fn error_object_len(message: &str, data: Option<&RawJson>) -> usize {
    const PUNCTUATION: usize = r#"{"message":}"#.len();
    const DATA_KEY: usize = r#","data":"#.len();
    PUNCTUATION + json_str_len(message) + data.map_or(0, |d| DATA_KEY + d.get().len())
}

/// Writes `{"message":"...","data":...}`.
fn write_error_object(text: &mut TextWriter<'_>, message: &str, data: Option<&RawJson>) {
    text.bytes(br#"{"message":"#);
    text.json_str(message);
    if let Some(data) = data {
        text.bytes(br#","data":"#);
        text.bytes(data.get().as_bytes());
    }
    text.byte(b'}');
}
