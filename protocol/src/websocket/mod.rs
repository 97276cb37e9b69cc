//! RFC 6455 websocket frames as a server reads them from a client, and the frames a server writes.
//!
//! [`FrameDecoder::decode`] looks at the start of the bytes received so far and either asks for more
//! or consumes one whole frame. Data frames are joined into messages (a message may be split into
//! fragments, with control frames between them); control frames come out on their own. Every rule a
//! server enforces on a client's frames is checked, each failure with the close code the server
//! answers it with ([`FrameError::close_code`], as Node's `ws` does): reserved bits, unknown
//! opcodes, unmasked frames, fragmented or long control frames, continuation out of place, messages
//! over the limit or lengths beyond 2^53 - 1 (1009), text that is not UTF-8 (1007), malformed close
//! frames.
//!
//! Invariants: a frame's length is checked against the message limit (together with the fragments
//! already joined) as soon as its header is complete, before the caller is asked to buffer it, so
//! neither the caller's buffer nor a message in progress grows past `max_message` plus one header;
//! nothing is allocated from a length field. Server frames ([`server_frame`]) are unmasked and final.

use bytes::Bytes;

use crate::engine_io::Utf8Bytes;
use mask::{unmask, unmask_into, unmasked_bytes};

mod mask;
pub use mask::mask_in_place;

/// Continuation frame opcode.
pub const CONTINUATION: u8 = 0;
/// Text frame opcode.
pub const TEXT: u8 = 1;
/// Binary frame opcode.
pub const BINARY: u8 = 2;
/// Close frame opcode.
pub const CLOSE: u8 = 8;
/// Ping frame opcode.
pub const PING: u8 = 9;
/// Pong frame opcode.
pub const PONG: u8 = 10;

/// The longest header a client frame can have: 2 bytes, a 64-bit length, the mask.
pub const MAX_HEADER: usize = 14;

/// A message or control frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text message (all its fragments), validated as UTF-8.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping; the server answers with a pong carrying the same payload.
    Ping(Bytes),
    /// A pong (unsolicited or not: nothing to do).
    Pong(Bytes),
    /// The client closes: its status code and reason, if it sent one.
    Close(Option<CloseFrame>),
}

/// The status code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code (a valid one: see [`is_valid_close_code`]).
    pub code: u16,
    /// The reason, possibly empty.
    pub reason: Utf8Bytes,
}

/// What [`FrameDecoder::decode`] found at the start of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The frame is not complete: more bytes are needed. `frame_len` is the whole frame's length
    /// (header included) once the header is complete; it is within the message limit.
    NeedMore {
        /// Total length of the frame, when its header is complete.
        frame_len: Option<usize>,
    },
    /// One whole frame of `len` bytes was consumed; it completed `message`, or was a fragment of
    /// one still in progress (`None`).
    Frame {
        /// Bytes consumed from the input.
        len: usize,
        /// The message or control frame it completed.
        message: Option<Incoming>,
    },
}

/// Why a client's frames are refused. The connection is then closed with [`FrameError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// RSV1–3 set, with no extension negotiated.
    ReservedBits,
    /// An opcode RFC 6455 does not define.
    UnknownOpcode(u8),
    /// A client frame without a mask.
    Unmasked,
    /// A control frame without FIN.
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload.
    ControlTooLong,
    /// A continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress.
    MessageInterrupted,
    /// A 64-bit length with its high bit set (or beyond 2^53 - 1, as Node's `ws` refuses).
    InvalidLength,
    /// The message (all fragments so far) exceeds the limit.
    TooBig,
    /// A text message, or a close reason, that is not UTF-8.
    InvalidUtf8,
    /// A close frame with a one-byte payload or a status code a peer may not send.
    InvalidClosePayload,
}

impl FrameError {
    /// The status code of the close frame the server answers with: 1009 for a message over the
    /// limit or a length beyond 2^53 - 1, 1007 for invalid UTF-8, 1002 (protocol error) for the rest.
    #[must_use]
    pub fn close_code(self) -> u16 {
        match self {
            FrameError::TooBig | FrameError::InvalidLength => 1009,
            FrameError::InvalidUtf8 => 1007,
            _ => 1002,
        }
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::ReservedBits => f.write_str("RSV bits must be clear"),
            FrameError::UnknownOpcode(op) => write!(f, "invalid opcode {op}"),
            FrameError::Unmasked => f.write_str("client frames must be masked"),
            FrameError::FragmentedControl => f.write_str("control frames must not be fragmented"),
            FrameError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            FrameError::UnexpectedContinuation => {
                f.write_str("continuation with nothing to continue")
            }
            FrameError::MessageInterrupted => f.write_str("data frame inside a fragmented message"),
            FrameError::InvalidLength => f.write_str("unsupported payload length"),
            FrameError::TooBig => f.write_str("max payload size exceeded"),
            FrameError::InvalidUtf8 => f.write_str("invalid UTF-8 sequence"),
            FrameError::InvalidClosePayload => f.write_str("invalid close frame payload"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Whether a peer may send `code` in a close frame (the rule of Node's `ws`: 1000–1014 except the
/// reserved 1004–1006, and 3000–4999).
#[must_use]
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A fragmented data message in progress.
#[derive(Debug)]
struct Fragments {
    text: bool,
    payload: Vec<u8>,
}

/// Decodes a client's frames into messages; holds only a fragmented message in progress (no buffer
/// of its own: the caller keeps the received bytes).
#[derive(Debug)]
pub struct FrameDecoder {
    max_message: usize,
    fragments: Option<Fragments>,
}

/// The parsed header of a frame.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header length, mask included.
    len: usize,
    payload_len: usize,
}

impl FrameDecoder {
    /// A decoder refusing messages over `max_message` bytes.
    #[must_use]
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            fragments: None,
        }
    }

    /// Decodes the frame at the start of `input` (see [`Decoded`]). After an error the connection
    /// must be closed; the decoder is not meant to be used again.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, FrameError> {
        let Some(header) = self.header(input)? else {
            return Ok(Decoded::NeedMore { frame_len: None });
        };
        let frame_len = header.len + header.payload_len;
        let Some(frame) = input.get(header.len..frame_len) else {
            return Ok(Decoded::NeedMore {
                frame_len: Some(frame_len),
            });
        };
        let message = self.frame(&header, frame)?;
        Ok(Decoded::Frame {
            len: frame_len,
            message,
        })
    }

    /// Parses and checks a header; `None` while it is incomplete.
    fn header(&self, input: &[u8]) -> Result<Option<Header>, FrameError> {
        let [b0, b1, ..] = *input else {
            return Ok(None);
        };
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        if b0 & 0x70 != 0 {
            return Err(FrameError::ReservedBits);
        }
        let control = opcode >= CLOSE;
        match opcode {
            CONTINUATION if self.fragments.is_none() => {
                return Err(FrameError::UnexpectedContinuation);
            }
            TEXT | BINARY if self.fragments.is_some() => {
                return Err(FrameError::MessageInterrupted);
            }
            CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG => {}
            other => return Err(FrameError::UnknownOpcode(other)),
        }
        if b1 & 0x80 == 0 {
            return Err(FrameError::Unmasked);
        }
        if control && !fin {
            return Err(FrameError::FragmentedControl);
        }
        let (payload_len, length_bytes) = match b1 & 0x7f {
            n if control && n > 125 => return Err(FrameError::ControlTooLong),
            126 => match input.get(2..4) {
                Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 2),
                _ => return Ok(None),
            },
            127 => match input.get(2..10) {
                Some(bytes) => {
                    let len = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
                    if len > (1 << 53) - 1 {
                        return Err(FrameError::InvalidLength);
                    }
                    (len, 8)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        let joined = self.fragments.as_ref().map_or(0, |f| f.payload.len()) as u64;
        if !control && joined + payload_len > self.max_message as u64 {
            return Err(FrameError::TooBig);
        }
        let len = 2 + length_bytes + 4;
        let Some(mask) = input.get(len - 4..len) else {
            return Ok(None);
        };
        Ok(Some(Header {
            fin,
            opcode,
            mask: mask.try_into().expect("4 bytes"),
            len,
            // Within the message limit (or 125 for control frames), so it fits a usize.
            payload_len: payload_len as usize,
        }))
    }

    /// Handles one whole frame whose (masked) payload is `masked`.
    fn frame(&mut self, header: &Header, masked: &[u8]) -> Result<Option<Incoming>, FrameError> {
        match header.opcode {
            CLOSE => return close_frame(unmask(masked, header.mask)).map(Some),
            PING => return Ok(Some(Incoming::Ping(unmask(masked, header.mask).into()))),
            PONG => return Ok(Some(Incoming::Pong(unmask(masked, header.mask).into()))),
            _ => {}
        }
        if header.fin && header.opcode != CONTINUATION {
            // A whole message in one frame (the usual case): one allocation, shared as it is.
            let payload = unmasked_bytes(masked, header.mask);
            return message(header.opcode == TEXT, payload).map(Some);
        }
        let fragments = match (header.opcode, self.fragments.take()) {
            (CONTINUATION, Some(mut fragments)) => {
                unmask_into(&mut fragments.payload, masked, header.mask);
                fragments
            }
            (opcode, _) => Fragments {
                text: opcode == TEXT,
                payload: unmask(masked, header.mask),
            },
        };
        if !header.fin {
            self.fragments = Some(fragments);
            return Ok(None);
        }
        message(fragments.text, Bytes::from(fragments.payload)).map(Some)
    }
}

/// A whole data message: text (which must be UTF-8) or binary.
fn message(text: bool, payload: Bytes) -> Result<Incoming, FrameError> {
    Ok(if text {
        Incoming::Text(Utf8Bytes::try_from(payload).map_err(|_| FrameError::InvalidUtf8)?)
    } else {
        Incoming::Binary(payload)
    })
}

fn close_frame(payload: Vec<u8>) -> Result<Incoming, FrameError> {
    match payload.as_slice() {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(FrameError::InvalidClosePayload),
        [hi, lo, ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(FrameError::InvalidClosePayload);
            }
            let reason = Bytes::from(payload).slice(2..);
            let reason = Utf8Bytes::try_from(reason).map_err(|_| FrameError::InvalidUtf8)?;
            Ok(Incoming::Close(Some(CloseFrame { code, reason })))
        }
    }
}

/// Appends an unmasked final frame (as a server sends it) to `out`.
pub fn server_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    encode_frame(out, 0x80 | opcode, payload, None);
}

/// Appends a frame whose first byte (FIN, RSV, opcode) is `first`, with the shortest length form,
/// masked with `mask` when given (as a client sends it), to `out`.
pub fn encode_frame(out: &mut Vec<u8>, first: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    out.push(first);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            out.extend_from_slice(&mask);
            unmask_into(out, payload, mask);
        }
        None => out.extend_from_slice(payload),
    }
}

/// A server's close frame: empty without a code, else the code (reasons are not sent).
#[must_use]
pub fn server_close_frame(code: Option<u16>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    let payload = code.map(u16::to_be_bytes);
    server_frame(&mut out, CLOSE, payload.as_ref().map_or(&[], |p| p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&mut out, first, payload, Some([0x37, 0xfa, 0x21, 0x3d]));
        out
    }

    /// Feeds `input` byte by byte (every prefix must ask for more) and returns what came out.
    fn decode_all(decoder: &mut FrameDecoder, input: &[u8]) -> Result<Vec<Incoming>, FrameError> {
        let (mut messages, mut start) = (Vec::new(), 0);
        let mut end = start;
        while end < input.len() {
            end += 1;
            match decoder.decode(&input[start..end])? {
                Decoded::NeedMore { frame_len } => {
                    if let Some(len) = frame_len {
                        assert!(len > end - start, "asked for fewer bytes than it has");
                    }
                }
                Decoded::Frame { len, message } => {
                    assert_eq!(len, end - start, "a frame must end where its bytes end");
                    start = end;
                    messages.extend(message);
                }
            }
        }
        assert_eq!(start, input.len(), "bytes left over");
        Ok(messages)
    }

    #[test]
    fn whole_and_fragmented_messages_with_control_frames_between() {
        let long: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let mut input = client_frame(0x81, "héllo".as_bytes());
        input.extend(client_frame(0x02, &long[..300]));
        input.extend(client_frame(0x89, b"are you there"));
        input.extend(client_frame(0x00, &long[300..69_999]));
        input.extend(client_frame(0x80, &long[69_999..]));
        input.extend(client_frame(0x8a, b""));
        input.extend(client_frame(0x82, b""));
        input.extend(client_frame(0x88, &[0x03, 0xe8, b'b', b'y', b'e']));
        let mut decoder = FrameDecoder::new(100_000);
        let messages = decode_all(&mut decoder, &input).unwrap();
        assert_eq!(
            messages,
            [
                Incoming::Text("héllo".into()),
                Incoming::Ping(Bytes::from_static(b"are you there")),
                Incoming::Binary(long.into()),
                Incoming::Pong(Bytes::new()),
                Incoming::Binary(Bytes::new()),
                Incoming::Close(Some(CloseFrame {
                    code: 1000,
                    reason: "bye".into()
                })),
            ]
        );
    }

    #[test]
    fn every_refusal_has_its_close_code() {
        let cases: Vec<(Vec<u8>, FrameError)> = vec![
            (client_frame(0xc1, b"x"), FrameError::ReservedBits),
            (client_frame(0x83, b"x"), FrameError::UnknownOpcode(3)),
            (vec![0x81, 0x01, b'x'], FrameError::Unmasked),
            (client_frame(0x09, b""), FrameError::FragmentedControl),
            (client_frame(0x89, &[0; 126]), FrameError::ControlTooLong),
            (client_frame(0x80, b"x"), FrameError::UnexpectedContinuation),
            (
                [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
                FrameError::MessageInterrupted,
            ),
            (
                vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1],
                FrameError::InvalidLength,
            ),
            (client_frame(0x82, &[0; 11]), FrameError::TooBig),
            (
                [client_frame(0x01, &[0; 6]), client_frame(0x80, &[0; 5])].concat(),
                FrameError::TooBig,
            ),
            (client_frame(0x81, &[0xff]), FrameError::InvalidUtf8),
            (client_frame(0x88, &[3]), FrameError::InvalidClosePayload),
            (
                client_frame(0x88, &[0x03, 0xed]),
                FrameError::InvalidClosePayload,
            ),
            (
                client_frame(0x88, &[0x03, 0xe8, 0xff]),
                FrameError::InvalidUtf8,
            ),
        ];
        for (input, expected) in cases {
            let mut decoder = FrameDecoder::new(10);
            assert_eq!(decode_all(&mut decoder, &input), Err(expected), "{input:?}");
        }
        assert_eq!(FrameError::TooBig.close_code(), 1009);
        assert_eq!(FrameError::InvalidLength.close_code(), 1009);
        assert_eq!(FrameError::InvalidUtf8.close_code(), 1007);
        assert_eq!(FrameError::Unmasked.close_code(), 1002);
    }

    #[test]
    fn a_huge_declared_length_is_refused_before_its_bytes_arrive() {
        let mut decoder = FrameDecoder::new(1 << 20);
        let header = [0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(decoder.decode(&header), Err(FrameError::TooBig));
        let mut decoder = FrameDecoder::new(1 << 20);
        let header = [0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4];
        assert_eq!(
            decoder.decode(&header),
            Ok(Decoded::NeedMore {
                frame_len: Some(8 + 0x1000)
            })
        );
    }

    #[test]
    fn server_frames() {
        assert_eq!(server_close_frame(None), [0x88, 0]);
        assert_eq!(server_close_frame(Some(1009)), [0x88, 2, 0x03, 0xf1]);
        let mut out = Vec::new();
        server_frame(&mut out, PONG, &[7; 200]);
        assert_eq!(out[..4], [0x8a, 126, 0, 200]);
        assert_eq!(out.len(), 204);
    }

    #[test]
    fn close_codes() {
        for code in [1000, 1003, 1007, 1014, 3000, 4999] {
            assert!(is_valid_close_code(code), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }
}
