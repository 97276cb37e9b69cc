//! [`TextWriter`]: fills a buffer sized in advance with a packet's text, front to back, and
//! [`json_str_len`] / [`TextWriter::json_str`]: JSON string literals as `JSON.stringify` writes them.
//!
//! Invariants:
//! - The encoders compute the exact length of what they write first (`*_len`), size the output once
//!   to it, and write every byte of it: nothing is reserved twice, copied twice or left over. Writing
//!   past the end is a bug of that arithmetic: it is dropped (and fails debug builds), never a panic.
//! - A string literal escapes what `JSON.stringify` and serde_json escape, no more: `"` and `\`, the
//!   control characters below U+0020 (`\b \t \n \f \r` by name, the others as `\u00xx`, lower-case
//!   hex). A Rust `&str` holds no lone surrogate, the one other thing `JSON.stringify` escapes.

use bytes::BytesMut;

use crate::decimal;

/// A writer over a buffer exactly as long as what it writes: the room [`TextWriter::append`] adds
/// to a `BytesMut`, or a slice handed to [`TextWriter::over`].
pub(super) struct TextWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> TextWriter<'a> {
    /// Grows `out` by exactly `len` bytes and writes over them.
    pub(super) fn append(out: &'a mut BytesMut, len: usize) -> TextWriter<'a> {
        TextWriter::over(grow(out, len))
    }

    /// Writes over `buf`, which must be exactly as long as what is written.
    pub(super) fn over(buf: &'a mut [u8]) -> TextWriter<'a> {
        TextWriter { buf, pos: 0 }
    }

    #[inline]
    pub(super) fn byte(&mut self, byte: u8) {
        self.bytes(&[byte]);
    }

    #[inline]
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.room(bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Writes `n` in decimal ([`decimal::len`] bytes).
    pub(super) fn decimal(&mut self, n: u64) {
        if let Some(digits) = self.room(decimal::len(n)) {
            decimal::write(digits, n);
        }
    }

    /// The next `len` bytes, which the caller fills; `None` past the end.
    #[inline]
    fn room(&mut self, len: usize) -> Option<&mut [u8]> {
        let at = self.pos;
        self.pos += len;
        let room = self.buf.get_mut(at..at + len);
        debug_assert!(
            room.is_some(),
            "TextWriter: written past the computed length"
        );
        room
    }

    /// Writes `s` as a JSON string literal, quotes included: [`json_str_len`] bytes.
    pub(super) fn json_str(&mut self, s: &str) {
        self.byte(b'"');
        let mut plain = 0;
        for (i, &b) in s.as_bytes().iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\x08' => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\x0c' => b"\\f",
                b'\r' => b"\\r",
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    &[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 0xf)],
                    ]
                }
                _ => continue,
            };
            self.bytes(s.as_bytes().get(plain..i).unwrap_or_default());
            self.bytes(escape);
            plain = i + 1;
        }
        self.bytes(s.as_bytes().get(plain..).unwrap_or_default());
        self.byte(b'"');
    }
}

impl Drop for TextWriter<'_> {
    /// Every writer fills what it sized; bytes left as zeros would be sent.
    fn drop(&mut self) {
        debug_assert_eq!(
            self.pos,
            self.buf.len(),
            "TextWriter: length computed wrong"
        );
    }
}

/// Grows `out` by exactly `len` zero bytes (one allocation at most), and returns them.
pub(super) fn grow(out: &mut BytesMut, len: usize) -> &mut [u8] {
    let start = out.len();
    out.resize(start + len, 0);
    out.get_mut(start..).unwrap_or_default()
}

/// The length of `s` as a JSON string literal, quotes included (see [`TextWriter::json_str`]).
pub(super) fn json_str_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\x08' | b'\t' | b'\n' | b'\x0c' | b'\r' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + escapes + 2
}
