//! Benchmarks and load tools for oxio; see `benches/`.

pub mod loadgen;
