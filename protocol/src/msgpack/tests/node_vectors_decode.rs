//! Node vectors (produced as those of [`node_vectors`](super::node_vectors)) that decode to a
//! packet this crate encodes differently, or not at all: notepack's `ArrayBuffer` (ext type 0),
//! `Date` and `undefined` extensions, NaN and infinities, notepack's uint 64 for large doubles, and
//! frames logged from socket.io 4.8.4's live server and client (`options` key, `undefined` entries,
//! `id` before `nsp`). Each must decode to the packet given, and that packet must survive our own
//! encoding.

use super::node_vectors::Vector;
use super::{dec, enc};
use crate::socket_io::PacketType as T;

#[test]
fn node_vectors_decode_only() {
    for v in DECODE_ONLY {
        v.check_decode();
        let packet = v.packet();
        assert_eq!(dec(&enc(&packet)).unwrap(), packet, "{}", v.name);
    }
}

/// `LARGE` is `["l", 2 ** 60, 1e21, 1e300]`: notepack writes the last two as wrong uint 64s (1e21
/// loses its top byte, 1e300 becomes 0); integers are decoded exactly, where Node rounds 2^60 to
/// `1152921504606847000`.
const DECODE_ONLY: &[Vector] = &[
    Vector {
        name: "LARGE",
        hex: concat!(
            "83a47479706502a46461746194a16ccf1000000000000000cf35c9adc5dea00000cf000000000000",
            "0000a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"l\",1152921504606846976,3875820019684212736,0]"),
        attachments: &[],
    },
    Vector {
        name: "ARRAYBUFFER",
        hex: "83a47479706502a46461746192a26162c70300010203a36e7370a12f",
        packet_type: T::BinaryEvent,
        namespace: "/",
        id: None,
        data: Some("[\"ab\",{\"_placeholder\":true,\"num\":0}]"),
        attachments: &["010203"],
    },
    Vector {
        name: "DATE",
        hex: concat!(
            "83a47479706502a46461746193a164d7000000018cc820d88ed700ffffffffffffffffa36e7370a1",
            "2f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"d\",\"2024-01-02T03:04:05.006Z\",\"1969-12-31T23:59:59.999Z\"]"),
        attachments: &[],
    },
    Vector {
        name: "UNDEFINED",
        hex: "83a47479706502a46461746193a175d4000082a161d40000a16201a36e7370a12f",
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"u\",null,{\"b\":1}]"),
        attachments: &[],
    },
    Vector {
        name: "SPECIAL_FLOATS",
        hex: concat!(
            "83a47479706502a46461746195a173cb7ff8000000000000cb7ff0000000000000cbfff000000000",
            "000000a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: None,
        data: Some("[\"s\",null,null,null,0]"),
        attachments: &[],
    },
    Vector {
        name: "CLIENT_EMIT",
        hex: concat!(
            "85a47479706502a46461746193a568656c6c6f01a132a76f7074696f6e7381a8636f6d7072657373",
            "c3a2696400a36e7370a12f",
        ),
        packet_type: T::Event,
        namespace: "/",
        id: Some(0),
        data: Some("[\"hello\",1,\"2\"]"),
        attachments: &[],
    },
    Vector {
        name: "SERVER_CONNECT",
        hex: concat!(
            "83a47479706500a46461746182a3736964b44478356b714c79334e6d5441384f563641414142a370",
            "6964d40000a36e7370a12f",
        ),
        packet_type: T::Connect,
        namespace: "/",
        id: None,
        data: Some("{\"sid\":\"Dx5kqLy3NmTA8OV6AAAB\"}"),
        attachments: &[],
    },
    Vector {
        name: "SOCKET_EMIT_ACK",
        hex: "84a47479706502a46461746192a673727661636ba178a2696400a36e7370a12f",
        packet_type: T::Event,
        namespace: "/",
        id: Some(0),
        data: Some("[\"srvack\",\"x\"]"),
        attachments: &[],
    },
    Vector {
        name: "MIDDLEWARE_ERROR",
        hex: concat!(
            "83a47479706504a46461746182a76d657373616765ae6e6f7420617574686f72697a6564a4646174",
            "61d40000a36e7370a62f61646d696e",
        ),
        packet_type: T::ConnectError,
        namespace: "/admin",
        id: None,
        data: Some("{\"message\":\"not authorized\"}"),
        attachments: &[],
    },
    Vector {
        name: "CLIENT_ACK",
        hex: "84a47479706503a2696400a4646174619107a36e7370a12f",
        packet_type: T::Ack,
        namespace: "/",
        id: Some(0),
        data: Some("[7]"),
        attachments: &[],
    },
    Vector {
        name: "CLIENT_CONNECT",
        hex: "83a47479706500a464617461d40000a36e7370a62f61646d696e",
        packet_type: T::Connect,
        namespace: "/admin",
        id: None,
        data: None,
        attachments: &[],
    },
];
