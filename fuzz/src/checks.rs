//! The checks the Socket.IO fuzz targets make, shared with `protocol/tests/fuzz_corpus.rs` (which
//! includes this file with `#[path]`, so it uses only `oxio_protocol`, `bytes` and `serde_json`).

use bytes::Bytes;
use oxio_protocol::engine_io::{self, Message, Utf8Bytes};
use oxio_protocol::socket_io::{
    DecodeError, DecodeLimits, Decoded, MAX_ACK_ID, Packet, Reassembly, is_placeholder,
};

/// Small limits, to reach the limit checks with small inputs.
pub const TINY: DecodeLimits = DecodeLimits {
    max_attachments: 3,
    max_namespace_len: 8,
};

/// The attachment count a Socket.IO text announces (`<5|6><digits>-`, read independently of the
/// decoder); 0 for other texts or an unreadable count.
#[must_use]
pub fn announced(text: &str) -> usize {
    let Some(rest) = text.strip_prefix(['5', '6']) else {
        return 0;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..digits).and_then(|d| d.parse().ok()).unwrap_or(0)
}

/// Checks the invariants of a decoded packet, complete with the `announced` attachments.
pub fn check_decoded(p: &Packet, limits: &DecodeLimits, announced: usize) {
    assert!(p.namespace.starts_with('/'), "{p:?}");
    assert!(!p.namespace.contains(','), "{p:?}");
    assert!(
        p.namespace.len() <= limits.max_namespace_len.max(1),
        "{p:?}"
    );
    assert!(p.id.is_none_or(|id| id <= MAX_ACK_ID), "{p:?}");
    assert_eq!(p.attachments.len(), announced, "{p:?}");
    assert_eq!(p.packet_type.is_binary(), announced > 0, "{p:?}");
    assert!(announced <= limits.max_attachments);
    if p.packet_type.is_ack() {
        assert!(p.id.is_some(), "{p:?}");
    }
    let name = p.event_name();
    let args = p.args();
    assert_eq!(name.is_some(), p.packet_type.is_event(), "{p:?}");
    if p.packet_type.is_event() || p.packet_type.is_ack() {
        let args = args.unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let data = p.data.as_ref().expect("events and acks have data");
        let elements = match serde_json::from_str::<serde_json::Value>(data) {
            Ok(serde_json::Value::Array(a)) => Some(a.len()),
            _ => None, // Deeper than serde_json's recursion limit.
        };
        if let Some(n) = elements {
            assert_eq!(
                args.len() + usize::from(p.packet_type.is_event()),
                n,
                "{p:?}"
            );
        }
        for arg in &args {
            // Every argument is a slice of the data.
            let start = (arg.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
            assert!(
                start
                    .checked_add(arg.len())
                    .is_some_and(|end| end <= data.len())
            );
            if let Some(i) = is_placeholder(arg).filter(|_| announced > 0) {
                assert!(i < announced, "{p:?}");
            }
        }
    } else {
        assert!(args.is_err());
    }
}

/// Encodes `p` and decodes it back (text, then attachments): the normalized packet.
pub fn round_trip(p: &Packet, limits: &DecodeLimits) {
    let text = p.to_text();
    assert_eq!(text.len(), p.encoded_len());
    let mut decoder = Reassembly::new(*limits);
    let mut done = decoder
        .push_text(text.clone())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    for a in &p.attachments {
        assert!(done.is_none());
        done = decoder.push_binary(a.clone()).expect("attachment");
    }
    assert_eq!(done.as_ref(), Some(&p.clone().normalized()), "{text:?}");
}

/// `Packet::decode_text` on `text` with `limits`; what decodes (with made-up attachments) is checked
/// and round-tripped.
pub fn check_text(text: &Utf8Bytes, limits: &DecodeLimits) {
    match Packet::decode_text(text.clone(), limits) {
        Err(_) => {}
        Ok(Decoded::Complete(p)) => {
            assert!(!p.packet_type.is_binary());
            check_decoded(&p, limits, 0);
            round_trip(&p, limits);
        }
        Ok(Decoded::NeedsAttachments(mut partial)) => {
            let expected = partial.expected();
            assert!(expected >= 1 && expected <= limits.max_attachments);
            assert_eq!(expected, announced(text));
            assert_eq!(partial.remaining(), expected);
            let mut done = None;
            for i in 0..expected {
                assert!(done.is_none());
                done = partial.push_attachment(Bytes::from(vec![i as u8; i]));
            }
            let p = done.expect("complete after the announced attachments");
            assert_eq!(partial.remaining(), 0);
            assert!(partial.push_attachment(Bytes::new()).is_none());
            check_decoded(&p, limits, expected);
            round_trip(&p, limits);
        }
    }
}

/// One message to a [`Reassembly`].
#[derive(Clone, Debug)]
pub enum Input {
    /// `push_text`.
    Text(String),
    /// `push_binary`.
    Binary(Bytes),
    /// `reset`.
    Reset,
}

/// Feeds `inputs` to one [`Reassembly`] and checks it against a model: one pending packet at a time;
/// a text while one is pending, or a binary without one, is an error that leaves nothing pending;
/// every completed packet has the attachments its header announced, in the order pushed.
/// Returns the completed packets.
pub fn reassembly_model(
    limits: DecodeLimits,
    inputs: impl IntoIterator<Item = Input>,
) -> Vec<Packet> {
    let mut decoder = Reassembly::new(limits);
    assert_eq!(decoder.limits(), &limits);
    let mut done = Vec::new();
    // The pending packet's text, announced count, and attachments so far.
    let mut pending: Option<(String, usize, Vec<Bytes>)> = None;
    for input in inputs {
        match input {
            Input::Reset => {
                decoder.reset();
                pending = None;
                assert!(decoder.pending().is_none());
            }
            Input::Binary(b) => {
                let result = decoder.push_binary(b.clone());
                let Some((text, count, mut atts)) = pending.take() else {
                    assert_eq!(result, Err(DecodeError::UnexpectedAttachment));
                    assert!(decoder.pending().is_none());
                    continue;
                };
                atts.push(b);
                match result {
                    Ok(Some(p)) => {
                        assert_eq!(atts.len(), count, "{text:?}");
                        assert_eq!(p.attachments, atts, "{text:?}");
                        assert!(decoder.pending().is_none());
                        check_decoded(&p, &limits, count);
                        done.push(p);
                    }
                    Ok(None) => {
                        assert!(atts.len() < count, "{text:?}");
                        let partial = decoder.pending().expect("still pending");
                        assert_eq!(partial.expected(), count);
                        assert_eq!(partial.remaining(), count - atts.len());
                        assert_eq!(partial.packet().map(|p| &p.attachments), Some(&atts));
                        pending = Some((text, count, atts));
                    }
                    Err(e) => panic!("attachment refused while pending: {e}"),
                }
            }
            Input::Text(text) => {
                let result = decoder.push_text(Utf8Bytes::from(text.clone()));
                if pending.take().is_some() {
                    assert_eq!(result, Err(DecodeError::AttachmentsPending));
                    assert!(decoder.pending().is_none());
                    continue;
                }
                let alone = Packet::decode_text(Utf8Bytes::from(text.clone()), &limits);
                assert_eq!(result.as_ref().err(), alone.as_ref().err());
                match result {
                    Ok(Some(p)) => {
                        assert!(decoder.pending().is_none());
                        check_decoded(&p, &limits, 0);
                        done.push(p);
                    }
                    Ok(None) => {
                        let count = announced(&text);
                        assert!(count >= 1 && count <= limits.max_attachments, "{text:?}");
                        let partial = decoder.pending().expect("pending");
                        assert_eq!(partial.expected(), count);
                        pending = Some((text, count, Vec::new()));
                    }
                    Err(_) => assert!(decoder.pending().is_none()),
                }
            }
        }
    }
    done
}

/// The server's websocket receive path: a text frame goes through `engine_io::Packet::decode_text`,
/// a binary frame through `decode_binary`; an Engine.IO message then goes to the connection's
/// [`Reassembly`] (text: `push_text`; binary, including a `b<base64>` text frame: `push_binary`).
/// The first error of either layer ends the connection, as in the server. Returns the packets, each
/// checked to carry the attachments its header announced (the binary messages that followed it).
pub fn receive(
    frames: impl IntoIterator<Item = (bool, Bytes)>,
    limits: DecodeLimits,
) -> Vec<Packet> {
    let mut decoder = Reassembly::new(limits);
    let mut out = Vec::new();
    let mut announced_count = 0;
    let mut binaries = Vec::new();
    for (is_text, bytes) in frames {
        let packet = if is_text {
            match engine_io::Packet::decode_text(bytes) {
                Ok(p) => p,
                Err(_) => break,
            }
        } else {
            engine_io::Packet::decode_binary(bytes)
        };
        let result = match packet {
            engine_io::Packet::Message(Message::Text(text)) => {
                announced_count = announced(&text);
                binaries.clear();
                decoder.push_text(text)
            }
            engine_io::Packet::Message(Message::Binary(bytes)) => {
                binaries.push(bytes.clone());
                decoder.push_binary(bytes)
            }
            // Open, ping, pong, close, upgrade, noop: the engine's business.
            _ => continue,
        };
        match result {
            Ok(Some(p)) => {
                assert_eq!(p.attachments, binaries, "{p:?}");
                check_decoded(&p, &limits, announced_count);
                out.push(p);
            }
            Ok(None) => assert!(announced_count > 0),
            Err(_) => break,
        }
    }
    out
}

/// [`receive`], then sends every packet back the way the server would (socket.io text in an
/// Engine.IO message frame, attachments as binary frames) through [`receive`] again: the same
/// packet, normalized.
pub fn websocket_path(frames: Vec<(bool, Bytes)>, limits: DecodeLimits) {
    for p in receive(frames, limits) {
        let text = engine_io::Packet::Message(Message::Text(p.to_text()));
        let mut frames = vec![(true, Bytes::from(text.to_text()))];
        frames.extend(p.attachments.iter().map(|a| (false, a.clone())));
        let again = receive(frames, limits);
        assert_eq!(again, [p.clone().normalized()], "{p:?}");
    }
}

/// Tiny msgpack limits, to reach the limit checks with small inputs.
pub const TINY_MSGPACK: oxio_protocol::msgpack::MsgpackLimits =
    oxio_protocol::msgpack::MsgpackLimits {
        max_depth: 3,
        max_attachments: 2,
        max_namespace_len: 6,
    };

/// `msgpack::decode` on arbitrary bytes: `decode_bytes` agrees; a decoded packet keeps the invariants
/// of a decoded packet, re-encodes (`msgpack::encode`) to bytes that decode to the same packet, and,
/// as JSON text with its attachments, decodes through the JSON codec to the same packet too.
pub fn check_msgpack(data: &[u8], limits: &oxio_protocol::msgpack::MsgpackLimits) {
    use oxio_protocol::msgpack;
    let decoded = msgpack::decode(data, limits);
    assert_eq!(
        msgpack::decode_bytes(&Bytes::copy_from_slice(data), limits),
        decoded
    );
    let Ok(p) = decoded else {
        return;
    };
    assert!(p.attachments.len() <= limits.max_attachments);
    let json_limits = DecodeLimits {
        max_attachments: limits.max_attachments,
        max_namespace_len: limits.max_namespace_len,
    };
    check_decoded(&p, &json_limits, p.attachments.len());
    assert_eq!(p.clone().normalized(), p);

    let mut out = bytes::BytesMut::new();
    msgpack::encode(&p, &mut out).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let again = msgpack::decode(&out, limits).unwrap_or_else(|e| panic!("{p:?} → {out:x?}: {e}"));
    assert_eq!(again, p, "{out:x?}");

    // The JSON codec reads the same packet from its text and attachments.
    round_trip(&p, &json_limits);
}
