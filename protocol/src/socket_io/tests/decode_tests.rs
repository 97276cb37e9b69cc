//! Decoding text packets: every type, header combinations, and every error.

use super::{complete, decode, error};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{
    DecodeError as E, DecodeLimits, Decoded, MAX_ACK_ID, Packet, PacketType as T, RESERVED_EVENTS,
};

/// A text, and the type, namespace, id and data it decodes to.
type Case = (
    &'static str,
    T,
    &'static str,
    Option<u64>,
    Option<&'static str>,
);

const VALID: &[Case] = &[
    ("0", T::Connect, "/", None, None),
    ("0/admin,", T::Connect, "/admin", None, None),
    ("0/admin", T::Connect, "/admin", None, None),
    (
        r#"0{"token":"abc"}"#,
        T::Connect,
        "/",
        None,
        Some(r#"{"token":"abc"}"#),
    ),
    (
        r#"0/admin,{"token":"abc"}"#,
        T::Connect,
        "/admin",
        None,
        Some(r#"{"token":"abc"}"#),
    ),
    ("0123", T::Connect, "/", Some(123), None),
    ("0/,", T::Connect, "/", None, None),
    ("1", T::Disconnect, "/", None, None),
    ("1/admin,", T::Disconnect, "/admin", None, None),
    (r#"2["a"]"#, T::Event, "/", None, Some(r#"["a"]"#)),
    (r#"2["a"] "#, T::Event, "/", None, Some(r#"["a"] "#)),
    (r#"212["a",1]"#, T::Event, "/", Some(12), Some(r#"["a",1]"#)),
    (
        r#"2/admin,["a"]"#,
        T::Event,
        "/admin",
        None,
        Some(r#"["a"]"#),
    ),
    (
        r#"2/admin,12["a"]"#,
        T::Event,
        "/admin",
        Some(12),
        Some(r#"["a"]"#),
    ),
    (r#"2007["a"]"#, T::Event, "/", Some(7), Some(r#"["a"]"#)),
    (r#"20["a"]"#, T::Event, "/", Some(0), Some(r#"["a"]"#)),
    (
        r#"2/a/b-c.d,["a"]"#,
        T::Event,
        "/a/b-c.d",
        None,
        Some(r#"["a"]"#),
    ),
    (r#"2/é,["a"]"#, T::Event, "/é", None, Some(r#"["a"]"#)),
    (r#"2[1]"#, T::Event, "/", None, Some("[1]")),
    (r#"2[-1.5e3,{}]"#, T::Event, "/", None, Some("[-1.5e3,{}]")),
    (r#"2[""]"#, T::Event, "/", None, Some(r#"[""]"#)),
    (
        r#"2["connect "]"#,
        T::Event,
        "/",
        None,
        Some(r#"["connect "]"#),
    ),
    (r#"2["\ud800"]"#, T::Event, "/", None, Some(r#"["\ud800"]"#)),
    ("31[]", T::Ack, "/", Some(1), Some("[]")),
    (r#"31["ok",2]"#, T::Ack, "/", Some(1), Some(r#"["ok",2]"#)),
    ("3/admin,13[]", T::Ack, "/admin", Some(13), Some("[]")),
    (r#"4"x""#, T::ConnectError, "/", None, Some(r#""x""#)),
    (
        r#"4{"message":"m"}"#,
        T::ConnectError,
        "/",
        None,
        Some(r#"{"message":"m"}"#),
    ),
    (r#"4/admin,{}"#, T::ConnectError, "/admin", None, Some("{}")),
    (
        r#"4"\udc00""#,
        T::ConnectError,
        "/",
        None,
        Some(r#""\udc00""#),
    ),
];

#[test]
fn decodes_every_type_and_header_combination() {
    for &(text, packet_type, namespace, id, data) in VALID {
        let packet = complete(text);
        assert_eq!(packet.packet_type, packet_type, "{text}");
        assert_eq!(packet.namespace, namespace, "{text}");
        assert_eq!(packet.id, id, "{text}");
        assert_eq!(packet.data.as_deref(), data, "{text}");
        assert!(packet.attachments.is_empty(), "{text}");
    }
}

#[test]
fn decoded_parts_share_the_input_buffer() {
    let input = Utf8Bytes::from(String::from(r#"2/admin,12["hello",{"a":3}]"#));
    let Ok(Decoded::Complete(packet)) =
        Packet::decode_text(input.clone(), &DecodeLimits::default())
    else {
        panic!("not a packet");
    };
    let base = input.as_bytes().as_ptr() as usize;
    assert_eq!(packet.namespace.as_bytes().as_ptr() as usize, base + 1);
    assert_eq!(packet.data.unwrap().as_bytes().as_ptr() as usize, base + 10);
}

#[test]
fn ack_ids_up_to_max_safe_integer() {
    let max = format!(r#"2{MAX_ACK_ID}["a"]"#);
    assert_eq!(complete(&max).id, Some(MAX_ACK_ID));
    assert_eq!(MAX_ACK_ID, 9_007_199_254_740_991);
    let above = format!(r#"2{}["a"]"#, MAX_ACK_ID + 1);
    assert_eq!(error(&above), E::AckIdTooLarge);
    assert_eq!(error(&format!(r#"3{}[]"#, u64::MAX)), E::AckIdTooLarge);
    assert_eq!(
        error(&format!("2{}[\"a\"]", "9".repeat(1000))),
        E::AckIdTooLarge
    );
    // Leading zeros do not count against the limit.
    assert_eq!(complete(&format!("3{}1[]", "0".repeat(1000))).id, Some(1));
    // Every length of id up to the limit's 16 digits (15 and fewer are read without checks).
    for len in 1..=16 {
        let nines = "9".repeat(len);
        let ones = "1".repeat(len);
        let expected = |text: &str| text.parse::<u64>().ok().filter(|&id| id <= MAX_ACK_ID);
        for id in [nines, ones] {
            let text = format!("3{id}[]");
            match expected(&id) {
                Some(id) => assert_eq!(complete(&text).id, Some(id)),
                None => assert_eq!(error(&text), E::AckIdTooLarge),
            }
        }
    }
}

#[test]
fn rejects_bad_types() {
    assert_eq!(error(""), E::Empty);
    for (text, byte) in [
        ("7", b'7'),
        ("9[]", b'9'),
        ("a", b'a'),
        (" ", b' '),
        ("é", 0xc3),
    ] {
        assert_eq!(error(text), E::UnknownPacketType(byte), "{text:?}");
    }
}

#[test]
fn rejects_bad_attachment_counts() {
    for text in [
        "5",
        "5-",
        r#"5-["a"]"#,
        r#"5["a"]"#,
        r#"51["a"]"#,
        r#"5a-["a"]"#,
        r#"5+1-["a"]"#,
        r#"51e0-["a"]"#,
        r#"5 1-["a"]"#,
        r#"50-["a"]"#,
        "600-[]",
        r#"5/nsp,1-["a"]"#,
    ] {
        assert_eq!(error(text), E::InvalidAttachmentCount, "{text:?}");
    }
    for text in ["511-[]", "611-[]", &format!("5{}-[]", "9".repeat(100))] {
        assert_eq!(error(text), E::TooManyAttachments { max: 10 }, "{text:?}");
    }
    let at_max = r#"510-["a",{"_placeholder":true,"num":9}]"#;
    assert!(matches!(decode(at_max), Ok(Decoded::NeedsAttachments(p)) if p.expected() == 10));
}

#[test]
fn namespace_length_is_limited() {
    let limits = |max| DecodeLimits {
        max_namespace_len: max,
        ..DecodeLimits::default()
    };
    let decode_with = |text: &'static str, max| Packet::decode_text(text.into(), &limits(max));
    for text in [r#"2/abcd,["a"]"#, "0/abcd", "0/abcd,"] {
        assert!(decode_with(text, 5).is_ok(), "{text}");
        assert!(decode_with(text, usize::MAX).is_ok(), "{text}");
        assert_eq!(
            decode_with(text, 4),
            Err(E::NamespaceTooLong { max: 4 }),
            "{text}"
        );
    }
    assert_eq!(DecodeLimits::default().max_namespace_len, 1024);
    let long = format!("0/{}", "a".repeat(1023));
    assert!(decode(&long).is_ok());
    assert_eq!(
        error(&format!("{long}a")),
        E::NamespaceTooLong { max: 1024 }
    );
}

#[test]
fn acks_need_an_id() {
    for text in ["3[]", "3/admin,[]", r#"61-[{"_placeholder":true,"num":0}]"#] {
        assert_eq!(error(text), E::MissingAckId, "{text}");
    }
}

#[test]
fn rejects_invalid_json() {
    for text in [
        "2[",
        r#"2["a",]"#,
        r#"2["a"]x"#,
        r#"2["a"]["b"]"#,
        r#"2["a"#,
        "0{",
        r#"0{"a":}"#,
        r#"4"x"#,
        "4{'a':1}",
        r#"31[1,]"#,
        "2,[\"a\"]",
        "0/nsp, ",
        "2\u{1}",
        "2[\"a\u{1}\"]",
        r#"2["\x"]"#,
        "1nul",
    ] {
        assert_eq!(error(text), E::InvalidJson, "{text:?}");
    }
}

#[test]
fn rejects_payloads_of_the_wrong_shape() {
    let cases = [
        (
            T::Connect,
            &["0[]", "0null", r#"0"x""#, "01[]", "0 {}", "0/nsp,[]"][..],
        ),
        (T::Disconnect, &["1{}", "1/a,[]", "1\"x\"", "1null"]),
        (
            T::Event,
            &[
                "2",
                "2/nsp",
                r#"2/nsp["a"]"#,
                "21",
                "2[]",
                "2[{}]",
                "2[null]",
                "2[true]",
                r#"2[["a"]]"#,
                r#"2{"a":1}"#,
                r#"2"a""#,
                r#"2 ["a"]"#,
            ],
        ),
        (T::Ack, &["31", "31{}", r#"31"a""#, "3/a,1null"]),
        (
            T::ConnectError,
            &["4", "41", "4[]", "4null", "4-1.5", "4true"],
        ),
    ];
    for (packet_type, texts) in cases {
        for text in texts {
            assert_eq!(error(text), E::InvalidPayload(packet_type), "{text:?}");
        }
    }
    assert_eq!(
        error(r#"51-{"_placeholder":true,"num":0}"#),
        E::InvalidPayload(T::BinaryEvent)
    );
    assert_eq!(error("51-"), E::InvalidPayload(T::BinaryEvent));
    assert_eq!(error("61-1"), E::InvalidPayload(T::BinaryAck));
}

#[test]
fn rejects_reserved_event_names() {
    for name in RESERVED_EVENTS {
        assert_eq!(error(&format!(r#"2["{name}",1]"#)), E::ReservedEventName);
        assert_eq!(error(&format!(r#"2/a,3["{name}"]"#)), E::ReservedEventName);
    }
    assert_eq!(error(r#"2["\u0063onnect"]"#), E::ReservedEventName);
    assert_eq!(error(r#"2[ "disconnect" ]"#), E::ReservedEventName);
    assert_eq!(
        error(r#"51-["connect",{"_placeholder":true,"num":0}]"#),
        E::ReservedEventName
    );
    // An ack's first element is not an event name.
    assert_eq!(complete(r#"31["connect"]"#).id, Some(1));
}

#[test]
fn nesting_is_accepted_up_to_max_depth() {
    use crate::socket_io::MAX_DEPTH;
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    // The ack array and the event array are one level themselves.
    let deep = nested(MAX_DEPTH - 1);
    assert!(decode(&format!("31{deep}")).is_ok());
    let packet = complete(&format!(r#"2["a",{deep}]"#));
    assert_eq!(packet.args().map(|a| a.len()), Ok(1));
    let binary = format!(r#"51-["a",{deep},{{"_placeholder":true,"num":0}}]"#);
    assert!(matches!(decode(&binary), Ok(Decoded::NeedsAttachments(_))));
    // Brackets inside strings do not count.
    let in_string = format!(r#"2["a","{}"]"#, "[".repeat(10_000));
    assert!(decode(&in_string).is_ok());

    assert!(decode(&format!("31{}", nested(MAX_DEPTH))).is_ok());
    let too_deep = nested(MAX_DEPTH + 1);
    assert_eq!(decode(&format!("31{too_deep}")), Err(E::InvalidJson));
    assert_eq!(
        decode(&format!(r#"2["a",{too_deep}]"#)),
        Err(E::InvalidJson)
    );
    let huge = nested(100_000);
    let binary = format!(r#"51-["a",{huge},{{"_placeholder":true,"num":0}}]"#);
    assert_eq!(decode(&binary), Err(E::InvalidJson));
}

#[test]
fn errors_display() {
    let all = [
        E::Empty,
        E::UnknownPacketType(b'a'),
        E::UnknownPacketType(0),
        E::InvalidAttachmentCount,
        E::TooManyAttachments { max: 10 },
        E::NamespaceTooLong { max: 5 },
        E::AckIdTooLarge,
        E::MissingAckId,
        E::InvalidJson,
        E::InvalidPayload(T::Event),
        E::ReservedEventName,
        E::IllegalAttachments,
        E::UnexpectedAttachment,
        E::AttachmentsPending,
    ];
    let shown: std::collections::HashSet<String> = all.iter().map(E::to_string).collect();
    assert_eq!(shown.len(), all.len());
    assert_eq!(
        E::UnknownPacketType(b'a').to_string(),
        "unknown socket.io packet type 'a'"
    );
    assert_eq!(
        E::UnknownPacketType(0).to_string(),
        "unknown socket.io packet type byte 0x00"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(E::InvalidJson);
    assert!(boxed.to_string().contains("JSON"));
}

#[test]
fn packet_type_bytes() {
    for b in 0..=u8::MAX {
        match T::from_byte(b) {
            Some(t) => assert_eq!(t.as_byte(), b),
            None => assert!(!(b'0'..=b'6').contains(&b)),
        }
    }
    assert!(T::BinaryEvent.is_binary() && T::BinaryAck.is_binary() && !T::Event.is_binary());
    assert_eq!(T::Event.for_attachments(2), T::BinaryEvent);
    assert_eq!(T::BinaryEvent.for_attachments(0), T::Event);
    assert_eq!(T::Ack.for_attachments(1), T::BinaryAck);
    assert_eq!(T::BinaryAck.for_attachments(0), T::Ack);
    assert_eq!(T::Connect.for_attachments(3), T::Connect);
}
