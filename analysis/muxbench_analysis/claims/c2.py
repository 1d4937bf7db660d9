"""C2: a thread costs ~8 MB of stack; a coroutine a few KB (seed 002 §5.2).

Measured by the memory workload: virtual, resident and kernel memory per unit."""
from .. import fmt
from ..data import cite
from .base import APPROX, KiB, MiB, Claim, Part, isnan, spread
from .memory import config_name, leanest, memory_table, refused, stackful, used

# The default thread stack the seed means; "a few KB" is at most FEW_KB per coroutine.
THREAD_STACK = 8 * MiB
FEW_KB = 16 * KiB

CLAIM = Claim(
    "C2",
    statement="a thread costs ~8 MB of stack; a coroutine a few KB",
    stated="\"Each thread ~8MB stack space (Linux default)\"; \"Each coroutine ~few KB\"",
    source="002 §5.2",
    rule="Per-unit figures are the slope of the memory sweep's fit across N (the step's "
         "difference / N where a sweep has one N); rows of a sanitizer build are refused. "
         "Threads are the 'thread' variant (default attributes) at the largest N measured. "
         "'~8 MB' holds of a measure when it is within %gx of 8 MiB; virtual size and "
         "resident + kernel memory are judged separately. 'A few KB' holds when the leanest "
         "coroutine with a stack of its own (guard or pool; smallest stack, then smallest "
         "touched depth) uses at most %s resident + kernel per coroutine; copy stacks and "
         "stackless coroutines are reported beside it." % (APPROX, fmt.nbytes(FEW_KB)))


def _per_unit(r):
    """'4.0 KiB ± 2 bytes (fit)' or '4.0 KiB (N=100)'."""
    if r.get("fit"):
        err = "" if isnan(r.get("rss_err", float("nan"))) else " ± %s" % fmt.nbytes(r["rss_err"])
        return "%s%s per unit (slope of the fit across N)" % (fmt.nbytes(r["rss"]), err)
    return "%s per unit (at N=%s, no fit)" % (fmt.nbytes(r["rss"]), fmt.count(r["units"]))


def evaluate(ds):
    parts, figs, lines = [], [], []
    why = refused(ds)
    if why:
        return CLAIM.verdict([Part("memory per unit", None, why)], "", "", why)
    thr = [r for r in memory_table(ds, "thread") if not isnan(r["vsz"])]
    if thr:
        top = max(thr, key=lambda r: r["units"])
        lines += top["lines"]
        lo, hi = THREAD_STACK / APPROX, THREAD_STACK * APPROX
        v_ok = lo <= top["vsz"] <= hi
        mem = used(top)
        figs.append("thread (%s, N=%s): virtual %s (%s), resident %s (%s) + kernel %s" % (
            config_name(top), fmt.count(top["units"]), fmt.nbytes(top["vsz"]),
            spread(top["vsz_row"], f=fmt.nbytes), fmt.nbytes(top["rss"]),
            spread(top["rss_row"], f=fmt.nbytes) if top["rss_row"] is not None else "",
            fmt.nbytes(top["kernel"])))
        parts.append(Part("8 MB of virtual size", bool(v_ok),
                          "a thread reserves %s of virtual memory%s" % (
                              fmt.nbytes(top["vsz"]), " (≈ 8 MB)" if v_ok else
                              " (not ≈ 8 MB)")))
        if isnan(mem):
            parts.append(Part("8 MB of resident + kernel memory", None,
                              "no rss_per_unit_bytes row for threads"))
        else:
            u_ok = lo <= mem <= hi
            parts.append(Part("8 MB of resident + kernel memory", bool(u_ok),
                              "but it uses %s resident + %s kernel = %s (%s of 8 MB)" % (
                                  fmt.nbytes(top["rss"]), fmt.nbytes(top["kernel"]),
                                  fmt.nbytes(mem), fmt.pct(mem / THREAD_STACK))
                              if not u_ok else "and uses %s resident + kernel" %
                              fmt.nbytes(mem)))
    else:
        parts.append(Part("8 MB per thread", None,
                          "no memory rows for default-attribute threads (variant 'thread')"))
    allcor = [r for r in memory_table(ds, "coroutine") if not isnan(r["rss"])]
    cor = stackful(allcor)
    extra = []
    for alloc in ("copy", "stackless"):
        rs = [r for r in allcor if r["stack_alloc"] == alloc]
        if rs:
            r = leanest(rs)[0]
            lines += r["lines"]
            extra.append("%s (%s): resident %s, a million parked: %s" % (
                alloc, config_name(r), _per_unit(r), fmt.nbytes(r["rss"] * 1e6)))
    if cor:
        lean = leanest(cor)[0]
        same = [r for r in cor if config_name(r) == config_name(lean)]
        top = max(same, key=lambda r: r["units"])
        lines += top["lines"]
        mem = used(top)
        ok = mem <= FEW_KB
        figs.append("coroutine (%s, N=%s): virtual %s, resident %s + kernel %s" % (
            config_name(top), fmt.count(top["units"]), fmt.nbytes(top["vsz"]),
            _per_unit(top), fmt.nbytes(top["kernel"])))
        others = sorted({config_name(r): used(r) for r in cor
                         if config_name(r) != config_name(lean)}.items())
        more = "" if not others else " (other configurations: %s)" % ", ".join(
            "%s: %s" % (k, fmt.nbytes(v)) for k, v in others)
        parts.append(Part("a few KB per coroutine", bool(ok),
                          "a coroutine (%s) uses %s resident + kernel%s%s" % (
                              config_name(top), fmt.nbytes(mem),
                              " (a few KB)" if ok else " (more than a few KB)", more)))
    else:
        parts.append(Part("a few KB per coroutine", None, "no memory rows for coroutines"))
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines),
                         "no memory rows in this CSV (run the memory workload)",
                         "" if not extra else "the rest of the spectrum: " + "; ".join(extra))
