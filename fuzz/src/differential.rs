//! oxio's side of the differential check (`fuzz/differential/run.sh`): one JSON line per corpus file,
//! in the shape `fuzz/differential/differential.mjs` prints for Node's decoders. The Socket.IO data is
//! given raw (`data_raw`, the JSON text oxio keeps); the comparison parses it the way Node does.

use bytes::Bytes;
use oxio_protocol::engine_io::{self, Message, decode_payload};
use oxio_protocol::socket_io::{DecodeLimits, Packet, PacketType, Reassembly};
use serde_json::{Value, json};

use crate::transcript::{self, Frame};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn reject(e: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": e.to_string()})
}

fn eio_value(p: &engine_io::Packet) -> Value {
    use engine_io::Packet as P;
    let (ty, data) = match p {
        P::Open(d) => ("open", Some(d)),
        P::Close => ("close", None),
        P::Ping(d) => ("ping", Some(d)),
        P::Pong(d) => ("pong", Some(d)),
        P::Message(Message::Text(d)) => ("message", Some(d)),
        P::Message(Message::Binary(b)) => return json!({"type": "message", "binary": hex(b)}),
        P::Upgrade => ("upgrade", None),
        P::Noop => ("noop", None),
    };
    match data.filter(|d| !d.is_empty()) {
        Some(d) => json!({"type": ty, "data": d.as_str()}),
        None => json!({"type": ty}),
    }
}

/// Socket.IO packet value: binary types as EVENT/ACK (Node relabels them), data raw.
fn sio_value(p: &Packet) -> Value {
    let ty = match p.packet_type {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        t => t,
    };
    let mut v = json!({
        "type": ty.as_byte() - b'0',
        "nsp": p.namespace.as_str(),
        "id": p.id,
        "attachments": p.attachments.len(),
    });
    if let Some(data) = &p.data {
        v["data_raw"] = json!(data.as_str());
    }
    v
}

/// Attachment `i` as `differential.mjs` makes it.
fn attachment(i: usize) -> Bytes {
    match i {
        0..=255 => Bytes::from(vec![i as u8]),
        _ => Bytes::from(vec![(i & 0xff) as u8, 0xff, (i >> 8) as u8]),
    }
}

fn sio(text: &str) -> Value {
    let mut decoder = Reassembly::new(DecodeLimits::default());
    let mut done = match decoder.push_text(text.to_owned().into()) {
        Ok(done) => done,
        Err(e) => return reject(e),
    };
    let mut n = 0;
    while done.is_none() && decoder.pending().is_some() && n < 1000 {
        match decoder.push_binary(attachment(n)) {
            Ok(d) => done = d,
            Err(e) => return reject(e),
        }
        n += 1;
    }
    match done {
        Some(p) => json!({"ok": true, "value": sio_value(&p)}),
        None => reject("incomplete"),
    }
}

/// The websocket receive path on a transcript (the same as `checks::receive`, but it records
/// instead of asserting).
fn ws_path(frames: Vec<Frame>) -> Value {
    let mut decoder = Reassembly::new(DecodeLimits::default());
    let mut packets = Vec::new();
    let mut bytes = Vec::new();
    let mut error = false;
    for frame in frames {
        let packet = match frame {
            Frame::Text(t) => match engine_io::Packet::decode_text(Bytes::from(t)) {
                Ok(p) => p,
                Err(_) => {
                    error = true;
                    break;
                }
            },
            Frame::Binary(b) => engine_io::Packet::decode_binary(Bytes::from(b)),
        };
        let result = match packet {
            engine_io::Packet::Message(Message::Text(t)) => decoder.push_text(t),
            engine_io::Packet::Message(Message::Binary(b)) => {
                bytes.push(hex(&b));
                let k = decoder
                    .pending()
                    .map_or(0, |p| p.expected() - p.remaining());
                // Renumbered as in differential.mjs; the bytes are compared separately.
                decoder.push_binary(attachment(k))
            }
            _ => continue,
        };
        match result {
            Ok(Some(p)) => packets.push(sio_value(&p)),
            Ok(None) => {}
            Err(_) => {
                error = true;
                break;
            }
        }
    }
    json!({"ok": true, "value": {"packets": packets, "error": error, "attachment_bytes": bytes}})
}

/// The JSON line for one corpus file, `file` being its path relative to the corpus root.
#[must_use]
pub fn line(file: &str, data: &[u8]) -> String {
    let text = std::str::from_utf8(data).ok();
    let eio_packet = match text {
        None => json!("skip"),
        Some(_) => match engine_io::Packet::decode_text(Bytes::copy_from_slice(data)) {
            Ok(p) => json!({"ok": true, "value": eio_value(&p)}),
            Err(e) => reject(e),
        },
    };
    // Node reads a polling body as UTF-8 with replacement characters; so does this.
    let lossy = Bytes::from(String::from_utf8_lossy(data).into_owned());
    let eio_payload = match decode_payload(lossy).collect::<Result<Vec<_>, _>>() {
        Ok(ps) => json!({"ok": true, "value": ps.iter().map(eio_value).collect::<Vec<_>>()}),
        Err(e) => reject(e),
    };
    let sio = text.map_or(json!("skip"), sio);
    let ws_path = transcript::parse(data).map_or(json!("skip"), ws_path);
    let msgpack = msgpack(data);
    json!({
        "redis_msgpack": redis_msgpack(data),
        "redis_json": redis_json(data),
        "file": file,
        "eio_packet": eio_packet,
        "eio_payload": eio_payload,
        "sio": sio,
        "ws_path": ws_path,
        "msgpack": msgpack,
    })
    .to_string()
}

/// `msgpack::decode` with the default limits: the packet as in `sio_value`, and the attachments'
/// bytes (the comparison puts them where their placeholders are).
fn msgpack(data: &[u8]) -> Value {
    match oxio_protocol::msgpack::decode(data, &oxio_protocol::msgpack::MsgpackLimits::default()) {
        Ok(p) => {
            let mut v = sio_value(&p);
            v["attachments_hex"] = json!(p.attachments.iter().map(|a| hex(a)).collect::<Vec<_>>());
            json!({"ok": true, "value": v})
        }
        Err(e) => reject(e),
    }
}

/// The Redis adapter's notepack decoder (`oxio_cluster::redis::wire::decode`), the value in the
/// comparison's common form (`redis_form`).
fn redis_msgpack(data: &[u8]) -> Value {
    match oxio_cluster::redis::wire::decode(data) {
        Ok(v) => json!({"ok": true, "value": redis_form(&v)}),
        Err(e) => reject(e),
    }
}

/// The Redis adapter's JSON path (`Value::from_json_text`), for inputs that start with `{` or `[`
/// (Node's adapter parses a message as JSON when it starts with `{`).
fn redis_json(data: &[u8]) -> Value {
    if !matches!(data.first(), Some(b'{' | b'[')) {
        return json!("skip");
    }
    match oxio_cluster::redis::wire::Value::from_json_text(data) {
        Ok(v) => json!({"ok": true, "value": redis_form(&v)}),
        Err(e) => reject(e),
    }
}

/// The common form of a decoded Redis adapter value, as `differential.mjs` writes Node's: JSON, with
/// binary values as `{"$bin": hex}`, NaN and the infinities as `{"$num": "NaN"}` (`"Infinity"`,
/// `"-Infinity"`), and a map's duplicate keys resolved as in JS (the last one wins). Integers are
/// written exactly; the comparison reads them as JS numbers, as Node holds them.
fn redis_form(v: &oxio_cluster::redis::wire::Value) -> Value {
    use oxio_cluster::redis::wire::Value as V;
    match v {
        V::Nil => Value::Null,
        V::Bool(b) => json!(b),
        V::Int(n) => json!(n),
        V::UInt(n) => json!(n),
        V::Float(f) if f.is_nan() => json!({"$num": "NaN"}),
        V::Float(f) if f.is_infinite() => {
            json!({"$num": if *f > 0.0 { "Infinity" } else { "-Infinity" }})
        }
        V::Float(f) => json!(f),
        V::Str(s) => json!(s),
        V::Bin(b) => json!({"$bin": hex(b)}),
        V::Array(items) => Value::Array(items.iter().map(redis_form).collect()),
        V::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, item) in entries {
                map.insert(k.clone(), redis_form(item));
            }
            Value::Object(map)
        }
    }
}
