//! Broadcast operators: `to`, `in`, `except`, `volatile`, `local`, `compress`, `timeout`, and what
//! they apply to (emit, emit with ack, fetch/join/leave/disconnect the selected sockets).
//!
//! A broadcast encodes its packet once and hands every recipient refcount clones of the same
//! frames. A socket in several target rooms gets the packet once.
//!
//! In a cluster, every operation acts on this process's sockets directly and is published for the
//! other nodes (unless [`BroadcastOperator::local`]); queries (`fetch_sockets`) and broadcasts
//! with ack also wait for the other nodes' answers.

use std::sync::Arc;
use std::time::Duration;

use oxio_cluster::{BroadcastFlags, BroadcastOptions, ClusterError, Room};
use smallvec::SmallVec;

use crate::ack::{AckCollector, AckWaiter};
use crate::encode;
use crate::error::{AckError, EmitError};
use crate::namespace::NamespaceInner;
use crate::payload::{Args, Payload};
use crate::remote_socket::RemoteSocket;

/// The answers to a broadcast with ack that timed out before every recipient answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastAckTimeout {
    /// The answers that arrived.
    pub responses: Vec<Payload>,
    /// How many recipients did not answer.
    pub missing: usize,
}

impl std::fmt::Display for BroadcastAckTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Node's message; the count helps when reading logs.
        write!(f, "operation has timed out ({} missing)", self.missing)
    }
}

impl std::error::Error for BroadcastAckTimeout {}

/// Selects sockets of a namespace and says what to do with them.
#[derive(Clone)]
#[must_use]
pub struct BroadcastOperator {
    namespace: Arc<NamespaceInner>,
    rooms: SmallVec<[Room; 2]>,
    except: SmallVec<[Room; 2]>,
    volatile: bool,
    local: bool,
    compress: Option<bool>,
    timeout: Option<Duration>,
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Arc<NamespaceInner>) -> BroadcastOperator {
        BroadcastOperator {
            namespace,
            rooms: SmallVec::new(),
            except: SmallVec::new(),
            volatile: false,
            local: false,
            compress: None,
            timeout: None,
        }
    }

    /// Adds a target room (several rooms: their union, each socket once).
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        let room = room.into();
        if !self.rooms.contains(&room) {
            self.rooms.push(room);
        }
        self
    }

    /// Same as [`BroadcastOperator::to`] (Node's `in`).
    pub fn within(self, room: impl Into<Room>) -> Self {
        self.to(room)
    }

    /// Excludes the sockets in `room`.
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        let room = room.into();
        if !self.except.contains(&room) {
            self.except.push(room);
        }
        self
    }

    /// Drops the packet for sockets whose transport is not writable right now.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Only sockets of this process: nothing is published to the other nodes of a cluster.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Accepted for compatibility: oxio does not compress (perMessageDeflate is off).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = Some(compress);
        self
    }

    /// The timeout of [`BroadcastOperator::emit_with_ack`]. Default 5 s when unset.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Emits `event` with one argument to the selected sockets.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.emit_args(event, Args::one(value))
    }

    /// Emits `event` with these arguments to the selected sockets.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        check_event(event)?;
        let mut remote = None;
        for namespace in self.namespace.broadcast_targets() {
            self.emit_in(&namespace, event, &args)?;
            if let Some(link) = namespace.link().filter(|_| !self.local) {
                if remote.is_none() {
                    remote = Some(crate::cluster::event_data(event, &args)?);
                }
                if let Some(data) = &remote {
                    link.publish_broadcast(data, &self.options());
                }
            }
        }
        Ok(())
    }

    /// The operator as other nodes read it.
    fn options(&self) -> BroadcastOptions {
        BroadcastOptions {
            rooms: self.rooms.to_vec(),
            except: self.except.to_vec(),
            flags: BroadcastFlags {
                volatile: self.volatile,
                compress: self.compress,
                timeout: self.timeout,
            },
        }
    }

    /// Encodes once for `namespace` and hands the packet to each local recipient.
    fn emit_in(
        &self,
        namespace: &NamespaceInner,
        event: &str,
        args: &Args,
    ) -> Result<(), EmitError> {
        let volatile = self.volatile;
        let packet = match namespace.recovery().filter(|_| !volatile) {
            // Recovery: the offset goes last in the arguments, and the packet is kept for
            // clients that come back.
            Some(store) => {
                let offset = store.next_offset();
                let with_offset = args.clone().arg(&offset);
                let packet = encode::event(
                    namespace.parser(),
                    namespace.name(),
                    None,
                    event,
                    &with_offset,
                )?;
                store.store(offset, &self.rooms, &self.except, &packet);
                packet
            }
            None => encode::event(namespace.parser(), namespace.name(), None, event, args)?,
        };
        namespace.deliver_to_recipients(&self.rooms, &self.except, &packet, volatile);
        Ok(())
    }

    /// Emits `event` and collects every recipient's ack (on every node of a cluster) until all
    /// answered or the timeout (5 s unless [`BroadcastOperator::timeout`] set one) expired.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Args,
    ) -> Result<Vec<Payload>, BroadcastAckError> {
        check_event(event).map_err(BroadcastAckError::Emit)?;
        let timeout = self.timeout.unwrap_or(Duration::from_secs(5));
        let collector = Arc::new(AckCollector::default());
        let mut recipients = Vec::new();
        let mut remote_waits = Vec::new();
        for namespace in self.namespace.broadcast_targets() {
            let id = namespace.next_ack_id();
            let packet =
                encode::event(namespace.parser(), namespace.name(), Some(id), event, &args)
                    .map_err(BroadcastAckError::Emit)?;
            let mut selected = Vec::new();
            namespace.for_each_recipient(&self.rooms, &self.except, &mut |socket| {
                selected.push(socket.clone())
            });
            for socket in selected {
                collector.expect_one();
                socket.register_ack(id, AckWaiter::Broadcast(collector.clone()));
                socket.deliver(&packet, self.volatile);
                recipients.push((socket, id));
            }
            if let Some(link) = namespace.link().filter(|_| !self.local) {
                let data =
                    crate::cluster::event_data(event, &args).map_err(BroadcastAckError::Emit)?;
                let mut options = self.options();
                options.flags.timeout = Some(timeout);
                remote_waits.push(link.broadcast_with_ack(&data, &options, timeout));
            }
        }
        collector.seal();
        let local = tokio::time::timeout(timeout, collector.wait());
        let remote = futures_util::future::join_all(remote_waits);
        let (outcome, remote) = tokio::join!(local, remote);
        let remote_complete = remote.iter().all(|acks| acks.complete);
        let remote_missing: usize = remote.iter().map(|acks| acks.missing).sum();
        let mut remote_responses: Vec<Payload> = remote
            .into_iter()
            .flat_map(|acks| acks.responses)
            .map(crate::server_side::answer_payload)
            .collect();
        if let Ok((mut responses, 0)) = outcome {
            if remote_complete {
                responses.append(&mut remote_responses);
                return Ok(responses);
            }
            responses.append(&mut remote_responses);
            return Err(BroadcastAckError::Timeout(BroadcastAckTimeout {
                responses,
                missing: remote_missing,
            }));
        }
        for (socket, id) in &recipients {
            socket.forget_ack(*id);
        }
        // Timed out, or some recipients disconnected before answering.
        let (mut responses, missing) = match outcome {
            Ok(settled) => settled,
            Err(_) => collector.take(),
        };
        responses.append(&mut remote_responses);
        Err(BroadcastAckError::Timeout(BroadcastAckTimeout {
            responses,
            missing: missing + remote_missing,
        }))
    }

    /// The selected sockets, on every node of a cluster (Node's `fetchSockets`): this process's
    /// first, then the other nodes'. Fails with Node's timeout error when a node does not answer.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, ClusterError> {
        let mut sockets = Vec::new();
        let mut remote = Vec::new();
        for namespace in self.namespace.broadcast_targets() {
            namespace.for_each_recipient(&self.rooms, &self.except, &mut |socket| {
                sockets.push(socket.clone())
            });
            if let Some(link) = namespace.link().filter(|_| !self.local) {
                remote.push((namespace.clone(), link.fetch_sockets(&self.options())));
            }
        }
        let mut fetched: Vec<RemoteSocket> = sockets.iter().map(RemoteSocket::local).collect();
        for (namespace, answer) in remote {
            for info in answer.await? {
                fetched.push(RemoteSocket::remote(info, namespace.clone()));
            }
        }
        Ok(fetched)
    }

    /// This process's selected sockets.
    fn local_sockets(&self) -> Vec<crate::socket::Socket> {
        let mut sockets = Vec::new();
        for namespace in self.namespace.broadcast_targets() {
            namespace.for_each_recipient(&self.rooms, &self.except, &mut |socket| {
                sockets.push(socket.clone())
            });
        }
        sockets
    }

    /// Makes the selected sockets join `rooms` (Node's `socketsJoin`).
    pub fn sockets_join<R: Into<Room> + Clone>(&self, rooms: impl IntoIterator<Item = R>) {
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        for socket in self.local_sockets() {
            socket.join(rooms.iter().cloned());
        }
        self.publish(|link, options| link.publish_sockets_join(options, &rooms));
    }

    /// Makes the selected sockets leave `room` (Node's `socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        for socket in self.local_sockets() {
            socket.leave(room);
        }
        let rooms = [Room::from(room)];
        self.publish(|link, options| link.publish_sockets_leave(options, &rooms));
    }

    /// Disconnects the selected sockets (Node's `disconnectSockets`); with `close`, their whole
    /// connections.
    pub fn disconnect_sockets(&self, close: bool) {
        for socket in self.local_sockets() {
            socket.disconnect(close);
        }
        self.publish(|link, options| link.publish_disconnect_sockets(options, close));
    }

    /// Hands the operation to each target namespace's cluster link (unless local).
    fn publish(&self, send: impl Fn(&dyn oxio_cluster::ClusterLink, &BroadcastOptions)) {
        if self.local {
            return;
        }
        let options = self.options();
        for namespace in self.namespace.broadcast_targets() {
            if let Some(link) = namespace.link() {
                send(&**link, &options);
            }
        }
    }
}

/// Why a broadcast with ack did not collect every answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastAckError {
    /// Some recipients did not answer in time.
    Timeout(BroadcastAckTimeout),
    /// The emit failed.
    Emit(EmitError),
}

impl std::fmt::Display for BroadcastAckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BroadcastAckError::Timeout(timeout) => timeout.fmt(f),
            BroadcastAckError::Emit(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for BroadcastAckError {}

impl From<BroadcastAckError> for AckError {
    fn from(error: BroadcastAckError) -> AckError {
        match error {
            BroadcastAckError::Timeout(_) => AckError::Timeout,
            BroadcastAckError::Emit(error) => AckError::Emit(error),
        }
    }
}

fn check_event(event: &str) -> Result<(), EmitError> {
    if oxio_protocol::socket_io::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    Ok(())
}
