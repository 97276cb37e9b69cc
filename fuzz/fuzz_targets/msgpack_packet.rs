//! Fuzzes `msgpack::decode` (the `socket.io-msgpack-parser` wire format) on arbitrary bytes, with the
//! default limits and tiny ones (`oxio_fuzz::checks::check_msgpack`): no panic; `decode_bytes` agrees
//! with `decode`; a decoded packet keeps the invariants of a decoded packet, re-encodes
//! (`msgpack::encode`) to bytes that decode to the same packet, and, as JSON text with its
//! attachments, decodes through the JSON codec to the same packet too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{TINY_MSGPACK, check_msgpack};
use oxio_protocol::msgpack::MsgpackLimits;

fuzz_target!(|data: &[u8]| {
    check_msgpack(data, &MsgpackLimits::default());
    check_msgpack(data, &TINY_MSGPACK);
});
