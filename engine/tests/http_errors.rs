//! Every HTTP error the engine answers, status and JSON body exactly, and the CORS headers.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oxio_engine::{Cors, CorsOrigin, EngineConfig, Refusal, Transports};
use support::{
    TestServer, assert_no_panics, engine_path, http, poll, polling_handshake, post, ws_open,
};

/// The headers of a websocket handshake.
const UPGRADE: &[(&str, &str)] = &[
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

async fn get(server: &TestServer, target: &str) -> support::HttpResponse {
    http(server.addr, "GET", target, &[], b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_transport() {
    let server = TestServer::start(EngineConfig::default()).await;
    for target in [
        "/engine.io/?EIO=4&transport=abc",
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=",
        "/engine.io/?EIO=4&transport=webtransport",
        "/engine.io/",
    ] {
        get(&server, target)
            .await
            .assert_error(400, 0, "Transport unknown");
    }
    // Also with a sid, and as a websocket handshake.
    let (sid, _) = polling_handshake(server.addr).await;
    get(&server, &engine_path(&format!("transport=abc&sid={sid}")))
        .await
        .assert_error(400, 0, "Transport unknown");
    http(
        server.addr,
        "GET",
        &engine_path("transport=abc"),
        UPGRADE,
        b"",
    )
    .await
    .assert_error(400, 0, "Transport unknown");
    assert_eq!(server.engine.session_count(), 1);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_transports_are_unknown() {
    let polling_only = EngineConfig::default().transports(Transports {
        polling: true,
        websocket: false,
    });
    let server = TestServer::start(polling_only).await;
    http(
        server.addr,
        "GET",
        &engine_path("transport=websocket"),
        UPGRADE,
        b"",
    )
    .await
    .assert_error(400, 0, "Transport unknown");
    let (_, handshake) = polling_handshake(server.addr).await;
    assert_eq!(handshake["upgrades"], serde_json::json!([]));

    let websocket_only = EngineConfig::default().transports(Transports {
        polling: false,
        websocket: true,
    });
    let server = TestServer::start(websocket_only).await;
    get(&server, &engine_path("transport=polling"))
        .await
        .assert_error(400, 0, "Transport unknown");
    let (_ws, _, _) = ws_open(server.addr).await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sid() {
    let server = TestServer::start(EngineConfig::default()).await;
    poll(server.addr, "nope")
        .await
        .assert_error(400, 1, "Session ID unknown");
    post(server.addr, "nope", b"4hello")
        .await
        .assert_error(400, 1, "Session ID unknown");
    http(
        server.addr,
        "GET",
        &engine_path("transport=websocket&sid=nope"),
        UPGRADE,
        b"",
    )
    .await
    .assert_error(400, 1, "Session ID unknown");
    // An empty sid is a sid too.
    poll(server.addr, "")
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_eq!(server.recorder.events(), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_handshake_method() {
    let server = TestServer::start(EngineConfig::default()).await;
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        http(
            server.addr,
            method,
            &engine_path("transport=polling"),
            &[],
            b"",
        )
        .await
        .assert_error(400, 2, "Bad handshake method");
    }
    http(
        server.addr,
        "POST",
        &engine_path("transport=websocket"),
        &[],
        b"",
    )
    .await
    .assert_error(400, 2, "Bad handshake method");
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.recorder.events(), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request() {
    let server = TestServer::start(EngineConfig::default()).await;
    // A websocket handshake without the Upgrade headers.
    get(&server, &engine_path("transport=websocket"))
        .await
        .assert_error(400, 3, "Bad request");
    // With the Upgrade header but no key: not a valid websocket handshake; no session is left.
    http(
        server.addr,
        "GET",
        &engine_path("transport=websocket"),
        &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
        b"",
    )
    .await
    .assert_error(400, 3, "Bad request");
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.recorder.events(), vec![]);

    // Polling requests for a websocket session.
    let (_ws, ws_sid, _) = ws_open(server.addr).await;
    poll(server.addr, &ws_sid)
        .await
        .assert_error(400, 3, "Bad request");
    post(server.addr, &ws_sid, b"4x")
        .await
        .assert_error(400, 3, "Bad request");

    // transport=websocket for a polling session, without the Upgrade headers.
    let (sid, _) = polling_handshake(server.addr).await;
    get(
        &server,
        &engine_path(&format!("transport=websocket&sid={sid}")),
    )
    .await
    .assert_error(400, 3, "Bad request");
    assert_eq!(server.recorder.close_reasons(&sid), vec![]);
    assert_eq!(server.recorder.close_reasons(&ws_sid), vec![]);
    assert_no_panics();
}

/// A method other than GET and POST on a polling session: 500 with no body, as in Node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_on_a_polling_session() {
    let server = TestServer::start(EngineConfig::default()).await;
    let (sid, _) = polling_handshake(server.addr).await;
    let target = engine_path(&format!("transport=polling&sid={sid}"));
    let response = http(server.addr, "PUT", &target, &[], b"4x").await;
    assert_eq!((response.status, response.text()), (500, ""));
    assert_eq!(server.recorder.messages(&sid), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_request_hook() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let config = EngineConfig::default().allow_request(move |request| {
        counted.fetch_add(1, Ordering::SeqCst);
        if request.headers().contains_key("x-deny") {
            Err(Refusal {
                message: "denied by test".to_owned(),
            })
        } else if request.headers().contains_key("x-deny-default") {
            Err(Refusal::forbidden())
        } else {
            Ok(())
        }
    });
    let server = TestServer::start(config).await;
    let polling = engine_path("transport=polling");
    http(server.addr, "GET", &polling, &[("X-Deny", "1")], b"")
        .await
        .assert_error(403, 4, "denied by test");
    http(
        server.addr,
        "GET",
        &polling,
        &[("X-Deny-Default", "1")],
        b"",
    )
    .await
    .assert_error(403, 4, "Forbidden");
    let mut headers = UPGRADE.to_vec();
    headers.push(("X-Deny", "1"));
    http(
        server.addr,
        "GET",
        &engine_path("transport=websocket"),
        &headers,
        b"",
    )
    .await
    .assert_error(403, 4, "denied by test");
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.recorder.events(), vec![]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Allowed: the hook runs for handshakes only, not for the requests of a session.
    let (sid, _) = polling_handshake(server.addr).await;
    let posted = post(server.addr, &sid, b"4hi").await;
    assert_eq!((posted.status, posted.text()), (200, "ok"));
    assert_eq!(poll(server.addr, &sid).await.text(), "4hi");
    let (_ws, _, _) = ws_open(server.addr).await;
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_protocol_version() {
    let server = TestServer::start(EngineConfig::default()).await;
    for target in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=3&transport=polling",
        "/engine.io/?EIO=5&transport=polling",
        "/engine.io/?EIO=&transport=polling",
        "/engine.io/?EIO=four&transport=polling",
        "/engine.io/?EIO=04&transport=polling",
    ] {
        get(&server, target)
            .await
            .assert_error(400, 5, "Unsupported protocol version");
    }
    http(
        server.addr,
        "GET",
        "/engine.io/?EIO=3&transport=websocket",
        UPGRADE,
        b"",
    )
    .await
    .assert_error(400, 5, "Unsupported protocol version");
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(server.recorder.events(), vec![]);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_the_engine_path() {
    let server = TestServer::start(EngineConfig::default()).await;
    for target in [
        "/",
        "/other?EIO=4&transport=polling",
        "/engine.iox/?EIO=4&transport=polling",
        "/engine.io/x?EIO=4&transport=polling",
        "/socket.io/?EIO=4&transport=polling",
    ] {
        let response = get(&server, target).await;
        assert_eq!((response.status, response.text()), (404, ""), "{target}");
    }
    // The path without its trailing slash is the engine's.
    let response = get(&server, "/engine.io?EIO=4&transport=polling").await;
    assert_eq!(response.status, 200);
    assert!(response.text().starts_with("0{"));
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_path() {
    let server = TestServer::start(EngineConfig::default().path("/rt")).await;
    let response = get(&server, "/rt/?EIO=4&transport=polling").await;
    assert_eq!(response.status, 200);
    let response = get(&server, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(response.status, 404);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sessions() {
    let server = TestServer::start(EngineConfig::default().max_sessions(2)).await;
    let (first, _) = polling_handshake(server.addr).await;
    let (_ws, _, _) = ws_open(server.addr).await;
    get(&server, &engine_path("transport=polling"))
        .await
        .assert_error(503, 3, "Server full");
    http(
        server.addr,
        "GET",
        &engine_path("transport=websocket"),
        UPGRADE,
        b"",
    )
    .await
    .assert_error(503, 3, "Server full");
    assert_eq!(server.engine.session_count(), 2);
    server.recorder.wait_opens(2).await;
    assert_eq!(server.recorder.opens().len(), 2);

    // A slot frees up when a session closes.
    let closed = post(server.addr, &first, b"1").await;
    assert_eq!((closed.status, closed.text()), (200, "ok"));
    server.recorder.wait_close(&first).await;
    polling_handshake(server.addr).await;
    assert_eq!(server.engine.session_count(), 2);
    assert_no_panics();
}

const PREFLIGHT: &[(&str, &str)] = &[
    ("Origin", "http://a.test"),
    ("Access-Control-Request-Method", "POST"),
    ("Access-Control-Request-Headers", "content-type"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_disabled_by_default() {
    let server = TestServer::start(EngineConfig::default()).await;
    let response = http(
        server.addr,
        "GET",
        &engine_path("transport=polling"),
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), None);
    assert_eq!(response.header("access-control-allow-credentials"), None);
    // No preflight answer: OPTIONS is an ordinary (bad) handshake.
    http(
        server.addr,
        "OPTIONS",
        &engine_path("transport=polling"),
        PREFLIGHT,
        b"",
    )
    .await
    .assert_error(400, 2, "Bad handshake method");
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_any() {
    let server = TestServer::start(EngineConfig::default().cors(Cors::any())).await;
    let response = http(
        server.addr,
        "GET",
        &engine_path("transport=polling"),
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-credentials"), None);
    assert_eq!(response.header("vary"), None);

    let preflight = http(
        server.addr,
        "OPTIONS",
        &engine_path("transport=polling"),
        PREFLIGHT,
        b"",
    )
    .await;
    assert_eq!((preflight.status, preflight.text()), (204, ""));
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(preflight.header("access-control-allow-credentials"), None);
    assert_eq!(
        preflight.header_all("vary"),
        "Access-Control-Request-Headers"
    );

    // Errors carry the CORS headers too, so that browsers can read them.
    let error = http(
        server.addr,
        "GET",
        &engine_path("transport=abc"),
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    error.assert_error(400, 0, "Transport unknown");
    assert_eq!(error.header("access-control-allow-origin"), Some("*"));
    assert_eq!(server.engine.session_count(), 1);
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origin_list_with_credentials() {
    let cors = Cors {
        origin: CorsOrigin::List(vec!["http://a.test".to_owned(), "http://c.test".to_owned()]),
        credentials: true,
    };
    let server = TestServer::start(EngineConfig::default().cors(cors)).await;
    let polling = engine_path("transport=polling");

    let allowed = http(
        server.addr,
        "GET",
        &polling,
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://a.test")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(allowed.header_all("vary"), "Origin");

    let refused = http(
        server.addr,
        "GET",
        &polling,
        &[("Origin", "http://b.test")],
        b"",
    )
    .await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("access-control-allow-credentials"), None);

    let preflight = http(server.addr, "OPTIONS", &polling, PREFLIGHT, b"").await;
    assert_eq!((preflight.status, preflight.text()), (204, ""));
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://a.test")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(
        preflight.header_all("vary"),
        "Origin, Access-Control-Request-Headers"
    );

    let refused_preflight = http(
        server.addr,
        "OPTIONS",
        &polling,
        &[
            ("Origin", "http://b.test"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(refused_preflight.status, 204);
    assert_eq!(
        refused_preflight.header("access-control-allow-origin"),
        None
    );
    assert_eq!(
        refused_preflight.header("access-control-allow-methods"),
        None
    );
    assert_no_panics();
}
