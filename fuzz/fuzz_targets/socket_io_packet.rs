//! Fuzzes `socket_io::Packet::decode_text` on arbitrary text (bytes that are not UTF-8 are read
//! lossily), with the default limits and with tiny ones: no panic; a decoded packet keeps the
//! invariants of a decoded packet, `args()` and `event_name()` do not panic (and succeed for events and
//! acks), and encoding it (then its attachments) decodes to the normalized packet. See
//! `oxio_fuzz::checks::check_text`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{TINY, check_text};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{DecodeLimits, is_placeholder};

fuzz_target!(|data: &[u8]| {
    let text = Utf8Bytes::from(String::from_utf8_lossy(data).into_owned());
    check_text(&text, &DecodeLimits::default());
    check_text(&text, &TINY);
    let _ = is_placeholder(&text);
});
