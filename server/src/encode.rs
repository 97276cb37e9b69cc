//! Socket.IO packets encoded once into engine frames: one text frame, then one binary frame per
//! attachment. A broadcast encodes here once and hands every recipient refcount clones.

use bytes::BytesMut;
use oxio_engine::Frame;
use oxio_protocol::socket_io::{self, RawJson};
use smallvec::SmallVec;

use crate::error::EmitError;
use crate::payload::Args;

/// An encoded packet: the frames to queue, in order.
#[derive(Clone, Debug)]
pub(crate) struct EncodedPacket {
    pub(crate) frames: SmallVec<[Frame; 1]>,
}

/// Borrows each raw argument as a `RawJson` (they are JSON already: they came from the decoder or
/// from `serde_json`).
fn raw_args(args: &Args) -> Result<SmallVec<[&RawJson; 4]>, EmitError> {
    if let Some(error) = args.error() {
        return Err(EmitError::Serialize(error.to_owned()));
    }
    args.raw()
        .iter()
        .map(|raw| {
            serde_json::from_str::<&RawJson>(raw.as_str())
                .map_err(|e| EmitError::Serialize(e.to_string()))
        })
        .collect()
}

fn with_attachments(text: Frame, args: &Args) -> EncodedPacket {
    let mut frames = SmallVec::new();
    frames.push(text);
    frames.extend(args.attachments().iter().cloned().map(Frame::binary));
    EncodedPacket { frames }
}

/// Room for the packet header and the JSON array around the arguments.
fn capacity(namespace: &str, event: &str, args: &Args) -> usize {
    32 + namespace.len() + event.len() + args.raw().iter().map(|a| a.len() + 1).sum::<usize>()
}

/// `2[/nsp,][id]["event",...args]` (or BINARY_EVENT with attachments).
pub(crate) fn event(
    namespace: &str,
    id: Option<u64>,
    event: &str,
    args: &Args,
) -> Result<EncodedPacket, EmitError> {
    let raw = raw_args(args)?;
    let attachments = args.attachments().len();
    let text = Frame::text_with(capacity(namespace, event, args), |out| {
        socket_io::encode_binary_event(out, namespace, id, event, &raw, attachments);
    });
    Ok(with_attachments(text, args))
}

/// `3[/nsp,]id[...args]` (or BINARY_ACK with attachments).
pub(crate) fn ack(namespace: &str, id: u64, args: &Args) -> Result<EncodedPacket, EmitError> {
    let raw = raw_args(args)?;
    let attachments = args.attachments().len();
    let text = Frame::text_with(capacity(namespace, "", args), |out| {
        socket_io::encode_binary_ack(out, namespace, id, &raw, attachments);
    });
    Ok(with_attachments(text, args))
}

/// A packet without attachments from an encoder callback.
pub(crate) fn control(write: impl FnOnce(&mut BytesMut)) -> EncodedPacket {
    with_attachments(Frame::text_with(64, write), &Args::new())
}
