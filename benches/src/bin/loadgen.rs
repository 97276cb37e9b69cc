//! Socket.IO load generator for the side-by-side benchmarks (see `shared/bench-contract.md`).
//!
//! ```text
//! loadgen fanout-50k --url http://127.0.0.1:3000 --server-pid PID --label oxio
//! loadgen --help
//! ```
//!
//! One core (pin it with `taskset -c 1`): a tokio thread connects thousands of Engine.IO v4 / Socket.IO v5
//! clients over a minimal websocket client (optionally a share on HTTP long-polling) and runs the
//! publisher and the echo clients; connected websocket receivers are read by a paced `mio` loop on a
//! second thread (`--receive-interval-us`). Progress goes to stderr; the result is one JSON object on
//! stdout: latency percentiles (µs, publish → receipt on this process's clock), deliveries/s, loss,
//! server CPU µs per delivery and RSS per connection (from `/proc/PID`), this process's CPU share
//! (`"status": "SATURATED"` above 90 % of its core: the numbers are then its own) and the receive loop's
//! work (`receiver_pool`).

use oxio_benches::loadgen::{options::Options, procstat, scenarios};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let limit = procstat::raise_nofile_limit();
    if limit.is_some_and(|l| (l as usize) < options.clients + 100) {
        eprintln!(
            "warning: open-file limit {limit:?} is below {} clients",
            options.clients
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, scenarios::run(&options));
    match result {
        Ok(value) => {
            println!("{value}");
            // Exit without closing thousands of sessions one by one.
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(1);
        }
    }
}
