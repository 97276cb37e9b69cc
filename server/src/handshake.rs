//! What a socket's client sent when it connected: Node's `socket.handshake`.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use oxio_engine::RequestInfo;

/// The handshake details of a socket.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The request that opened the connection (headers, URI, peer address).
    pub request: RequestInfo,
    /// When the socket connected, in milliseconds since the Unix epoch (Node's `issued`).
    pub issued: u64,
    /// The auth payload of the CONNECT packet (`{}` when the client sent none).
    pub auth: serde_json::Value,
}

impl Handshake {
    pub(crate) fn new(request: &RequestInfo, auth: serde_json::Value) -> Handshake {
        Handshake {
            request: request.clone(),
            issued: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            auth,
        }
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.request.headers
    }

    /// A query parameter of the connection request, percent-decoded.
    pub fn query_param(&self, key: &str) -> Option<Cow<'_, str>> {
        self.request.query_param(key)
    }

    /// Whether the request came from another origin (it had an `Origin` header).
    pub fn xdomain(&self) -> bool {
        self.request.headers.contains_key(http::header::ORIGIN)
    }
}
