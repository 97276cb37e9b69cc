//! Connection state recovery end to end, with the real socket.io-client.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use oxio_server::{Io, IoConfig, RecoveryConfig};
use parking_lot::Mutex;

fn node_script(name: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    assert!(
        std::path::Path::new(&format!("{root}/node_modules/socket.io-client")).exists(),
        "socket.io-client is missing: run `npm ci` at the repository root"
    );
    format!("{}/tests/node/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the scenario with the client on `mode` (`polling`, `websocket` or `upgrade`).
async fn a_reconnecting_client_gets_its_id_rooms_and_missed_broadcasts(mode: &'static str) {
    let io = Io::new(IoConfig::default().connection_state_recovery(RecoveryConfig::default()));
    let recovered_flags = Arc::new(Mutex::new(Vec::new()));
    let (server, flags) = (io.clone(), recovered_flags.clone());
    io.of("/").on_connection(move |socket| {
        flags.lock().push(socket.recovered());
        if !socket.recovered()
            && let Some(room) = socket.handshake().auth.get("room").and_then(|r| r.as_str())
        {
            socket.join([room]);
        }
        let io = server.clone();
        socket.on("bcast", move |_socket, payload, _ack| {
            let _ = io.emit_args("msg", payload.to_args());
        });
        let io = server.clone();
        socket.on("room", move |_socket, payload, _ack| {
            let room: String = payload.get(0).expect("room name");
            let data: serde_json::Value = payload.get(1).expect("data");
            let _ = io.to(room).emit("msg", &data);
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let serving = io.clone();
    tokio::spawn(async move { serving.serve(listener).await });

    let script = node_script("recovery.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script.as_str(), url.as_str(), mode])
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
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(result["firstRecovered"], false);
    assert_eq!(result["recovered"], true, "{result}");
    assert_eq!(result["sameId"], true);
    // Each broadcast carries its offset as an extra last argument; the script records the first.
    assert_eq!(
        result["received"],
        serde_json::json!(["before", "missed-all", "missed-room-a"]),
        "missed broadcasts, in order, only for the client's rooms"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(*recovered_flags.lock(), vec![false, false, true]);
    io.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_over_websocket() {
    a_reconnecting_client_gets_its_id_rooms_and_missed_broadcasts("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_over_polling() {
    a_reconnecting_client_gets_its_id_rooms_and_missed_broadcasts("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_with_upgrade() {
    a_reconnecting_client_gets_its_id_rooms_and_missed_broadcasts("upgrade").await;
}
