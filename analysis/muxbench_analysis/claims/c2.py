"""C2: a thread costs ~8 MB of stack; a coroutine a few KB (seed 002 §5.2).

Measured by the memory workload: virtual, resident and kernel memory per unit."""
from .. import fmt
from ..data import cite
from .base import APPROX, KiB, MiB, Claim, Part, isnan, spread
from .memory import config_name, leanest, memory_table, used

# The default thread stack the seed means; "a few KB" is at most FEW_KB per coroutine.
THREAD_STACK = 8 * MiB
FEW_KB = 16 * KiB

CLAIM = Claim(
    "C2",
    statement="a thread costs ~8 MB of stack; a coroutine a few KB",
    stated="\"Each thread ~8MB stack space (Linux default)\"; \"Each coroutine ~few KB\"",
    source="002 §5.2",
    rule="Threads are the 'thread' variant (default attributes) at the largest N measured. "
         "'~8 MB' holds of a measure when it is within %gx of 8 MiB; virtual size and "
         "resident + kernel memory are judged separately. 'A few KB' holds when the leanest "
         "coroutine configuration (smallest stack, then smallest touched depth) uses at most "
         "%s resident + kernel per coroutine." % (APPROX, fmt.nbytes(FEW_KB)))


def evaluate(ds):
    parts, figs, lines = [], [], []
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
    cor = [r for r in memory_table(ds, "coroutine") if not isnan(r["rss"])]
    if cor:
        lean = leanest(cor)[0]
        same = [r for r in cor if config_name(r) == config_name(lean)]
        top = max(same, key=lambda r: r["units"])
        lines += top["lines"]
        mem = used(top)
        ok = mem <= FEW_KB
        figs.append("coroutine (%s, N=%s): virtual %s, resident %s (%s) + kernel %s" % (
            config_name(top), fmt.count(top["units"]), fmt.nbytes(top["vsz"]),
            fmt.nbytes(top["rss"]), spread(top["rss_row"], f=fmt.nbytes),
            fmt.nbytes(top["kernel"])))
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
                         "no memory rows in this CSV (run the memory workload)")
