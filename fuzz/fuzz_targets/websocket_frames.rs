//! Fuzzes the websocket frame decoder (`oxio_protocol::websocket::FrameDecoder`) on the bytes a
//! client sends, under a message limit and a split into reads chosen by the first three input
//! bytes. Nothing panics; the same messages and first error come out however the stream is split;
//! the decoder's answers keep the engine's buffer within the limit; the messages keep their limits,
//! survive the trip back through masked client frames, and agree with a reference model (see
//! `src/websocket_frames.rs`, shared with `protocol/tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/websocket_frames.rs"]
mod websocket_frames;

fuzz_target!(|data: &[u8]| {
    websocket_frames::check(data);
});
