//! A receiving Socket.IO client on HTTP long-polling: one keep-alive connection for the GET loop, one
//! for POSTs (the CONNECT packet and pongs). Responses must carry a Content-Length.

use std::io;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::client::Spec;
use super::{Shared, find_t};

/// Runs a polling receiver until its session ends; records the outcome in `shared`.
pub async fn run(spec: Spec, shared: Rc<Shared>, permit: OwnedSemaphorePermit) {
    let mut connected = false;
    let mut permit = Some(permit);
    if let Err(error) = session(&spec, &shared, &mut connected, &mut permit).await {
        shared.note_error(&error);
        if connected {
            shared.dropped.set(shared.dropped.get() + 1);
        } else {
            shared.failed.set(shared.failed.get() + 1);
        }
    }
}

async fn session(
    spec: &Spec,
    shared: &Shared,
    connected: &mut bool,
    permit: &mut Option<OwnedSemaphorePermit>,
) -> io::Result<()> {
    let target = &spec.target;
    let mut get = Http::connect(spec).await?;
    let base = format!("{}?EIO=4&transport=polling", target.path);
    let open = get.request("GET", &base, b"").await?;
    let sid = sid_of(&open).ok_or_else(|| io::Error::other("no sid in the open packet"))?;
    let path = format!("{base}&sid={sid}");
    let mut post = Http::connect(spec).await?;
    post.post(spec, &path, spec.connect_packet().as_bytes())
        .await?;
    loop {
        let body = get.request("GET", &path, b"").await?;
        let now = shared.now_us();
        for packet in body.split(|&b| b == 0x1e) {
            match packet {
                [b'4', b'2', rest @ ..] if rest.starts_with(b"[\"msg\",") => match find_t(rest) {
                    Some(t) if spec.counts => shared.record(t, now),
                    _ => {}
                },
                [b'2'] => post.post(spec, &path, b"3").await?,
                [b'4', b'0', ..] if !*connected => {
                    *connected = true;
                    *permit = None;
                    shared.connected.set(shared.connected.get() + 1);
                    if spec.counts {
                        shared.room_sizes.borrow_mut()[spec.room.unwrap_or(0)] += 1;
                    }
                }
                [b'1'] | [b'4', b'1', ..] | [b'4', b'4', ..] => {
                    return Err(io::Error::other(
                        "server refused or ended the polling session",
                    ));
                }
                _ => {}
            }
        }
    }
}

fn sid_of(open: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(open, b"\"sid\":\"")? + 7;
    let len = memchr::memchr(b'"', &open[at..])?;
    Some(String::from_utf8_lossy(&open[at..at + len]).into_owned())
}

/// One keep-alive HTTP/1.1 connection.
struct Http {
    stream: TcpStream,
    host: String,
    buffer: Vec<u8>,
}

impl Http {
    async fn connect(spec: &Spec) -> io::Result<Self> {
        let stream = TcpStream::connect(spec.target.addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            host: spec.target.host.clone(),
            buffer: Vec::with_capacity(1024),
        })
    }

    /// A POST that survives the server closing an idle keep-alive connection (Node does after 5 s).
    async fn post(&mut self, spec: &Spec, path: &str, body: &[u8]) -> io::Result<()> {
        if self.request("POST", path, body).await.is_err() {
            *self = Self::connect(spec).await?;
            self.request("POST", path, body).await?;
        }
        Ok(())
    }

    async fn request(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Vec<u8>> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.stream.write_all(&request).await?;
        self.buffer.clear();
        let (header_end, length) = loop {
            self.read_some().await?;
            if let Some(at) = memchr::memmem::find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..at]).to_ascii_lowercase();
                if !head.starts_with("http/1.1 200") {
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    return Err(io::Error::other(format!("polling request failed: {line}")));
                }
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| io::Error::other("polling response without Content-Length"))?;
                break (at + 4, length);
            }
        };
        while self.buffer.len() < header_end + length {
            self.read_some().await?;
        }
        Ok(self.buffer[header_end..header_end + length].to_vec())
    }

    async fn read_some(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the polling connection",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}
