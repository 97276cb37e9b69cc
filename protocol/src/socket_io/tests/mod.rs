//! Unit tests of the Socket.IO codec, with helpers shared by its files.

mod args_tests;
mod binary_tests;
mod decode_tests;
mod encode_tests;
mod json_differential;
mod json_scan_tests;
mod node_vectors;

use bytes::BytesMut;

use super::{DecodeError, DecodeLimits, Decoded, Packet, RawJson};
use crate::engine_io::Utf8Bytes;

/// Decodes `text` with the default limits.
fn decode(text: &str) -> Result<Decoded, DecodeError> {
    Packet::decode_text(Utf8Bytes::from(text.to_owned()), &DecodeLimits::default())
}

/// Decodes `text`, which must be a whole (non-binary) packet.
fn complete(text: &str) -> Packet {
    match decode(text) {
        Ok(Decoded::Complete(packet)) => packet,
        other => panic!("{text:?} decoded to {other:?}"),
    }
}

/// The error decoding `text` gives.
fn error(text: &str) -> DecodeError {
    match decode(text) {
        Err(e) => e,
        Ok(other) => panic!("{text:?} decoded to {other:?}"),
    }
}

/// No arguments, typed for the generic `encode_*` functions.
const NO_ARGS: &[&RawJson] = &[];

/// Borrows `json` as raw JSON (it must be valid).
fn raw(json: &str) -> &RawJson {
    serde_json::from_str(json).expect("valid JSON")
}

/// What an `encode_*` function wrote, as a string.
fn written(f: impl FnOnce(&mut BytesMut)) -> String {
    let mut out = BytesMut::new();
    f(&mut out);
    String::from_utf8(out.to_vec()).expect("UTF-8 output")
}
