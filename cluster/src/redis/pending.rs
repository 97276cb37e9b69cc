//! Requests this node waits on: answers from other nodes matched by request id.
//!
//! A request registers its id and gets a receiver; the receiving task forwards each answer with
//! that id; the waiting side counts what it needs and stops at its deadline. The entry is removed
//! when the waiter finishes (a guard does it, also when the future is dropped), so answers that
//! come late are ignored, as in Node.
//!
//! The collectors keep Node's rules and texts: a query (`fetchSockets`, `allRooms`) needs one
//! answer from every other node and fails with `timeout reached while waiting for <op>
//! response`; a server-side emit with ack collects one answer per node and reports `timeout
//! reached: only X responses received out of Y`; a broadcast with ack needs a client count from
//! every other node and one ack per counted client.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::remote::{ClusterError, RemoteAcks, RemoteData, ServerSideAcks};

/// One answer to a pending request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A node's part of a query (sockets, rooms, ...), already converted by the caller.
    Part(QueryPart),
    /// A server-side emit's ack.
    ServerSideAck(RemoteData),
    /// How many clients a broadcast with ack reached on one node.
    ClientCount(u64),
    /// One client's ack of a broadcast.
    ClientAck(RemoteData),
}

/// A node's answer to a query.
#[derive(Debug)]
pub(crate) enum QueryPart {
    /// Sockets (fetch).
    Sockets(Vec<crate::remote::SocketInfo>),
    /// Rooms (all rooms).
    Rooms(Vec<crate::room_index::Room>),
}

/// The requests this node waits on, by id.
#[derive(Default)]
pub(crate) struct PendingTable {
    waiting: Mutex<HashMap<String, mpsc::UnboundedSender<Answer>>>,
}

/// Removes its request from the table when dropped.
pub(crate) struct PendingGuard {
    table: Arc<PendingTable>,
    id: String,
    answers: mpsc::UnboundedReceiver<Answer>,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.table.waiting.lock().remove(&self.id);
    }
}

impl PendingGuard {
    /// The request id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The next answer before `deadline`, or `None` once it passed.
    async fn next(&mut self, deadline: Instant) -> Option<Answer> {
        tokio::time::timeout_at(deadline, self.answers.recv())
            .await
            .ok()
            .flatten()
    }
}

impl PendingTable {
    /// Registers a request under a fresh id from `make_id` (retried on a collision).
    pub(crate) fn register(self: &Arc<Self>, make_id: impl Fn() -> String) -> PendingGuard {
        let (sender, answers) = mpsc::unbounded_channel();
        let mut waiting = self.waiting.lock();
        let id = loop {
            let id = make_id();
            if !waiting.contains_key(&id) {
                break id;
            }
        };
        waiting.insert(id.clone(), sender);
        PendingGuard {
            table: self.clone(),
            id,
            answers,
        }
    }

    /// Whether this node waits on request `id` (a request of its own, come back through Redis).
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.waiting.lock().contains_key(id)
    }

    /// Hands an answer to its request; answers to unknown ids are dropped.
    pub(crate) fn answer(&self, id: &str, answer: Answer) {
        if let Some(sender) = self.waiting.lock().get(id) {
            let _ = sender.send(answer);
        }
    }
}

/// The sockets in the parts of a fetch.
pub(crate) fn sockets_of(parts: Vec<QueryPart>) -> Vec<crate::remote::SocketInfo> {
    parts
        .into_iter()
        .flat_map(|part| match part {
            QueryPart::Sockets(sockets) => sockets,
            QueryPart::Rooms(_) => Vec::new(),
        })
        .collect()
}

/// The rooms in the parts of an all-rooms query.
pub(crate) fn rooms_of(parts: Vec<QueryPart>) -> Vec<crate::room_index::Room> {
    parts
        .into_iter()
        .flat_map(|part| match part {
            QueryPart::Rooms(rooms) => rooms,
            QueryPart::Sockets(_) => Vec::new(),
        })
        .collect()
}

/// `len` characters of `[A-Za-z0-9_-]` (Node's `uid2`).
pub(crate) fn uid2(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// 16 lowercase hex characters (Node's `randomBytes(8).toString("hex")`).
pub(crate) fn hex_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// Collects one query part from each of `expected` nodes before `timeout`; `op` names the
/// operation in Node's timeout text.
pub(crate) async fn collect_parts(
    mut pending: PendingGuard,
    expected: usize,
    timeout: Duration,
    op: &str,
) -> Result<Vec<QueryPart>, ClusterError> {
    let deadline = Instant::now() + timeout;
    let mut parts = Vec::with_capacity(expected);
    while parts.len() < expected {
        match pending.next(deadline).await {
            Some(Answer::Part(part)) => parts.push(part),
            Some(_) => {}
            None => {
                return Err(ClusterError::Timeout(format!(
                    "timeout reached while waiting for {op} response"
                )));
            }
        }
    }
    Ok(parts)
}

/// Collects one server-side ack from each of `expected` nodes before `timeout`.
pub(crate) async fn collect_server_side_acks(
    mut pending: PendingGuard,
    expected: usize,
    timeout: Duration,
) -> ServerSideAcks {
    let deadline = Instant::now() + timeout;
    let mut responses = Vec::with_capacity(expected);
    while responses.len() < expected {
        match pending.next(deadline).await {
            Some(Answer::ServerSideAck(value)) => responses.push(value),
            Some(_) => {}
            None => {
                let error = format!(
                    "timeout reached: only {} responses received out of {expected}",
                    responses.len()
                );
                return ServerSideAcks {
                    responses,
                    error: Some(error),
                };
            }
        }
    }
    ServerSideAcks {
        responses,
        error: None,
    }
}

/// Collects the client counts of `servers` nodes and one ack per counted client before
/// `timeout`.
pub(crate) async fn collect_client_acks(
    mut pending: PendingGuard,
    servers: usize,
    timeout: Duration,
) -> RemoteAcks {
    let deadline = Instant::now() + timeout;
    let mut counted_servers = 0usize;
    let mut clients = 0u64;
    let mut responses = Vec::new();
    loop {
        if counted_servers >= servers && responses.len() as u64 >= clients {
            return RemoteAcks {
                responses,
                complete: true,
                missing: 0,
            };
        }
        match pending.next(deadline).await {
            Some(Answer::ClientCount(count)) => {
                counted_servers += 1;
                clients = clients.saturating_add(count);
            }
            Some(Answer::ClientAck(value)) => responses.push(value),
            Some(_) => {}
            None => {
                let unanswered = clients.saturating_sub(responses.len() as u64) as usize;
                let silent = servers.saturating_sub(counted_servers);
                return RemoteAcks {
                    responses,
                    complete: false,
                    missing: unanswered + silent,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_query_times_out_with_nodes_text_and_forgets_its_id() {
        let table = Arc::new(PendingTable::default());
        let pending = table.register(|| uid2(6));
        let id = pending.id().to_owned();
        table.answer(&id, Answer::Part(QueryPart::Rooms(vec!["a".into()])));
        let outcome = collect_parts(pending, 2, Duration::from_secs(5), "allRooms").await;
        assert_eq!(
            outcome.unwrap_err(),
            ClusterError::Timeout("timeout reached while waiting for allRooms response".into())
        );
        assert!(!table.contains(&id));
    }

    #[tokio::test(start_paused = true)]
    async fn broadcast_acks_complete_when_every_counted_client_answered() {
        let table = Arc::new(PendingTable::default());
        let pending = table.register(hex_id);
        let id = pending.id().to_owned();
        table.answer(&id, Answer::ClientCount(0));
        table.answer(&id, Answer::ClientCount(1));
        table.answer(&id, Answer::ClientAck(RemoteData::json("1")));
        let acks = collect_client_acks(pending, 2, Duration::from_secs(1)).await;
        assert!(acks.complete);
        assert_eq!(acks.responses, [RemoteData::json("1")]);
    }

    #[tokio::test(start_paused = true)]
    async fn server_side_acks_report_how_many_came() {
        let table = Arc::new(PendingTable::default());
        let pending = table.register(|| uid2(6));
        table.answer(pending.id(), Answer::ServerSideAck(RemoteData::null()));
        let acks = collect_server_side_acks(pending, 2, Duration::from_secs(5)).await;
        assert_eq!(
            acks.error.as_deref(),
            Some("timeout reached: only 1 responses received out of 2")
        );
        assert_eq!(acks.responses.len(), 1);
        assert_eq!(uid2(6).len(), 6);
        assert_eq!(hex_id().len(), 16);
    }
}
