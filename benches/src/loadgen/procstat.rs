//! What the load generator reads from `/proc`: CPU time and resident memory of a process, and the
//! time the host took from this machine's CPUs (steal).

use std::time::Instant;

/// utime + stime of `pid` (or of this process for `None`) in seconds, all threads included.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    cpu_times(pid).map(|times| times.user + times.system)
}

/// The CPU time of a process, in seconds: in user space (utime) and in the kernel (stime).
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    /// Seconds in user space.
    pub user: f64,
    /// Seconds in the kernel.
    pub system: f64,
}

/// utime and stime of `pid` (or of this process for `None`), all threads included.
pub fn cpu_times(pid: Option<u32>) -> Option<CpuTimes> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces: count fields from the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    Some(CpuTimes {
        user: utime as f64 / ticks,
        system: stime as f64 / ticks,
    })
}

/// The steal time of all CPUs of this machine so far, in seconds (`/proc/stat`, line `cpu`, field 8):
/// time a virtual CPU wanted to run and the hypervisor ran something else. `None` where the kernel
/// does not report it.
pub fn steal_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let steal: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(steal as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// The number of CPUs this machine has online (steal is summed over all of them): the `cpuN` lines
/// of `/proc/stat`. Not `available_parallelism`, which counts only the CPUs this process may run
/// on, and the load generator runs pinned to one.
fn online_cpus() -> f64 {
    let count = std::fs::read_to_string("/proc/stat").map_or(0, |stat| count_cpu_lines(&stat));
    count.max(1) as f64
}

/// The number of per-CPU lines (`cpu0`, `cpu1`, ...) in the text of `/proc/stat`.
fn count_cpu_lines(stat: &str) -> usize {
    stat.lines()
        .filter(|line| {
            line.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count()
}

/// The resident set size of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_nofile_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).ok()?;
    getrlimit(Resource::Nofile).current
}

/// A CPU and wall-clock snapshot of the server and of the load generator.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    server: Option<CpuTimes>,
    own: Option<f64>,
    steal: Option<f64>,
}

/// CPU use between two snapshots.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Wall-clock seconds.
    pub wall: f64,
    /// Server CPU seconds, when a server pid was given and readable.
    pub server: Option<f64>,
    /// The part of `server` spent in the kernel.
    pub server_system: Option<f64>,
    /// Load generator CPU seconds.
    pub own: Option<f64>,
    /// Seconds stolen by the host, summed over this machine's CPUs.
    pub steal: Option<f64>,
}

impl Snapshot {
    /// Takes a snapshot now.
    pub fn take(server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            server: server_pid.and_then(|pid| cpu_times(Some(pid))),
            own: cpu_seconds(None),
            steal: steal_seconds(),
        }
    }

    /// What was used since `self`, up to `later`.
    pub fn until(&self, later: &Snapshot) -> Usage {
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let (server, later_server) = (self.server, later.server);
        Usage {
            wall: later.at.duration_since(self.at).as_secs_f64(),
            server: delta(
                server.map(|t| t.user + t.system),
                later_server.map(|t| t.user + t.system),
            ),
            server_system: delta(server.map(|t| t.system), later_server.map(|t| t.system)),
            own: delta(self.own, later.own),
            steal: delta(self.steal, later.steal),
        }
    }
}

impl Usage {
    /// The share of one core the load generator used.
    pub fn own_share(&self) -> Option<f64> {
        Some(self.own? / self.wall.max(1e-9))
    }

    /// The share of the machine's CPU time the host stole: a shared machine's noise, which slows
    /// every process alike. Runs with much of it are worth repeating.
    pub fn steal_share(&self) -> Option<f64> {
        Some(self.steal? / (self.wall.max(1e-9) * online_cpus()))
    }

    /// The share of one core the server used.
    pub fn server_share(&self) -> Option<f64> {
        Some(self.server? / self.wall.max(1e-9))
    }

    /// The share of the server's CPU time spent in the kernel (system calls, and the network stack
    /// work they do).
    pub fn server_kernel_share(&self) -> Option<f64> {
        let server = self.server.filter(|&s| s > 0.0)?;
        Some(self.server_system? / server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let before = cpu_seconds(None).expect("own stat");
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_seconds(None).unwrap() >= before);
        let times = cpu_times(None).expect("own stat");
        assert!(times.user > 0.0 && times.system >= 0.0);
        assert!(times.user + times.system >= before);
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        // Every Linux since 2.6.11 reports steal; it never decreases.
        let steal = steal_seconds().expect("/proc/stat has steal");
        assert!(steal >= 0.0 && steal_seconds().unwrap() >= steal);
    }

    #[test]
    fn counts_the_machines_cpus_not_the_affinity() {
        let stat = "cpu  10 0 5 100 0 0 0 3 0 0\ncpu0 5 0 2 50 0 0 0 1 0 0\n\
                    cpu1 5 0 3 50 0 0 0 2 0 0\nintr 12345\nctxt 678\ncpu_extra 1\n";
        assert_eq!(count_cpu_lines(stat), 2);
        // Pinning limits what this process may use, never what the machine has.
        let allowed = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(online_cpus() >= allowed as f64);
    }
}
