//! The classic adapter's messages, against the captures of the protocol notes (§2.4, §2.5, §4, §5).

use std::time::Duration;

use oxio_protocol::engine_io::Utf8Bytes;

use super::super::{
    ClassicBroadcast, ClassicRequest, ClassicResponse, DisconnectTarget, MembershipTarget,
    RequestKind, ResponseBody, WireError, decode_classic_broadcast, decode_classic_request,
    decode_classic_response, encode_classic_broadcast, encode_classic_request,
    encode_classic_response,
};
use super::{bin, dump};
use crate::remote::{BroadcastFlags, BroadcastOptions, RemoteData, SocketInfo};

fn data(json: &str) -> RemoteData {
    RemoteData::json(Utf8Bytes::from(json.to_owned()))
}

fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms.iter().map(|r| (*r).into()).collect(),
        except: except.iter().map(|r| (*r).into()).collect(),
        flags: BroadcastFlags::default(),
    }
}

const BIN_TO_ROOM: &str = "93 a6\"D-ZMLx\" \
    83 a4\"type\" 02 a4\"data\" 92 a3\"bin\" c4 03 01 02 03 a3\"nsp\" a1\"/\" \
    83 a5\"rooms\" 91 a5\"room1\" a6\"except\" 90 a5\"flags\" 80";

#[test]
fn binary_broadcast_to_a_room() {
    let bytes = dump(BIN_TO_ROOM);
    let b = decode_classic_broadcast(&bytes).unwrap();
    let expected = ClassicBroadcast {
        uid: Some("D-ZMLx".into()),
        nsp: Some("/".into()),
        data: RemoteData {
            json: Utf8Bytes::from(r#"["bin",{"_placeholder":true,"num":0}]"#.to_owned()),
            attachments: vec![bin(&[1, 2, 3])],
        },
        opts: opts(&["room1"], &[]),
    };
    assert_eq!(b, expected);
    let again = encode_classic_broadcast("D-ZMLx", "/", &b.data, &b.opts).unwrap();
    assert_eq!(again.as_ref(), bytes.as_slice());
}

#[test]
fn broadcast_with_flags() {
    let mut o = opts(&["room1"], &[]);
    o.flags.volatile = true;
    o.flags.compress = Some(false);
    let d = RemoteData {
        json: Utf8Bytes::from(r#"["bin",{"_placeholder":true,"num":0}]"#.to_owned()),
        attachments: vec![bin(&[1, 2, 3])],
    };
    let bytes = encode_classic_broadcast("D-ZMLx", "/", &d, &o).unwrap();
    let expected = BIN_TO_ROOM.replace(
        "a5\"flags\" 80",
        "a5\"flags\" 82 a8\"volatile\" c3 a8\"compress\" c2",
    );
    assert_eq!(bytes.as_ref(), dump(&expected).as_slice());
    assert_eq!(decode_classic_broadcast(&bytes).unwrap().opts, o);
    // A timeout is written in ms.
    o.flags.timeout = Some(Duration::from_millis(1000));
    let bytes = encode_classic_broadcast("U", "/", &data("[\"e\"]"), &o).unwrap();
    assert!(bytes.ends_with(&dump("a7\"timeout\" cd 03 e8")));
    assert_eq!(decode_classic_broadcast(&bytes).unwrap().opts, o);
}

#[test]
fn emitter_capture() {
    let bytes = dump(
        "93 a7\"emitter\" 83 a4\"type\" 02 a4\"data\" 92 a3\"em2\" 81 a1\"k\" a1\"v\" a3\"nsp\" a1\"/\" \
         83 a5\"rooms\" 91 a5\"room1\" a5\"flags\" 81 a8\"volatile\" c3 a6\"except\" 91 a5\"room2\"",
    );
    let b = decode_classic_broadcast(&bytes).unwrap();
    assert_eq!(b.uid.as_deref(), Some("emitter"));
    assert_eq!(b.data, data(r#"["em2",{"k":"v"}]"#));
    let mut o = opts(&["room1"], &["room2"]);
    o.flags.volatile = true;
    assert_eq!(b.opts, o);
}

#[test]
fn legacy_emitter_3_2_capture() {
    let bytes = dump(
        "93 a7\"emitter\" 83 a4\"type\" 02 a4\"data\" 91 a7\"legacy2\" a3\"nsp\" a6\"/admin\" \
         82 a5\"rooms\" 90 a5\"flags\" 80",
    );
    let b = decode_classic_broadcast(&bytes).unwrap();
    assert_eq!(b.nsp.as_deref(), Some("/admin"));
    assert_eq!(b.data, data(r#"["legacy2"]"#));
    assert_eq!(b.opts, opts(&[], &[]));
}

#[test]
fn older_broadcast_forms() {
    // Legacy 2-array [packet, opts], BINARY_EVENT type, no nsp, numeric rooms, old flags.
    let bytes = dump(
        "92 82 a4\"type\" 05 a4\"data\" 92 a1\"e\" c4 01 ff \
         82 a5\"rooms\" 92 7b a1\"r\" a5\"flags\" 83 a4\"json\" c3 a9\"broadcast\" c3 a8\"volatile\" c3",
    );
    let b = decode_classic_broadcast(&bytes).unwrap();
    assert_eq!(b.uid, None);
    assert_eq!(b.nsp, None);
    assert_eq!(b.data.attachments, vec![bin(&[0xff])]);
    let mut o = opts(&["123", "r"], &[]);
    o.flags.volatile = true;
    assert_eq!(b.opts, o);
    // A JSON parser's output.
    let json = br#"["D-ZMLx",{"type":2,"data":["a",1.5],"nsp":"/x"},{"rooms":[],"except":["s"]}]"#;
    let b = decode_classic_broadcast(json).unwrap();
    assert_eq!(b.data, data(r#"["a",1.5]"#));
    assert_eq!(b.opts, opts(&[], &["s"]));
}

#[test]
fn broadcasts_missing_parts_are_refused() {
    for hex in [
        "92 a1\"x\" 80",                                   // packet is no map
        "93 a1\"u\" 82 a4\"type\" 02 a4\"data\" 90 c0",    // opts is null
        "93 a1\"u\" 81 a4\"type\" 02 80",                  // no data
        "93 a1\"u\" 82 a4\"type\" 03 a4\"data\" 90 80",    // an ACK packet
        "94 a1\"u\" 82 a4\"type\" 02 a4\"data\" 90 80 80", // four elements
        "81 a1\"a\" 01",                                   // not an array
    ] {
        assert!(decode_classic_broadcast(&dump(hex)).is_err(), "{hex}");
    }
    assert!(decode_classic_broadcast(b"hello").is_err());
    assert!(decode_classic_broadcast(br#"{"a":1}"#).is_err());
}

const BROADCAST_REQUEST: &str = "85 a3\"uid\" a6\"D-ZMLx\" a9\"requestId\" a6\"ev7mxj\" a4\"type\" 07 \
    a6\"packet\" 83 a4\"type\" 02 a4\"data\" 92 a5\"ackme\" 2a a3\"nsp\" a1\"/\" \
    a4\"opts\" 83 a5\"rooms\" 90 a6\"except\" 90 a5\"flags\" 81 a7\"timeout\" cd 03 e8";

#[test]
fn broadcast_request_bytes() {
    let bytes = dump(BROADCAST_REQUEST);
    let r = decode_classic_request(&bytes).unwrap();
    let mut o = opts(&[], &[]);
    o.flags.timeout = Some(Duration::from_millis(1000));
    let expected = ClassicRequest {
        uid: Some("D-ZMLx".into()),
        kind: RequestKind::Broadcast {
            request_id: "ev7mxj".into(),
            nsp: Some("/".into()),
            data: data(r#"["ackme",42]"#),
            opts: o,
        },
    };
    assert_eq!(r, expected);
    assert_eq!(
        encode_classic_request(&r).unwrap().as_ref(),
        bytes.as_slice()
    );
}

#[track_caller]
fn request_both_ways(json: &str, expected: ClassicRequest) {
    assert_eq!(
        decode_classic_request(json.as_bytes()),
        Ok(expected.clone())
    );
    assert_eq!(
        encode_classic_request(&expected).unwrap().as_ref(),
        json.as_bytes()
    );
}

#[test]
fn json_requests() {
    request_both_ways(
        r#"{"uid":"D-ZMLx","requestId":"lJ9GCO","type":5,"opts":{"rooms":["room1"],"except":[]}}"#,
        ClassicRequest {
            uid: Some("D-ZMLx".into()),
            kind: RequestKind::RemoteFetch {
                request_id: "lJ9GCO".into(),
                opts: opts(&["room1"], &[]),
            },
        },
    );
    request_both_ways(
        r#"{"uid":"A","requestId":"r","type":0,"rooms":["x"]}"#,
        ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::Sockets {
                request_id: "r".into(),
                rooms: vec!["x".into()],
            },
        },
    );
    request_both_ways(
        r#"{"uid":"A","requestId":"r","type":1}"#,
        ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::AllRooms {
                request_id: "r".into(),
            },
        },
    );
    // What the emitter sends: no uid, no requestId.
    request_both_ways(
        r#"{"type":2,"opts":{"rooms":["r1"],"except":["r2"]},"rooms":["new"]}"#,
        ClassicRequest {
            uid: None,
            kind: RequestKind::RemoteJoin(MembershipTarget::Sockets {
                opts: opts(&["r1"], &["r2"]),
                rooms: vec!["new".into()],
            }),
        },
    );
    request_both_ways(
        r#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["old"]}"#,
        ClassicRequest {
            uid: None,
            kind: RequestKind::RemoteLeave(MembershipTarget::Sockets {
                opts: opts(&[], &[]),
                rooms: vec!["old".into()],
            }),
        },
    );
    request_both_ways(
        r#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#,
        ClassicRequest {
            uid: None,
            kind: RequestKind::RemoteDisconnect {
                target: DisconnectTarget::Sockets {
                    opts: opts(&[], &[]),
                },
                close: true,
            },
        },
    );
    request_both_ways(
        r#"{"uid":"emitter","type":6,"data":["ev",1,{"a":null}]}"#,
        ClassicRequest {
            uid: Some("emitter".into()),
            kind: RequestKind::ServerSideEmit {
                request_id: None,
                data: data(r#"["ev",1,{"a":null}]"#),
            },
        },
    );
    request_both_ways(
        r#"{"uid":"A","requestId":"q","type":6,"data":["ping"]}"#,
        ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::ServerSideEmit {
                request_id: Some("q".into()),
                data: data(r#"["ping"]"#),
            },
        },
    );
}

#[test]
fn old_form_requests() {
    request_both_ways(
        r#"{"uid":"A","requestId":"r1","type":2,"sid":"s1","room":"room"}"#,
        ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::RemoteJoin(MembershipTarget::Socket {
                request_id: "r1".into(),
                sid: "s1".into(),
                room: "room".into(),
            }),
        },
    );
    request_both_ways(
        r#"{"uid":"A","requestId":"r2","type":4,"sid":"s1","close":false}"#,
        ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::RemoteDisconnect {
                target: DisconnectTarget::Socket {
                    request_id: "r2".into(),
                    sid: "s1".into(),
                },
                close: false,
            },
        },
    );
    // A numeric room; a missing close.
    let r = decode_classic_request(br#"{"requestId":"r","type":3,"sid":"s","room":7}"#).unwrap();
    assert!(
        matches!(r.kind, RequestKind::RemoteLeave(MembershipTarget::Socket { ref room, .. }) if &**room == "7")
    );
    let r = decode_classic_request(br#"{"requestId":"r","type":4,"sid":"s"}"#).unwrap();
    assert!(matches!(
        r.kind,
        RequestKind::RemoteDisconnect { close: false, .. }
    ));
}

#[test]
fn binary_server_side_emit_goes_as_json_like_node() {
    let r = ClassicRequest {
        uid: Some("A".into()),
        kind: RequestKind::ServerSideEmit {
            request_id: None,
            data: RemoteData {
                json: Utf8Bytes::from(r#"["e",{"_placeholder":true,"num":0}]"#.to_owned()),
                attachments: vec![bin(&[1, 2])],
            },
        },
    };
    assert_eq!(
        encode_classic_request(&r).unwrap().as_ref(),
        br#"{"uid":"A","type":6,"data":["e",{"type":"Buffer","data":[1,2]}]}"#
    );
}

#[test]
fn msgpack_requests_are_accepted() {
    let bytes = dump("83 a3\"uid\" a1\"A\" a9\"requestId\" a1\"r\" a4\"type\" 01");
    assert_eq!(
        decode_classic_request(&bytes),
        Ok(ClassicRequest {
            uid: Some("A".into()),
            kind: RequestKind::AllRooms {
                request_id: "r".into()
            },
        })
    );
}

#[test]
fn bad_requests() {
    assert_eq!(
        decode_classic_request(br#"{"type":42}"#),
        Err(WireError::UnknownType(42))
    );
    assert_eq!(
        decode_classic_request(br#"{"type":9,"requestId":"x"}"#),
        Err(WireError::UnknownType(9))
    );
    assert!(
        decode_classic_request(br#"{"type":42}"#)
            .unwrap_err()
            .is_unknown_type()
    );
    // Without opts, REMOTE_FETCH and BROADCAST are refused (a Node node would crash on them).
    assert_eq!(
        decode_classic_request(br#"{"requestId":"r","type":5}"#),
        Err(WireError::MissingField("opts"))
    );
    assert!(
        decode_classic_request(br#"{"requestId":"r","type":7,"packet":{"type":2,"data":[]}}"#)
            .is_err()
    );
    assert_eq!(
        decode_classic_request(br#"{"type":1}"#),
        Err(WireError::MissingField("requestId"))
    );
    assert_eq!(
        decode_classic_request(br#"{"requestId":"r"}"#),
        Err(WireError::MissingField("type"))
    );
    assert_eq!(
        decode_classic_request(br#"{"type":"1"}"#),
        Err(WireError::InvalidField("type"))
    );
    assert!(decode_classic_request(br#"{"type":2,"requestId":"r","sid":"s"}"#).is_err());
    assert!(decode_classic_request(br#"{"type":6,"data":"x"}"#).is_err());
    assert!(decode_classic_request(b"[1]").is_err());
    assert!(decode_classic_request(b"{").is_err());
}

#[track_caller]
fn response_both_ways(bytes: &[u8], expected: ClassicResponse) {
    assert_eq!(decode_classic_response(bytes), Ok(expected.clone()));
    assert_eq!(encode_classic_response(&expected).unwrap().as_ref(), bytes);
}

fn response(id: &str, body: ResponseBody) -> ClassicResponse {
    ClassicResponse {
        request_id: id.into(),
        body,
    }
}

#[test]
fn responses() {
    response_both_ways(
        br#"{"type":6,"requestId":"Qh-ur8","data":"pong-3002"}"#,
        response(
            "Qh-ur8",
            ResponseBody::ServerSideEmitAck(data(r#""pong-3002""#)),
        ),
    );
    response_both_ways(
        &dump("83 a4\"type\" 09 a9\"requestId\" a6\"ev7mxj\" a6\"packet\" ad\"ack-from-3002\""),
        response(
            "ev7mxj",
            ResponseBody::BroadcastAck(data(r#""ack-from-3002""#)),
        ),
    );
    response_both_ways(
        br#"{"type":8,"requestId":"ev7mxj","clientCount":0}"#,
        response("ev7mxj", ResponseBody::BroadcastClientCount(0)),
    );
    response_both_ways(
        br#"{"requestId":"r","rooms":["a","b"]}"#,
        response("r", ResponseBody::Rooms(vec!["a".into(), "b".into()])),
    );
    response_both_ways(
        br#"{"requestId":"r","sockets":["s1","s2"]}"#,
        response("r", ResponseBody::SocketIds(vec!["s1".into(), "s2".into()])),
    );
    response_both_ways(br#"{"requestId":"r"}"#, response("r", ResponseBody::Done));
    response_both_ways(
        br#"{"requestId":"r","sockets":[]}"#,
        response("r", ResponseBody::Sockets(vec![])),
    );
    let socket = SocketInfo {
        id: "sid".into(),
        rooms: vec!["sid".into(), "room1".into()],
        data: serde_json::json!({"n": 1}),
        handshake: serde_json::json!({"address": "::1", "issued": 1700000000000u64}),
    };
    response_both_ways(
        br#"{"requestId":"r","sockets":[{"id":"sid","handshake":{"address":"::1","issued":1700000000000},"rooms":["sid","room1"],"data":{"n":1}}]}"#,
        response("r", ResponseBody::Sockets(vec![socket])),
    );
    // Missing handshake and data are tolerated; an entry without an id is skipped.
    let r = decode_classic_response(br#"{"requestId":"r","sockets":[{"id":"a"},{"rooms":[]}]}"#)
        .unwrap();
    assert_eq!(
        r.body,
        ResponseBody::Sockets(vec![SocketInfo {
            id: "a".into(),
            rooms: vec![],
            data: serde_json::Value::Null,
            handshake: serde_json::Value::Null,
        }])
    );
    // A binary ack goes as msgpack bin.
    let ack = response(
        "x",
        ResponseBody::BroadcastAck(RemoteData {
            json: Utf8Bytes::from(r#"{"_placeholder":true,"num":0}"#.to_owned()),
            attachments: vec![bin(b"z")],
        }),
    );
    let bytes = encode_classic_response(&ack).unwrap();
    assert!(bytes.ends_with(&dump("a6\"packet\" c4 01 \"z\"")));
    assert_eq!(decode_classic_response(&bytes), Ok(ack));
}

#[test]
fn bad_responses() {
    assert_eq!(
        decode_classic_response(br#"{"type":3,"requestId":"r"}"#),
        Err(WireError::UnknownType(3))
    );
    assert_eq!(
        decode_classic_response(br#"{"rooms":[]}"#),
        Err(WireError::MissingField("requestId"))
    );
    assert!(decode_classic_response(br#"{"type":8,"requestId":"r","clientCount":-1}"#).is_err());
    assert!(decode_classic_response(br#"{"requestId":"r","sockets":5}"#).is_err());
}
