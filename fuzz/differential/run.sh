#!/usr/bin/env bash
# Differential check of oxio's decoders against Node's (engine.io-parser, socket.io-parser,
# notepack.io, pinned in package-lock.json; the Redis adapter's notepack and JSON paths included):
# runs every file under CORPUS/*/ and directly in CORPUS (default fuzz/corpus; a fuzzing scratch
# corpus such as /tmp/oxio-fuzz, or one target's directory of it, works too) through both, and
# reports every input on which they disagree (accept/reject or decoded value). A disagreement must be a divergence listed in
# fuzz/DIVERGENCES.md (the report names its id) or a bug; the script exits 1 if any is unexplained.
#
# VERBOSE=1 prints the explained disagreements too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$(cd "${1:-$here/../corpus}" && pwd)"
out="${OUT:-$(mktemp -d)}"

if [ ! -d "$here/node_modules" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --silent)
fi
cargo run --quiet --release --manifest-path "$here/../Cargo.toml" --example decode_corpus -- "$corpus" \
    > "$out/rust.jsonl"
node "$here/differential.mjs" decode "$corpus" > "$out/node.jsonl"
echo "outputs in $out"
node "$here/compare.mjs" "$out/node.jsonl" "$out/rust.jsonl" "$corpus"
