#!/usr/bin/env python3
"""Turns the load generator's JSON results (one file per server, scenario and run, named
SERVER__SCENARIO__RUN.json) into a markdown table of medians with ratios to Node and to the calibration
server (each ratio is the median of per-run ratios: absolute numbers drift between runs on shared
machines), and a chart of deliveries/s and p99 per server and scenario.

usage: report.py RAW_DIR OUT.md [OUT.png]
"""

import json
import os
import statistics
import sys
from collections import defaultdict

SCENARIOS = ["fanout-50k", "fanout-cap", "rooms", "echo", "connect", "cluster", "cluster-cap", "cluster-rooms"]
SERVERS = ["calibration", "oxio", "socketioxide", "node"]

# scenario -> (rate key, rate unit, CPU key, CPU unit)
METRICS = {
    "fanout-cap": ("held_deliveries_per_s", "deliveries/s (held)", "server_cpu_us_per_delivery", "µs/delivery"),
    "cluster-cap": ("held_deliveries_per_s", "deliveries/s (held)", "server_cpu_us_per_delivery", "µs/delivery"),
    "echo": ("round_trips_per_s", "round trips/s", "server_cpu_us_per_round_trip", "µs/round trip"),
    "connect": ("connects_per_s", "connects/s", "server_cpu_us_per_connect", "µs/connect"),
}
DEFAULT_METRICS = ("deliveries_per_s", "deliveries/s", "server_cpu_us_per_delivery", "µs/delivery")


def load(raw_dir):
    """(scenario, server) -> {run: result}"""
    results = defaultdict(dict)
    for name in sorted(os.listdir(raw_dir)):
        if not name.endswith(".json"):
            continue
        parts = name[: -len(".json")].split("__")
        if len(parts) != 3:
            continue
        server, scenario, run = parts
        try:
            with open(os.path.join(raw_dir, name)) as f:
                result = json.loads(f.read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = {"status": "FAILED"}
        results[(scenario, server)][run] = result
    return results


def metrics(scenario, result):
    rate_key, _, cpu_key, _ = METRICS.get(scenario, DEFAULT_METRICS)
    latency = result.get("latency_us") or {}
    rss = result.get("server_rss_bytes_per_connection")
    return {
        "rate": result.get(rate_key),
        "cpu": result.get(cpu_key),
        "p50": latency.get("p50") / 1000 if latency.get("p50") is not None else None,
        "p99": latency.get("p99") / 1000 if latency.get("p99") is not None else None,
        "rss": rss / 1024 if rss is not None else None,
        "own": result.get("loadgen_cpu_share"),
        "steal": result.get("host_steal_share"),
        "kernel": result.get("server_kernel_share"),
        "loss": result.get("loss"),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(runs, reference, key):
    """Median over runs of this server's value / the reference's value in the same run."""
    values = []
    for run, m in runs.items():
        ref = reference.get(run)
        if ref and m[key] is not None and ref[key]:
            values.append(m[key] / ref[key])
    return median(values)


def fmt(value, digits=1, suffix=""):
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}{suffix}"
    return f"{value:.{digits}f}{suffix}"


def main():
    raw_dir, out_md = sys.argv[1], sys.argv[2]
    out_png = sys.argv[3] if len(sys.argv) > 3 else None
    results = load(raw_dir)
    per_run = {
        key: {run: metrics(key[0], r) for run, r in runs.items() if r.get("status") != "FAILED"}
        for key, runs in results.items()
    }
    scenarios = [s for s in SCENARIOS if any(k[0] == s for k in results)]
    scenarios += sorted({k[0] for k in results} - set(scenarios))
    servers = [s for s in SERVERS if any(k[1] == s for k in results)]
    servers += sorted({k[1] for k in results} - set(servers))

    lines = [
        "# Side-by-side benchmark",
        "",
        f"Medians of the runs in `{os.path.relpath(raw_dir)}`; ratios are medians of per-run ratios "
        "(rate: higher is better; CPU: lower is better). Server on one core, load generator on the other; "
        "see `shared/bench-contract.md`. A run whose load generator used more than 90 % of its core is "
        "SATURATED: its rate is the load generator's, not the server's. Host steal is the share of the "
        "machine's CPU time the hypervisor took during a run (the highest of the row's runs): where it is "
        "more than a few %, every number of that row is disturbed. Kernel is the share of the server's CPU "
        "time spent in the kernel (system calls and the network stack's work in them).",
        "",
        "| scenario | server | runs ok/sat/failed | rate | p50 ms | p99 ms | server CPU | kernel | RSS/conn KB "
        "| rate ×Node | CPU ×Node | rate ×calib | CPU ×calib | loadgen CPU | host steal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    chart = []
    for scenario in scenarios:
        _, rate_unit, _, cpu_unit = METRICS.get(scenario, DEFAULT_METRICS)
        for server in servers:
            runs = results.get((scenario, server))
            if not runs:
                continue
            statuses = [r.get("status") for r in runs.values()]
            counts = "/".join(str(statuses.count(s)) for s in ("OK", "SATURATED", "FAILED"))
            ms = per_run[(scenario, server)]
            med = {k: median(m[k] for m in ms.values()) for k in ("rate", "cpu", "kernel", "p50", "p99", "rss", "own")}
            node = per_run.get((scenario, "node"), {})
            calib = per_run.get((scenario, "calibration"), {})
            lines.append(
                f"| {scenario} | {server} | {counts} | {fmt(med['rate'], 0)} {rate_unit} | {fmt(med['p50'], 2)} "
                f"| {fmt(med['p99'], 2)} | {fmt(med['cpu'], 2)} {cpu_unit if med['cpu'] is not None else ''} "
                f"| {fmt(med['kernel'] * 100 if med['kernel'] is not None else None, 0, ' %')} "
                f"| {fmt(med['rss'], 1)} | {fmt(ratio(ms, node, 'rate'), 2, '×')} "
                f"| {fmt(ratio(ms, node, 'cpu'), 2, '×')} | {fmt(ratio(ms, calib, 'rate'), 2, '×')} "
                f"| {fmt(ratio(ms, calib, 'cpu'), 2, '×')} | {fmt(med['own'] * 100 if med['own'] is not None else None, 0, ' %')} |"
            )
            steals = [m["steal"] for m in ms.values() if m["steal"] is not None]
            lines[-1] += f" {fmt(max(steals) * 100 if steals else None, 0, ' %')} |"
            chart.append((scenario, server, med["rate"], med["p99"]))
    with open(out_md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if out_png:
        plot(chart, scenarios, servers, out_png)


def plot(chart, scenarios, servers, out_png):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install matplotlib): no chart", file=sys.stderr)
        return
    fig, axes = plt.subplots(2, 1, figsize=(11, 8))
    width = 0.8 / max(len(servers), 1)
    values = {(sc, sv): (rate, p99) for sc, sv, rate, p99 in chart}
    for axis, index, title in ((axes[0], 0, "rate (deliveries/s, round trips/s, connects/s)"), (axes[1], 1, "p99 latency (ms)")):
        for i, server in enumerate(servers):
            xs, ys = [], []
            for x, scenario in enumerate(scenarios):
                value = values.get((scenario, server), (None, None))[index]
                if value:
                    xs.append(x + (i - (len(servers) - 1) / 2) * width)
                    ys.append(value)
            axis.bar(xs, ys, width, label=server)
        axis.set_yscale("log")
        axis.set_title(title)
        axis.set_xticks(range(len(scenarios)))
        axis.set_xticklabels(scenarios)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    print(f"chart: {out_png}", file=sys.stderr)


if __name__ == "__main__":
    main()
