//! The msgpack dialect: notepack.io 3 forms, and what older peers send.

use bytes::BytesMut;

use super::super::{Value, decode, encode};
use super::{bin, dump};

fn bytes_of(v: &Value) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(v, &mut out).expect("encodable");
    out.to_vec()
}

#[track_caller]
fn both_ways(v: Value, hex: &str) {
    let bytes = dump(hex);
    assert_eq!(bytes_of(&v), bytes, "encoding {v:?}");
    assert_eq!(decode(&bytes), Ok(v), "decoding {hex}");
}

#[test]
fn integers_take_the_smallest_form() {
    both_ways(Value::Int(0), "00");
    both_ways(Value::Int(127), "7f");
    both_ways(Value::Int(128), "cc 80");
    both_ways(Value::Int(255), "cc ff");
    both_ways(Value::Int(256), "cd 01 00");
    both_ways(Value::Int(65_535), "cd ff ff");
    both_ways(Value::Int(65_536), "ce 00 01 00 00");
    both_ways(Value::Int(4_294_967_295), "ce ff ff ff ff");
    both_ways(Value::Int(4_294_967_296), "cf 00 00 00 01 00 00 00 00");
    both_ways(Value::UInt(u64::MAX), "cf ff ff ff ff ff ff ff ff");
    both_ways(Value::Int(-1), "ff");
    both_ways(Value::Int(-32), "e0");
    both_ways(Value::Int(-33), "d0 df");
    both_ways(Value::Int(-128), "d0 80");
    both_ways(Value::Int(-129), "d1 ff 7f");
    both_ways(Value::Int(-32_768), "d1 80 00");
    both_ways(Value::Int(-32_769), "d2 ff ff 7f ff");
    both_ways(Value::Int(-2_147_483_648), "d2 80 00 00 00");
    both_ways(Value::Int(-2_147_483_649), "d3 ff ff ff ff 7f ff ff ff");
    both_ways(Value::Int(i64::MIN), "d3 80 00 00 00 00 00 00 00");
}

#[test]
fn any_integer_width_decodes() {
    assert_eq!(decode(&dump("cc 05")), Ok(Value::Int(5)));
    assert_eq!(
        decode(&dump("cf 00 00 00 00 00 00 00 05")),
        Ok(Value::Int(5))
    );
    assert_eq!(
        decode(&dump("d3 00 00 00 00 00 00 00 05")),
        Ok(Value::Int(5))
    );
    assert_eq!(decode(&dump("d0 05")), Ok(Value::Int(5)));
}

#[test]
fn floats_like_js_numbers() {
    both_ways(Value::Float(1.5), "cb 3f f8 00 00 00 00 00 00");
    both_ways(Value::Float(f64::INFINITY), "cb 7f f0 00 00 00 00 00 00");
    // An integral number is an integer in JS; -0 is written as 0.
    assert_eq!(bytes_of(&Value::Float(2.0)), dump("02"));
    assert_eq!(bytes_of(&Value::Float(-0.0)), dump("00"));
    assert_eq!(bytes_of(&Value::Float(-300.0)), dump("d1 fe d4"));
    assert_eq!(
        bytes_of(&Value::Float(1e19)),
        dump("cf 8a c7 23 04 89 e8 00 00")
    );
    assert_eq!(
        bytes_of(&Value::Float(1e20)),
        dump("cb 44 15 af 1d 78 b5 8c 40")
    );
    assert_eq!(
        bytes_of(&Value::Float(f64::NAN)),
        dump("cb 7f f8 00 00 00 00 00 00")
    );
    // float32, which notepack never writes, still decodes.
    assert_eq!(decode(&dump("ca 3f c0 00 00")), Ok(Value::Float(1.5)));
}

#[test]
fn scalars_and_strings() {
    both_ways(Value::Nil, "c0");
    both_ways(Value::Bool(false), "c2");
    both_ways(Value::Bool(true), "c3");
    both_ways(Value::str(""), "a0");
    both_ways(Value::str("é"), "a2 c3 a9");
    let s31 = "x".repeat(31);
    both_ways(Value::str(&s31), &format!("bf \"{s31}\""));
    let s32 = "x".repeat(32);
    both_ways(Value::str(&s32), &format!("d9 20 \"{s32}\""));
    let s256 = "x".repeat(256);
    both_ways(Value::str(&s256), &format!("da 01 00 \"{s256}\""));
    let s64k = "x".repeat(65_536);
    both_ways(Value::str(&s64k), &format!("db 00 01 00 00 \"{s64k}\""));
    // Invalid UTF-8 is replaced, as Node's Buffer#toString does.
    assert_eq!(decode(&dump("a2 ff 41")), Ok(Value::str("\u{fffd}A")));
}

#[test]
fn binary_forms() {
    both_ways(Value::Bin(bin(b"")), "c4 00");
    both_ways(Value::Bin(bin(&[1, 2, 3])), "c4 03 01 02 03");
    let b256 = vec![7u8; 256];
    let mut expect = dump("c5 01 00");
    expect.extend(&b256);
    assert_eq!(bytes_of(&Value::Bin(b256.clone().into())), expect);
    assert_eq!(decode(&expect), Ok(Value::Bin(b256.into())));
    let b64k = vec![9u8; 65_536];
    let mut expect = dump("c6 00 01 00 00");
    expect.extend(&b64k);
    assert_eq!(bytes_of(&Value::Bin(b64k.clone().into())), expect);
    assert_eq!(decode(&expect), Ok(Value::Bin(b64k.into())));
}

#[test]
fn array_and_map_forms() {
    let ones = |n| Value::Array(vec![Value::Int(1); n]);
    both_ways(ones(0), "90");
    both_ways(ones(15), &format!("9f {}", "01 ".repeat(15)));
    both_ways(ones(16), &format!("dc 00 10 {}", "01 ".repeat(16)));
    both_ways(
        ones(65_536),
        &format!("dd 00 01 00 00 {}", "01 ".repeat(65_536)),
    );
    let map = |n: usize| Value::Map((0..n).map(|i| (format!("{i:x}"), Value::Nil)).collect());
    both_ways(map(0), "80");
    both_ways(Value::map([("a", Value::Int(1))]), "81 a1 \"a\" 01");
    let fifteen: String = (0..15).map(|i| format!("a1 \"{i:x}\" c0 ")).collect();
    both_ways(map(15), &format!("8f {fifteen}"));
    both_ways(map(16), &format!("de 00 10 {fifteen} a1 \"f\" c0"));
    // map32 decodes too.
    assert_eq!(
        decode(&dump("df 00 00 00 01 a1 \"a\" 01")),
        Ok(Value::map([("a", Value::Int(1))]))
    );
}

#[test]
fn notepack_2_undefined() {
    assert_eq!(decode(&dump("d4 00 00")), Ok(Value::Nil));
    assert_eq!(
        decode(&dump("92 d4 00 00 01")),
        Ok(Value::Array(vec![Value::Nil, Value::Int(1)]))
    );
    // A key whose value is undefined is left out, as JSON.stringify and notepack 3 leave it out.
    assert_eq!(
        decode(&dump("82 a1\"u\" d4 00 00 a1\"k\" 01")),
        Ok(Value::map([("k", Value::Int(1))]))
    );
}

#[test]
fn notepack_2_array_buffer() {
    assert_eq!(
        decode(&dump("c7 03 00 01 02 03")),
        Ok(Value::Bin(bin(&[1, 2, 3])))
    );
    assert_eq!(
        decode(&dump("c8 00 02 00 aa bb")),
        Ok(Value::Bin(bin(&[0xaa, 0xbb])))
    );
    assert_eq!(
        decode(&dump("c9 00 00 00 01 00 ff")),
        Ok(Value::Bin(bin(&[0xff])))
    );
    assert_eq!(decode(&dump("c7 00 00")), Ok(Value::Bin(bin(b""))));
}

#[test]
fn notepack_2_date() {
    // new Date("2000-06-13") is 960854400000 ms = 0x000000dfb7c1f400... as notepack 2 wrote it.
    let ms: i64 = 960_854_400_000;
    let mut bytes = dump("d7 00");
    bytes.extend(ms.to_be_bytes());
    assert_eq!(decode(&bytes), Ok(Value::str("2000-06-13T00:00:00.000Z")));
    let mut before_epoch = dump("d7 00");
    before_epoch.extend((-1i64).to_be_bytes());
    assert_eq!(
        decode(&before_epoch),
        Ok(Value::str("1969-12-31T23:59:59.999Z"))
    );
}

#[test]
fn timestamp_extension_in_three_sizes() {
    // 32-bit: seconds only.
    let mut bytes = dump("d6 ff");
    bytes.extend(960_854_400u32.to_be_bytes());
    assert_eq!(decode(&bytes), Ok(Value::str("2000-06-13T00:00:00.000Z")));
    // 64-bit: 30 bits of nanoseconds, 34 of seconds. 960854400 s + 123456789 ns.
    let v: u64 = (123_456_789u64 << 34) | 960_854_400;
    let mut bytes = dump("d7 ff");
    bytes.extend(v.to_be_bytes());
    assert_eq!(decode(&bytes), Ok(Value::str("2000-06-13T00:00:00.123Z")));
    // 96-bit: 32-bit nanoseconds, then signed 64-bit seconds (before 1970 here).
    let mut bytes = dump("c7 0c ff");
    bytes.extend(500_000_000u32.to_be_bytes());
    bytes.extend((-1i64).to_be_bytes());
    assert_eq!(decode(&bytes), Ok(Value::str("1969-12-31T23:59:59.500Z")));
    // Out of a JS Date's range: an Invalid Date, which JSON gives as null.
    let mut bytes = dump("c7 0c ff 00 00 00 00");
    bytes.extend(i64::MAX.to_be_bytes());
    assert_eq!(decode(&bytes), Ok(Value::Nil));
}

#[test]
fn other_extensions_are_null() {
    assert_eq!(decode(&dump("d4 05 aa")), Ok(Value::Nil));
    assert_eq!(decode(&dump("d5 01 aa bb")), Ok(Value::Nil));
    assert_eq!(decode(&dump("d6 00 00 00 00 00")), Ok(Value::Nil));
    assert_eq!(
        decode(&dump(
            "d8 7f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
        )),
        Ok(Value::Nil)
    );
    // msgpack-lite's Date (ext 0x0d) and a timestamp of a wrong size.
    assert_eq!(
        decode(&dump("d7 0d 00 00 00 00 00 00 00 00")),
        Ok(Value::Nil)
    );
    assert_eq!(decode(&dump("c7 02 ff 00 00")), Ok(Value::Nil));
    // One unknown extension does not fail the message.
    assert_eq!(
        decode(&dump("92 d5 03 00 00 a1 \"x\"")),
        Ok(Value::Array(vec![Value::Nil, Value::str("x")]))
    );
}

#[test]
fn non_string_keys_become_strings() {
    let bytes = dump(
        "87 01 a1\"a\" c3 a1\"b\" c0 a1\"c\" cb 3f f8 00 00 00 00 00 00 a1\"d\" \
         93 01 c0 02 a1\"e\" 80 a1\"f\" c4 01 41 a1\"g\"",
    );
    assert_eq!(
        decode(&bytes),
        Ok(Value::Map(vec![
            ("1".into(), Value::str("a")),
            ("true".into(), Value::str("b")),
            ("null".into(), Value::str("c")),
            ("1.5".into(), Value::str("d")),
            ("1,,2".into(), Value::str("e")),
            ("[object Object]".into(), Value::str("f")),
            ("A".into(), Value::str("g")),
        ]))
    );
}
