//! [`Value`]: one decoded msgpack or JSON value, with JS semantics.
//!
//! Integers that fit an `i64` are [`Value::Int`]; [`Value::UInt`] holds only those above
//! `i64::MAX` (the decoders keep to this, so equal numbers compare equal). Map keys are strings in
//! the order they arrived, duplicates included (a JS reader keeps the last value).

use bytes::Bytes;

use super::jsnum;

/// `Number.MAX_SAFE_INTEGER`: 2^53 - 1.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One msgpack or JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null` (and `undefined` in an array).
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits an `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// Any other number (NaN and ±infinity included).
    Float(f64),
    /// A string.
    Str(String),
    /// Bytes (a Node `Buffer`, `ArrayBuffer` or typed array).
    Bin(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object: string keys in order, duplicates kept.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A map from `(key, value)` pairs.
    pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// The value of `key` in a map (the last one, as in JS); `None` for a missing key or a non-map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range (an integral float counts, as in JS).
    pub fn as_i64(&self) -> Option<i64> {
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        match *self {
            Value::Int(n) => Some(n),
            // In range and integral, so the cast is exact.
            Value::Float(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) => Some(f as i64),
            _ => None,
        }
    }

    /// The number as an `f64` (integers rounded as JS would hold them).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(n) => Some(n as f64),
            Value::UInt(n) => Some(n as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the value is truthy in JS (`false`, `null`, `0`, NaN and `""` are not).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::UInt(_) => true,
            Value::Float(f) => *f != 0.0 && !f.is_nan(),
            Value::Str(s) => !s.is_empty(),
            Value::Bin(_) | Value::Array(_) | Value::Map(_) => true,
        }
    }

    /// Whether a [`Value::Bin`] occurs anywhere in the value.
    pub fn contains_bin(&self) -> bool {
        match self {
            Value::Bin(_) => true,
            Value::Array(items) => items.iter().any(Value::contains_bin),
            Value::Map(entries) => entries.iter().any(|(_, v)| v.contains_bin()),
            _ => false,
        }
    }

    /// Whether arrays and maps nest more than `limit` levels deep (looks no deeper than that).
    pub(crate) fn depth_exceeds(&self, limit: usize) -> bool {
        match self {
            Value::Array(_) | Value::Map(_) if limit == 0 => true,
            Value::Array(items) => items.iter().any(|v| v.depth_exceeds(limit - 1)),
            Value::Map(entries) => entries.iter().any(|(_, v)| v.depth_exceeds(limit - 1)),
            _ => false,
        }
    }

    /// The value as JS's `String(value)` writes it: how a non-string map key becomes a key.
    pub(crate) fn to_js_string(&self) -> String {
        let mut out = String::new();
        self.write_js_string(&mut out);
        out
    }

    fn write_js_string(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            // A JS number holds integers exactly only up to 2^53: beyond, `String` writes the
            // nearest double, as Node's decoder has it.
            Value::Int(n) if n.unsigned_abs() > MAX_SAFE_INTEGER => jsnum::write(*n as f64, out),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::UInt(n) => jsnum::write(*n as f64, out),
            Value::Float(f) => jsnum::write(*f, out),
            Value::Str(s) => out.push_str(s),
            Value::Bin(b) => out.push_str(&String::from_utf8_lossy(b)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // `[null].join()` is "": null and undefined elements write nothing.
                    if *item != Value::Nil {
                        item.write_js_string(out);
                    }
                }
            }
            Value::Map(_) => out.push_str("[object Object]"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        match i64::try_from(n) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::UInt(n),
        }
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Value {
        Value::Bin(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_string_of_integers_beyond_2_pow_53_is_the_doubles() {
        assert_eq!(
            Value::Int(9_007_199_254_740_991).to_js_string(),
            "9007199254740991"
        );
        assert_eq!(
            Value::Int(9_007_199_254_740_993).to_js_string(),
            "9007199254740992"
        );
        assert_eq!(
            Value::Int(-9_007_199_254_740_993).to_js_string(),
            "-9007199254740992"
        );
        assert_eq!(Value::Int(i64::MIN).to_js_string(), "-9223372036854776000");
        assert_eq!(Value::UInt(u64::MAX).to_js_string(), "18446744073709552000");
        assert_eq!(
            Value::Array(vec![Value::Int(1), Value::UInt(1 << 63)]).to_js_string(),
            "1,9223372036854776000"
        );
    }
}
