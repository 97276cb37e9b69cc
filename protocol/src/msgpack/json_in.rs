//! Reading JSON text for the encoder: a lexer, string unescaping, and [`structure`], the first of
//! the encoder's two passes.
//!
//! Invariants: no recursion (containers are linked to their parent by index); the first pass checks
//! the grammar completely (tokens, separators, number syntax, escapes, one value and nothing after
//! it), so the second pass may read the same text without checking; nothing here panics on any
//! input.

use super::MsgpackError;

/// One JSON token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// `[` (`true`) or `{` (`false`).
    Open(bool),
    /// `]` or `}`.
    Close(bool),
    Comma,
    Colon,
    /// A string, between its quotes, escapes still in.
    Str(&'a [u8]),
    /// A number's text.
    Num(&'a [u8]),
    /// `true`, `false`.
    Bool(bool),
    Null,
}

/// A cursor over JSON text.
pub(super) struct Lexer<'a> {
    pub(super) json: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    /// The next token, `None` at the end (whitespace skipped).
    pub(super) fn next(&mut self) -> Result<Option<Tok<'a>>, MsgpackError> {
        let rest = self.json.get(self.pos..).unwrap_or_default();
        let ws = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        self.pos += ws;
        let rest = rest.get(ws..).unwrap_or_default();
        let Some(&b) = rest.first() else {
            return Ok(None);
        };
        let (tok, len) = match b {
            b'[' | b'{' => (Tok::Open(b == b'['), 1),
            b']' | b'}' => (Tok::Close(b == b']'), 1),
            b',' => (Tok::Comma, 1),
            b':' => (Tok::Colon, 1),
            b'"' => {
                let end = string_end(rest).ok_or(MsgpackError::InvalidJson)?;
                (Tok::Str(rest.get(1..end).unwrap_or_default()), end + 1)
            }
            b'-' | b'0'..=b'9' => {
                let len = rest
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                (Tok::Num(rest.get(..len).unwrap_or_default()), len)
            }
            _ if rest.starts_with(b"true") => (Tok::Bool(true), 4),
            _ if rest.starts_with(b"false") => (Tok::Bool(false), 5),
            _ if rest.starts_with(b"null") => (Tok::Null, 4),
            _ => return Err(MsgpackError::InvalidJson),
        };
        self.pos += len;
        Ok(Some(tok))
    }
}

/// The index of the closing quote of the string opening `s`.
fn string_end(s: &[u8]) -> Option<usize> {
    let mut at = 1;
    loop {
        at += memchr::memchr2(b'"', b'\\', s.get(at..)?)?;
        match s.get(at)? {
            b'"' => return Some(at),
            _ => at += 2,
        }
    }
}

/// Whether `text` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(super) fn is_number(text: &[u8]) -> bool {
    fn digits(s: &[u8]) -> usize {
        s.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let s = text.strip_prefix(b"-").unwrap_or(text);
    let int = digits(s);
    if int == 0 || (int > 1 && s.first() == Some(&b'0')) {
        return false;
    }
    let mut s = s.get(int..).unwrap_or_default();
    if let Some(frac) = s.strip_prefix(b".") {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        s = frac.get(n..).unwrap_or_default();
    }
    if let Some(exp) = s.strip_prefix(b"e").or_else(|| s.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        let n = digits(exp);
        return n > 0 && n == exp.len();
    }
    s.is_empty()
}

/// Feeds the UTF-8 bytes of a string literal's value to `sink`, escapes undone. A `\u` escape of a
/// lone surrogate (which JSON allows and UTF-8 cannot hold) becomes U+FFFD, as Node's
/// `Buffer.byteLength`/`buf.write` make it.
pub(super) fn unescape(lit: &[u8], mut sink: impl FnMut(&[u8])) -> Result<(), MsgpackError> {
    let mut rest = lit;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        let (run, tail) = rest.split_at(at);
        sink(run);
        let (&escape, tail) = tail
            .get(1..)
            .and_then(<[u8]>::split_first)
            .ok_or(MsgpackError::InvalidJson)?;
        rest = tail;
        let byte = match escape {
            b'"' | b'\\' | b'/' => escape,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (unit, tail) = hex4(rest)?;
                rest = tail;
                let c = match unit {
                    0xd800..=0xdbff => match tail.strip_prefix(b"\\u").map(hex4) {
                        Some(Ok((low @ 0xdc00..=0xdfff, after))) => {
                            rest = after;
                            0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00)
                        }
                        _ => 0xfffd,
                    },
                    _ => u32::from(unit),
                };
                let c = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                sink(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            _ => return Err(MsgpackError::InvalidJson),
        };
        sink(&[byte]);
    }
    sink(rest);
    Ok(())
}

/// The four hex digits at the start of `s`, and what follows them.
fn hex4(s: &[u8]) -> Result<(u16, &[u8]), MsgpackError> {
    let hex = s.get(..4).ok_or(MsgpackError::InvalidJson)?;
    let text = std::str::from_utf8(hex).map_err(|_| MsgpackError::InvalidJson)?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MsgpackError::InvalidJson);
    }
    let unit = u16::from_str_radix(text, 16).map_err(|_| MsgpackError::InvalidJson)?;
    Ok((unit, s.get(4..).unwrap_or_default()))
}

/// The unescaped length of a string literal.
pub(super) fn unescaped_len(lit: &[u8]) -> Result<usize, MsgpackError> {
    if memchr::memchr(b'\\', lit).is_none() {
        return Ok(lit.len());
    }
    let mut len = 0;
    unescape(lit, |part| len += part.len())?;
    Ok(len)
}

/// Whether a key literal, unescaped, is `name` (short, ASCII).
pub(super) fn key_is(lit: &[u8], name: &[u8]) -> bool {
    if memchr::memchr(b'\\', lit).is_none() {
        return lit == name;
    }
    let mut rest = Some(name);
    let matched = unescape(lit, |part| {
        rest = rest.and_then(|r| r.strip_prefix(part));
    });
    matched.is_ok() && rest == Some(&[][..])
}
