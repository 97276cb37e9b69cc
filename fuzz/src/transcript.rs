//! The seed transcript format: a readable list of websocket-like messages, so that hand-written
//! (captured) seeds can drive the structure-aware targets, whose other inputs are `arbitrary` bytes.
//!
//! ```text
//! #oxio-frames
//! t "40/admin,{\"token\":\"abc\"}"
//! b 0102ff
//! ```
//!
//! After the header line, `t <JSON string>` is a text message (a line whose string does not parse is
//! taken as raw text), `b <hex>` a binary message (non-hex digits are skipped); other lines are
//! ignored. Mutated transcripts stay transcripts as long as the header survives.
//!
//! Used by the fuzz targets (through the `oxio_fuzz` library) and, included with `#[path]`, by
//! `protocol/tests/fuzz_corpus.rs`; it needs only `std` and `serde_json`.

/// The first line of a transcript.
pub const HEADER: &[u8] = b"#oxio-frames\n";

/// One message of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// The frames of `data` if it is a transcript (starts with [`HEADER`]).
#[must_use]
pub fn parse(data: &[u8]) -> Option<Vec<Frame>> {
    let body = data.strip_prefix(HEADER)?;
    let mut frames = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        match line {
            [b't', b' ', rest @ ..] => {
                let rest = String::from_utf8_lossy(rest);
                let text =
                    serde_json::from_str::<String>(&rest).unwrap_or_else(|_| rest.into_owned());
                frames.push(Frame::Text(text));
            }
            [b'b', b' ', rest @ ..] => frames.push(Frame::Binary(hex(rest))),
            _ => {}
        }
    }
    Some(frames)
}

/// Writes `frames` as a transcript.
#[must_use]
pub fn write(frames: &[Frame]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    for frame in frames {
        match frame {
            Frame::Text(t) => {
                out.extend_from_slice(b"t ");
                out.extend_from_slice(serde_json::to_string(t).unwrap_or_default().as_bytes());
            }
            Frame::Binary(b) => {
                out.extend_from_slice(b"b ");
                for byte in b {
                    out.extend_from_slice(format!("{byte:02x}").as_bytes());
                }
            }
        }
        out.push(b'\n');
    }
    out
}

fn hex(digits: &[u8]) -> Vec<u8> {
    let nibbles: Vec<u8> = digits
        .iter()
        .filter_map(|&d| char::from(d).to_digit(16))
        .map(|n| n as u8)
        .collect();
    nibbles.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect()
}
