//! Outgoing frames: Engine.IO packets encoded once, ready for either transport.
//!
//! A [`Frame`] is encoded when it is built and cloned by refcount afterwards, so a broadcast encodes
//! its packet once and hands every recipient the same bytes. Text frames hold the whole packet text
//! (`4hello`, `2`, `3probe`), which is both the websocket text frame and one element of a polling
//! payload. Binary frames hold the raw message bytes: a websocket binary frame as they are, `b` +
//! base64 inside a polling payload.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use oxio_protocol::engine_io::{Message, Packet, SEPARATOR};
use tokio_tungstenite::tungstenite;

/// An encoded Engine.IO packet. Cloning is a refcount increment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(FrameKind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum FrameKind {
    /// The packet's text form, type digit included.
    Text(tungstenite::Utf8Bytes),
    /// A binary message's bytes.
    Binary(Bytes),
}

impl Frame {
    pub(crate) const PING: Frame = Frame::control("2");
    pub(crate) const PONG_PROBE: Frame = Frame::control("3probe");
    pub(crate) const NOOP: Frame = Frame::control("6");
    pub(crate) const CLOSE: Frame = Frame::control("1");

    const fn control(text: &'static str) -> Frame {
        Frame(FrameKind::Text(tungstenite::Utf8Bytes::from_static(text)))
    }

    /// A text message: `4` followed by `text`.
    pub fn text(text: &str) -> Frame {
        let mut encoded = String::with_capacity(text.len() + 1);
        encoded.push('4');
        encoded.push_str(text);
        Frame(FrameKind::Text(encoded.into()))
    }

    /// A text message written by `write` straight into the frame, after the `4` this adds: for
    /// encoders that would otherwise build the text and copy it.
    ///
    /// # Panics
    /// If `write` appends bytes that are not UTF-8.
    pub fn text_with(capacity: usize, write: impl FnOnce(&mut BytesMut)) -> Frame {
        let mut out = BytesMut::with_capacity(capacity + 1);
        out.put_u8(b'4');
        write(&mut out);
        let text = tungstenite::Utf8Bytes::try_from(out.freeze())
            .expect("Frame::text_with: the writer must append UTF-8");
        Frame(FrameKind::Text(text))
    }

    /// A binary message.
    pub fn binary(bytes: Bytes) -> Frame {
        Frame(FrameKind::Binary(bytes))
    }

    /// Any Engine.IO packet.
    pub fn packet(packet: &Packet) -> Frame {
        if let Packet::Message(Message::Binary(bytes)) = packet {
            return Frame::binary(bytes.clone());
        }
        let mut encoded = BytesMut::with_capacity(packet.text_len());
        packet.encode_text(&mut encoded);
        let text = tungstenite::Utf8Bytes::try_from(encoded.freeze())
            .expect("the Engine.IO encoder writes UTF-8");
        Frame(FrameKind::Text(text))
    }

    /// The number of bytes the frame carries over websocket.
    pub fn len(&self) -> usize {
        match &self.0 {
            FrameKind::Text(text) => text.len(),
            FrameKind::Binary(bytes) => bytes.len(),
        }
    }

    /// The packet text of a text frame (`4hello`).
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            FrameKind::Text(text) => Some(text.as_str()),
            FrameKind::Binary(_) => None,
        }
    }

    /// The bytes of a binary message frame.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match &self.0 {
            FrameKind::Binary(bytes) => Some(bytes),
            FrameKind::Text(_) => None,
        }
    }

    /// Whether the frame is empty (never true for a built frame: a text frame has its type digit).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The websocket message for this frame (a refcount clone).
    pub(crate) fn to_websocket(&self) -> tungstenite::Message {
        match &self.0 {
            FrameKind::Text(text) => tungstenite::Message::Text(text.clone()),
            FrameKind::Binary(bytes) => tungstenite::Message::Binary(bytes.clone()),
        }
    }

    fn polling_len(&self) -> usize {
        match &self.0 {
            FrameKind::Text(text) => text.len(),
            FrameKind::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
        }
    }

    fn write_polling(&self, out: &mut BytesMut) {
        match &self.0 {
            FrameKind::Text(text) => out.put_slice(text.as_bytes()),
            FrameKind::Binary(bytes) => {
                out.put_u8(b'b');
                let start = out.len();
                let encoded_len = bytes.len().div_ceil(3) * 4;
                out.resize(start + encoded_len, 0);
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(bytes, &mut out[start..])
                    .expect("the slice was sized for the encoding");
                out.truncate(start + written);
            }
        }
    }
}

impl From<Message> for Frame {
    fn from(message: Message) -> Frame {
        match message {
            Message::Text(text) => Frame::text(text.as_str()),
            Message::Binary(bytes) => Frame::binary(bytes),
        }
    }
}

/// Joins frames into a v4 polling payload (`\x1e`-separated, binary as `b` + base64).
pub(crate) fn encode_polling_payload(frames: &[Frame]) -> Bytes {
    let len = frames.iter().map(|f| f.polling_len() + 1).sum::<usize>();
    let mut out = BytesMut::with_capacity(len);
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        frame.write_polling(&mut out);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxio_protocol::engine_io::decode_payload;

    #[test]
    fn text_frames_carry_the_type_digit() {
        assert_eq!(
            Frame::text("hello").to_websocket().to_text().ok(),
            Some("4hello")
        );
        assert_eq!(Frame::PING.len(), 1);
    }

    #[test]
    fn polling_payload_round_trips_through_the_decoder() {
        let frames = [
            Frame::text("hello"),
            Frame::binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::binary(Bytes::new()),
            Frame::NOOP,
        ];
        let payload = encode_polling_payload(&frames);
        assert_eq!(&payload[..], b"4hello\x1ebAQIDBA==\x1eb\x1e6");
        let decoded: Vec<_> = decode_payload(payload)
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(decoded.len(), 4);
        assert_eq!(decoded[3], Packet::Noop);
    }
}
