//! Attachment placeholders: `{"_placeholder":true,"num":i}` stands for attachment `i` of a binary
//! packet. [`is_placeholder`] recognizes one; the decoder checks all of a binary packet's placeholders
//! with `check_placeholders`.
//!
//! Node's rule (`reconstructPacket`), which this follows: any object, at any depth, whose
//! `_placeholder` key is `true` is a placeholder (its other keys do not matter, and nothing inside it
//! is looked at); its `num` must be a number in `0..attachments`, else "illegal attachments". The
//! count of placeholders need not equal the count of attachments, and one attachment may be named
//! twice. Keys are compared unescaped (`"\u005fplaceholder"` counts), and the last of duplicate
//! `_placeholder`/`num` keys wins, as with `JSON.parse`.
//!
//! Invariants: the scan is one iterative pass (a stack of one small frame per open container, so
//! memory is bounded by the input and there is no recursion); it reads text the decoder has already
//! validated, and on text that is not valid JSON it returns an error or a meaningless answer, never
//! a panic.

use super::DecodeError;

/// The attachment index a JSON value stands for, if it is a placeholder object whose `num` is a
/// non-negative integer. `json` should be valid JSON, such as an element of
/// [`Packet::args`](super::Packet::args).
///
/// The index is not checked against any attachment count: use `attachments.get(i)`.
#[must_use]
pub fn is_placeholder(json: &str) -> Option<usize> {
    let outcome = scan(json.as_bytes(), u64::MAX).ok()?;
    outcome.placeholder.and_then(|i| usize::try_from(i).ok())
}

/// Checks every placeholder of a binary packet's data against its `count` attachments.
pub(crate) fn check_placeholders(json: &[u8], count: usize) -> Result<(), DecodeError> {
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    match scan(json, count)? {
        Outcome { illegal: false, .. } => Ok(()),
        Outcome { illegal: true, .. } => Err(DecodeError::IllegalAttachments),
    }
}

/// What one JSON value turned out to be, as far as placeholders go.
#[derive(Clone, Copy, Default)]
struct Outcome {
    /// The value is the literal `true`.
    is_true: bool,
    /// The value is a number that is a non-negative integer (as JavaScript compares them).
    index: Option<u64>,
    /// The value is a placeholder object: its `num` as an index, `None` if that is not one.
    placeholder: Option<u64>,
    /// The value is, or holds, a placeholder whose `num` is not below the count.
    illegal: bool,
}

/// Which key of an object the next value belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Key {
    Placeholder,
    Num,
    Other,
}

/// One open container.
enum Frame {
    Array {
        illegal: bool,
    },
    Object {
        key: Key,
        expecting_key: bool,
        placeholder: bool,
        num: Option<u64>,
        illegal: bool,
    },
}

/// Scans one JSON value; `count` is the number of attachments placeholders may name.
fn scan(json: &[u8], count: u64) -> Result<Outcome, DecodeError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut result = None;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        let value = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                i += 1;
                continue;
            }
            b',' => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = true;
                }
                i += 1;
                continue;
            }
            b'[' | b'{' => {
                stack.push(match b {
                    b'[' => Frame::Array { illegal: false },
                    _ => Frame::Object {
                        key: Key::Other,
                        expecting_key: true,
                        placeholder: false,
                        num: None,
                        illegal: false,
                    },
                });
                i += 1;
                continue;
            }
            b']' | b'}' => {
                i += 1;
                match stack.pop().ok_or(DecodeError::InvalidJson)? {
                    Frame::Array { illegal } => Outcome {
                        illegal,
                        ..Outcome::default()
                    },
                    Frame::Object {
                        placeholder: true,
                        num,
                        ..
                    } => Outcome {
                        placeholder: num,
                        illegal: num.is_none_or(|n| n >= count),
                        ..Outcome::default()
                    },
                    Frame::Object { illegal, .. } => Outcome {
                        illegal,
                        ..Outcome::default()
                    },
                }
            }
            b'"' => {
                let end = string_end(json, i + 1).ok_or(DecodeError::InvalidJson)?;
                let literal = json.get(i + 1..end).unwrap_or_default();
                i = end + 1;
                match stack.last_mut() {
                    Some(Frame::Object {
                        key,
                        expecting_key: expecting_key @ true,
                        ..
                    }) => {
                        *key = classify_key(literal);
                        *expecting_key = false;
                        continue;
                    }
                    _ => Outcome::default(),
                }
            }
            b'-' | b'0'..=b'9' => {
                let len = json
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                let text = json.get(i..i + len).unwrap_or_default();
                i += len;
                Outcome {
                    index: integer_index(text),
                    ..Outcome::default()
                }
            }
            b't' | b'f' | b'n' => {
                i += if b == b'f' { 5 } else { 4 };
                Outcome {
                    is_true: b == b't',
                    ..Outcome::default()
                }
            }
            _ => return Err(DecodeError::InvalidJson),
        };
        match stack.last_mut() {
            None if result.is_some() => return Err(DecodeError::InvalidJson),
            None => result = Some(value),
            Some(Frame::Array { illegal }) => *illegal |= value.illegal,
            Some(Frame::Object {
                key,
                placeholder,
                num,
                illegal,
                ..
            }) => {
                match key {
                    Key::Placeholder => *placeholder = value.is_true,
                    Key::Num => *num = value.index,
                    Key::Other => {}
                }
                *illegal |= value.illegal;
            }
        }
    }
    match (result, stack.is_empty()) {
        (Some(outcome), true) => Ok(outcome),
        _ => Err(DecodeError::InvalidJson),
    }
}

/// Index of the closing quote of the string whose contents start at `start`.
fn string_end(json: &[u8], mut start: usize) -> Option<usize> {
    loop {
        let at = start + memchr::memchr2(b'"', b'\\', json.get(start..)?)?;
        match json.get(at)? {
            b'"' => return Some(at),
            _ => start = at + 2,
        }
    }
}

/// Which of the two keys that matter a key literal (between its quotes, escapes undone) is.
fn classify_key(literal: &[u8]) -> Key {
    let key = if literal.contains(&b'\\') {
        match unescape_short(literal) {
            Some(key) => key,
            None => return Key::Other,
        }
    } else {
        let mut key = [0u8; 12];
        match key.get_mut(..literal.len()) {
            Some(dst) => dst.copy_from_slice(literal),
            None => return Key::Other,
        }
        (key, literal.len())
    };
    match key.0.get(..key.1) {
        Some(b"_placeholder") => Key::Placeholder,
        Some(b"num") => Key::Num,
        _ => Key::Other,
    }
}

/// Undoes the escapes of an ASCII key of at most 12 bytes; `None` for anything longer or not ASCII
/// (neither can be `_placeholder` or `num`).
fn unescape_short(literal: &[u8]) -> Option<([u8; 12], usize)> {
    let mut out = [0u8; 12];
    let mut len = 0;
    let mut rest = literal;
    while let Some((&c, tail)) = rest.split_first() {
        let (byte, tail) = match c {
            b'\\' => {
                let (&e, tail) = tail.split_first()?;
                match e {
                    b'u' => {
                        let hex = std::str::from_utf8(tail.get(..4)?).ok()?;
                        let unit = u8::try_from(u16::from_str_radix(hex, 16).ok()?).ok()?;
                        (unit, tail.get(4..)?)
                    }
                    b'b' => (0x08, tail),
                    b'f' => (0x0c, tail),
                    b'n' => (b'\n', tail),
                    b'r' => (b'\r', tail),
                    b't' => (b'\t', tail),
                    other => (other, tail),
                }
            }
            _ => (c, tail),
        };
        if !byte.is_ascii() {
            return None;
        }
        *out.get_mut(len)? = byte;
        len += 1;
        rest = tail;
    }
    Some((out, len))
}

/// The number as an index, if it is a non-negative integer the way JavaScript sees it (`2.0`,
/// `2e0` and `-0` count; `2.5` and `1e400` do not).
fn integer_index(text: &[u8]) -> Option<u64> {
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    // 2^64 as an f64; every integral f64 below it converts to u64 exactly.
    (value >= 0.0 && value.fract() == 0.0 && value < 18_446_744_073_709_551_616.0)
        .then_some(value as u64)
}
