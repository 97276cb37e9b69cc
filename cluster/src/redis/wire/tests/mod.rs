//! Tests of the wire codec: golden bytes from the protocol notes' captures, older dialects,
//! malformed input, and round trips.

mod classic;
mod malformed;
mod notepack;
mod prop;
mod sharded;

use bytes::Bytes;

/// Bytes from a readable dump: hex pairs, and `"text"` for the UTF-8 of `text`.
pub(crate) fn dump(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = spec;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let end = rest[1..].find('"').expect("closing quote") + 1;
            out.extend_from_slice(&rest.as_bytes()[1..end]);
            rest = &rest[end + 1..];
        } else if c.is_ascii_hexdigit() {
            out.push(u8::from_str_radix(&rest[..2], 16).expect("hex pair"));
            rest = &rest[2..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

pub(super) fn bin(bytes: &'static [u8]) -> Bytes {
    Bytes::from_static(bytes)
}
