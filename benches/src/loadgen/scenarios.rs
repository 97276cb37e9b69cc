//! The scenarios: connect the clients, run measured windows, turn the counts into one JSON result.
//!
//! Every scenario but connect starts the receiver pool first, so every websocket receiver and every
//! echo client is handed to it as soon as it is connected (echo clients before their first echo: the
//! pool runs their closed loop, unpaced by default); a step's counts (received, expected, echoes in
//! flight) are this thread's plus the pool's, and the step reports the pool's work over the window
//! (`receiver_pool`).

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::sleep;

use super::client::{self, Role, Spec};
use super::options::Options;
use super::procstat::{Snapshot, rss_kib};
use super::receivers::PassStats;
use super::{Shared, Target, polling};

/// Load generator CPU share above which a result is marked SATURATED.
pub const SATURATION: f64 = 0.9;

/// Runs the scenario `o` names; the result is the JSON object the driver collects.
pub async fn run(o: &Options) -> Result<Value, String> {
    let target = Rc::new(resolve(&o.url, o.wait_secs).await?);
    let target_b = match &o.url_b {
        Some(url) => Some(Rc::new(resolve(url, o.wait_secs).await?)),
        None => None,
    };
    let shared = Rc::new(Shared::new(o.rooms));
    let with_pool = o.scenario != "connect";
    if with_pool {
        let interval = Duration::from_micros(o.receive_interval_us);
        shared
            .start_receiver_pool(interval)
            .map_err(|e| format!("receiver pool: {e}"))?;
    }
    let mut run = Run {
        o,
        shared,
        permits: Arc::new(Semaphore::new(o.concurrency.max(1))),
        rss_before: o.server_pid.and_then(rss_kib),
        result: json!({
            "scenario": o.scenario, "label": o.label, "url": o.url, "url_b": o.url_b,
            "clients": o.clients, "rooms": o.rooms,
            "receive_interval_us": with_pool.then_some(o.receive_interval_us),
        }),
    };
    match o.scenario.as_str() {
        "echo" => run.echo(&target).await,
        "connect" => run.connect(&target).await,
        "fanout-cap" => run.fanout(&target, None, true).await,
        "cluster-cap" => run.fanout(&target, target_b.as_ref(), true).await,
        _ => run.fanout(&target, target_b.as_ref(), false).await,
    }
    run.finish();
    Ok(run.result)
}

async fn resolve(url: &str, wait_secs: f64) -> Result<Target, String> {
    let target = Target::resolve(url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(wait_secs);
    while tokio::net::TcpStream::connect(target.addr).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!("{url}: nothing listens there"));
        }
        sleep(Duration::from_millis(50)).await;
    }
    Ok(target)
}

/// One measured window: its length and the snapshots at its start, at its end and after the drain.
struct Window {
    seconds: f64,
    first: Snapshot,
    mid: Snapshot,
    end: Snapshot,
    /// The receiver pool's work from `first` to `mid`, if there is a pool.
    receive: Option<PassStats>,
}

struct Run<'a> {
    o: &'a Options,
    shared: Rc<Shared>,
    permits: Arc<Semaphore>,
    rss_before: Option<u64>,
    result: Value,
}

fn progress(o: &Options, message: std::fmt::Arguments<'_>) {
    eprintln!("[{} {}] {message}", o.label, o.scenario);
}

/// Whether a cap scan's step held: loss under the limit, p99 under the limit, and deliveries seen.
fn step_held(o: &Options, step: &Value) -> bool {
    let p99_ms = step["latency_us"]["p99"].as_f64().unwrap_or(f64::MAX) / 1000.0;
    let loss = step["loss"].as_f64().unwrap_or(1.0);
    loss < o.loss_limit && p99_ms < o.p99_limit_ms && step["deliveries"] != 0
}

/// Whether a cap scan's failed step is measured again, after `earlier` attempts at its rate. A step
/// that held, or that saturated the load generator (the scan ends there anyway), never is. A failure
/// is measured again `--confirm` times whatever the host did: around 100–230k deliveries/s every
/// server's core fills with one write per delivery until the backlog makes writes coalesce, and p99
/// there runs at 25–50 ms for all of them, so one unlucky step would end a scan that passes the
/// same rate a minute later (one of oxio's scans stopped at 112k against 2,119k in the one before).
/// Beyond that, it is measured again while the host stole more than `--max-steal` of the machine's
/// CPU time, up to `--step-retries` times in all: such a failure says more about the host than
/// about the server (a scan ended at 169k during 25 % steal, a twelfth of its other scans).
fn to_measure_again(o: &Options, step: &Value, earlier: u32) -> bool {
    if step_held(o, step) || step["saturated"] == true {
        return false;
    }
    let steal = step["host_steal_share"].as_f64().unwrap_or(0.0);
    earlier < o.confirm || (earlier < o.step_retries && steal > o.max_steal)
}

/// The host steal a cap scan reports: the most of the steps that decided its result, the one that
/// held (`best`) and those that failed, not counting the attempts measured again. A step that held
/// on the way up decided nothing (steal could only have made it fail), so its steal is left out:
/// otherwise a busy second early in a scan marks the whole scan as disturbed, and `run.sh` keeps
/// a less disturbed scan that ended lower (it kept a 463k scan of the calibration server over one
/// of 4,308k whose 46k step had seen 12 %).
fn scan_steal(o: &Options, steps: &[Value], best: Option<&Value>) -> Option<f64> {
    let failed = steps
        .iter()
        .filter(|s| s["superseded"] != true && !step_held(o, s));
    failed
        .chain(best)
        .filter_map(|s| s["host_steal_share"].as_f64())
        .reduce(f64::max)
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

impl Run<'_> {
    fn set(&mut self, key: &str, value: Value) {
        self.result[key] = value;
    }

    /// Spawns the clients (`polling` marks long-polling ones) and waits until all connected or failed.
    /// Returns the seconds it took.
    async fn connect_all(&mut self, specs: Vec<(Spec, bool)>) -> f64 {
        let (o, shared) = (self.o, self.shared.clone());
        let total = specs.len() + shared.connected.get() + shared.failed.get();
        let started = Instant::now();
        let mut last = Instant::now();
        for (spec, on_polling) in specs {
            let permit = self.permits.clone().acquire_owned().await.expect("open");
            let shared = shared.clone();
            if on_polling {
                tokio::task::spawn_local(polling::run(spec, shared, permit));
            } else {
                tokio::task::spawn_local(client::run(spec, shared, permit));
            }
            if last.elapsed() > Duration::from_secs(1) {
                last = Instant::now();
                let connected = self.shared.connected.get();
                progress(o, format_args!("connecting: {connected}/{total}"));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30 + total as u64 / 200);
        while shared.connected.get() + shared.failed.get() < total && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
            if last.elapsed() > Duration::from_secs(1) {
                last = Instant::now();
                progress(
                    o,
                    format_args!("connecting: {}/{total}", shared.connected.get()),
                );
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (connected, failed) = (shared.connected.get(), shared.failed.get());
        progress(
            o,
            format_args!("{connected} connected, {failed} failed in {elapsed:.2} s"),
        );
        elapsed
    }

    /// Records the server's RSS now that the clients are connected; `elsewhere` of them are not on the
    /// measured server (the cluster publisher, on A).
    async fn note_rss(&mut self, elsewhere: usize) {
        sleep(Duration::from_millis(500)).await;
        let Some(pid) = self.o.server_pid else { return };
        let after = rss_kib(pid);
        let connected = self.shared.connected.get().saturating_sub(elsewhere).max(1);
        self.set("server_rss_kib_before", json!(self.rss_before));
        self.set("server_rss_kib_after", json!(after));
        if let (Some(before), Some(after)) = (self.rss_before, after) {
            let per = after.saturating_sub(before) as f64 * 1024.0 / connected as f64;
            self.set("server_rss_bytes_per_connection", json!(per.round()));
        }
    }

    /// fanout-50k, fanout-cap, rooms and cluster: receivers (on B when there is a B), one publisher.
    async fn fanout(&mut self, target: &Rc<Target>, b: Option<&Rc<Target>>, cap: bool) {
        let o = self.o;
        let rooms = o.rooms;
        let receivers_at = b.unwrap_or(target);
        // Outside the cluster the publisher is client 0 and counts its own deliveries.
        let own = usize::from(b.is_none());
        let mut specs = Vec::new();
        let mut polling_clients = 0;
        for i in own..o.clients {
            let on_polling = (((i + 1) as f64 * o.polling_share).floor()
                > (i as f64 * o.polling_share).floor())
                && i > 0;
            polling_clients += usize::from(on_polling);
            let spec = spec(receivers_at, Role::Receiver, i, rooms, true);
            specs.push((spec, on_polling));
        }
        specs.push((spec(target, Role::Publisher, 0, rooms, own == 1), false));
        self.set("polling_clients", json!(polling_clients));
        self.connect_all(specs).await;
        self.note_rss(1 - own).await;
        if self.shared.connected.get() == 0 {
            return;
        }
        // The scan: the rate grows by `step` until a step fails (or saturates the load generator, or
        // would pass `max_rate`); then `refine` steps bisect, geometrically, between the highest rate
        // that held and the lowest that failed. A step that failed is measured again first
        // (`cap_step`).
        let mut rate = o.rate;
        let mut steps = Vec::new();
        let mut best: Option<(f64, Value)> = None;
        let mut failed_at = None;
        loop {
            let step = if cap {
                self.cap_step(rate, &mut steps).await
            } else {
                self.broadcast_step(rate).await
            };
            let held = step_held(o, &step);
            let saturated = step["saturated"] == true;
            if held {
                best = Some((rate, step.clone()));
            } else {
                failed_at = Some(rate);
            }
            steps.push(step);
            if !cap || !held || saturated || rate * o.step > o.max_rate {
                break;
            }
            rate *= o.step;
            sleep(Duration::from_millis(500)).await;
        }
        if let (true, Some(mut failed)) = (cap, failed_at) {
            for _ in 0..o.refine {
                let Some(held) = best.as_ref().map(|(rate, _)| *rate) else {
                    break;
                };
                if steps.last().is_some_and(|s| s["saturated"] == true) {
                    break;
                }
                sleep(Duration::from_millis(500)).await;
                let rate = (held * failed).sqrt();
                let step = self.cap_step(rate, &mut steps).await;
                if step_held(o, &step) {
                    best = Some((rate, step.clone()));
                } else {
                    failed = rate;
                }
                steps.push(step);
            }
        }
        let best = best.map(|(_, step)| step);
        if cap {
            let held_rate = best
                .as_ref()
                .map_or(json!(0), |s| s["deliveries_per_s"].clone());
            self.set("held_deliveries_per_s", held_rate);
            self.set("steps", json!(steps));
            // (An attempt measured again never saturated: see `to_measure_again`.)
            let saturated = steps.iter().any(|s| s["saturated"] == true);
            let steal = scan_steal(o, &steps, best.as_ref());
            self.merge(best.unwrap_or_else(|| steps[0].clone()));
            self.set("saturated", json!(saturated));
            self.set("host_steal_share", json!(steal));
        } else {
            self.merge(steps.pop().expect("one step"));
        }
    }

    fn merge(&mut self, step: Value) {
        if let Value::Object(fields) = step {
            for (k, v) in fields {
                self.result[k.as_str()] = v;
            }
        }
    }

    /// A cap scan's step at `rate`, measured again for as long as [`to_measure_again`] says so; the
    /// attempts measured again go to `steps`, marked `"superseded"`.
    async fn cap_step(&mut self, rate: f64, steps: &mut Vec<Value>) -> Value {
        let mut step = self.broadcast_step(rate).await;
        let mut earlier = 0;
        while to_measure_again(self.o, &step, earlier) {
            progress(
                self.o,
                format_args!(
                    "failed (host steal {}): measured again",
                    step["host_steal_share"]
                ),
            );
            step["superseded"] = json!(true);
            steps.push(step);
            earlier += 1;
            sleep(Duration::from_millis(500)).await;
            step = self.broadcast_step(rate).await;
        }
        step
    }

    /// One measured window at `rate` publishes/s after the warm-up; the publisher pauses after it.
    async fn broadcast_step(&mut self, rate: f64) -> Value {
        let (o, shared) = (self.o, self.shared.clone());
        let recipients: u64 =
            shared.room_sizes.borrow().iter().sum::<u64>() / o.rooms.max(1) as u64;
        let target = rate * recipients as f64;
        progress(
            o,
            format_args!("rate {rate:.0}/s x {recipients} recipients = {target:.0} deliveries/s"),
        );
        shared.set_rate(rate);
        sleep(Duration::from_secs_f64(o.warmup)).await;
        let window = self.window(|s| s.set_rate(0.0)).await;
        let mut step = self.measure(&window, &window.end);
        step["target_deliveries_per_s"] = json!(target.round());
        step["publish_rate"] = json!(rate);
        progress(o, format_args!("{step}"));
        step
    }

    /// Opens the window, waits it out, calls `stop`, drains until everything owed arrived (or the drain
    /// limit).
    async fn window(&mut self, stop: impl FnOnce(&Shared)) -> Window {
        let (o, shared) = (self.o, self.shared.clone());
        let pid = o.server_pid;
        let pool_stats = || shared.receivers.get().map(|pool| pool.stats());
        shared.start_window((o.duration * 1e6) as u64);
        let first = Snapshot::take(pid);
        let pool_first = pool_stats();
        let a_first = o.server_pid_a.map(|a| Snapshot::take(Some(a)));
        sleep(Duration::from_secs_f64(o.duration)).await;
        let mid = Snapshot::take(pid);
        let pool_mid = pool_stats();
        stop(&shared);
        let deadline = Instant::now() + Duration::from_secs_f64(o.drain);
        while shared.received_in_window() < shared.expected_in_window() && Instant::now() < deadline
        {
            sleep(Duration::from_millis(2)).await;
        }
        let end = Snapshot::take(pid);
        if let Some(a_first) = a_first {
            let usage = a_first.until(&Snapshot::take(o.server_pid_a));
            self.set("server_a_cpu_s", json!(usage.server.map(|s| round(s, 3))));
        }
        let receive = pool_first
            .zip(pool_mid)
            .map(|(first, mid)| mid.since(&first));
        Window {
            seconds: o.duration,
            first,
            mid,
            end,
            receive,
        }
    }

    /// The numbers of one window: the load generator's share and the receiver pool's work span the
    /// window, the server's CPU the window and the drain (up to `end`).
    fn measure(&self, window: &Window, end: &Snapshot) -> Value {
        let own = window.first.until(&window.mid);
        let server = window.first.until(end);
        let shared = &self.shared;
        let (received, expected) = (shared.received_in_window(), shared.expected_in_window());
        let loss = if expected == 0 {
            0.0
        } else {
            1.0 - received.min(expected) as f64 / expected as f64
        };
        let histogram = shared.window_latencies();
        let own_share = own.own_share();
        let per_delivery = server
            .server
            .filter(|_| received > 0)
            .map(|s| round(s * 1e6 / received as f64, 2));
        json!({
            "deliveries": received,
            "expected": expected,
            "loss": round(loss, 6),
            "deliveries_per_s": (received as f64 / window.seconds).round(),
            "latency_us": {
                "p50": histogram.quantile(0.5), "p90": histogram.quantile(0.9),
                "p99": histogram.quantile(0.99), "max": histogram.max(),
            },
            "server_cpu_s": server.server.map(|s| round(s, 3)),
            "server_cpu_us_per_delivery": per_delivery,
            "server_cpu_share": server.server_share().map(|s| round(s, 3)),
            "server_kernel_share": server.server_kernel_share().map(|s| round(s, 3)),
            "loadgen_cpu_share": own_share.map(|s| round(s, 3)),
            "host_steal_share": server.steal_share().map(|s| round(s, 3)),
            "saturated": own_share.is_some_and(|s| s > SATURATION),
            "receiver_pool": window.receive.map(|work| work.summary(own.wall)),
        })
    }

    /// echo: closed-loop emits with ack (run by the receiver pool); a delivery here is one round trip.
    async fn echo(&mut self, target: &Rc<Target>) {
        let o = self.o;
        // Before the clients connect: the pool sends each one's first echo when it is handed over.
        self.shared.set_echo_running(true);
        let specs = (0..o.clients)
            .map(|i| (spec(target, Role::Echo, i, 0, true), false))
            .collect();
        self.connect_all(specs).await;
        self.note_rss(0).await;
        sleep(Duration::from_secs_f64(o.warmup)).await;
        let shared = self.shared.clone();
        let window = self.window(|s| s.set_echo_running(false)).await;
        // Stragglers: wait for answers to echoes sent before the stop.
        let deadline = Instant::now() + Duration::from_secs_f64(o.drain);
        while shared.in_flight_in_all() > 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(2)).await;
        }
        let end = Snapshot::take(o.server_pid);
        let step = self.measure(&window, &end);
        progress(o, format_args!("{step}"));
        self.merge(step);
        let rtt = self.result["deliveries_per_s"].clone();
        let cpu = self.result["server_cpu_us_per_delivery"].clone();
        self.set("round_trips_per_s", rtt);
        self.set("server_cpu_us_per_round_trip", cpu);
    }

    /// connect: N idle connections as fast as they go, then one echo each.
    async fn connect(&mut self, target: &Rc<Target>) {
        let o = self.o;
        let shared = self.shared.clone();
        let specs = (0..o.clients)
            .map(|i| (spec(target, Role::Idle, i, 0, false), false))
            .collect();
        let first = Snapshot::take(o.server_pid);
        let elapsed = self.connect_all(specs).await;
        let usage = first.until(&Snapshot::take(o.server_pid));
        let connected = shared.connected.get();
        self.note_rss(0).await;
        let per_connect = usage
            .server
            .filter(|_| connected > 0)
            .map(|s| round(s * 1e6 / connected as f64, 1));
        let own_share = usage.own_share();
        self.set("connected", json!(connected));
        self.set(
            "connects_per_s",
            json!((connected as f64 / elapsed).round()),
        );
        self.set("server_cpu_us_per_connect", json!(per_connect));
        let kernel_share = usage.server_kernel_share().map(|s| round(s, 3));
        self.set("server_kernel_share", json!(kernel_share));
        self.set("loadgen_cpu_share", json!(own_share.map(|s| round(s, 3))));
        self.set(
            "host_steal_share",
            json!(usage.steal_share().map(|s| round(s, 3))),
        );
        self.set(
            "saturated",
            json!(own_share.is_some_and(|s| s > SATURATION)),
        );
        // Every connection must still answer.
        shared.trigger.send_modify(|n| *n += 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while (shared.echo_answered.get() as usize) < connected && Instant::now() < deadline {
            sleep(Duration::from_millis(5)).await;
        }
        self.set("echo_answered", json!(shared.echo_answered.get()));
        progress(
            o,
            format_args!(
                "{connected} connects in {elapsed:.2} s, {} answered the echo",
                shared.echo_answered.get()
            ),
        );
    }

    /// Fields every result has, and the status.
    fn finish(&mut self) {
        let shared = &self.shared;
        let connected = shared.connected.get();
        self.result["connected"] = json!(connected);
        self.result["connect_failed"] = json!(shared.failed.get());
        self.result["dropped"] = json!(shared.dropped_in_all());
        self.result["first_error"] = json!(shared.any_error());
        let failed = connected == 0
            || (self.o.scenario == "connect"
                && (shared.echo_answered.get() as usize) < self.o.clients)
            || (self.o.scenario != "connect" && self.result["deliveries"] == 0);
        let status = if failed {
            "FAILED"
        } else if self.result["saturated"] == true {
            "SATURATED"
        } else {
            "OK"
        };
        self.result["status"] = json!(status);
    }
}

fn spec(target: &Rc<Target>, role: Role, i: usize, rooms: usize, counts: bool) -> Spec {
    Spec {
        target: target.clone(),
        role,
        room: (rooms > 0).then_some(i % rooms.max(1)),
        rooms: if role == Role::Publisher { rooms } else { 0 },
        counts,
        seed: (i as u32).wrapping_mul(2_654_435_761).wrapping_add(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::parse(&["fanout-cap".to_owned()]).expect("valid")
    }

    fn step(p99_ms: f64, loss: f64, steal: f64, saturated: bool) -> Value {
        json!({
            "latency_us": {"p99": p99_ms * 1000.0}, "loss": loss, "deliveries": 1000,
            "host_steal_share": steal, "saturated": saturated,
        })
    }

    #[test]
    fn a_step_holds_under_both_limits_with_deliveries() {
        let o = options();
        assert!(step_held(&o, &step(49.0, 0.004, 0.0, false)));
        assert!(!step_held(&o, &step(50.0, 0.0, 0.0, false)));
        assert!(!step_held(&o, &step(10.0, 0.005, 0.0, false)));
        let mut none_delivered = step(10.0, 0.0, 0.0, false);
        none_delivered["deliveries"] = json!(0);
        assert!(!step_held(&o, &none_delivered));
    }

    #[test]
    fn a_scan_reports_the_steal_of_the_steps_that_decided_it() {
        let o = options();
        let early = step(20.0, 0.0, 0.12, false);
        let held = step(48.0, 0.0, 0.01, false);
        let mut disturbed = step(139.0, 0.0, 0.25, false);
        disturbed["superseded"] = json!(true);
        let failed = step(70.0, 0.0, 0.03, false);
        let steps = [early, held.clone(), disturbed, failed];
        // Neither the early step that held nor the attempt measured again count.
        assert_eq!(scan_steal(&o, &steps, Some(&held)), Some(0.03));
        // A scan that held nothing: its failures.
        assert_eq!(scan_steal(&o, &steps[2..], None), Some(0.03));
        assert_eq!(scan_steal(&o, &[], None), None);
    }

    #[test]
    fn a_failure_is_confirmed_and_measured_again_while_the_host_is_busy() {
        let o = options();
        assert_eq!((o.confirm, o.step_retries), (1, 2));
        let quiet = step(51.0, 0.0, 0.01, false);
        let busy = step(139.0, 0.0, 0.25, false);
        let lossy_and_busy = step(10.0, 0.02, 0.06, false);
        // Every failure is measured once more; only on a busy host after that, up to two in all.
        assert!(to_measure_again(&o, &quiet, 0));
        assert!(!to_measure_again(&o, &quiet, 1));
        assert!(to_measure_again(&o, &busy, 1));
        assert!(to_measure_again(&o, &lossy_and_busy, 1));
        assert!(!to_measure_again(&o, &busy, 2));
        // Exactly at the steal limit is not busy.
        assert!(!to_measure_again(&o, &step(139.0, 0.0, 0.05, false), 1));
        // Held, however busy the host: nothing to measure again.
        assert!(!to_measure_again(&o, &step(30.0, 0.0, 0.4, false), 0));
        // The load generator saturated: the scan ends there anyway.
        assert!(!to_measure_again(&o, &step(139.0, 0.0, 0.25, true), 0));
        // No steal reported (no /proc/stat): confirmed, then taken.
        let mut unknown = busy.clone();
        unknown["host_steal_share"] = Value::Null;
        assert!(to_measure_again(&o, &unknown, 0));
        assert!(!to_measure_again(&o, &unknown, 1));
        // Without confirmation (`--confirm 0`) a failure on a quiet host stands at once.
        let unconfirmed = Options { confirm: 0, ..o };
        assert!(!to_measure_again(&unconfirmed, &quiet, 0));
        assert!(to_measure_again(&unconfirmed, &busy, 0));
    }
}
