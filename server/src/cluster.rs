//! The server's side of a cluster: what a namespace does when another node asks (the
//! [`LocalNamespace`] implementation), and the conversions between the server's arguments and
//! [`RemoteData`].
//!
//! Invariants:
//! - Remote requests act on local sockets only and never publish anything themselves, so a
//!   message from another node cannot bounce back and forth.
//! - Everything here runs on the cluster adapter's receiving task: sockets are selected under the
//!   adapter's locks and acted upon after the locks are released (joining, leaving and
//!   disconnecting go back into the adapter).
//! - A broadcast from another node is encoded once, in this server's parser format, and gets no
//!   recovery offset (connection state recovery covers this node's own broadcasts only).

use std::time::Duration;

use oxio_cluster::{
    AckSink, BroadcastOptions, LocalNamespace, RemoteData, Room, ServerSideAck, SocketInfo,
};
use oxio_protocol::engine_io::Utf8Bytes;
use oxio_protocol::socket_io::{Packet, PacketType};

use crate::ack::AckWaiter;
use crate::encode;
use crate::error::EmitError;
use crate::namespace::NamespaceInner;
use crate::payload::{Args, Payload};
use crate::server_side::ServerAck;
use crate::socket::Socket;

/// How long a node waits for its clients' acks of another node's broadcast when the request
/// names no timeout.
const DEFAULT_REMOTE_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The event `[event, ...args]` as it crosses to other nodes.
pub(crate) fn event_data(event: &str, args: &Args) -> Result<RemoteData, EmitError> {
    Ok(RemoteData {
        json: encode::data_array(Some(event), args)?,
        attachments: args.attachments().to_vec(),
    })
}

/// The first argument (`null` if none), as an ack's answer crosses to other nodes.
pub(crate) fn first_arg(args: &Args) -> Result<RemoteData, EmitError> {
    if let Some(error) = args.error() {
        return Err(EmitError::Serialize(error.to_owned()));
    }
    Ok(RemoteData {
        json: args
            .raw()
            .first()
            .cloned()
            .unwrap_or(Utf8Bytes::from("null")),
        attachments: args.attachments().to_vec(),
    })
}

/// The event name and arguments of `[event, ...args]`; `None` if it is not an event array.
pub(crate) fn parse_event(data: &RemoteData) -> Option<(String, Payload)> {
    let packet_type = if data.attachments.is_empty() {
        PacketType::Event
    } else {
        PacketType::BinaryEvent
    };
    let mut packet = Packet::new(packet_type, Utf8Bytes::from("/"));
    packet.data = Some(data.json.clone());
    packet.attachments = data.attachments.clone();
    let event = packet.event_name()?.into_owned();
    let args = packet.args().ok()?;
    Some((event, Payload::new(args, packet.attachments)))
}

impl NamespaceInner {
    /// The selected local sockets, collected so that the caller acts on them outside the
    /// adapter's locks.
    fn select(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let mut sockets = Vec::new();
        self.for_each_recipient(&opts.rooms, &opts.except, &mut |socket| {
            sockets.push(socket.clone())
        });
        sockets
    }
}

impl LocalNamespace for NamespaceInner {
    fn broadcast(&self, data: &RemoteData, opts: &BroadcastOptions) {
        let Some((event, payload)) = parse_event(data) else {
            tracing::debug!(
                namespace = %self.name(),
                "remote broadcast without an event name"
            );
            return;
        };
        let packet = match encode::event(self.parser(), self.name(), None, &event, &payload.into())
        {
            Ok(packet) => packet,
            Err(error) => {
                tracing::debug!(namespace = %self.name(), %error, "remote broadcast not encoded");
                return;
            }
        };
        let volatile = opts.flags.volatile;
        self.deliver_to_recipients(&opts.rooms, &opts.except, &packet, volatile);
    }

    fn broadcast_with_ack(
        &self,
        data: &RemoteData,
        opts: &BroadcastOptions,
        on_ack: AckSink,
    ) -> usize {
        let Some((event, payload)) = parse_event(data) else {
            return 0;
        };
        let id = self.next_ack_id();
        let Ok(packet) = encode::event(
            self.parser(),
            self.name(),
            Some(id),
            &event,
            &payload.into(),
        ) else {
            return 0;
        };
        let sockets = self.select(opts);
        for socket in &sockets {
            socket.register_ack(id, AckWaiter::Remote(on_ack.clone()));
            socket.deliver(&packet, opts.flags.volatile);
        }
        let timeout = opts.flags.timeout.unwrap_or(DEFAULT_REMOTE_ACK_TIMEOUT);
        let pending = sockets.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            for socket in pending {
                socket.forget_ack(id);
            }
        });
        sockets.len()
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.select(opts) {
            socket.join(rooms.iter().cloned());
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.select(opts) {
            for room in rooms {
                socket.leave(room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.select(opts) {
            socket.disconnect(close);
        }
    }

    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.select(opts).iter().map(describe).collect()
    }

    fn all_rooms(&self) -> Vec<Room> {
        self.adapter().local_rooms()
    }

    fn has_room(&self, room: &str) -> bool {
        self.adapter().has_room(room)
    }

    fn server_side_emit(&self, data: RemoteData, ack: Option<ServerSideAck>) {
        let Some((event, payload)) = parse_event(&data) else {
            return;
        };
        // No handler: nothing answers, and a node waiting for an ack reports the timeout (Node).
        if let Some(handler) = self.server_event_handler(&event) {
            handler(payload, ack.map(ServerAck::new));
        }
    }
}

/// A local socket as other nodes see it.
pub(crate) fn describe(socket: &Socket) -> SocketInfo {
    SocketInfo {
        id: socket.id().to_owned(),
        rooms: socket.rooms(),
        data: socket.data(),
        handshake: socket.handshake().to_json(),
    }
}

/// The answer an ack sink gets from one client ack: its first argument.
pub(crate) fn ack_answer(payload: &Payload) -> RemoteData {
    RemoteData {
        json: payload
            .raw_arg(0)
            .cloned()
            .unwrap_or(Utf8Bytes::from("null")),
        attachments: payload.attachments().to_vec(),
    }
}
