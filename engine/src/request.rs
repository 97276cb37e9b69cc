//! What the engine reads from an HTTP request: the Engine.IO query parameters, and the request data
//! kept for the application (headers, URI, peer address).
//!
//! Query parsing is done here rather than with a URL crate because the engine needs only three keys
//! and must reject malformed input without allocating more than the query itself.

use std::borrow::Cow;
use std::net::SocketAddr;

use http::{HeaderMap, Method, Uri};

/// The request that opened a session, as the application sees it (the allow-request hook, and
/// [`crate::Socket::request`]).
#[derive(Clone, Debug)]
pub struct RequestInfo {
    /// The HTTP method of the handshake.
    pub method: Method,
    /// The request URI, query included.
    pub uri: Uri,
    /// The request headers.
    pub headers: HeaderMap,
    /// The peer's address, when the engine knows it.
    pub remote_addr: Option<SocketAddr>,
}

impl RequestInfo {
    /// The value of a query parameter, percent-decoded; `None` when absent.
    pub fn query_param(&self, key: &str) -> Option<Cow<'_, str>> {
        query_param(self.uri.query().unwrap_or(""), key)
    }
}

/// The transport named in the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// Websocket.
    Websocket,
}

impl TransportKind {
    /// The name used on the wire (`polling`, `websocket`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::Websocket => "websocket",
        }
    }
}

/// The Engine.IO parameters of one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EngineQuery<'a> {
    pub(crate) protocol: Option<Cow<'a, str>>,
    pub(crate) transport: Option<Cow<'a, str>>,
    pub(crate) sid: Option<Cow<'a, str>>,
}

impl<'a> EngineQuery<'a> {
    pub(crate) fn parse(query: &'a str) -> Self {
        EngineQuery {
            protocol: query_param(query, "EIO"),
            transport: query_param(query, "transport"),
            sid: query_param(query, "sid"),
        }
    }

    /// The transport, when it is one the engine knows.
    pub(crate) fn transport_kind(&self) -> Option<TransportKind> {
        match self.transport.as_deref()? {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::Websocket),
            _ => None,
        }
    }
}

/// The first value of `key` in a `k=v&k=v` query, percent-decoded (`+` as space).
fn query_param<'a>(query: &'a str, key: &str) -> Option<Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+`; malformed escapes are kept as they are (as browsers do).
fn percent_decode(value: &str) -> Cow<'_, str> {
    if !value.contains(['%', '+']) {
        return Cow::Borrowed(value);
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_parameters() {
        let q = EngineQuery::parse("EIO=4&transport=polling&t=abc&sid=x_y-z");
        assert_eq!(q.protocol.as_deref(), Some("4"));
        assert_eq!(q.transport_kind(), Some(TransportKind::Polling));
        assert_eq!(q.sid.as_deref(), Some("x_y-z"));
    }

    #[test]
    fn missing_and_unknown_values() {
        let q = EngineQuery::parse("EIO&transport=abc");
        assert_eq!(q.protocol.as_deref(), Some(""));
        assert_eq!(q.transport_kind(), None);
        assert_eq!(q.sid, None);
        assert_eq!(EngineQuery::parse("").protocol, None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }
}
