//! What the application sees of a session: the [`Handler`] callbacks and the [`Socket`] handle.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use oxio_protocol::engine_io::Message;

use crate::frame::Frame;
use crate::request::{RequestInfo, TransportKind};
use crate::session::{Phase, Session};

/// The application side of the engine. Callbacks run on the session's reader (the websocket task
/// or the polling POST in progress), one at a time per session and in packet order; they should
/// return quickly and spawn for long work.
pub trait Handler: Send + Sync + 'static {
    /// A session opened. The socket can send at once; what it sends goes out with the handshake.
    fn on_open(&self, socket: &Socket);
    /// A message arrived.
    fn on_message(&self, socket: &Socket, message: Message);
    /// The session closed; called exactly once per opened session.
    fn on_close(&self, socket: &Socket, reason: CloseReason);
}

/// Why a session closed, named as Node's engine.io names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the session or its connection.
    TransportClose,
    /// The transport failed: a read or write error, an aborted poll, overlapping requests, an
    /// oversize message.
    TransportError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The client sent something that is not an Engine.IO packet.
    ParseError,
    /// The server closed the session ([`Socket::close`]).
    ForcedClose,
    /// The engine is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// Node's name for the reason (`"transport close"`, `"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame that could not be queued, handed back to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The session is closed.
    Closed(Frame),
    /// The outgoing queue is at `max_queued_packets`, or (for a volatile send) the transport is not
    /// writable right now.
    Full(Frame),
}

impl SendError {
    /// The frame that was not sent.
    pub fn into_frame(self) -> Frame {
        match self {
            SendError::Closed(frame) | SendError::Full(frame) => frame,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("the session is closed"),
            SendError::Full(_) => f.write_str("the outgoing queue is full"),
        }
    }
}

impl std::error::Error for SendError {}

/// A handle to one session. Cheap to clone; equal handles refer to the same session.
#[derive(Clone)]
pub struct Socket {
    session: Arc<Session>,
}

impl Socket {
    pub(crate) fn from_session(session: Arc<Session>) -> Socket {
        Socket { session }
    }

    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The session id (`sid`).
    pub fn id(&self) -> &str {
        &self.session.id
    }

    /// The request that opened the session (shared: keeping a clone costs a refcount).
    pub fn request(&self) -> &Arc<RequestInfo> {
        &self.session.request
    }

    /// The current transport.
    pub fn transport(&self) -> TransportKind {
        self.session.state.lock().transport
    }

    /// Whether the session is still open.
    pub fn is_open(&self) -> bool {
        self.session.is_open()
    }

    /// Whether a frame sent now goes out at once, so a volatile send would not be dropped (Node's
    /// `transport.writable`): a polling GET is waiting with nothing queued, or the websocket is not
    /// in the middle of a write. False once the session is closing.
    pub fn is_writable(&self) -> bool {
        self.session.is_writable()
    }

    /// Queues a frame. Frames go out in order, batched with whatever else is queued.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.session.send(frame, false)
    }

    /// Queues a frame only if the transport is writable right now (a polling GET is waiting, or the
    /// websocket is not in the middle of a write); otherwise hands it back, like Node's volatile emits.
    pub fn send_volatile(&self, frame: Frame) -> Result<(), SendError> {
        self.session.send(frame, true)
    }

    /// Loads what a send reads first, without sending. A broadcast calls it for a batch of
    /// recipients before sending to them: the cache misses of different sessions then overlap
    /// instead of each send waiting for its own.
    #[inline]
    pub fn touch(&self) {
        self.session.touch();
    }

    /// Closes the session after what is queued has been written ("forced close").
    pub fn close(&self) {
        self.session.close(CloseReason::ForcedClose);
    }

    /// Over websocket, writes what is queued now in its own write, then waits `pause` before
    /// writing frames queued later (polling ignores it). Node writes a packet and sends what follows
    /// only after that write completed; clients that read frames one event-loop turn at a time can
    /// depend on that separation (the Socket.IO layer asks for it after its CONNECT packet).
    pub fn pause_after_queued(&self, pause: std::time::Duration) {
        self.session.pause_after_queued(pause);
    }

    /// Holds back everything queued on the session, until the returned guard is dropped: no frame
    /// reaches the transport meanwhile, whoever queued it (the application, a broadcast), and the
    /// client then gets them in the order they were queued. Node writes only after the code that
    /// queued a packet has run to its end; a hold gives code that may run beside the session's
    /// writer (another task, another thread) the same guarantee. A session that closes writes what
    /// it has regardless. Holds may overlap: writing resumes when the last one ends.
    #[must_use = "the hold ends when the guard is dropped"]
    pub fn hold_writes(&self) -> WriteHold {
        self.session.hold_writes();
        WriteHold {
            session: self.session.clone(),
        }
    }

    /// Attaches application state to the session (typically in [`Handler::on_open`]), replacing any
    /// earlier one. The engine drops it right after [`Handler::on_close`], so it may hold the
    /// socket without a reference cycle.
    pub fn set_extension<T: Any + Send + Sync>(&self, value: Arc<T>) {
        let mut extension = self.session.extension.lock();
        // After the close nothing would drop it again.
        if self.session.is_open() {
            *extension = Some(value);
        }
    }

    /// The state attached with [`Socket::set_extension`], if it is a `T`.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let extension = self.session.extension.lock().clone()?;
        extension.downcast().ok()
    }

    /// Whether the websocket upgrade of a polling session is under way.
    pub fn is_upgrading(&self) -> bool {
        matches!(self.session.state.lock().phase, Phase::Upgrading { .. })
    }
}

/// A write hold on a session (see [`Socket::hold_writes`]): writing resumes when it is dropped.
pub struct WriteHold {
    session: Arc<Session>,
}

impl Drop for WriteHold {
    fn drop(&mut self) {
        self.session.release_writes();
    }
}

impl fmt::Debug for WriteHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHold")
            .field("sid", &self.session.id)
            .finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.session, &other.session)
    }
}

impl Eq for Socket {}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket").field("id", &self.id()).finish()
    }
}
