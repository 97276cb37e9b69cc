//! Compatibility with Node, byte for byte: what `socket.io-msgpack-parser` 3.0.2's `Encoder` (on
//! notepack.io 2.2.0, Node 20) wrote for each packet below, decoded here and encoded back.
//!
//! Produced by a script that passed each packet object to `new Encoder().encode(packet)` and
//! printed the hex, then fed it to the `Decoder` and printed `JSON.stringify` of the data (binary
//! values swapped for placeholders in document order) as the expected data. Key orders are Node's
//! server's: `{type, data, nsp, id}`, `{id, type, data, nsp}` for acks (checked against socket.io
//! 4.8.4 by logging the frames of a live server and client). The packets: `emit("hello", 1, "2",
//! {a: 3})` on `/` and on `/admin` with ack id 12; `Buffer` arguments, nested too; CONNECT with
//! auth, without data, with a sid; CONNECT_ERROR with an object and a string; ACKs (binary too);
//! DISCONNECT; unicode and escapes; floats; ints at every size boundary; nesting; str 8/16, array
//! 16, map 16, bin 16.

use super::{dec, enc, hex};
use crate::engine_io::Utf8Bytes;
use crate::socket_io::{Packet, PacketType as T};

/// One Node vector and the packet it stands for.
pub(super) struct Vector {
    pub(super) name: &'static str,
    pub(super) hex: &'static str,
    pub(super) packet_type: T,
    pub(super) namespace: &'static str,
    pub(super) id: Option<u64>,
    pub(super) data: Option<&'static str>,
    /// Hex of each attachment.
    pub(super) attachments: &'static [&'static str],
}

impl Vector {
    pub(super) fn packet(&self) -> Packet {
        Packet {
            packet_type: self.packet_type,
            namespace: Utf8Bytes::from_static(self.namespace),
            id: self.id,
            data: self.data.map(Utf8Bytes::from_static),
            attachments: self.attachments.iter().map(|a| hex(a).into()).collect(),
            index: Default::default(),
        }
    }

    /// Decoding the Node bytes gives the packet.
    pub(super) fn check_decode(&self) {
        let decoded = dec(&hex(self.hex)).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        assert_eq!(decoded, self.packet(), "{}", self.name);
    }
}

#[test]
fn node_vectors_decode() {
    for v in EXACT {
        v.check_decode();
    }
}

#[test]
fn node_vectors_encode_byte_for_byte() {
    for v in EXACT {
        assert_eq!(hex(v.hex), enc(&v.packet()), "{}", v.name);
    }
}

const EXACT: &[Vector] = &[
    Vector {
        name: "EMIT",
        hex: "83a47479706502a46461746194a568656c6c6f01a13281a16103a36e7370a12f",
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"hello\",1,\"2\",{\"a\":3}]"),
        attachments: &[],
    },
    Vector {
        name: "EMIT_ADMIN_ACK",
        hex: concat!(
            "84a47479706502a46461746194a568656c6c6f01a13281a16103a36e7370a62f61646d696ea26964",
            "0c",
        ),
        packet_type: T::Event,
        namespace: "/admin",
        id: Some(12),
        data: Some("[\"hello\",1,\"2\",{\"a\":3}]"),
        attachments: &[],
    },
    Vector {
        name: "BINARY",
        hex: "83a47479706502a46461746193a362696ec4020102c40103a36e7370a12f",
        packet_type: T::BinaryEvent,
        namespace: "/",
        id: None,
        data: Some("[\"bin\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"),
        attachments: &["0102", "03"],
    },
    Vector {
        name: "BINARY_NESTED",
        hex: concat!(
            "84a47479706502a46461746193a362696e81a178c402010291c40103a36e7370a62f61646d696ea2",
            "696407",
        ),
        packet_type: T::BinaryEvent,
        namespace: "/admin",
        id: Some(7),
        data: Some(
            "[\"bin\",{\"x\":{\"_placeholder\":true,\"num\":0}},[{\"_placeholder\":true,\"num\":1}]]",
        ),
        attachments: &["0102", "03"],
    },
    Vector {
        name: "CONNECT_AUTH",
        hex: "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a12f",
        packet_type: T::Connect,
        namespace: "/",
        id: None,
        data: Some("{\"token\":\"abc\"}"),
        attachments: &[],
    },
    Vector {
        name: "CONNECT_ADMIN",
        hex: "82a47479706500a36e7370a62f61646d696e",
        packet_type: T::Connect,
        namespace: "/admin",
        id: None,
        data: None,
        attachments: &[],
    },
    Vector {
        name: "CONNECT_SID",
        hex: concat!(
            "83a47479706500a46461746181a3736964b44478356b714c79334e6d5441384f563641414142a36e",
            "7370a12f",
        ),
        packet_type: T::Connect,
        namespace: "/",
        id: None,
        data: Some("{\"sid\":\"Dx5kqLy3NmTA8OV6AAAB\"}"),
        attachments: &[],
    },
    Vector {
        name: "CONNECT_ERROR",
        hex: concat!(
            "83a47479706504a46461746182a76d657373616765ae6e6f7420617574686f72697a6564a4646174",
            "6181a4636f646501a36e7370a12f",
        ),
        packet_type: T::ConnectError,
        namespace: "/",
        id: None,
        data: Some("{\"message\":\"not authorized\",\"data\":{\"code\":1}}"),
        attachments: &[],
    },
    Vector {
        name: "CONNECT_ERROR_STR",
        hex: "83a47479706504a464617461a46e6f7065a36e7370a62f61646d696e",
        packet_type: T::ConnectError,
        namespace: "/admin",
        id: None,
        data: Some("\"nope\""),
        attachments: &[],
    },
    Vector {
        name: "ACK",
        hex: "84a2696401a47479706503a46461746192a26f6b02a36e7370a12f",
        packet_type: T::Ack,
        namespace: "/",
        id: Some(1),
        data: Some("[\"ok\",2]"),
        attachments: &[],
    },
    Vector {
        name: "ACK_EMPTY_ADMIN",
        hex: "84a269640da47479706503a46461746190a36e7370a62f61646d696e",
        packet_type: T::Ack,
        namespace: "/admin",
        id: Some(13),
        data: Some("[]"),
        attachments: &[],
    },
    Vector {
        name: "BINARY_ACK",
        hex: "84a2696405a47479706503a46461746191c40109a36e7370a12f",
        packet_type: T::BinaryAck,
        namespace: "/",
        id: Some(5),
        data: Some("[{\"_placeholder\":true,\"num\":0}]"),
        attachments: &["09"],
    },
    Vector {
        name: "DISCONNECT_ADMIN",
        hex: "82a47479706501a36e7370a62f61646d696e",
        packet_type: T::Disconnect,
        namespace: "/admin",
        id: None,
        data: None,
        attachments: &[],
    },
    Vector {
        name: "UNICODE",
        hex: concat!(
            "83a47479706502a46461746194a2c3a9a9e697a5e69cace8aa9ea4f09f9880aa6122625c630a011f",
            "7f2fa36e7370a62fc3bc6ec3af",
        ),
        packet_type: T::Event,
        namespace: "/ünï",
        id: None,
        data: Some("[\"é\",\"日本語\",\"😀\",\"a\\\"b\\\\c\\n\\u0001\\u001f\u{7f}/\"]"),
        attachments: &[],
    },
    Vector {
        name: "FLOATS",
        hex: concat!(
            "83a47479706502a4646174619ba166cb3ff8000000000000cbbfd0000000000000cb3fb999999999",
            "999acb3e8421f5f40d8376cb40fe240c9fbe76c9cb0000000000000001cb81a56e1fc2f8f359cb40",
            "11666666666666cb3fd3333333333334cb3e7ad7f29abcaf48a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some(
            "[\"f\",1.5,-0.25,0.1,1.5e-7,123456.789,5e-324,-1e-300,4.35,0.30000000000000004,1e-7]",
        ),
        attachments: &[],
    },
    Vector {
        name: "NEG_INTS",
        hex: concat!(
            "83a47479706502a4646174619ba16effe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffff",
            "ffff7fffffffd3ffe0000000000001a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some(
            "[\"n\",-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9007199254740991]",
        ),
        attachments: &[],
    },
    Vector {
        name: "POS_INTS",
        hex: concat!(
            "83a47479706502a4646174619aa1707fcc80ccffcd0100cdffffce00010000ceffffffffcf000000",
            "0100000000cf001fffffffffffffa36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"p\",127,128,255,256,65535,65536,4294967295,4294967296,9007199254740991]"),
        attachments: &[],
    },
    Vector {
        name: "NESTED",
        hex: concat!(
            "83a47479706502a46461746194a46465657081a16181a16281a163920183a164c0a165c3a166c291",
            "919080a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some(
            "[\"deep\",{\"a\":{\"b\":{\"c\":[1,{\"d\":null,\"e\":true,\"f\":false}]}}},[[[]]],{}]",
        ),
        attachments: &[],
    },
    Vector {
        name: "LONG",
        hex: concat!(
            "83a47479706502a46461746195d92878787878787878787878787878787878787878787878787878",
            "787878787878787878787878787878da012c79797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "79797979797979797979797979797979797979797979797979797979797979797979797979797979",
            "7979797979797979797979797979797979797979797979797979797979797979797979797979dc00",
            "10000102030405060708090a0b0c0d0e0fde0010a26b3000a26b3101a26b3202a26b3303a26b3404",
            "a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330d",
            "a36b31340ea36b31350fc5012c070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "070707070707070707070707070707070707070707070707070707070707070707a36e7370a12f",
        ),
        packet_type: T::BinaryEvent,
        namespace: "/",
        id: None,
        data: Some(concat!(
            "[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"yyyyyyyyyyyyyyyyyyyyyyyyyyyy",
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\",[0,1,2,3,4,5,6,7,8,9,10,11,12",
            ",13,14,15],{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,",
            "\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14",
            "\":14,\"k15\":15},{\"_placeholder\":true,\"num\":0}]",
        )),
        attachments: &[concat!(
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "07070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "0707070707070707070707070707070707070707",
        )],
    },
];
