//! JSON text as `JSON.stringify` writes it (expected values printed by Node 20).

use crate::msgpack::json_out::{write_date, write_f64, write_i64, write_str, write_u64};

fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn doubles_as_javascript_writes_them() {
    let cases: &[(f64, &str)] = &[
        (0.1, "0.1"),
        (1.5, "1.5"),
        (-0.25, "-0.25"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (123456.789, "123456.789"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (123e-20, "1.23e-18"),
        (9007199254740994.0, "9007199254740994"),
        (1e20, "100000000000000000000"),
        (100.0, "100"),
        (0.000001234, "0.000001234"),
        (1.2345678901234567e25, "1.2345678901234566e+25"),
        (-1e-300, "-1e-300"),
        (4.35, "4.35"),
        (0.3 + 0.6, "0.8999999999999999"),
        (0.0, "0"),
        (-0.0, "0"),
        (f64::NAN, "null"),
        (f64::INFINITY, "null"),
        (f64::NEG_INFINITY, "null"),
    ];
    for &(v, want) in cases {
        assert_eq!(text(|o| write_f64(o, v)), want, "{v:e}");
    }
}

#[test]
fn dates_as_to_iso_string() {
    let cases: &[(i64, &str)] = &[
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1704164645006, "2024-01-02T03:04:05.006Z"),
        (8_640_000_000_000_000, "+275760-09-13T00:00:00.000Z"),
        (-8_640_000_000_000_000, "-271821-04-20T00:00:00.000Z"),
        (-62198755200000, "-000001-01-01T00:00:00.000Z"),
        (253402300800000, "+010000-01-01T00:00:00.000Z"),
        (-62167219200001, "-000001-12-31T23:59:59.999Z"),
    ];
    for &(ms, want) in cases {
        assert_eq!(text(|o| write_date(o, ms)), format!("\"{want}\""), "{ms}");
    }
    for ms in [8_640_000_000_000_001, i64::MIN, i64::MAX] {
        assert_eq!(text(|o| write_date(o, ms)), "null");
    }
}

#[test]
fn strings_escaped_as_json_stringify() {
    assert_eq!(
        text(|o| write_str(o, "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/é😀")),
        "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}/é😀\""
    );
    assert_eq!(text(|o| write_str(o, "")), "\"\"");
}

#[test]
fn integers() {
    assert_eq!(text(|o| write_u64(o, u64::MAX)), "18446744073709551615");
    assert_eq!(text(|o| write_u64(o, 0)), "0");
    assert_eq!(text(|o| write_i64(o, i64::MIN)), "-9223372036854775808");
    assert_eq!(text(|o| write_i64(o, -5)), "-5");
}
