//! Runs every file of the fuzz seed corpus (`fuzz/corpus/*/`) through the Engine.IO and Socket.IO
//! decoders, so the seeds and every crash input saved there stay regression tests on the stable
//! toolchain. Seed transcripts (`#oxio-frames`, see `fuzz/src/transcript.rs`) also go through the
//! checks of their target (`fuzz/src/checks.rs`, shared with the fuzz targets).
//!
//! Every file of `corpus/websocket_frames/` also goes through that target's checks
//! (`fuzz/src/websocket_frames.rs`), and its seeds must end as their names say.
//!
//! The structure-aware targets' other inputs are raw bytes for `arbitrary`, not wire data; running them
//! through the wire decoders is still a valid no-panic check.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use oxio_protocol::engine_io::{DecodeError, Packet, Utf8Bytes, decode_payload, encode_payload};
use oxio_protocol::msgpack::MsgpackLimits;
use oxio_protocol::socket_io::{self, DecodeLimits, Decoded};
use oxio_protocol::websocket::FrameError;

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/transcript.rs"]
mod transcript;

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/websocket_frames.rs"]
mod websocket_frames;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");

/// Saved crash inputs of bugs that are not fixed yet (`corpus/<target>/regression-<name>`, and the
/// finding in fuzz/README.md). Their checks must still fail; once a fix makes one pass, this test
/// fails until the entry is removed, and the file becomes an ordinary regression input.
const OPEN_BUGS: &[&str] = &[];
const FUZZ_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/Cargo.toml");

/// The fuzz targets: the `[[bin]]` names of `fuzz/Cargo.toml`.
fn targets() -> Vec<String> {
    let manifest = fs::read_to_string(FUZZ_MANIFEST).expect("fuzz/Cargo.toml");
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = line.strip_prefix("name = ").filter(|_| in_bin) {
            targets.push(name.trim_matches('"').to_owned());
        }
    }
    targets
}

fn target_of(path: &Path) -> &str {
    path.parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn frames(transcript: Vec<transcript::Frame>) -> Vec<(bool, Bytes)> {
    transcript
        .into_iter()
        .map(|f| match f {
            transcript::Frame::Text(t) => (true, Bytes::from(t)),
            transcript::Frame::Binary(b) => (false, Bytes::from(b)),
        })
        .collect()
}

fn inputs(transcript: Vec<transcript::Frame>) -> Vec<checks::Input> {
    transcript
        .into_iter()
        .map(|f| match f {
            transcript::Frame::Text(t) => checks::Input::Text(t),
            transcript::Frame::Binary(b) => checks::Input::Binary(Bytes::from(b)),
        })
        .collect()
}

/// What the Socket.IO targets check, on any file; on a transcript, its target's checks.
fn check_socket_io(path: &Path, data: &[u8]) {
    let text = Utf8Bytes::from(String::from_utf8_lossy(data).into_owned());
    checks::check_text(&text, &DecodeLimits::default());
    checks::check_text(&text, &checks::TINY);
    let Some(transcript) = transcript::parse(data) else {
        return;
    };
    match target_of(path) {
        "websocket_message_path" => {
            checks::websocket_path(frames(transcript.clone()), DecodeLimits::default());
            checks::websocket_path(frames(transcript), checks::TINY);
        }
        _ => {
            let limits = DecodeLimits::default();
            for p in checks::reassembly_model(limits, inputs(transcript.clone())) {
                checks::round_trip(&p, &limits);
            }
            checks::reassembly_model(checks::TINY, inputs(transcript));
        }
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in fs::read_dir(CORPUS).expect("fuzz/corpus is missing") {
        let dir = dir.expect("readable corpus directory").path();
        if !dir.is_dir() {
            continue;
        }
        for file in fs::read_dir(&dir).expect("readable target corpus") {
            let file = file.expect("readable corpus entry").path();
            if file.is_file() {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

fn encode(p: &Packet) -> Bytes {
    let mut out = Vec::with_capacity(p.text_len());
    p.encode_text(&mut out);
    Bytes::from(out)
}

fn check_packet(path: &Path, data: &Bytes) {
    if let Ok(p) = Packet::decode_text(data.clone()) {
        assert_eq!(Packet::decode_text(encode(&p)), Ok(p), "{}", path.display());
    }
    let p = Packet::decode_binary(data.clone());
    assert_eq!(Packet::decode_text(encode(&p)), Ok(p), "{}", path.display());
}

fn check_payload(path: &Path, data: &Bytes) {
    let items: Vec<_> = decode_payload(data.clone()).collect();
    assert!(
        items.iter().rev().skip(1).all(Result::is_ok),
        "{}",
        path.display()
    );
    if let Ok(packets) = items
        .into_iter()
        .collect::<Result<Vec<Packet>, DecodeError>>()
    {
        let mut body = Vec::new();
        encode_payload(&packets, &mut body);
        let again: Result<Vec<Packet>, DecodeError> = decode_payload(Bytes::from(body)).collect();
        assert_eq!(again, Ok(packets), "{}", path.display());
    }
}

#[test]
fn every_corpus_file_decodes_without_panic() {
    let files = corpus_files();
    assert!(!files.is_empty(), "no files under {CORPUS}");
    for path in &files {
        let data = Bytes::from(fs::read(path).expect("readable corpus file"));
        let checks = || {
            check_packet(path, &data);
            check_payload(path, &data);
            check_socket_io(path, &data);
            checks::check_msgpack(&data, &MsgpackLimits::default());
            checks::check_msgpack(&data, &checks::TINY_MSGPACK);
            if target_of(path) == "websocket_frames" {
                websocket_frames::check(&data);
            }
        };
        let name = path
            .strip_prefix(CORPUS)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        if OPEN_BUGS.contains(&name.trim_start_matches('/')) {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(checks));
            assert!(
                result.is_err(),
                "{name} passes now: remove it from OPEN_BUGS"
            );
        } else {
            checks();
        }
    }
}

#[test]
fn every_fuzz_target_has_seeds() {
    let targets = targets();
    assert!(targets.len() >= 7, "fuzz/Cargo.toml names {targets:?}");
    for target in targets {
        let dir = Path::new(CORPUS).join(&target);
        let seeds = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .filter(|f| f.file_name().to_string_lossy().starts_with("seed-"))
            .count();
        assert!(seeds > 0, "{} has no seed-* file", dir.display());
    }
}

#[test]
fn socket_io_seeds_of_every_packet_type_decode() {
    let mut seen = [false; 7];
    for path in corpus_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("seed-") || target_of(&path) != "socket_io_packet" {
            continue;
        }
        let text = Utf8Bytes::try_from(Bytes::from(fs::read(&path).expect("readable")))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ty = match socket_io::Packet::decode_text(text, &DecodeLimits::default()) {
            Ok(Decoded::Complete(p)) => p.packet_type,
            Ok(Decoded::NeedsAttachments(p)) => p.packet().expect("pending packet").packet_type,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        seen[usize::from(ty.as_byte() - b'0')] = true;
    }
    assert_eq!(seen, [true; 7], "a Socket.IO packet type has no seed");
}

#[test]
fn transcript_seeds_decode_whole() {
    // The captured sessions are valid traffic: every Socket.IO message decodes, and every binary
    // packet gets its attachments.
    for path in corpus_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let data = fs::read(&path).expect("readable");
        let Some(transcript) = transcript::parse(&data).filter(|_| name.starts_with("seed-"))
        else {
            continue;
        };
        // A `b<base64>` text frame is a binary message too.
        let ws = target_of(&path) == "websocket_message_path";
        let (texts, binaries) = transcript.iter().fold((0, 0), |(t, b), f| match f {
            transcript::Frame::Text(s) if ws && s.starts_with('b') => (t, b + 1),
            transcript::Frame::Text(_) => (t + 1, b),
            transcript::Frame::Binary(_) => (t, b + 1),
        });
        let packets = match target_of(&path) {
            "websocket_message_path" => {
                checks::receive(frames(transcript), DecodeLimits::default())
            }
            _ => checks::reassembly_model(DecodeLimits::default(), inputs(transcript)),
        };
        let attachments: usize = packets.iter().map(|p| p.attachments.len()).sum();
        assert_eq!(attachments, binaries, "{}", path.display());
        assert!(
            !packets.is_empty() && packets.len() <= texts,
            "{}",
            path.display()
        );
    }
}

#[test]
fn wire_seeds_of_every_packet_type_decode() {
    // The hand-written seeds of the packet and payload targets are valid wire data.
    let mut seen = [false; 7];
    for path in corpus_files() {
        let target = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("seed-")
            || !matches!(target, Some("engine_io_packet" | "engine_io_payload"))
        {
            continue;
        }
        let data = Bytes::from(fs::read(&path).expect("readable corpus file"));
        for packet in decode_payload(data) {
            let packet = packet.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen[usize::from(packet.packet_type().as_byte() - b'0')] = true;
        }
    }
    assert_eq!(seen, [true; 7], "a packet type has no seed");
}

/// What each `websocket_frames` seed decodes to, fed whole: its number of messages and control
/// frames, and the error it ends with (`seed-refuse-*`) or none.
const WEBSOCKET_SEEDS: &[(&str, usize, Option<FrameError>)] = &[
    ("seed-binary", 1, None),
    ("seed-close-empty", 4, None),
    ("seed-close-reason", 2, None),
    ("seed-engine-default-limit", 4, None),
    ("seed-fragmented-binary-empty-fragments", 2, None),
    ("seed-fragmented-text-ping", 3, None),
    ("seed-len16-binary", 1, None),
    ("seed-len16-text-at-limit", 1, None),
    ("seed-len64-binary", 3, None),
    ("seed-len64-huge-pending", 1, None),
    ("seed-len64-largest", 1, None),
    ("seed-mixed", 7, None),
    ("seed-text", 1, None),
    (
        "seed-refuse-close-1-byte",
        0,
        Some(FrameError::InvalidClosePayload),
    ),
    (
        "seed-refuse-close-code",
        0,
        Some(FrameError::InvalidClosePayload),
    ),
    (
        "seed-refuse-close-reason-utf8",
        0,
        Some(FrameError::InvalidUtf8),
    ),
    (
        "seed-refuse-control-too-long",
        0,
        Some(FrameError::ControlTooLong),
    ),
    (
        "seed-refuse-control-16-bit-length",
        0,
        Some(FrameError::ControlTooLong),
    ),
    (
        "seed-refuse-fragmented-control",
        0,
        Some(FrameError::FragmentedControl),
    ),
    (
        "seed-refuse-invalid-length",
        0,
        Some(FrameError::InvalidLength),
    ),
    (
        "seed-refuse-invalid-length-2-53",
        1,
        Some(FrameError::InvalidLength),
    ),
    ("seed-refuse-invalid-utf8", 0, Some(FrameError::InvalidUtf8)),
    (
        "seed-refuse-invalid-utf8-fragments",
        0,
        Some(FrameError::InvalidUtf8),
    ),
    (
        "seed-refuse-message-interrupted",
        1,
        Some(FrameError::MessageInterrupted),
    ),
    (
        "seed-refuse-reserved-bits",
        1,
        Some(FrameError::ReservedBits),
    ),
    (
        "seed-refuse-reserved-bits-rsv3",
        0,
        Some(FrameError::ReservedBits),
    ),
    ("seed-refuse-too-big", 1, Some(FrameError::TooBig)),
    ("seed-refuse-too-big-fragments", 0, Some(FrameError::TooBig)),
    (
        "seed-refuse-too-big-header-only",
        1,
        Some(FrameError::TooBig),
    ),
    (
        "seed-refuse-unexpected-continuation",
        1,
        Some(FrameError::UnexpectedContinuation),
    ),
    (
        "seed-refuse-unknown-control-opcode",
        1,
        Some(FrameError::UnknownOpcode(11)),
    ),
    (
        "seed-refuse-unknown-opcode",
        0,
        Some(FrameError::UnknownOpcode(3)),
    ),
    ("seed-refuse-unmasked", 1, Some(FrameError::Unmasked)),
];

/// The `websocket_frames` seeds are at least 12, each listed in `WEBSOCKET_SEEDS` and decoding (with
/// the limit its first bytes choose) as listed there, and every refusal has a seed.
#[test]
fn websocket_seeds_end_as_named() {
    let mut refused = [false; 11];
    let mut seeds = 0;
    for path in corpus_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("seed-") || target_of(&path) != "websocket_frames" {
            continue;
        }
        seeds += 1;
        let Some(&(_, messages, error)) = WEBSOCKET_SEEDS.iter().find(|(n, ..)| *n == name) else {
            panic!("{name} is not in WEBSOCKET_SEEDS");
        };
        let data = fs::read(&path).expect("readable seed");
        let (max, _, stream) =
            websocket_frames::parse(&data).expect("a seed has its control bytes");
        let outcome = websocket_frames::feed(max, [stream]);
        assert_eq!(
            (outcome.messages.len(), outcome.error),
            (messages, error),
            "{name}: {outcome:?}"
        );
        assert_eq!(name.starts_with("seed-refuse-"), error.is_some(), "{name}");
        if let Some(error) = error {
            refused[match error {
                FrameError::ReservedBits => 0,
                FrameError::UnknownOpcode(_) => 1,
                FrameError::Unmasked => 2,
                FrameError::FragmentedControl => 3,
                FrameError::ControlTooLong => 4,
                FrameError::UnexpectedContinuation => 5,
                FrameError::MessageInterrupted => 6,
                FrameError::InvalidLength => 7,
                FrameError::TooBig => 8,
                FrameError::InvalidUtf8 => 9,
                FrameError::InvalidClosePayload => 10,
            }] = true;
        }
    }
    assert!(seeds >= 12, "only {seeds} websocket_frames seeds");
    assert_eq!(
        seeds,
        WEBSOCKET_SEEDS.len(),
        "a seed of WEBSOCKET_SEEDS is missing"
    );
    assert_eq!(
        refused, [true; 11],
        "a FrameError has no seed-refuse-* file"
    );
}

/// The model's close codes are `is_valid_close_code`'s.
#[test]
fn websocket_model_close_codes() {
    for code in 0..=u16::MAX {
        assert_eq!(
            websocket_frames::model::valid_close_code(code),
            oxio_protocol::websocket::is_valid_close_code(code),
            "{code}"
        );
    }
}
