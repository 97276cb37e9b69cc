//! Fuzzes `socket_io::Packet::decode_text` on arbitrary text (bytes that are not UTF-8 are read
//! lossily), with the default limits and with tiny ones: no panic; a decoded packet keeps the
//! invariants of a decoded packet, `args()` and `event_name()` do not panic (and succeed for events and
//! acks), and encoding it (then its attachments) decodes to the normalized packet. See
//! `oxio_fuzz::checks::check_text`.
//!
//! Differential: the same text as the data of an ACK, whose `args()` must agree with serde_json
//! (the same elements, or an error exactly when serde_json refuses the text or it nests deeper
//! than `MAX_DEPTH`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{TINY, check_text};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{
    DecodeError, DecodeLimits, MAX_DEPTH, Packet, PacketType, is_placeholder,
};
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let text = Utf8Bytes::from(String::from_utf8_lossy(data).into_owned());
    check_text(&text, &DecodeLimits::default());
    check_text(&text, &TINY);
    let _ = is_placeholder(&text);
    args_agree_with_serde_json(&text);
});

/// `text` as an ACK's data: `args()` against serde_json.
fn args_agree_with_serde_json(text: &Utf8Bytes) {
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('[')
    {
        return;
    }
    let packet = Packet {
        data: Some(text.clone()),
        ..Packet::new(PacketType::Ack, Utf8Bytes::from_static("/"))
    };
    let ours = packet.args();
    match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(elements) if !too_deep(text) => {
            let ours = ours.expect("serde_json accepts it");
            assert!(
                ours.iter()
                    .map(|a| a.as_str())
                    .eq(elements.iter().map(|e| e.get()))
            );
        }
        _ => assert_eq!(ours, Err(DecodeError::InvalidJson)),
    }
}

/// Whether valid JSON opens more than [`MAX_DEPTH`] arrays and objects at once.
fn too_deep(json: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in json.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => depth += 1,
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_DEPTH {
            return true;
        }
    }
    false
}
