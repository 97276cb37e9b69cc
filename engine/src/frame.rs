//! Outgoing frames: Engine.IO packets encoded once, ready for either transport.
//!
//! A [`Frame`] is encoded when it is built and cloned by refcount afterwards, so a broadcast encodes
//! its packet once and hands every recipient the same bytes. Text frames hold the whole packet text
//! (`4hello`, `2`, `3probe`), which is both the payload of the websocket text frame and one element
//! of a polling payload. Binary frames hold the raw message bytes: a websocket binary frame as they
//! are, `b` + base64 inside a polling payload. Either is stored behind its websocket header, so the
//! websocket writer copies the frame to the socket without framing it per recipient.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use oxio_protocol::engine_io::{Message, Packet, SEPARATOR};

/// An encoded Engine.IO packet. Cloning is a refcount increment.
///
/// The bytes held are the whole websocket frame: its header, then the packet. Server frames are
/// not masked, so they are the same for every recipient: a broadcast frames its packet once and
/// the websocket writer copies them to the socket as they are. Polling uses the packet alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Websocket header (FIN + opcode, length), then the payload. Nothing else: a session's queue
    /// holds frames, and at 32 bytes two fit in a cache line (see [`Frame::written_header_len`]).
    wire: Bytes,
}

/// The longest websocket header of an unmasked frame (64-bit length).
const MAX_HEADER: usize = 10;
const TEXT: u8 = 0x81;
const BINARY: u8 = 0x82;

/// Writes the header of an unmasked final frame with `opcode_byte` and a payload of `len` bytes
/// at the end of `out` (whose length is the header's, see [`header_len`]).
fn write_header(out: &mut [u8], opcode_byte: u8, len: usize) {
    out[0] = opcode_byte;
    match out.len() {
        2 => out[1] = len as u8,
        4 => {
            out[1] = 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out[1] = 127;
            out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// The header length for a payload of `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => MAX_HEADER,
    }
}

impl Frame {
    pub(crate) const PING: Frame = Frame::control(b"\x81\x012");
    pub(crate) const PONG_PROBE: Frame = Frame::control(b"\x81\x063probe");
    pub(crate) const NOOP: Frame = Frame::control(b"\x81\x016");
    pub(crate) const CLOSE: Frame = Frame::control(b"\x81\x011");

    /// A short text frame, header included.
    const fn control(wire: &'static [u8]) -> Frame {
        Frame {
            wire: Bytes::from_static(wire),
        }
    }

    /// Frames what `fill` writes after `MAX_HEADER` reserved bytes of `out`, without copying it.
    fn framed(mut out: BytesMut, opcode_byte: u8) -> Frame {
        let len = out.len() - MAX_HEADER;
        let header = header_len(len);
        let start = MAX_HEADER - header;
        write_header(&mut out[start..MAX_HEADER], opcode_byte, len);
        let mut wire = out.freeze();
        bytes::Buf::advance(&mut wire, start);
        Frame { wire }
    }

    /// A buffer with room for the longest header and `capacity` bytes of payload.
    fn buffer(capacity: usize) -> BytesMut {
        let mut out = BytesMut::with_capacity(MAX_HEADER + capacity);
        out.put_bytes(0, MAX_HEADER);
        out
    }

    /// A text message: `4` followed by `text`.
    pub fn text(text: &str) -> Frame {
        Frame::text_with(text.len(), |out| out.copy_from_slice(text.as_bytes()))
    }

    /// A text message of `len` bytes after the `4` this adds, which `fill` writes straight into the
    /// frame (over zeros): for encoders that know their length (the `fill_*` functions of
    /// `oxio_protocol::socket_io`), one allocation of the exact size and no copy.
    ///
    /// `fill` must write UTF-8, as those encoders do (they write `&str`s and ASCII). That is checked
    /// in debug builds only, like [`Frame::packet`]'s text: in release builds the check would be a
    /// second pass over every message sent.
    ///
    /// # Panics
    /// In debug builds, if `fill` leaves bytes that are not UTF-8.
    pub fn text_with(len: usize, fill: impl FnOnce(&mut [u8])) -> Frame {
        // Not `BytesMut::zeroed`: calloc costs several times malloc and a memset of this size.
        let mut out = BytesMut::with_capacity(MAX_HEADER + 1 + len);
        out.resize(MAX_HEADER + 1 + len, 0);
        if let Some((start, text)) = out.split_at_mut_checked(MAX_HEADER + 1) {
            if let Some(four) = start.last_mut() {
                *four = b'4';
            }
            fill(text);
        }
        debug_assert!(
            std::str::from_utf8(&out[MAX_HEADER..]).is_ok(),
            "Frame::text_with: the text must be UTF-8"
        );
        Frame::framed(out, TEXT)
    }

    /// A binary message (its bytes are copied once, behind the websocket header).
    pub fn binary(bytes: Bytes) -> Frame {
        let mut out = Frame::buffer(bytes.len());
        out.put_slice(&bytes);
        Frame::framed(out, BINARY)
    }

    /// Any Engine.IO packet.
    pub fn packet(packet: &Packet) -> Frame {
        if let Packet::Message(Message::Binary(bytes)) = packet {
            return Frame::binary(bytes.clone());
        }
        let mut out = Frame::buffer(packet.text_len());
        packet.encode_text(&mut out);
        debug_assert!(std::str::from_utf8(&out[MAX_HEADER..]).is_ok());
        Frame::framed(out, TEXT)
    }

    /// The payload: the packet text of a text frame, the message of a binary one.
    fn payload(&self) -> &[u8] {
        &self.wire[self.written_header_len()..]
    }

    /// The length of the websocket header, read from its length byte (unmasked: no mask bit).
    fn written_header_len(&self) -> usize {
        match self.wire[1] {
            126 => 4,
            127 => MAX_HEADER,
            _ => 2,
        }
    }

    fn is_text(&self) -> bool {
        self.wire[0] == TEXT
    }

    /// The whole websocket frame, header included (the same bytes for every recipient).
    pub(crate) fn websocket_bytes(&self) -> &[u8] {
        &self.wire
    }

    /// The number of bytes the frame carries over websocket.
    pub fn len(&self) -> usize {
        self.wire.len() - self.written_header_len()
    }

    /// The packet text of a text frame (`4hello`).
    pub fn as_text(&self) -> Option<&str> {
        // Checked when built; checking again costs a scan but no unsafe code.
        self.is_text()
            .then(|| std::str::from_utf8(self.payload()).ok())
            .flatten()
    }

    /// The bytes of a binary message frame.
    pub fn as_binary(&self) -> Option<Bytes> {
        (!self.is_text()).then(|| self.wire.slice(self.written_header_len()..))
    }

    /// Whether the frame is empty (never true for a built frame: a text frame has its type digit).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn polling_len(&self) -> usize {
        if self.is_text() {
            self.len()
        } else {
            1 + self.len().div_ceil(3) * 4
        }
    }

    fn write_polling(&self, out: &mut BytesMut) {
        if self.is_text() {
            out.put_slice(self.payload());
            return;
        }
        let bytes = self.payload();
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
    fn two_frames_fit_in_a_cache_line() {
        assert_eq!(std::mem::size_of::<Frame>(), 32);
    }

    #[test]
    fn text_frames_carry_the_type_digit() {
        assert_eq!(Frame::text("hello").as_text(), Some("4hello"));
        assert_eq!(Frame::PING.len(), 1);
    }

    #[test]
    fn websocket_bytes_are_an_unmasked_final_frame() {
        for (len, header) in [
            (0, &[0x81, 1][..]),
            (124, &[0x81, 125]),
            (125, &[0x81, 126, 0, 126]),
            (0xfffe, &[0x81, 126, 0xff, 0xff]),
            (0xffff, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let frame = Frame::text(&"x".repeat(len));
            let wire = frame.websocket_bytes();
            assert_eq!(&wire[..header.len()], header, "text of {len} bytes");
            assert_eq!(wire.len(), header.len() + len + 1);
            assert_eq!(frame.len(), len + 1);
            assert_eq!(frame.as_text().map(str::len), Some(len + 1));
        }
        let binary = Frame::binary(Bytes::from_static(&[1, 2, 3]));
        assert_eq!(binary.websocket_bytes(), &[0x82, 3, 1, 2, 3]);
        assert_eq!(binary.as_binary(), Some(Bytes::from_static(&[1, 2, 3])));
        assert_eq!(binary.as_text(), None);
        let written = Frame::text_with(6, |out| out.copy_from_slice(b"2[\"e\"]"));
        assert_eq!(written.websocket_bytes(), b"\x81\x0742[\"e\"]" as &[u8]);
        assert_eq!(Frame::PONG_PROBE.as_text(), Some("3probe"));
        assert_eq!(Frame::PING.websocket_bytes(), b"\x81\x012");
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
