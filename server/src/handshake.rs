//! What a socket's client sent when it connected: Node's `socket.handshake`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use oxio_engine::RequestInfo;

/// The handshake details of a socket.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The request that opened the connection (headers, URI, peer address).
    pub request: Arc<RequestInfo>,
    /// When the socket connected, in milliseconds since the Unix epoch (Node's `issued`).
    pub issued: u64,
    /// The auth payload of the CONNECT packet (`{}` when the client sent none).
    pub auth: serde_json::Value,
}

impl Handshake {
    pub(crate) fn new(request: &Arc<RequestInfo>, auth: serde_json::Value) -> Handshake {
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
        self.request.headers()
    }

    /// A query parameter of the connection request, percent-decoded.
    pub fn query_param(&self, key: &str) -> Option<Cow<'_, str>> {
        self.request.query_param(key)
    }

    /// Whether the request came from another origin (it had an `Origin` header).
    pub fn xdomain(&self) -> bool {
        self.request.headers().contains_key(http::header::ORIGIN)
    }
}

impl Handshake {
    /// The handshake as Node's `socket.handshake` object, as other nodes of a cluster read it:
    /// `headers`, `time`, `address`, `xdomain`, `secure`, `issued`, `url`, `query`, `auth`.
    pub fn to_json(&self) -> serde_json::Value {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .request
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value.into())
            })
            .collect();
        let query: serde_json::Map<String, serde_json::Value> = self
            .request
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split('=').next().filter(|key| !key.is_empty()))
            .filter_map(|key| {
                let value = self.request.query_param(key)?;
                // Names are decoded like values, as Node's `URLSearchParams` does.
                let name = oxio_engine::query_param(&format!("k={key}"), "k")?.into_owned();
                Some((name, value.into_owned().into()))
            })
            .collect();
        let address = self
            .request
            .remote_addr
            .map(|addr| addr.ip().to_string())
            .unwrap_or_default();
        serde_json::json!({
            "headers": headers,
            "time": js_date_string(self.issued),
            "address": address,
            "xdomain": self.xdomain(),
            "secure": false,
            "issued": self.issued,
            "url": self.request.uri.to_string(),
            "query": query,
            "auth": self.auth,
        })
    }
}

/// What JavaScript's `new Date(ms).toString()` writes on a UTC machine:
/// `Sun Nov 22 2026 06:13:00 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(epoch_ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms / 1000;
    let days = secs / 86_400;
    let (year, month, day) = oxio_protocol::date::civil_from_days(days as i64);
    let rem = secs % 86_400;
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_read_as_javascript_writes_them() {
        // new Date(1795414380000).toString() on a UTC machine.
        assert_eq!(
            super::js_date_string(1_795_327_980_000),
            "Sun Nov 22 2026 06:13:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            super::js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
