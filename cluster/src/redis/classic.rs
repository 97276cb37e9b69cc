//! The classic adapter's link for one namespace, wire-compatible with `createAdapter` of
//! `@socket.io/redis-adapter` 8.x and reachable by the emitters.
//!
//! Channels of namespace `N` with key `K` and node id `U` (6 characters, one per namespace, as in
//! Node): broadcasts on `K#N#` or `K#N#R#` (one pattern subscription `K#N#*`), requests on
//! `K-request#N#`, responses on `K-response#N#` and `K-response#N#U#` (one subscription each).
//!
//! Invariants:
//! - What this node publishes Node can decode: broadcasts are `[U, packet, opts]` with a full
//!   `opts` map, requests carry `opts` where Node reads it.
//! - Every request a Node requester counts (SOCKETS, ALL_ROOMS, REMOTE_FETCH, the client count
//!   of a broadcast with ack) is answered exactly once, even with nothing.
//! - This node applies its own operations locally at once (the server does) and drops its own
//!   messages when Redis hands them back: by uid, and for requests also by pending request id.
//! - Malformed messages are logged at debug level and dropped.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::node::{Link, NodeShared};
use super::options::AdapterMode;
use super::pending::{
    Answer, PendingTable, QueryPart, collect_client_acks, collect_parts, collect_server_side_acks,
    rooms_of, sockets_of, uid2,
};
use super::transport::{ChannelKind, IncomingMessage, SubscriptionKind};
use super::wire::{
    ClassicRequest, ClassicResponse, DisconnectTarget, MembershipTarget, RequestKind, ResponseBody,
    decode_classic_broadcast, decode_classic_request, decode_classic_response,
    encode_classic_broadcast, encode_classic_request, encode_classic_response,
};
use crate::remote::{
    BoxFuture, BroadcastOptions, ClusterError, ClusterLink, LocalNamespace, RemoteAcks, RemoteData,
    ServerSideAcks, SocketInfo,
};
use crate::room_index::Room;

/// The uid Node's emitters send.
const EMITTER_UID: &str = "emitter";

/// A namespace's link to the other nodes through the classic adapter.
pub(crate) struct ClassicLink {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<NodeShared>,
    local: Weak<dyn LocalNamespace>,
    nsp: String,
    uid: String,
    /// `K#N#`: broadcasts, followed by a room and `#` for single-room ones.
    broadcast_prefix: String,
    pattern: String,
    request_channel: String,
    response_channel: String,
    own_response_channel: String,
    pending: Arc<PendingTable>,
}

impl ClassicLink {
    /// Subscribes the namespace's channels (in the background) and returns its link.
    pub(crate) fn start(
        node: Arc<NodeShared>,
        nsp: &str,
        local: Weak<dyn LocalNamespace>,
    ) -> Arc<ClassicLink> {
        let key = &node.options.key;
        let uid = loop {
            let uid = uid2(6);
            if uid != EMITTER_UID {
                break uid;
            }
        };
        let broadcast_prefix = format!("{key}#{nsp}#");
        let inner = Arc::new(Inner {
            pattern: format!("{}*", escape_glob(&broadcast_prefix)),
            broadcast_prefix,
            request_channel: format!("{key}-request#{nsp}#"),
            response_channel: format!("{key}-response#{nsp}#"),
            own_response_channel: format!("{key}-response#{nsp}#{uid}#"),
            uid,
            nsp: nsp.to_owned(),
            local,
            node,
            pending: Arc::default(),
        });
        let subscriber = inner.clone();
        tokio::spawn(async move { subscriber.subscribe_all().await });
        Arc::new(ClassicLink { inner })
    }
}

/// Escapes the glob characters of a channel prefix for PSUBSCRIBE.
fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Inner {
    fn local(&self) -> Option<Arc<dyn LocalNamespace>> {
        self.local.upgrade()
    }

    fn requests_timeout(&self) -> std::time::Duration {
        match self.node.options.mode {
            AdapterMode::Classic {
                requests_timeout, ..
            } => requests_timeout,
            AdapterMode::Sharded { .. } => std::time::Duration::from_secs(5),
        }
    }

    fn specific_responses(&self) -> bool {
        matches!(
            self.node.options.mode,
            AdapterMode::Classic {
                publish_on_specific_response_channel: true,
                ..
            }
        )
    }

    async fn subscribe_all(&self) {
        let transport = &self.node.transport;
        let wanted = [
            (SubscriptionKind::Pattern, &self.pattern),
            (SubscriptionKind::Channel, &self.request_channel),
            (SubscriptionKind::Channel, &self.response_channel),
            (SubscriptionKind::Channel, &self.own_response_channel),
        ];
        for (kind, channel) in wanted {
            // While Redis is down the subscription stays wanted and is made on reconnection.
            if let Err(error) = transport.subscribe(kind, channel).await {
                tracing::debug!(%error, channel, "subscription deferred");
            }
        }
    }

    fn publish(&self, channel: &str, payload: Result<Bytes, super::wire::WireError>) {
        match payload {
            Ok(payload) => {
                if let Err(error) =
                    self.node
                        .transport
                        .publish(ChannelKind::Classic, channel, payload)
                {
                    tracing::debug!(%error, channel, "not published");
                }
            }
            Err(error) => tracing::warn!(%error, channel, "message not encoded"),
        }
    }

    fn publish_request(&self, kind: RequestKind) {
        let request = ClassicRequest {
            uid: Some(self.uid.clone()),
            kind,
        };
        self.publish(&self.request_channel, encode_classic_request(&request));
    }

    /// Answers a request on the channel Node's rules give.
    fn respond(&self, requester: Option<&str>, request_id: &str, body: ResponseBody) {
        let channel = match requester {
            Some(uid) if self.specific_responses() => {
                format!("{}{uid}#", self.response_channel)
            }
            _ => self.response_channel.clone(),
        };
        let response = ClassicResponse {
            request_id: request_id.to_owned(),
            body,
        };
        self.publish(&channel, encode_classic_response(&response));
    }

    /// The number of nodes of this namespace, this one included (1 while Redis is down).
    async fn server_count(&self) -> usize {
        match self
            .node
            .transport
            .numsub(ChannelKind::Classic, &self.request_channel)
            .await
        {
            Ok(count) => count.max(1),
            Err(error) => {
                tracing::debug!(%error, "server count unknown; counting this node only");
                1
            }
        }
    }

    fn on_broadcast(&self, channel: &str, payload: &[u8]) {
        let Some(rest) = channel.strip_prefix(&self.broadcast_prefix) else {
            return;
        };
        let Some(local) = self.local() else {
            return;
        };
        let room = rest.strip_suffix('#').unwrap_or(rest);
        if !room.is_empty() && !local.has_room(room) {
            return;
        }
        let message = match decode_classic_broadcast(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, channel, "malformed broadcast dropped");
                return;
            }
        };
        if message.uid.as_deref() == Some(self.uid.as_str()) {
            return;
        }
        if message.nsp.as_deref().unwrap_or("/") != self.nsp {
            return;
        }
        local.broadcast(&message.data, &message.opts);
    }

    fn on_request(self: &Arc<Self>, payload: &[u8]) {
        let request = match decode_classic_request(payload) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(%error, "malformed or unknown request dropped");
                return;
            }
        };
        let requester = request.uid.as_deref();
        if requester == Some(self.uid.as_str()) {
            return;
        }
        let Some(local) = self.local() else {
            return;
        };
        match request.kind {
            RequestKind::Sockets { request_id, rooms } => {
                if self.pending.contains(&request_id) {
                    return;
                }
                let opts = BroadcastOptions {
                    rooms,
                    ..BroadcastOptions::default()
                };
                let ids = local.fetch_sockets(&opts).into_iter().map(|s| s.id);
                self.respond(
                    requester,
                    &request_id,
                    ResponseBody::SocketIds(ids.collect()),
                );
            }
            RequestKind::AllRooms { request_id } => {
                if !self.pending.contains(&request_id) {
                    let rooms = local.all_rooms();
                    self.respond(requester, &request_id, ResponseBody::Rooms(rooms));
                }
            }
            RequestKind::RemoteFetch { request_id, opts } => {
                if !self.pending.contains(&request_id) {
                    let sockets = local.fetch_sockets(&opts);
                    self.respond(requester, &request_id, ResponseBody::Sockets(sockets));
                }
            }
            RequestKind::RemoteJoin(target) => {
                self.on_membership(&*local, requester, target, true);
            }
            RequestKind::RemoteLeave(target) => {
                self.on_membership(&*local, requester, target, false);
            }
            RequestKind::RemoteDisconnect { target, close } => match target {
                DisconnectTarget::Sockets { opts } => local.disconnect_sockets(&opts, close),
                DisconnectTarget::Socket { request_id, sid } => {
                    if local.has_room(&sid) {
                        local.disconnect_sockets(&only(&sid), close);
                        self.respond(requester, &request_id, ResponseBody::Done);
                    }
                }
            },
            RequestKind::ServerSideEmit { request_id, data } => {
                let ack = request_id.map(|request_id| {
                    let link = self.clone();
                    Box::new(move |value: RemoteData| {
                        // Acks of server-side emits always go to the common channel (Node).
                        let response = ClassicResponse {
                            request_id,
                            body: ResponseBody::ServerSideEmitAck(value),
                        };
                        link.publish(&link.response_channel, encode_classic_response(&response));
                    }) as crate::remote::ServerSideAck
                });
                local.server_side_emit(data, ack);
            }
            RequestKind::Broadcast {
                request_id,
                nsp,
                data,
                opts,
            } => {
                if self.pending.contains(&request_id) || nsp.as_deref().unwrap_or("/") != self.nsp {
                    return;
                }
                let link = self.clone();
                let (requester, id) = (requester.map(str::to_owned), request_id.clone());
                let on_ack = Arc::new(move |value: RemoteData| {
                    link.respond(requester.as_deref(), &id, ResponseBody::BroadcastAck(value));
                });
                let count = local.broadcast_with_ack(&data, &opts, on_ack);
                self.respond(
                    request.uid.as_deref(),
                    &request_id,
                    ResponseBody::BroadcastClientCount(count as u64),
                );
            }
        }
    }

    fn on_membership(
        &self,
        local: &dyn LocalNamespace,
        requester: Option<&str>,
        target: MembershipTarget,
        join: bool,
    ) {
        match target {
            MembershipTarget::Sockets { opts, rooms } => {
                if join {
                    local.add_sockets(&opts, &rooms);
                } else {
                    local.del_sockets(&opts, &rooms);
                }
            }
            MembershipTarget::Socket {
                request_id,
                sid,
                room,
            } => {
                // The old form: only the node holding the socket acts, and answers.
                if !local.has_room(&sid) {
                    return;
                }
                let rooms = [room];
                if join {
                    local.add_sockets(&only(&sid), &rooms);
                } else {
                    local.del_sockets(&only(&sid), &rooms);
                }
                self.respond(requester, &request_id, ResponseBody::Done);
            }
        }
    }

    fn on_response(&self, payload: &[u8]) {
        let response = match decode_classic_response(payload) {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%error, "malformed response dropped");
                return;
            }
        };
        let answer = match response.body {
            ResponseBody::Sockets(sockets) => Answer::Part(QueryPart::Sockets(sockets)),
            ResponseBody::Rooms(rooms) => Answer::Part(QueryPart::Rooms(rooms)),
            ResponseBody::ServerSideEmitAck(value) => Answer::ServerSideAck(value),
            ResponseBody::BroadcastClientCount(count) => Answer::ClientCount(count),
            ResponseBody::BroadcastAck(value) => Answer::ClientAck(value),
            // This node never sends SOCKETS (8.x does not) nor the old per-socket requests.
            ResponseBody::SocketIds(_) | ResponseBody::Done => return,
        };
        self.pending.answer(&response.request_id, answer);
    }

    /// Sends a query to the other nodes and gathers their parts.
    async fn query(
        self: Arc<Self>,
        make: impl FnOnce(String) -> RequestKind,
        op: &str,
    ) -> Result<Vec<QueryPart>, ClusterError> {
        let count = self.server_count().await;
        if count <= 1 {
            return Ok(Vec::new());
        }
        let pending = self.pending.register(|| uid2(6));
        self.publish_request(make(pending.id().to_owned()));
        collect_parts(pending, count - 1, self.requests_timeout(), op).await
    }
}

/// Options selecting one socket by its id room.
fn only(sid: &str) -> BroadcastOptions {
    BroadcastOptions {
        rooms: vec![Room::from(sid)],
        ..BroadcastOptions::default()
    }
}

impl Link for ClassicLink {
    fn handle(&self, message: &IncomingMessage) -> bool {
        let inner = &self.inner;
        let channel = String::from_utf8_lossy(&message.channel);
        match message.kind {
            SubscriptionKind::Pattern => {
                if message.pattern.as_deref() != Some(inner.pattern.as_bytes()) {
                    return false;
                }
                inner.on_broadcast(&channel, &message.payload);
            }
            SubscriptionKind::Channel if channel == inner.request_channel => {
                inner.on_request(&message.payload);
            }
            SubscriptionKind::Channel
                if channel == inner.response_channel || channel == inner.own_response_channel =>
            {
                inner.on_response(&message.payload);
            }
            _ => return false,
        }
        true
    }

    fn namespace(&self) -> &str {
        &self.inner.nsp
    }
}

impl ClusterLink for ClassicLink {
    fn publish_broadcast(&self, data: &RemoteData, opts: &BroadcastOptions) {
        let inner = &self.inner;
        let channel = match opts.rooms.as_slice() {
            [room] => format!("{}{room}#", inner.broadcast_prefix),
            _ => inner.broadcast_prefix.clone(),
        };
        inner.publish(
            &channel,
            encode_classic_broadcast(&inner.uid, &inner.nsp, data, opts),
        );
    }

    fn publish_sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.inner
            .publish_request(RequestKind::RemoteJoin(MembershipTarget::Sockets {
                opts: opts.clone(),
                rooms: rooms.to_vec(),
            }));
    }

    fn publish_sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.inner
            .publish_request(RequestKind::RemoteLeave(MembershipTarget::Sockets {
                opts: opts.clone(),
                rooms: rooms.to_vec(),
            }));
    }

    fn publish_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.inner.publish_request(RequestKind::RemoteDisconnect {
            target: DisconnectTarget::Sockets { opts: opts.clone() },
            close,
        });
    }

    fn server_side_emit(&self, data: &RemoteData) {
        self.inner.publish_request(RequestKind::ServerSideEmit {
            request_id: None,
            data: data.clone(),
        });
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
            let pending = inner.pending.register(|| uid2(6));
            inner.publish_request(RequestKind::ServerSideEmit {
                request_id: Some(pending.id().to_owned()),
                data,
            });
            collect_server_side_acks(pending, count - 1, inner.requests_timeout()).await
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, ClusterError>> {
        let inner = self.inner.clone();
        let opts = opts.clone();
        Box::pin(async move {
            let make = |request_id| RequestKind::RemoteFetch { request_id, opts };
            Ok(sockets_of(inner.query(make, "fetchSockets").await?))
        })
    }

    fn all_rooms(&self) -> BoxFuture<'static, Result<Vec<Room>, ClusterError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let make = |request_id| RequestKind::AllRooms { request_id };
            Ok(rooms_of(inner.query(make, "allRooms").await?))
        })
    }

    fn broadcast_with_ack(
        &self,
        data: &RemoteData,
        opts: &BroadcastOptions,
        timeout: std::time::Duration,
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
            let pending = inner.pending.register(|| uid2(6));
            inner.publish_request(RequestKind::Broadcast {
                request_id: pending.id().to_owned(),
                nsp: Some(inner.nsp.clone()),
                data,
                opts,
            });
            collect_client_acks(pending, count - 1, timeout).await
        })
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.server_count().await })
    }

    fn joined(&self, socket: &str, room: &Room, _created: bool) {
        self.inner.node.joined(&self.inner.nsp, socket, room);
    }

    fn left(&self, socket: &str, room: &Room, _deleted: bool) {
        self.inner.node.left(&self.inner.nsp, socket, room);
    }

    fn removed(&self, socket: &str) {
        self.inner.node.removed(&self.inner.nsp, socket);
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let transport = &inner.node.transport;
            let subscribed = [
                (SubscriptionKind::Pattern, &inner.pattern),
                (SubscriptionKind::Channel, &inner.request_channel),
                (SubscriptionKind::Channel, &inner.response_channel),
                (SubscriptionKind::Channel, &inner.own_response_channel),
            ];
            for (kind, channel) in subscribed {
                let _ = transport.unsubscribe(kind, channel).await;
            }
        })
    }
}
