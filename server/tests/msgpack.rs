//! The msgpack parser end to end, with socket.io-client and socket.io-msgpack-parser, over each
//! transport.

use std::process::Command;

use bytes::Bytes;
use oxio_server::{Args, Io, IoConfig, Parser};

async fn run(transport: &str) -> serde_json::Value {
    let io = Io::new(IoConfig::default().parser(Parser::Msgpack));
    io.of("/").on_connection(|socket| {
        let _ = socket.emit("auth", &socket.handshake().auth);
        socket.on("echo", |_socket, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send_args(payload.to_args());
            }
        });
        socket.on("push-me", |socket, _payload, _ack| {
            let args = Args::new().arg("text").binary(Bytes::from_static(&[9, 8]));
            let _ = socket.emit_args("push", args);
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let serving = io.clone();
    tokio::spawn(async move { serving.serve(listener).await });

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    assert!(
        std::path::Path::new(&format!("{root}/node_modules/socket.io-msgpack-parser")).exists(),
        "socket.io-msgpack-parser is missing: run `npm ci` at the repository root"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/msgpack.mjs");
    let transport = transport.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script, &url, &transport])
            .output()
            .expect("node runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    io.shutdown().await;
    serde_json::from_str(stdout.trim()).expect("one JSON line")
}

fn check(result: serde_json::Value) {
    assert_eq!(result["auth"], serde_json::json!({"token": "abc"}));
    assert_eq!(
        result["echoed"],
        serde_json::json!([{"n": 1.5, "s": "é"}, [1, 2, 3]])
    );
    assert_eq!(result["pushed"], serde_json::json!(["text", [9, 8]]));
    assert_eq!(result["customError"], "Invalid namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_over_websocket() {
    check(run("websocket").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_over_polling() {
    check(run("polling").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_with_upgrade() {
    check(run("upgrade").await);
}
