"""The memory and spawn rows as the claims on threads and coroutines (C2, C3, C4, C7) and their
plots read them: one record per measured configuration, and the leanest coroutine first."""
import math

from .. import fmt
from .base import eqnan, isnan, lines_of


# Coroutines with a stack of their own: what the seeds mean by "a coroutine". Copy stacks and
# stackless coroutines are the rest of the spectrum, reported beside them.
STACKFUL = ("guard", "pool")


def refused(ds):
    """Why the memory rows cannot be judged ('' when they can): a sanitizer build's figures
    hold its redzones, shadow and fake stacks."""
    san = ds.env_value("sanitize", "none")
    if san and san != "none":
        return "the CSV comes from a sanitizer build (%s): its memory is not the program's" % san
    return ""


def _fits(ds, variant):
    """{(stack_bytes, stack_alloc, touch_bytes, thp): {metric: row}} of the per-sweep fits."""
    out = {}
    for key, metric in (("vsz", "vsz_per_unit_fit_bytes"), ("rss", "rss_per_unit_fit_bytes"),
                        ("kernel", "kernel_per_unit_fit_bytes"), ("rss_err", "rss_fit_err_bytes")):
        t = ds.stats("memory", metric, status=("derived",), variant=variant)
        for _, r in t.iterrows():
            k = (r["stack_bytes"], r["stack_alloc"], r["touch_bytes"], r.get("thp", ""))
            k = tuple(-1 if isinstance(v, float) and v != v else v for v in k)
            out.setdefault(k, {})[key] = r
    return out


def memory_table(ds, variant):
    """Per-unit memory per case: units, stack_bytes, stack_alloc, touch_bytes, vsz, rss,
    kernel with min/max for the spread, and lines. Where the sweep has a fit, vsz, rss and
    kernel are its slopes (constant costs in the intercept, not divided by N; rss_err its
    standard error, fit True); otherwise the step's difference / N (fit False). Cases with
    transparent huge pages turned off for the process (thp=off) are left out: the claims are
    about a process as the system runs it."""
    tabs = {}
    for key, metric in (("vsz", "vsz_per_unit_bytes"), ("rss", "rss_per_unit_bytes"),
                        ("kernel", "kernel_per_unit_bytes")):
        tabs[key] = ds.stats("memory", metric, variant=variant)
    base = tabs["vsz"]
    if base.empty:
        return []
    if "thp" in base.columns:
        base = base[base["thp"].fillna("") != "off"]
    fits = _fits(ds, variant)
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
        k = (r["stack_bytes"], r["stack_alloc"], r["touch_bytes"], r.get("thp", ""))
        k = tuple(-1 if isinstance(v, float) and v != v else v for v in k)
        fit = fits.get(k, {})
        rec["fit"] = "rss" in fit
        rec["rss_err"] = math.nan
        for key in ("vsz", "rss", "kernel"):
            if key in fit:
                rec[key] = fit[key]["median"]
                rec[key + "_row"] = fit[key]
                rec["lines"] += list(fit[key]["lines"])
        if "rss_err" in fit:
            rec["rss_err"] = fit["rss_err"]["median"]
        out.append(rec)
    return out


def leanest(recs):
    """Coroutine configurations, leanest first: smallest stack, then smallest touched depth."""
    def key(r):
        return (0 if isnan(r["stack_bytes"]) else r["stack_bytes"],
                0 if isnan(r["touch_bytes"]) else r["touch_bytes"],
                r["stack_alloc"] != "pool")
    return sorted(recs, key=key)


def stackful(recs):
    """The records of coroutines with a stack of their own (STACKFUL), or of threads."""
    return [r for r in recs if r.get("stack_alloc") in STACKFUL + ("pthread",)]


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
