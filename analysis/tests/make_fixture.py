#!/usr/bin/env python3
"""make_fixture.py - deterministic synthetic muxbench CSVs, for the tests and for developing
the notebooks before (or without) a real run.

    python3 analysis/tests/make_fixture.py OUT.csv [--seed N] [--quick] [--partial]
                                           [--omit WORKLOAD[,WORKLOAD...]]

The values follow the shapes measured on a 2-core VM while planning (blocking poll/select over
~1,000 unix sockets ~100 us per call, epoll < 1 us at any N; futex ping-pong ~2.6 us on one CPU
and ~30 us across two; asm coroutine switch ~10 ns, swapcontext ~220 ns; 10,000 idle threads
~80 GB virtual but < 100 MB resident plus ~16 KB kernel stack each; thread create+join ~25 us),
with a little seeded noise. The host is called "synthetic" and the CPU "Synthetic CPU (muxbench
fixture)", so a report made from it cannot be mistaken for a measurement.

CsvBuilder is also the way the tests write hand-made CSVs with exact, known values.
"""
import argparse
import csv
import io
import math
import os
import random
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from muxbench_analysis.schema import COLUMNS, METRICS  # noqa: E402

KiB = 1024
MiB = 1024 * KiB

# Metrics whose per-operation latencies the workload records, so a p99 means something.
P99_METRICS = {"wait_ns", "event_ns", "idle_wait_ns", "switch_ns", "create_ns"}


def fmt_num(v):
    """A number as the suite writes it: '.' decimal separator, no exponent, no thousands."""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    s = "%.6f" % v if abs(v) >= 1e-3 else "%.12f" % v
    return s.rstrip("0").rstrip(".")


class CsvBuilder:
    """Rows in the column order of docs/csv.md, written as the suite would write them."""

    def __init__(self, run_id="20261122T014037Z-synthetic-4242", host="synthetic",
                 kernel="6.1.0-synthetic", cpu_model="Synthetic CPU (muxbench fixture)",
                 start="2026-11-22T01:40:37Z", reps=5):
        self.run_id, self.host, self.kernel, self.cpu_model = run_id, host, kernel, cpu_model
        self.t = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        self.reps = reps
        self.rows = []

    def _stamp(self):
        self.t += timedelta(milliseconds=250)
        return self.t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def row(self, **cols):
        r = {c: "" for c in COLUMNS}
        r.update(run_id=self.run_id, timestamp=self._stamp(), host=self.host,
                 kernel=self.kernel, cpu_model=self.cpu_model)
        for k, v in cols.items():
            if k not in r:
                raise KeyError("no column %r in the contract" % k)
            r[k] = fmt_num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        self.rows.append(r)
        return r

    def case(self, workload, metric, median, cv=0.03, p99=None, iterations=1000, reps=None,
             stats=None, unit=None, **cols):
        """One case's rows for one metric: median, mean, min, max, stddev, cv (and p99 where
        the workload records per-operation latencies), with exact values derived from
        median and cv: min = median*(1-1.5cv), max = median*(1+2cv), stddev = cv*median."""
        unit = unit or METRICS[workload][metric]
        reps = self.reps if reps is None else reps
        m = float(median)
        values = {
            "median": m, "mean": m * (1 + cv / 4), "min": m * (1 - 1.5 * cv),
            "max": m * (1 + 2 * cv), "stddev": cv * m, "cv": cv,
        }
        if p99 is not None or metric in P99_METRICS:
            values["p99"] = p99 if p99 is not None else m * (1 + 12 * cv)
        for stat in stats or values:
            self.row(workload=workload, metric=metric, stat=stat, value=values[stat],
                     unit="ratio" if stat == "cv" else unit, repetitions=reps,
                     iterations=iterations, status="ok", **cols)

    def case_reps(self, workload, metric, values, iterations=1000, unit=None, **cols):
        """One case's rows for one metric from its per-repetition values, as the suite writes
        them: the summary statistics computed over values, then rep1..repN (docs/csv.md)."""
        import statistics
        unit = unit or METRICS[workload][metric]
        v = [float(x) for x in values]
        n = len(v)
        mean = statistics.fmean(v)
        sd = statistics.stdev(v) if n > 1 else ""
        cv = sd / abs(mean) if n > 1 and mean else ""
        summary = (("median", statistics.median(v)), ("mean", mean), ("min", min(v)),
                   ("max", max(v)), ("stddev", sd), ("cv", cv))
        for stat, value in summary:
            self.row(workload=workload, metric=metric, stat=stat, value=value,
                     unit="ratio" if stat == "cv" else unit, repetitions=n,
                     iterations=iterations, status="ok", **cols)
        for k, value in enumerate(v, 1):
            self.row(workload=workload, metric=metric, stat="rep%d" % k, value=value, unit=unit,
                     repetitions=n, iterations=iterations, status="ok", **cols)

    def derived(self, workload, metric, value, note, stat="median", **cols):
        self.row(workload=workload, metric=metric, stat=stat, value=value,
                 unit=METRICS[workload][metric], status="derived", note=note, **cols)

    def skipped(self, workload, note, metric="", **cols):
        self.row(workload=workload, metric=metric, status="skipped", note=note, **cols)

    def error(self, workload, note, metric="", **cols):
        self.row(workload=workload, metric=metric, status="error", note=note, **cols)

    def limit(self, workload, metric, value, note, **cols):
        self.row(workload=workload, metric=metric, value=value, unit=METRICS[workload][metric],
                 status="limit", note=note, **cols)

    def env(self, item, value=None, note=None):
        self.row(workload="env", metric=item, value="" if value is None else value,
                 status="env", note=note or "")

    def complete(self):
        self.env("run_complete", 1)

    def text(self):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        return buf.getvalue()

    def write(self, path):
        with open(path, "w", newline="") as f:
            f.write(self.text())
        return path


def standard_env(b, cores=2, threads_max=191473, max_map_count=65530):
    """The environment rows a run writes first."""
    b.env("kernel", note=b.kernel)
    b.env("cpu_model", note=b.cpu_model)
    b.env("cpus_online", cores)
    b.env("cores", cores)
    b.env("smt", 0)
    b.env("governor", note="unavailable (no cpufreq in this VM)")
    b.env("turbo", note="unavailable")
    b.env("vuln.meltdown", note="Not affected")
    b.env("vuln.spectre_v2", note="Mitigation: Enhanced / Automatic IBRS; IBPB: conditional")
    b.env("vuln.retbleed", note="Not affected")
    b.env("rlimit_nofile", 1048576)
    b.env("rlimit_nofile_max", 1048576)
    b.env("threads_max", threads_max)
    b.env("max_map_count", max_map_count)
    b.env("io_uring_disabled", 0)
    b.env("io_uring_setup_flags", note="IORING_SETUP_SINGLE_ISSUER")
    b.env("compiler", note="gcc 12.2.0")
    b.env("cflags", note="-O2 -D_FORTIFY_SOURCE=2")
    b.env("build_type", note="Release")
    b.env("git_revision", note="synthetic")
    b.env("hwloc_version", note="2.9.0")
    b.env("topology", note="Machine (24GB) + Package L#0 + L3 L#0 (32MB) + 2 x Core + PU")
    b.env("placements", note="same-pu,same-l3,unpinned")
    b.env("command_line", note="synthetic fixture (analysis/tests/make_fixture.py), "
                                "not a measurement")
    b.env("benchmark_version", note="1.7.1")
    b.env("clock", note="clock_gettime(CLOCK_MONOTONIC), vDSO")


# ---- the realistic synthetic run -------------------------------------------------------

# wait_ns of one blocking wait with one active fd: fixed + per_fd * fds.
WAIT_MODEL = {
    "select": (1800.0, 102.0), "poll": (1500.0, 96.0), "epoll": (620.0, 0.0008),
    "epoll-et": (600.0, 0.0007), "io_uring": (950.0, 0.001),
    "libevent-epoll": (800.0, 0.0008), "libev": (690.0, 0.0008), "libuv": (750.0, 0.0008),
}
IDLE_MODEL = {
    "select": (250.0, 80.0), "poll": (220.0, 75.0), "epoll": (180.0, 0.0),
    "epoll-et": (180.0, 0.0), "io_uring": (300.0, 0.0),
    "libevent-epoll": (270.0, 0.0), "libev": (230.0, 0.0), "libuv": (260.0, 0.0),
}
ADD_MODEL = {
    "select": 25.0, "poll": 30.0, "epoll": 380.0, "epoll-et": 390.0, "io_uring": 520.0,
    "libevent-epoll": 520.0, "libev": 450.0, "libuv": 600.0,
}
SWITCH_MODEL = {  # (mechanism, placement) -> (switch_ns at same-pu else wake_ns, counted/expected)
    ("futex", "same-pu"): (2600.0, 1.01), ("futex", "same-l3"): (30000.0, 1.02),
    ("futex", "unpinned"): (14000.0, 0.98),
    ("pipe", "same-pu"): (3400.0, 1.0), ("pipe", "same-l3"): (34000.0, 1.01),
    ("pipe", "unpinned"): (18000.0, 0.99),
    ("yield", "same-pu"): (900.0, 0.99), ("yield", "same-l3"): (160.0, 0.04),
    ("yield", "unpinned"): (600.0, 0.35),
}


def make_synthetic(seed=1, quick=False, partial=False, omit=()):
    rng = random.Random(seed)

    def noisy(v, sigma=0.02):
        return v * math.exp(rng.gauss(0.0, sigma))

    def cv():
        return round(rng.uniform(0.01, 0.06), 4)

    b = CsvBuilder(reps=3 if quick else 5)
    standard_env(b)
    pollers = list(WAIT_MODEL)
    fds_sweep = [10, 100, 1000] if quick else [10, 100, 1000, 10000, 100000]

    if "fanin" not in omit:
        fan = dict(writes=1, transport="unix")
        for p in pollers:
            fixed, per_fd = WAIT_MODEL[p]
            points = []
            for n in fds_sweep:
                if p == "io_uring" and n == 100000:
                    b.error("fanin", "io_uring_register: -ENOMEM (RLIMIT_MEMLOCK 8 MiB): raise "
                            "ulimit -l", metric="wait_ns", poller=p, fds=n, active=1,
                            position="spread", timeout="blocking", **fan)
                    continue
                w = noisy(fixed + per_fd * n)
                points.append((n, w))
                c = dict(poller=p, fds=n, active=1, position="spread", timeout="blocking", **fan)
                b.case("fanin", "wait_ns", w, cv(), iterations=max(100, 200000 // n), **c)
                b.case("fanin", "event_ns", w, cv(), iterations=max(100, 200000 // n), **c)
                b.case("fanin", "events_per_wait", 1, 0.0, stats=("median",), **c)
                a = noisy(ADD_MODEL[p] * (1 + 0.03 * math.log10(n)))
                b.case("fanin", "add_ns", a, cv(), iterations=n, **c)
                b.case("fanin", "del_ns", noisy(0.8 * a), cv(), iterations=n, **c)
                i0, i1 = IDLE_MODEL[p]
                b.case("fanin", "idle_wait_ns", noisy(i0 + i1 * n), cv(),
                       iterations=max(100, 200000 // n),
                       **dict(c, active=0, timeout="zero"))
            # the fit the suite derives over the sweep
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            sxx = sum((x - mx) ** 2 for x in xs)
            slope = sum((x - mx) * (y - my) for x, y in points) / sxx
            icpt = my - slope * mx
            ss_res = sum((y - (icpt + slope * x)) ** 2 for x, y in points)
            ss_tot = sum((y - my) ** 2 for y in ys)
            r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 0.0
            note = "least squares over fds %d..%d, active=1, position=spread, " \
                   "timeout=blocking, transport=unix" % (min(xs), max(xs))
            for metric, v in (("wait_ns_per_fd", slope), ("wait_ns_fixed", icpt),
                              ("wait_fit_r2", r2)):
                b.derived("fanin", metric, v, note, poller=p, active=1, position="spread",
                          timeout="blocking", **fan)
            # the active-position effect and the active sweep, at 1,000 fds
            for pos, f in (("first", 0.97), ("last", 1.04)):
                eff = f if p in ("select", "poll") else 1.0
                w = noisy((fixed + per_fd * 1000) * eff)
                c = dict(poller=p, fds=1000, active=1, position=pos, timeout="blocking", **fan)
                b.case("fanin", "wait_ns", w, cv(), iterations=200, **c)
                b.case("fanin", "event_ns", w, cv(), iterations=200, **c)
            for act in (10, 100):
                w = noisy(fixed + per_fd * 1000 + 90.0 * act)
                c = dict(poller=p, fds=1000, active=act, position="spread", timeout="blocking",
                         **fan)
                b.case("fanin", "wait_ns", w, cv(), iterations=200, **c)
                b.case("fanin", "event_ns", w / act, cv(), iterations=200, **c)
                b.case("fanin", "events_per_wait", act, 0.0, stats=("median",), **c)
        for p, why in (("epoll-oneshot", "not in this run (--poller did not name it)"),
                       ("io_uring-oneshot", "not built: liburing multishot disabled"),
                       ("kqueue", "unavailable: <sys/event.h> not found (not a BSD)")):
            b.skipped("fanin", why, poller=p)

    if "ctxswitch" not in omit:
        for (mech, place), (ns, ratio) in SWITCH_MODEL.items():
            c = dict(variant=mech, placement=place, units=2)
            b.case("ctxswitch", "switch_ns" if place == "same-pu" else "wake_ns", noisy(ns),
                   cv(), iterations=100000, **c)
            b.case("ctxswitch", "syscalls_per_round_trip", 4.0 if mech == "pipe" else 3.5, 0.01,
                   iterations=100000, **c)
            b.case("ctxswitch", "switches_counted_ratio", ratio, 0.01, iterations=100000, **c)
        for mech in ("futex", "pipe", "yield"):
            b.skipped("ctxswitch", "placement smt-sibling: the topology has no SMT siblings",
                      variant=mech, placement="smt-sibling")
            b.skipped("ctxswitch", "placement cross-l3: one L3 cache in this topology",
                      variant=mech, placement="cross-l3")
            b.skipped("ctxswitch", "placement cross-numa: one NUMA node", variant=mech,
                      placement="cross-numa")
        for mech, ns in (("coro-asm", 10.0), ("coro-ucontext", 220.0), ("coro-raw", 9.0),
                         ("coro-stackless", 1.5)):
            b.case("ctxswitch", "switch_ns", noisy(ns), cv(), iterations=10000000,
                   variant=mech, placement="same-pu", units=2)
        for depth, ns in ((0, 40.0), (4096, 150.0)):
            b.case("ctxswitch", "switch_ns", noisy(ns), cv(), iterations=10000000,
                   variant="coro-copy", placement="same-pu", units=2, touch_bytes=depth)

    if "memory" not in omit:
        thread_n = [1, 10, 100] if quick else [1, 10, 100, 1000, 10000]
        coro_n = [1, 10, 100, 1000] if quick else [1, 10, 100, 1000, 10000, 100000, 1000000]
        configs = [
            # variant, stack_bytes, stack_alloc, touch, vsz, rss, (kstack, ptables, slab), sweep
            ("thread", 8 * MiB, "pthread", 0, 8 * MiB + 4 * KiB, 8.0 * KiB,
             (16 * KiB, 4 * KiB, 3500.0), thread_n),
            ("thread-small", 64 * KiB, "pthread", 0, 68 * KiB, 7.5 * KiB,
             (16 * KiB, 300.0, 3500.0), thread_n),
            ("coroutine", 16 * KiB, "pool", 4 * KiB, 16 * KiB, 4160.0, (0.0, 40.0, 0.0), coro_n),
            ("coroutine", 64 * KiB, "pool", 4 * KiB, 64 * KiB, 4160.0, (0.0, 130.0, 0.0),
             coro_n),
            ("coroutine", 64 * KiB, "guard", 4 * KiB, 68 * KiB, 4180.0, (0.0, 140.0, 420.0),
             coro_n),
            ("coroutine", 64 * KiB, "copy", 0, 440.0, 430.0, (0.0, 1.0, 0.0), coro_n),
            ("coroutine", "", "stackless", "", 32.0, 32.0, (0.0, 0.1, 0.0), coro_n),
        ]
        for var, sb, alloc, touch, vsz, rss, (ks, pt, sl), sweep in configs:
            limit_at = 32757 if alloc == "guard" else None
            for n in sweep:
                if limit_at and n > limit_at:
                    b.limit("memory", "units_reached", limit_at,
                            "mmap: ENOMEM at vm.max_map_count=65530 (2 mappings per guarded "
                            "stack); raise it with sysctl vm.max_map_count",
                            variant=var, units=n, stack_bytes=sb, stack_alloc=alloc,
                            touch_bytes=touch)
                    break
                base = 1.0 + 2.0 / n  # the per-unit share of startup noise shrinks with N
                c = dict(variant=var, units=n, stack_bytes=sb, stack_alloc=alloc,
                         touch_bytes=touch)
                b.case("memory", "vsz_per_unit_bytes", noisy(vsz * base, 0.002), cv() / 5,
                       iterations=1, **c)
                b.case("memory", "rss_per_unit_bytes", noisy(rss * base, 0.03), cv(),
                       iterations=1, **c)
                k = [noisy(x * base, 0.02) for x in (ks, pt, sl)]
                b.case("memory", "kernel_per_unit_bytes", sum(k), cv(), iterations=1, **c)
                for metric, v in zip(("kernel_stack_per_unit_bytes",
                                      "page_tables_per_unit_bytes", "slab_per_unit_bytes"), k):
                    b.case("memory", metric, v, cv(), iterations=1, **c)
            # The sweep's fit: the per-unit cost as a slope, the noise in the intercept.
            c = dict(variant=var, stack_bytes=sb, stack_alloc=alloc, touch_bytes=touch)
            note = "least squares of the delta against N"
            for metric, v in (("rss_per_unit_fit_bytes", rss), ("rss_fit_err_bytes", rss / 500),
                              ("vsz_per_unit_fit_bytes", vsz),
                              ("kernel_per_unit_fit_bytes", ks + pt + sl)):
                b.derived("memory", metric, v, note, **c)

    if "spawn" not in omit:
        for var, sb, alloc, ns, rate in (
                ("thread", 8 * MiB, "pthread", 25000.0, 38000.0),
                ("thread-small", 64 * KiB, "pthread", 21000.0, 45000.0),
                ("coroutine", 16 * KiB, "pool", 45.0, 6.5e6),
                ("coroutine", 64 * KiB, "guard", 1900.0, 4.6e5)):
            c = dict(variant=var, stack_bytes=sb, stack_alloc=alloc)
            b.case("spawn", "create_ns", noisy(ns), cv() * 2, iterations=10000, **c)
            b.case("spawn", "spawn_per_s", noisy(rate), cv() * 2, iterations=100000,
                   units=1000, **c)
            for n in (1000, 10000):
                b.case("spawn", "churn_overhead_ns", noisy(1e9 / rate), cv() * 2,
                       iterations=1, units=n, poller="" if var != "coroutine" else "epoll", **c)
                b.case("spawn", "timer_slack_ns", noisy(60000.0), cv(), iterations=1,
                       units=n, poller="" if var != "coroutine" else "epoll", **c)

    if "echo" not in omit:
        conns = [10, 100, 1000] if quick else [10, 100, 1000, 10000]
        servers = [("thread", "", (60e3, 70e3, 55e3, 30e3), 48 * KiB),
                   ("coroutine", "epoll", (95e3, 110e3, 105e3, 95e3), 22 * KiB),
                   ("coroutine", "poll", (90e3, 95e3, 60e3, 12e3), 22 * KiB),
                   ("coroutine", "io_uring", (100e3, 118e3, 112e3, 101e3), 22 * KiB),
                   ("loop", "libevent-epoll", (88e3, 100e3, 96e3, 86e3), 20 * KiB),
                   ("loop", "libev", (92e3, 106e3, 101e3, 91e3), 18 * KiB),
                   ("loop", "libuv", (86e3, 98e3, 93e3, 84e3), 24 * KiB)]
        for var, p, rates, per_conn in servers:
            for n, r in zip(conns, rates):
                r = noisy(r)
                c = dict(variant=var, poller=p, units=n, transport="tcp")
                b.case("echo", "req_per_s", r, cv(), iterations=200000, **c)
                p50 = n / r * 1e6
                b.case("echo", "p50_us", p50, cv(), iterations=200000, **c)
                b.case("echo", "p99_us", p50 * (3.5 if var == "thread" else 2.2), cv(),
                       iterations=200000, **c)
                b.case("echo", "rss_bytes", 6 * MiB + n * per_conn, cv() / 3, iterations=1,
                       **c)

    if "nwait" not in omit:
        n, d = 20, (10e6 if quick else 100e6)
        for var, p, total in (("sequential", "", n * d + 2.4e6), ("threads", "", d + 1.6e6),
                              ("coroutines", "epoll", d + 0.9e6), ("coroutines", "poll",
                                                                   d + 1.0e6)):
            c = dict(variant=var, poller=p, units=n, delay_ns=d, transport="tcp")
            t = noisy(total)
            b.case("nwait", "total_ns", t, cv() / 4, iterations=1,
                   note="%d of %d answered (counted)" % (n, n), **c)
            b.case("nwait", "overhead_ns", t - (n * d if var == "sequential" else d), cv(),
                   iterations=1, **c)
            if var != "sequential":
                b.derived("nwait", "speedup", (n * d + 2.4e6) / t, "sequential / %s" % var,
                          **c)

    if "iobound" not in omit:
        units, ops = (50, 40) if quick else (200, 200)
        for var, p, add in (("threads", "", 0.09), ("coroutines", "epoll", 0.07),
                            ("coroutines", "poll", 0.08)):
            c = dict(variant=var, poller=p, units=units, ops=ops, mean_ns=5e6)
            b.case("iobound", "total_ns", noisy(ops * 5e6 * 1.1), cv(), iterations=1, **c)
            for stat, v in (("p50", 3466 + add * 1e3), ("p95", 14979 + add * 1e3),
                            ("p99", 23026 + add * 3e3)):
                b.row(workload="iobound", metric="op_us", stat=stat, value=noisy(v), unit="us",
                      repetitions=b.reps, iterations=1, status="ok", **c)
            for stat, v in (("p50", add * 1e3), ("p99", add * 6e3)):
                b.row(workload="iobound", metric="late_us", stat=stat, value=noisy(v),
                      unit="us", repetitions=b.reps, iterations=1, status="ok", **c)
            for stat, v in (("p50", 3466.0), ("p95", 14979.0)):
                b.row(workload="iobound", metric="req_us", stat=stat, value=v, unit="us",
                      repetitions=b.reps, iterations=1, status="ok", **c)
            b.case("iobound", "ops_counted", units * ops, 0.0, iterations=1, **c)

    if "cancel" not in omit:
        n = 500 if quick else 5000
        for var, p, per in (("pthread-cancel", "", 21e3), ("eventfd", "", 24e3),
                            ("coroutines", "epoll", 9e3), ("coroutines", "poll", 8e3)):
            c = dict(variant=var, poller=p, units=n)
            t = noisy(per * n)
            b.case("cancel", "cancel_ns", t, cv(), iterations=1,
                   note="every task blocked, cancelled and released (counted)", **c)
            b.case("cancel", "cancel_per_task_ns", t / n, cv(), iterations=1, **c)

    if "checkpoint" not in omit:
        busy = 20e6 if quick else 100e6
        for p, extra, req in (("epoll", 420.0, 9e3), ("poll", 380.0, 8.5e3)):
            b.case("checkpoint", "await_ns", noisy(0.9), cv(), iterations=10000000,
                   variant="fastpath", poller=p)
            b.case("checkpoint", "await_ns", noisy(0.9 + extra), cv(), iterations=100000,
                   variant="checkpoint", poller=p)
            b.case("checkpoint", "request_ns", noisy(req), cv(), iterations=100000,
                   variant="request", poller=p)
            b.case("checkpoint", "starve_ns", noisy(busy + 60e3), cv() / 4, iterations=1,
                   variant="never-yields", poller=p, busy_ns=busy)
            b.case("checkpoint", "starve_ns", noisy(160e3), cv(), iterations=1,
                   variant="yields", poller=p, busy_ns=busy, yield_every_ns=100e3)
        b.case("checkpoint", "starve_ns", noisy(3.1e6), cv(), iterations=1, variant="threads",
               busy_ns=busy)

    if "harness" not in omit:
        b.case("harness", "iteration_ns", 2.1, 0.02, iterations=10000000, variant="c-shim")
        b.case("harness", "iteration_ns", 1.9, 0.02, iterations=10000000, variant="native")

    if not partial:
        b.complete()
    return b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="where to write the CSV")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="short sweeps, as --quick would")
    ap.add_argument("--partial", action="store_true", help="no run_complete row")
    ap.add_argument("--omit", default="", help="workloads to leave out, comma separated")
    a = ap.parse_args(argv)
    omit = tuple(w for w in a.omit.split(",") if w)
    b = make_synthetic(a.seed, quick=a.quick, partial=a.partial, omit=omit)
    b.write(a.out)
    print("%s: %d rows" % (a.out, len(b.rows)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
