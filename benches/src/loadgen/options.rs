//! Command-line options of the load generator, with per-scenario defaults from the bench contract.

/// Usage text.
pub const USAGE: &str = "\
usage: loadgen SCENARIO [options]
scenarios:
  fanout-50k    1000 clients, one of them publishes 50 bcast/s (50k deliveries/s)
  fanout-cap    same, rate stepped up until loss >= --loss-limit or p99 >= --p99-limit-ms,
                then bisected (--refine)
  rooms         10000 clients in 100 rooms (auth room), 200 room emits/s, 6 s warm-up
  echo          100 clients, closed-loop echo with ack
  connect       10000 connections, then every one must answer an echo
  cluster       fanout-50k with the publisher on --url (A), receivers on --url-b (B)
  cluster-cap   fanout-cap with the publisher on --url (A), receivers on --url-b (B)
  cluster-rooms rooms with the publisher on --url (A), receivers on --url-b (B)
options:
  --url URL             server (cluster: A)             [http://127.0.0.1:3000]
  --url-b URL           cluster: server B (receivers)
  --server-pid PID      server whose CPU/RSS is measured (cluster: B)
  --server-pid-a PID    cluster: server A, CPU reported too
  --label NAME          server name copied into the result
  --clients N  --rooms N  --rate PUBLISHES_PER_S
  --duration S  --warmup S  --drain S  (seconds, fractions allowed)
  --polling-share F     share (0..1) of receivers on HTTP long-polling   [0]
  --concurrency N       connects in flight                              [64]
  --step F  --max-rate N  --loss-limit F  --p99-limit-ms MS   (fanout-cap, cluster-cap)
  --refine N            cap scans: steps bisecting between the last rate that held and the
                        first that failed                                [2; --quick: 0]
  --confirm N           cap scans: a step that fails is measured N more times before the
                        scan takes the failure                          [1; --quick: 0]
  --max-steal F  --step-retries N   cap scans: a step that fails while the host stole more
                        than F of the machine's CPU time is measured again, up to N times in
                        all (the attempts measured again stay in the result, marked
                        superseded)                               [0.05, 2; --quick: 0]
  --receive-interval-us US  websocket receivers are read at most once per US µs     [500]
                        (one read returns many deliveries; latencies may include up to one
                        interval of waiting; 0: no pacing, the default of echo)
  --wait-secs S         wait this long for the server to listen         [10]
  --quick               short durations, fewer clients (CI smoke)
Progress goes to stderr; the result is one JSON object on stdout.";

/// Everything the load generator was told.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scenario name.
    pub scenario: String,
    /// Server (A in the cluster scenario).
    pub url: String,
    /// Cluster: server B.
    pub url_b: Option<String>,
    /// Measured server.
    pub server_pid: Option<u32>,
    /// Cluster: server A.
    pub server_pid_a: Option<u32>,
    /// Server name for the report.
    pub label: String,
    /// Clients (receivers, echo clients or connections).
    pub clients: usize,
    /// Rooms (0: none).
    pub rooms: usize,
    /// Publishes per second (start rate for fanout-cap).
    pub rate: f64,
    /// Measured window, seconds.
    pub duration: f64,
    /// Warm-up before the window, seconds.
    pub warmup: f64,
    /// Longest wait for stragglers after the window, seconds.
    pub drain: f64,
    /// Share of receivers on long-polling.
    pub polling_share: f64,
    /// Connects in flight.
    pub concurrency: usize,
    /// fanout-cap: rate factor per step.
    pub step: f64,
    /// fanout-cap: highest publish rate tried.
    pub max_rate: f64,
    /// fanout-cap: steps that bisect (geometrically) between the last rate that held and the first
    /// that failed, once the scan stopped on a failure.
    pub refine: u32,
    /// fanout-cap: how many times every failed step is measured again before the scan takes it.
    pub confirm: u32,
    /// fanout-cap: host steal share above which a failed step is measured again.
    pub max_steal: f64,
    /// fanout-cap: how many times in all a failed step is measured again while the host steals more
    /// than `max_steal`.
    pub step_retries: u32,
    /// fanout-cap: loss that fails a step.
    pub loss_limit: f64,
    /// fanout-cap: p99 that fails a step, ms.
    pub p99_limit_ms: f64,
    /// Wait for the server to listen, seconds.
    pub wait_secs: f64,
    /// The receiver pool's pacing: passes start at most this often, µs.
    pub receive_interval_us: u64,
}

fn value<T: std::str::FromStr>(name: &str, value: Option<&String>) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{name} needs a valid value"))
}

impl Options {
    /// Parses `args` (without the program name).
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let scenario = args.first().ok_or(USAGE)?.clone();
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = Options::defaults(&scenario, quick)?;
        let mut i = 1;
        while i < args.len() {
            let (name, next) = (args[i].as_str(), args.get(i + 1));
            i += 2;
            match name {
                "--quick" => i -= 1,
                "--url" => o.url = value(name, next)?,
                "--url-b" => o.url_b = Some(value(name, next)?),
                "--server-pid" => o.server_pid = Some(value(name, next)?),
                "--server-pid-a" => o.server_pid_a = Some(value(name, next)?),
                "--label" => o.label = value(name, next)?,
                "--clients" => o.clients = value(name, next)?,
                "--rooms" => o.rooms = value(name, next)?,
                "--rate" => o.rate = value(name, next)?,
                "--duration" => o.duration = value(name, next)?,
                "--warmup" => o.warmup = value(name, next)?,
                "--drain" => o.drain = value(name, next)?,
                "--polling-share" => o.polling_share = value(name, next)?,
                "--concurrency" => o.concurrency = value(name, next)?,
                "--step" => o.step = value(name, next)?,
                "--max-rate" => o.max_rate = value(name, next)?,
                "--refine" => o.refine = value(name, next)?,
                "--max-steal" => o.max_steal = value(name, next)?,
                "--confirm" => o.confirm = value(name, next)?,
                "--step-retries" => o.step_retries = value(name, next)?,
                "--loss-limit" => o.loss_limit = value(name, next)?,
                "--p99-limit-ms" => o.p99_limit_ms = value(name, next)?,
                "--wait-secs" => o.wait_secs = value(name, next)?,
                "--receive-interval-us" => o.receive_interval_us = value(name, next)?,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown option {other}\n{USAGE}")),
            }
        }
        if o.scenario.starts_with("cluster") && o.url_b.is_none() {
            return Err(format!("{} needs --url-b", o.scenario));
        }
        let shares = [o.polling_share, o.max_steal];
        if !shares.iter().all(|s| (0.0..=1.0).contains(s)) || o.step <= 1.0 || o.clients == 0 {
            return Err(
                "--polling-share and --max-steal must be in 0..1, --step > 1, --clients > 0"
                    .to_owned(),
            );
        }
        Ok(o)
    }

    fn defaults(scenario: &str, quick: bool) -> Result<Options, String> {
        let mut o = Options {
            scenario: scenario.to_owned(),
            url: "http://127.0.0.1:3000".to_owned(),
            url_b: None,
            server_pid: None,
            server_pid_a: None,
            label: "server".to_owned(),
            clients: 1000,
            rooms: 0,
            rate: 50.0,
            duration: 5.0,
            warmup: 2.0,
            drain: 5.0,
            polling_share: 0.0,
            concurrency: 64,
            step: 1.5,
            max_rate: 10_000.0,
            refine: 2,
            confirm: 1,
            max_steal: 0.05,
            step_retries: 2,
            loss_limit: 0.005,
            p99_limit_ms: 50.0,
            wait_secs: 10.0,
            receive_interval_us: 500,
        };
        match scenario {
            "fanout-50k" | "cluster" => {}
            "fanout-cap" | "cluster-cap" => (o.rate, o.duration, o.warmup) = (20.0, 2.0, 1.0),
            "rooms" | "cluster-rooms" => {
                (o.clients, o.rooms, o.rate, o.warmup) = (10_000, 100, 200.0, 6.0)
            }
            // A closed loop has one echo in flight per connection: pacing has no reads to coalesce,
            // it would only cap the rate (see "Echo clients" in `receivers.rs`).
            "echo" => (o.clients, o.warmup, o.receive_interval_us) = (100, 1.0, 0),
            "connect" => o.clients = 10_000,
            other => return Err(format!("unknown scenario {other}\n{USAGE}")),
        }
        if quick {
            (o.duration, o.warmup, o.drain) = (1.0, 0.5, 3.0);
            o.clients = o.clients.min(1000);
            o.rooms = o.rooms.min(10);
            if scenario.ends_with("-cap") {
                (o.rate, o.step, o.max_rate, o.refine) = (50.0, 4.0, 200.0, 0);
                (o.confirm, o.step_retries) = (0, 0);
                o.duration = 0.5;
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Options, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        Options::parse(&args)
    }

    #[test]
    fn defaults_and_overrides() {
        let o = parse("rooms --server-pid 42 --rate 100").unwrap();
        assert_eq!(
            (o.clients, o.rooms, o.rate, o.server_pid),
            (10_000, 100, 100.0, Some(42))
        );
        let o = parse("rooms --quick --label x").unwrap();
        assert_eq!((o.clients, o.rooms, o.label.as_str()), (1000, 10, "x"));
        assert_eq!(o.receive_interval_us, 500);
        let o = parse("fanout-cap --receive-interval-us 0").unwrap();
        assert_eq!(o.receive_interval_us, 0);
        assert_eq!(parse("echo").unwrap().receive_interval_us, 0);
        let o = parse("echo --receive-interval-us 500").unwrap();
        assert_eq!(o.receive_interval_us, 500);
        let o = parse("fanout-cap").unwrap();
        assert_eq!((o.confirm, o.max_steal, o.step_retries), (1, 0.05, 2));
        let o = parse("fanout-cap --quick --max-steal 0.1").unwrap();
        assert_eq!((o.confirm, o.max_steal, o.step_retries), (0, 0.1, 0));
        assert_eq!(parse("fanout-cap --confirm 3").unwrap().confirm, 3);
        assert_eq!(
            parse("fanout-cap --step-retries 5").unwrap().step_retries,
            5
        );
        assert!(parse("fanout-cap --max-steal 2").is_err());
        assert!(parse("cluster").is_err());
        assert!(parse("nope").is_err());
        assert!(parse("echo --bogus 1").is_err());
    }
}
