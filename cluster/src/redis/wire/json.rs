//! JSON text ↔ [`Value`], as JS's `JSON.parse` and `JSON.stringify` do it.
//!
//! Parsing (in `json_parse`) keeps object keys in order, duplicates too. Writing follows `JSON.stringify`: NaN and ±infinity become `null`, numbers are
//! written as JS writes them, and a binary value becomes either a Socket.IO placeholder (its bytes
//! collected as an attachment) or, as Node does for a `Buffer`, `{"type":"Buffer","data":[...]}`.

use bytes::Bytes;

use super::jsnum;
use super::value::Value;

pub(crate) use super::json_parse::parse;

/// What a binary value becomes in JSON text.
pub(crate) enum BinForm<'a> {
    /// `{"_placeholder":true,"num":i}`, the bytes pushed onto the attachments.
    Placeholder(&'a mut Vec<Bytes>),
    /// `{"type":"Buffer","data":[bytes...]}`, as `JSON.stringify` writes a Node `Buffer`.
    Buffer,
}

/// Appends the JSON text of `value` to `out`.
pub(crate) fn write(value: &Value, out: &mut String, bin: &mut BinForm<'_>) {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::UInt(n) => out.push_str(&n.to_string()),
        Value::Float(f) if !f.is_finite() => out.push_str("null"),
        Value::Float(f) => jsnum::write(*f, out),
        Value::Str(s) => write_str(s, out),
        Value::Bin(bytes) => match bin {
            BinForm::Placeholder(attachments) => {
                out.push_str("{\"_placeholder\":true,\"num\":");
                out.push_str(&attachments.len().to_string());
                out.push('}');
                attachments.push(bytes.clone());
            }
            BinForm::Buffer => {
                out.push_str("{\"type\":\"Buffer\",\"data\":[");
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&b.to_string());
                }
                out.push_str("]}");
            }
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out, bin);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(key, out);
                out.push(':');
                write(item, out, bin);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal, escaped as `JSON.stringify` escapes it.
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::{MAX_DEPTH, WireError};
    use super::*;

    fn text(v: &Value) -> String {
        let mut s = String::new();
        write(v, &mut s, &mut BinForm::Buffer);
        s
    }

    #[test]
    fn writes_like_json_stringify() {
        let v = Value::Array(vec![
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(2.0),
            Value::Float(1.5),
            Value::Int(-3),
            Value::UInt(u64::MAX),
            Value::str("a\"b\\c\n\u{1}é\u{2028}"),
            Value::Bin(Bytes::from_static(&[1, 255])),
            Value::map([("k", Value::Nil), ("", Value::Bool(true))]),
        ]);
        assert_eq!(
            text(&v),
            "[null,null,2,1.5,-3,18446744073709551615,\"a\\\"b\\\\c\\n\\u0001é\u{2028}\",\
             {\"type\":\"Buffer\",\"data\":[1,255]},{\"k\":null,\"\":true}]"
        );
    }

    #[test]
    fn parses_in_order_with_duplicates() {
        let v = parse(br#" {"b":1,"a":[true,null,-1.5e3,18446744073709551615],"b":"x"} "#);
        assert_eq!(
            v,
            Ok(Value::Map(vec![
                ("b".into(), Value::Int(1)),
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Bool(true),
                        Value::Nil,
                        Value::Float(-1500.0),
                        Value::UInt(u64::MAX)
                    ])
                ),
                ("b".into(), Value::str("x")),
            ]))
        );
        assert_eq!(v.unwrap().get("b"), Some(&Value::str("x")));
    }

    #[test]
    fn refuses_bad_and_deep_json() {
        assert!(matches!(parse(b"[1,]"), Err(WireError::Json(_))));
        assert!(matches!(parse(b"{} x"), Err(WireError::Json(_))));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(WireError::TooDeep));
        let deeper = "[{\"a\":".repeat(10_000);
        assert!(parse(deeper.as_bytes()).is_err());
    }
}
