//! Prints one JSON line per file under `<corpus>/*/` (and directly under `<corpus>`, a fuzzer's
//! scratch corpus) with what oxio's decoders make of it: the Rust side of the differential check
//! (`fuzz/differential/run.sh`).
//!
//! ```sh
//! cargo run --release --manifest-path fuzz/Cargo.toml --example decode_corpus -- fuzz/corpus
//! ```

use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let mut files = Vec::new();
    let entries: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|d| d.expect("readable corpus directory").path())
        .collect();
    // Files directly under the root: a fuzzer's scratch corpus.
    let mut top: Vec<PathBuf> = entries.iter().filter(|f| f.is_file()).cloned().collect();
    top.sort();
    let mut dirs: Vec<PathBuf> = entries.into_iter().filter(|d| d.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let mut in_dir: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("readable target corpus")
            .map(|f| f.expect("readable corpus entry").path())
            .filter(|f| f.is_file())
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files.extend(top);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for path in files {
        let data = fs::read(&path).expect("readable corpus file");
        let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy();
        use std::io::Write as _;
        writeln!(out, "{}", oxio_fuzz::differential::line(&name, &data)).expect("stdout");
    }
}
