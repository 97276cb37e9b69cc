//! What the engine reads from an HTTP request: the Engine.IO query parameters, and the request data
//! kept for the application (headers, URI, peer address).
//!
//! Query parsing is done here rather than with a URL crate because the engine needs only three keys
//! and must reject malformed input without allocating more than the query itself.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

/// The request that opened a session, as the application sees it (the allow-request hook, and
/// [`crate::Socket::request`]).
///
/// Kept for the session's lifetime, so kept small: the headers are stored packed in one allocation
/// and become a [`HeaderMap`] only when [`RequestInfo::headers`] is first called (a map of a
/// handful of headers is about 600 bytes, more than the rest of an idle session's request data).
#[derive(Clone)]
pub struct RequestInfo {
    /// The HTTP method of the handshake.
    pub method: Method,
    /// The request URI, query included.
    pub uri: Uri,
    /// The peer's address, when the engine knows it.
    pub remote_addr: Option<SocketAddr>,
    /// Every header as a line `name:value\n`, in the request's order; `;` in place of `:` marks a
    /// sensitive value. Unambiguous: names are tokens (neither `:` nor `;`), values hold no `\n`.
    packed_headers: Box<[u8]>,
    /// The map built from `packed_headers` on first use (boxed: 8 bytes until then, not 96).
    headers: OnceLock<Box<HeaderMap>>,
}

impl RequestInfo {
    /// The request data kept for the session's lifetime, copied out of the request: hyper parses
    /// header values and the URI as slices of its connection read buffer (8 KiB or more), so
    /// keeping the request's own values would keep that whole buffer alive for every session.
    pub fn detached(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        remote_addr: Option<SocketAddr>,
    ) -> Self {
        let packed_len = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.as_bytes().len() + 2)
            .sum();
        let mut packed = Vec::with_capacity(packed_len);
        for (name, value) in headers {
            pack_header(
                &mut packed,
                name.as_str(),
                value.as_bytes(),
                value.is_sensitive(),
            );
        }
        let uri = Uri::from_maybe_shared(Bytes::copy_from_slice(uri.to_string().as_bytes()))
            .unwrap_or_else(|_| uri.clone());
        Self {
            method: method.clone(),
            uri,
            remote_addr,
            packed_headers: packed.into_boxed_slice(),
            headers: OnceLock::new(),
        }
    }

    /// A GET read by the engine itself (see `direct.rs`): the request target as sent and the
    /// headers as parsed (names in any case). `None` when the target is not a valid URI or a header
    /// is not a valid name and value.
    pub(crate) fn from_raw_get<'a>(
        target: &str,
        headers: impl Iterator<Item = (&'a str, &'a [u8])> + Clone,
        remote_addr: Option<SocketAddr>,
    ) -> Option<Self> {
        let uri = Uri::from_maybe_shared(Bytes::copy_from_slice(target.as_bytes())).ok()?;
        let packed_len = headers.clone().map(|(n, v)| n.len() + v.len() + 2).sum();
        let mut packed = Vec::with_capacity(packed_len);
        for (name, value) in headers {
            let valid_name = HeaderName::from_bytes(name.as_bytes()).is_ok();
            let valid_value = (value.iter()).all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
            if !valid_name || !valid_value {
                return None;
            }
            let start = packed.len();
            pack_header(&mut packed, name, value, false);
            packed[start..start + name.len()].make_ascii_lowercase();
        }
        Some(Self {
            method: Method::GET,
            uri,
            remote_addr,
            packed_headers: packed.into_boxed_slice(),
            headers: OnceLock::new(),
        })
    }

    /// A map of the headers built now and not kept (for a one-off look that should not cost the
    /// session the memory of a kept map).
    pub(crate) fn headers_uncached(&self) -> HeaderMap {
        match self.headers.get() {
            Some(headers) => (**headers).clone(),
            None => unpack_headers(&self.packed_headers),
        }
    }

    /// The request headers (built on the first call, then kept).
    pub fn headers(&self) -> &HeaderMap {
        self.headers
            .get_or_init(|| Box::new(unpack_headers(&self.packed_headers)))
    }

    /// The value of a query parameter of the URI, percent-decoded; `None` when absent. Read as
    /// [`query_param`] reads it.
    pub fn query_param(&self, key: &str) -> Option<Cow<'_, str>> {
        query_param(self.uri.query().unwrap_or(""), key)
    }
}

/// Appends one header in the packed form of [`RequestInfo`]'s `packed_headers`.
fn pack_header(packed: &mut Vec<u8>, name: &str, value: &[u8], sensitive: bool) {
    packed.extend_from_slice(name.as_bytes());
    packed.push(if sensitive { b';' } else { b':' });
    packed.extend_from_slice(value);
    packed.push(b'\n');
}

/// The map of headers packed by [`RequestInfo::detached`]; the values share one allocation.
fn unpack_headers(packed: &[u8]) -> HeaderMap {
    let lines = packed.iter().filter(|&&byte| byte == b'\n').count();
    let mut map = HeaderMap::with_capacity(lines);
    let packed = Bytes::copy_from_slice(packed);
    let mut at = 0;
    while at < packed.len() {
        let line = &packed[at..];
        let end = at
            + line
                .iter()
                .position(|&b| b == b'\n')
                .expect("lines end with \\n");
        let colon = at
            + line
                .iter()
                .position(|&b| b == b':' || b == b';')
                .expect("a name");
        let name = HeaderName::from_bytes(&packed[at..colon]).expect("packed from a HeaderName");
        let mut value = HeaderValue::from_maybe_shared(packed.slice(colon + 1..end))
            .expect("packed from a HeaderValue");
        value.set_sensitive(packed[colon] == b';');
        map.append(name, value);
        at = end + 1;
    }
    map
}

impl fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestInfo")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", self.headers())
            .field("remote_addr", &self.remote_addr)
            .finish()
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

/// The Engine.IO parameters of a request's query string: `EIO` (the protocol version),
/// `transport` and `sid`, each read as [`query_param`] reads it.
///
/// [`crate::Engine::handle`] reads them itself; this is for a service that looks at a request
/// before handing it to the engine, for example to route a session's requests to the node that
/// holds it.
///
/// ```
/// use oxio_engine::{EngineQuery, TransportKind};
///
/// let query = EngineQuery::parse("EIO=4&transport=polling&t=P3bXk9a&sid=r1a2b3");
/// assert_eq!(query.protocol(), Some("4"));
/// assert_eq!(query.transport_kind(), Some(TransportKind::Polling));
/// assert_eq!(query.sid(), Some("r1a2b3"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineQuery<'a> {
    pub(crate) protocol: Option<Cow<'a, str>>,
    pub(crate) transport: Option<Cow<'a, str>>,
    pub(crate) sid: Option<Cow<'a, str>>,
}

impl<'a> EngineQuery<'a> {
    /// Reads the parameters from a query string (what follows `?` in the request target, without
    /// the `?`). Never fails: a missing parameter is `None`.
    pub fn parse(query: &'a str) -> Self {
        let mut parsed = EngineQuery {
            protocol: None,
            transport: None,
            sid: None,
        };
        // One pass from the end, so that the last of repeated parameters wins, as in `query_param`.
        for pair in query.rsplit('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match &*percent_decode(name) {
                "EIO" => &mut parsed.protocol,
                "transport" => &mut parsed.transport,
                "sid" => &mut parsed.sid,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(percent_decode(value));
            }
        }
        parsed
    }

    /// The `EIO` parameter: the protocol version (`4` for the clients this engine serves).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The `transport` parameter as sent (see [`EngineQuery::transport_kind`]).
    pub fn transport(&self) -> Option<&str> {
        self.transport.as_deref()
    }

    /// The `sid` parameter: the session id; `None` on a handshake. An empty `sid=` is an (unknown)
    /// session id here, where Node's engine.io takes it for a handshake.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The transport, when it is one the engine knows (exactly `polling` or `websocket`).
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self.transport.as_deref()? {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::Websocket),
            _ => None,
        }
    }
}

/// The value of `key` in a query string (`k=v&k=v`, without the leading `?`), percent-decoded;
/// `None` when absent. Read as Node's engine.io reads its query (`URLSearchParams`, then
/// `Object.fromEntries`), so the application sees what `socket.handshake.query` holds there.
///
/// When `key` occurs more than once, the last occurrence wins. A pair matches when its name equals
/// `key` once percent-decoded (clients encode names with `encodeURIComponent`, so `my%20key=1` is
/// found as `my key`), or as written. A name without `=` has the empty value; empty pairs (`&&`)
/// are skipped. Decoding turns `%XX` into the byte `XX` and `+` into a space; a malformed escape
/// (`%`, `%4`, `%zz`) stays as written, and bytes that do not form UTF-8 become U+FFFD. The result
/// borrows from `query` when the value holds neither `%` nor `+`, and is never longer than the
/// value as written.
///
/// ```
/// use oxio_engine::query_param;
///
/// let query = "token=a%2Fb+c&EIO=4&transport=polling&t=P3bXk9a";
/// assert_eq!(query_param(query, "token").as_deref(), Some("a/b c"));
/// assert_eq!(query_param(query, "sid"), None);
/// assert_eq!(query_param("room=a&room=b", "room").as_deref(), Some("b"));
/// ```
pub fn query_param<'a>(query: &'a str, key: &str) -> Option<Cow<'a, str>> {
    query.rsplit('&').find_map(|pair| {
        if pair.is_empty() {
            return None;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key || percent_decode(name) == key).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+`; malformed escapes are kept as they are (as browsers do).
fn percent_decode(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(|byte| byte == b'%' || byte == b'+') {
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
    fn detached_request_info_keeps_every_header_and_the_uri() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.com"));
        headers.append("x-many", HeaderValue::from_static("one"));
        headers.append("x-many", HeaderValue::from_static(""));
        headers.append("x-many", HeaderValue::from_static("three"));
        let mut secret = HeaderValue::from_static("token");
        secret.set_sensitive(true);
        headers.insert("authorization", secret);
        let uri: Uri = "/socket.io/?EIO=4&transport=websocket&a=%20b"
            .parse()
            .unwrap();
        let info = RequestInfo::detached(&Method::GET, &uri, &headers, None);
        assert_eq!(info.headers(), &headers);
        assert!(info.headers()["authorization"].is_sensitive());
        assert!(!info.headers()["host"].is_sensitive());
        let many: Vec<_> = info.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["one", "", "three"]);
        assert_eq!(info.uri, uri);
        assert_eq!(info.query_param("a").as_deref(), Some(" b"));
    }

    #[test]
    fn parses_engine_parameters() {
        let q = EngineQuery::parse("EIO=4&transport=polling&t=abc&sid=x_y-z");
        assert_eq!(q.protocol.as_deref(), Some("4"));
        assert_eq!(q.transport_kind(), Some(TransportKind::Polling));
        assert_eq!(q.sid.as_deref(), Some("x_y-z"));
    }

    #[test]
    fn engine_parameters_read_as_query_param_reads_them() {
        for query in [
            "sid=a&EIO=3&sid=b&EIO=4",
            "EI%4F=4&trans%70ort=websocket&&sid=%41+b",
            "transport=polling&transport&EIO=",
            "x=1&&=&sid",
        ] {
            let q = EngineQuery::parse(query);
            assert_eq!(q.protocol, query_param(query, "EIO"), "{query}");
            assert_eq!(q.transport, query_param(query, "transport"), "{query}");
            assert_eq!(q.sid, query_param(query, "sid"), "{query}");
        }
        assert_eq!(EngineQuery::parse("sid=a&sid=b").sid(), Some("b"));
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
        assert_eq!(percent_decode("%e2%82"), "\u{fffd}");
        assert_eq!(percent_decode("%e2%82%ac%41"), "\u{20ac}A");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn names_match_as_written_or_decoded() {
        let query = "my%20key=1&a+b=2&sid%3D=3&EI%4F=4";
        assert_eq!(query_param(query, "my key").as_deref(), Some("1"));
        assert_eq!(query_param(query, "my%20key").as_deref(), Some("1"));
        assert_eq!(query_param(query, "a b").as_deref(), Some("2"));
        assert_eq!(query_param(query, "sid=").as_deref(), Some("3"));
        assert_eq!(query_param(query, "sid"), None);
        assert_eq!(EngineQuery::parse(query).protocol(), Some("4"));
    }

    #[test]
    fn like_url_search_params() {
        // The last occurrence wins, as in `Object.fromEntries(url.searchParams)`.
        assert_eq!(query_param("a%20b=1&a b=2", "a b").as_deref(), Some("2"));
        let q = EngineQuery::parse("EIO=3&transport=websocket&EIO=4&transport=polling");
        assert_eq!(q.protocol(), Some("4"));
        assert_eq!(q.transport_kind(), Some(TransportKind::Polling));
        // Empty pairs are no parameter with an empty name; `=v` is.
        assert_eq!(query_param("a=1&&b=2", ""), None);
        assert_eq!(query_param("=v&a=1", "").as_deref(), Some("v"));
        assert_eq!(
            EngineQuery::parse("EIO=4&transport=polling&sid=").sid(),
            Some("")
        );
    }
}
