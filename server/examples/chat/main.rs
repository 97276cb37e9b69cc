//! A chat room in the browser: open http://127.0.0.1:3000/ in two tabs, pick nicknames, talk.
//!
//! ```sh
//! npm ci                                      # once, at the repository root: the page's client
//! cargo run -p oxio-server --example chat     # PORT=4000 to use another port
//! ```
//!
//! It shows how to mount the Socket.IO server inside your own hyper service with [`Io::handle`]:
//! requests on `/socket.io/` go to the server; `/` is the page (`index.html`, beside this file) and
//! `/socket.io.min.js` is the browser client, read from the npm package `socket.io-client` in the
//! repository's `node_modules` (it is not part of this repository).
//!
//! The server side: a client connects with its nickname in the auth payload; every `chat message`
//! is sent to everyone (the sender included) with the nickname; `user joined` / `user left` notices
//! carry the number of people connected.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use oxio_server::{Io, IoConfig, Namespace, Socket};
use serde_json::json;

/// The longest nickname and message kept, in characters.
const MAX_NICKNAME: usize = 24;
const MAX_MESSAGE: usize = 500;

const PAGE: &str = include_str!("index.html");

/// The repository root, where `package.json` and `node_modules` are.
fn repo_root() -> PathBuf {
    let server = Path::new(env!("CARGO_MANIFEST_DIR"));
    server.parent().unwrap_or(server).to_owned()
}

/// Where `npm ci` puts the browser build of the socket.io client.
fn client_script() -> PathBuf {
    repo_root().join("node_modules/socket.io-client/dist/socket.io.min.js")
}

fn on_connection(chat: &Namespace, socket: Socket) {
    let nickname: Arc<str> = nickname(&socket.handshake().auth).into();
    let _ = chat.emit(
        "user joined",
        &json!({ "nickname": &*nickname, "users": chat.socket_count() }),
    );

    let everyone = chat.clone();
    let name = nickname.clone();
    socket.on("chat message", move |_socket, payload, _ack| {
        let Ok(text) = payload.get::<String>(0) else {
            return;
        };
        let text: String = text.trim().chars().take(MAX_MESSAGE).collect();
        if !text.is_empty() {
            let _ = everyone.emit("chat message", &json!({ "nickname": &*name, "text": text }));
        }
    });

    let everyone = chat.clone();
    socket.on_disconnect(move |_socket, _reason| {
        // The socket has left the namespace already: the count is of those who stay.
        let _ = everyone.emit(
            "user left",
            &json!({ "nickname": &*nickname, "users": everyone.socket_count() }),
        );
    });
}

/// The nickname of the auth payload (`io({ auth: { nickname } })`), trimmed and shortened.
fn nickname(auth: &serde_json::Value) -> String {
    let name: String = auth
        .get("nickname")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .trim()
        .chars()
        .take(MAX_NICKNAME)
        .collect();
    if name.is_empty() {
        "anonymous".into()
    } else {
        name
    }
}

/// The HTTP service: Socket.IO on its path, the page and the client script, 404 otherwise.
async fn route(io: Io, request: Request<Incoming>, remote: SocketAddr) -> Response<Full<Bytes>> {
    if io.engine().matches(&request) {
        return io.handle(request, Some(remote)).await;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET here\n");
    }
    match request.uri().path() {
        "/" | "/index.html" => match client_script().try_exists() {
            Ok(true) => respond(StatusCode::OK, "text/html; charset=utf-8", PAGE.into()),
            _ => missing_client_page(),
        },
        "/socket.io.min.js" => match tokio::fs::read(client_script()).await {
            Ok(script) => respond(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                script.into(),
            ),
            Err(error) => text(
                StatusCode::NOT_FOUND,
                &format!(
                    "cannot read {}: {error}\nrun `npm ci` at the repository root\n",
                    client_script().display()
                ),
            ),
        },
        "/favicon.ico" => respond(StatusCode::NO_CONTENT, "image/x-icon", Bytes::new()),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().expect("valid"));
    response
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    respond(
        status,
        "text/plain; charset=utf-8",
        Bytes::copy_from_slice(body.as_bytes()),
    )
}

/// The page shown instead of the chat when `npm ci` was not run.
fn missing_client_page() -> Response<Full<Bytes>> {
    let script = client_script();
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>oxio chat: client missing</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">\
         <h1>The Socket.IO browser client is missing</h1>\
         <p>This page loads the client from the npm package <code>socket.io-client</code>, \
         and <code>{}</code> does not exist.</p>\
         <p>Install it once, then reload:</p><pre>cd {}\nnpm ci</pre></body>",
        escape(&script.display().to_string()),
        escape(&repo_root().display().to_string()),
    );
    respond(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=utf-8",
        html.into(),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing::Level::INFO.into())
                .from_env_lossy(),
        )
        .init();
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "PORT must be a number")
        })?,
        Err(_) => 3000,
    };

    let io = Io::new(IoConfig::default());
    let chat = io.of("/");
    let handle = chat.clone();
    chat.on_connection(move |socket| on_connection(&handle, socket));

    let listener = match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
        Ok(listener) => listener,
        Err(error) => {
            let message =
                format!("cannot listen on 127.0.0.1:{port}: {error} (PORT=<n> picks another port)");
            return Err(std::io::Error::new(error.kind(), message));
        }
    };
    tracing::info!("chat on http://{}/", listener.local_addr()?);
    if !client_script().exists() {
        tracing::warn!(
            "{} is missing: run `npm ci` at the repository root, or the page cannot connect",
            client_script().display()
        );
    }

    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => break,
        };
        let io = io.clone();
        let service = service_fn(move |request| {
            let io = io.clone();
            async move { Ok::<_, Infallible>(route(io, request, remote).await) }
        });
        tokio::spawn(async move {
            // `with_upgrades`: the websocket transport takes the connection over.
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!(%error, "http connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down");
    io.shutdown().await;
    Ok(())
}
