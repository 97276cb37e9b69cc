//! Acknowledgements, both ways.
//!
//! Client → server: an event with an ack id comes with an [`AckSender`]; sending it (once) answers
//! the client. Server → client: the socket keeps a table of ack ids it waits for; an answer, the
//! timeout or the disconnect settles each entry exactly once. A broadcast with ack shares one id
//! and one collector among its recipients.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

use crate::encode;
use crate::error::EmitError;
use crate::payload::{Args, Payload};
use crate::socket::Socket;

/// Answers one client event that asked for an ack. Dropping it without sending answers nothing,
/// as in Node when the callback is never called.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> AckSender {
        AckSender { socket, id }
    }

    /// The ack id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Answers with one argument.
    pub fn send<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<(), EmitError> {
        self.send_args(Args::one(value))
    }

    /// Answers with these arguments (none, several, binary).
    pub fn send_args(self, args: Args) -> Result<(), EmitError> {
        let packet = encode::ack(
            self.socket.parser(),
            self.socket.namespace_name(),
            self.id,
            &args,
        )?;
        self.socket.send_encoded(packet)
    }
}

/// What a pending ack settles.
pub(crate) enum AckWaiter {
    /// `emit_with_ack` on one socket.
    Single(oneshot::Sender<Payload>),
    /// A broadcast with ack: every recipient answers into the same collector.
    Broadcast(Arc<AckCollector>),
    /// Another node's broadcast with ack: each answer's first argument goes back to it.
    Remote(oxio_cluster::AckSink),
}

impl AckWaiter {
    pub(crate) fn settle(self, answer: Option<Payload>) {
        match self {
            AckWaiter::Single(sender) => {
                if let Some(payload) = answer {
                    let _ = sender.send(payload);
                }
            }
            AckWaiter::Broadcast(collector) => collector.answer(answer),
            AckWaiter::Remote(sink) => {
                if let Some(payload) = answer {
                    sink(crate::cluster::ack_answer(&payload));
                }
            }
        }
    }
}

/// Collects the answers of a broadcast with ack.
#[derive(Default)]
pub(crate) struct AckCollector {
    state: Mutex<CollectorState>,
    done: Notify,
}

#[derive(Default)]
struct CollectorState {
    expected: usize,
    settled: usize,
    responses: Vec<Payload>,
    sealed: bool,
}

impl AckCollector {
    /// One more recipient will answer.
    pub(crate) fn expect_one(&self) {
        self.state.lock().expected += 1;
    }

    /// No more recipients will be added.
    pub(crate) fn seal(&self) {
        let mut state = self.state.lock();
        state.sealed = true;
        let complete = state.settled >= state.expected;
        drop(state);
        if complete {
            self.done.notify_one();
        }
    }

    /// An answer (`Some`) or a recipient that will not answer (`None`: it disconnected).
    fn answer(&self, answer: Option<Payload>) {
        let mut state = self.state.lock();
        state.settled += 1;
        state.responses.extend(answer);
        let complete = state.sealed && state.settled >= state.expected;
        drop(state);
        if complete {
            self.done.notify_one();
        }
    }

    /// Waits until every recipient settled; then the responses and how many did not answer.
    pub(crate) async fn wait(&self) -> (Vec<Payload>, usize) {
        self.done.notified().await;
        self.take()
    }

    /// The responses so far and how many recipients did not answer.
    pub(crate) fn take(&self) -> (Vec<Payload>, usize) {
        let mut state = self.state.lock();
        let responses = std::mem::take(&mut state.responses);
        let missing = state.expected - responses.len();
        (responses, missing)
    }
}
