//! Dates as JavaScript writes them, for values that cross from msgpack (where a date is an
//! extension) to JSON (where it is a string) or are shown to JavaScript code.
//!
//! Invariant: every function is total: an out-of-range time gives `None` (JavaScript's "Invalid
//! Date"), never a panic.

/// The largest time `new Date(ms)` accepts (JavaScript's `TimeClip`): 8.64e15 ms either side of
/// the epoch.
pub const MAX_TIME_MS: i64 = 8_640_000_000_000_000;

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `new Date(ms).toISOString()`: `2024-01-02T03:04:05.006Z`, years outside `0..=9999` as
/// `+yyyyyy`/`-yyyyyy`; `None` for a time outside [`MAX_TIME_MS`] (an invalid date, which
/// `JSON.stringify` writes as `null`).
///
/// ```
/// assert_eq!(
///     oxio_protocol::date::iso_string(960_854_400_000).as_deref(),
///     Some("2000-06-13T00:00:00.000Z")
/// );
/// ```
pub fn iso_string(ms: i64) -> Option<String> {
    if !(-MAX_TIME_MS..=MAX_TIME_MS).contains(&ms) {
        return None;
    }
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let in_day = ms.rem_euclid(86_400_000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_to_iso_string() {
        let iso = |ms| iso_string(ms).unwrap();
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso(951_782_400_000 + 3_723_004), "2000-02-29T01:02:03.004Z");
        assert_eq!(iso(MAX_TIME_MS), "+275760-09-13T00:00:00.000Z");
        assert_eq!(iso(-MAX_TIME_MS), "-271821-04-20T00:00:00.000Z");
        assert_eq!(iso(-62_198_755_200_000), "-000001-01-01T00:00:00.000Z");
        assert_eq!(iso(253_402_300_800_000), "+010000-01-01T00:00:00.000Z");
        assert_eq!(iso_string(MAX_TIME_MS + 1), None);
    }
}
