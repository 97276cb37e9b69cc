//! Events both ways with socket.io-client: JSON arguments, binary arguments (the client's Buffers
//! echoed with `Payload::to_args`, and `Args::binary` built by the server), several arguments, and
//! ordering.

mod support;

use bytes::Bytes;
use oxio_server::{Args, Io};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, bin, hex, io_config, pattern, per_mode, run_node};

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let log = log.clone();
        io.of("/").on_connection(move |socket| {
            log.record_connection(&socket);
            socket.on("echo", |socket, payload, _ack| {
                socket
                    .emit_args("echo", payload.to_args())
                    .expect("emit echo");
            });
            let inspect = log.clone();
            socket.on("inspect", move |socket, payload, _ack| {
                let details = json!({
                    "len": payload.len(),
                    "raw": (0..payload.len()).map(|i| payload.raw(i)).collect::<Vec<_>>(),
                    "first": payload.get::<String>(0).expect("a string"),
                    "last": payload.get::<u64>(3).expect("a number"),
                    "binary": (0..payload.len())
                        .map(|i| payload.binary(i).map(|b| hex(b)))
                        .collect::<Vec<_>>(),
                    "attachments": payload.attachments().iter().map(|b| hex(b)).collect::<Vec<_>>(),
                    "values": payload.to_values(),
                });
                inspect.push(json!({"kind": "inspect", "details": details}));
                socket.emit("inspected", &details).expect("emit inspected");
            });
            socket.on("gift-please", |socket, _payload, _ack| {
                let args = Args::new()
                    .arg("text")
                    .binary(Bytes::from_static(&[0, 1, 2, 255]))
                    .arg(&json!({"a": [1, 2], "b": null}))
                    .binary(Bytes::from(pattern(2000)))
                    .arg(&-7);
                socket.emit_args("gift", args).expect("emit gift");
            });
        });
    })
    .await
}

async fn events_both_ways(mode: Mode) {
    let server = start().await;
    let events = run_node("events", &server, mode, &[]).await;
    events.assert_transport(mode);
    let echo = |case: &str| events.one_with("echo", "case", case)["args"].clone();

    assert_eq!(
        echo("json"),
        json!([1, "two", {"three": [3, "drei"], "ü": null}, [true, false], -1.5])
    );
    assert_eq!(echo("unicode"), json!(["héllo ✓ 🦀", {"clé 🔑": "välue"}]));
    assert_eq!(echo("none"), json!([]));
    assert_eq!(
        echo("binary"),
        json!([bin(&[1, 2, 3]), {"nested": bin(&[4, 5]), "list": [bin(&[6])]}, "tail"])
    );
    assert_eq!(echo("large-binary"), json!([bin(&pattern(3000))]));
    assert_eq!(echo("empty-binary"), json!([bin(&[]), "after"]));

    // What the handler saw of the client's binary event (and sent back as JSON).
    let placeholder = |num: usize| json!({"_placeholder": true, "num": num});
    let details = json!({
        "len": 4,
        "raw": [
            "\"a\"",
            "{\"_placeholder\":true,\"num\":0}",
            "{\"x\":{\"_placeholder\":true,\"num\":1}}",
            "42",
        ],
        "first": "a",
        "last": 42,
        "binary": [null, "090807", null, null],
        "attachments": ["090807", "ff"],
        "values": ["a", placeholder(0), {"x": placeholder(1)}, 42],
    });
    assert_eq!(
        server.log.of_kind("inspect"),
        [json!({"kind": "inspect", "details": details})]
    );
    assert_eq!(events.one("inspected")["args"], json!([details]));

    assert_eq!(
        events.one("gift")["args"],
        json!([
            "text",
            bin(&[0, 1, 2, 255]),
            {"a": [1, 2], "b": null},
            bin(&pattern(2000)),
            -7,
        ])
    );

    let burst: Vec<Value> = (0..30u8)
        .map(|i| {
            if i % 3 == 0 {
                json!([i, bin(&[i])])
            } else {
                json!([i, format!("n{i}")])
            }
        })
        .collect();
    assert_eq!(events.one("burst")["args"], Value::Array(burst));
    assert_no_panics();
}

per_mode!(events_both_ways);
