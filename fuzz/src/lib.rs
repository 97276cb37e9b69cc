//! Shared code of the oxio fuzz targets: the seed transcript format, the Socket.IO checks, and the
//! JSON lines of the differential check (`examples/decode_corpus.rs`).

pub mod checks;
pub mod differential;
pub mod transcript;
