//! A minimal websocket (RFC 6455) codec and client handshake, for thousands of connections in one thread.
//!
//! Why not tokio-tungstenite: measured on this machine over an in-memory stream of 2M 100-byte text
//! frames (`42["msg",{"t":..,"p":..}]`, finding `t` included), tungstenite's client read path took about
//! 300 ns per frame (message allocation, UTF-8 validation, its own buffering) and this parser about 60 ns;
//! tungstenite also reserves a 128 KiB read buffer per connection by default. The load generator must
//! outrun the servers it measures on one core, so it parses frames in place in
//! one reusable buffer per connection. Only what the benchmark needs is handled: no fragmentation, no
//! extensions; the same parser unmasks client frames for the calibration server.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Masking, as the server's decoder unmasks (8 bytes at a time).
pub use oxio_protocol::websocket::mask_in_place;

/// Text frame opcode.
pub const TEXT: u8 = 1;
/// Binary frame opcode.
pub const BINARY: u8 = 2;
/// Close frame opcode.
pub const CLOSE: u8 = 8;
/// Ping frame opcode.
pub const PING: u8 = 9;
/// Pong frame opcode.
pub const PONG: u8 = 10;

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A growable read buffer that hands out one complete frame at a time.
#[derive(Debug)]
pub struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// An empty buffer of `capacity` bytes (it doubles when one frame does not fit).
    pub fn new(capacity: usize) -> Self {
        Self {
            data: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// Appends bytes that were read elsewhere (what followed the handshake response).
    pub fn extend(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.data[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    fn make_room(&mut self, at_least: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.data.len() - self.end >= at_least.max(1) {
            return;
        }
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.data.len() - self.end < at_least.max(1) {
            let grown = self.data.len() * 2;
            self.data.resize(grown, 0);
        }
    }

    /// The bytes received and not yet handed out as frames (at most a partial frame once
    /// [`next_frame`](Self::next_frame) returned `None`).
    pub fn unconsumed(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Forgets everything buffered; the capacity stays.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Makes sure there is free space after the buffered bytes and returns how much: the most the next
    /// [`read_from`](Self::read_from) can take.
    pub fn spare(&mut self) -> usize {
        self.make_room(1);
        self.data.len() - self.end
    }

    /// One read from a synchronous (non-blocking) `source` into the free space; 0 means end of stream.
    pub fn read_from(&mut self, source: &mut impl io::Read) -> io::Result<usize> {
        self.make_room(1);
        let n = source.read(&mut self.data[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// One read from `stream` into the free space; 0 means end of stream. Cancel-safe.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, stream: &mut R) -> io::Result<usize> {
        self.make_room(1);
        let n = stream.read(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The next complete frame as (opcode, payload), unmasked in place; `None` if more bytes are needed.
    pub fn next_frame(&mut self) -> io::Result<Option<(u8, &[u8])>> {
        let buf = &mut self.data[self.start..self.end];
        if buf.len() < 2 {
            return Ok(None);
        }
        let (fin, opcode) = (buf[0] & 0x80 != 0, buf[0] & 0x0f);
        if !fin || opcode == 0 {
            return Err(invalid("fragmented websocket frames are not supported"));
        }
        let masked = buf[1] & 0x80 != 0;
        let (length, mut header) = match buf[1] & 0x7f {
            126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
            127 if buf.len() >= 10 => {
                let length = u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes"));
                (
                    usize::try_from(length).map_err(|_| invalid("frame too long"))?,
                    10,
                )
            }
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        let mask = if masked {
            if buf.len() < header + 4 {
                return Ok(None);
            }
            header += 4;
            Some([
                buf[header - 4],
                buf[header - 3],
                buf[header - 2],
                buf[header - 1],
            ])
        } else {
            None
        };
        if buf.len() < header + length {
            // Make sure the whole frame will fit once it has arrived.
            let missing = header + length - buf.len();
            self.make_room(missing);
            return Ok(None);
        }
        let payload = &mut buf[header..header + length];
        if let Some(mask) = mask {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= mask[i & 3];
            }
        }
        let start = self.start + header;
        self.start += header + length;
        Ok(Some((opcode, &self.data[start..start + length])))
    }
}

/// Handles every complete frame in `read` as a client does: text payloads go to `on_text`, pings
/// are answered with a pong queued in `writer`, a close frame ends the session (an error). Returns
/// the number of frames handled.
pub fn on_frames(
    read: &mut ReadBuf,
    writer: &mut Writer,
    mut on_text: impl FnMut(&[u8], &mut Writer) -> io::Result<()>,
) -> io::Result<u64> {
    let mut frames = 0;
    while let Some((opcode, payload)) = read.next_frame()? {
        frames += 1;
        match opcode {
            TEXT => on_text(payload, writer)?,
            PING => write_frame(&mut writer.out, PONG, payload, Some([0; 4])),
            CLOSE => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "server sent a close frame",
                ));
            }
            _ => {}
        }
    }
    Ok(frames)
}

/// Appends one unfragmented frame to `out`; clients pass a mask, servers `None`.
pub fn write_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    oxio_protocol::websocket::encode_frame(out, 0x80 | opcode, payload, mask);
}

/// The `Sec-WebSocket-Accept` value answering a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key)
}

/// The longest header of a client frame: two bytes, an 8-byte length, a 4-byte mask.
const MAX_CLIENT_HEADER: usize = 14;

/// Client-side frame writer: masks with a cheap per-connection pseudo-random key.
#[derive(Debug)]
pub struct Writer {
    /// Frames waiting to be written in one `write_all`.
    pub out: Vec<u8>,
    seed: u32,
}

impl Writer {
    /// A writer whose mask sequence starts from `seed`.
    pub fn new(seed: u32) -> Self {
        Self {
            out: Vec::new(),
            seed: seed | 1,
        }
    }

    /// The next masking key.
    fn next_mask(&mut self) -> [u8; 4] {
        // xorshift32: masks need not be secret here, only present.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 17;
        self.seed ^= self.seed << 5;
        self.seed.to_be_bytes()
    }

    /// Queues a masked text frame.
    pub fn text(&mut self, payload: &[u8]) {
        self.text_with(payload.len(), |out| out.copy_from_slice(payload));
    }

    /// Queues a masked text frame whose payload, `len` bytes, `fill` writes into the slice it is given
    /// (zeroed, `len` bytes long): the frame is built where it is sent from, then masked in place,
    /// without a copy of its payload.
    pub fn text_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        let mask = self.next_mask();
        let out = &mut self.out;
        out.reserve(MAX_CLIENT_HEADER + len);
        out.push(0x80 | TEXT);
        match len {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        let start = out.len();
        out.resize(start + len, 0);
        let payload = &mut out[start..];
        fill(payload);
        mask_in_place(payload, mask);
    }

    /// Writes everything queued.
    pub async fn flush(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        if !self.out.is_empty() {
            stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

/// Connects to `addr` and upgrades `path_and_query` to a websocket; bytes that followed the 101 response
/// (the server may send its first frame right away) are left in the returned buffer.
pub async fn connect(
    addr: SocketAddr,
    host: &str,
    path_and_query: &str,
    buffer: usize,
) -> io::Result<(TcpStream, ReadBuf)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(invalid("connection closed during the websocket handshake"));
        }
        response.extend_from_slice(&chunk[..n]);
        if let Some(at) = memchr::memmem::find(&response, b"\r\n\r\n") {
            break at + 4;
        }
        if response.len() > 16 * 1024 {
            return Err(invalid("handshake response too long"));
        }
    };
    if !response.starts_with(b"HTTP/1.1 101") {
        let line = response.split(|&b| b == b'\r').next().unwrap_or_default();
        return Err(io::Error::other(format!(
            "websocket upgrade refused: {}",
            String::from_utf8_lossy(line)
        )));
    }
    let mut read = ReadBuf::new(buffer);
    read.extend(&response[header_end..]);
    Ok((stream, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_masked_and_unmasked() {
        for len in [0usize, 5, 125, 126, 300, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            write_frame(&mut out, TEXT, &payload, Some([1, 2, 3, 4]));
            write_frame(&mut out, PING, &payload, None);
            let mut read = ReadBuf::new(16);
            // Feed byte by byte: every prefix must be reported as incomplete.
            let mut frames = Vec::new();
            for byte in &out {
                read.extend(std::slice::from_ref(byte));
                while let Some((opcode, data)) = read.next_frame().unwrap() {
                    frames.push((opcode, data.to_vec()));
                }
            }
            assert_eq!(frames, vec![(TEXT, payload.clone()), (PING, payload)]);
        }
    }

    #[test]
    fn the_writer_frames_as_the_protocol_crate_does() {
        for len in [
            0usize, 1, 7, 8, 9, 15, 16, 17, 103, 125, 126, 300, 65_535, 65_536, 70_000,
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut writer = Writer::new(11);
            let mut masks = Writer::new(11);
            let mut expected = Vec::new();
            for _ in 0..3 {
                writer.text(&payload);
                write_frame(&mut expected, TEXT, &payload, Some(masks.next_mask()));
            }
            writer.text_with(len, |out| out.copy_from_slice(&payload));
            write_frame(&mut expected, TEXT, &payload, Some(masks.next_mask()));
            assert_eq!(writer.out, expected, "{len}");
        }
    }

    #[test]
    fn masking_twice_restores() {
        let original: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let mut bytes = original[..len].to_vec();
            mask_in_place(&mut bytes, [1, 2, 3, 4]);
            let expected: Vec<u8> = original[..len]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4])
                .collect();
            assert_eq!(bytes, expected);
            mask_in_place(&mut bytes, [1, 2, 3, 4]);
            assert_eq!(bytes, original[..len]);
        }
    }
}
