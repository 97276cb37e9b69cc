//! Server-side events: messages between the server processes of a cluster (Node's
//! `io.serverSideEmit` and `io.on(event)`), with an optional ack from each node.

use oxio_cluster::{RemoteData, ServerSideAck};

use crate::error::EmitError;
use crate::payload::Args;

/// Answers a server-side event that another node emitted with an ack. Only the first argument
/// travels back, as in Node. Dropping it answers nothing: the emitting node then reports a
/// timeout.
pub struct ServerAck {
    answer: ServerSideAck,
}

impl std::fmt::Debug for ServerAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerAck")
    }
}

impl ServerAck {
    pub(crate) fn new(answer: ServerSideAck) -> ServerAck {
        ServerAck { answer }
    }

    /// Answers with `value`.
    pub fn send<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<(), EmitError> {
        self.send_args(Args::one(value))
    }

    /// Answers with the first of these arguments (binary ones included).
    pub fn send_args(self, args: Args) -> Result<(), EmitError> {
        let value = crate::cluster::first_arg(&args)?;
        (self.answer)(value);
        Ok(())
    }
}

/// Why a server-side emit with ack did not get an answer from every other node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSideEmitError {
    /// Node's text: `timeout reached: only X responses received out of Y`.
    pub message: String,
    /// The answers that arrived (one per node).
    pub responses: Vec<crate::payload::Payload>,
}

impl std::fmt::Display for ServerSideEmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServerSideEmitError {}

/// The payload of one answer (its only argument).
pub(crate) fn answer_payload(value: RemoteData) -> crate::payload::Payload {
    crate::payload::Payload::new(smallvec::smallvec![value.json], value.attachments)
}
