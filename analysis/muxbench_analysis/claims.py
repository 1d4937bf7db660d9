"""The verdict on each claim C1-C9 (DESIGN.md section 1), decided from a Dataset's rows.

    verdicts = evaluate(ds)          # [Verdict, ...], one per claim, C1..C9
    text = to_markdown(verdicts, ds) # claims.md

Each claim is split into parts; each part holds (True), does not (False) or is not measured
(None). The verdict is:
    holds                  every part measured, every part holds
    holds only in part     some parts hold, some do not (the text says which)
    does not hold          no measured part holds
    not measured in this CSV   no part is measured (the text says why)
and, when some parts are measured and some are not, the measured parts decide and the text
names the parts that are not measured. Nothing is extrapolated: a figure the CSV does not hold
is "not measured", never guessed.

The thresholds are the constants below; RULES states them in words for the report.
"""
import math
from dataclasses import dataclass, field

from . import fmt, schema
from .data import cite
from .fit import wait_fits

HOLDS = "holds"
PART = "holds only in part"
NOT = "does not hold"
NOT_MEASURED = "not measured in this CSV"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# "About X" in a seed means within this factor of X, either way.
APPROX = 2.0
# C1: a sweep must span this factor of fds, over at least C1_MIN_POINTS points.
C1_MIN_SPAN = 10.0
C1_MIN_POINTS = 3
# C1: O(n) when the fit's slope is positive, R^2 >= C1_MIN_R2, and the per-fd term is at least
# C1_LINEAR_SHARE of the measured wait at the largest fds; O(1) when the measured wait at the
# largest fds is within C1_FLAT_GROWTH of the wait at the smallest.
C1_MIN_R2 = 0.9
C1_LINEAR_SHARE = 0.5
C1_FLAT_GROWTH = APPROX
# C2/C3: the default thread stack; "a few KB" is at most this much memory per coroutine.
THREAD_STACK = 8 * MiB
FEW_KB = 16 * KiB
# C4: "seconds" is at least C4_SECONDS for 10,000 threads; "milliseconds" at most
# C4_MILLISECONDS for 10,000 coroutines.
C4_N = 10000
C4_SECONDS = 1e9
C4_MILLISECONDS = 100e6
# C5: the claimed bands, widened by APPROX; a thread row counts only when getrusage counted
# between C5_VERIFIED[0] and C5_VERIFIED[1] of the switches expected.
C5_KERNEL = (1000.0 / APPROX, 10000.0 * APPROX)
C5_USER = (100.0 / APPROX, 100.0 * APPROX)
C5_VERIFIED = (0.8, 1.25)
C5_THREAD_MECHS = ("futex", "pipe", "yield")
C5_CORO_MECHS = ("coro-asm", "coro-ucontext")
# C7: the seed's churn rate.
C7_CHURN = 210e3
# C9: an overhead counts when the peer's median is at least C9_MIN_OVERHEAD above the native
# backend's and the difference is larger than twice the two cases' combined stddev, in most of
# the matched configurations; the seeds' size of it is C9_SEED_FACTOR x.
C9_MIN_OVERHEAD = 0.05
C9_SEED_FACTOR = 3.0

RULES = {
    "C1": "select and poll are O(n) when the least-squares fit of median wait_ns against fds "
          "(one sweep of at least %d points spanning at least %gx in fds) has a positive slope, "
          "R² ≥ %g, and the per-fd term is at least %d%% of the measured wait at the largest "
          "fds; epoll (and epoll-et) is O(1) when its measured wait at the largest fds is "
          "within %gx of its wait at the smallest. Other backends and peers are shown for "
          "reference." % (C1_MIN_POINTS, C1_MIN_SPAN, C1_MIN_R2, C1_LINEAR_SHARE * 100,
                          C1_FLAT_GROWTH),
    "C2": "Threads are the 'thread' variant (default attributes) at the largest N measured. "
          "'~8 MB' holds of a measure when it is within %gx of 8 MiB; virtual size and "
          "resident + kernel memory are judged separately. 'A few KB' holds when the leanest "
          "coroutine configuration (smallest stack, then smallest touched depth) uses at most "
          "%s resident + kernel per coroutine." % (APPROX, fmt.nbytes(FEW_KB)),
    "C3": "Totals are per-unit × N at exactly N = 1,000 and 10,000 threads and 10,000 and "
          "100,000 coroutines (never extrapolated: an N the sweep did not reach is not "
          "measured). '≈ X' holds within %gx of X; 'a few hundred MB' is 150 MB-1 GB. A total "
          "holds when resident + kernel memory matches; matching virtual size alone is "
          "reported as 'of virtual size only' and does not count." % APPROX,
    "C4": "Total = %s × median create_ns, from the batch of 10,000 where the CSV has one "
          "(else the largest batch, else one at a time). Threads 'take seconds' when the total is ≥ %s; "
          "coroutines 'take milliseconds' when it is ≤ %s (milliseconds or less)."
          % (fmt.count(C4_N), fmt.ns(C4_SECONDS), fmt.ns(C4_MILLISECONDS)),
    "C5": "Per placement, the kernel switch is futex ping-pong (else pipe, else yield) and "
          "holds when its median is in %s-%s (1-10 µs widened by %gx); a thread row counts "
          "only when getrusage counted %g-%g of the expected switches. A user-mode switch "
          "holds when its median is in %s-%s (~100 ns within %gx)."
          % (fmt.ns(C5_KERNEL[0]), fmt.ns(C5_KERNEL[1]), APPROX, C5_VERIFIED[0],
             C5_VERIFIED[1], fmt.ns(C5_USER[0]), fmt.ns(C5_USER[1]), APPROX),
    "C6": "Needs a workload that times N waits of D sequentially and concurrently; none is in "
          "docs/csv.md yet.",
    "C7": "Churn holds when the leanest coroutine configuration's spawn_per_s is within %gx of "
          "210k/s. The p95 and cancellation parts need workloads not in docs/csv.md yet."
          % APPROX,
    "C8": "Needs an await-checkpoint / starvation workload; none is in docs/csv.md yet.",
    "C9": "Each peer (libevent-epoll, libev, libuv) is compared with the native backend it "
          "runs over on fanin event_ns at the same fds/active/position/timeout/transport. It "
          "costs an overhead when its median is ≥ %d%% above native's and the difference "
          "exceeds twice the combined stddev (CV × median where stddev is absent, else 0), in "
          "most matched configurations. The seeds' size "
          "of it (~3x+, 10x) holds when the median ratio is ≥ %gx."
          % (C9_MIN_OVERHEAD * 100, C9_SEED_FACTOR),
}


@dataclass
class Claim:
    claim_id: str
    claim: str       # DESIGN.md's one-line statement
    stated: str      # the seed's own words and figures
    source: str      # seed file and section


CLAIMS = [
    Claim("C1", "select/poll cost per call grows O(n) with watched fds; epoll is O(1) in "
          "watched fds",
          "select/poll: \"Kernel must traverse all fds to check status. Time complexity: "
          "O(n)\"; epoll: \"returns only ready fds. Time complexity: O(1) for ready events\"",
          "002 §3.3"),
    Claim("C2", "a thread costs ~8 MB of stack; a coroutine a few KB",
          "\"Each thread ~8MB stack space (Linux default)\"; \"Each coroutine ~few KB\"",
          "002 §5.2"),
    Claim("C3", "1,000 threads ≈ 8 GB, 10,000 threads ≈ 80 GB; 10,000 coroutines ≈ 100 MB; "
          "100K coroutines ≈ a few hundred MB",
          "\"1000 threads ≈ 8GB memory\"; \"100K coroutines ≈ few hundred MB\"; "
          "\"10,000 threads: ~80 GB\"; \"10,000 coroutines: ~100 MB\"",
          "002 §5.2, §5.5"),
    Claim("C4", "creating 10,000 threads takes seconds, 10,000 coroutines milliseconds",
          "\"10,000 threads ... Creation Time: Seconds\"; \"10,000 coroutines ... "
          "Milliseconds\"", "002 §5.5"),
    Claim("C5", "a kernel (thread) context switch costs ~1-10 µs, a user-mode (coroutine) "
          "switch ~100 ns",
          "\"Kernel-mode switch, save/restore registers, ~1-10μs\"; \"User-mode switch, only "
          "switch stack pointer, ~100ns\"", "002 §5.2"),
    Claim("C6", "N requests that each wait D: sequential ≈ N×D, threads or an event loop ≈ D",
          "20 requests of 1 s: \"Sync ~22s\" vs \"Async ~1.3s\" (\"17x\"); \"Sync: total wait "
          "time = N × IO latency; Async: total wait time = max(IO latency)\"", "002 §4.2, §4.4"),
    Claim("C7", "task churn ≈ 210k tasks/s; 200 workers × 200 exp(5 ms) sleeps → p95 ≈ 15 ms; "
          "5k tasks cancel and settle",
          "\"asyncio was quickest at raw task churn (≈210k tasks/s)\"; \"200 workers × 200 "
          "operations with exponential sleep (mean 5ms)\", \"p95 ≈15 ms\"; \"launch 5k "
          "long-lived tasks, cancel after 50ms\"", "001"),
    Claim("C8", "a checkpoint on every await costs per-call overhead; a never-yielding task "
          "starves the loop",
          "\"checkpoint on (almost) every async call ... adds a bit of per-await overhead\"; "
          "\"If an awaited call never actually blocks, the loop may never switch tasks\"",
          "000 a"),
    Claim("C9", "an abstraction layer over the native loop costs per-request overhead",
          "\"This extra abstraction adds per-request CPU + sync overhead\", \"replacing AnyIO "
          "paths with native asyncio primitives yields ~3×+ speedups\" (000 b); \"Slower due "
          "to abstraction layer\", \"10x slower\" (003)", "000 b, 003"),
]
CLAIM_BY_ID = {c.claim_id: c for c in CLAIMS}


@dataclass
class Part:
    name: str
    outcome: object   # True, False or None (not measured)
    text: str


@dataclass
class Verdict:
    claim_id: str
    claim: str
    stated: str
    source: str
    measured: str = ""
    verdict: str = NOT_MEASURED
    detail: str = ""
    rows: str = ""
    rule: str = ""
    parts: list = field(default_factory=list)
    summary: str = ""   # the verdict cell: which parts hold, which do not, what is missing


def compose(parts):
    """The verdict label for a list of parts (see the module docstring)."""
    measured = [p for p in parts if p.outcome is not None]
    if not measured:
        return NOT_MEASURED
    if all(p.outcome for p in measured):
        return HOLDS
    if not any(p.outcome for p in measured):
        return NOT
    return PART


def _verdict(claim_id, parts, measured, rows, why_not="", extra=""):
    c = CLAIM_BY_ID[claim_id]
    label = compose(parts)
    held = [p.name for p in parts if p.outcome is True]
    failed = [p.name for p in parts if p.outcome is False]
    missing = [p.name for p in parts if p.outcome is None]
    bits, summary = [], []
    if label == NOT_MEASURED:
        bits.append(why_not or "; ".join(p.text for p in parts))
        summary.append(bits[0])
    else:
        if label == PART:
            summary.append("holds for %s; not for %s" % (", ".join(held), ", ".join(failed)))
        elif label == HOLDS:
            summary.append("holds for " + ", ".join(held))
        else:
            summary.append("not for " + ", ".join(failed))
        bits.extend(p.text for p in parts if p.outcome is not None)
        if missing:
            summary.append("not measured in this CSV: " + ", ".join(missing))
            bits.append("not measured: " + "; ".join(p.text for p in parts
                                                     if p.outcome is None))
    if extra:
        bits.append(extra)
    return Verdict(claim_id, c.claim, c.stated, c.source, measured=measured, verdict=label,
                   detail=". ".join(b.rstrip(".") for b in bits if b) + ".", rows=rows,
                   rule=RULES[claim_id], parts=parts,
                   summary="; ".join(summary))


def _isnan(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def _spread(row, scale=1.0, f=fmt.ns):
    """'range a-b over R reps' from min/max, else 'CV x%', else ''."""
    lo, hi, cv, reps = row.get("min"), row.get("max"), row.get("cv"), row.get("repetitions")
    if not _isnan(lo) and not _isnan(hi):
        r = "" if _isnan(reps) else " over %d reps" % reps
        return "range %s-%s%s" % (f(lo * scale), f(hi * scale), r)
    if not _isnan(cv):
        return "CV %s" % fmt.pct(cv)
    return "spread not recorded"


def _lines(df):
    return [ln for ls in df["lines"] for ln in ls] if len(df) else []


# ---- C1 ------------------------------------------------------------------------------
def evaluate_c1(ds):
    fits = wait_fits(ds)
    parts, figs, lines, notes = [], [], [], []

    def judge(p, want_linear):
        r = fits[fits["poller"] == p]
        if r.empty:
            return Part("%s %s" % (p, "O(n)" if want_linear else "O(1)"), None,
                        "no fanin wait_ns sweep for %s in this CSV" % p)
        r = r.iloc[0]
        name = "%s %s" % (p, "O(n)" if want_linear else "O(1)")
        span = r["fds_max"] / r["fds_min"] if r["fds_min"] > 0 else math.inf
        if r["points"] < C1_MIN_POINTS or span < C1_MIN_SPAN:
            return Part(name, None, "%s's sweep (%d points, fds %d-%d) is too short to tell"
                        % (p, r["points"], r["fds_min"], r["fds_max"]))
        lines.extend(r["lines"])
        se = "" if _isnan(r["per_fd_se"]) else " ± %s" % _nsfd(r["per_fd_se"])
        fig = "%s %s/fd%s (R² %.2f)" % (p, _nsfd(r["per_fd_ns"]), se, r["r2"])
        figs.append(fig)
        share = r["per_fd_share"]
        growth = r["wait_at_max_ns"] / r["wait_at_min_ns"]
        if want_linear:
            ok = r["per_fd_ns"] > 0 and r["r2"] >= C1_MIN_R2 and share >= C1_LINEAR_SHARE
            what = "%s: %s/fd (R² %.2f), %s of a wait at %s fds (%s)" % (
                p, _nsfd(r["per_fd_ns"]), r["r2"], fmt.pct(max(share, 0.0)),
                fmt.count(r["fds_max"]), fmt.ns(r["wait_at_max_ns"]))
            return Part(name, bool(ok), what + ("; grows linearly" if ok else
                                                "; not a linear growth"))
        ok = growth <= C1_FLAT_GROWTH
        ref = fits[fits["poller"].isin(["poll", "select"]) & (fits["per_fd_ns"] > 0)]
        rel = "" if ref.empty else ", %s of %s's per-fd cost" % (
            fmt.pct(r["per_fd_ns"] / ref["per_fd_ns"].min()),
            ref.sort_values("per_fd_ns")["poller"].iloc[0])
        what = "%s: %s at %s fds, %s at %s fds (%.2fx over a %sx sweep; %s/fd%s)" % (
            p, fmt.ns(r["wait_at_min_ns"]), fmt.count(r["fds_min"]),
            fmt.ns(r["wait_at_max_ns"]), fmt.count(r["fds_max"]), growth,
            fmt.count(r["fds_max"] / r["fds_min"]), _nsfd(r["per_fd_ns"]), rel)
        return Part(name, bool(ok), what + ("; flat" if ok else "; grows with fds"))

    present = set(fits["poller"])
    for p in ("select", "poll"):
        if p in present or not present & {"select", "poll"}:
            parts.append(judge(p, True))
    for p in ("epoll", "epoll-et"):
        if p in present or (p == "epoll" and not present & {"epoll", "epoll-et"}):
            parts.append(judge(p, False))
    others = fits[~fits["poller"].isin(["select", "poll", "epoll", "epoll-et"])]
    if len(others):
        notes.append("for reference: " + ", ".join(
            "%s %s/fd" % (r["poller"], _nsfd(r["per_fd_ns"])) for _, r in others.iterrows()))
    csv_fit = fits[fits["csv_per_fd_ns"].notna()]
    if len(csv_fit):
        agree, differ = [], []
        for _, r in csv_fit.iterrows():
            # The same least squares over the same medians: equal but for rounding, unless
            # the suite's sweep and the one chosen here differ (another configuration).
            tol = max(1e-6, 1e-3 * abs(r["per_fd_ns"]), 2 * (r["per_fd_se"] or 0)
                      if r["per_fd_se"] == r["per_fd_se"] else 0)
            (agree if abs(r["csv_per_fd_ns"] - r["per_fd_ns"]) <= tol else differ).append(
                "%s %s/fd" % (r["poller"], _nsfd(r["csv_per_fd_ns"])))
        if agree:
            notes.append("the suite's own derived fit agrees for " + ", ".join(agree))
        if differ:
            notes.append("the suite's own derived fit differs (another sweep of the CSV) for "
                         + ", ".join(differ))
    measured = "fitted per-fd cost of one wait: " + ", ".join(figs) if figs else ""
    why = "no fanin wait_ns rows sweeping fds for select, poll or epoll in this CSV (run the " \
          "fanin workload with those pollers)" if fits.empty else ""
    return _verdict("C1", parts, measured, cite(lines), why, "; ".join(notes))


def _nsfd(v):
    if abs(v) >= 0.1 or v == 0 or _isnan(v):
        return "%s ns" % fmt._g(v)
    digits = 1 - int(math.floor(math.log10(abs(v))))
    return "%.*f ns" % (digits, v)


# ---- memory helpers ----------------------------------------------------------------------
def _memory_table(ds, variant):
    """Per-unit memory per case: units, stack_bytes, stack_alloc, touch_bytes, vsz, rss,
    kernel (medians) with min/max for the spread, and lines."""
    tabs = {}
    for key, metric in (("vsz", "vsz_per_unit_bytes"), ("rss", "rss_per_unit_bytes"),
                        ("kernel", "kernel_per_unit_bytes")):
        tabs[key] = ds.stats("memory", metric, variant=variant)
    base = tabs["vsz"]
    if base.empty:
        return []
    out = []
    for _, r in base.iterrows():
        rec = {"units": r["units"], "stack_bytes": r["stack_bytes"],
               "stack_alloc": r["stack_alloc"], "touch_bytes": r["touch_bytes"],
               "vsz": r["median"], "vsz_row": r, "lines": list(r["lines"])}
        for key in ("rss", "kernel"):
            t = tabs[key]
            m = t[(t["units"] == r["units"]) & _eqnan(t["stack_bytes"], r["stack_bytes"])
                  & (t["stack_alloc"] == r["stack_alloc"])
                  & _eqnan(t["touch_bytes"], r["touch_bytes"])]
            rec[key] = m["median"].iloc[0] if len(m) else math.nan
            rec[key + "_row"] = m.iloc[0] if len(m) else None
            rec["lines"] += _lines(m)
        out.append(rec)
    return out


def _eqnan(series, v):
    if _isnan(v):
        return series.isna()
    return series == v


def _leanest(recs):
    """Coroutine configurations, leanest first: smallest stack, then smallest touched depth."""
    def key(r):
        return (0 if _isnan(r["stack_bytes"]) else r["stack_bytes"],
                0 if _isnan(r["touch_bytes"]) else r["touch_bytes"],
                r["stack_alloc"] != "pool")
    return sorted(recs, key=key)


def _config_name(r):
    bits = []
    if not _isnan(r["stack_bytes"]):
        bits.append("%s stack" % fmt.nbytes(r["stack_bytes"]))
    if r["stack_alloc"]:
        bits.append(r["stack_alloc"])
    if not _isnan(r["touch_bytes"]) and r["touch_bytes"] > 0:
        bits.append("%s touched" % fmt.nbytes(r["touch_bytes"]))
    return ", ".join(bits)


def _used(r):
    """Resident + kernel per unit (kernel counts as 0 when its row is absent)."""
    return r["rss"] + (0.0 if _isnan(r["kernel"]) else r["kernel"])


def _limits(ds, variant):
    lim = ds.stats("memory", "units_reached", status="limit", variant=variant)
    return lim


# ---- C2 ------------------------------------------------------------------------------
def evaluate_c2(ds):
    parts, figs, lines = [], [], []
    thr = [r for r in _memory_table(ds, "thread") if not _isnan(r["vsz"])]
    if thr:
        top = max(thr, key=lambda r: r["units"])
        lines += top["lines"]
        lo, hi = THREAD_STACK / APPROX, THREAD_STACK * APPROX
        v_ok = lo <= top["vsz"] <= hi
        used = _used(top)
        figs.append("thread (%s, N=%s): virtual %s (%s), resident %s (%s) + kernel %s" % (
            _config_name(top), fmt.count(top["units"]), fmt.nbytes(top["vsz"]),
            _spread(top["vsz_row"], f=fmt.nbytes), fmt.nbytes(top["rss"]),
            _spread(top["rss_row"], f=fmt.nbytes) if top["rss_row"] is not None else "",
            fmt.nbytes(top["kernel"])))
        parts.append(Part("8 MB of virtual size", bool(v_ok),
                          "a thread reserves %s of virtual memory%s" % (
                              fmt.nbytes(top["vsz"]), " (≈ 8 MB)" if v_ok else
                              " (not ≈ 8 MB)")))
        if _isnan(used):
            parts.append(Part("8 MB of resident + kernel memory", None,
                              "no rss_per_unit_bytes row for threads"))
        else:
            u_ok = lo <= used <= hi
            parts.append(Part("8 MB of resident + kernel memory", bool(u_ok),
                              "but it uses %s resident + %s kernel = %s (%s of 8 MB)" % (
                                  fmt.nbytes(top["rss"]), fmt.nbytes(top["kernel"]),
                                  fmt.nbytes(used), fmt.pct(used / THREAD_STACK))
                              if not u_ok else "and uses %s resident + kernel" %
                              fmt.nbytes(used)))
    else:
        parts.append(Part("8 MB per thread", None,
                          "no memory rows for default-attribute threads (variant 'thread')"))
    cor = [r for r in _memory_table(ds, "coroutine") if not _isnan(r["rss"])]
    if cor:
        lean = _leanest(cor)[0]
        same = [r for r in cor if _config_name(r) == _config_name(lean)]
        top = max(same, key=lambda r: r["units"])
        lines += top["lines"]
        used = _used(top)
        ok = used <= FEW_KB
        figs.append("coroutine (%s, N=%s): virtual %s, resident %s (%s) + kernel %s" % (
            _config_name(top), fmt.count(top["units"]), fmt.nbytes(top["vsz"]),
            fmt.nbytes(top["rss"]), _spread(top["rss_row"], f=fmt.nbytes),
            fmt.nbytes(top["kernel"])))
        others = sorted({_config_name(r): _used(r) for r in cor
                         if _config_name(r) != _config_name(lean)}.items())
        more = "" if not others else " (other configurations: %s)" % ", ".join(
            "%s: %s" % (k, fmt.nbytes(v)) for k, v in others)
        parts.append(Part("a few KB per coroutine", bool(ok),
                          "a coroutine (%s) uses %s resident + kernel%s%s" % (
                              _config_name(top), fmt.nbytes(used),
                              " (a few KB)" if ok else " (more than a few KB)", more)))
    else:
        parts.append(Part("a few KB per coroutine", None, "no memory rows for coroutines"))
    return _verdict("C2", parts, "; ".join(figs), cite(lines),
                    "no memory rows in this CSV (run the memory workload)")


# ---- C3 ------------------------------------------------------------------------------
C3_TARGETS = [
    ("1,000 threads ≈ 8 GB", "thread", 1000, 1000 * THREAD_STACK / APPROX,
     1000 * THREAD_STACK * APPROX),
    ("10,000 threads ≈ 80 GB", "thread", 10000, 10000 * THREAD_STACK / APPROX,
     10000 * THREAD_STACK * APPROX),
    ("10,000 coroutines ≈ 100 MB", "coroutine", 10000, 100e6 / APPROX, 100e6 * APPROX),
    ("100K coroutines ≈ a few hundred MB", "coroutine", 100000, 150e6, 1e9),
]


def evaluate_c3(ds):
    parts, figs, lines = [], [], []
    tables = {"thread": _memory_table(ds, "thread"), "coroutine": _memory_table(ds, "coroutine")}
    for name, variant, n, lo, hi in C3_TARGETS:
        recs = [r for r in tables[variant] if r["units"] == n and not _isnan(r["rss"])]
        if variant == "coroutine":
            recs = _leanest(recs)
        if not recs:
            lim = _limits(ds, variant)
            reached = [r for _, r in lim.iterrows()]
            if reached:
                why = "%s: the sweep stopped at %s %ss (%s)" % (
                    name, fmt.count(min(r["median"] for r in reached)), variant,
                    reached[0]["note"] or "a limit")
                lines += _lines(lim)
            elif tables[variant]:
                why = "%s: no row at N=%s (the sweep went to %s)" % (
                    name, fmt.count(n), fmt.count(max(r["units"] for r in tables[variant])))
            else:
                why = "%s: no memory rows for %ss" % (name, variant)
            parts.append(Part(name, None, why))
            continue
        r = recs[0]
        lines += r["lines"]
        virt, used = r["vsz"] * n, _used(r) * n
        v_ok, u_ok = lo <= virt <= hi, lo <= used <= hi
        figs.append("%s %ss: virtual %s; resident %s (%s) + kernel %s = %s" % (
            fmt.count(n), variant, fmt.nbytes(virt), fmt.nbytes(r["rss"] * n),
            _spread(r["rss_row"], scale=n, f=fmt.nbytes),
            fmt.nbytes(0.0 if _isnan(r["kernel"]) else r["kernel"] * n), fmt.nbytes(used)))
        if u_ok:
            text = "%s: resident + kernel %s (virtual %s): holds" % (name, fmt.nbytes(used),
                                                                      fmt.nbytes(virt))
        elif v_ok:
            text = "%s: of virtual size only (%s); resident + kernel is %s" % (
                name, fmt.nbytes(virt), fmt.nbytes(used))
        else:
            text = "%s: resident + kernel %s, virtual %s" % (name, fmt.nbytes(used),
                                                             fmt.nbytes(virt))
        if variant == "coroutine":
            text += " (%s)" % _config_name(r)
        parts.append(Part(name, bool(u_ok), text))
    why = "" if tables["thread"] or tables["coroutine"] else \
        "no memory rows in this CSV (run the memory workload to 10,000 threads and 100,000 " \
        "coroutines)"
    return _verdict("C3", parts, "; ".join(figs), cite(lines), why)


# ---- C4 ------------------------------------------------------------------------------
def _batch_first(df):
    """Rows creating C4_N units at once first (the claim's situation), then larger batches;
    one-at-a-time rows last."""
    if "units" not in df.columns or not len(df):
        return df
    key = df["units"].apply(lambda u: (0 if u == C4_N else 1, -(u if u == u else 0)))
    return df.assign(_k=key).sort_values("_k").drop(columns="_k")


def evaluate_c4(ds):
    parts, figs, lines = [], [], []
    thr = _batch_first(ds.stats("spawn", "create_ns", variant="thread"))
    if len(thr):
        r = thr.iloc[0]
        total = C4_N * r["median"]
        ok = total >= C4_SECONDS
        lines += _lines(thr.iloc[:1])
        figs.append("thread create+join %s (%s; %s) → %s threads in %s" % (
            fmt.ns(r["median"]), _spread(r),
            "in a batch of %s" % fmt.count(r["units"]) if r.get("units", 1) > 1
            else "one at a time", fmt.count(C4_N), fmt.ns(total)))
        parts.append(Part("threads take seconds", bool(ok),
                          "%s threads take %s (%s each)%s" % (
                              fmt.count(C4_N), fmt.ns(total), fmt.ns(r["median"]),
                              "" if ok else ", under a second")))
    else:
        parts.append(Part("threads take seconds", None,
                          "no spawn create_ns rows for default-attribute threads"))
    cor = ds.stats("spawn", "create_ns", variant="coroutine")
    if len(cor) and "units" in cor.columns and (cor["units"] == C4_N).any():
        cor = cor[cor["units"] == C4_N]  # the claim's situation: 10,000 created at once
    if len(cor):
        recs = _leanest([dict(r) for _, r in cor.iterrows()])
        r = recs[0]
        total = C4_N * r["median"]
        ok = total <= C4_MILLISECONDS
        lines += list(r["lines"])
        figs.append("coroutine (%s) create+destroy %s (%s) → %s in %s" % (
            _config_name(r), fmt.ns(r["median"]), _spread(r), fmt.count(C4_N), fmt.ns(total)))
        others = ", ".join("%s: %s each" % (_config_name(o), fmt.ns(o["median"]))
                           for o in recs[1:])
        parts.append(Part("coroutines take milliseconds", bool(ok),
                          "%s coroutines take %s%s" % (
                              fmt.count(C4_N), fmt.ns(total),
                              "" if not others else " (other configurations: %s)" % others)))
    else:
        parts.append(Part("coroutines take milliseconds", None,
                          "no spawn create_ns rows for coroutines"))
    return _verdict("C4", parts, "; ".join(figs), cite(lines),
                    "no spawn rows in this CSV (run the spawn workload)")


# ---- C5 ------------------------------------------------------------------------------
def evaluate_c5(ds):
    parts, figs, lines, notes, kernel_medians = [], [], [], [], []
    sw = ds.stats("ctxswitch", "switch_ns")
    ratio = ds.stats("ctxswitch", "switches_counted_ratio")
    placements = [p for p in schema.PLACEMENTS
                  if p in set(sw[sw["variant"].isin(C5_THREAD_MECHS)]["placement"])]
    placements += sorted(set(sw[sw["variant"].isin(C5_THREAD_MECHS)]["placement"])
                         - set(placements))
    for place in placements:
        chosen = None
        for mech in C5_THREAD_MECHS:
            rows = sw[(sw["variant"] == mech) & (sw["placement"] == place)]
            if rows.empty:
                continue
            r = rows.iloc[0]
            rr = ratio[(ratio["variant"] == mech) & (ratio["placement"] == place)]
            counted = rr["median"].iloc[0] if len(rr) else math.nan
            if _isnan(counted):  # the rule: a thread row counts only when verified
                notes.append("%s/%s left out: not verified (no switches_counted_ratio row)"
                             % (mech, place or "unpinned"))
                continue
            if not C5_VERIFIED[0] <= counted <= C5_VERIFIED[1]:
                notes.append("%s/%s left out: getrusage counted %.2f of the expected switches"
                             % (mech, place, counted))
                continue
            chosen = (mech, r, counted, rr)
            break
        name = "kernel switch %s" % (place or "(no placement)")
        if chosen is None:
            parts.append(Part(name, None, "no verified thread switch at %s" % place))
            continue
        mech, r, counted, rr = chosen
        kernel_medians.append(r["median"])
        lines += list(r["lines"]) + _lines(rr)
        ok = C5_KERNEL[0] <= r["median"] <= C5_KERNEL[1]
        figs.append("%s %s %s (%s%s)" % (
            mech, place, fmt.ns(r["median"]), _spread(r),
            "" if _isnan(counted) else ", counted/expected %.2f" % counted))
        parts.append(Part(name, bool(ok), "%s at %s: %s per switch, %s ~1-10 µs (taken as "
                          "%s-%s)" % (mech, place, fmt.ns(r["median"]), "within" if ok else
                                      ("above" if r["median"] > C5_KERNEL[1] else "below"),
                                      fmt.ns(C5_KERNEL[0]), fmt.ns(C5_KERNEL[1]))))
    if not placements:
        parts.append(Part("kernel switch", None, "no thread switch rows (futex, pipe, yield)"))
    coro_seen = False
    for mech in C5_CORO_MECHS:
        rows = sw[sw["variant"] == mech]
        if rows.empty:
            continue
        coro_seen = True
        r = rows.iloc[0]
        lines += list(r["lines"])
        ok = C5_USER[0] <= r["median"] <= C5_USER[1]
        figs.append("%s %s (%s)" % (mech, fmt.ns(r["median"]), _spread(r)))
        parts.append(Part("user switch %s" % mech, bool(ok),
                          "%s: %s per switch, %s ~100 ns (taken as %s-%s)" % (
                              mech, fmt.ns(r["median"]), "within" if ok else
                              ("above" if r["median"] > C5_USER[1] else "below"),
                              fmt.ns(C5_USER[0]), fmt.ns(C5_USER[1]))))
    if not coro_seen:
        parts.append(Part("user switch", None, "no coroutine switch rows (coro-asm, "
                                               "coro-ucontext)"))
    over = ds.stats("ctxswitch", "coro_overhead_ratio", status="derived")
    if len(over):
        lines += _lines(over)
        notes.append("coro-asm (through coro_resume/coro_yield) costs %.2fx the bare assembly "
                     "switch (coro-raw) in this run; the suite's own target is within 1.2x"
                     % over["median"].iloc[0])
    # the ordering the claim implies, as context
    u = sw[sw["variant"].isin(C5_CORO_MECHS)]
    if kernel_medians and len(u):
        notes.append("the cheapest verified kernel switch costs %.0fx the dearest user-mode "
                     "one" % (min(kernel_medians) / u["median"].max()))
    skipped = ds.select("ctxswitch", status="skipped")
    if len(skipped):
        notes.append("placements not run: " + "; ".join(sorted(set(skipped["note"]))))
    return _verdict("C5", parts, "; ".join(figs), cite(lines),
                    "no ctxswitch rows in this CSV (run the ctxswitch workload)",
                    "; ".join(notes))


# ---- C6, C7, C8: later workloads ------------------------------------------------------
def evaluate_c6(ds):
    why = ("no rows time N waits of D sequentially and concurrently: that workload is planned "
           "(DESIGN.md §1, 'later workload') and docs/csv.md has no metric for it yet")
    return _verdict("C6", [Part("sequential ≈ N×D, concurrent ≈ D", None, why)], "", "", why)


def evaluate_c7(ds):
    parts, figs, lines = [], [], []
    churn = ds.stats("spawn", "spawn_per_s", variant="coroutine")
    if len(churn) and "units" in churn.columns and churn["units"].notna().any():
        # N tasks that each wait 0.5 ms cannot finish faster than N / 0.5 ms: the rate depends
        # on N, so coroutines and threads are compared at the largest N both were run with.
        churn = churn[churn["units"] == churn["units"].max()]
    if len(churn):
        recs = _leanest([dict(r) for _, r in churn.iterrows()])
        r = recs[0]
        lines += list(r["lines"])
        ok = C7_CHURN / APPROX <= r["median"] <= C7_CHURN * APPROX
        thr = ds.stats("spawn", "spawn_per_s", variant="thread")
        if len(thr) and "units" in thr.columns and thr["units"].notna().any():
            same = thr[thr["units"] == r.get("units")]
            thr = same if len(same) else thr[thr["units"] == thr["units"].max()]
        tfig = "" if thr.empty else "; threads %s" % fmt.rate(thr["median"].iloc[0])
        if r.get("units") == r.get("units") and r.get("units"):
            tfig += " (%s tasks at once)" % fmt.count(r["units"])
        lines += _lines(thr.iloc[:1])
        figs.append("coroutine churn (%s) %s (%s)%s" % (
            _config_name(r), fmt.rate(r["median"]), _spread(r, f=fmt.rate), tfig))
        parts.append(Part("churn ≈ 210k tasks/s", bool(ok),
                          "a C coroutine (%s) churns %s, %.1fx the seed's 210k tasks/s for "
                          "asyncio%s; the seed's figure is the Python interpreter's cost, not "
                          "the mechanism's" % (_config_name(r), fmt.rate(r["median"], "tasks"),
                                               r["median"] / C7_CHURN, tfig)
                          if not ok else "a C coroutine churns %s, ≈ 210k tasks/s"
                          % fmt.rate(r["median"], "tasks")))
    else:
        parts.append(Part("churn ≈ 210k tasks/s", None,
                          "no spawn spawn_per_s rows for coroutines"))
    parts.append(Part("p95 ≈ 15 ms for 200 × 200 exp(5 ms) sleeps", None,
                      "the simulated-I/O workload (p95 of exp(5 ms) sleeps) is not in "
                      "docs/csv.md yet"))
    parts.append(Part("5k tasks cancel and settle", None,
                      "the cancellation-storm workload is not in docs/csv.md yet"))
    return _verdict("C7", parts, "; ".join(figs), cite(lines))


def evaluate_c8(ds):
    why = ("no rows measure a per-await checkpoint or a never-yielding task: that workload is "
           "planned (DESIGN.md §1, 'later workload') and docs/csv.md has no metric for it yet")
    return _verdict("C8", [Part("per-await checkpoint cost; starvation", None, why)], "", "",
                    why)


# ---- C9 ------------------------------------------------------------------------------
_MATCH = ("fds", "active", "writes", "position", "timeout", "transport", "placement")


def _sd(r):
    if not _isnan(r["stddev"]):
        return r["stddev"]
    if not _isnan(r["cv"]):
        return r["cv"] * r["median"]
    return 0.0


def peer_overheads(ds, metric="event_ns"):
    """For each peer: matched fanin configurations against its native backend, with the
    difference and ratio of the medians. {peer: [dict(config, peer, native, diff, ratio,
    significant, lines)]}"""
    st = ds.stats("fanin", metric)
    st = st[st["median"].notna()]
    out = {}
    for peer in sorted(p for p in set(st["poller"]) if schema.is_peer(p)):
        native = schema.native_of(peer)
        pr, nr = st[st["poller"] == peer], st[st["poller"] == native]
        matches = []
        for _, a in pr.iterrows():
            m = nr
            for c in _MATCH:
                m = m[_eqnan(m[c], a[c])]
            if m.empty:
                continue
            b = m.iloc[0]
            diff = a["median"] - b["median"]
            comb = math.sqrt(_sd(a) ** 2 + _sd(b) ** 2)
            ratio = a["median"] / b["median"] if b["median"] else math.nan
            matches.append({
                "fds": a["fds"], "active": a["active"], "position": a["position"],
                "peer": a["median"], "native": b["median"], "native_name": native,
                "diff": diff, "ratio": ratio,
                "significant": diff > 2 * comb and ratio >= 1 + C9_MIN_OVERHEAD,
                "lines": list(a["lines"]) + list(b["lines"])})
        out[peer] = matches
    return out


def evaluate_c9(ds):
    parts, figs, lines = [], [], []
    ov = peer_overheads(ds)
    ratios = []
    for peer, matches in ov.items():
        if not matches:
            parts.append(Part("%s overhead" % peer, None, "%s has no configuration matching "
                              "%s's in this CSV" % (peer, schema.native_of(peer))))
            continue
        for m in matches:
            lines += m["lines"]
        sig = sum(1 for m in matches if m["significant"])
        diffs = sorted(m["diff"] for m in matches)
        rs = sorted(m["ratio"] for m in matches)
        md, mr = diffs[len(diffs) // 2], rs[len(rs) // 2]
        ratios.append(mr)
        ok = sig * 2 > len(matches)
        figs.append("%s %+.0f ns per event (%.2fx %s, median of %d configurations)" % (
            peer, md, mr, matches[0]["native_name"], len(matches)))
        parts.append(Part("%s overhead" % peer, bool(ok),
                          "%s costs %s more per event than %s (%.2fx), beyond the noise in "
                          "%d of %d configurations" % (
                              peer, fmt.ns(md), matches[0]["native_name"], mr, sig,
                              len(matches))))
    extra = ""
    if ratios:
        big = all(r >= C9_SEED_FACTOR for r in ratios)
        parts.append(Part("of the seeds' size (≥ 3x)", bool(big),
                          "the layers cost %.2f-%.2fx the native path, %s the seeds' ~3x+/10x"
                          % (min(ratios), max(ratios), "as big as" if big else
                             "far below")))
        echo = _echo_peers(ds)
        if echo:
            extra = "echo: " + echo
    why = "no peer rows (libevent-epoll, libev, libuv) beside a native backend in this CSV " \
          "(run fanin with --poller epoll,libevent-epoll,libev,libuv)"
    if not parts:
        parts.append(Part("peer overhead", None, why))
    return _verdict("C9", parts, "; ".join(figs), cite(lines), "" if ov else why, extra)


def _echo_peers(ds):
    st = schema.closed_loop(ds.stats("echo", "req_per_s"))
    if st.empty:
        return ""
    bits = []
    for peer in sorted(p for p in set(st["poller"]) if schema.is_peer(p)):
        nat = schema.native_of(peer)
        for n in sorted(set(st[st["poller"] == peer]["units"]), reverse=True):
            a = st[(st["poller"] == peer) & (st["units"] == n)]
            b = st[(st["poller"] == nat) & (st["units"] == n)]
            if len(a) and len(b):
                bits.append("%s %.2fx %s's requests/s at %s connections" % (
                    peer, a["median"].iloc[0] / b["median"].iloc[0], nat, fmt.count(n)))
                break
    return ", ".join(bits)


EVALUATORS = [evaluate_c1, evaluate_c2, evaluate_c3, evaluate_c4, evaluate_c5, evaluate_c6,
              evaluate_c7, evaluate_c8, evaluate_c9]


def evaluate(ds):
    """One Verdict per claim, C1..C9."""
    return [f(ds) for f in EVALUATORS]


# ---- claims.md -------------------------------------------------------------------------
def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ").strip() or "-"


def to_markdown(verdicts, ds):
    out = ["# muxbench claims report", ""]
    out.append("CSV: %s" % ", ".join("`%s`" % f for f in ds.files))
    out.append("")
    out.append("Environment: " + ds.caption().replace("\n", "; "))
    out.append("")
    if len(ds.hosts()) > 1:
        out.append("**These rows come from %d hosts (%s): the verdicts pool them.**" % (
            len(ds.hosts()), ", ".join(ds.hosts())))
        out.append("")
    for w in ds.warnings:
        out.append("> warning: %s" % w)
    if ds.warnings:
        out.append("")
    out.append("| claim | as the seed states it | measured here (spread) | verdict | rows |")
    out.append("|---|---|---|---|---|")
    for v in verdicts:
        out.append("| **%s**: %s | %s (seed %s) | %s | **%s**: %s | %s |" % (
            v.claim_id, _cell(v.claim), _cell(v.stated), v.source, _cell(v.measured or "-"),
            v.verdict, _cell(v.summary), _cell(v.rows or "-")))
    out.append("")
    out.append("## The claims one by one")
    out.append("")
    for v in verdicts:
        out.append("### %s: %s" % (v.claim_id, v.claim))
        out.append("")
        out.append("- Seed %s: %s" % (v.source, v.stated))
        out.append("- Verdict: **%s**. %s" % (v.verdict, v.detail))
        if v.measured:
            out.append("- Measured: %s" % v.measured)
        out.append("- Rows: %s" % (v.rows or "none"))
        out.append("- Rule: %s" % v.rule)
        out.append("")
    out.append("## How the verdicts are decided")
    out.append("")
    out.append("A claim is split into parts. **holds**: every part measured holds; **holds only "
               "in part**: some do and some do not (the verdict names them); **does not "
               "hold**: none does; **not measured in this CSV**: the CSV has no rows for any "
               "part, and the verdict says why. Figures are medians over repetitions; the "
               "spread is the min-max range of the repetitions. Rows are cited by CSV line "
               "(the header is line 1). Nothing is extrapolated. Each claim's rule is stated "
               "in its section above, and in `analysis/muxbench_analysis/claims.py` as code.")
    out.append("")
    return "\n".join(out)


def write_claims(ds, path):
    """Evaluate every claim and write claims.md to path; returns the verdicts."""
    verdicts = evaluate(ds)
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_markdown(verdicts, ds))
    return verdicts
