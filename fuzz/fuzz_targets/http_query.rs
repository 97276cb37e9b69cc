//! Fuzzes the HTTP request parsing the engine does itself (`oxio_engine::query_param`,
//! `EngineQuery::parse`, `RequestInfo::query_param`, and the routing of `Engine::handle`: the
//! transport and protocol checks, the session id, the `Upgrade` header, CORS) on a request line or
//! query string and headers. Nothing panics and everything agrees with a reference model (see
//! `src/http_query.rs`, shared with `engine/tests/fuzz_corpus.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/http_query.rs"]
mod http_query;

fuzz_target!(|data: &[u8]| {
    http_query::check(data);
});
