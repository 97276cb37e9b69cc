//! [`Value`] ↔ the server's [`RemoteData`] and ↔ `serde_json::Value`.
//!
//! Into [`RemoteData`], each binary value becomes a placeholder `{"_placeholder":true,"num":i}`,
//! numbered in document order, with its bytes in `attachments[i]`. Back from it, a map with
//! `_placeholder: true` and an integer `num` naming an attachment becomes that binary value (what
//! Socket.IO's `reconstructPacket` accepts); any other map stays a map.
//!
//! Into `serde_json::Value`, a binary value becomes what `JSON.stringify` makes of a Node `Buffer`,
//! `{"type":"Buffer","data":[...]}`.

use oxio_protocol::engine_io::Utf8Bytes;

use super::MAX_DEPTH;
use super::error::WireError;
use super::json::{self, BinForm};
use super::value::Value;
use crate::remote::RemoteData;

impl Value {
    /// The value as the server holds event data: JSON text with placeholders, plus attachments.
    pub fn to_remote_data(&self) -> RemoteData {
        let mut attachments = Vec::new();
        let mut text = String::new();
        json::write(self, &mut text, &mut BinForm::Placeholder(&mut attachments));
        RemoteData {
            json: Utf8Bytes::from(text),
            attachments,
        }
    }

    /// The value of server-held event data, placeholders turned back into binary values.
    pub fn from_remote_data(data: &RemoteData) -> Result<Value, WireError> {
        let mut value = json::parse(data.json.as_bytes())?;
        if !data.attachments.is_empty() {
            fill_placeholders(&mut value, data);
        }
        Ok(value)
    }

    /// Parses JSON text (the whole input) as `JSON.parse` does, keys in order.
    pub fn from_json_text(text: &[u8]) -> Result<Value, WireError> {
        json::parse(text)
    }

    /// The JSON text `JSON.stringify` writes for the value (a binary value as a Node `Buffer`).
    pub fn to_json_text(&self) -> String {
        let mut text = String::new();
        json::write(self, &mut text, &mut BinForm::Buffer);
        text
    }

    /// The value as a `serde_json::Value` (NaN and ±infinity become `null`, a binary value
    /// `{"type":"Buffer","data":[...]}`).
    pub fn to_json_value(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::UInt(n) => J::from(*n),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Bin(b) => serde_json::json!({
                "type": "Buffer",
                "data": b.iter().map(|x| J::from(*x)).collect::<Vec<_>>(),
            }),
            Value::Array(items) => J::Array(items.iter().map(Value::to_json_value).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_value()))
                    .collect(),
            ),
        }
    }

    /// The value of a `serde_json::Value`; fails for nesting deeper than [`MAX_DEPTH`].
    pub fn from_json_value(value: &serde_json::Value) -> Result<Value, WireError> {
        from_json_value(value, 0)
    }
}

fn from_json_value(value: &serde_json::Value, depth: usize) -> Result<Value, WireError> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(_) | J::Object(_) if depth >= MAX_DEPTH => return Err(WireError::TooDeep),
        J::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| from_json_value(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_json_value(v, depth + 1)?)))
                .collect::<Result<_, WireError>>()?,
        ),
    })
}

/// Replaces each placeholder naming an attachment of `data` by its bytes.
fn fill_placeholders(value: &mut Value, data: &RemoteData) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| fill_placeholders(v, data)),
        Value::Map(_) => {
            if let Some(bytes) = placeholder(value).and_then(|i| data.attachments.get(i)) {
                *value = Value::Bin(bytes.clone());
            } else if let Value::Map(entries) = value {
                entries
                    .iter_mut()
                    .for_each(|(_, v)| fill_placeholders(v, data));
            }
        }
        _ => {}
    }
}

/// The attachment number of a placeholder map.
fn placeholder(value: &Value) -> Option<usize> {
    if value.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    usize::try_from(value.get("num")?.as_i64()?).ok()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn binary_values_become_placeholders_in_document_order() {
        let v = Value::Array(vec![
            Value::str("ev"),
            Value::Bin(Bytes::from_static(b"a")),
            Value::map([("x", Value::Bin(Bytes::from_static(b"b")))]),
        ]);
        let data = v.to_remote_data();
        assert_eq!(
            data.json,
            r#"["ev",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]"#
        );
        assert_eq!(
            data.attachments,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
        assert_eq!(Value::from_remote_data(&data), Ok(v));
    }

    #[test]
    fn placeholders_without_attachment_stay_maps() {
        let data = RemoteData {
            json: Utf8Bytes::from(
                r#"[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#.to_owned(),
            ),
            attachments: vec![Bytes::from_static(b"z")],
        };
        let v = Value::from_remote_data(&data).unwrap();
        let items = v.as_array().unwrap();
        assert!(matches!(items[0], Value::Map(_)));
        assert_eq!(items[1], Value::Bin(Bytes::from_static(b"z")));
    }

    #[test]
    fn json_values_both_ways() {
        let j = serde_json::json!({"a": [1, -2, 1.5, null, "s", true], "u": u64::MAX});
        let v = Value::from_json_value(&j).unwrap();
        assert_eq!(v.to_json_value(), j);
        assert_eq!(
            Value::Bin(Bytes::from_static(&[7])).to_json_value(),
            serde_json::json!({"type": "Buffer", "data": [7]})
        );
        assert_eq!(
            Value::Float(f64::NAN).to_json_value(),
            serde_json::Value::Null
        );
    }
}
