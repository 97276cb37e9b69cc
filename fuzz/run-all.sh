#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS seconds each (default 60).
#
# New corpus entries go to a scratch directory (FUZZ_WORK, default /tmp/oxio-fuzz), not to
# fuzz/corpus/, which holds only the hand-written seeds (seed-*) and saved crash inputs
# (regression-*). A target that finds a crash stops (the input is in fuzz/artifacts/<target>/); the
# others still run, and the script exits 1 naming the targets that crashed.
#
# Extra arguments go to libFuzzer, e.g. `-fork=1 -ignore_crashes=1` to keep fuzzing past a known
# crash (see "Findings" in README.md).
set -euo pipefail

seconds="${1:-60}"
shift || true
work="${FUZZ_WORK:-/tmp/oxio-fuzz}"
cd "$(dirname "$0")"

# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"

crashed=()
for target in $(cargo fuzz list); do
    mkdir -p "$work/$target" "corpus/$target"
    echo "== $target: ${seconds}s (scratch corpus $work/$target)"
    if ! cargo fuzz run "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 "$@"; then
        crashed+=("$target")
    fi
done
if [ "${#crashed[@]}" -gt 0 ]; then
    echo "crashed: ${crashed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
