//! Benchmarks and load tools for oxio; see `benches/`.
