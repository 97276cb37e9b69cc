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

/// The largest time `new Date(ms)` accepts (JavaScript's `TimeClip`): 8.64e15 ms either side of
/// the epoch.
const MAX_TIME: i64 = 8_640_000_000_000_000;

/// Appends a date, `ms` after the epoch, as `JSON.stringify` does: a string in the ISO 8601 form of
/// `Date.prototype.toISOString` (`"2024-01-02T03:04:05.006Z"`, years outside `0..=9999` as
/// `+yyyyyy`/`-yyyyyy`), or `null` for an invalid date.
pub(super) fn write_date(out: &mut Vec<u8>, ms: i64) {
    if !(-MAX_TIME..=MAX_TIME).contains(&ms) {
        out.extend_from_slice(b"null");
        return;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    out.push(b'"');
    if (0..=9999).contains(&year) {
        pad(out, year, 4);
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        pad(out, year.abs(), 6);
    }
    for (sep, value, width) in [
        (b'-', month, 2),
        (b'-', day, 2),
        (b'T', in_day / 3_600_000, 2),
        (b':', in_day / 60_000 % 60, 2),
        (b':', in_day / 1000 % 60, 2),
        (b'.', in_day % 1000, 3),
    ] {
        out.push(sep);
        pad(out, value, width);
    }
    out.extend_from_slice(b"Z\"");
}

/// Appends a non-negative `v` in decimal, left-padded with zeros to `width` digits.
fn pad(out: &mut Vec<u8>, v: i64, width: usize) {
    let start = out.len();
    write_u64(out, v.unsigned_abs());
    let len = out.len() - start;
    if len < width {
        out.splice(start..start, std::iter::repeat_n(b'0', width - len));
    }
}
