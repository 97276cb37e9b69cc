//! The decoder's JSON checks, [`Packet::args`] and [`Packet::event_name`] against serde_json as the
//! oracle, on generated JSON and on mutated and truncated copies of it.
//!
//! The oracle is the decoder as it was before it had its own scanner: serde_json skipping the value
//! (`IgnoredAny`, `RawValue`) for syntax, a bracket count for depth, and serde_json's byte-string
//! unescaping (which keeps lone surrogates) for event names.

use std::borrow::Cow;

use serde::de::{self, Deserializer as _, IgnoredAny, Visitor};
use serde_json::value::RawValue;

use crate::engine_io::Utf8Bytes;
use crate::socket_io::decode::check_data;
use crate::socket_io::{
    DecodeError as E, DecodeLimits, Decoded, MAX_DEPTH, Packet, PacketType as T, RESERVED_EVENTS,
};

/// Each packet type that has data, with a data shape of its own.
const TYPES: [T; 7] = [
    T::Connect,
    T::Disconnect,
    T::Event,
    T::Ack,
    T::ConnectError,
    T::BinaryEvent,
    T::BinaryAck,
];

/// Generated values; each is checked as it is, then in [`MUTATIONS`] altered copies.
const VALUES: usize = 12_000;
const MUTATIONS: usize = 4;

#[test]
fn scanner_agrees_with_serde_json() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut cases, mut valid) = (0, 0);
    for i in 0..VALUES {
        let json = generate(&mut rng, i);
        for variant in 0..=MUTATIONS {
            let text = match variant {
                0 => json.clone(),
                _ => mutate(&mut rng, &json),
            };
            valid += usize::from(compare(&text));
            cases += 1;
        }
    }
    // Both sides must have been exercised.
    assert!(
        valid > cases / 4 && valid < cases * 3 / 4,
        "{valid} of {cases}"
    );
}

/// Compares every verdict on `data`; returns whether it is valid JSON.
fn compare(data: &str) -> bool {
    let valid = serde_json::from_str::<IgnoredAny>(data).is_ok();
    for t in TYPES {
        assert_eq!(
            check_data(t, Some(data)).map(|_| ()),
            oracle_check(t, data, valid),
            "{t:?} {data:?}"
        );
        let packet = Packet {
            data: Some(Utf8Bytes::from(data.to_owned())),
            ..Packet::new(t, Utf8Bytes::from_static("/"))
        };
        assert_eq!(
            packet
                .args()
                .map(|args| args.iter().map(|a| a.to_string()).collect()),
            oracle_args(t, data, valid),
            "{t:?} {data:?}"
        );
        if valid {
            assert_eq!(
                packet.event_name().map(Cow::into_owned),
                oracle_event_name(t, data),
                "{t:?} {data:?}"
            );
        } else {
            let _ = packet.event_name();
        }
    }
    compare_decoded(data, valid);
    valid
}

/// The same verdicts from a decoded event and ack, which read their data's index, not the data.
fn compare_decoded(data: &str, valid: bool) {
    for (t, header) in [(T::Event, "2"), (T::Ack, "30")] {
        let text = Utf8Bytes::from(format!("{header}{data}"));
        let Ok(Decoded::Complete(packet)) = Packet::decode_text(text, &DecodeLimits::default())
        else {
            continue;
        };
        if packet.data.as_deref() != Some(data) {
            // The header took some of it (digits read as an ack id).
            continue;
        }
        assert_eq!(
            packet
                .args()
                .map(|args| args.iter().map(|a| a.to_string()).collect()),
            oracle_args(t, data, valid),
            "decoded {t:?} {data:?}"
        );
        assert_eq!(
            packet.event_name().map(Cow::into_owned),
            oracle_event_name(t, data),
            "decoded {t:?} {data:?}"
        );
    }
}

/// Whether valid JSON opens more than [`MAX_DEPTH`] containers at once.
fn too_deep(json: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in json.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => depth += 1,
            (false, _, b']' | b'}') => depth -= 1,
            _ => {}
        }
        if depth > MAX_DEPTH {
            return true;
        }
    }
    false
}

fn oracle_check(t: T, data: &str, valid: bool) -> Result<(), E> {
    if !valid || too_deep(data) {
        return Err(E::InvalidJson);
    }
    let invalid = Err(E::InvalidPayload(t));
    let first = data.as_bytes().first();
    match t {
        T::Connect if first == Some(&b'{') => Ok(()),
        T::ConnectError if matches!(first, Some(b'{' | b'"')) => Ok(()),
        T::Ack | T::BinaryAck if first == Some(&b'[') => Ok(()),
        T::Event | T::BinaryEvent if first == Some(&b'[') => {
            let elements: Vec<&RawValue> = serde_json::from_str(data).expect("an array");
            let Some(name) = elements.first().map(|raw| raw.get()) else {
                return invalid;
            };
            match name.as_bytes().first() {
                Some(b'-' | b'0'..=b'9') => Ok(()),
                Some(b'"') => match serde_json::from_str::<String>(name) {
                    Ok(name) if RESERVED_EVENTS.contains(&name.as_str()) => {
                        Err(E::ReservedEventName)
                    }
                    _ => Ok(()),
                },
                _ => invalid,
            }
        }
        _ => invalid,
    }
}

fn oracle_args(t: T, data: &str, valid: bool) -> Result<Vec<String>, E> {
    let invalid = Err(E::InvalidPayload(t));
    let skip = match t {
        T::Event | T::BinaryEvent => 1,
        T::Ack | T::BinaryAck => 0,
        _ => return invalid,
    };
    if data
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first()
        != Some(&b'[')
    {
        return invalid;
    }
    if !valid || too_deep(data) {
        return Err(E::InvalidJson);
    }
    let elements: Vec<&RawValue> = serde_json::from_str(data).expect("an array");
    if elements.len() < skip {
        return invalid;
    }
    Ok(elements
        .iter()
        .skip(skip)
        .map(|raw| raw.get().to_owned())
        .collect())
}

/// The event name of valid data, as the decoder gave it with serde_json.
fn oracle_event_name(t: T, data: &str) -> Option<String> {
    if !t.is_event() || !data.trim_start().starts_with('[') {
        return None;
    }
    let elements: Vec<&RawValue> = serde_json::from_str(data).ok()?;
    let name = elements.first()?.get();
    match name.as_bytes().first()? {
        b'"' => Some(wtf8_lossy(&wtf8_string(name))),
        b'-' | b'0'..=b'9' => Some(name.to_owned()),
        _ => None,
    }
}

/// A string literal's value as serde_json reads it into bytes: lone surrogates in 3-byte WTF-8.
fn wtf8_string(literal: &str) -> Vec<u8> {
    struct Bytes;
    impl Visitor<'_> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_bytes<Er: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, Er> {
            Ok(v.to_vec())
        }
    }
    let mut de = serde_json::Deserializer::from_str(literal);
    de.deserialize_bytes(Bytes).expect("a valid literal")
}

/// WTF-8 with each lone surrogate (`ED A0..BF xx`) replaced by U+FFFD.
fn wtf8_lossy(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if b == 0xed && tail.first().is_some_and(|c| (0xa0..=0xbf).contains(c)) {
            out.extend_from_slice("\u{fffd}".as_bytes());
            rest = tail.get(2..).unwrap_or_default();
        } else {
            out.push(b);
            rest = tail;
        }
    }
    String::from_utf8(out).expect("UTF-8 apart from surrogates")
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Valid JSON: mostly event-like arrays (a name, then arguments), sometimes any value.
fn generate(rng: &mut Rng, i: usize) -> String {
    let mut out = String::new();
    ws(rng, &mut out);
    if i.is_multiple_of(4) {
        value(rng, &mut out, 3);
    } else {
        out.push('[');
        ws(rng, &mut out);
        let names = [
            r#""echo""#,
            r#""chat message""#,
            r#""connect""#,
            r#""disconnecting""#,
            r#""newListener""#,
            r#""\u0063onnect""#,
            r#""removeListene\u0072""#,
            r#""conn\u0065ct ""#,
            r#""\ud800""#,
            r#""\ud83d\ude00""#,
            "12",
            "-0.5e3",
            "null",
            "{}",
            "[]",
            "true",
        ];
        if rng.below(8) != 0 {
            out.push_str(rng.pick(&names));
            for _ in 0..rng.below(4) {
                ws(rng, &mut out);
                out.push(',');
                ws(rng, &mut out);
                value(rng, &mut out, 3);
            }
            ws(rng, &mut out);
        }
        out.push(']');
    }
    ws(rng, &mut out);
    out
}

/// JSON whitespace, usually none.
fn ws(rng: &mut Rng, out: &mut String) {
    if rng.below(6) == 0 {
        out.push_str(rng.pick(&[" ", "\t", "\n", "\r", "  \r\n"]));
    }
}

fn value(rng: &mut Rng, out: &mut String, depth: usize) {
    let kinds = if depth == 0 { 3 } else { 5 };
    match rng.below(kinds) {
        0 => out.push_str(rng.pick(&[
            "0",
            "-0",
            "1",
            "42",
            "-7",
            "3.25",
            "1e10",
            "2E-3",
            "-0.0e+1",
            "1732280000000000",
            "true",
            "false",
            "null",
        ])),
        1 | 2 => string(rng, out),
        3 => {
            out.push('[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                value(rng, out, depth - 1);
                ws(rng, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                string(rng, out);
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                value(rng, out, depth - 1);
            }
            out.push('}');
        }
    }
}

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(12) {
        out.push_str(rng.pick(&[
            "a",
            "b",
            "Z",
            "0",
            " ",
            "é",
            "😀",
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "\u{7f}",
            r#"\""#,
            r"\\",
            r"\/",
            r"\b",
            r"\f",
            r"\n",
            r"\r",
            r"\t",
            r"\u00e9",
            r"\u0000",
            r"\uD83D\uDE00",
            r"\ud800",
            r"\udfff",
            "0123456789abcdef",
        ]));
    }
    out.push('"');
}

/// `json` altered at a random place: cut short, or a byte replaced, inserted or removed.
fn mutate(rng: &mut Rng, json: &str) -> String {
    let mut bytes = json.as_bytes().to_vec();
    let at = rng.below(bytes.len() + 1);
    let interesting = b"\"\\[]{},: \t\n0123456789-+.eEtrufalsn/u\x01\x1fxA";
    let byte = interesting[rng.below(interesting.len())];
    match rng.below(4) {
        0 => bytes.truncate(at),
        1 if at < bytes.len() => bytes[at] = byte,
        2 if at < bytes.len() => {
            bytes.remove(at);
        }
        _ => bytes.insert(at, byte),
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
