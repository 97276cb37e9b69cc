//! The sharded adapter's link for one namespace, wire-compatible with `createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.2+ (Redis ≥ 7, SPUBLISH/SSUBSCRIBE).
//!
//! Channels of namespace `N` with prefix `P` and node id `U` (16 hex characters): the main channel
//! `P#N#`, this node's responses `P#N#U#`, and in the dynamic modes one channel `P#N#R#` per room
//! with local members (public rooms only in `dynamic`, every room in `dynamic-private`).
//!
//! Invariants:
//! - A broadcast without ack to exactly one room goes to that room's channel when the mode says so
//!   (Node's rule, §3.1 of the spec), everything else to the main channel.
//! - Room channel subscriptions follow the local rooms: after each membership change the room is
//!   reconciled (subscribed while it has local members, unsubscribed when it has none), so
//!   reordered join/leave reports cannot leave a wrong subscription behind.
//! - Every FETCH_SOCKETS and every broadcast with ack from another node is answered (an empty
//!   list, a count of 0), on the requester's response channel.
//! - Own messages are dropped by uid, messages of another namespace by `nsp`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::node::{Link, NodeShared};
use super::options::{AdapterMode, SubscriptionMode};
use super::pending::{
    Answer, PendingTable, QueryPart, collect_client_acks, collect_parts, collect_server_side_acks,
    hex_id, sockets_of,
};
use super::transport::{ChannelKind, IncomingMessage, SubscriptionKind};
use super::wire::{ClusterBody, ClusterMessage, decode_cluster_message, encode_cluster_message};
use crate::remote::{
    BoxFuture, BroadcastOptions, ClusterError, ClusterLink, LocalNamespace, RemoteAcks, RemoteData,
    ServerSideAcks, SocketInfo,
};
use crate::room_index::Room;

/// Node's fixed timeout of sharded requests without their own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A namespace's link to the other nodes through the sharded adapter.
pub(crate) struct ShardedLink {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<NodeShared>,
    local: Weak<dyn LocalNamespace>,
    nsp: String,
    uid: String,
    mode: SubscriptionMode,
    /// `P#N#`.
    main_channel: String,
    /// `P#N#U#`.
    own_channel: String,
    pending: Arc<PendingTable>,
}

impl ShardedLink {
    /// Subscribes the namespace's channels (in the background) and returns its link.
    pub(crate) fn start(
        node: Arc<NodeShared>,
        nsp: &str,
        local: Weak<dyn LocalNamespace>,
    ) -> Arc<ShardedLink> {
        let mode = match node.options.mode {
            AdapterMode::Sharded { subscription_mode } => subscription_mode,
            AdapterMode::Classic { .. } => SubscriptionMode::Static,
        };
        let uid = hex_id();
        let main_channel = format!("{}#{nsp}#", node.options.key);
        let inner = Arc::new(Inner {
            own_channel: format!("{main_channel}{uid}#"),
            main_channel,
            uid,
            mode,
            nsp: nsp.to_owned(),
            local,
            node,
            pending: Arc::default(),
        });
        let subscriber = inner.clone();
        tokio::spawn(async move {
            for channel in [&subscriber.main_channel, &subscriber.own_channel] {
                if let Err(error) = subscriber
                    .node
                    .transport
                    .subscribe(SubscriptionKind::Shard, channel)
                    .await
                {
                    tracing::debug!(%error, channel, "subscription deferred");
                }
            }
        });
        Arc::new(ShardedLink { inner })
    }
}

impl Inner {
    fn local(&self) -> Option<Arc<dyn LocalNamespace>> {
        self.local.upgrade()
    }

    fn room_channel(&self, room: &str) -> String {
        format!("{}{room}#", self.main_channel)
    }

    /// Whether a room gets a channel of its own in this mode (`private`: it is a socket's id).
    fn has_channel(&self, private: bool) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !private,
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    fn send(&self, channel: &str, body: ClusterBody) {
        let message = ClusterMessage {
            uid: self.uid.clone(),
            nsp: Some(self.nsp.clone()),
            body,
        };
        match encode_cluster_message(&message) {
            Ok(payload) => {
                if let Err(error) =
                    self.node
                        .transport
                        .publish(ChannelKind::Shard, channel, payload)
                {
                    tracing::debug!(%error, channel, "not published");
                }
            }
            Err(error) => tracing::warn!(%error, channel, "message not encoded"),
        }
    }

    fn respond(&self, requester: &str, body: ClusterBody) {
        self.send(&format!("{}{requester}#", self.main_channel), body);
    }

    async fn server_count(&self) -> usize {
        match self
            .node
            .transport
            .numsub(ChannelKind::Shard, &self.main_channel)
            .await
        {
            Ok(count) => count.max(1),
            Err(error) => {
                tracing::debug!(%error, "server count unknown; counting this node only");
                1
            }
        }
    }

    /// Subscribes to or unsubscribes from a room's channel after a membership change.
    fn reconcile_room(self: &Arc<Self>, room: &Room, private: bool) {
        if !self.has_channel(private) {
            return;
        }
        let inner = self.clone();
        let room = room.clone();
        tokio::spawn(async move {
            let Some(local) = inner.local() else {
                return;
            };
            let channel = inner.room_channel(&room);
            let transport = &inner.node.transport;
            let outcome = if local.has_room(&room) {
                transport.subscribe(SubscriptionKind::Shard, &channel).await
            } else {
                transport
                    .unsubscribe(SubscriptionKind::Shard, &channel)
                    .await
            };
            if let Err(error) = outcome {
                tracing::debug!(%error, channel, "room subscription deferred");
            }
        });
    }

    fn on_message(self: &Arc<Self>, payload: &[u8]) {
        let message = match decode_cluster_message(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "malformed or unknown message dropped");
                return;
            }
        };
        if message.uid == self.uid || message.nsp.as_deref().is_some_and(|nsp| nsp != self.nsp) {
            return;
        }
        let Some(local) = self.local() else {
            return;
        };
        let requester = message.uid;
        match message.body {
            ClusterBody::Broadcast {
                data,
                opts,
                request_id: None,
            } => local.broadcast(&data, &opts),
            ClusterBody::Broadcast {
                data,
                opts,
                request_id: Some(request_id),
            } => {
                let link = self.clone();
                let (to, id) = (requester.clone(), request_id.clone());
                let on_ack = Arc::new(move |data: RemoteData| {
                    let request_id = id.clone();
                    link.respond(&to, ClusterBody::BroadcastAck { request_id, data });
                });
                let client_count = local.broadcast_with_ack(&data, &opts, on_ack) as u64;
                self.respond(
                    &requester,
                    ClusterBody::BroadcastClientCount {
                        request_id,
                        client_count,
                    },
                );
            }
            ClusterBody::SocketsJoin { opts, rooms } => local.add_sockets(&opts, &rooms),
            ClusterBody::SocketsLeave { opts, rooms } => local.del_sockets(&opts, &rooms),
            ClusterBody::DisconnectSockets { opts, close } => {
                local.disconnect_sockets(&opts, close)
            }
            ClusterBody::FetchSockets { opts, request_id } => {
                let sockets = local.fetch_sockets(&opts);
                self.respond(
                    &requester,
                    ClusterBody::FetchSocketsResponse {
                        request_id,
                        sockets,
                    },
                );
            }
            ClusterBody::ServerSideEmit { data, request_id } => {
                let ack = request_id.map(|request_id| {
                    let link = self.clone();
                    let to = requester.clone();
                    Box::new(move |data: RemoteData| {
                        link.respond(
                            &to,
                            ClusterBody::ServerSideEmitResponse { request_id, data },
                        );
                    }) as crate::remote::ServerSideAck
                });
                local.server_side_emit(data, ack);
            }
            ClusterBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => self
                .pending
                .answer(&request_id, Answer::Part(QueryPart::Sockets(sockets))),
            ClusterBody::ServerSideEmitResponse { request_id, data } => self
                .pending
                .answer(&request_id, Answer::ServerSideAck(data)),
            ClusterBody::BroadcastClientCount {
                request_id,
                client_count,
            } => self
                .pending
                .answer(&request_id, Answer::ClientCount(client_count)),
            ClusterBody::BroadcastAck { request_id, data } => {
                self.pending.answer(&request_id, Answer::ClientAck(data))
            }
            // The heartbeat variant's messages; Node's sharded adapter ignores them too.
            ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => {}
        }
    }
}

impl Link for ShardedLink {
    fn handle(&self, message: &IncomingMessage) -> bool {
        if message.kind != SubscriptionKind::Shard {
            return false;
        }
        let inner = &self.inner;
        if !message.channel.starts_with(inner.main_channel.as_bytes()) {
            return false;
        }
        // Responses (on `P#N#U#`) and requests carry their type: one handler for both.
        inner.on_message(&message.payload);
        true
    }

    fn namespace(&self) -> &str {
        &self.inner.nsp
    }
}

impl ClusterLink for ShardedLink {
    fn publish_broadcast(&self, data: &RemoteData, opts: &BroadcastOptions) {
        let inner = &self.inner;
        let channel = match (inner.mode, opts.rooms.as_slice()) {
            (SubscriptionMode::Dynamic, [room]) if room.len() != 20 => inner.room_channel(room),
            (SubscriptionMode::DynamicPrivate, [room]) => inner.room_channel(room),
            _ => inner.main_channel.clone(),
        };
        inner.send(
            &channel,
            ClusterBody::Broadcast {
                data: data.clone(),
                opts: opts.clone(),
                request_id: None,
            },
        );
    }

    fn publish_sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let body = ClusterBody::SocketsJoin {
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        };
        self.inner.send(&self.inner.main_channel, body);
    }

    fn publish_sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let body = ClusterBody::SocketsLeave {
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        };
        self.inner.send(&self.inner.main_channel, body);
    }

    fn publish_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        let body = ClusterBody::DisconnectSockets {
            opts: opts.clone(),
            close,
        };
        self.inner.send(&self.inner.main_channel, body);
    }

    fn server_side_emit(&self, data: &RemoteData) {
        let body = ClusterBody::ServerSideEmit {
            data: data.clone(),
            request_id: None,
        };
        self.inner.send(&self.inner.main_channel, body);
    }

    fn server_side_emit_with_ack(&self, data: &RemoteData) -> BoxFuture<'static, ServerSideAcks> {
        let inner = self.inner.clone();
        let data = data.clone();
        Box::pin(async move {
            let count = inner.server_count().await;
            if count <= 1 {
                return ServerSideAcks {
                    responses: Vec::new(),
                    error: None,
                };
            }
            let pending = inner.pending.register(hex_id);
            let body = ClusterBody::ServerSideEmit {
                data,
                request_id: Some(pending.id().to_owned()),
            };
            inner.send(&inner.main_channel, body);
            collect_server_side_acks(pending, count - 1, REQUEST_TIMEOUT).await
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, ClusterError>> {
        let inner = self.inner.clone();
        let opts = opts.clone();
        Box::pin(async move {
            let count = inner.server_count().await;
            if count <= 1 {
                return Ok(Vec::new());
            }
            let timeout = opts.flags.timeout.unwrap_or(REQUEST_TIMEOUT);
            let pending = inner.pending.register(hex_id);
            let body = ClusterBody::FetchSockets {
                opts,
                request_id: pending.id().to_owned(),
            };
            inner.send(&inner.main_channel, body);
            let parts = collect_parts(pending, count - 1, timeout, "fetchSockets").await?;
            Ok(sockets_of(parts))
        })
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, ClusterError>> {
        // Node's cluster adapter has no cross-node allRooms: it answers with the local rooms.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn broadcast_with_ack(
        &self,
        data: &RemoteData,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let inner = self.inner.clone();
        let (data, opts) = (data.clone(), opts.clone());
        Box::pin(async move {
            let count = inner.server_count().await;
            if count <= 1 {
                return RemoteAcks {
                    complete: true,
                    ..RemoteAcks::default()
                };
            }
            let pending = inner.pending.register(hex_id);
            let body = ClusterBody::Broadcast {
                data,
                opts,
                request_id: Some(pending.id().to_owned()),
            };
            inner.send(&inner.main_channel, body);
            collect_client_acks(pending, count - 1, timeout).await
        })
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.server_count().await })
    }

    fn joined(&self, socket: &str, room: &Room, created: bool) {
        if created {
            self.inner.reconcile_room(room, &**room == socket);
        }
        self.inner.node.joined(&self.inner.nsp, socket, room);
    }

    fn left(&self, socket: &str, room: &Room, deleted: bool) {
        if deleted {
            self.inner.reconcile_room(room, &**room == socket);
        }
        self.inner.node.left(&self.inner.nsp, socket, room);
    }

    fn removed(&self, socket: &str) {
        self.inner.node.removed(&self.inner.nsp, socket);
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let transport = &inner.node.transport;
            let mut channels = vec![inner.main_channel.clone(), inner.own_channel.clone()];
            if let Some(local) = inner.local() {
                channels.extend(
                    local
                        .all_rooms()
                        .iter()
                        .map(|room| inner.room_channel(room)),
                );
            }
            for channel in channels {
                let _ = transport
                    .unsubscribe(SubscriptionKind::Shard, &channel)
                    .await;
            }
        })
    }
}
