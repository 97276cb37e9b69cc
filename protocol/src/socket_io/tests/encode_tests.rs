//! Encoding: lengths, type selection from attachments, and decode → encode round trips.

use bytes::{Bytes, BytesMut};

use super::{NO_ARGS, complete, decode, raw, written};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{
    Decoded, MAX_ACK_ID, Packet, PacketType as T, RawJson, binary_ack_len, binary_event_len,
    connect_error_len, connect_len, disconnect_len, encode_ack, encode_binary_ack,
    encode_binary_event, encode_connect, encode_connect_error, encode_disconnect, encode_event,
    fill_binary_ack, fill_binary_event, fill_connect, fill_connect_error, fill_disconnect,
};

#[test]
fn decoded_text_reencodes_to_itself() {
    for text in [
        "0",
        "0/admin,",
        r#"0/a,{"x":[1,{"y":null}]}"#,
        "0123",
        "0/a,5",
        "1",
        "1/a,",
        r#"2["a"]"#,
        r#"2["a"] "#,
        r#"2/a,0["a",1.5e-3,true,false,null,"x"]"#,
        "3/a,9007199254740991[]",
        r#"4"x""#,
        r#"4/a,{"message":"m"}"#,
        r#"2/é,["é"]"#,
    ] {
        let packet = complete(text);
        assert_eq!(packet.to_text(), text);
        assert_eq!(packet.encoded_len(), text.len(), "{text}");
    }
}

#[test]
fn reencoding_normalizes_the_header() {
    for (text, normal) in [
        (r#"2007["a"]"#, r#"27["a"]"#),
        (r#"2/,["a"]"#, r#"2["a"]"#),
        ("0/admin", "0/admin,"),
    ] {
        assert_eq!(complete(text).to_text(), normal);
    }
}

#[test]
fn encode_appends_exactly_encoded_len_bytes() {
    let mut packet = Packet {
        id: Some(u64::MAX),
        data: Some(r#"["e",1]"#.into()),
        ..Packet::new(T::Event, "/nsp".into())
    };
    for attachments in [0, 1, 9, 10, 11, 123] {
        packet.attachments = vec![Bytes::new(); attachments];
        let mut out = BytesMut::from(&b"prefix"[..]);
        packet.encode(&mut out);
        assert_eq!(out.len(), 6 + packet.encoded_len());
        assert!(out.starts_with(b"prefix"));
        let expected = match attachments {
            0 => r#"2/nsp,18446744073709551615["e",1]"#.to_owned(),
            n => format!(r#"5{n}-/nsp,18446744073709551615["e",1]"#),
        };
        assert_eq!(&out[6..], expected.as_bytes());
    }
}

#[test]
fn the_type_follows_the_attachments() {
    let ns = Utf8Bytes::from_static("/");
    let event = Packet::event(ns.clone(), None, "e", &[]);
    assert_eq!(event.to_text(), r#"2["e"]"#);
    let binary = Packet {
        packet_type: T::BinaryEvent,
        ..event.clone()
    };
    assert_eq!(binary.to_text(), r#"2["e"]"#);
    assert_eq!(binary.clone().normalized(), event);
    let with = event.clone().with_attachments(vec![Bytes::new()]);
    assert_eq!(with.packet_type, T::BinaryEvent);
    assert_eq!(with.to_text(), r#"51-["e"]"#);
    assert_eq!(with.with_attachments(vec![]).packet_type, T::Event);

    let ack = Packet::ack(ns.clone(), 3, &[]).with_attachments(vec![Bytes::new(); 2]);
    assert_eq!(ack.to_text(), "62-3[]");
    // Other types cannot carry attachments: they are not announced.
    let connect = Packet {
        attachments: vec![Bytes::new()],
        ..Packet::connect(ns, None)
    };
    assert_eq!(connect.to_text(), "0");
    assert_eq!(connect.encoded_len(), 1);
    assert!(connect.normalized().attachments.is_empty());
}

#[test]
fn hot_path_encoders() {
    assert_eq!(
        written(|o| encode_event(o, "", Some(0), "e", &[raw("[1, 2]")])),
        r#"20["e",[1, 2]]"#
    );
    assert_eq!(
        written(|o| encode_binary_event(o, "/a", None, "e", NO_ARGS, 0)),
        r#"2/a,["e"]"#
    );
    assert_eq!(
        written(|o| encode_binary_ack(o, "/a", 1, &[raw("null")], 0)),
        "3/a,1[null]"
    );
    // Appends, without clearing.
    let mut out = BytesMut::from(&b"x"[..]);
    encode_event(&mut out, "/", None, "e", NO_ARGS);
    encode_event(&mut out, "/", None, "f", NO_ARGS);
    assert_eq!(&out[..], br#"x2["e"]2["f"]"#);
}

#[test]
fn hot_path_lengths_are_what_is_written() {
    let arg_lists: [&[&RawJson]; 4] = [
        NO_ARGS,
        &[raw("null")],
        &[raw(r#"{"t":1,"p":"\u00e9"}"#), raw("[1,2]")],
        &[raw("1"), raw(r#""é""#), raw("{}"), raw("true")],
    ];
    for namespace in ["", "/", "/chat"] {
        for id in [None, Some(0), Some(9), Some(10), Some(MAX_ACK_ID)] {
            for attachments in [0, 1, 10] {
                for args in arg_lists {
                    for event in ["e", "message", "é t", "a\"b\n", "\u{1}\\"] {
                        let event_text = written(|o| {
                            encode_binary_event(o, namespace, id, event, args, attachments);
                        });
                        let expected = binary_event_len(namespace, id, event, args, attachments);
                        assert_eq!(event_text.len(), expected, "{event_text}");
                        let mut filled = vec![0; expected];
                        fill_binary_event(&mut filled, namespace, id, event, args, attachments);
                        assert_eq!(filled, event_text.as_bytes());
                    }
                    let Some(id) = id else { continue };
                    let ack_text =
                        written(|o| encode_binary_ack(o, namespace, id, args, attachments));
                    let expected = binary_ack_len(namespace, id, args, attachments);
                    assert_eq!(ack_text.len(), expected, "{ack_text}");
                    let mut filled = vec![0; expected];
                    fill_binary_ack(&mut filled, namespace, id, args, attachments);
                    assert_eq!(filled, ack_text.as_bytes());
                }
            }
        }
    }
    let escaped = written(|o| encode_binary_event(o, "/", None, "a\"b\n", NO_ARGS, 0));
    assert_eq!(escaped, r#"2["a\"b\n"]"#);
}

#[test]
fn control_packet_lengths_are_what_is_written() {
    let data = [None, Some(raw("{}")), Some(raw(r#"{"token":"é\n"}"#))];
    for namespace in ["", "/", "/chat"] {
        let text = written(|o| encode_disconnect(o, namespace));
        assert_eq!(text.len(), disconnect_len(namespace), "{text}");
        let mut filled = vec![0; text.len()];
        fill_disconnect(&mut filled, namespace);
        assert_eq!(filled, text.as_bytes());
        for data in data {
            let text = written(|o| encode_connect(o, namespace, data));
            assert_eq!(text.len(), connect_len(namespace, data), "{text}");
            let mut filled = vec![0; text.len()];
            fill_connect(&mut filled, namespace, data);
            assert_eq!(filled, text.as_bytes());
            for message in ["", "not authorized", "\"quoted\"\t\u{7}é"] {
                let text = written(|o| encode_connect_error(o, namespace, message, data));
                assert_eq!(text.len(), connect_error_len(namespace, message, data));
                let mut filled = vec![0; text.len()];
                fill_connect_error(&mut filled, namespace, message, data);
                assert_eq!(filled, text.as_bytes());
            }
        }
    }
}

#[test]
fn names_and_messages_are_escaped_as_serde_json_and_json_stringify_escape_them() {
    // Every ASCII character, alone and between others, and characters beyond ASCII (which are
    // written as they are).
    let mut names: Vec<String> = (0..=0x7f_u8).map(|b| char::from(b).to_string()).collect();
    names.extend((0..=0x7f_u8).map(|b| format!("a{}b", char::from(b))));
    names.extend([
        "é\u{2028}😀\u{7f}".to_owned(),
        "\u{1f}\u{0}\"\\/".to_owned(),
        String::new(),
    ]);
    for name in &names {
        let literal = serde_json::to_string(name).expect("a string serializes");
        let event = written(|o| encode_event(o, "/", None, name, NO_ARGS));
        assert_eq!(event, format!("2[{literal}]"), "{name:?}");
        let error = written(|o| encode_connect_error(o, "/", name, None));
        assert_eq!(error, format!(r#"4{{"message":{literal}}}"#), "{name:?}");
    }
}

#[test]
fn constructed_packets_decode_back() {
    let ns = Utf8Bytes::from_static("/chat");
    let arg = raw(r#"{"k":"v"}"#);
    for packet in [
        Packet::event(ns.clone(), Some(MAX_ACK_ID), "msg", &[arg, arg]),
        Packet::ack(ns.clone(), 0, &[arg]),
        Packet::connect(ns.clone(), Some(arg)),
        Packet::connect(ns.clone(), None),
        Packet::connect_error(ns.clone(), "no \"way\"", Some(arg)),
        Packet::connect_error(ns.clone(), "", None),
        Packet::disconnect(ns.clone()),
    ] {
        assert_eq!(complete(&packet.to_text()), packet);
    }
    let binary = Packet::event(ns, None, "up", &[raw(r#"{"_placeholder":true,"num":0}"#)])
        .with_attachments(vec![Bytes::from_static(b"data")]);
    let Ok(Decoded::NeedsAttachments(mut partial)) = decode(&binary.to_text()) else {
        panic!("not binary");
    };
    assert_eq!(
        partial.push_attachment(Bytes::from_static(b"data")),
        Some(binary)
    );
}

#[test]
fn arguments_as_utf8_bytes_are_written_like_raw_json() {
    let texts = [r#""a""#, "1", r#"{"b":[2,null]}"#];
    let as_raw: Vec<&RawJson> = texts.iter().map(|t| raw(t)).collect();
    let as_bytes: Vec<Utf8Bytes> = texts.iter().map(|t| Utf8Bytes::from(*t)).collect();
    let expected = r#"2/a,7["e","a",1,{"b":[2,null]}]"#;
    assert_eq!(
        written(|o| encode_event(o, "/a", Some(7), "e", &as_raw)),
        expected
    );
    assert_eq!(
        written(|o| encode_event(o, "/a", Some(7), "e", &as_bytes)),
        expected
    );
    assert_eq!(
        written(|o| encode_ack(o, "/", 3, &as_bytes)),
        written(|o| encode_ack(o, "/", 3, &as_raw))
    );
}

#[test]
fn numbers_in_headers_have_every_length() {
    // Ack ids and attachment counts around every power of ten a `u64` holds, and its largest value.
    let around = (0..20).flat_map(|k| {
        let power = 10u64.pow(k);
        [power - 1, power, power + 7]
    });
    for n in around.chain([u64::MAX]) {
        assert_eq!(
            written(|o| encode_ack(o, "/", n, NO_ARGS)),
            format!("3{n}[]")
        );
        assert_eq!(
            written(|o| encode_binary_ack(o, "/a", 4, &[raw("1")], n as usize)),
            match n {
                0 => "3/a,4[1]".to_owned(),
                _ => format!("6{n}-/a,4[1]"),
            }
        );
    }
}
