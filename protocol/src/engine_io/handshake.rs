//! [`Handshake`]: the JSON carried by the open packet.
//!
//! Invariants: the JSON field names are camelCase (`sid`, `upgrades`, `pingInterval`, `pingTimeout`,
//! `maxPayload`), as Node's engine.io writes them; times are milliseconds and `maxPayload` is bytes.
//! [`Handshake::from_json`] requires all five fields and ignores unknown ones, and
//! `from_json(to_json(h)) == h` for every handshake.

use serde::{Deserialize, Serialize};

use super::{DecodeError, Packet, Utf8Bytes};

/// The JSON of the open packet: `{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// Transports the client may upgrade to, e.g. `["websocket"]` (empty once on a websocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between the server's pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong before closing the session.
    pub ping_timeout: u64,
    /// The most bytes the server accepts in one packet or polling payload.
    pub max_payload: u64,
}

impl Handshake {
    /// The handshake as JSON, e.g.
    /// `{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing strings, a list of strings and integers has no failure case in serde_json.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The open packet carrying this handshake: `Packet::Open(json)`.
    #[must_use]
    pub fn to_packet(&self) -> Packet {
        Packet::Open(Utf8Bytes::from(self.to_json()))
    }

    /// Parses the JSON of an open packet (the text after the `0`).
    ///
    /// # Errors
    /// [`DecodeError::InvalidHandshake`] if `json` is not an object with all five fields of the right
    /// types.
    pub fn from_json(json: &str) -> Result<Handshake, DecodeError> {
        serde_json::from_str(json).map_err(|_| DecodeError::InvalidHandshake)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::Handshake;
    use crate::engine_io::{DecodeError, Packet};

    fn sample() -> Handshake {
        Handshake {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
        }
    }

    #[test]
    fn json_is_camel_case_like_node() {
        assert_eq!(
            sample().to_json(),
            r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn open_packet_round_trip() {
        let packet = sample().to_packet();
        let mut wire = Vec::new();
        packet.encode_text(&mut wire);
        assert_eq!(wire[0], b'0');
        let Packet::Open(json) = Packet::decode_text(Bytes::from(wire)).unwrap() else {
            panic!("not an open packet");
        };
        assert_eq!(Handshake::from_json(&json), Ok(sample()));
    }

    #[test]
    fn parses_node_output_with_extra_fields() {
        let json =
            r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3,"x":null}"#;
        let h = Handshake::from_json(json).unwrap();
        assert_eq!(
            (
                h.sid.as_str(),
                h.ping_interval,
                h.ping_timeout,
                h.max_payload
            ),
            ("a", 1, 2, 3)
        );
        assert!(h.upgrades.is_empty());
    }

    #[test]
    fn rejects_bad_handshakes() {
        for bad in [
            "",
            "{}",
            "[]",
            "null",
            r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2}"#,
            r#"{"sid":1,"upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"a","upgrades":[],"pingInterval":-1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":2,"maxPayload":3}"#,
            r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3"#,
        ] {
            assert_eq!(
                Handshake::from_json(bad),
                Err(DecodeError::InvalidHandshake),
                "{bad}"
            );
        }
    }
}
