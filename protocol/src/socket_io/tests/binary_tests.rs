//! Binary packets: attachment reassembly and placeholder checks.

use bytes::Bytes;

use super::{decode, error};
use crate::socket_io::{
    DecodeError as E, DecodeLimits, Decoded, PacketType as T, PartialPacket, Reassembly,
    is_placeholder,
};

const TWO_BUFFERS: &str =
    r#"52-["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;

fn partial(text: &str) -> PartialPacket {
    match decode(text) {
        Ok(Decoded::NeedsAttachments(partial)) => partial,
        other => panic!("{text:?} decoded to {other:?}"),
    }
}

#[test]
fn partial_packet_collects_its_attachments() {
    let mut partial = partial(TWO_BUFFERS);
    assert_eq!((partial.expected(), partial.remaining()), (2, 2));
    let head = partial.packet().unwrap();
    assert_eq!(head.packet_type, T::BinaryEvent);
    assert_eq!(head.event_name().as_deref(), Some("bin"));
    assert_eq!(partial.push_attachment(Bytes::from_static(&[1, 2])), None);
    assert_eq!(partial.remaining(), 1);
    let packet = partial.push_attachment(Bytes::from_static(&[3])).unwrap();
    assert_eq!(packet.attachments, [&[1u8, 2][..], &[3][..]]);
    assert_eq!(packet.data.as_deref(), Some(&TWO_BUFFERS[3..]));
    // Spent: holds nothing, ignores more.
    assert_eq!(partial.remaining(), 0);
    assert!(partial.packet().is_none());
    assert_eq!(partial.push_attachment(Bytes::from_static(&[4])), None);
}

#[test]
fn binary_ack_keeps_its_header() {
    let mut partial = partial(r#"61-/admin,3[{"_placeholder":true,"num":0}]"#);
    let packet = partial.push_attachment(Bytes::from_static(b"x")).unwrap();
    assert_eq!(packet.packet_type, T::BinaryAck);
    assert_eq!(packet.namespace, "/admin");
    assert_eq!(packet.id, Some(3));
    assert_eq!(
        packet.args().unwrap().as_slice(),
        [r#"{"_placeholder":true,"num":0}"#]
    );
}

#[test]
fn reassembly_routes_messages() {
    let mut decoder = Reassembly::new(DecodeLimits::default());
    assert_eq!(decoder.limits(), &DecodeLimits::default());
    assert_eq!(
        decoder.push_binary(Bytes::from_static(b"x")),
        Err(E::UnexpectedAttachment)
    );
    let plain = decoder.push_text(r#"2["a"]"#.into()).unwrap().unwrap();
    assert_eq!(plain.packet_type, T::Event);

    assert_eq!(decoder.push_text(TWO_BUFFERS.into()), Ok(None));
    assert_eq!(decoder.pending().map(PartialPacket::remaining), Some(2));
    assert_eq!(decoder.push_binary(Bytes::from_static(b"a")), Ok(None));
    let packet = decoder
        .push_binary(Bytes::from_static(b"b"))
        .unwrap()
        .unwrap();
    assert_eq!(packet.attachments.len(), 2);
    assert!(decoder.pending().is_none());
    assert_eq!(
        decoder.push_binary(Bytes::from_static(b"c")),
        Err(E::UnexpectedAttachment)
    );
}

#[test]
fn text_while_attachments_pending_is_an_error() {
    let mut decoder = Reassembly::default();
    assert_eq!(decoder.push_text(TWO_BUFFERS.into()), Ok(None));
    assert_eq!(decoder.push_binary(Bytes::new()), Ok(None));
    assert_eq!(
        decoder.push_text(r#"2["a"]"#.into()),
        Err(E::AttachmentsPending)
    );
    // The error dropped the pending packet.
    assert!(decoder.pending().is_none());
    assert!(decoder.push_text(r#"2["a"]"#.into()).unwrap().is_some());

    assert_eq!(decoder.push_text(TWO_BUFFERS.into()), Ok(None));
    decoder.reset();
    assert!(decoder.pending().is_none());
    assert_eq!(
        decoder.push_binary(Bytes::new()),
        Err(E::UnexpectedAttachment)
    );
}

#[test]
fn decode_errors_leave_reassembly_empty() {
    let mut decoder = Reassembly::default();
    assert_eq!(decoder.push_text("2[".into()), Err(E::InvalidJson));
    assert!(decoder.pending().is_none());
    let limits = DecodeLimits {
        max_attachments: 1,
        ..DecodeLimits::default()
    };
    let mut strict = Reassembly::new(limits);
    assert_eq!(
        strict.push_text(TWO_BUFFERS.into()),
        Err(E::TooManyAttachments { max: 1 })
    );
}

/// Binary events with one attachment whose data Node accepts.
const LEGAL: &[&str] = &[
    r#"51-["a",{"_placeholder":true,"num":0}]"#,
    r#"51-["a",{"_placeholder":true,"num":-0}]"#,
    r#"51-["a",{"_placeholder":true,"num":0.0}]"#,
    r#"51-["a",{"_placeholder":true,"num":1e-400}]"#,
    r#"51-["a",{"num":0,"_placeholder":true,"x":[1]}]"#,
    r#"51-["a",{"_placeholder":true,"num":3,"num":0}]"#,
    r#"51-["a",{"_placeholder":true,"_placeholder":false,"num":3}]"#,
    r#"51-["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}]"#,
    r#"51-["a",{"_placeholder":false,"num":9}]"#,
    r#"51-["a",{"_placeholder":"true","num":9}]"#,
    r#"51-["a",{"_placeholder":1,"num":9}]"#,
    r#"51-["a","{\"_placeholder\":true,\"num\":9}"]"#,
    r#"51-["a",{"\"_placeholder":true,"num":9}]"#,
    r#"51-["a",{"x":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":0}]]"#,
    r#"51-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
    r#"51-["a"]"#,
    r#"51-[1, {"_placeholder" : true , "num" : 0 } ]"#,
    "51-[\"a\",{\"_placeholder\":true,\"num\":0}]\n",
];

/// Binary events with one attachment that Node rejects with "illegal attachments".
const ILLEGAL: &[&str] = &[
    r#"51-["a",{"_placeholder":true,"num":1}]"#,
    r#"51-["a",{"_placeholder":true,"num":-1}]"#,
    r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
    r#"51-["a",{"_placeholder":true,"num":null}]"#,
    r#"51-["a",{"_placeholder":true,"num":[0]}]"#,
    r#"51-["a",{"_placeholder":true}]"#,
    r#"51-["a",{"_placeholder":true,"num":1e400}]"#,
    r#"51-["a",{"\u005fplaceholder":true,"num":3}]"#,
    r#"51-["a",{"_placeholder":true,"n\u0075m":3}]"#,
    r#"51-["a",{"_placeholder":{"_placeholder":true,"num":9}}]"#,
    r#"51-["a",{"x":[{"_placeholder":true,"num":9}]}]"#,
    r#"51-["a",[[[{"y":{"_placeholder":true,"num":1}}]]]]"#,
    r#"51-["a",{"_placeholder":true,"num":18446744073709551616}]"#,
    // Divergences, stricter than Node (which substitutes `undefined`, or keeps the last `x`).
    r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
    r#"51-["a",{"x":{"_placeholder":true,"num":9},"x":1}]"#,
];

#[test]
fn placeholders_are_checked_like_node() {
    for text in LEGAL {
        assert!(
            matches!(decode(text), Ok(Decoded::NeedsAttachments(_))),
            "{text}"
        );
    }
    for text in ILLEGAL {
        assert_eq!(error(text), E::IllegalAttachments, "{text}");
        // Acks too.
        let ack = format!("61-1{}", &text[3..]).replace(r#"["a","#, "[");
        assert_eq!(error(&ack), E::IllegalAttachments, "{ack}");
    }
}

#[test]
fn placeholders_of_plain_packets_are_left_alone() {
    for text in [
        r#"2["a",{"_placeholder":true,"num":5}]"#,
        r#"31[{"_placeholder":true}]"#,
    ] {
        assert!(matches!(decode(text), Ok(Decoded::Complete(_))), "{text}");
    }
}

#[test]
fn recognizes_a_placeholder() {
    for (json, index) in [
        (r#"{"_placeholder":true,"num":0}"#, Some(0)),
        (r#" { "num" : 7 , "_placeholder" : true } "#, Some(7)),
        (r#"{"_placeholder":true,"num":2.0}"#, Some(2)),
        (r#"{"\u005fplaceholder":true,"\u006eum":1}"#, Some(1)),
        (r#"{"_placeholder":true,"num":0.5}"#, None),
        (r#"{"_placeholder":true,"num":-1}"#, None),
        (r#"{"_placeholder":true}"#, None),
        (r#"{"_placeholder":false,"num":0}"#, None),
        (r#"{"_placeholder":"true","num":0}"#, None),
        (r#"{"_PLACEHOLDER":true,"num":0}"#, None),
        (r#"{"_placeholder_":true,"num":0}"#, None),
        (r#"{"\u00e9":true,"num":0}"#, None),
        (r#"[{"_placeholder":true,"num":0}]"#, None),
        (r#"{"x":{"_placeholder":true,"num":0}}"#, None),
        (r#""_placeholder""#, None),
        ("1", None),
        ("true", None),
        ("null", None),
        // Not JSON: no answer rather than a panic.
        (r#"{"_placeholder":true,"num":0"#, None),
        (r#"{"_placeholder":true,"num":0}}"#, None),
        (r#"{"_placeholder":true,"num":0} 1"#, None),
        (r#"{"_placeholder"#, None),
        ("x", None),
        ("", None),
    ] {
        assert_eq!(is_placeholder(json), index, "{json}");
    }
}
