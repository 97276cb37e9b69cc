//! Socket.IO packets encoded once into engine frames, in the server's parser format.
//!
//! The default parser writes one text frame, then one binary frame per attachment; the msgpack
//! parser writes the whole packet as one binary frame. A broadcast encodes here once and hands
//! every recipient refcount clones of the same frames.

use bytes::BytesMut;
use oxio_engine::Frame;
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{self, Packet, PacketType, RawJson};
use smallvec::SmallVec;

use crate::error::{ConnectError, EmitError};
use crate::payload::Args;

/// The wire format of Socket.IO packets, chosen per server like Node's `parser` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parser {
    /// Node's default parser (`socket.io-parser`): JSON text, binary as attachments.
    #[default]
    Default,
    /// `socket.io-msgpack-parser`: each packet is one msgpack binary message.
    Msgpack,
}

/// An encoded packet: the frames to queue, in order.
#[derive(Clone, Debug)]
pub(crate) struct EncodedPacket {
    pub(crate) frames: SmallVec<[Frame; 1]>,
}

/// The arguments' serialization error, if one failed. Their text is JSON by construction (serde_json
/// wrote it, or the decoder cut it out of a checked packet), so it is written as it is.
fn check_args(args: &Args) -> Result<(), EmitError> {
    match args.error() {
        Some(error) => Err(EmitError::Serialize(error.to_owned())),
        None => Ok(()),
    }
}

fn text_with_attachments(text: Frame, args: &Args) -> EncodedPacket {
    let mut frames = smallvec::smallvec![text];
    // Most packets have none: skip the iterator's setup.
    if !args.attachments().is_empty() {
        frames.extend(args.attachments().iter().cloned().map(Frame::binary));
    }
    EncodedPacket { frames }
}

/// The JSON array `[event?, args...]` (the data of an event or ack, for msgpack and for other
/// nodes).
///
/// # Errors
/// The arguments' serialization error, if one failed.
pub(crate) fn data_array(event: Option<&str>, args: &Args) -> Result<Utf8Bytes, EmitError> {
    check_args(args)?;
    let mut data = String::from("[");
    if let Some(event) = event {
        data.push_str(&serde_json::Value::from(event).to_string());
    }
    for (i, arg) in args.raw().iter().enumerate() {
        if i > 0 || event.is_some() {
            data.push(',');
        }
        data.push_str(arg.as_str());
    }
    data.push(']');
    Ok(Utf8Bytes::from(data))
}

/// One msgpack binary frame for `packet`.
fn msgpack(packet: &Packet) -> Result<EncodedPacket, EmitError> {
    let mut out = BytesMut::new();
    oxio_protocol::msgpack::encode(packet, &mut out)
        .map_err(|error| EmitError::Serialize(error.to_string()))?;
    let mut frames = SmallVec::new();
    frames.push(Frame::binary(out.freeze()));
    Ok(EncodedPacket { frames })
}

fn packet(kind: PacketType, namespace: &str, id: Option<u64>, data: Option<Utf8Bytes>) -> Packet {
    let mut packet = Packet::new(kind, Utf8Bytes::from(namespace.to_owned()));
    packet.id = id;
    packet.data = data;
    packet
}

/// An EVENT (BINARY_EVENT with attachments): `2[/nsp,][id]["event",...args]`.
pub(crate) fn event(
    parser: Parser,
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &Args,
) -> Result<EncodedPacket, EmitError> {
    check_args(args)?;
    let attachments = args.attachments().len();
    match parser {
        Parser::Default => {
            let len = socket_io::binary_event_len(namespace, id, event, args.raw(), attachments);
            let text = Frame::text_with(len, |out| {
                socket_io::fill_binary_event(out, namespace, id, event, args.raw(), attachments);
            });
            Ok(text_with_attachments(text, args))
        }
        Parser::Msgpack => {
            let data = data_array(Some(event), args)?;
            msgpack(
                &packet(PacketType::Event, namespace, id, Some(data))
                    .with_attachments(args.attachments().to_vec()),
            )
        }
    }
}

/// An ACK (BINARY_ACK with attachments): `3[/nsp,]id[...args]`.
pub(crate) fn ack(
    parser: Parser,
    namespace: &str,
    id: u64,
    args: &Args,
) -> Result<EncodedPacket, EmitError> {
    check_args(args)?;
    let attachments = args.attachments().len();
    match parser {
        Parser::Default => {
            let len = socket_io::binary_ack_len(namespace, id, args.raw(), attachments);
            let text = Frame::text_with(len, |out| {
                socket_io::fill_binary_ack(out, namespace, id, args.raw(), attachments);
            });
            Ok(text_with_attachments(text, args))
        }
        Parser::Msgpack => {
            let data = data_array(None, args)?;
            msgpack(
                &packet(PacketType::Ack, namespace, Some(id), Some(data))
                    .with_attachments(args.attachments().to_vec()),
            )
        }
    }
}

/// A packet without arguments or attachments (CONNECT, CONNECT_ERROR, DISCONNECT): `text_len` and
/// `fill_text` give the default parser's text from the data; msgpack encodes the same packet.
fn control(
    parser: Parser,
    kind: PacketType,
    namespace: &str,
    data: Option<String>,
    text_len: impl FnOnce(Option<&RawJson>) -> usize,
    fill_text: impl FnOnce(&mut [u8], Option<&RawJson>),
) -> EncodedPacket {
    match parser {
        Parser::Default => {
            let data = data.as_deref().map(raw_json);
            let text = Frame::text_with(text_len(data), |out| fill_text(out, data));
            text_with_attachments(text, &Args::new())
        }
        Parser::Msgpack => msgpack(&packet(kind, namespace, None, data.map(Utf8Bytes::from)))
            .expect("control packets hold JSON the encoder accepts"),
    }
}

/// JSON text serde_json wrote, as raw JSON.
fn raw_json(text: &str) -> &RawJson {
    serde_json::from_str(text).expect("serde_json wrote it")
}

/// The server's CONNECT: `0[/nsp,]{"sid":...[,"pid":...]}`.
pub(crate) fn connect(
    parser: Parser,
    namespace: &str,
    sid: &str,
    pid: Option<&str>,
) -> EncodedPacket {
    /// The CONNECT's data, serialized straight to text (no `serde_json::Value` on the way).
    #[derive(serde::Serialize)]
    struct ConnectData<'a> {
        sid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<&'a str>,
    }
    let data =
        serde_json::to_string(&ConnectData { sid, pid }).expect("two strings always serialize");
    control(
        parser,
        PacketType::Connect,
        namespace,
        Some(data),
        |data| socket_io::connect_len(namespace, data),
        |out, data| socket_io::fill_connect(out, namespace, data),
    )
}

/// CONNECT_ERROR: `4[/nsp,]{"message":...[,"data":...]}`.
pub(crate) fn connect_error(
    parser: Parser,
    namespace: &str,
    error: &ConnectError,
) -> EncodedPacket {
    let object = match &error.data {
        Some(data) => serde_json::json!({ "message": error.message, "data": data }),
        None => serde_json::json!({ "message": error.message }),
    };
    // The text writes the message and the data itself (the object above is msgpack's).
    let data = error.data.as_ref().map(|data| data.to_string());
    let data = data.as_deref().map(raw_json);
    control(
        parser,
        PacketType::ConnectError,
        namespace,
        Some(object.to_string()),
        |_| socket_io::connect_error_len(namespace, &error.message, data),
        |out, _| socket_io::fill_connect_error(out, namespace, &error.message, data),
    )
}

/// DISCONNECT: `1[/nsp,]`.
pub(crate) fn disconnect(parser: Parser, namespace: &str) -> EncodedPacket {
    control(
        parser,
        PacketType::Disconnect,
        namespace,
        None,
        |_| socket_io::disconnect_len(namespace),
        |out, _| socket_io::fill_disconnect(out, namespace),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Engine.IO packet text (`4` + the Socket.IO packet).
    fn text(packet: &EncodedPacket) -> &str {
        packet.frames[0].as_text().expect("a text frame")
    }

    #[test]
    fn default_parser_matches_node() {
        let error = ConnectError::new("nope").with_data(serde_json::json!({"code": 1}));
        assert_eq!(
            text(&connect_error(Parser::Default, "/admin", &error)),
            r#"44/admin,{"message":"nope","data":{"code":1}}"#
        );
        assert_eq!(text(&disconnect(Parser::Default, "/")), "41");
        assert_eq!(
            text(&connect(Parser::Default, "/", "abc", None)),
            r#"40{"sid":"abc"}"#
        );
        let args = Args::new().arg(&1).binary(bytes::Bytes::from_static(b"x"));
        let packet = event(Parser::Default, "/", Some(3), "e", &args).expect("encodes");
        assert_eq!(packet.frames.len(), 2);
        assert_eq!(
            text(&packet),
            r#"451-3["e",1,{"_placeholder":true,"num":0}]"#
        );
    }

    #[test]
    fn msgpack_parser_round_trips_through_the_decoder() {
        let args = Args::new()
            .arg("a")
            .binary(bytes::Bytes::from_static(b"\x01\x02"));
        let packet = event(Parser::Msgpack, "/chat", Some(7), "e", &args).expect("encodes");
        assert_eq!(packet.frames.len(), 1);
        let bytes = packet.frames[0].as_binary().expect("one binary frame");
        let decoded =
            oxio_protocol::msgpack::decode_bytes(&bytes, &Default::default()).expect("decodes");
        assert_eq!(decoded.namespace.as_str(), "/chat");
        assert_eq!(decoded.id, Some(7));
        assert_eq!(
            decoded.attachments,
            [bytes::Bytes::from_static(b"\x01\x02")]
        );
    }
}
