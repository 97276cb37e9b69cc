//! Compatibility with Node: the exact text Node's `socket.io-parser` (4.2.7) `Encoder` produced for
//! each packet below (checked by running it), encoded here and decoded back.
//!
//! The Node call is given with each vector; `sid` values are examples.

use bytes::Bytes;

use super::{NO_ARGS, complete, decode, raw, written};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{
    Decoded, Packet, PacketType as T, encode_ack, encode_binary_ack, encode_binary_event,
    encode_connect, encode_connect_error, encode_disconnect, encode_event,
};

/// `{type: EVENT, nsp: "/", data: ["hello", 1, "2", {a: 3}]}`: `socket.emit("hello", 1, "2", {a: 3})`
const EMIT: &str = r#"2["hello",1,"2",{"a":3}]"#;
/// The same on `/admin`, asking for an ack with id 12.
const EMIT_ADMIN_ACK: &str = r#"2/admin,12["hello",1,"2",{"a":3}]"#;
/// `socket.emit("bin", Buffer.from([1, 2]), Buffer.from([3]))`: the text, then 2 binary messages.
const BINARY: &str = r#"52-["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
/// `emit("bin", {x: Buffer.from([1, 2])}, [Buffer.from([3])])` on `/admin` with ack id 7.
const BINARY_NESTED: &str =
    r#"52-/admin,7["bin",{"x":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}]]"#;
/// The client's CONNECT with `auth: {token: "abc"}`, on `/` and on `/admin`; without auth on `/admin`.
const CONNECT_AUTH: &str = r#"0{"token":"abc"}"#;
const CONNECT_AUTH_ADMIN: &str = r#"0/admin,{"token":"abc"}"#;
const CONNECT_ADMIN: &str = "0/admin,";
/// The server's CONNECT reply.
const CONNECT_SID: &str = r#"0{"sid":"Dx5kqLy3NmTA8OV6AAAB"}"#;
/// `{type: CONNECT_ERROR, data: {message: "not authorized", data: {code: 1}}}`.
const CONNECT_ERROR: &str = r#"4{"message":"not authorized","data":{"code":1}}"#;
/// The server's refusal of an unknown namespace (no `data`).
const CONNECT_ERROR_NSP: &str = r#"4/admin,{"message":"Invalid namespace"}"#;
/// `{type: ACK, id: 1, data: ["ok", 2]}`, and an empty ack of id 13 on `/admin`.
const ACK: &str = r#"31["ok",2]"#;
const ACK_EMPTY_ADMIN: &str = "3/admin,13[]";
/// `{type: ACK, id: 5, data: [Buffer.from([9])]}`.
const BINARY_ACK: &str = r#"61-5[{"_placeholder":true,"num":0}]"#;
/// `{type: DISCONNECT, nsp: "/admin"}`, and on `/`.
const DISCONNECT_ADMIN: &str = "1/admin,";
const DISCONNECT: &str = "1";
/// `emit("é\"\\\n\u0001\u2028/")`: JSON.stringify escapes `"`, `\`, control characters, nothing else.
const ESCAPED: &str = "2[\"é\\\"\\\\\\n\\u0001\u{2028}/\"]";

#[test]
fn encoder_output_matches_node() {
    let args = [raw("1"), raw(r#""2""#), raw(r#"{"a":3}"#)];
    assert_eq!(
        written(|o| encode_event(o, "/", None, "hello", &args)),
        EMIT
    );
    assert_eq!(
        written(|o| encode_event(o, "/admin", Some(12), "hello", &args)),
        EMIT_ADMIN_ACK
    );
    let placeholders = [
        raw(r#"{"_placeholder":true,"num":0}"#),
        raw(r#"{"_placeholder":true,"num":1}"#),
    ];
    assert_eq!(
        written(|o| encode_binary_event(o, "/", None, "bin", &placeholders, 2)),
        BINARY
    );
    let nested = [
        raw(r#"{"x":{"_placeholder":true,"num":0}}"#),
        raw(r#"[{"_placeholder":true,"num":1}]"#),
    ];
    assert_eq!(
        written(|o| encode_binary_event(o, "/admin", Some(7), "bin", &nested, 2)),
        BINARY_NESTED
    );
    let auth = raw(r#"{"token":"abc"}"#);
    assert_eq!(
        written(|o| encode_connect(o, "/", Some(auth))),
        CONNECT_AUTH
    );
    assert_eq!(
        written(|o| encode_connect(o, "/admin", Some(auth))),
        CONNECT_AUTH_ADMIN
    );
    assert_eq!(
        written(|o| encode_connect(o, "/admin", None)),
        CONNECT_ADMIN
    );
    let sid = raw(r#"{"sid":"Dx5kqLy3NmTA8OV6AAAB"}"#);
    assert_eq!(written(|o| encode_connect(o, "/", Some(sid))), CONNECT_SID);
    let code = raw(r#"{"code":1}"#);
    assert_eq!(
        written(|o| encode_connect_error(o, "/", "not authorized", Some(code))),
        CONNECT_ERROR
    );
    assert_eq!(
        written(|o| encode_connect_error(o, "/admin", "Invalid namespace", None)),
        CONNECT_ERROR_NSP
    );
    assert_eq!(
        written(|o| encode_ack(o, "/", 1, &[raw(r#""ok""#), raw("2")])),
        ACK
    );
    assert_eq!(
        written(|o| encode_ack(o, "/admin", 13, NO_ARGS)),
        ACK_EMPTY_ADMIN
    );
    let one = [raw(r#"{"_placeholder":true,"num":0}"#)];
    assert_eq!(
        written(|o| encode_binary_ack(o, "", 5, &one, 1)),
        BINARY_ACK
    );
    assert_eq!(
        written(|o| encode_disconnect(o, "/admin")),
        DISCONNECT_ADMIN
    );
    assert_eq!(written(|o| encode_disconnect(o, "/")), DISCONNECT);
    assert_eq!(
        written(|o| encode_event(o, "/", None, "é\"\\\n\u{1}\u{2028}/", NO_ARGS)),
        ESCAPED
    );
}

#[test]
fn node_output_decodes_and_reencodes_unchanged() {
    let plain = [
        EMIT,
        EMIT_ADMIN_ACK,
        CONNECT_AUTH,
        CONNECT_AUTH_ADMIN,
        CONNECT_ADMIN,
        CONNECT_SID,
        CONNECT_ERROR,
        CONNECT_ERROR_NSP,
        ACK,
        ACK_EMPTY_ADMIN,
        DISCONNECT_ADMIN,
        DISCONNECT,
        ESCAPED,
    ];
    for text in plain {
        let packet = complete(text);
        assert_eq!(packet.to_text(), text);
        assert_eq!(packet.encoded_len(), text.len());
    }
    for (text, count) in [(BINARY, 2), (BINARY_NESTED, 2), (BINARY_ACK, 1)] {
        let Ok(Decoded::NeedsAttachments(mut partial)) = decode(text) else {
            panic!("{text}");
        };
        let mut done = None;
        for i in 0..count {
            done = partial.push_attachment(Bytes::from(vec![i]));
        }
        let packet = done.expect("complete");
        assert_eq!(packet.to_text(), text);
    }
}

#[test]
fn node_vectors_decode_to_the_expected_packets() {
    let emit = complete(EMIT_ADMIN_ACK);
    assert_eq!(
        (emit.packet_type, emit.namespace.as_str(), emit.id),
        (T::Event, "/admin", Some(12))
    );
    assert_eq!(emit.event_name().as_deref(), Some("hello"));
    assert_eq!(
        emit.args().unwrap().as_slice(),
        ["1", r#""2""#, r#"{"a":3}"#]
    );

    let error = complete(CONNECT_ERROR);
    assert_eq!(error.packet_type, T::ConnectError);
    assert_eq!(
        error.data.as_deref(),
        Some(r#"{"message":"not authorized","data":{"code":1}}"#)
    );
    assert_eq!(complete(ACK).args().unwrap().as_slice(), [r#""ok""#, "2"]);
    let disconnect = complete(DISCONNECT_ADMIN);
    assert_eq!(disconnect.packet_type, T::Disconnect);
    assert_eq!(disconnect.namespace, "/admin");
    assert_eq!(disconnect.data, None);
    assert_eq!(
        complete(ESCAPED).event_name().as_deref(),
        Some("é\"\\\n\u{1}\u{2028}/")
    );
}

#[test]
fn constructors_match_node() {
    let ns = Utf8Bytes::from_static;
    let args = [raw("1"), raw(r#""2""#), raw(r#"{"a":3}"#)];
    assert_eq!(Packet::event(ns("/"), None, "hello", &args).to_text(), EMIT);
    assert_eq!(
        Packet::event(ns("/admin"), Some(12), "hello", &args).to_text(),
        EMIT_ADMIN_ACK
    );
    let placeholders = [
        raw(r#"{"_placeholder":true,"num":0}"#),
        raw(r#"{"_placeholder":true,"num":1}"#),
    ];
    let binary = Packet::event(ns("/"), None, "bin", &placeholders)
        .with_attachments(vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[3])]);
    assert_eq!(binary.packet_type, T::BinaryEvent);
    assert_eq!(binary.to_text(), BINARY);
    let auth = Some(raw(r#"{"token":"abc"}"#));
    assert_eq!(Packet::connect(ns("/"), auth).to_text(), CONNECT_AUTH);
    assert_eq!(Packet::connect(ns("/admin"), None).to_text(), CONNECT_ADMIN);
    let code = Some(raw(r#"{"code":1}"#));
    assert_eq!(
        Packet::connect_error(ns("/"), "not authorized", code).to_text(),
        CONNECT_ERROR
    );
    assert_eq!(
        Packet::ack(ns("/"), 1, &[raw(r#""ok""#), raw("2")]).to_text(),
        ACK
    );
    assert_eq!(Packet::disconnect(ns("/admin")).to_text(), DISCONNECT_ADMIN);
}
