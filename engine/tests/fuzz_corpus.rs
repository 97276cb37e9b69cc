//! Runs every file of the `http_query` fuzz corpus (`fuzz/corpus/http_query/`: the hand-written
//! `seed-*` files, saved crash inputs `regression-*`, and whatever else a local fuzz run left there)
//! through the target's checks on the stable toolchain: query parsing agrees with its model, and
//! `Engine::handle` answers every request as Node's engine.io would.

use std::fs;
use std::path::{Path, PathBuf};

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/http_query.rs"]
mod http_query;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/http_query");

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(Path::new(CORPUS))
        .expect("fuzz/corpus/http_query is missing")
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn is_seed(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
}

#[test]
fn every_corpus_file_passes_the_checks() {
    let files = corpus_files();
    let seeds = files.iter().filter(|f| is_seed(f)).count();
    assert!(seeds >= 10, "only {seeds} seed-* files under {CORPUS}");
    for path in &files {
        let data = fs::read(path).expect("readable corpus file");
        let result = std::panic::catch_unwind(|| http_query::check(&data));
        assert!(result.is_ok(), "{} fails the checks", path.display());
    }
}

/// The seeds are requests the engine can read: each one's first line is a request line or a query
/// naming a transport, so `Engine::handle` gets it.
#[test]
fn seeds_are_engine_requests() {
    for path in corpus_files().iter().filter(|f| is_seed(f)) {
        let data = fs::read(path).expect("readable seed");
        let text = String::from_utf8(data).expect("UTF-8 seed");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.contains("transport="),
            "{}: no transport in {first:?}",
            path.display()
        );
    }
}
