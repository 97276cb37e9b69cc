//! The calibration server of the bench contract: the least work a Socket.IO fan-out can do on this
//! machine, to state every other server's numbers as a fraction of it.
//!
//! ```text
//! PORT=3000 taskset -c 0 calibration
//! ```
//!
//! Websocket only (`/socket.io/?EIO=4&transport=websocket`), one thread, no JSON parsing:
//! - `bcast(data)`: the `42["msg",<data>]` frame is built once, from a slice of the incoming frame, and
//!   pushed to the one broadcast channel every connection writes from; a connection writes everything
//!   queued for it in one `write`.
//! - The least a room can be, for the rooms scenario: a socket that connects with auth
//!   `{"room":"R"}` (the exact bytes the load generator sends) listens to room `R`'s channel instead
//!   of the one above (so it does not hear `bcast`), and `room(R, data)` pushes the frame to that
//!   channel. No membership index, no `join`: each socket is in one channel.
//! - `echo(data, ack)` → `43<id>[<data>]`; `echo(data)` → `42["echo",<data>]`; `join(R, ack)` → `43<id>[]`.
//! - A ping (`2`) every 25 s through every channel; pongs are not checked.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use oxio_benches::loadgen::ws::{self, ReadBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// Frames a room's channel holds for a lagging connection (a room gets a few emits per second).
const ROOM_CAPACITY: usize = 1 << 10;

/// Where frames are published: the channel of every socket without a room, and one per room.
#[derive(Clone)]
struct Channels {
    all: broadcast::Sender<Bytes>,
    rooms: Arc<Mutex<HashMap<Vec<u8>, broadcast::Sender<Bytes>>>>,
}

impl Channels {
    /// Room `name`'s channel, made on first use.
    fn room(&self, name: &[u8]) -> broadcast::Sender<Bytes> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        rooms
            .entry(name.to_vec())
            .or_insert_with(|| broadcast::channel(ROOM_CAPACITY).0)
            .clone()
    }

    /// Sends `frame` to every socket, whichever channel it listens to.
    fn send_everywhere(&self, frame: &Bytes) {
        let _ = self.all.send(frame.clone());
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        for room in rooms.values() {
            let _ = room.send(frame.clone());
        }
    }
}

/// Unmasked server frame with `payload`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    ws::write_frame(&mut out, ws::TEXT, payload, None);
    out
}

/// Reads the upgrade request and answers it with the 101 and the open packet in one write.
async fn handshake(stream: &mut TcpStream, sid: u64) -> io::Result<ReadBuf> {
    let mut request = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || request.len() > 16 * 1024 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(at) = memchr::memmem::find(&request, b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-key:"))
        .filter(|_| head.starts_with("get /socket.io/") && head.contains("transport=websocket"));
    let Some(key) = key else {
        stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await?;
        return Err(io::ErrorKind::InvalidInput.into());
    };
    // The key is base64: lower-casing the header copy broke it, take it from the original bytes.
    let at = head.find(key).expect("found in head");
    let key = &request[at..at + key.len()];
    let accept = ws::accept_key(key.trim_ascii());
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes();
    let open = format!(
        "0{{\"sid\":\"c{sid}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    ws::write_frame(&mut response, ws::TEXT, open.as_bytes(), None);
    stream.write_all(&response).await?;
    let mut read = ReadBuf::new(4096);
    read.extend(&request[end..]);
    Ok(read)
}

/// One connection: handshake, then client frames and the broadcast channel until either side ends.
async fn connection(mut stream: TcpStream, sid: u64, channels: Channels) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut read = handshake(&mut stream, sid).await?;
    let mut rx: Option<broadcast::Receiver<Bytes>> = None;
    let mut out = Vec::with_capacity(4096);
    loop {
        tokio::select! {
            n = read.fill(&mut stream) => {
                if n? == 0 {
                    return Ok(());
                }
                while let Some((opcode, packet)) = read.next_frame()? {
                    if opcode == ws::CLOSE {
                        return Ok(());
                    }
                    if opcode == ws::TEXT {
                        on_packet(packet, sid, &channels, &mut rx, &mut out);
                    }
                }
            }
            first = recv(&mut rx) => {
                if let Ok(first) = first {
                    out.extend_from_slice(&first);
                }
                // Everything queued goes out in the same write (lagged messages are lost).
                let rx = rx.as_mut().expect("subscribed");
                loop {
                    match rx.try_recv() {
                        Ok(queued) => out.extend_from_slice(&queued),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                        Err(_) => break,
                    }
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

async fn recv(rx: &mut Option<broadcast::Receiver<Bytes>>) -> Result<Bytes, ()> {
    match rx {
        Some(rx) => rx.recv().await.map_err(|_| ()),
        None => std::future::pending().await,
    }
}

/// Answers one Engine.IO packet by slicing, never parsing the JSON.
fn on_packet(
    packet: &[u8],
    sid: u64,
    channels: &Channels,
    rx: &mut Option<broadcast::Receiver<Bytes>>,
    out: &mut Vec<u8>,
) {
    let Some(event) = packet.strip_prefix(b"42") else {
        if let Some(auth) = packet.strip_prefix(b"40")
            && rx.is_none()
        {
            out.extend_from_slice(&frame(format!("40{{\"sid\":\"s{sid}\"}}").as_bytes()));
            let room = auth
                .strip_prefix(b"{\"room\":\"")
                .and_then(|rest| rest.strip_suffix(b"\"}"));
            *rx = Some(match room {
                Some(name) => channels.room(name).subscribe(),
                None => channels.all.subscribe(),
            });
        }
        return;
    };
    let digits = event.iter().take_while(|b| b.is_ascii_digit()).count();
    let (id, args) = event.split_at(digits);
    let data = |name: &[u8]| args.strip_prefix(name)?.strip_suffix(b"]");
    if let Some(data) = data(b"[\"bcast\",") {
        let _ = channels.all.send(msg_frame(data));
    } else if let Some((room, data)) = room_emit(args) {
        let _ = channels.room(room).send(msg_frame(data));
    } else if let Some(data) = data(b"[\"echo\",") {
        let reply = match id {
            [] => [b"42[\"echo\",", data, b"]"].concat(),
            id => [b"43", id, b"[", data, b"]"].concat(),
        };
        ws::write_frame(out, ws::TEXT, &reply, None);
    } else if args.starts_with(b"[\"join\",") && !id.is_empty() {
        ws::write_frame(out, ws::TEXT, &[b"43", id, b"[]"].concat(), None);
    }
}

/// The frame of `42["msg",<data>]`, built once for every recipient.
fn msg_frame(data: &[u8]) -> Bytes {
    let mut message = Vec::with_capacity(data.len() + 10);
    message.extend_from_slice(b"42[\"msg\",");
    message.extend_from_slice(data);
    message.push(b']');
    Bytes::from(frame(&message))
}

/// `["room","<R>",<data>]` → (`R`, `data`).
fn room_emit(args: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = args.strip_prefix(b"[\"room\",\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let data = rest[end..].strip_prefix(b"\",")?.strip_suffix(b"]")?;
    Some((&rest[..end], data))
}

fn main() -> io::Result<()> {
    oxio_benches::loadgen::procstat::raise_nofile_limit();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("calibration server on 127.0.0.1:{port}");
        let channels = Channels {
            all: broadcast::channel::<Bytes>(1 << 16).0,
            rooms: Arc::default(),
        };
        let ping = Bytes::from(frame(b"2"));
        let pinger = channels.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(std::time::Duration::from_secs(25));
            interval.tick().await;
            loop {
                interval.tick().await;
                pinger.send_everywhere(&ping);
            }
        });
        let mut sid = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            sid += 1;
            tokio::spawn(connection(stream, sid, channels.clone()));
        }
    })
}
