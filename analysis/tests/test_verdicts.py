"""The verdict logic on hand-made CSVs with known values: each claim's holds / holds only in
part / does not hold / not measured, through the whole path (CSV file -> load -> evaluate)."""
import os
import re
import sys
import tempfile
import unittest

from tests.helpers import TempDirCase, claims_rows
from tests.make_fixture import CsvBuilder, make_synthetic, standard_env

from muxbench_analysis import claims, load
from muxbench_analysis.claims import HOLDS, NOT, NOT_MEASURED, PART

KiB, MiB = 1024, 1024 * 1024


class VerdictCase(TempDirCase):
    def builder(self):
        b = CsvBuilder()
        standard_env(b)
        return b

    def verdict(self, b, claim_id):
        b.complete()
        ds = load(b.write(os.path.join(self.tmp, "%s.csv" % claim_id)))
        v = {v.claim_id: v for v in claims.evaluate(ds)}[claim_id]
        self.assertIn(v.verdict, (HOLDS, PART, NOT, NOT_MEASURED))
        return v

    def empty_verdict(self, claim_id):
        """A CSV with environment rows and one unrelated case only."""
        b = self.builder()
        b.case("harness", "iteration_ns", 2.0, variant="native")
        return self.verdict(b, claim_id)


def sweep(b, poller, fixed, per_fd, fds=(10, 100, 1000, 10000), cv=0.02):
    for n in fds:
        b.case("fanin", "wait_ns", fixed + per_fd * n, cv, poller=poller, fds=n, active=1,
               writes=1, position="spread", timeout="blocking", transport="unix")


class C1(VerdictCase):
    def test_holds(self):
        b = self.builder()
        sweep(b, "select", 2000, 100)
        sweep(b, "poll", 1500, 95)
        sweep(b, "epoll", 600, 0.001)
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("poll 95 ns/fd", v.measured)   # the fitted per-fd cost
        self.assertIn("select 100 ns/fd", v.measured)
        self.assertTrue(v.rows.startswith("C1.csv lines"))

    def test_does_not_hold(self):
        b = self.builder()
        sweep(b, "poll", 5000, 0.0)       # flat
        sweep(b, "epoll", 600, 50.0)      # linear
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, NOT)

    def test_holds_only_in_part(self):
        b = self.builder()
        sweep(b, "poll", 1500, 95)
        sweep(b, "epoll", 600, 5.0)       # 600 ns -> 50.6 us: grows
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, PART)
        self.assertIn("holds for poll O(n); not for epoll O(1)", v.summary)

    def test_not_measured(self):
        v = self.empty_verdict("C1")
        self.assertEqual(v.verdict, NOT_MEASURED)
        self.assertIn("no fanin wait_ns", v.detail)

    def test_sweep_too_short_is_not_measured(self):
        b = self.builder()
        sweep(b, "poll", 1500, 95, fds=(100, 200))
        sweep(b, "epoll", 600, 0.0, fds=(100, 200))
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, NOT_MEASURED)
        self.assertIn("too short", v.detail)

    def test_only_one_half_measured(self):
        b = self.builder()
        sweep(b, "epoll", 600, 0.0)
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("not measured in this CSV: select O(n), poll O(n)", v.summary)

    def test_faster_than_linear_is_not_o_n(self):
        b = self.builder()
        for n in (10, 100, 1000, 10000):
            b.case("fanin", "wait_ns", 100 + 0.01 * n * n, 0.02, poller="poll", fds=n, active=1,
                   writes=1, position="spread", timeout="blocking", transport="unix")
        sweep(b, "epoll", 600, 0.0)
        v = self.verdict(b, "C1")
        self.assertEqual(v.verdict, PART)
        self.assertIn("faster than linearly", v.detail)

    def test_the_exponent_is_reported_with_its_error(self):
        b = self.builder()
        sweep(b, "poll", 1500, 95)
        sweep(b, "epoll", 600, 0.0)
        v = self.verdict(b, "C1")
        self.assertRegex(v.measured, r"poll 95 ns/fd.*k = 0\.9\d")
        self.assertRegex(v.measured, r"epoll .*k = 0\.00")

    def test_decomposition_names_the_seeds_part(self):
        b = self.builder()
        sweep(b, "poll", 1500, 95)
        sweep(b, "epoll", 600, 0.0)
        for metric, v in (("per_fd_scan_ns", 30.0), ("per_fd_wqueue_ns", 50.0),
                          ("per_fd_fdtable_tax_ns", 20.0)):
            for stat, x in (("median", v), ("se", 1.0)):
                b.derived("fanin", metric, x, "a difference of fitted slopes", stat=stat,
                          poller="poll", active=1, writes=1, position="spread",
                          transport="unix")
        v = self.verdict(b, "C1")
        self.assertIn("poll per fd at position=spread: scan 30 ns ± 1.0 ns", v.detail)
        self.assertIn("the seed's O(n) (the traversal: the scan) is 30%", v.detail)


def memory(b, variant, n, vsz, rss, kernel, stack=None, alloc="pthread", touch=0):
    c = dict(variant=variant, units=n, stack_bytes=stack or "", stack_alloc=alloc,
             touch_bytes=touch)
    b.case("memory", "vsz_per_unit_bytes", vsz, 0.01, **c)
    b.case("memory", "rss_per_unit_bytes", rss, 0.02, **c)
    b.case("memory", "kernel_per_unit_bytes", kernel, 0.02, **c)


class C2(VerdictCase):
    def test_true_of_virtual_size_only(self):
        b = self.builder()
        for n in (100, 1000):
            memory(b, "thread", n, 8 * MiB + 4 * KiB, 8 * KiB, 24 * KiB, 8 * MiB)
            memory(b, "coroutine", n, 16 * KiB, 4 * KiB, 100, 16 * KiB, "pool", 4096)
        v = self.verdict(b, "C2")
        self.assertEqual(v.verdict, PART)
        self.assertIn("holds for 8 MB of virtual size, a few KB per coroutine; not for 8 MB "
                      "of resident + kernel memory", v.summary)
        self.assertIn("virtual 8.0 MiB", v.measured)
        self.assertIn("resident 8.0 KiB", v.measured)
        self.assertIn("kernel 24 KiB", v.measured)

    def test_holds(self):
        b = self.builder()
        memory(b, "thread", 1000, 8 * MiB, 6 * MiB, 2 * MiB, 8 * MiB)
        memory(b, "coroutine", 1000, 8 * KiB, 4 * KiB, 0, 8 * KiB, "pool")
        self.assertEqual(self.verdict(b, "C2").verdict, HOLDS)

    def test_does_not_hold(self):
        b = self.builder()
        memory(b, "thread", 1000, 72 * MiB, 30 * KiB, 24 * KiB, 8 * MiB)  # arena per thread
        memory(b, "coroutine", 1000, 256 * KiB, 128 * KiB, 0, 256 * KiB, "pool", 128 * KiB)
        self.assertEqual(self.verdict(b, "C2").verdict, NOT)

    def test_not_measured(self):
        self.assertEqual(self.empty_verdict("C2").verdict, NOT_MEASURED)

    def test_the_fit_decides_not_one_step(self):
        # At N=10 the heap page and the first chunk divided by N make 20 KiB per coroutine;
        # the slope across N says 4 KiB.
        b = self.builder()
        for n, rss in ((10, 20 * KiB), (1000, 4.2 * KiB)):
            memory(b, "coroutine", n, 16 * KiB, rss, 0, 16 * KiB, "pool", 0)
        c = dict(variant="coroutine", stack_bytes=16 * KiB, stack_alloc="pool", touch_bytes=0)
        b.derived("memory", "rss_per_unit_fit_bytes", 4096.0, "fit", **c)
        b.derived("memory", "rss_fit_err_bytes", 3.0, "fit", **c)
        b.derived("memory", "vsz_per_unit_fit_bytes", 16384.0, "fit", **c)
        v = self.verdict(b, "C2")
        self.assertIn("4.0 KiB ± 3 B per unit (slope of the fit across N)", v.measured)
        part = {p.name: p for p in v.parts}["a few KB per coroutine"]
        self.assertTrue(part.outcome)

    def test_stackless_is_reported_not_judged(self):
        b = self.builder()
        memory(b, "coroutine", 1000, 64 * KiB, 64 * KiB, 0, 64 * KiB, "pool", 60 * KiB)
        memory(b, "coroutine", 1000, 32, 32, 0, None, "stackless", "")
        v = self.verdict(b, "C2")
        part = {p.name: p for p in v.parts}["a few KB per coroutine"]
        self.assertFalse(part.outcome)  # the stackful one decides: 64 KiB is not a few KB
        self.assertIn("stackless", v.detail)

    def test_sanitizer_rows_are_refused(self):
        b = self.builder()
        b.env("sanitize", note="address,undefined")
        memory(b, "coroutine", 1000, 8 * KiB, 4 * KiB, 0, 8 * KiB, "pool")
        for cid in ("C2", "C3"):
            v = self.verdict(b, cid)
            self.assertEqual(v.verdict, NOT_MEASURED)
            self.assertIn("sanitizer build", v.detail)


class C3(VerdictCase):
    def test_holds_only_in_part_and_says_virtual(self):
        b = self.builder()
        for n in (1000, 10000):
            memory(b, "thread", n, 8 * MiB, 8 * KiB, 24 * KiB, 8 * MiB)
        for n in (10000, 100000):
            memory(b, "coroutine", n, 16 * KiB, 4 * KiB, 40, 16 * KiB, "pool", 4096)
        v = self.verdict(b, "C3")
        self.assertEqual(v.verdict, PART)
        self.assertIn("10,000 threads ≈ 80 GB: of virtual size only (78 GiB)", v.detail)
        self.assertIn("holds for 100K coroutines", v.summary)

    def test_limit_makes_it_not_measured(self):
        b = self.builder()
        memory(b, "thread", 1000, 8 * MiB, 8 * KiB, 24 * KiB, 8 * MiB)
        b.limit("memory", "units_reached", 4700, "pthread_create: EAGAIN at threads-max",
                variant="thread", units=10000, stack_bytes=8 * MiB, stack_alloc="pthread")
        v = self.verdict(b, "C3")
        self.assertEqual(v.verdict, NOT)  # 1,000 threads: virtual only; the rest not measured
        self.assertIn("the sweep stopped at 4,700 threads (pthread_create: EAGAIN", v.detail)
        self.assertIn("not measured in this CSV: 10,000 threads ≈ 80 GB", v.summary)

    def test_never_extrapolated(self):
        b = self.builder()
        memory(b, "coroutine", 1000, 16 * KiB, 10 * KiB, 0, 16 * KiB, "pool")
        v = self.verdict(b, "C3")
        self.assertEqual(v.verdict, NOT_MEASURED)

    def test_holds(self):
        b = self.builder()
        for n in (1000, 10000):
            memory(b, "thread", n, 8 * MiB, 7 * MiB, 1 * MiB, 8 * MiB)
        memory(b, "coroutine", 10000, 16 * KiB, 10 * KiB, 0, 16 * KiB, "pool")
        memory(b, "coroutine", 100000, 16 * KiB, 4 * KiB, 0, 16 * KiB, "pool")
        self.assertEqual(self.verdict(b, "C3").verdict, HOLDS)


class C4(VerdictCase):
    def spawn(self, thread_ns=None, coro_ns=None):
        b = self.builder()
        if thread_ns:
            b.case("spawn", "create_ns", thread_ns, 0.05, variant="thread",
                   stack_bytes=8 * MiB, stack_alloc="pthread")
        if coro_ns:
            b.case("spawn", "create_ns", coro_ns, 0.05, variant="coroutine",
                   stack_bytes=16 * KiB, stack_alloc="pool")
        return b

    def test_threads_in_a_quarter_second_is_not_seconds(self):
        v = self.verdict(self.spawn(25000, 50), "C4")
        self.assertEqual(v.verdict, PART)
        self.assertIn("10,000 threads take 250 ms (25 µs each), under a second", v.detail)

    def test_holds(self):
        self.assertEqual(self.verdict(self.spawn(150000, 50), "C4").verdict, HOLDS)

    def test_does_not_hold(self):
        self.assertEqual(self.verdict(self.spawn(20000, 50000), "C4").verdict, NOT)

    def test_not_measured(self):
        self.assertEqual(self.empty_verdict("C4").verdict, NOT_MEASURED)

    def test_the_batch_of_10000_decides_over_one_at_a_time(self):
        b = self.builder()
        b.case("spawn", "create_ns", 25000, 0.05, variant="thread", units=1,
               stack_bytes=8 * MiB, stack_alloc="pthread")
        b.case("spawn", "create_ns", 120000, 0.05, variant="thread", units=10000,
               stack_bytes=8 * MiB, stack_alloc="pthread")
        b.case("spawn", "create_ns", 50, 0.05, variant="coroutine", units=10000,
               stack_bytes=16 * KiB, stack_alloc="pool")
        v = self.verdict(b, "C4")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("in a batch of 10,000", v.measured)


class C5(VerdictCase):
    def switch(self, b, mech, place, ns, ratio=None, metric="switch_ns"):
        b.case("ctxswitch", metric, ns, 0.03, variant=mech, placement=place, units=2)
        if ratio is not None:
            b.case("ctxswitch", "switches_counted_ratio", ratio, 0.01, variant=mech,
                   placement=place, units=2)

    def test_kernel_switch_from_one_cpu_only(self):
        b = self.builder()
        self.switch(b, "futex", "same-pu", 2600, 1.0)
        # Between cpus the kernel counts a switch too (to idle): shown as a wake-up, not judged.
        self.switch(b, "futex", "same-l3", 30000, 1.01, metric="wake_ns")
        self.switch(b, "coro-ucontext", "same-pu", 120)
        v = self.verdict(b, "C5")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("between cpus (wake_ns, not a switch): futex same-l3 30 µs", v.measured)
        self.assertNotIn("same-l3", " ".join(p.name for p in v.parts))

    def test_cross_cpu_switch_rows_of_an_old_csv_are_not_judged(self):
        b = self.builder()
        self.switch(b, "futex", "same-l3", 30000, 1.01)   # before wake_ns existed
        self.switch(b, "coro-asm", "same-pu", 90)
        v = self.verdict(b, "C5")
        kernel = [p for p in v.parts if p.name == "kernel switch"]
        self.assertEqual([p.outcome for p in kernel], [None])
        self.assertEqual(v.verdict, HOLDS)  # the user-mode part alone

    def test_unverified_rows_are_left_out(self):
        b = self.builder()
        self.switch(b, "futex", "same-pu", 2600, 0.5)     # half the handoffs were no switch
        self.switch(b, "pipe", "same-pu", 3400, 1.0)
        v = self.verdict(b, "C5")
        self.assertIn("futex/same-pu left out: the kernel counted 0.50", v.detail)
        self.assertIn("pipe same-pu 3.4 µs", v.measured)
        b = self.builder()
        self.switch(b, "futex", "same-pu", 2600)          # no counted/expected row at all
        v = self.verdict(b, "C5")
        self.assertIn("futex/same-pu left out: the kernel counted no", v.detail)
        self.assertEqual(v.verdict, NOT_MEASURED)  # nothing verified is left to judge

    def test_does_not_hold(self):
        b = self.builder()
        self.switch(b, "futex", "same-pu", 45000, 1.0)
        self.switch(b, "coro-asm", "same-pu", 8)
        self.assertEqual(self.verdict(b, "C5").verdict, NOT)

    def test_coroutine_against_the_bare_switch(self):
        b = self.builder()
        self.switch(b, "futex", "same-pu", 2600, 1.0)
        self.switch(b, "coro-asm", "same-pu", 23.6)
        self.switch(b, "coro-raw", "same-pu", 20.0)
        self.switch(b, "coro-stackless", "same-pu", 1.5)
        b.derived("ctxswitch", "coro_overhead_ratio", 1.18, "coro-asm / coro-raw",
                  variant="coro-asm", placement="same-pu")
        v = self.verdict(b, "C5")
        self.assertIn("costs 1.18x the bare assembly switch (coro-raw)", v.detail)
        self.assertIn("coro-stackless 1.5 ns", v.detail)  # the spectrum, reported not judged

    def test_not_measured(self):
        self.assertEqual(self.empty_verdict("C5").verdict, NOT_MEASURED)


class C6C7C8(VerdictCase):
    def test_not_measured_without_rows(self):
        for cid in ("C6", "C8"):
            v = self.empty_verdict(cid)
            self.assertEqual(v.verdict, NOT_MEASURED)
            self.assertIn("run the", v.detail)

    def nwait(self, b, seq, conc, n=20, d=100e6):
        b.case("nwait", "total_ns", seq, 0.01, variant="sequential", units=n, delay_ns=d,
               transport="tcp", iterations=1)
        b.case("nwait", "overhead_ns", seq - n * d, 0.1, variant="sequential", units=n,
               delay_ns=d, transport="tcp", iterations=1)
        for var, p in (("threads", ""), ("coroutines", "epoll")):
            b.case("nwait", "total_ns", conc, 0.01, variant=var, poller=p, units=n,
                   delay_ns=d, transport="tcp", iterations=1)
            b.derived("nwait", "speedup", seq / conc, "sequential / %s" % var, variant=var,
                      poller=p, units=n, delay_ns=d, transport="tcp")

    def test_c6_holds(self):
        b = self.builder()
        self.nwait(b, 2.003e9, 101.5e6)
        v = self.verdict(b, "C6")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("N×D + 3.0 ms", v.detail)
        self.assertIn("19.7x", v.detail)              # the derived speedup
        self.assertIn("22 s is N×D + 2 s", v.detail)  # the seed's figures beside it
        self.assertIn("--set delay_ns=1s", v.detail)  # measured at 100 ms, not the seed's 1 s

    def test_c6_concurrent_not_near_d(self):
        b = self.builder()
        self.nwait(b, 2.003e9, 1.2e9)                 # 12x D: nothing overlapped
        v = self.verdict(b, "C6")
        self.assertEqual(v.verdict, PART)
        self.assertEqual([p.name for p in v.parts if p.outcome is False],
                         ["threads ≈ D", "an event loop ≈ D"])

    def iobound(self, b, p95_ms, mean=5e6):
        for var, p in (("threads", ""), ("coroutines", "epoll")):
            c = dict(variant=var, poller=p, units=200, ops=200, mean_ns=mean)
            for stat, v in (("p50", 3500.0), ("p95", p95_ms * 1e3), ("p99", 23500.0)):
                b.row(workload="iobound", metric="op_us", stat=stat, value=v, unit="us",
                      repetitions=5, iterations=1, status="ok", **c)
            for stat, v in (("p50", 70.0), ("p99", 900.0)):
                b.row(workload="iobound", metric="late_us", stat=stat, value=v, unit="us",
                      repetitions=5, iterations=1, status="ok", **c)
            b.row(workload="iobound", metric="req_us", stat="p95", value=14979.0, unit="us",
                  repetitions=5, iterations=1, status="ok", **c)

    def part(self, v, name):
        return {p.name: p for p in v.parts}[name]

    def test_c7_p95_and_cancel(self):
        b = self.builder()
        self.iobound(b, 15.1)
        for var, p, ns in (("coroutines", "epoll", 45e6), ("pthread-cancel", "", 110e6)):
            b.case("cancel", "cancel_ns", ns, 0.05, variant=var, poller=p, units=5000,
                   iterations=1)
        v = self.verdict(b, "C7")
        p95 = self.part(v, "p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps")
        self.assertTrue(p95.outcome)
        self.assertIn("15 ms (5 ms × ln 20)", p95.text)  # what the sleeps alone ask for
        cancel = self.part(v, "5k tasks cancel and settle")
        self.assertTrue(cancel.outcome)
        self.assertIn("45 ms to 110 ms", cancel.text)
        self.assertIsNone(self.part(v, "churn ≈ 210k tasks/s").outcome)

    def test_c7_p95_far_off_and_other_mean(self):
        b = self.builder()
        self.iobound(b, 60.0)
        v = self.verdict(b, "C7")
        self.assertFalse(self.part(v, "p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps").outcome)
        b = self.builder()
        self.iobound(b, 15.0, mean=1e6)                  # not the seed's mean: not judged
        v = self.verdict(b, "C7")
        self.assertIsNone(self.part(v, "p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps").outcome)

    def test_c7_cancel_error_row(self):
        b = self.builder()
        b.case("cancel", "cancel_ns", 45e6, 0.05, variant="coroutines", poller="epoll",
               units=5000, iterations=1)
        b.error("cancel", "task 7 of 5000: woken by something other than the cancel",
                metric="cancel_ns", variant="eventfd", units=5000)
        v = self.verdict(b, "C7")
        self.assertFalse(self.part(v, "5k tasks cancel and settle").outcome)

    def checkpoint(self, b, cp, fp=1.0, never=100.2e6, busy=100e6, cv=0.02):
        for p in ("epoll", "poll"):
            b.case("checkpoint", "await_ns", cp, cv, variant="checkpoint", poller=p)
            b.case("checkpoint", "await_ns", fp, cv, variant="fastpath", poller=p)
            b.case("checkpoint", "request_ns", 10e3, cv, variant="request", poller=p)
            b.case("checkpoint", "starve_ns", never, cv, variant="never-yields", poller=p,
                   busy_ns=busy, iterations=1)
            b.case("checkpoint", "starve_ns", 150e3, cv, variant="yields", poller=p,
                   busy_ns=busy, yield_every_ns=100e3, iterations=1)

    def test_c8_holds(self):
        b = self.builder()
        self.checkpoint(b, 501.0)
        v = self.verdict(b, "C8")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("500 ns", v.detail)
        self.assertIn("5.0% of a request", v.detail)     # 500 ns of a 10 µs request
        self.assertIn("its whole run", v.detail)

    def test_c8_within_noise_and_no_starvation(self):
        b = self.builder()
        self.checkpoint(b, 1.01, never=20e6, cv=0.05)     # no cost; the ticker barely late
        v = self.verdict(b, "C8")
        self.assertEqual(v.verdict, NOT)

    def churn(self, b, overhead_ns, units=10000, variant="coroutine", alloc="pool",
              poller="epoll"):
        b.case("spawn", "churn_overhead_ns", overhead_ns, 0.05, variant=variant, units=units,
               poller=poller, stack_bytes=16 * KiB, stack_alloc=alloc)

    def test_c7_churn_from_the_overhead(self):
        b = self.builder()
        self.churn(b, 4800)            # 208k tasks/s
        v = self.verdict(b, "C7")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("not measured in this CSV: p95", v.summary)
        b = self.builder()
        self.churn(b, 160)             # 6.2M tasks/s
        v = self.verdict(b, "C7")
        self.assertEqual(v.verdict, NOT)
        self.assertIn("6.2 M tasks/s", v.detail)
        self.assertEqual(self.empty_verdict("C7").verdict, NOT_MEASURED)

    def test_c7_churn_at_the_seeds_scale_only(self):
        # 1,000 tasks of 0.5 ms: the rate there is bounded by the sleep, so it is not judged.
        b = self.builder()
        self.churn(b, 4800, units=1000)
        b.case("spawn", "spawn_per_s", 1.9e6, 0.05, variant="coroutine", units=1000,
               stack_bytes=16 * KiB, stack_alloc="pool")
        v = self.verdict(b, "C7")
        churn = {p.name: p for p in v.parts}["churn ≈ 210k tasks/s"]
        self.assertIsNone(churn.outcome)
        self.assertIn("seed's scale of 10,000 tasks", churn.text)

    def test_c7_judges_stackful_coroutines_over_epoll(self):
        b = self.builder()
        self.churn(b, 4800, poller="epoll")
        self.churn(b, 100, poller="libev")
        self.churn(b, 50, alloc="copy")
        self.churn(b, 200000, variant="thread", alloc="pthread", poller="")
        v = self.verdict(b, "C7")
        self.assertEqual(v.verdict, HOLDS)
        self.assertIn("threads 200 µs per task", v.measured)


class C9(VerdictCase):
    def pair(self, peer_ns, native_ns=600.0, cv=0.01):
        b = self.builder()
        for n in (10, 1000, 10000):
            for p, v in (("epoll", native_ns), ("libuv", peer_ns)):
                b.case("fanin", "event_ns", v, cv, poller=p, fds=n, active=1, writes=1,
                       position="spread", timeout="blocking", transport="unix")
        return b

    def test_overhead_but_not_the_seeds_size(self):
        v = self.verdict(self.pair(780.0), "C9")
        self.assertEqual(v.verdict, PART)
        self.assertIn("holds for libuv overhead; not for of the seeds' size", v.summary)
        self.assertIn("libuv +180 ns per event (1.30x epoll", v.measured)

    def test_no_overhead(self):
        self.assertEqual(self.verdict(self.pair(603.0), "C9").verdict, NOT)

    def test_overhead_of_the_seeds_size(self):
        self.assertEqual(self.verdict(self.pair(2400.0), "C9").verdict, HOLDS)

    def test_not_measured(self):
        v = self.empty_verdict("C9")
        self.assertEqual(v.verdict, NOT_MEASURED)
        self.assertIn("no peer rows", v.detail)

    def test_the_adapters_cost_is_subtracted(self):
        b = self.pair(780.0)
        for n in (10, 1000, 10000):
            b.case("fanin", "event_ns", 750.0, 0.01, poller="null", fds=n, active=1, writes=1,
                   position="spread", timeout="blocking", transport="unix")
        v = self.verdict(b, "C9")
        # libuv's 180 ns over epoll is 150 ns of the adapter and 30 ns (5%) of libuv's own.
        self.assertIn("the adapter (null peer) +150 ns per event over epoll, subtracted",
                      v.measured)
        self.assertIn("libuv +30 ns per event (1.05x epoll", v.measured)
        self.assertNotIn("null overhead", v.detail)


class ClaimsMarkdown(TempDirCase):
    def test_a_row_per_claim_with_thresholds(self):
        ds = load(make_synthetic().write(os.path.join(self.tmp, "s.csv")))
        text = claims.to_markdown(claims.evaluate(ds), ds)
        rows = claims_rows(text)
        self.assertEqual(sorted(rows), ["C%d" % i for i in range(1, 10)])
        self.assertEqual(rows["C2"], PART)
        self.assertEqual(rows["C6"], HOLDS)
        for rule in claims.RULES.values():
            self.assertIn(rule, text)
        self.assertIn("Synthetic CPU", text)   # the environment
        self.assertIn("≈210k tasks/s", text)   # the seed's own figures

    def test_every_claim_not_measured_on_an_env_only_csv(self):
        b = CsvBuilder()
        standard_env(b)
        b.case("harness", "iteration_ns", 2.0, variant="native")
        b.complete()
        ds = load(b.write(os.path.join(self.tmp, "e.csv")))
        rows = claims_rows(claims.to_markdown(claims.evaluate(ds), ds))
        self.assertEqual(set(rows.values()), {NOT_MEASURED})
        self.assertEqual(len(rows), 9)


class ClaimModules(unittest.TestCase):
    """The claims package: one module per claim, found by name, each defining its claim."""
    def test_modules_in_claim_order(self):
        names = [m.__name__.rsplit(".", 1)[1] for m in claims.MODULES]
        self.assertEqual(names, ["c%d" % i for i in range(1, 10)])
        self.assertEqual([c.claim_id for c in claims.CLAIMS], ["C%d" % i for i in range(1, 10)])

    def test_a_new_claim_is_a_new_file(self):
        """Discovery takes cN files only, in numeric order (c10 after c9), and nothing else."""
        with tempfile.TemporaryDirectory() as tmp:
            pkg = os.path.join(tmp, "fake_claims_pkg")
            os.mkdir(pkg)
            for name in ("__init__", "c10", "c2", "c1", "base", "c3x"):
                with open(os.path.join(pkg, name + ".py"), "w") as f:
                    f.write("NAME = %r\n" % name)
            sys.path.insert(0, tmp)
            try:
                mods = claims.claim_modules([pkg], "fake_claims_pkg")
                self.assertEqual([m.NAME for m in mods], ["c1", "c2", "c10"])
            finally:
                sys.path.remove(tmp)
                for k in [k for k in sys.modules if k.startswith("fake_claims_pkg")]:
                    del sys.modules[k]

    def test_each_module_defines_its_own_claim(self):
        for m in claims.MODULES:
            with self.subTest(module=m.__name__):
                self.assertEqual(m.CLAIM.claim_id, m.__name__.rsplit(".", 1)[1].upper())
                for what in ("statement", "stated", "source", "rule"):
                    self.assertTrue(getattr(m.CLAIM, what).strip(), what)
                self.assertTrue(callable(m.evaluate))
                self.assertIs(claims.CLAIM_BY_ID[m.CLAIM.claim_id], m.CLAIM)
                self.assertEqual(claims.RULES[m.CLAIM.claim_id], m.CLAIM.rule)

    def test_evaluate_is_each_modules_verdict_in_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            ds = load(make_synthetic().write(os.path.join(tmp, "s.csv")))
            got = claims.evaluate(ds)
            self.assertEqual(got, [m.evaluate(ds) for m in claims.MODULES])
            for m, v in zip(claims.MODULES, got):
                self.assertEqual((v.claim_id, v.claim, v.stated, v.source, v.rule),
                                 (m.CLAIM.claim_id, m.CLAIM.statement, m.CLAIM.stated,
                                  m.CLAIM.source, m.CLAIM.rule))

    def test_seed_workload_claims_measured_on_a_full_run(self):
        """C6, C8 and C7's p95 and cancel parts are decided from their workloads' rows."""
        with tempfile.TemporaryDirectory() as tmp:
            ds = load(make_synthetic().write(os.path.join(tmp, "s.csv")))
            v = {v.claim_id: v for v in claims.evaluate(ds)}
        self.assertEqual(v["C6"].verdict, HOLDS)
        self.assertEqual(v["C8"].verdict, HOLDS)
        c7 = {p.name: p.outcome for p in v["C7"].parts}
        self.assertTrue(c7["p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps"])
        self.assertTrue(c7["5k tasks cancel and settle"])
        self.assertIsNotNone(c7["churn ≈ 210k tasks/s"])
        # Without those workloads' rows, the parts are not measured: no rows, no guess.
        with tempfile.TemporaryDirectory() as tmp:
            ds = load(make_synthetic(omit=("nwait", "iobound", "cancel", "checkpoint")).write(
                os.path.join(tmp, "s.csv")))
            v = {v.claim_id: v for v in claims.evaluate(ds)}
        self.assertEqual(v["C6"].verdict, NOT_MEASURED)
        self.assertEqual(v["C8"].verdict, NOT_MEASURED)
        c7 = {p.name: p.outcome for p in v["C7"].parts}
        self.assertIsNone(c7["p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps"])
        self.assertIsNone(c7["5k tasks cancel and settle"])


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ClaimsPointInsideTheRepository(TempDirCase):
    """claims.md and docs/design.md are what a user who clones the repository reads: every
    page the report names exists there, and the design page lists each claim as its module
    defines it."""
    def test_report_names_only_pages_in_the_repository(self):
        for name, b in (("synthetic", make_synthetic()), ("empty", CsvBuilder())):
            if name == "empty":
                standard_env(b)
                b.case("harness", "iteration_ns", 2.0, variant="native")
                b.complete()
            ds = load(b.write(os.path.join(self.tmp, name + ".csv")))
            text = claims.to_markdown(claims.evaluate(ds), ds)
            # every page named, whatever its folder (a design page outside the repository
            # included), must be a file of the repository
            pages = set(re.findall(r"[\w./-]*\w\.md\b", text))
            if name == "empty":  # C6 and C8 say where their workloads' rows are described
                self.assertIn("docs/csv.md", pages)
            for page in pages:
                self.assertTrue(os.path.isfile(os.path.join(REPO, page)), page)

    def test_design_page_lists_every_claim_with_its_seed(self):
        with open(os.path.join(REPO, "docs", "design.md"), encoding="utf-8") as f:
            rows = [ln for ln in f if re.match(r"\| C[0-9]+ \|", ln)]
        by_id = {ln.split("|")[1].strip(): ln for ln in rows}
        self.assertEqual(sorted(by_id, key=lambda c: int(c[1:])),
                         [c.claim_id for c in claims.CLAIMS])
        for c in claims.CLAIMS:
            self.assertEqual(by_id[c.claim_id].split("|")[3].strip(), c.source, c.claim_id)


if __name__ == "__main__":
    unittest.main()
