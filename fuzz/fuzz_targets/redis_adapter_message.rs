//! Fuzzes the Redis adapter's wire decoders (`oxio_cluster::redis::wire`) on arbitrary bytes: the
//! notepack value decoder, classic broadcasts, requests and responses, and sharded messages. No
//! decoder may panic; whatever decodes re-encodes and decodes again, reaching a fixed point (see
//! `src/redis_adapter.rs`, shared with `cluster/tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/redis_adapter.rs"]
mod redis_adapter;

fuzz_target!(|data: &[u8]| {
    redis_adapter::check(data);
});
