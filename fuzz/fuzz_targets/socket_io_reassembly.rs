//! Structure-aware fuzzing of `socket_io::Reassembly`: an `arbitrary` sequence of text and binary
//! messages (free text, or binary-packet headers built to be mostly valid) fed to one decoder with
//! small limits. Never panics, and the decoder follows the model of `oxio_fuzz::checks::
//! reassembly_model`: one pending packet at a time, and every completed packet carries exactly the
//! attachments its header announced. A seed transcript (`#oxio-frames`, see `oxio_fuzz::transcript`)
//! is fed as it is, with the default limits and tiny ones.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use oxio_fuzz::checks::{Input, TINY, reassembly_model};
use oxio_fuzz::transcript::{self, Frame};
use oxio_protocol::socket_io::DecodeLimits;

#[derive(Arbitrary, Debug)]
enum Msg {
    /// Any text.
    Text(String),
    /// `<5|6><count>-[/<nsp>,][<id>][<data>]<junk>`, the data naming attachments `n % (count + 1)`.
    BinaryHeader {
        ack: bool,
        count: u8,
        namespace: Option<String>,
        id: Option<u16>,
        placeholders: Vec<u8>,
        junk: Option<String>,
    },
    /// An attachment.
    Binary(Vec<u8>),
    /// `Reassembly::reset`.
    Reset,
}

#[derive(Arbitrary, Debug)]
struct Sequence {
    max_attachments: u8,
    max_namespace_len: u8,
    messages: Vec<Msg>,
}

fn header_text(
    ack: bool,
    count: u8,
    namespace: Option<String>,
    id: Option<u16>,
    placeholders: &[u8],
    junk: Option<String>,
) -> String {
    let mut s = String::from(if ack { "6" } else { "5" });
    s.push_str(&count.to_string());
    s.push('-');
    if let Some(ns) = namespace {
        s.push('/');
        s.push_str(&ns);
        s.push(',');
    }
    if let Some(id) = id {
        s.push_str(&id.to_string());
    }
    s.push('[');
    if !ack {
        s.push_str("\"ev\"");
    }
    for (i, p) in placeholders.iter().enumerate() {
        if i > 0 || !ack {
            s.push(',');
        }
        let num = u16::from(*p) % (u16::from(count) + 1);
        s.push_str(&format!("{{\"_placeholder\":true,\"num\":{num}}}"));
    }
    s.push(']');
    if let Some(junk) = junk {
        s.push_str(&junk);
    }
    s
}

fn input(msg: Msg) -> Input {
    match msg {
        Msg::Text(s) => Input::Text(s),
        Msg::BinaryHeader {
            ack,
            count,
            namespace,
            id,
            placeholders,
            junk,
        } => Input::Text(header_text(
            ack,
            count % 8,
            namespace,
            id,
            &placeholders,
            junk,
        )),
        Msg::Binary(b) => Input::Binary(Bytes::from(b)),
        Msg::Reset => Input::Reset,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(frames) = transcript::parse(data) {
        let inputs: Vec<Input> = frames
            .into_iter()
            .map(|f| match f {
                Frame::Text(t) => Input::Text(t),
                Frame::Binary(b) => Input::Binary(Bytes::from(b)),
            })
            .collect();
        reassembly_model(DecodeLimits::default(), inputs.clone());
        reassembly_model(TINY, inputs);
        return;
    }
    let Ok(seq) = Sequence::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let limits = DecodeLimits {
        max_attachments: usize::from(seq.max_attachments % 6),
        max_namespace_len: usize::from(seq.max_namespace_len % 40),
    };
    reassembly_model(limits, seq.messages.into_iter().map(input));
});
