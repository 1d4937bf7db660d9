"""C3: 1,000 threads ≈ 8 GB, 10,000 ≈ 80 GB; 10,000 coroutines ≈ 100 MB, 100K ≈ a few
hundred MB (seed 002 §5.2, §5.5).

Measured by the memory workload at exactly those N: per-unit memory times N, never
extrapolated."""
from .. import fmt
from ..data import cite
from .base import APPROX, Claim, Part, isnan, lines_of, spread
from .c2 import THREAD_STACK
from .memory import config_name, leanest, limits, memory_table, refused, stackful, used

# (part name, variant, N, lowest total that holds, highest total that holds)
TARGETS = [
    ("1,000 threads ≈ 8 GB", "thread", 1000, 1000 * THREAD_STACK / APPROX,
     1000 * THREAD_STACK * APPROX),
    ("10,000 threads ≈ 80 GB", "thread", 10000, 10000 * THREAD_STACK / APPROX,
     10000 * THREAD_STACK * APPROX),
    ("10,000 coroutines ≈ 100 MB", "coroutine", 10000, 100e6 / APPROX, 100e6 * APPROX),
    ("100K coroutines ≈ a few hundred MB", "coroutine", 100000, 150e6, 1e9),
]

CLAIM = Claim(
    "C3",
    statement="1,000 threads ≈ 8 GB, 10,000 threads ≈ 80 GB; 10,000 coroutines ≈ 100 MB; "
              "100K coroutines ≈ a few hundred MB",
    stated="\"1000 threads ≈ 8GB memory\"; \"100K coroutines ≈ few hundred MB\"; "
           "\"10,000 threads: ~80 GB\"; \"10,000 coroutines: ~100 MB\"",
    source="002 §5.2, §5.5",
    rule="Totals are per-unit × N at exactly N = 1,000 and 10,000 threads and 10,000 and "
         "100,000 coroutines with a stack of their own (guard or pool), the per-unit figure "
         "being the slope of the sweep's fit across N where it has one; rows of a sanitizer "
         "build are refused (never extrapolated: an N the sweep did not reach is not "
         "measured). '≈ X' holds within %gx of X; 'a few hundred MB' is 150 MB-1 GB. A total "
         "holds when resident + kernel memory matches; matching virtual size alone is "
         "reported as 'of virtual size only' and does not count." % APPROX)


def evaluate(ds):
    parts, figs, lines = [], [], []
    why = refused(ds)
    if why:
        return CLAIM.verdict([Part("totals", None, why)], "", "", why)
    tables = {"thread": memory_table(ds, "thread"),
              "coroutine": stackful(memory_table(ds, "coroutine"))}
    for name, variant, n, lo, hi in TARGETS:
        recs = [r for r in tables[variant] if r["units"] == n and not isnan(r["rss"])]
        if variant == "coroutine":
            recs = leanest(recs)
        if not recs:
            lim = limits(ds, variant)
            reached = [r for _, r in lim.iterrows()]
            if reached:
                why = "%s: the sweep stopped at %s %ss (%s)" % (
                    name, fmt.count(min(r["median"] for r in reached)), variant,
                    reached[0]["note"] or "a limit")
                lines += lines_of(lim)
            elif tables[variant]:
                why = "%s: no row at N=%s (the sweep went to %s)" % (
                    name, fmt.count(n), fmt.count(max(r["units"] for r in tables[variant])))
            else:
                why = "%s: no memory rows for %ss" % (name, variant)
            parts.append(Part(name, None, why))
            continue
        r = recs[0]
        lines += r["lines"]
        virt, mem = r["vsz"] * n, used(r) * n
        v_ok, u_ok = lo <= virt <= hi, lo <= mem <= hi
        figs.append("%s %ss: virtual %s; resident %s (%s) + kernel %s = %s" % (
            fmt.count(n), variant, fmt.nbytes(virt), fmt.nbytes(r["rss"] * n),
            ("fit slope × N" if r.get("fit") else
             spread(r["rss_row"], scale=n, f=fmt.nbytes)),
            fmt.nbytes(0.0 if isnan(r["kernel"]) else r["kernel"] * n), fmt.nbytes(mem)))
        if u_ok:
            text = "%s: resident + kernel %s (virtual %s): holds" % (name, fmt.nbytes(mem),
                                                                      fmt.nbytes(virt))
        elif v_ok:
            text = "%s: of virtual size only (%s); resident + kernel is %s" % (
                name, fmt.nbytes(virt), fmt.nbytes(mem))
        else:
            text = "%s: resident + kernel %s, virtual %s" % (name, fmt.nbytes(mem),
                                                             fmt.nbytes(virt))
        if variant == "coroutine":
            text += " (%s)" % config_name(r)
        parts.append(Part(name, bool(u_ok), text))
    why = "" if tables["thread"] or tables["coroutine"] else \
        "no memory rows in this CSV (run the memory workload to 10,000 threads and 100,000 " \
        "coroutines)"
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines), why)
