//! One pass over a packet's JSON data: [`scan`] validates it, bounds its nesting, and reports the
//! elements of a top-level array; [`unescape`] reads a string literal it accepted.
//!
//! Invariants:
//! - [`scan`] accepts exactly what serde_json accepts when it skips a value (`IgnoredAny`,
//!   `RawValue`) and then checks that only whitespace follows (`Deserializer::end`): RFC 8259's
//!   grammar, JSON whitespace (space, tab, LF, CR) before and after any token, no control character
//!   (below U+0020) inside strings, only the escapes `\" \\ \/ \b \f \n \r \t \uXXXX` (four hex digits,
//!   either case), and any `\uXXXX`, lone surrogates (`"\ud800"`) included, as `JSON.parse` does.
//!   The text is a `&str`, so it is UTF-8; bytes from U+0080 up are not looked at.
//! - Nesting deeper than [`MAX_DEPTH`] arrays and objects is an error ([`ScanError::TooDeep`]), so
//!   the state is one bit per open container in a fixed array: no allocation, no recursion.
//! - Each element of a top-level array is reported once, in order, as the byte range of its text
//!   without surrounding whitespace, after the `,` or `]` that follows it has been seen (so it is a
//!   whole value). Ranges start and end next to ASCII bytes: slicing UTF-8 text there gives UTF-8.
//!   When the callback breaks, the scan stops there and the rest of the text is not checked.
//! - No panic on any input: every byte is read with `get`, or from whole chunks (`as_chunks`).
//! - The helpers are inlined into [`scan`] (out of line, their calls cost about an eighth of it),
//!   and read many bytes per step: string contents sixteen at a time (byte compares the compiler
//!   vectorizes), runs of digits eight (bit tricks on a `u64` word, SWAR).

use std::borrow::Cow;
use std::ops::{ControlFlow, Range};

use super::MAX_DEPTH;

/// Why [`scan`] refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ScanError {
    /// Not JSON.
    Syntax,
    /// More than [`MAX_DEPTH`] arrays and objects open at once.
    TooDeep,
}

/// Checks that `json` is one JSON value, with optional whitespace around it, nested at most
/// [`MAX_DEPTH`] deep. If the value is an array, `on_element` gets each element's range in `json`;
/// when it returns [`ControlFlow::Break`], the scan ends there with `Ok`.
///
/// # Errors
/// [`ScanError::TooDeep`] as soon as the nesting goes past [`MAX_DEPTH`]; [`ScanError::Syntax`] for
/// anything else that is not JSON.
pub(super) fn scan<F>(json: &str, mut on_element: F) -> Result<(), ScanError>
where
    F: FnMut(Range<usize>) -> ControlFlow<()>,
{
    // The hot loop of the decoder, kept in one function: a value at `pos`, then the punctuation
    // after it, until the outermost container closes.
    let b = json.as_bytes();
    let mut open = Containers::default();
    let mut pos = skip_ws(b, 0);
    let mut element_start = pos;
    'value: loop {
        // A value starts at `pos`.
        match b.get(pos) {
            Some(b'[') => {
                open.push(ARRAY)?;
                pos = skip_ws(b, pos + 1);
                if b.get(pos) != Some(&b']') {
                    if open.depth == 1 {
                        element_start = pos;
                    }
                    continue 'value;
                }
                open.pop();
                pos += 1;
            }
            Some(b'{') => {
                open.push(OBJECT)?;
                pos = skip_ws(b, pos + 1);
                if b.get(pos) != Some(&b'}') {
                    pos = member_value(b, pos)?;
                    continue 'value;
                }
                open.pop();
                pos += 1;
            }
            Some(b'"') => pos = string_end(b, pos + 1)?,
            Some(b'-' | b'0'..=b'9') => pos = number_end(b, pos)?,
            Some(b't') => pos = literal_end(b, pos, b"true")?,
            Some(b'f') => pos = literal_end(b, pos, b"false")?,
            Some(b'n') => pos = literal_end(b, pos, b"null")?,
            _ => return Err(ScanError::Syntax),
        }
        // A value ended at `pos`: close containers until one goes on with another value.
        loop {
            let value_end = pos;
            pos = skip_ws(b, pos);
            let next = b.get(pos).copied();
            match (open.innermost(), next) {
                (None, None) => return Ok(()),
                (None, Some(_)) => return Err(ScanError::Syntax),
                (Some(ARRAY), Some(b',' | b']')) => {
                    // Depth 1 in an array: an element of the top-level array.
                    if open.depth == 1 && on_element(element_start..value_end).is_break() {
                        return Ok(());
                    }
                    if next == Some(b',') {
                        pos = skip_ws(b, pos + 1);
                        if open.depth == 1 {
                            element_start = pos;
                        }
                        continue 'value;
                    }
                    open.pop();
                    pos += 1;
                }
                (Some(OBJECT), Some(b',')) => {
                    pos = member_value(b, skip_ws(b, pos + 1))?;
                    continue 'value;
                }
                (Some(OBJECT), Some(b'}')) => {
                    open.pop();
                    pos += 1;
                }
                _ => return Err(ScanError::Syntax),
            }
        }
    }
}

const ARRAY: bool = true;
const OBJECT: bool = false;

/// The open arrays and objects, innermost last: one bit each (set for an array), and the innermost
/// one's kind kept apart, as it is read after every value.
struct Containers {
    bits: [u64; MAX_DEPTH.div_ceil(64)],
    depth: usize,
    /// Whether the innermost open container is an array (meaningless at depth 0).
    innermost_is_array: bool,
}

impl Default for Containers {
    fn default() -> Self {
        Containers {
            bits: [0; MAX_DEPTH.div_ceil(64)],
            depth: 0,
            innermost_is_array: false,
        }
    }
}

impl Containers {
    #[inline(always)]
    fn push(&mut self, is_array: bool) -> Result<(), ScanError> {
        if self.depth >= MAX_DEPTH {
            return Err(ScanError::TooDeep);
        }
        let (word, bit) = (self.depth / 64, self.depth % 64);
        if let Some(w) = self.bits.get_mut(word) {
            *w = (*w & !(1 << bit)) | (u64::from(is_array) << bit);
        }
        self.depth += 1;
        self.innermost_is_array = is_array;
        Ok(())
    }

    #[inline(always)]
    fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if let Some(i) = self.depth.checked_sub(1) {
            self.innermost_is_array = self
                .bits
                .get(i / 64)
                .is_some_and(|w| w >> (i % 64) & 1 == 1);
        }
    }

    /// Whether the innermost open container is an array; `None` when none is open.
    #[inline(always)]
    fn innermost(&self) -> Option<bool> {
        (self.depth > 0).then_some(self.innermost_is_array)
    }
}

/// The first position from `pos` that is not JSON whitespace.
#[inline(always)]
fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(pos) {
        pos += 1;
    }
    pos
}

/// Reads `"key"`, whitespace, `:` and whitespace from `pos` (inside an object, at a key): returns
/// where the member's value starts.
#[inline(always)]
fn member_value(b: &[u8], pos: usize) -> Result<usize, ScanError> {
    if b.get(pos) != Some(&b'"') {
        return Err(ScanError::Syntax);
    }
    let pos = skip_ws(b, string_end(b, pos + 1)?);
    match b.get(pos) {
        Some(b':') => Ok(skip_ws(b, pos + 1)),
        _ => Err(ScanError::Syntax),
    }
}

/// Reads the rest of a string from `pos` (just after its opening quote): returns the position after
/// the closing quote.
#[inline(always)]
fn string_end(b: &[u8], mut pos: usize) -> Result<usize, ScanError> {
    loop {
        pos = plain_run_end(b, pos);
        match b.get(pos) {
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => pos = escape_end(b, pos + 1)?,
            // A control character, or the end of the text.
            _ => return Err(ScanError::Syntax),
        }
    }
}

/// The first position from `pos` holding `"`, `\` or a control character (or the end). Sixteen
/// bytes at a time (string contents are most of the bytes of a typical payload), then one by one
/// (a string that ends the text is mostly closed a byte or two before its end).
#[inline(always)]
fn plain_run_end(b: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = b.get(pos..).and_then(<[u8]>::first_chunk::<16>) {
        if let Some(at) = first_special(chunk) {
            return pos + at;
        }
        pos += 16;
    }
    let rest = b.get(pos..).unwrap_or_default();
    pos + rest
        .iter()
        .take_while(|&&c| c >= 0x20 && c != b'"' && c != b'\\')
        .count()
}

/// The index of the first byte of `chunk` that is below 0x20, `"` or `\`, if any. Written as
/// plain compares of each byte, which the compiler turns into a few vector instructions.
#[inline(always)]
fn first_special(chunk: &[u8; 16]) -> Option<usize> {
    let mut flags = [0u8; 16];
    for (flag, &c) in flags.iter_mut().zip(chunk) {
        *flag = u8::from((c < 0x20) | (c == b'"') | (c == b'\\')).wrapping_neg();
    }
    let flags = u128::from_le_bytes(flags);
    (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize)
}

/// Reads an escape from `pos` (just after its `\`): returns the position after it.
fn escape_end(b: &[u8], pos: usize) -> Result<usize, ScanError> {
    match b.get(pos) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 1),
        Some(b'u') => match hex4(b, pos + 1) {
            Some(_) => Ok(pos + 5),
            None => Err(ScanError::Syntax),
        },
        _ => Err(ScanError::Syntax),
    }
}

/// The four hex digits at `pos`, if there are four.
fn hex4(b: &[u8], pos: usize) -> Option<u16> {
    let digits = b.get(pos..)?.first_chunk::<4>()?;
    digits.iter().try_fold(0u16, |n, &d| {
        let d = char::from(d).to_digit(16)?;
        Some(n << 4 | d as u16)
    })
}

/// Reads a number from `pos` (at its `-` or first digit): returns the position after it. What
/// follows is checked by the caller, so `01` is `0` followed by a stray `1`.
#[inline(always)]
fn number_end(b: &[u8], mut pos: usize) -> Result<usize, ScanError> {
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits_end(b, pos + 1),
        _ => return Err(ScanError::Syntax),
    }
    if b.get(pos) == Some(&b'.') {
        pos = some_digits_end(b, pos + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = b.get(pos) {
            pos += 1;
        }
        pos = some_digits_end(b, pos)?;
    }
    Ok(pos)
}

/// The end of the run of digits at `pos` (possibly empty), eight bytes at a time.
#[inline(always)]
fn digits_end(b: &[u8], pos: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH_NIBBLES: u64 = ONES * 0xf0;
    const THREES: u64 = ONES * 0x30;
    let rest = b.get(pos..).unwrap_or_default();
    let (words, tail) = rest.as_chunks::<8>();
    let mut end = pos;
    for &word in words {
        let x = u64::from_le_bytes(word);
        // A digit's high nibble is 3, and stays 3 when 6 is added (0x39 + 6 = 0x3f). Nothing
        // carries into a byte from the digits below it, so the lowest non-digit is exact.
        let odd =
            ((x & HIGH_NIBBLES) ^ THREES) | ((x.wrapping_add(ONES * 6) & HIGH_NIBBLES) ^ THREES);
        if odd != 0 {
            return end + (odd.trailing_zeros() / 8) as usize;
        }
        end += 8;
    }
    end + tail.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The end of the run of digits at `pos`, which must have one at least.
fn some_digits_end(b: &[u8], pos: usize) -> Result<usize, ScanError> {
    match digits_end(b, pos) {
        end if end > pos => Ok(end),
        _ => Err(ScanError::Syntax),
    }
}

/// Reads `literal` (`true`, `false`, `null`) at `pos`: returns the position after it.
#[inline(always)]
fn literal_end(b: &[u8], pos: usize, literal: &[u8]) -> Result<usize, ScanError> {
    match b.get(pos..pos + literal.len()) {
        Some(found) if found == literal => Ok(pos + literal.len()),
        _ => Err(ScanError::Syntax),
    }
}

/// The value of a JSON string literal (quotes included) that [`scan`] accepted: borrowed when it has
/// no escapes. Escaped surrogate pairs are joined; each lone surrogate escape becomes U+FFFD. (On
/// text `scan` refused, the result is unspecified, but there is no panic.)
pub(super) fn unescape(literal: &str) -> Cow<'_, str> {
    let inner = literal.strip_prefix('"').unwrap_or(literal);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    // Event names are short: a plain loop beats a vectorized search's setup.
    let Some(first) = inner.bytes().position(|b| b == b'\\') else {
        return Cow::Borrowed(inner);
    };
    let (head, mut rest) = inner.split_at(first);
    let mut out = String::with_capacity(inner.len());
    out.push_str(head);
    while let Some(escape) = rest.strip_prefix('\\') {
        rest = unescape_one(escape, &mut out);
        let plain = rest.find('\\').unwrap_or(rest.len());
        let (text, tail) = rest.split_at(plain);
        out.push_str(text);
        rest = tail;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Writes the character of the escape at the start of `escape` (just after its `\`) to `out`, and
/// returns the text after it. A high surrogate takes the low one that follows it, if any.
fn unescape_one<'a>(escape: &'a str, out: &mut String) -> &'a str {
    let mut chars = escape.chars();
    let simple = match chars.next() {
        Some('b') => '\u{8}',
        Some('f') => '\u{c}',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('u') => return unescape_unicode(chars.as_str(), out),
        Some(c) => c,
        None => return escape,
    };
    out.push(simple);
    chars.as_str()
}

/// [`unescape_one`] for `\u`: `hex` is just after the `u`.
fn unescape_unicode<'a>(hex: &'a str, out: &mut String) -> &'a str {
    let Some(unit) = hex4(hex.as_bytes(), 0) else {
        return hex;
    };
    let rest = hex.get(4..).unwrap_or_default();
    let low = rest
        .strip_prefix("\\u")
        .and_then(|r| hex4(r.as_bytes(), 0))
        .filter(|low| (0xdc00..=0xdfff).contains(low));
    match (unit, low) {
        (0xd800..=0xdbff, Some(low)) => {
            let pair = 0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
            out.push(char::from_u32(pair).unwrap_or(char::REPLACEMENT_CHARACTER));
            rest.get(6..).unwrap_or_default()
        }
        _ => {
            out.push(char::from_u32(unit.into()).unwrap_or(char::REPLACEMENT_CHARACTER));
            rest
        }
    }
}
