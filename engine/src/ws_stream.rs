//! One websocket connection's bytes: reading the client's frames into messages, and writing frames.
//!
//! Memory: an idle connection holds no read buffer. Reads go into one scratch buffer per worker
//! thread; only the bytes of a frame that is not complete yet (or of frames not handed out yet)
//! are kept in the connection's `pending` buffer, which is freed again once it is consumed; a
//! frame split across reads is read straight into `pending`, sized for the whole frame.
//! Each message is copied out of the read buffer once, into its own allocation, so a message the
//! application keeps never pins a read buffer.
//!
//! Reads happen only when they can find something: a frame already buffered is decoded without a
//! system call, and on the engine's own TCP streams a read is attempted only once the socket is
//! readable. Frames are written straight to the socket, small ones gathered into one write through
//! a buffer per worker thread (no write buffer of the connection's own).

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::direct::Prefixed;
use crate::frame::Frame;
use bytes::{Buf, Bytes, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use oxio_protocol::websocket::{self as ws, Decoded, FrameDecoder, FrameError, Incoming};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The size of each worker thread's read buffer, and the read size while a frame is incomplete.
const READ_CHUNK: usize = 16 * 1024;

/// Frames are gathered into one write while together they fit in this many bytes (see
/// [`Io::poll_write_frames`]).
const GATHER_LIMIT: usize = 16 * 1024;

/// At most this many frames go into one `writev` (Linux takes up to 1024 slices).
const FRAMES_PER_WRITE: usize = 64;

thread_local! {
    /// Bytes read and not yet looked at; borrowed only inside one synchronous read + decode.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
    /// Frames gathered for one write; borrowed only inside one synchronous write, and never
    /// grown past [`GATHER_LIMIT`].
    static GATHERED: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(GATHER_LIMIT));
}

/// Whether this thread's gather buffer is still the size it was made with.
#[cfg(test)]
pub(crate) fn gather_buffer_is_bounded() -> bool {
    GATHERED.with_borrow(|gathered| gathered.capacity() == GATHER_LIMIT)
}

/// The connection under a websocket: the TCP stream itself when the engine serves the connection,
/// or hyper's upgraded IO when an embedder serves it.
pub(crate) enum Io {
    /// The engine's own connection.
    Tcp(TcpStream),
    /// A connection served by the embedder's hyper server.
    Upgraded(TokioIo<Upgraded>),
}

impl Io {
    /// Hyper's upgraded connection, unwrapped to the TCP stream when it is one, with the bytes hyper
    /// read past the request (a client may send frames right away).
    pub(crate) fn from_upgraded(upgraded: Upgraded) -> (Io, Bytes) {
        let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => return (Io::Tcp(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => upgraded,
        };
        // The engine's own connections reach hyper with what `direct` read of them first.
        match upgraded.downcast::<TokioIo<Prefixed>>() {
            Ok(parts) => {
                let (tcp, unread) = parts.io.into_inner().into_parts();
                let read = if unread.is_empty() {
                    parts.read_buf
                } else {
                    [parts.read_buf, unread].concat().into()
                };
                (Io::Tcp(tcp), read)
            }
            Err(upgraded) => (Io::Upgraded(TokioIo::new(upgraded)), Bytes::new()),
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        let polled = match self {
            Io::Tcp(tcp) => Pin::new(tcp).poll_read(cx, &mut read_buf),
            Io::Upgraded(io) => Pin::new(io).poll_read(cx, &mut read_buf),
        };
        polled.map_ok(|()| read_buf.filled().len())
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            Io::Tcp(tcp) => tokio_util::io::poll_read_buf(Pin::new(tcp), cx, buf),
            Io::Upgraded(io) => tokio_util::io::poll_read_buf(Pin::new(io), cx, buf),
        }
    }

    /// One write of `frames`, the first from byte `offset` on: how many bytes of them went out.
    ///
    /// One frame is written with `send` (the vectored call costs more in the kernel for the
    /// one-frame write of a typical reply: about 0.4 µs of a 6 µs loopback write of 120 bytes,
    /// measured). Frames that fit in [`GATHER_LIMIT`] together are copied into the worker thread's
    /// gather buffer and written with one `send` too: the kernel copies each slice of a `writev`
    /// on its own, and for the small frames of a broadcast that per-slice work cost more than the
    /// copy (a tenth of the server's core at 3M deliveries/s, measured). Larger frames go out
    /// with `writev`, up to [`FRAMES_PER_WRITE`] at a time, without a copy.
    pub(crate) fn poll_write_frames(
        &mut self,
        cx: &mut Context<'_>,
        frames: &[Frame],
        offset: usize,
    ) -> Poll<io::Result<usize>> {
        let first = &frames[0].websocket_bytes()[offset..];
        let gathers = frames
            .get(1)
            .is_some_and(|second| first.len() + second.websocket_bytes().len() <= GATHER_LIMIT);
        if gathers {
            return GATHERED.with_borrow_mut(|gathered| {
                gathered.clear();
                gathered.extend_from_slice(first);
                for frame in &frames[1..] {
                    let bytes = frame.websocket_bytes();
                    if gathered.len() + bytes.len() > GATHER_LIMIT {
                        break;
                    }
                    gathered.extend_from_slice(bytes);
                }
                self.poll_write(cx, gathered)
            });
        }
        if frames.len() == 1 {
            return self.poll_write(cx, first);
        }
        let mut slices = [IoSlice::new(&[]); FRAMES_PER_WRITE];
        slices[0] = IoSlice::new(first);
        let rest = frames[1..].iter().take(FRAMES_PER_WRITE - 1);
        for (slice, frame) in slices[1..].iter_mut().zip(rest) {
            *slice = IoSlice::new(frame.websocket_bytes());
        }
        let count = frames.len().min(FRAMES_PER_WRITE);
        match self {
            Io::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, &slices[..count]),
            Io::Upgraded(io) => Pin::new(io).poll_write_vectored(cx, &slices[..count]),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Io::Tcp(tcp) => Pin::new(tcp).poll_write(cx, bytes),
            Io::Upgraded(io) => Pin::new(io).poll_write(cx, bytes),
        }
    }

    /// Flushes what an upgraded connection may buffer (nothing to do for a TCP stream).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Io::Tcp(_) => Poll::Ready(Ok(())),
            Io::Upgraded(io) => Pin::new(io).poll_flush(cx),
        }
    }

    /// Writes all of `bytes` (and flushes, for an upgraded connection that may buffer).
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Io::Tcp(tcp) => tcp.write_all(bytes).await,
            Io::Upgraded(io) => {
                io.write_all(bytes).await?;
                io.flush().await
            }
        }
    }

    /// Sends a close frame (`code`, or none) and shuts the write side down.
    pub(crate) async fn close(&mut self, code: Option<u16>) -> io::Result<()> {
        self.write_all(&ws::server_close_frame(code)).await?;
        match self {
            Io::Tcp(tcp) => tcp.shutdown().await,
            Io::Upgraded(io) => io.shutdown().await,
        }
    }
}

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client's frames broke a rule; answer with a close frame of its code.
    Frame(FrameError),
    /// The connection failed.
    Io(io::Error),
}

/// What one read with nothing pending gave.
enum Fresh {
    /// A message or control frame (bytes after it are pending).
    Message(Incoming),
    /// Frames that completed no message yet, or part of one (pending).
    More,
    /// The end of the stream.
    End,
}

/// A websocket connection: its IO, and what was read of it and not handed out yet.
pub(crate) struct WsStream {
    /// The connection.
    pub(crate) io: Io,
    decoder: FrameDecoder,
    /// Received bytes not decoded yet; no allocation when there are none.
    pending: BytesMut,
}

impl WsStream {
    /// A stream over `io`, refusing messages over `max_message` bytes; `read` holds bytes that
    /// arrived with the handshake.
    pub(crate) fn new(io: Io, read: &[u8], max_message: usize) -> Self {
        Self {
            io,
            decoder: FrameDecoder::new(max_message),
            pending: BytesMut::from(read),
        }
    }

    /// The next message or control frame; `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Option<Result<Incoming, ReadError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next message or control frame; `None` at the end of the stream.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, ReadError>>> {
        loop {
            if self.pending.is_empty() {
                match ready!(self.poll_read_fresh(cx)) {
                    Ok(Fresh::Message(message)) => return Poll::Ready(Some(Ok(message))),
                    Ok(Fresh::More) => continue,
                    Ok(Fresh::End) => return Poll::Ready(None),
                    Err(error) => return Poll::Ready(Some(Err(error))),
                }
            }
            match self.decoder.decode(&self.pending) {
                Err(error) => return Poll::Ready(Some(Err(ReadError::Frame(error)))),
                Ok(Decoded::Frame { len, message }) => {
                    self.pending.advance(len);
                    if self.pending.is_empty() {
                        // Consumed: give the memory back while the connection idles.
                        self.pending = BytesMut::new();
                    }
                    if let Some(message) = message {
                        return Poll::Ready(Some(Ok(message)));
                    }
                }
                Ok(Decoded::NeedMore { frame_len }) => {
                    let missing = frame_len.map_or(ws::MAX_HEADER, |len| len - self.pending.len());
                    // At least the rest of the frame fits, so a frame needs no more than one copy.
                    self.pending.reserve(missing.max(READ_CHUNK));
                    match ready!(self.io.poll_read_buf(cx, &mut self.pending)) {
                        // The stream ended inside a frame.
                        Ok(0) => return Poll::Ready(None),
                        Ok(_) => {}
                        Err(error) => return Poll::Ready(Some(Err(ReadError::Io(error)))),
                    }
                }
            }
        }
    }

    /// With nothing pending: reads into the thread's scratch buffer and decodes the frames there
    /// until one completes a message; the bytes after it (or an incomplete frame) are kept in
    /// `pending`.
    fn poll_read_fresh(&mut self, cx: &mut Context<'_>) -> Poll<Result<Fresh, ReadError>> {
        SCRATCH.with_borrow_mut(|scratch| {
            let n = ready!(self.io.poll_read(cx, scratch)).map_err(ReadError::Io)?;
            if n == 0 {
                return Poll::Ready(Ok(Fresh::End));
            }
            let mut read = &scratch[..n];
            while !read.is_empty() {
                match self.decoder.decode(read).map_err(ReadError::Frame)? {
                    Decoded::Frame { len, message } => {
                        read = &read[len..];
                        if let Some(message) = message {
                            self.pending.extend_from_slice(read);
                            return Poll::Ready(Ok(Fresh::Message(message)));
                        }
                    }
                    Decoded::NeedMore { frame_len } => {
                        self.pending.reserve(frame_len.unwrap_or(0).max(read.len()));
                        self.pending.extend_from_slice(read);
                        break;
                    }
                }
            }
            Poll::Ready(Ok(Fresh::More))
        })
    }
}
