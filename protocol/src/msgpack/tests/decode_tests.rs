//! Decoding: what is accepted, what each malformed input gives, and the limits.

use bytes::{Bytes, BytesMut};

use super::{dec, event_data, hex, packet};
use crate::msgpack::{MsgpackError as E, MsgpackLimits, decode, decode_bytes, encode};
use crate::socket_io::PacketType as T;

/// `{type: 2, data: ["e"], nsp: "/"}` from Node.
const EMIT: &str = "83a47479706502a46461746191a165a36e7370a12f";

/// A packet map with the given entries (each key then value, already msgpack).
fn map(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![0x80 | entries.len() as u8];
    for (key, value) in entries {
        out.push(0xa0 | key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(value);
    }
    out
}

#[test]
fn every_prefix_and_trailing_bytes_are_errors() {
    let bytes = hex(EMIT);
    assert!(dec(&bytes).is_ok());
    for len in 0..bytes.len() {
        assert!(dec(&bytes[..len]).is_err(), "{len}");
    }
    assert_eq!(dec(&[]), Err(E::Truncated));
    let mut long = bytes.clone();
    long.push(0xc0);
    assert_eq!(dec(&long), Err(E::TrailingBytes));
}

#[test]
fn structural_errors() {
    assert_eq!(dec(&[0x91, 0x02]), Err(E::NotAMap));
    assert_eq!(dec(&[0xc0]), Err(E::NotAMap));
    assert_eq!(event_data(&[0x91, 0xc1]), Err(E::InvalidPrefix(0xc1)));
    // Lengths that run past the input are refused before anything is read or allocated.
    for data in [
        &b"\xdb\xff\xff\xff\xff"[..],
        b"\xc6\xff\xff\xff\xff",
        b"\xc9\xff\xff\xff\xff\x00",
        b"\xdd\xff\xff\xff\xff",
        b"\xdf\x80\x00\x00\x00",
        b"\x93\xc0",
    ] {
        assert_eq!(event_data(data), Err(E::Truncated), "{data:x?}");
    }
    assert_eq!(dec(b"\xdf\xff\xff\xff\xff"), Err(E::Truncated));
    assert_eq!(event_data(b"\x91\x81\x91\xc0\x01"), Err(E::InvalidKey));
    assert_eq!(event_data(b"\x91\x81\xc4\x00\x01"), Err(E::InvalidKey));
}

#[test]
fn depth_and_attachment_limits() {
    let nested = |depth: usize| {
        let mut data = vec![0x91; depth];
        data.push(0xc0);
        map(&[
            ("type", b"\x03"),
            ("id", b"\x01"),
            ("data", &data),
            ("nsp", b"\xa1/"),
        ])
    };
    assert!(dec(&nested(64)).is_ok());
    assert_eq!(dec(&nested(65)), Err(E::TooDeep { max: 64 }));
    let strict = MsgpackLimits {
        max_depth: 2,
        ..MsgpackLimits::default()
    };
    assert_eq!(decode(&nested(3), &strict), Err(E::TooDeep { max: 2 }));
    // A million levels: an error, not a stack overflow.
    assert_eq!(dec(&nested(1_000_000)), Err(E::TooDeep { max: 64 }));

    // An extension renders as an array, `[5,{"_placeholder":true,"num":0}]`, and is encoded again
    // as one: it counts as a level, so what is accepted re-encodes to what is accepted (finding B1
    // in fuzz/README.md).
    let ext_at = |depth: usize| {
        let mut data = b"\x92\xa1e".to_vec();
        data.extend(std::iter::repeat_n(0x91, depth - 2));
        data.extend_from_slice(b"\xd4\x05\x07");
        map(&[("type", b"\x02"), ("data", &data), ("nsp", b"\xa1/")])
    };
    let accepted = dec(&ext_at(64)).unwrap();
    let mut again = BytesMut::new();
    encode(&accepted, &mut again).unwrap();
    assert_eq!(dec(&again), Ok(accepted.normalized()));
    assert_eq!(dec(&ext_at(65)), Err(E::TooDeep { max: 64 }));
    assert_eq!(decode(&ext_at(3), &strict), Err(E::TooDeep { max: 2 }));
    // At the top level too: with no level allowed, neither an array nor an extension.
    let flat = MsgpackLimits {
        max_depth: 0,
        ..MsgpackLimits::default()
    };
    let ext_data = map(&[
        ("type", b"\x03"),
        ("id", b"\x01"),
        ("data", b"\xd4\x05\x07"),
        ("nsp", b"\xa1/"),
    ]);
    assert_eq!(decode(&ext_data, &flat), Err(E::TooDeep { max: 0 }));
    assert!(dec(&ext_data).is_ok());

    let bins = |n: usize| {
        let mut data = vec![0xdc, 0, n as u8 + 1, 0xa1, b'b'];
        data.extend((0..n).flat_map(|_| [0xc4, 1, 7]));
        map(&[("type", b"\x02"), ("data", &data), ("nsp", b"\xa1/")])
    };
    assert_eq!(dec(&bins(10)).unwrap().attachments.len(), 10);
    assert_eq!(dec(&bins(11)), Err(E::TooManyAttachments { max: 10 }));
}

#[test]
fn values_become_json() {
    let cases: &[(&[u8], &str)] = &[
        (b"\x92\xa1e\xca\x3f\xc0\x00\x00", r#"["e",1.5]"#),
        (b"\x92\xa1e\xcf\xff\xff\xff\xff\xff\xff\xff\xff", r#"["e",18446744073709551615]"#),
        (b"\x92\xa1e\xd3\x80\x00\x00\x00\x00\x00\x00\x00", r#"["e",-9223372036854775808]"#),
        (b"\x92\xa1e\xa3\xff\xe2\x82", "[\"e\",\"\u{fffd}\u{fffd}\"]"),
        // Keys as `String(key)`; an `undefined` value drops its entry; undefined in an array is
        // null.
        (
            b"\x92\xa1e\x86\x01\xa1a\xff\x01\xcb\xbf\xf8\0\0\0\0\0\0\x02\xc0\x03\xc3\x04\xd4\0\0\x05",
            r#"["e",{"1":"a","-1":1,"-1.5":2,"null":3,"true":4,"undefined":5}]"#,
        ),
        // Integer keys beyond 2^53 as the double Node decoded (values stay exact).
        (
            b"\x92\xa1e\x82\xcf\0\x20\0\0\0\0\0\x01\x01\xd3\xff\xdf\xff\xff\xff\xff\xff\xff\x02",
            r#"["e",{"9007199254740992":1,"-9007199254740992":2}]"#,
        ),
        (b"\x92\xa1e\x83\xa1a\xd4\0\0\xa1b\x01\xa1c\xd4\0\0", r#"["e",{"b":1}]"#),
        (b"\x92\xa1e\x81\xa1a\xd4\0\0", r#"["e",{}]"#),
        (b"\x93\xa1e\xd4\0\x07\xc0", r#"["e",null,null]"#),
        (b"\x92\xa1e\xd7\0\x7f\xff\xff\xff\xff\xff\xff\xff", r#"["e",null]"#),
        (b"\x92\xa1e\xcb\x7f\xf8\0\0\0\0\0\0", r#"["e",null]"#),
    ];
    for (data, want) in cases {
        assert_eq!(event_data(data).as_deref(), Ok(*want), "{data:x?}");
    }
}

#[test]
fn binary_and_extensions_become_attachments() {
    let bytes = map(&[
        ("type", b"\x02"),
        (
            "data",
            b"\x95\xa1e\xc4\x01\x01\xc7\x02\x00\x02\x03\xd5\x05\xaa\xbb\xc8\x00\x00\x00",
        ),
        ("nsp", b"\xa1/"),
    ]);
    let got = dec(&bytes).unwrap();
    assert_eq!(got.packet_type, T::BinaryEvent);
    assert_eq!(
        got.data.unwrap(),
        concat!(
            r#"["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},"#,
            r#"[5,{"_placeholder":true,"num":2}],{"_placeholder":true,"num":3}]"#,
        )
    );
    let want: [&[u8]; 4] = [b"\x01", b"\x02\x03", b"\xaa\xbb", b""];
    assert_eq!(got.attachments, want);

    // `decode_bytes` shares the input's buffer.
    let input = Bytes::from(bytes);
    let shared = decode_bytes(&input, &MsgpackLimits::default()).unwrap();
    let range = input.as_ptr_range();
    assert!(range.contains(&shared.attachments[1].as_ptr()));
}

#[test]
fn packet_fields() {
    let ok = |entries: &[(&str, &[u8])]| dec(&map(entries));
    let ev: &[u8] = b"\x91\xa1e";
    // `type` is any integer-valued number; the last duplicate key wins; other keys are skipped.
    let got = ok(&[
        ("type", b"\x00"),
        ("x", b"\x81\x91\x01\x92\xc0\xc0"),
        ("type", b"\xcb\x40\0\0\0\0\0\0\0"),
        ("data", b"\x91\xa1x"),
        ("data", ev),
        ("nsp", b"\xa2/a"),
        ("id", b"\xcb\x40\x08\0\0\0\0\0\0"),
        ("options", b"\x81\xa8compress\xc3"),
    ])
    .unwrap();
    assert_eq!(got, packet(T::Event, "/a", Some(3), Some(r#"["e"]"#), &[]));
    let ev_nsp = |t: &[u8], nsp: &[u8], id: &[u8]| {
        ok(&[("type", t), ("data", ev), ("nsp", nsp), ("id", id)])
    };
    for t in [
        &b"\x05"[..],
        b"\x06",
        b"\xff",
        b"\xa12",
        b"\xc0",
        b"\xcb\x40\x04\0\0\0\0\0\0",
        b"\x91\x02",
    ] {
        assert_eq!(
            ev_nsp(t, b"\xa1/", b"\x01"),
            Err(E::InvalidPacketType),
            "{t:x?}"
        );
    }
    assert_eq!(
        ok(&[("data", ev), ("nsp", b"\xa1/")]),
        Err(E::InvalidPacketType)
    );
    for nsp in [
        &b"\xa0"[..],
        b"\xa5admin",
        b"\xa4/a,b",
        b"\x01",
        b"\xc0",
        b"\x91\xa1/",
        b"\xd4\0\0",
    ] {
        assert_eq!(
            ev_nsp(b"\x02", nsp, b"\x01"),
            Err(E::InvalidNamespace),
            "{nsp:x?}"
        );
    }
    assert_eq!(
        ok(&[("type", b"\x02"), ("data", ev)]),
        Err(E::InvalidNamespace)
    );
    let long = [&[0xda, 0x04, 0x01, b'/'][..], &[b'a'; 1024]].concat();
    assert_eq!(
        ev_nsp(b"\x02", &long, b"\x01"),
        Err(E::NamespaceTooLong { max: 1024 })
    );
    assert_eq!(
        ev_nsp(b"\x02", b"\xa3/\xff\xfe", b"\x01")
            .unwrap()
            .namespace,
        "/\u{fffd}\u{fffd}"
    );
    for id in [
        &b"\xff"[..],
        b"\xc0",
        b"\xa11",
        b"\xcb\x3f\xf8\0\0\0\0\0\0",
        b"\xcf\0\x20\0\0\0\0\0\0",
    ] {
        assert_eq!(
            ev_nsp(b"\x02", b"\xa1/", id),
            Err(E::InvalidAckId),
            "{id:x?}"
        );
    }
    let max = ev_nsp(b"\x02", b"\xa1/", b"\xcf\0\x1f\xff\xff\xff\xff\xff\xff");
    assert_eq!(max.unwrap().id, Some((1 << 53) - 1));
    assert_eq!(ev_nsp(b"\x02", b"\xa1/", b"\xd4\0\0").unwrap().id, None);
    assert_eq!(
        ok(&[("type", b"\x03"), ("data", b"\x90"), ("nsp", b"\xa1/")]),
        Err(E::MissingAckId)
    );
}

#[test]
fn data_shapes() {
    let with = |t: u8, data: Option<&[u8]>| {
        let t = [t];
        let mut entries: Vec<(&str, &[u8])> =
            vec![("type", &t), ("nsp", b"\xa1/"), ("id", b"\x01")];
        entries.extend(data.map(|d| ("data", d)));
        dec(&map(&entries)).map(|p| p.data.map(|d| d.to_string()))
    };
    let obj: &[u8] = b"\x81\xa1a\x01";
    let undefined: &[u8] = b"\xd4\0\0";
    assert_eq!(with(0, None), Ok(None));
    assert_eq!(with(0, Some(undefined)), Ok(None));
    assert_eq!(with(0, Some(obj)), Ok(Some(r#"{"a":1}"#.into())));
    assert_eq!(with(1, None), Ok(None));
    assert_eq!(with(4, Some(b"\xa1x")), Ok(Some(r#""x""#.into())));
    assert_eq!(with(4, Some(obj)), Ok(Some(r#"{"a":1}"#.into())));
    assert_eq!(with(3, Some(b"\x90")), Ok(Some("[]".into())));
    assert_eq!(with(2, Some(b"\x91\x07")), Ok(Some("[7]".into())));
    for (t, data) in [
        (0, &b"\x90"[..]),
        (0, b"\xa1x"),
        (0, b"\xc4\x01\x01"),
        (0, b"\x81\xa1a\xc4\x01\x01"),
        (0, b"\xd7\0\0\0\0\0\0\0\0\0"),
        (1, obj),
        (1, b"\xc0"),
        (4, b"\x01"),
        (4, undefined),
        (4, b"\x81\xa1a\xc4\x01\x01"),
        (3, obj),
        (2, b"\x90"),
        (2, b"\x91\xc0"),
        (2, b"\x91\x91\xa1x"),
        (2, b"\xa1x"),
    ] {
        assert_eq!(
            with(t, Some(data)),
            Err(E::InvalidPayload(type_of(t))),
            "{t} {data:x?}"
        );
    }
    for t in [2, 3] {
        assert_eq!(with(t, None), Err(E::InvalidPayload(type_of(t))));
    }
    assert_eq!(with(2, Some(b"\x91\xa7connect")), Err(E::ReservedEventName));
    // A placeholder-like map is data as any other, unless there is binary next to it.
    let literal = b"\x92\xa1e\x82\xac_placeholder\xc3\xa3num\x00";
    assert!(with(2, Some(literal)).is_ok());
    let both = b"\x93\xa1e\x82\xac_placeholder\xc3\xa3num\x00\xc4\0";
    assert_eq!(with(2, Some(both)), Err(E::LiteralPlaceholder));
    assert!(with(2, Some(b"\x93\xa1e\x81\xac_placeholder\xc2\xc4\0")).is_ok());
}

fn type_of(t: u8) -> T {
    [T::Connect, T::Disconnect, T::Event, T::Ack, T::ConnectError][usize::from(t)]
}
