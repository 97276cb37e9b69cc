//! Engine.IO v4 HTTP long-polling payloads: packets joined by the record separator `0x1e`.
//!
//! Invariants:
//! - A payload is one or more elements separated by [`SEPARATOR`]; each element is the text form of one
//!   packet ([`Packet::encode_text`]), a binary message being `b` + base64. An empty body, an empty
//!   element (`"4a\x1e\x1e4b"`, or a trailing separator) is an error, as Node's `decodePayload` makes
//!   it (Node's `decodePacket("")` is an error packet).
//! - [`PayloadDecoder`] yields packets in order; on the first malformed element it yields that one
//!   error and then only `None` (it is fused). Packets before the error are still yielded.
//! - Decoding borrows: each element is a [`Bytes::slice`] of the body; only base64 binary messages
//!   allocate. The decoder itself holds one `Bytes` and never allocates.
//! - [`encode_payload`] writes exactly [`payload_len`] bytes.

use std::iter::FusedIterator;

use bytes::{Buf, BufMut, Bytes};

use super::{DecodeError, Packet, SEPARATOR};

/// Iterator over the packets of a v4 polling payload (the body of a polling POST, or of a GET response
/// as a client would decode it). Yields `Err` once and then `None` on the first malformed element.
///
/// Made by [`decode_payload`].
#[derive(Clone, Debug)]
pub struct PayloadDecoder {
    /// The undecoded rest of the body, starting at an element; `None` once done.
    rest: Option<Bytes>,
}

impl PayloadDecoder {
    /// The part of the body not decoded yet, starting at the next element; empty when done.
    #[must_use]
    pub fn remaining(&self) -> &[u8] {
        self.rest.as_deref().unwrap_or_default()
    }
}

/// Decodes a polling payload lazily, one element per [`Iterator::next`].
///
/// An empty body yields `Err(DecodeError::Empty)`.
#[must_use]
pub fn decode_payload(body: Bytes) -> PayloadDecoder {
    PayloadDecoder { rest: Some(body) }
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut rest = self.rest.take()?;
        let element = match memchr::memchr(SEPARATOR, &rest) {
            Some(i) => {
                let element = rest.split_to(i);
                // Drop the separator itself; what follows is the next element (maybe empty: an error).
                rest.advance(1);
                self.rest = Some(rest);
                element
            }
            None => rest,
        };
        let packet = Packet::decode_text(element);
        if packet.is_err() {
            self.rest = None;
        }
        Some(packet)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.rest {
            // Every element but an erroneous last one takes at least 2 bytes with its separator.
            Some(rest) => (1, Some(rest.len() / 2 + 1)),
            None => (0, Some(0)),
        }
    }
}

impl FusedIterator for PayloadDecoder {}

/// Joins the text forms of `packets` with [`SEPARATOR`] (`0x1e`), binary messages as `b` + base64.
/// Writes exactly [`payload_len`] bytes; nothing for no packets.
///
/// A text (message, open, ping or pong data) that contains the byte `0x1e` cannot be carried in a
/// polling payload: it is written as is, and the receiver splits it there (Node's parser does the
/// same). Socket.IO never sends one, as JSON escapes control characters, but a raw Engine.IO user must
/// send such text over a websocket or as a binary message. Zero packets also cannot be carried: an
/// empty body does not decode.
///
/// # Panics
/// Only as [`BufMut::put_slice`] does, if `out` cannot grow to take the payload.
pub fn encode_payload<'a, I, B>(packets: I, out: &mut B)
where
    I: IntoIterator<Item = &'a Packet>,
    B: BufMut,
{
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        packet.encode_text(out);
    }
}

/// Number of bytes [`encode_payload`] writes for `packets`.
#[must_use]
pub fn payload_len<'a, I>(packets: I) -> usize
where
    I: IntoIterator<Item = &'a Packet>,
{
    packets
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.text_len() + usize::from(i > 0))
        .sum()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{decode_payload, encode_payload, payload_len};
    use crate::engine_io::{DecodeError, Message, Packet, Utf8Bytes};

    fn decode_all(body: &'static [u8]) -> Vec<Result<Packet, DecodeError>> {
        decode_payload(Bytes::from_static(body)).collect()
    }

    fn text(s: &'static str) -> Packet {
        Packet::Message(Message::Text(Utf8Bytes::from_static(s)))
    }

    #[test]
    fn three_text_messages() {
        assert_eq!(
            decode_all(b"4test1\x1e4test2\x1e4test3"),
            vec![Ok(text("test1")), Ok(text("test2")), Ok(text("test3"))]
        );
    }

    #[test]
    fn text_and_binary() {
        let binary = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        assert_eq!(
            decode_all(b"4hello\x1ebAQIDBA=="),
            vec![Ok(text("hello")), Ok(binary.clone())]
        );
        let packets = [text("hello"), binary];
        let mut out = Vec::new();
        encode_payload(&packets, &mut out);
        assert_eq!(out, b"4hello\x1ebAQIDBA==");
        assert_eq!(payload_len(&packets), out.len());
    }

    #[test]
    fn every_packet_type_in_one_payload() {
        let body = b"0{\"sid\":\"x\"}\x1e1\x1e2probe\x1e3\x1e4\x1e5\x1e6\x1eAA==".as_slice();
        let got: Vec<_> = decode_payload(Bytes::from_static(body)).collect();
        assert_eq!(
            got,
            vec![
                Ok(Packet::Open(Utf8Bytes::from_static("{\"sid\":\"x\"}"))),
                Ok(Packet::Close),
                Ok(Packet::Ping(Utf8Bytes::from_static("probe"))),
                Ok(Packet::Pong(Utf8Bytes::default())),
                Ok(text("")),
                Ok(Packet::Upgrade),
                Ok(Packet::Noop),
                Err(DecodeError::UnknownPacketType(b'A')),
            ]
        );
    }

    #[test]
    fn empty_body_is_an_error() {
        assert_eq!(decode_all(b""), vec![Err(DecodeError::Empty)]);
    }

    #[test]
    fn empty_element_is_an_error_and_ends_decoding() {
        assert_eq!(
            decode_all(b"4a\x1e\x1e4b"),
            vec![Ok(text("a")), Err(DecodeError::Empty)]
        );
        assert_eq!(
            decode_all(b"4a\x1e"),
            vec![Ok(text("a")), Err(DecodeError::Empty)]
        );
        assert_eq!(decode_all(b"\x1e4a"), vec![Err(DecodeError::Empty)]);
    }

    #[test]
    fn errors_inside_a_payload() {
        assert_eq!(
            decode_all(b"4ok\x1eb!!!\x1e4never"),
            vec![Ok(text("ok")), Err(DecodeError::InvalidBase64)]
        );
        assert_eq!(
            decode_all(b"4ok\x1e4bad\xff\xfe\x1e4never"),
            vec![Ok(text("ok")), Err(DecodeError::InvalidUtf8)]
        );
        assert_eq!(
            decode_all(b"7\x1e4never"),
            vec![Err(DecodeError::UnknownPacketType(b'7'))]
        );
    }

    #[test]
    fn fused_after_error_and_after_end() {
        let mut it = decode_payload(Bytes::from_static(b"9\x1e4a"));
        assert_eq!(it.size_hint(), (1, Some(3)));
        assert_eq!(it.next(), Some(Err(DecodeError::UnknownPacketType(b'9'))));
        assert_eq!(it.remaining(), b"");
        assert_eq!(it.size_hint(), (0, Some(0)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        let mut it = decode_payload(Bytes::from_static(b"6"));
        assert_eq!(it.next(), Some(Ok(Packet::Noop)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn remaining_tracks_position() {
        let mut it = decode_payload(Bytes::from_static(b"4a\x1e4b"));
        assert_eq!(it.remaining(), b"4a\x1e4b");
        it.next();
        assert_eq!(it.remaining(), b"4b");
    }

    #[test]
    fn decoded_text_shares_the_body() {
        let body = Bytes::from(b"4first\x1e2probe\x1e0{}".to_vec());
        let range = body.as_ptr_range();
        for packet in decode_payload(body.clone()) {
            let data = match packet.unwrap() {
                Packet::Message(Message::Text(t)) | Packet::Ping(t) | Packet::Open(t) => t,
                other => panic!("unexpected {other:?}"),
            };
            assert!(
                range.contains(&data.as_bytes().as_ptr()),
                "{data:?} was copied"
            );
        }
    }

    #[test]
    fn encode_nothing_and_one() {
        let mut out = Vec::new();
        encode_payload([], &mut out);
        assert!(out.is_empty());
        assert_eq!(payload_len([]), 0);
        encode_payload(&[Packet::Noop], &mut out);
        assert_eq!(out, b"6");
        assert_eq!(payload_len(&[Packet::Noop]), 1);
    }
}
