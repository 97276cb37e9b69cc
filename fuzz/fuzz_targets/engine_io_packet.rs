//! Fuzzes `Packet::decode_text` and `Packet::decode_binary` on arbitrary bytes: no panic, and whatever
//! decodes re-encodes to text that decodes to the same packet.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oxio_protocol::engine_io::Packet;

fn assert_round_trip(p: Packet) {
    let mut wire = Vec::with_capacity(p.text_len());
    p.encode_text(&mut wire);
    assert_eq!(wire.len(), p.text_len());
    assert!(std::str::from_utf8(&wire).is_ok());
    assert_eq!(Packet::decode_text(Bytes::from(wire)), Ok(p));
}

fuzz_target!(|data: &[u8]| {
    let data = Bytes::copy_from_slice(data);
    if let Ok(p) = Packet::decode_text(data.clone()) {
        assert_round_trip(p);
    }
    assert_round_trip(Packet::decode_binary(data));
});
