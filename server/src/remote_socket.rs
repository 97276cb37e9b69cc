//! [`RemoteSocket`]: a socket as `fetch_sockets` returns it, of this process or of another node
//! of a cluster (Node's `RemoteSocket`).

use std::sync::Arc;

use oxio_cluster::{Room, SocketInfo};

use crate::broadcast::BroadcastOperator;
use crate::error::EmitError;
use crate::namespace::NamespaceInner;
use crate::payload::Args;
use crate::socket::Socket;

/// A socket selected by [`BroadcastOperator::fetch_sockets`]. What it offers works the same
/// whichever node the socket is on; [`RemoteSocket::as_local`] gives the full [`Socket`] when it is
/// on this one.
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    local: Option<Socket>,
    namespace: Arc<NamespaceInner>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.info.id)
            .field("local", &self.local.is_some())
            .finish()
    }
}

impl RemoteSocket {
    pub(crate) fn local(socket: &Socket) -> RemoteSocket {
        RemoteSocket {
            info: crate::cluster::describe(socket),
            local: Some(socket.clone()),
            namespace: socket.namespace().clone(),
        }
    }

    pub(crate) fn remote(info: SocketInfo, namespace: Arc<NamespaceInner>) -> RemoteSocket {
        RemoteSocket {
            info,
            local: None,
            namespace,
        }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// Its rooms when it was fetched, its own id room included.
    pub fn rooms(&self) -> &[Room] {
        &self.info.rooms
    }

    /// Its `data` when it was fetched (Node's `socket.data`).
    pub fn data(&self) -> &serde_json::Value {
        &self.info.data
    }

    /// Its handshake as Node's object (`headers`, `time`, `address`, `xdomain`, `secure`,
    /// `issued`, `url`, `query`, `auth`).
    pub fn handshake(&self) -> &serde_json::Value {
        &self.info.handshake
    }

    /// The socket itself, when it is connected to this process.
    pub fn as_local(&self) -> Option<&Socket> {
        self.local.as_ref()
    }

    /// Everything to do with this socket on whichever node it is.
    fn only_this(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.namespace.clone()).to(self.info.id.as_str())
    }

    /// Emits `event` with one argument to this socket.
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.emit_args(event, Args::one(value))
    }

    /// Emits `event` with these arguments to this socket.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        match &self.local {
            Some(socket) => socket.emit_args(event, args),
            None => self.only_this().emit_args(event, args),
        }
    }

    /// Makes the socket join rooms.
    pub fn join<R: Into<Room> + Clone>(&self, rooms: impl IntoIterator<Item = R>) {
        match &self.local {
            Some(socket) => socket.join(rooms),
            None => self.only_this().sockets_join(rooms),
        }
    }

    /// Makes the socket leave a room.
    pub fn leave(&self, room: &str) {
        match &self.local {
            Some(socket) => socket.leave(room),
            None => self.only_this().sockets_leave(room),
        }
    }

    /// Disconnects the socket; with `close`, its whole connection.
    pub fn disconnect(&self, close: bool) {
        match &self.local {
            Some(socket) => socket.disconnect(close),
            None => self.only_this().disconnect_sockets(close),
        }
    }
}
