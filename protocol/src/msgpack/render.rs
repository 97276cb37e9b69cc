//! [`Renderer`]: one msgpack value (a packet's `data`) rendered as JSON text, binary values
//! replaced by attachment placeholders.
//!
//! Invariants: iterative (a stack of one small frame per open container, at most
//! [`MsgpackLimits::max_depth`] of them), so no input can overflow the call stack; the JSON written
//! is valid UTF-8 and valid JSON, and at most a small constant times the input length; attachments
//! are counted against [`MsgpackLimits::max_attachments`] before each is kept.

use bytes::Bytes;

/// The largest integer a JavaScript number holds exactly (2^53).
const MAX_SAFE_INTEGER: u64 = 1 << 53;

use super::json_out::{write_date, write_f64, write_i64, write_str, write_u64};
use super::read::{Reader, Token};
use super::{MsgpackError, MsgpackLimits};
use crate::socket_io::RESERVED_EVENTS;

/// What the rendered value is, as far as a packet's validation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `undefined`: no data.
    Undefined,
    /// A map: a JavaScript plain object.
    Object,
    /// A string.
    String,
    /// An array (an extension too, which Node reads as `[type, Buffer]`), and what its first
    /// element says as an event name.
    Array(Head),
    /// Anything else: a number, a boolean, `null`, binary, a date.
    Other,
}

/// An array's first element, as an event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Head {
    /// The array is empty, or its first element is neither a number nor a string.
    Invalid,
    /// A number, or a string Socket.IO does not reserve.
    Name,
    /// A string in [`RESERVED_EVENTS`].
    Reserved,
}

/// One open container.
struct Frame {
    /// Elements (map entries) still to read.
    remaining: usize,
    map: bool,
    /// No element has been written yet (so no comma is due).
    first: bool,
}

/// Renders values into one JSON buffer, collecting the binary values in document order.
pub(super) struct Renderer<'s> {
    pub(super) json: Vec<u8>,
    pub(super) attachments: Vec<Bytes>,
    /// A map with `"_placeholder": true` was seen.
    pub(super) literal_placeholder: bool,
    /// The whole input, if it is a [`Bytes`] the attachments may share.
    source: Option<&'s Bytes>,
    limits: MsgpackLimits,
}

impl<'s> Renderer<'s> {
    pub(super) fn new(source: Option<&'s Bytes>, limits: MsgpackLimits) -> Self {
        Renderer {
            json: Vec::new(),
            attachments: Vec::new(),
            literal_placeholder: false,
            source,
            limits,
        }
    }

    /// Forgets what was rendered (for a duplicate `data` key, where the last one wins).
    pub(super) fn clear(&mut self) {
        self.json.clear();
        self.attachments.clear();
        self.literal_placeholder = false;
    }

    /// Renders the next value of `r` and says what kind it is.
    pub(super) fn render(&mut self, r: &mut Reader<'_>) -> Result<Kind, MsgpackError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut kind = None;
        let mut head = Head::Invalid;
        loop {
            let Some(frame) = stack.last_mut() else {
                if kind.is_some() {
                    return Ok(kind.unwrap_or(Kind::Other));
                }
                // The root value.
                let token = r.next()?;
                kind = Some(self.open_or_write(token, &mut stack)?);
                if let Some(Kind::Array(_)) = kind {
                    head = match token {
                        Token::Ext(..) => Head::Name,
                        _ => Head::Invalid,
                    };
                }
                continue;
            };
            if frame.remaining == 0 {
                self.json.push(if frame.map { b'}' } else { b']' });
                stack.pop();
                if stack.is_empty() {
                    return Ok(match kind {
                        Some(Kind::Array(_)) => Kind::Array(head),
                        other => other.unwrap_or(Kind::Other),
                    });
                }
                continue;
            }
            frame.remaining -= 1;
            let comma = !std::mem::replace(&mut frame.first, false);
            if frame.map {
                let undefined = self.key(r, comma)?;
                if undefined {
                    // `JSON.stringify` leaves out keys whose value is `undefined`.
                    if let Some(frame) = stack.last_mut() {
                        frame.first = !comma;
                    }
                    continue;
                }
            } else if comma {
                self.json.push(b',');
            }
            let token = r.next()?;
            if stack.len() == 1 && !comma && matches!(kind, Some(Kind::Array(_))) {
                head = event_head(token);
            }
            self.open_or_write(token, &mut stack)?;
        }
    }

    /// Reads a map key and writes it with its `:` (and the comma before it), unless its value is
    /// `undefined`: then key and value are consumed and `true` returned.
    fn key(&mut self, r: &mut Reader<'_>, comma: bool) -> Result<bool, MsgpackError> {
        let token = r.next()?;
        if matches!(
            token,
            Token::Array(_) | Token::Map(_) | Token::Binary(_) | Token::Ext(..) | Token::Date(_)
        ) {
            return Err(MsgpackError::InvalidKey);
        }
        if r.at_undefined() {
            r.next()?;
            return Ok(true);
        }
        if comma {
            self.json.push(b',');
        }
        match token {
            Token::Str(s) => {
                let key = String::from_utf8_lossy(s);
                if key == "_placeholder" && r.peek() == Some(0xc3) {
                    self.literal_placeholder = true;
                }
                write_str(&mut self.json, &key);
            }
            // As `String(key)`, which is what a JavaScript object key becomes: beyond 2^53 the
            // number Node decoded is already rounded to the nearest double.
            Token::UInt(v) if v > MAX_SAFE_INTEGER => self.quoted(|json| write_f64(json, v as f64)),
            Token::Int(v) if v.unsigned_abs() > MAX_SAFE_INTEGER => {
                self.quoted(|json| write_f64(json, v as f64))
            }
            Token::UInt(v) => self.quoted(|json| write_u64(json, v)),
            Token::Int(v) => self.quoted(|json| write_i64(json, v)),
            Token::Float(v) if v.is_nan() => self.json.extend_from_slice(b"\"NaN\""),
            Token::Float(v) if v.is_infinite() && v > 0.0 => {
                self.json.extend_from_slice(b"\"Infinity\"");
            }
            Token::Float(v) if v.is_infinite() => self.json.extend_from_slice(b"\"-Infinity\""),
            Token::Float(v) => self.quoted(|json| write_f64(json, v)),
            Token::Nil => self.json.extend_from_slice(b"\"null\""),
            Token::Bool(b) => {
                self.json
                    .extend_from_slice(if b { b"\"true\"" } else { b"\"false\"" })
            }
            Token::Undefined => self.json.extend_from_slice(b"\"undefined\""),
            Token::Array(_)
            | Token::Map(_)
            | Token::Binary(_)
            | Token::Ext(..)
            | Token::Date(_) => {
                return Err(MsgpackError::InvalidKey);
            }
        }
        self.json.push(b':');
        Ok(false)
    }

    fn quoted(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.json.push(b'"');
        write(&mut self.json);
        self.json.push(b'"');
    }

    /// Writes a scalar, or opens a container (pushing its frame); says what kind the value is.
    fn open_or_write(
        &mut self,
        token: Token<'_>,
        stack: &mut Vec<Frame>,
    ) -> Result<Kind, MsgpackError> {
        let json = &mut self.json;
        Ok(match token {
            Token::Nil => {
                json.extend_from_slice(b"null");
                Kind::Other
            }
            // `undefined` in an array: `JSON.stringify` writes `null`.
            Token::Undefined => {
                json.extend_from_slice(b"null");
                Kind::Undefined
            }
            Token::Bool(b) => {
                json.extend_from_slice(if b { b"true" } else { b"false" });
                Kind::Other
            }
            Token::UInt(v) => {
                write_u64(json, v);
                Kind::Other
            }
            Token::Int(v) => {
                write_i64(json, v);
                Kind::Other
            }
            Token::Float(v) => {
                write_f64(json, v);
                Kind::Other
            }
            Token::Str(s) => {
                write_str(json, &String::from_utf8_lossy(s));
                Kind::String
            }
            Token::Date(ms) => {
                write_date(json, ms);
                Kind::Other
            }
            Token::Binary(bin) => {
                self.placeholder(bin)?;
                Kind::Other
            }
            Token::Ext(ty, bin) => {
                // Rendered as an array, and encoded again as one: a level of nesting, as any array.
                self.check_depth(stack)?;
                let json = &mut self.json;
                json.push(b'[');
                write_i64(json, i64::from(ty));
                json.push(b',');
                self.placeholder(bin)?;
                self.json.push(b']');
                Kind::Array(Head::Name)
            }
            Token::Array(len) | Token::Map(len) => {
                let map = matches!(token, Token::Map(_));
                self.check_depth(stack)?;
                let json = &mut self.json;
                json.push(if map { b'{' } else { b'[' });
                stack.push(Frame {
                    remaining: len,
                    map,
                    first: true,
                });
                if map {
                    Kind::Object
                } else {
                    Kind::Array(Head::Invalid)
                }
            }
        })
    }

    /// Refuses a container (or an extension, rendered as an array) inside `stack` when that is
    /// already [`MsgpackLimits::max_depth`] deep.
    fn check_depth(&self, stack: &[Frame]) -> Result<(), MsgpackError> {
        let max = self.limits.max_depth;
        match stack.len() >= max {
            true => Err(MsgpackError::TooDeep { max }),
            false => Ok(()),
        }
    }

    /// Keeps `bin` as the next attachment and writes its placeholder.
    fn placeholder(&mut self, bin: &[u8]) -> Result<(), MsgpackError> {
        let max = self.limits.max_attachments;
        if self.attachments.len() >= max {
            return Err(MsgpackError::TooManyAttachments { max });
        }
        let num = self.attachments.len();
        self.attachments.push(match self.source {
            Some(source) => source.slice_ref(bin),
            None => Bytes::copy_from_slice(bin),
        });
        self.json
            .extend_from_slice(br#"{"_placeholder":true,"num":"#);
        write_u64(&mut self.json, num as u64);
        self.json.push(b'}');
        Ok(())
    }
}

/// What an event array's first element says as an event name.
fn event_head(token: Token<'_>) -> Head {
    match token {
        Token::UInt(_) | Token::Int(_) => Head::Name,
        // NaN and infinities render as JSON `null`, which no JSON client takes as an event name.
        Token::Float(f) if f.is_finite() => Head::Name,
        Token::Str(s) => match RESERVED_EVENTS.iter().any(|r| r.as_bytes() == s) {
            true => Head::Reserved,
            false => Head::Name,
        },
        _ => Head::Invalid,
    }
}
