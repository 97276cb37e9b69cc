#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS seconds each (default 60).
#
# New corpus entries go to a scratch directory (FUZZ_WORK, default /tmp/oxio-fuzz), not to
# fuzz/corpus/, which holds only the hand-written seeds (seed-*) and saved crash inputs
# (regression-*). Stops at the first target that finds a crash; the input is in fuzz/artifacts/<target>/.
set -euo pipefail

seconds="${1:-60}"
work="${FUZZ_WORK:-/tmp/oxio-fuzz}"
cd "$(dirname "$0")"

# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"

for target in $(cargo fuzz list); do
    mkdir -p "$work/$target" "corpus/$target"
    echo "== $target: ${seconds}s (scratch corpus $work/$target)"
    cargo fuzz run "$target" "$work/$target" "corpus/$target" -- -max_total_time="$seconds"
done
