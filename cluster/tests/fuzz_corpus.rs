//! Runs every file of the `redis_adapter_message` fuzz corpus (`fuzz/corpus/redis_adapter_message/`:
//! the hand-written `seed-*` files, saved crash inputs `regression-*`, and whatever else a local fuzz
//! run left there) through the target's checks, on the stable toolchain: no decoder panics, and
//! whatever decodes re-encodes to a fixed point.

use std::fs;
use std::path::Path;

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/redis_adapter.rs"]
mod redis_adapter;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fuzz/corpus/redis_adapter_message"
);

#[test]
fn every_corpus_file_passes_the_checks() {
    let mut files: Vec<_> = fs::read_dir(Path::new(CORPUS))
        .expect("fuzz/corpus/redis_adapter_message is missing")
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let seeds = files
        .iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .count();
    assert!(seeds >= 30, "only {seeds} seed-* files under {CORPUS}");
    for path in &files {
        let data = fs::read(path).expect("readable corpus file");
        let result = std::panic::catch_unwind(|| redis_adapter::check(&data));
        assert!(result.is_ok(), "{} fails the checks", path.display());
    }
}

/// The seeds are meant to reach every decoder: each kind must accept some of them.
#[test]
fn seeds_reach_every_decoder() {
    use oxio_cluster::redis::wire;
    let mut accepted = [0usize; 5];
    for entry in fs::read_dir(Path::new(CORPUS)).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        {
            continue;
        }
        let data = fs::read(&path).expect("readable seed");
        let oks = [
            wire::decode(&data).is_ok(),
            wire::decode_classic_broadcast(&data).is_ok(),
            wire::decode_classic_request(&data).is_ok(),
            wire::decode_classic_response(&data).is_ok(),
            wire::decode_cluster_message(&data).is_ok(),
        ];
        for (count, ok) in accepted.iter_mut().zip(oks) {
            *count += usize::from(ok);
        }
    }
    assert!(
        accepted.iter().all(|&n| n >= 5),
        "accepted per decoder: {accepted:?}"
    );
}
