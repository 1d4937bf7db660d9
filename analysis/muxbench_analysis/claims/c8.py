"""C8: a checkpoint on every await costs per-call overhead; a task that never yields starves
the loop (seed 000 a, asyncio against Trio).

Measured by the checkpoint workload: await_ns of an await on a done future that always goes
through the scheduler once (checkpoint, trio) against one that returns at once (fastpath,
asyncio), per poller, with request_ns (one request/response on the same loop) for scale; and
starve_ns, the worst lateness of a 1 ms ticker while another task computes for busy_ns without
yielding (never-yields) or yielding every yield_every_ns (yields), with threads for contrast."""
from .. import fmt
from ..data import cite
from .base import Claim, Part, isnan, lines_of, spread

# The checkpoint costs when its median exceeds the fast path's by more than twice their
# combined spread (stddev, else CV × median), on every poller measured.
NOISE_SIGMAS = 2.0
# "Delays the loop by its whole run": the ticker's worst lateness is at least this share of
# busy_ns (a tick due just after the busy task starts waits for all of it but at most 1 ms).
WHOLE_RUN = 0.8

CLAIM = Claim(
    "C8",
    statement="a checkpoint on every await costs per-call overhead; a never-yielding task "
              "starves the loop",
    stated="\"checkpoint on (almost) every async call ... adds a bit of per-await overhead\"; "
           "\"If an awaited call never actually blocks, the loop may never switch tasks\"",
    source="000 a",
    rule="Per poller, the checkpoint costs per-await overhead when its median await_ns exceeds "
         "the fast path's by more than %g× their combined stddev (CV × median where stddev is "
         "absent), on every poller measured; the extra is also given as a share of request_ns "
         "on that poller. A never-yielding task starves the loop when the ticker's worst "
         "lateness (starve_ns) is at least %d%% of busy_ns on every poller; the yielding "
         "variant and threads are set beside it." % (NOISE_SIGMAS, WHOLE_RUN * 100))


def _sd(r):
    if not isnan(r.get("stddev")):
        return r["stddev"]
    if not isnan(r.get("cv")):
        return r["cv"] * r["median"]
    return 0.0


def _span(values, f):
    """'a' when every value formats alike, else 'a-b' (lowest to highest)."""
    lo, hi = f(min(values)), f(max(values))
    return lo if lo == hi else "%s-%s" % (lo, hi)


def _checkpoint(ds, figs, lines):
    name = "a checkpoint costs per await"
    aw = ds.stats("checkpoint", "await_ns")
    rq = ds.stats("checkpoint", "request_ns")
    cps = aw[aw["variant"] == "checkpoint"]
    if cps.empty or (aw["variant"] == "fastpath").sum() == 0:
        return Part(name, None, "no checkpoint and fastpath await_ns rows")
    texts, ok, shares, extras = [], True, [], []
    for _, cp in cps.iterrows():
        fp = aw[(aw["variant"] == "fastpath") & (aw["poller"] == cp["poller"])]
        if fp.empty:
            continue
        fp = fp.iloc[0]
        extra = cp["median"] - fp["median"]
        extras.append(extra)
        ok &= extra > NOISE_SIGMAS * (_sd(cp) + _sd(fp))
        q = rq[rq["poller"] == cp["poller"]]
        share = ""
        if len(q) and q["median"].iloc[0] > 0:
            shares.append(extra / q["median"].iloc[0])
            share = ", %s of a %s request" % (fmt.pct(shares[-1]), fmt.ns(q["median"].iloc[0]))
            lines += lines_of(q)
        lines += list(cp["lines"]) + list(fp["lines"])
        texts.append("%s: %s against %s (+%s%s; %s)" % (
            cp["poller"], fmt.ns(cp["median"]), fmt.ns(fp["median"]), fmt.ns(extra), share,
            spread(cp)))
    if not texts:
        return Part(name, None, "no poller with both checkpoint and fastpath rows")
    figs.append("await on a done future: " + "; ".join(texts))
    summary = "a checkpoint costs %s per await (fast path %s)" % (
        _span(extras, fmt.ns), fmt.ns(aw[aw["variant"] == "fastpath"]["median"].median()))
    if shares:
        summary += ", %s of a request on the same loop" % _span(shares, fmt.pct)
    return Part(name, bool(ok), summary + ("" if ok else " (within the noise somewhere)") +
                ": a yield through the run queue and the loop's zero-timeout poll")


def _starve(ds, figs, lines):
    name = "a never-yielding task starves the loop"
    sv = ds.stats("checkpoint", "starve_ns")
    never = sv[sv["variant"] == "never-yields"]
    if never.empty:
        return Part(name, None, "no never-yields starve_ns rows")
    ok, texts = True, []
    for _, r in never.iterrows():
        busy = r["busy_ns"]
        ok &= not isnan(busy) and r["median"] >= WHOLE_RUN * busy
        lines += list(r["lines"])
        texts.append("%s %s (%s)" % (r["poller"], fmt.ns(r["median"]), spread(r)))
    busy = never["busy_ns"].iloc[0]
    others = []
    for variant in ("yields", "threads"):
        o = sv[(sv["variant"] == variant) & (sv["busy_ns"] == busy)]
        if len(o):
            lines += lines_of(o)
            every = o["yield_every_ns"].iloc[0]
            others.append("%s %s%s" % (
                variant, fmt.ns(o["median"].median()),
                " (every %s)" % fmt.ns(every) if variant == "yields" and not isnan(every)
                else " (bound to one cpu: the kernel preempts)" if variant == "threads" else ""))
    figs.append("ticker's worst lateness beside %s of work: never-yields %s; %s" % (
        fmt.ns(busy), ", ".join(texts), ", ".join(others)))
    return Part(name, bool(ok), "a task that computes %s without awaiting delays a 1 ms "
                "ticker by %s%s%s" % (
                    fmt.ns(busy), fmt.ns(never["median"].median()),
                    ", its whole run" if ok else ", less than its run",
                    "; " + ", ".join(others) if others else ""))


def evaluate(ds):
    figs, lines = [], []
    parts = [_checkpoint(ds, figs, lines), _starve(ds, figs, lines)]
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines),
                         "no checkpoint rows (run the checkpoint workload; its rows are "
                         "described in docs/csv.md)")
