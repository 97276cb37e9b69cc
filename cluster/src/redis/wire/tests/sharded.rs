//! The sharded adapter's envelope, against the captures of the protocol notes (§3.2).

use std::time::Duration;

use oxio_protocol::engine_io::Utf8Bytes;

use super::super::{
    ClusterBody, ClusterMessage, WireError, decode_cluster_message, encode_cluster_message,
};
use super::{bin, dump};
use crate::remote::{BroadcastFlags, BroadcastOptions, RemoteData, SocketInfo};

fn data(json: &str) -> RemoteData {
    RemoteData::json(Utf8Bytes::from(json.to_owned()))
}

fn msg(uid: &str, body: ClusterBody) -> ClusterMessage {
    ClusterMessage {
        uid: uid.into(),
        nsp: Some("/".into()),
        body,
    }
}

#[track_caller]
fn both_ways(bytes: &[u8], expected: ClusterMessage) {
    assert_eq!(decode_cluster_message(bytes), Ok(expected.clone()));
    assert_eq!(encode_cluster_message(&expected).unwrap().as_ref(), bytes);
}

#[test]
fn captured_json_broadcast() {
    both_ways(
        br#"{"type":3,"data":{"packet":{"type":2,"data":["hello","world",1,1.5,{"a":true,"n":null}]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"1fb84a6e6d2562c7","nsp":"/"}"#,
        msg(
            "1fb84a6e6d2562c7",
            ClusterBody::Broadcast {
                data: data(r#"["hello","world",1,1.5,{"a":true,"n":null}]"#),
                opts: BroadcastOptions::default(),
                request_id: None,
            },
        ),
    );
}

#[test]
fn captured_client_count() {
    both_ways(
        br#"{"type":11,"data":{"requestId":"bfa4bd41af7d959e","clientCount":1},"uid":"6e96c75eee97f2ba","nsp":"/"}"#,
        msg(
            "6e96c75eee97f2ba",
            ClusterBody::BroadcastClientCount {
                request_id: "bfa4bd41af7d959e".into(),
                client_count: 1,
            },
        ),
    );
}

#[test]
fn captured_binary_broadcast_to_a_room() {
    let bytes = dump(
        "84 a4\"type\" 03 a4\"data\" 82 a6\"packet\" 82 a4\"type\" 02 a4\"data\" 92 a3\"bin\" c4 03 01 02 03 \
         a4\"opts\" 83 a5\"rooms\" 91 a5\"room1\" a6\"except\" 90 a5\"flags\" 80 \
         a3\"uid\" b0\"1fb84a6e6d2562c7\" a3\"nsp\" a1\"/\"",
    );
    both_ways(
        &bytes,
        msg(
            "1fb84a6e6d2562c7",
            ClusterBody::Broadcast {
                data: RemoteData {
                    json: Utf8Bytes::from(r#"["bin",{"_placeholder":true,"num":0}]"#.to_owned()),
                    attachments: vec![bin(&[1, 2, 3])],
                },
                opts: BroadcastOptions {
                    rooms: vec!["room1".into()],
                    ..BroadcastOptions::default()
                },
                request_id: None,
            },
        ),
    );
}

#[test]
fn every_type_round_trips() {
    let o = BroadcastOptions {
        rooms: vec!["r".into()],
        except: vec!["x".into()],
        flags: BroadcastFlags {
            volatile: true,
            compress: Some(true),
            timeout: Some(Duration::from_millis(5000)),
        },
    };
    let with_bin = RemoteData {
        json: Utf8Bytes::from(r#"["e",{"_placeholder":true,"num":0}]"#.to_owned()),
        attachments: vec![bin(b"\x00\xff")],
    };
    let socket = SocketInfo {
        id: "s".into(),
        rooms: vec!["s".into()],
        data: serde_json::json!(null),
        handshake: serde_json::json!({"headers": {}, "xdomain": false}),
    };
    let bodies = [
        (ClusterBody::InitialHeartbeat, false),
        (ClusterBody::Heartbeat, false),
        (ClusterBody::AdapterClose, false),
        (
            ClusterBody::Broadcast {
                data: data(r#"["e"]"#),
                opts: o.clone(),
                request_id: Some("q".into()),
            },
            false,
        ),
        (
            ClusterBody::Broadcast {
                data: with_bin.clone(),
                opts: o.clone(),
                request_id: None,
            },
            true,
        ),
        (
            ClusterBody::SocketsJoin {
                opts: o.clone(),
                rooms: vec!["a".into()],
            },
            false,
        ),
        (
            ClusterBody::SocketsLeave {
                opts: o.clone(),
                rooms: vec![],
            },
            false,
        ),
        (
            ClusterBody::DisconnectSockets {
                opts: o.clone(),
                close: true,
            },
            false,
        ),
        (
            ClusterBody::FetchSockets {
                opts: o.clone(),
                request_id: "q".into(),
            },
            false,
        ),
        (
            ClusterBody::FetchSocketsResponse {
                request_id: "q".into(),
                sockets: vec![socket],
            },
            false,
        ),
        (
            ClusterBody::ServerSideEmit {
                data: data(r#"["e",1]"#),
                request_id: None,
            },
            false,
        ),
        (
            ClusterBody::ServerSideEmit {
                data: with_bin.clone(),
                request_id: Some("q".into()),
            },
            true,
        ),
        (
            ClusterBody::ServerSideEmitResponse {
                request_id: "q".into(),
                data: data("null"),
            },
            false,
        ),
        (
            ClusterBody::ServerSideEmitResponse {
                request_id: "q".into(),
                data: with_bin.clone(),
            },
            true,
        ),
        (
            ClusterBody::BroadcastClientCount {
                request_id: "q".into(),
                client_count: 7,
            },
            false,
        ),
        (
            ClusterBody::BroadcastAck {
                request_id: "q".into(),
                data: data(r#"{"ok":1}"#),
            },
            false,
        ),
        (
            ClusterBody::BroadcastAck {
                request_id: "q".into(),
                data: with_bin,
            },
            true,
        ),
    ];
    for (body, msgpack) in bodies {
        let m = msg("0123456789abcdef", body);
        let bytes = encode_cluster_message(&m).unwrap();
        assert_eq!(bytes[0] != b'{', msgpack, "{m:?}");
        assert_eq!(decode_cluster_message(&bytes), Ok(m));
    }
}

#[test]
fn key_orders_of_node() {
    let m = msg(
        "u",
        ClusterBody::Broadcast {
            data: data(r#"["e"]"#),
            opts: BroadcastOptions::default(),
            request_id: Some("q".into()),
        },
    );
    assert_eq!(
        encode_cluster_message(&m).unwrap().as_ref(),
        br#"{"type":3,"data":{"packet":{"type":2,"data":["e"]},"requestId":"q","opts":{"rooms":[],"except":[],"flags":{}}},"uid":"u","nsp":"/"}"#
    );
    let m = msg(
        "u",
        ClusterBody::ServerSideEmit {
            data: data(r#"["e"]"#),
            request_id: Some("q".into()),
        },
    );
    assert_eq!(
        encode_cluster_message(&m).unwrap().as_ref(),
        br#"{"type":9,"data":{"requestId":"q","packet":["e"]},"uid":"u","nsp":"/"}"#
    );
    let m = msg("u", ClusterBody::Heartbeat);
    assert_eq!(
        encode_cluster_message(&m).unwrap().as_ref(),
        br#"{"type":2,"uid":"u","nsp":"/"}"#
    );
}

#[test]
fn bad_and_unknown_messages() {
    assert_eq!(
        decode_cluster_message(br#"{"type":99,"uid":"u"}"#),
        Err(WireError::UnknownType(99))
    );
    assert_eq!(
        decode_cluster_message(br#"{"type":0,"uid":"u"}"#),
        Err(WireError::UnknownType(0))
    );
    assert_eq!(
        decode_cluster_message(br#"{"type":3,"uid":"u"}"#),
        Err(WireError::MissingField("data"))
    );
    assert!(
        decode_cluster_message(br#"{"type":3,"data":{"packet":{"type":2,"data":[]}},"uid":"u"}"#)
            .is_err()
    );
    assert!(decode_cluster_message(br#"{"type":7,"data":{"opts":{}},"uid":"u"}"#).is_err());
    assert!(decode_cluster_message(br#"{"type":9,"data":{"packet":"x"},"uid":"u"}"#).is_err());
    assert!(
        decode_cluster_message(br#"{"type":11,"data":{"requestId":"q","clientCount":1.5}}"#)
            .is_err()
    );
    assert!(decode_cluster_message(b"").is_err());
    assert!(decode_cluster_message(b"\x93\x01\x02\x03").is_err());
    // Missing uid and nsp are tolerated.
    let m = decode_cluster_message(br#"{"type":2}"#).unwrap();
    assert_eq!((m.uid.as_str(), m.nsp), ("", None));
}
