//! Encoding: numbers, strings, sizes, placeholders, key order, and invalid JSON.

use bytes::BytesMut;

use super::{dec, enc, event, hex, packet};
use crate::msgpack::{MsgpackError as E, encode};
use crate::socket_io::PacketType as T;

/// The msgpack of an EVENT's data, cut out of the whole packet.
fn data_of(json: &str) -> Vec<u8> {
    let bytes = enc(&event(json));
    let start = b"\x83\xa4type\x02\xa4data".len();
    bytes[start..bytes.len() - b"\xa3nsp\xa1/".len()].to_vec()
}

#[test]
fn numbers_as_notepack_writes_them() {
    let cases: &[(&str, &str)] = &[
        ("0", "00"),
        ("-0", "00"),
        ("-0.0", "00"),
        ("1.0", "01"),
        ("1e3", "cd03e8"),
        ("127", "7f"),
        ("-32", "e0"),
        ("-33", "d0df"),
        ("2.5", "cb4004000000000000"),
        ("1e400", "cb7ff0000000000000"),
        ("18446744073709551615", "cfffffffffffffffff"),
        ("-9223372036854775808", "d38000000000000000"),
        // Exactly, where JavaScript would round (notepack writes 0 for 2^64 - 1, rounded to 2^64);
        // past 64 bits as float 64, where notepack writes a wrong int.
        ("1152921504606846977", "cf1000000000000001"),
        ("18446744073709551616", "cb43f0000000000000"),
        ("1e21", "cb444b1ae4d6e2ef50"),
        ("-1e19", "cbc3e158e460913d00"),
        ("9.2e18", "cf7facf7419d980000"),
    ];
    for (json, want) in cases {
        let mut expected = hex("91");
        expected.extend(hex(want));
        assert_eq!(data_of(&format!("[{json}]")), expected, "{json}");
    }
}

#[test]
fn strings_unescaped() {
    let cases: &[(&str, &[u8])] = &[
        (r#""\u00e9\/\n""#, "é/\n".as_bytes()),
        (r#""\ud83d\ude00""#, "😀".as_bytes()),
        (r#""\ud800""#, "\u{fffd}".as_bytes()),
        (r#""\udc00x""#, "\u{fffd}x".as_bytes()),
        (r#""\ud800\u0041""#, "\u{fffd}A".as_bytes()),
        (r#""\ud800\ud800\udc00""#, "\u{fffd}\u{10000}".as_bytes()),
    ];
    for (json, want) in cases {
        let mut expected = vec![0x91, 0xa0 | want.len() as u8];
        expected.extend_from_slice(want);
        assert_eq!(data_of(&format!("[{json}]")), expected, "{json}");
    }
}

#[test]
fn sizes_pick_the_smallest_form() {
    let header = |json: String, len: usize| data_of(&json)[..len].to_vec();
    let list = |n: usize| format!("[{}]", vec!["0"; n].join(","));
    assert_eq!(header(list(15), 1), hex("9f"));
    assert_eq!(header(list(16), 3), hex("dc0010"));
    assert_eq!(header(list(65536), 5), hex("dd00010000"));
    let object = |n: usize| {
        let entries: Vec<String> = (0..n).map(|i| format!("\"{i}\":0")).collect();
        format!("[{{{}}}]", entries.join(","))
    };
    assert_eq!(header(object(15), 2), hex("918f"));
    assert_eq!(header(object(16), 4), hex("91de0010"));
    let string = |n: usize| format!("[\"{}\"]", "x".repeat(n));
    assert_eq!(header(string(31), 2), hex("91bf"));
    assert_eq!(header(string(32), 3), hex("91d920"));
    assert_eq!(header(string(256), 4), hex("91da0100"));
    assert_eq!(header(string(65536), 6), hex("91db00010000"));
    let placeholder = r#"["b",{"_placeholder":true,"num":0}]"#;
    for (len, want) in [(255, "c4ff"), (256, "c50100"), (65536, "c600010000")] {
        let bin = vec![7u8; len];
        let bytes = enc(&packet(
            T::BinaryEvent,
            "/",
            None,
            Some(placeholder),
            &[&bin],
        ));
        let at = b"\x83\xa4type\x02\xa4data\x92\xa1b".len();
        assert_eq!(bytes[at..at + want.len() / 2], hex(want)[..], "{len}");
    }
}

#[test]
fn placeholders() {
    // A placeholder's other keys are skipped whole, the containers after it still counted right.
    let json = r#"[{"x":1},{"num":0,"y":[1,{"z":[]}],"\u005fplaceholder":true},[3,{}]]"#;
    let bytes = enc(&packet(T::Ack, "/", Some(1), Some(json), &[b"\x09"]));
    assert_eq!(
        bytes,
        [
            &b"\x84\xa2id\x01\xa4type\x03\xa4data\x93\x81\xa1x\x01\xc4\x01\x09\x92\x03\x80"[..],
            b"\xa3nsp\xa1/"
        ]
        .concat()
    );
    // A placeholder inside another is skipped with it, whatever it names; the next one is written.
    let json = r#"[{"_placeholder":true,"x":{"_placeholder":true,"num":7},"num":0},{"num":1,"_placeholder":true}]"#;
    let bytes = enc(&packet(
        T::Ack,
        "/",
        Some(1),
        Some(json),
        &[b"\x09", b"\x0a"],
    ));
    assert_eq!(
        bytes,
        [
            &b"\x84\xa2id\x01\xa4type\x03\xa4data\x92\xc4\x01\x09\xc4\x01\x0a"[..],
            b"\xa3nsp\xa1/"
        ]
        .concat()
    );
    // Without attachments, or in a type that has none, a placeholder is a plain map.
    let literal = r#"[{"_placeholder":true,"num":0}]"#;
    let plain = enc(&packet(T::BinaryEvent, "/", None, Some(literal), &[]));
    assert_eq!(&plain[..12], b"\x83\xa4type\x02\xa4data");
    assert_eq!(plain[12..14], [0x91, 0x82]);
    let connect_error = packet(
        T::ConnectError,
        "/",
        None,
        Some(r#"{"_placeholder":true,"num":0}"#),
        &[b"x"],
    );
    assert_eq!(enc(&connect_error)[12], 0x82);
    // A placeholder naming no attachment is an error, and leaves `out` as it was.
    for num in ["1", "-1", "0.5", "\"0\"", "null"] {
        let json = format!(r#"[{{"_placeholder":true,"num":{num}}}]"#);
        let p = packet(T::Ack, "/", Some(1), Some(&json), &[b"x"]);
        let mut out = BytesMut::from(&b"keep"[..]);
        assert_eq!(encode(&p, &mut out), Err(E::IllegalAttachments), "{num}");
        assert_eq!(&out[..], b"keep");
    }
}

#[test]
fn key_order_follows_node() {
    let ack = packet(T::Ack, "/a", Some(1), Some("[]"), &[]);
    assert_eq!(
        enc(&ack),
        b"\x84\xa2id\x01\xa4type\x03\xa4data\x90\xa3nsp\xa2/a"
    );
    let emit = packet(T::Event, "/", Some(300), Some(r#"["e"]"#), &[]);
    assert_eq!(
        enc(&emit),
        b"\x84\xa4type\x02\xa4data\x91\xa1e\xa3nsp\xa1/\xa2id\xcd\x01\x2c"
    );
    let disconnect = packet(T::Disconnect, "/", None, None, &[]);
    assert_eq!(enc(&disconnect), b"\x82\xa4type\x01\xa3nsp\xa1/");
    let spaced = packet(
        T::Connect,
        "/",
        None,
        Some(" { \"a\" : [ 1 , true , null ] } "),
        &[],
    );
    assert_eq!(
        enc(&spaced),
        b"\x83\xa4type\x00\xa4data\x81\xa1a\x93\x01\xc3\xc0\xa3nsp\xa1/"
    );
    assert_eq!(
        dec(&enc(&spaced)).unwrap().data.unwrap(),
        r#"{"a":[1,true,null]}"#
    );
}

#[test]
fn invalid_json_is_refused() {
    for json in [
        "",
        " ",
        "[",
        "]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[1]]",
        "[1] 2",
        "{\"a\" 1}",
        "{1:2}",
        "{\"a\":1,}",
        "{\"a\"}",
        "{\"a\":}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[+1]",
        "tru",
        "[truex]",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"abc",
        "[}",
        "{]",
        "[\"a\":1]",
        "nul",
    ] {
        let p = event(json);
        let mut out = BytesMut::from(&b"keep"[..]);
        assert_eq!(encode(&p, &mut out), Err(E::InvalidJson), "{json:?}");
        assert_eq!(&out[..], b"keep");
    }
}
