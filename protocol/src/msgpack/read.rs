//! [`Reader`]: msgpack tokens off a byte slice, the way notepack.io's Node decoder reads them.
//!
//! Invariants: every read is bounds-checked (a short input gives [`MsgpackError::Truncated`], never
//! a panic); every length is checked against the bytes left before anything is done with it (an
//! array of `n` needs at least `n` more bytes, a map at least `2n`); tokens borrow from the input.

use super::MsgpackError;

/// One msgpack value header, or a whole scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Token<'a> {
    /// `nil`.
    Nil,
    /// `false`, `true`.
    Bool(bool),
    /// A positive fixint, or `uint 8/16/32/64`.
    UInt(u64),
    /// A negative fixint, or `int 8/16/32/64` (any sign).
    Int(i64),
    /// `float 32` (widened) or `float 64`.
    Float(f64),
    /// A string's bytes (not checked to be UTF-8; Node replaces bad sequences).
    Str(&'a [u8]),
    /// `bin 8/16/32`, or `ext 8/16/32` of type 0 (notepack's `ArrayBuffer`).
    Binary(&'a [u8]),
    /// An array header with its element count.
    Array(usize),
    /// A map header with its entry count.
    Map(usize),
    /// `fixext 1` of type 0: JavaScript `undefined`.
    Undefined,
    /// `fixext 8` of type 0: a JavaScript `Date`, in milliseconds since the epoch.
    Date(i64),
    /// Any other extension (Node reads it as the array `[type, Buffer]`).
    Ext(i8, &'a [u8]),
}

/// A cursor over msgpack input.
#[derive(Clone, Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next byte, not consumed.
    pub(super) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Whether the next value is `undefined` (`fixext 1` of type 0).
    pub(super) fn at_undefined(&self) -> bool {
        matches!(self.rest, [0xd4, 0, _, ..])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MsgpackError> {
        if n > self.rest.len() {
            return Err(MsgpackError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MsgpackError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A big-endian unsigned length of `n` bytes (1, 2 or 4).
    fn len(&mut self, n: usize) -> Result<usize, MsgpackError> {
        let bytes = self.take(n)?;
        let len = bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        usize::try_from(len).map_err(|_| MsgpackError::Truncated)
    }

    fn container(&mut self, len: usize, map: bool) -> Result<Token<'a>, MsgpackError> {
        // Each element takes at least one byte (a map entry two): refuse a count the input cannot
        // hold before anyone iterates over it.
        let need = if map { len.checked_mul(2) } else { Some(len) };
        match need {
            Some(need) if need <= self.rest.len() => Ok(if map {
                Token::Map(len)
            } else {
                Token::Array(len)
            }),
            _ => Err(MsgpackError::Truncated),
        }
    }

    fn ext(&mut self, len: usize) -> Result<Token<'a>, MsgpackError> {
        let [ty] = self.array::<1>()?;
        let data = self.take(len)?;
        Ok(match ty {
            0 => Token::Binary(data),
            _ => Token::Ext(ty as i8, data),
        })
    }

    fn fixext(&mut self, len: usize) -> Result<Token<'a>, MsgpackError> {
        let [ty] = self.array::<1>()?;
        let data = self.take(len)?;
        Ok(match (ty, data) {
            (0, [_]) => Token::Undefined,
            (0, &[a, b, c, d, e, f, g, h]) => {
                Token::Date(i64::from_be_bytes([a, b, c, d, e, f, g, h]))
            }
            _ => Token::Ext(ty as i8, data),
        })
    }

    /// Reads the next token: a whole scalar, or a container's header (its elements follow).
    pub(super) fn next(&mut self) -> Result<Token<'a>, MsgpackError> {
        let [prefix] = self.array::<1>()?;
        Ok(match prefix {
            0x00..=0x7f => Token::UInt(u64::from(prefix)),
            0x80..=0x8f => self.container(usize::from(prefix & 0x0f), true)?,
            0x90..=0x9f => self.container(usize::from(prefix & 0x0f), false)?,
            0xa0..=0xbf => Token::Str(self.take(usize::from(prefix & 0x1f))?),
            0xc0 => Token::Nil,
            0xc2 => Token::Bool(false),
            0xc3 => Token::Bool(true),
            0xc4..=0xc6 => {
                let len = self.len(1 << (prefix - 0xc4))?;
                Token::Binary(self.take(len)?)
            }
            0xc7..=0xc9 => {
                let len = self.len(1 << (prefix - 0xc7))?;
                self.ext(len)?
            }
            0xca => Token::Float(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Token::Float(f64::from_be_bytes(self.array()?)),
            0xcc => Token::UInt(u64::from(u8::from_be_bytes(self.array()?))),
            0xcd => Token::UInt(u64::from(u16::from_be_bytes(self.array()?))),
            0xce => Token::UInt(u64::from(u32::from_be_bytes(self.array()?))),
            0xcf => Token::UInt(u64::from_be_bytes(self.array()?)),
            0xd0 => Token::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Token::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Token::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Token::Int(i64::from_be_bytes(self.array()?)),
            0xd4..=0xd8 => self.fixext(1 << (prefix - 0xd4))?,
            0xd9..=0xdb => {
                let len = self.len(1 << (prefix - 0xd9))?;
                Token::Str(self.take(len)?)
            }
            0xdc | 0xdd => {
                let len = self.len(2 << (prefix - 0xdc))?;
                self.container(len, false)?
            }
            0xde | 0xdf => {
                let len = self.len(2 << (prefix - 0xde))?;
                self.container(len, true)?
            }
            0xe0..=0xff => Token::Int(i64::from(prefix as i8)),
            0xc1 => return Err(MsgpackError::InvalidPrefix(prefix)),
        })
    }

    /// Skips one whole value, containers included, without recursion or allocation.
    pub(super) fn skip(&mut self) -> Result<(), MsgpackError> {
        let mut pending: usize = 1;
        while pending > 0 {
            pending -= 1;
            match self.next()? {
                // Bounded by the input length (checked by `container`), so this cannot overflow.
                Token::Array(n) => pending = pending.saturating_add(n),
                Token::Map(n) => pending = pending.saturating_add(n.saturating_mul(2)),
                _ => {}
            }
        }
        Ok(())
    }
}
