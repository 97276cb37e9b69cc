//! Reading event names and arguments out of the data.

use std::borrow::Cow;

use super::complete;
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{
    DataIndex, DecodeError as E, DecodeLimits, Packet, PacketType as T, RawArgs, Reassembly,
};

/// A packet built by hand, whose data the decoder never checked.
fn unchecked(packet_type: T, data: Option<&'static str>) -> Packet {
    Packet {
        data: data.map(Utf8Bytes::from_static),
        ..Packet::new(packet_type, Utf8Bytes::from_static("/"))
    }
}

#[test]
fn event_names() {
    let name = |text| complete(text).event_name().map(Cow::into_owned);
    assert_eq!(name(r#"2["hello",1]"#).as_deref(), Some("hello"));
    assert_eq!(name(r#"2/a,1["héllo"]"#).as_deref(), Some("héllo"));
    assert_eq!(name(r#"2["a\"b\u00e9\n"]"#).as_deref(), Some("a\"bé\n"));
    assert_eq!(name(r#"2["\ud83d\ude00"]"#).as_deref(), Some("😀"));
    assert_eq!(name(r#"2["\ud800x"]"#).as_deref(), Some("\u{fffd}x"));
    assert_eq!(name(r#"2[""]"#).as_deref(), Some(""));
    assert_eq!(name("2[1]").as_deref(), Some("1"));
    assert_eq!(name("2[-1.5e3,2]").as_deref(), Some("-1.5e3"));
    assert_eq!(name(r#"31["a"]"#), None);
    assert_eq!(name(r#"0{"a":1}"#), None);
    assert!(matches!(
        complete(r#"2["plain"]"#).event_name(),
        Some(Cow::Borrowed("plain"))
    ));
    assert!(matches!(
        complete(r#"2["\u0061"]"#).event_name(),
        Some(Cow::Owned(s)) if s == "a"
    ));
}

#[test]
fn event_name_of_unchecked_data() {
    for data in [
        None,
        Some(""),
        Some("["),
        Some("[]"),
        Some("{}"),
        Some("[null]"),
        Some("[{}]"),
        Some(r#"["a"#),
        Some("[1x]"),
    ] {
        assert_eq!(unchecked(T::Event, data).event_name(), None, "{data:?}");
    }
    let spaced = unchecked(T::BinaryEvent, Some(" [ \"a\" , 1 ] "));
    assert_eq!(spaced.event_name().as_deref(), Some("a"));
}

#[test]
fn args_are_slices_of_the_data() {
    let packet = complete(r#"2/admin,12["hello",1,"2",{"a":3}, [4, 5] ,null]"#);
    let args = packet.args().unwrap();
    assert_eq!(
        args.as_slice(),
        ["1", r#""2""#, r#"{"a":3}"#, "[4, 5]", "null"]
    );
    let data = packet.data.as_ref().unwrap().as_bytes().as_ptr_range();
    for arg in &args {
        assert!(data.contains(&arg.as_bytes().as_ptr()), "{arg} was copied");
    }
    assert_eq!(complete(r#"2["only"]"#).args(), Ok(RawArgs::new()));
    assert_eq!(
        complete(r#"31["ok",2]"#).args().unwrap().as_slice(),
        [r#""ok""#, "2"]
    );
    assert_eq!(complete("31[]").args(), Ok(RawArgs::new()));
}

#[test]
fn args_errors() {
    for text in ["0", r#"0{"a":1}"#, "1", r#"4"x""#] {
        let packet = complete(text);
        assert_eq!(packet.args(), Err(E::InvalidPayload(packet.packet_type)));
    }
    assert_eq!(
        unchecked(T::Event, None).args(),
        Err(E::InvalidPayload(T::Event))
    );
    assert_eq!(
        unchecked(T::Event, Some("[]")).args(),
        Err(E::InvalidPayload(T::Event))
    );
    assert_eq!(
        unchecked(T::Ack, Some("{}")).args(),
        Err(E::InvalidPayload(T::Ack))
    );
    for bad in ["[", "[1,]", "[1] x", "[1][2]"] {
        let leaked: &'static str = Box::leak(bad.to_owned().into_boxed_str());
        assert_eq!(unchecked(T::Ack, Some(leaked)).args(), Err(E::InvalidJson));
    }
    assert_eq!(
        unchecked(T::BinaryAck, Some(" [1] "))
            .args()
            .unwrap()
            .as_slice(),
        ["1"]
    );
}

/// `packet` as if built by hand: the same fields, no index.
fn without_index(packet: &Packet) -> Packet {
    Packet {
        index: DataIndex::default(),
        ..packet.clone()
    }
}

#[test]
fn the_index_gives_what_a_scan_gives() {
    for text in [
        r#"2["echo",{"t":1,"p":"x"}]"#,
        r#"2/a,7[ "e" , 1 ,"two", [3] ]"#,
        r#"2["\u0065\"",1]"#,
        "2[-1.5e3,true]",
        r#"2["five",1,2,3,4,5]"#,
        r#"2["many",1,2,3,4,5,6,7,8,9]"#,
        "31[]",
        r#"31[{"a":[1,2]},"b",null]"#,
        r#"31[1,2,3,4,5]"#,
    ] {
        let decoded = complete(text);
        let by_hand = without_index(&decoded);
        assert_eq!(decoded, by_hand, "the index takes no part in equality");
        let indexed = format!("{:?}", decoded.index) != "DataIndex(none)";
        let elements = decoded.args().unwrap().len() + usize::from(decoded.packet_type.is_event());
        assert_eq!(indexed, elements <= 4, "{text}: {:?}", decoded.index);
        assert_eq!(decoded.args(), by_hand.args(), "{text}");
        assert_eq!(decoded.event_name(), by_hand.event_name(), "{text}");
        let cloned = decoded.clone();
        assert_eq!(cloned.args(), by_hand.args(), "{text}");
    }
}

#[test]
fn the_index_is_ignored_once_the_data_changed() {
    let decoded = complete(r#"2["aa",1,2]"#);
    // Other text of the same length.
    let mut replaced = decoded.clone();
    replaced.data = Some(Utf8Bytes::from_static(r#"["bb",[],3]"#));
    assert_eq!(replaced.event_name().as_deref(), Some("bb"));
    assert_eq!(replaced.args().unwrap().as_slice(), ["[]", "3"]);
    // The same buffer, cut shorter: same start, another length.
    let mut cut = decoded.clone();
    let data = bytes::Bytes::from(decoded.data.clone().unwrap());
    let prefix = Utf8Bytes::try_from(data.slice(..6)).unwrap();
    cut.data = Some(prefix);
    assert_eq!(cut.args(), Err(E::InvalidJson), "{:?}", cut.data);
    // No data at all.
    let mut emptied = decoded;
    emptied.data = None;
    assert_eq!(emptied.args(), Err(E::InvalidPayload(T::Event)));
    assert_eq!(emptied.event_name(), None);
}

#[test]
fn a_binary_event_keeps_its_index() {
    let mut reassembly = Reassembly::new(DecodeLimits::default());
    let first = reassembly
        .push_text(Utf8Bytes::from_static(
            r#"51-["up",{"_placeholder":true,"num":0},"x"]"#,
        ))
        .unwrap();
    assert_eq!(first, None);
    let packet = reassembly
        .push_binary(bytes::Bytes::from_static(b"\x01\x02"))
        .unwrap()
        .unwrap();
    assert_eq!(packet.event_name().as_deref(), Some("up"));
    assert_eq!(
        packet.args().unwrap().as_slice(),
        [r#"{"_placeholder":true,"num":0}"#, r#""x""#]
    );
    assert_eq!(packet.args(), without_index(&packet).args());
}
