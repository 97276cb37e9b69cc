//! Runs every file of the fuzz seed corpus (`fuzz/corpus/*/`) through the Engine.IO decoders, so the
//! seeds and every crash input saved there stay regression tests on the stable toolchain.
//!
//! The `engine_io_roundtrip` target's inputs are raw bytes for `arbitrary`, not wire data; running them
//! through the wire decoders is still a valid no-panic check.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use oxio_protocol::engine_io::{DecodeError, Packet, decode_payload, encode_payload};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");

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
        check_packet(path, &data);
        check_payload(path, &data);
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
