//! Dates as JS's `Date.prototype.toJSON` writes them (`2000-06-13T00:00:00.000Z`).
//!
//! A Date that arrives as a msgpack extension is turned into the string a Node server would send
//! to its clients, since Socket.IO clients see dates as strings anyway.

use super::value::Value;

/// The ISO string of a time in ms since the epoch, or `null` for a time outside a JS Date's range
/// (an "Invalid Date", which `toJSON` turns into `null`).
pub(crate) fn iso_value(ms: i128) -> Value {
    i64::try_from(ms)
        .ok()
        .and_then(oxio_protocol::date::iso_string)
        .map_or(Value::Nil, Value::Str)
}

/// The time of a msgpack timestamp (seconds and nanoseconds), truncated to ms like a JS Date.
pub(crate) fn timestamp_value(seconds: i64, nanos: u32) -> Value {
    let ns = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    iso_value(ns / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(ms: i128) -> String {
        match iso_value(ms) {
            Value::Str(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn like_to_iso_string() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(960_854_400_000), "2000-06-13T00:00:00.000Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso(951_782_400_000 + 3_723_004), "2000-02-29T01:02:03.004Z");
        assert_eq!(iso(8_640_000_000_000_000), "+275760-09-13T00:00:00.000Z");
        assert_eq!(iso(-8_640_000_000_000_000), "-271821-04-20T00:00:00.000Z");
        assert_eq!(iso(-62_198_755_200_000), "-000001-01-01T00:00:00.000Z");
        assert_eq!(iso(253_402_300_800_000), "+010000-01-01T00:00:00.000Z");
        assert_eq!(iso_value(8_640_000_000_000_001), Value::Nil);
    }

    #[test]
    fn timestamps_truncate_toward_zero() {
        assert_eq!(
            timestamp_value(-1, 999_999_999),
            Value::str("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(
            timestamp_value(1, 1_999_999),
            Value::str("1970-01-01T00:00:01.001Z")
        );
        assert_eq!(timestamp_value(i64::MIN, 0), Value::Nil);
    }
}
