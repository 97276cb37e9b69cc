//! The notepack.io msgpack dialect: [`decode`] and [`encode`].
//!
//! Decoding accepts notepack.io 3 (what adapter 8.x and emitter 5.x write) and what older peers
//! write: float32, notepack 2's `undefined` (`d4 00 00`), ArrayBuffer (ext type 0 of `c7`/`c8`/`c9`)
//! and Date (`d7 00` + int64 ms), and the timestamp extension (type −1, 4, 8 or 12 bytes). Dates
//! become their ISO string; other extensions become `null`. An `undefined` map value leaves its key
//! out; an `undefined` elsewhere is `null`. Non-string map keys become strings (`String(key)`).
//! Invalid UTF-8 in a string is replaced (U+FFFD), as Node's `Buffer.toString` does.
//!
//! Encoding writes what notepack.io 3 writes for the equivalent JS value: the smallest integer form,
//! float64 for every other number (an integral float is an integer in JS, so it is written as one),
//! and the smallest string, bin, array and map forms.

use bytes::{BufMut, Bytes, BytesMut};

use super::MAX_DEPTH;
use super::date;
use super::error::WireError;
use super::value::Value;

/// Decodes one msgpack value that spans the whole input.
pub fn decode(input: &[u8]) -> Result<Value, WireError> {
    if input.is_empty() {
        return Err(WireError::Empty);
    }
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?.unwrap_or(Value::Nil);
    match input.len() - reader.pos {
        0 => Ok(value),
        n => Err(WireError::TrailingBytes(n)),
    }
}

/// Appends the msgpack bytes of `value` to `out`.
///
/// Fails (leaving `out` as it was) for values nested deeper than [`MAX_DEPTH`] or with a length of
/// 2^32 or more.
pub fn encode(value: &Value, out: &mut BytesMut) -> Result<(), WireError> {
    let start = out.len();
    let result = write(value, out, 0);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self, width: usize) -> Result<usize, WireError> {
        Ok(match width {
            1 => usize::from(self.u8()?),
            2 => usize::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    /// One value; `None` for `undefined`. `depth` is the number of enclosing arrays and maps.
    fn item(&mut self, depth: usize) -> Result<Option<Value>, WireError> {
        let b = self.u8()?;
        let value = match b {
            0x00..=0x7f => Value::Int(i64::from(b)),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => self.string(usize::from(b & 0x1f))?,
            0xc0 => Value::Nil,
            0xc1 => return Err(WireError::InvalidByte(b)),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (b - 0xc4))?;
                Value::Bin(Bytes::copy_from_slice(self.take(n)?))
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (b - 0xc7))?;
                let ty = self.u8()? as i8;
                return Ok(Some(self.ext(ty, n, true)?));
            }
            0xca => Value::Float(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Value::Float(f64::from_be_bytes(self.array()?)),
            0xcc => Value::Int(i64::from(self.u8()?)),
            0xcd => Value::Int(i64::from(u16::from_be_bytes(self.array()?))),
            0xce => Value::Int(i64::from(u32::from_be_bytes(self.array()?))),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::Int(i64::from(self.u8()? as i8)),
            0xd1 => Value::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Value::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Value::Int(i64::from_be_bytes(self.array()?)),
            0xd4..=0xd8 => {
                let ty = self.u8()? as i8;
                if b == 0xd4 && ty == 0 {
                    self.take(1)?;
                    return Ok(None);
                }
                return Ok(Some(self.ext(ty, 1 << (b - 0xd4), false)?));
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (b - 0xd9))?;
                self.string(n)?
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (b - 0xdc))?;
                self.seq(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.len(2 << (b - 0xde))?;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::Int(i64::from(b as i8)),
        };
        Ok(Some(value))
    }

    fn string(&mut self, n: usize) -> Result<Value, WireError> {
        let bytes = self.take(n)?;
        Ok(Value::Str(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The body of an extension of type `ty` and length `n`; `sized` for `c7`/`c8`/`c9`.
    fn ext(&mut self, ty: i8, n: usize, sized: bool) -> Result<Value, WireError> {
        let body = self.take(n)?;
        Ok(match (ty, n) {
            (0, _) if sized => Value::Bin(Bytes::copy_from_slice(body)),
            (0, 8) => {
                let ms = i64::from_be_bytes(body.try_into().map_err(|_| WireError::Truncated)?);
                date::iso_value(i128::from(ms))
            }
            (-1, 4) => {
                let secs = u32::from_be_bytes(body.try_into().map_err(|_| WireError::Truncated)?);
                date::timestamp_value(i64::from(secs), 0)
            }
            (-1, 8) => {
                let v = u64::from_be_bytes(body.try_into().map_err(|_| WireError::Truncated)?);
                // 30 bits of nanoseconds, then 34 bits of seconds.
                date::timestamp_value((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
            }
            (-1, 12) => {
                let (nanos, secs) = body.split_at(4);
                let nanos = u32::from_be_bytes(nanos.try_into().map_err(|_| WireError::Truncated)?);
                let secs = i64::from_be_bytes(secs.try_into().map_err(|_| WireError::Truncated)?);
                date::timestamp_value(secs, nanos)
            }
            _ => {
                tracing::debug!(
                    ext_type = ty,
                    len = n,
                    "unknown msgpack extension decoded as null"
                );
                Value::Nil
            }
        })
    }

    fn seq(&mut self, n: usize, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        // Every element takes at least one byte.
        if n > self.input.len() - self.pos {
            return Err(WireError::Truncated);
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.item(depth + 1)?.unwrap_or(Value::Nil));
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        // Every entry takes at least two bytes.
        if n > (self.input.len() - self.pos) / 2 {
            return Err(WireError::Truncated);
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let key = match self.item(depth + 1)? {
                Some(Value::Str(s)) => s,
                Some(other) => other.to_js_string(),
                None => "undefined".to_owned(),
            };
            if let Some(value) = self.item(depth + 1)? {
                entries.push((key, value));
            }
        }
        Ok(Value::Map(entries))
    }
}

fn write(value: &Value, out: &mut BytesMut, depth: usize) -> Result<(), WireError> {
    match value {
        Value::Nil => out.put_u8(0xc0),
        Value::Bool(b) => out.put_u8(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(n) => write_int(*n, out),
        Value::UInt(n) => write_uint(*n, out),
        Value::Float(f) => write_float(*f, out),
        Value::Str(s) => {
            write_len(s.len(), [0xa0, 0xd9, 0xda, 0xdb], 32, out)?;
            out.put_slice(s.as_bytes());
        }
        Value::Bin(b) => {
            write_len(b.len(), [0, 0xc4, 0xc5, 0xc6], 0, out)?;
            out.put_slice(b);
        }
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(WireError::TooDeep);
            }
            write_len(items.len(), [0x90, 0, 0xdc, 0xdd], 16, out)?;
            for item in items {
                write(item, out, depth + 1)?;
            }
        }
        Value::Map(entries) => {
            if depth >= MAX_DEPTH {
                return Err(WireError::TooDeep);
            }
            write_len(entries.len(), [0x80, 0, 0xde, 0xdf], 16, out)?;
            for (key, value) in entries {
                write_len(key.len(), [0xa0, 0xd9, 0xda, 0xdb], 32, out)?;
                out.put_slice(key.as_bytes());
                write(value, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Writes a length header: `forms` are the fix form's base (used below `fix_limit`), then the 8-,
/// 16- and 32-bit forms (0 where the kind has none).
fn write_len(
    len: usize,
    forms: [u8; 4],
    fix_limit: usize,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    if len < fix_limit {
        out.put_u8(forms[0] | len as u8);
    } else if len < 0x100 && forms[1] != 0 {
        out.put_u8(forms[1]);
        out.put_u8(len as u8);
    } else if len < 0x1_0000 {
        out.put_u8(forms[2]);
        out.put_u16(len as u16);
    } else {
        let len = u32::try_from(len).map_err(|_| WireError::TooLarge)?;
        out.put_u8(forms[3]);
        out.put_u32(len);
    }
    Ok(())
}

fn write_int(n: i64, out: &mut BytesMut) {
    if n >= 0 {
        write_uint(n as u64, out);
    } else if n >= -0x20 {
        out.put_i8(n as i8);
    } else if n >= -0x80 {
        out.put_u8(0xd0);
        out.put_i8(n as i8);
    } else if n >= -0x8000 {
        out.put_u8(0xd1);
        out.put_i16(n as i16);
    } else if n >= -0x8000_0000 {
        out.put_u8(0xd2);
        out.put_i32(n as i32);
    } else {
        out.put_u8(0xd3);
        out.put_i64(n);
    }
}

fn write_uint(n: u64, out: &mut BytesMut) {
    if n < 0x80 {
        out.put_u8(n as u8);
    } else if n < 0x100 {
        out.put_u8(0xcc);
        out.put_u8(n as u8);
    } else if n < 0x1_0000 {
        out.put_u8(0xcd);
        out.put_u16(n as u16);
    } else if n < 0x1_0000_0000 {
        out.put_u8(0xce);
        out.put_u32(n as u32);
    } else {
        out.put_u8(0xcf);
        out.put_u64(n);
    }
}

/// A JS number that is an integer is written as one (`-0` as `0`); integers beyond the 64-bit
/// ranges, fractions, NaN and the infinities as float64.
fn write_float(f: f64, out: &mut BytesMut) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        write_int(f as i64, out);
    } else if f.fract() == 0.0 && (TWO_63..2.0 * TWO_63).contains(&f) {
        write_uint(f as u64, out);
    } else {
        out.put_u8(0xcb);
        out.put_f64(f);
    }
}
