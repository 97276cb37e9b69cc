//! HTTP responses the engine writes: Node engine.io's error bodies, polling payloads and CORS headers.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;

use crate::config::{Cors, CorsOrigin};

/// The body type of every response the engine writes.
pub type ResponseBody = Full<Bytes>;

/// Request errors, with the codes and messages of Node's engine.io (`Server.errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    Forbidden,
    UnsupportedProtocolVersion,
    /// Not in Node: the engine holds `max_sessions` sessions already.
    ServerFull,
}

impl RequestError {
    fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest | RequestError::ServerFull => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
            RequestError::ServerFull => "Server full",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            RequestError::Forbidden => StatusCode::FORBIDDEN,
            RequestError::ServerFull => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// `{"code":N,"message":"..."}` with the error's status (403 for `Forbidden`, 400 for the others,
/// 503 for `ServerFull`). `message` overrides the default text (the allow-request hook's refusal).
/// CORS headers are added by the caller, as for every response.
pub(crate) fn error_response(error: RequestError, message: Option<&str>) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(error_body(error, message))));
    *response.status_mut() = error.status();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The JSON body of [`error_response`].
pub(crate) fn error_body(error: RequestError, message: Option<&str>) -> String {
    serde_json::json!({
        "code": error.code(),
        "message": message.unwrap_or(error.message()),
    })
    .to_string()
}

/// A `200 text/plain; charset=UTF-8` response (polling payloads and the handshake).
pub(crate) fn payload_response(body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to a polling POST: `200 text/html "ok"`, as Node writes it.
pub(crate) fn ok_response() -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A bare status with an empty body.
pub(crate) fn status_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Adds the CORS headers a request gets under `cors`. Returns false when CORS is disabled or the
/// origin is not allowed (no headers are added then).
pub(crate) fn apply_cors(
    cors: &Cors,
    method: &Method,
    request_headers: &HeaderMap,
    response_headers: &mut HeaderMap,
) -> bool {
    let origin = request_headers.get(header::ORIGIN);
    let allow_origin = match (&cors.origin, origin) {
        (CorsOrigin::Disabled, _) => return false,
        (CorsOrigin::Any, Some(origin)) if cors.credentials => origin.clone(),
        (CorsOrigin::Any, _) => HeaderValue::from_static("*"),
        (CorsOrigin::List(list), Some(origin)) => {
            let allowed = origin
                .to_str()
                .is_ok_and(|origin| list.iter().any(|entry| entry == origin));
            if !allowed {
                return false;
            }
            origin.clone()
        }
        (CorsOrigin::List(_), None) => return false,
    };
    if allow_origin != "*" {
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    if cors.credentials {
        response_headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if method == Method::OPTIONS {
        response_headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(requested) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
            response_headers.append(
                header::VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_any_without_credentials_is_a_star() {
        let mut request = HeaderMap::new();
        request.insert(header::ORIGIN, HeaderValue::from_static("http://a.test"));
        let mut response = HeaderMap::new();
        assert!(apply_cors(
            &Cors::any(),
            &Method::GET,
            &request,
            &mut response
        ));
        assert_eq!(response[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn cors_list_reflects_allowed_origins_only() {
        let cors = Cors {
            origin: CorsOrigin::List(vec!["http://a.test".into()]),
            credentials: true,
        };
        let mut request = HeaderMap::new();
        request.insert(header::ORIGIN, HeaderValue::from_static("http://a.test"));
        let mut response = HeaderMap::new();
        assert!(apply_cors(&cors, &Method::OPTIONS, &request, &mut response));
        assert_eq!(
            response[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://a.test"
        );
        assert_eq!(response[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert!(response.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));

        request.insert(header::ORIGIN, HeaderValue::from_static("http://b.test"));
        let mut response = HeaderMap::new();
        assert!(!apply_cors(&cors, &Method::GET, &request, &mut response));
        assert!(response.is_empty());
    }
}
