"""The memory and spawn rows as the claims on threads and coroutines (C2, C3, C4, C7) and their
plots read them: one record per measured configuration, and the leanest coroutine first."""
import math

from .. import fmt
from .base import eqnan, isnan, lines_of


def memory_table(ds, variant):
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
            m = t[(t["units"] == r["units"]) & eqnan(t["stack_bytes"], r["stack_bytes"])
                  & (t["stack_alloc"] == r["stack_alloc"])
                  & eqnan(t["touch_bytes"], r["touch_bytes"])]
            rec[key] = m["median"].iloc[0] if len(m) else math.nan
            rec[key + "_row"] = m.iloc[0] if len(m) else None
            rec["lines"] += lines_of(m)
        out.append(rec)
    return out


def leanest(recs):
    """Coroutine configurations, leanest first: smallest stack, then smallest touched depth."""
    def key(r):
        return (0 if isnan(r["stack_bytes"]) else r["stack_bytes"],
                0 if isnan(r["touch_bytes"]) else r["touch_bytes"],
                r["stack_alloc"] != "pool")
    return sorted(recs, key=key)


def config_name(r):
    """'16 KiB stack, pool, 4.0 KiB touched': the configuration a record was measured in."""
    bits = []
    if not isnan(r["stack_bytes"]):
        bits.append("%s stack" % fmt.nbytes(r["stack_bytes"]))
    if r["stack_alloc"]:
        bits.append(r["stack_alloc"])
    if not isnan(r["touch_bytes"]) and r["touch_bytes"] > 0:
        bits.append("%s touched" % fmt.nbytes(r["touch_bytes"]))
    return ", ".join(bits)


def used(r):
    """Resident + kernel per unit (kernel counts as 0 when its row is absent)."""
    return r["rss"] + (0.0 if isnan(r["kernel"]) else r["kernel"])


def limits(ds, variant):
    """The memory rows that record the N where a limit stopped the sweep."""
    return ds.stats("memory", "units_reached", status="limit", variant=variant)
