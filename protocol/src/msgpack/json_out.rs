//! Writing JSON text as `JSON.stringify` would: strings, integers, doubles (JavaScript's
//! `Number.prototype.toString`) and dates (`Date.prototype.toISOString`).
//!
//! Invariant: everything written is valid UTF-8 and valid JSON; nothing allocates beyond `out`.

use std::io::Write as _;

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` escapes it: `"`, `\`, and the
/// control characters (as `\b \f \n \r \t`, or `\u00xx` in lowercase hex).
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.extend_from_slice(&[b'\\', short]);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Appends `v` in decimal.
pub(super) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Appends `v` in decimal.
pub(super) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Appends a finite, non-zero `v` as JavaScript's `Number.prototype.toString` writes it: the
/// shortest digits that read back as `v`, in plain notation for exponents in `-7..21`, else as
/// `d.ddde+x`. Infinities and NaN write `null` (as `JSON.stringify`), zeros (`-0` too) `0`.
pub(super) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    // Rust's `{:e}` without a precision writes the shortest round-trip digits: `d[.ddd]e[-]x`.
    let mut buf = [0u8; 40];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    if write!(cursor, "{:e}", v.abs()).is_err() {
        out.extend_from_slice(b"null"); // Unreachable: at most 24 bytes are written.
        return;
    }
    let written = usize::try_from(cursor.position()).unwrap_or(0);
    let text = buf.get(..written).unwrap_or_default();
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let (mantissa, exp) = text.split_at(e_at);
    let exp: i64 = std::str::from_utf8(exp.get(1..).unwrap_or_default())
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut k = 0;
    for &d in mantissa.iter().filter(|d| d.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(k) {
            *slot = d;
            k += 1;
        }
    }
    let digits = digits.get(..k).unwrap_or_default();
    let k = k as i64;
    let n = exp + 1; // The decimal point sits after `n` digits.
    if v < 0.0 {
        out.push(b'-');
    }
    let zeros = |out: &mut Vec<u8>, count: i64| {
        out.extend(std::iter::repeat_n(
            b'0',
            usize::try_from(count).unwrap_or(0),
        ));
    };
    if k <= n && n <= 21 {
        out.extend_from_slice(digits);
        zeros(out, n - k);
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0).min(digits.len()));
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        zeros(out, -n);
        out.extend_from_slice(digits);
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.extend_from_slice(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        out.extend_from_slice(if n > 0 { b"e+" } else { b"e-" });
        write_u64(out, (n - 1).unsigned_abs());
    }
}

/// Appends a date, `ms` after the epoch, as `JSON.stringify` does: its ISO 8601 string
/// ([`crate::date::iso_string`]), or `null` for an invalid date.
pub(super) fn write_date(out: &mut Vec<u8>, ms: i64) {
    match crate::date::iso_string(ms) {
        Some(iso) => {
            out.push(b'"');
            out.extend_from_slice(iso.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}
