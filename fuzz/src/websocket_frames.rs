//! The checks of the `websocket_frames` target, shared with the stable-toolchain corpus test of
//! `oxio-protocol` (`protocol/tests/fuzz_corpus.rs` includes this file by path, so it uses only
//! `oxio_protocol` and `bytes`).
//!
//! `oxio_protocol::websocket::FrameDecoder` reads the frames a client sends; the engine
//! (`engine/src/ws_stream.rs`) keeps the bytes received and not consumed yet, decodes from their
//! start, drops a frame's bytes once it is consumed and reads more when asked. Nothing else stands
//! between a client's bytes and the server, so the decoder must hold on any input.
//!
//! # Input
//!
//! - Bytes 0–1, a big-endian `u16` `v`, choose `max_message`: `v` itself up to 2000 (the limits
//!   that small inputs can reach, 0 included), one of [`LARGE_LIMITS`] (`v & 3`) from `0xff00`,
//!   else `v % 2001`.
//! - Byte 2 chooses how the stream is split into reads: `0..=0x7f` reads of `b + 1` bytes (0: byte
//!   by byte), `0x80..=0xff` reads of 1 to 256 bytes from a pseudo-random sequence seeded by `b`.
//! - The rest is the byte stream the client sends.
//!
//! The seeds (`fuzz/corpus/websocket_frames/seed-*`) give every other frame the zero mask (still a
//! masked frame): libFuzzer's comparison tracing and dictionary then see close codes, lengths and
//! UTF-8 as the decoder compares them, which a random mask hides.
//!
//! # Checks
//!
//! 1. Nothing panics.
//! 2. Split invariance: fed the way the engine feeds it, in the chosen reads and byte by byte, the
//!    stream yields the same messages, the same first error (or none) and the same number of bytes
//!    consumed as fed whole. The decoder keeps no bytes of its own, so how the bytes arrive must not
//!    matter.
//! 3. What the engine relies on to size its buffer: `NeedMore { frame_len: Some(n) }` comes only
//!    with a whole header, asks for more than is there, keeps asking for the same `n` until the
//!    frame is whole, and `n` is within the message limit (`n - header` plus the fragments joined so
//!    far ≤ `max_message`, so `n ≤ max_message + MAX_HEADER`; `≤ 125 + header` for control
//!    frames); `NeedMore { frame_len: None }` only while fewer than `MAX_HEADER` bytes are there;
//!    `Frame { len }` consumes at least a masked header (6 bytes), at most what is there, and the
//!    length it announced. The fragments joined never exceed `max_message`.
//! 4. Every message keeps the limits: Text and Binary ≤ `max_message` bytes, Text UTF-8, Ping and
//!    Pong ≤ 125 bytes, a Close code one `is_valid_close_code` accepts and a reason of ≤ 123 bytes
//!    of UTF-8.
//! 5. Round trip: the messages, written again as masked client frames ([`client_frame`]: data
//!    messages in 1 to 4 fragments, possibly empty, with a ping between the first two), decode with
//!    a fresh decoder of the same limit to the same messages (and the pings), consuming every byte.
//! 6. Reference model ([`model`]): an independent whole-stream reading of RFC 6455 and of the rules
//!    `protocol/src/websocket.rs` documents agrees on the messages, the error and the bytes
//!    consumed.

use bytes::Bytes;
use oxio_protocol::websocket::{
    BINARY, CLOSE, CONTINUATION, Decoded, FrameDecoder, FrameError, Incoming, MAX_HEADER, PING,
    PONG, TEXT, is_valid_close_code,
};

/// The large message limits input bytes 0–1 (`0xff00 | i`) select: just past the 16-bit length
/// form, the engine's default `max_payload`, the largest length a frame may declare, and no limit.
pub const LARGE_LIMITS: [usize; 4] = [65_536, 1_000_000, (1 << 53) - 1, usize::MAX];

/// What feeding a stream to a decoder gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The messages and control frames, in order.
    pub messages: Vec<Incoming>,
    /// The error that ended the stream, if one did.
    pub error: Option<FrameError>,
    /// The bytes consumed by whole frames (the rest is an incomplete frame, or the refused one).
    pub consumed: usize,
}

/// The message limit bytes 0–1 of the input choose.
#[must_use]
pub fn max_message(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        v @ 0..=2000 => usize::from(v),
        0xff00.. => LARGE_LIMITS[usize::from(lo & 3)],
        v => usize::from(v % 2001),
    }
}

/// Splits `stream` into the reads byte `sel` chooses.
#[must_use]
pub fn split(stream: &[u8], sel: u8) -> Vec<&[u8]> {
    let mut state = 0x9e37_79b9_u32 ^ u32::from(sel);
    let mut next_size = move || {
        if sel < 0x80 {
            return usize::from(sel) + 1;
        }
        // xorshift32: sizes of 1 to 2^k bytes, k uniform in 0..=8.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let bits = (state >> 24) % 9;
        1 + (state & ((1 << bits) - 1)) as usize
    };
    let (mut reads, mut rest) = (Vec::new(), stream);
    while !rest.is_empty() {
        let (read, after) = rest.split_at(next_size().min(rest.len()));
        reads.push(read);
        rest = after;
    }
    reads
}

/// The input's limit, split selector and stream; `None` for inputs shorter than the control bytes.
#[must_use]
pub fn parse(data: &[u8]) -> Option<(usize, u8, &[u8])> {
    match data {
        [hi, lo, sel, stream @ ..] => Some((max_message(*hi, *lo), *sel, stream)),
        _ => None,
    }
}

/// Runs `data` through every check.
pub fn check(data: &[u8]) {
    let Some((max, sel, stream)) = parse(data) else {
        return;
    };
    let whole = feed(max, [stream]);
    let reads = feed(max, split(stream, sel));
    assert_eq!(
        reads, whole,
        "split {sel:#04x} differs from the whole stream"
    );
    if sel != 0 {
        let bytes = feed(max, stream.chunks(1));
        assert_eq!(bytes, whole, "byte by byte differs from the whole stream");
    }
    let expected = model::decode(max, stream);
    assert_eq!(
        model::Outcome::of(&whole),
        expected,
        "the decoder disagrees with the model (max_message {max})"
    );
    round_trip(max, &whole.messages);
}

/// The header length and opcode of the frame at the start of `bytes` (at least 2 bytes), read
/// independently of the decoder: 2 bytes, the extended length, the mask.
fn header_of(bytes: &[u8]) -> (usize, u8) {
    let extended = match bytes[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    (2 + extended + 4, bytes[0] & 0x0f)
}

/// Feeds `reads` to a fresh decoder the way the engine does (a pending buffer, decoded from its
/// start; a consumed frame's bytes dropped; the next read appended when the decoder asks for more),
/// checking the decoder's answers on the way (checks 3 and 4).
pub fn feed<'a>(max: usize, reads: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = FrameDecoder::new(max);
    let mut reads = reads.into_iter();
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Outcome::default();
    // Payload bytes of the fragmented message in progress.
    let mut joined = 0usize;
    // The length the decoder announced for the frame at the start of `pending`.
    let mut announced: Option<usize> = None;
    loop {
        match decoder.decode(&pending) {
            Err(error) => {
                out.error = Some(error);
                return out;
            }
            Ok(Decoded::Frame { len, message }) => {
                assert!(
                    (6..=pending.len()).contains(&len),
                    "Frame of {len} bytes with {} there",
                    pending.len()
                );
                if let Some(n) = announced.take() {
                    assert_eq!(len, n, "the frame is not the length announced");
                }
                let (header, opcode) = header_of(&pending);
                let payload = len - header;
                if opcode < CLOSE {
                    joined = if message.is_some() {
                        0
                    } else {
                        joined + payload
                    };
                    assert!(joined <= max, "{joined} bytes joined, limit {max}");
                } else {
                    assert!(payload <= 125, "control frame of {payload} bytes");
                }
                if let Some(message) = &message {
                    check_message(max, message);
                }
                pending.drain(..len);
                out.consumed += len;
                out.messages.extend(message);
            }
            Ok(Decoded::NeedMore { frame_len: Some(n) }) => {
                assert!(
                    n > pending.len(),
                    "asks for {n} bytes with {} there",
                    pending.len()
                );
                let (header, opcode) = header_of(&pending);
                assert!(
                    pending.len() >= header,
                    "a frame length before the header is whole"
                );
                let payload = n - header;
                if opcode < CLOSE {
                    assert!(
                        n <= max.saturating_add(MAX_HEADER),
                        "asks for {n}, limit {max}"
                    );
                    assert!(
                        joined + payload <= max,
                        "asks for a frame of {payload} bytes with {joined} joined, limit {max}"
                    );
                } else {
                    assert!(
                        n <= 125 + MAX_HEADER && payload <= 125,
                        "control frame of {n} bytes"
                    );
                }
                if let Some(before) = announced {
                    assert_eq!(n, before, "the announced frame length changed");
                }
                announced = Some(n);
                let Some(read) = reads.next() else {
                    return out;
                };
                pending.extend_from_slice(read);
            }
            Ok(Decoded::NeedMore { frame_len: None }) => {
                assert!(
                    announced.is_none(),
                    "a frame length announced, then forgotten"
                );
                assert!(
                    pending.len() < MAX_HEADER,
                    "no frame length with {} bytes there",
                    pending.len()
                );
                let Some(read) = reads.next() else {
                    return out;
                };
                pending.extend_from_slice(read);
            }
        }
    }
}

/// Check 4: a message within its limits.
fn check_message(max: usize, message: &Incoming) {
    match message {
        Incoming::Text(text) => {
            assert!(
                text.len() <= max,
                "text of {} bytes, limit {max}",
                text.len()
            );
            assert!(std::str::from_utf8(text.as_bytes()).is_ok());
        }
        Incoming::Binary(binary) => {
            assert!(
                binary.len() <= max,
                "binary of {} bytes, limit {max}",
                binary.len()
            );
        }
        Incoming::Ping(payload) | Incoming::Pong(payload) => {
            assert!(payload.len() <= 125, "{message:?}");
        }
        Incoming::Close(None) => {}
        Incoming::Close(Some(close)) => {
            assert!(is_valid_close_code(close.code), "{message:?}");
            assert!(model::valid_close_code(close.code), "{message:?}");
            assert!(close.reason.len() <= 123, "{message:?}");
            assert!(std::str::from_utf8(close.reason.as_bytes()).is_ok());
        }
    }
}

/// Appends a masked client frame: FIN, `opcode`, the shortest length form, `mask`, the masked
/// payload.
pub fn client_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, mask: [u8; 4], payload: &[u8]) {
    out.push(u8::from(fin) << 7 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// A mask for the `i`th frame written (the zero mask included: it is a mask too).
fn mask(i: usize) -> [u8; 4] {
    if i % 5 == 4 {
        return [0; 4];
    }
    (i as u32)
        .wrapping_add(1)
        .wrapping_mul(0x9e37_79b9)
        .to_be_bytes()
}

/// Check 5: `messages` written as client frames decode to themselves.
fn round_trip(max: usize, messages: &[Incoming]) {
    let (mut stream, mut expected, mut frames) = (Vec::new(), Vec::new(), 0);
    let mut frame = |stream: &mut Vec<u8>, fin, opcode, payload: &[u8]| {
        client_frame(stream, fin, opcode, mask(frames), payload);
        frames += 1;
    };
    for (i, message) in messages.iter().enumerate() {
        let (opcode, payload) = match message {
            Incoming::Text(text) => (TEXT, text.as_bytes()),
            Incoming::Binary(binary) => (BINARY, &binary[..]),
            Incoming::Ping(payload) => (PING, &payload[..]),
            Incoming::Pong(payload) => (PONG, &payload[..]),
            Incoming::Close(None) => (CLOSE, &[][..]),
            Incoming::Close(Some(close)) => {
                let mut payload = close.code.to_be_bytes().to_vec();
                payload.extend_from_slice(close.reason.as_bytes());
                frame(&mut stream, true, CLOSE, &payload);
                expected.push(message.clone());
                continue;
            }
        };
        if opcode >= CLOSE {
            frame(&mut stream, true, opcode, payload);
            expected.push(message.clone());
            continue;
        }
        let pieces = 1 + (i + payload.len()) % 4;
        for k in 0..pieces {
            let part = &payload[payload.len() * k / pieces..payload.len() * (k + 1) / pieces];
            let opcode = if k == 0 { opcode } else { CONTINUATION };
            frame(&mut stream, k + 1 == pieces, opcode, part);
            if k == 0 && pieces > 1 {
                let ping = Bytes::from(vec![i as u8; i % 126]);
                frame(&mut stream, true, PING, &ping);
                expected.push(Incoming::Ping(ping));
            }
        }
        expected.push(message.clone());
    }
    let again = feed(max, [&stream[..]]);
    let consumed = stream.len();
    assert_eq!(
        again,
        Outcome {
            messages: expected,
            error: None,
            consumed
        },
        "the messages written again do not decode to themselves"
    );
}

/// A reference decoder, written from RFC 6455 section 5 and the rules `protocol/src/websocket.rs`
/// documents, independently of it: it reads the whole stream at once with plain indexing and
/// wide (`u128`) arithmetic, and states the rules as one ordered table.
///
/// - A frame: FIN, RSV1–3, opcode (byte 0); MASK, a 7-bit length (byte 1); a 16-bit (126) or
///   64-bit (127) big-endian length, any of the three forms for any length (`ws` does not insist
///   on the shortest either); the 4-byte mask; the payload XORed with the mask, byte `i` with mask
///   byte `i % 4`.
/// - Refusals, in order of precedence (the first that applies wins; which of several a frame
///   breaks at once is named first is the decoder's choice; the close code is 1002 for those
///   before the length checks): with two bytes there, RSV set, a continuation with no message
///   in progress, a text or binary frame inside one, an opcode other than 0, 1, 2, 8, 9, 10,
///   no MASK, a control frame without FIN, a control frame of more than 125 bytes; with the
///   length there, a length of 2^53 or more, a data frame taking the message (with the fragments
///   joined) over `max_message` (judged without waiting for the mask or payload); with the whole
///   frame there, a close payload of one byte or with a code that is not 1000–1003, 1007–1014 or
///   3000–4999, a close reason or a finished text message that is not UTF-8 (a text message is
///   validated whole, so a character may be split between fragments).
/// - Control frames come out at once, between the fragments of a message if they are sent there;
///   a data message comes out with its final fragment.
/// - A stream that ends inside a frame ends without error, unless a rule above could already be
///   judged on the bytes there.
pub mod model {
    use oxio_protocol::websocket::{FrameError, Incoming};

    /// A message as the model has it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Message {
        /// A text message.
        Text(String),
        /// A binary message.
        Binary(Vec<u8>),
        /// A ping's payload.
        Ping(Vec<u8>),
        /// A pong's payload.
        Pong(Vec<u8>),
        /// A close frame: its code and reason, if any.
        Close(Option<(u16, String)>),
    }

    /// The model's reading of a stream.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Outcome {
        /// The messages.
        pub messages: Vec<Message>,
        /// The refusal that ended the stream.
        pub error: Option<FrameError>,
        /// Bytes of the whole frames accepted.
        pub consumed: usize,
    }

    impl Outcome {
        /// The decoder's outcome in the model's terms.
        #[must_use]
        pub fn of(outcome: &super::Outcome) -> Self {
            let messages = outcome
                .messages
                .iter()
                .map(|m| match m {
                    Incoming::Text(t) => Message::Text(t.as_str().to_owned()),
                    Incoming::Binary(b) => Message::Binary(b.to_vec()),
                    Incoming::Ping(p) => Message::Ping(p.to_vec()),
                    Incoming::Pong(p) => Message::Pong(p.to_vec()),
                    Incoming::Close(c) => {
                        Message::Close(c.as_ref().map(|c| (c.code, c.reason.as_str().to_owned())))
                    }
                })
                .collect();
            Self {
                messages,
                error: outcome.error,
                consumed: outcome.consumed,
            }
        }
    }

    /// The close codes a peer may send: 1000–1003, 1007–1014, 3000–4999 (1004–1006 and 1015 are
    /// reserved; 0–999 and 5000 on are not in use; 2000–2999 are for extensions).
    #[must_use]
    pub fn valid_close_code(code: u16) -> bool {
        (1000..=1003).contains(&code)
            || (1007..=1014).contains(&code)
            || (3000..=4999).contains(&code)
    }

    /// Reads `stream` as a client's frames under `max_message`.
    #[must_use]
    pub fn decode(max_message: usize, stream: &[u8]) -> Outcome {
        let mut out = Outcome::default();
        // The fragmented message in progress: whether it is text, and its payload so far.
        let mut partial: Option<(bool, Vec<u8>)> = None;
        let mut at = 0;
        loop {
            let frame = &stream[at..];
            if frame.len() < 2 {
                return out;
            }
            let fin = frame[0] & 0x80 != 0;
            let rsv = frame[0] & 0x70;
            let opcode = frame[0] & 0x0f;
            let masked = frame[1] & 0x80 != 0;
            let short_len = frame[1] & 0x7f;
            let control = matches!(opcode, 8..=15);
            let header_rules = [
                (rsv != 0, FrameError::ReservedBits),
                (
                    opcode == 0 && partial.is_none(),
                    FrameError::UnexpectedContinuation,
                ),
                (
                    matches!(opcode, 1 | 2) && partial.is_some(),
                    FrameError::MessageInterrupted,
                ),
                (
                    !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10),
                    FrameError::UnknownOpcode(opcode),
                ),
                (!masked, FrameError::Unmasked),
                (control && !fin, FrameError::FragmentedControl),
                (control && short_len > 125, FrameError::ControlTooLong),
            ];
            if let Some((_, error)) = header_rules.iter().find(|(broken, _)| *broken) {
                out.error = Some(*error);
                return out;
            }
            let length_bytes = match short_len {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let Some(length_field) = frame.get(2..2 + length_bytes) else {
                return out;
            };
            let length: u128 = if length_bytes == 0 {
                u128::from(short_len)
            } else {
                length_field
                    .iter()
                    .fold(0, |n, &byte| n * 256 + u128::from(byte))
            };
            if length >= 1 << 53 {
                out.error = Some(FrameError::InvalidLength);
                return out;
            }
            let joined = partial.as_ref().map_or(0, |(_, p)| p.len()) as u128;
            if !control && joined + length > max_message as u128 {
                out.error = Some(FrameError::TooBig);
                return out;
            }
            let header = 2 + length_bytes + 4;
            if (frame.len() as u128) < header as u128 + length {
                return out;
            }
            let key = &frame[2 + length_bytes..header];
            let payload: Vec<u8> = frame[header..header + length as usize]
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ key[i % 4])
                .collect();
            let message = match opcode {
                8 => match payload.len() {
                    0 => Some(Message::Close(None)),
                    1 => {
                        out.error = Some(FrameError::InvalidClosePayload);
                        return out;
                    }
                    _ => {
                        let code = u16::from(payload[0]) << 8 | u16::from(payload[1]);
                        if !valid_close_code(code) {
                            out.error = Some(FrameError::InvalidClosePayload);
                            return out;
                        }
                        let Ok(reason) = String::from_utf8(payload[2..].to_vec()) else {
                            out.error = Some(FrameError::InvalidUtf8);
                            return out;
                        };
                        Some(Message::Close(Some((code, reason))))
                    }
                },
                9 => Some(Message::Ping(payload)),
                10 => Some(Message::Pong(payload)),
                _ => {
                    let (text, mut joined) = partial.take().unwrap_or((opcode == 1, Vec::new()));
                    joined.extend_from_slice(&payload);
                    if !fin {
                        partial = Some((text, joined));
                        None
                    } else if text {
                        let Ok(text) = String::from_utf8(joined) else {
                            out.error = Some(FrameError::InvalidUtf8);
                            return out;
                        };
                        Some(Message::Text(text))
                    } else {
                        Some(Message::Binary(joined))
                    }
                }
            };
            at += header + length as usize;
            out.consumed = at;
            out.messages.extend(message);
        }
    }
}
