//! The server's websocket receive path, end to end, on an `arbitrary` sequence of frames (or a seed
//! transcript, see `oxio_fuzz::transcript`): a text frame goes through `engine_io::Packet::
//! decode_text`, and a message it yields (text, or binary from a `b<base64>` text) goes to
//! `socket_io::Reassembly`; a binary frame is `Packet::decode_binary`, then `push_binary`. As in the
//! server, the first error of either layer ends the connection.
//!
//! Checks (`oxio_fuzz::checks::websocket_path`): no panic; every packet that comes out has exactly
//! the attachments its header announced (the binary messages that followed it), keeps the invariants
//! of a decoded packet, and survives the trip back (socket.io encode → Engine.IO message frame,
//! attachments as binary frames → the same path) unchanged.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{TINY, websocket_path};
use oxio_fuzz::transcript::{self, Frame as TFrame};
use oxio_protocol::socket_io::DecodeLimits;

#[derive(Arbitrary, Debug)]
enum Frame {
    /// A websocket text frame, as it came.
    Text(String),
    /// A text frame `4<text>`: an Engine.IO message, its text for Socket.IO.
    Message(String),
    /// A websocket binary frame.
    Binary(Vec<u8>),
    /// A text frame `b<base64>` (Node's engine.io-parser reads it as a binary message on any
    /// transport).
    Base64(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Frames {
    tiny_limits: bool,
    frames: Vec<Frame>,
}

fn wire(frame: Frame) -> (bool, Bytes) {
    use base64::Engine as _;
    match frame {
        Frame::Text(s) => (true, Bytes::from(s)),
        Frame::Message(s) => (true, Bytes::from(format!("4{s}"))),
        Frame::Binary(b) => (false, Bytes::from(b)),
        Frame::Base64(b) => (
            true,
            Bytes::from(format!(
                "b{}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )),
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(frames) = transcript::parse(data) {
        let frames: Vec<(bool, Bytes)> = frames
            .into_iter()
            .map(|f| match f {
                TFrame::Text(t) => (true, Bytes::from(t)),
                TFrame::Binary(b) => (false, Bytes::from(b)),
            })
            .collect();
        websocket_path(frames.clone(), DecodeLimits::default());
        websocket_path(frames, TINY);
        return;
    }
    let Ok(input) = Frames::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let limits = if input.tiny_limits {
        TINY
    } else {
        DecodeLimits::default()
    };
    websocket_path(input.frames.into_iter().map(wire).collect(), limits);
});
