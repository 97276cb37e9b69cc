//! Per-socket hooks with socket.io-client: `on_any` (every incoming event, before the packet
//! middlewares and its handler),
//! `on_any_outgoing` (the socket's own emits, not acks nor broadcasts), `use_packet` middlewares
//! (a rejected event reaches neither its handler nor the client; `on_error` gets the message; a
//! handler a middleware registers gets the event that middleware let through).

mod support;

use oxio_server::{Args, Io};
use serde_json::{Value, json};
use support::{Mode, TestIo, assert_no_panics, io_config, per_mode, run_node};

async fn start() -> TestIo {
    TestIo::start(io_config(), |io: &Io, log| {
        let (io, log) = (io.clone(), log.clone());
        io.clone().of("/").on_connection(move |socket| {
            log.record_connection(&socket);
            let any = log.clone();
            socket.on_any(move |_socket, event, payload| {
                any.push(json!({"kind": "any", "event": event, "args": payload.to_values()}));
            });
            let outgoing = log.clone();
            socket.on_any_outgoing(move |_socket, event, args| {
                outgoing.push(json!({"kind": "outgoing", "event": event, "len": args.len()}));
            });
            socket.use_packet(|socket, event, payload| match event {
                "forbidden" => Err("forbidden event".to_owned()),
                "checked" if payload.get::<i64>(0).ok() != Some(1) => Err("bad arg".to_owned()),
                "late" => {
                    // Registered by the middleware itself: as in Node, the handler is looked up
                    // after the middlewares ran, so this very event reaches it.
                    socket.on("late", |_socket, _payload, ack| {
                        if let Some(ack) = ack {
                            ack.send(&"late-acked").expect("ack");
                        }
                    });
                    Ok(())
                }
                _ => Ok(()),
            });
            let errors = log.clone();
            socket.on_error(move |socket, message| {
                errors.push(json!({"kind": "error", "message": message}));
                socket.emit("error-seen", message).expect("emit error-seen");
            });
            for event in ["hello", "forbidden", "checked", "sync"] {
                let (handled, io) = (log.clone(), io.clone());
                socket.on(event, move |socket, payload, ack| {
                    handled.push(
                        json!({"kind": "handler", "event": event, "args": payload.to_values()}),
                    );
                    match event {
                        "hello" => socket.emit("hello-back", &1).expect("emit"),
                        "checked" => socket.emit("checked-ok", &true).expect("emit"),
                        "sync" => {
                            // Neither broadcasts nor volatile drops change what on_any_outgoing sees
                            // (Node: broadcasts are not reported, volatile emits are).
                            io.emit("bcast", &0).expect("broadcast");
                            socket
                                .emit_args("two", Args::new().arg(&1).arg(&2))
                                .expect("emit");
                            socket
                                .emit_volatile("vol", Args::one(&3))
                                .expect("volatile");
                        }
                        _ => {}
                    }
                    if let Some(ack) = ack {
                        ack.send(&format!("{event}-acked")).expect("ack");
                    }
                });
            }
        });
    })
    .await
}

fn entries(events: &[(&str, Value)]) -> Vec<Value> {
    events
        .iter()
        .map(|(event, args)| json!({"kind": "any", "event": event, "args": args}))
        .collect()
}

async fn packet_hooks(mode: Mode) {
    let server = start().await;
    let events = run_node("hooks", &server, mode, &[]).await;
    events.assert_transport(mode);

    let ack = |case: &str| events.one_with("ack", "case", case)["answer"].clone();
    assert_eq!(ack("hello"), json!(["hello-acked"]));
    assert_eq!(ack("checked-1"), json!(["checked-acked"]));
    assert_eq!(ack("sync"), json!(["sync-acked"]));
    assert_eq!(ack("late"), json!(["late-acked"]));
    let error = |case: &str| events.one_with("error", "case", case)["args"].clone();
    assert_eq!(error("forbidden"), json!(["forbidden event"]));
    assert_eq!(error("checked-2"), json!(["bad arg"]));

    // Rejected events never reach their handler.
    let handlers: Vec<Value> = server.log.of_kind("handler");
    assert_eq!(
        handlers,
        [
            json!({"kind": "handler", "event": "hello", "args": [1]}),
            json!({"kind": "handler", "event": "checked", "args": [1]}),
            json!({"kind": "handler", "event": "sync", "args": []}),
        ]
    );
    assert_eq!(
        server.log.of_kind("error"),
        [
            json!({"kind": "error", "message": "forbidden event"}),
            json!({"kind": "error", "message": "bad arg"}),
        ]
    );
    // As Node's `onAny`: every incoming event, before the packet middlewares (so the rejected
    // ones too) and whether or not it has a handler.
    let placeholder = json!({"_placeholder": true, "num": 0});
    assert_eq!(
        server.log.of_kind("any"),
        entries(&[
            ("hello", json!([1])),
            ("forbidden", json!([2])),
            ("checked", json!([2])),
            ("checked", json!([1])),
            ("unhandled", json!([3, placeholder])),
            ("sync", json!([])),
            ("late", json!([])),
        ])
    );
    assert_eq!(
        server.log.of_kind("outgoing"),
        [
            "hello-back",
            "error-seen",
            "error-seen",
            "checked-ok",
            "two",
            "vol"
        ]
        .iter()
        .zip([1, 1, 1, 1, 2, 1])
        .map(|(event, len)| json!({"kind": "outgoing", "event": event, "len": len}))
        .collect::<Vec<_>>()
    );

    // What the client got, in order: no event for the rejected ones but the errors.
    let received = events.one("received")["events"].clone();
    let received: Vec<Value> = received
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[0] != "vol")
        .cloned()
        .collect();
    assert_eq!(
        received,
        [
            json!(["hello-back", 1]),
            json!(["error-seen", "forbidden event"]),
            json!(["error-seen", "bad arg"]),
            json!(["checked-ok", true]),
            json!(["bcast", 0]),
            json!(["two", 1, 2]),
        ]
    );
    let id = &server.log.connections("/")[0];
    assert_eq!(
        server.log.wait_disconnect(id).await,
        ["client namespace disconnect"]
    );
    assert_no_panics();
}

per_mode!(packet_hooks);
