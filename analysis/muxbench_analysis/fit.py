"""Least-squares fits over sweeps: the per-fd cost of a wait call (claim C1)."""
import math

import pandas as pd

from . import schema


# No fit from fewer points or a smaller span of fds (a two-point R² of 1.0 is not evidence);
# the order of growth is fitted over the top EXPONENT_DECADES decades of the sweep. The suite
# applies the same rules (workloads/fanin.c).
MIN_POINTS = 3
MIN_SPAN = 10.0
EXPONENT_DECADES = 2


def linear_fit(xs, ys, weights=None):
    """y = intercept + slope * x by (weighted) least squares: {slope, intercept, r2, slope_se,
    intercept_se, n}. Weights are relative (1/y^2 makes each point count by its relative
    error); the standard errors come from the weighted residuals, NaN with two points."""
    n = len(xs)
    if n < 2:
        raise ValueError("a fit needs two points or more")
    w = list(weights) if weights is not None else [1.0] * n
    sw = sum(w)
    mx = sum(wi * x for wi, x in zip(w, xs)) / sw
    my = sum(wi * y for wi, y in zip(w, ys)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, x in zip(w, xs))
    if sxx == 0:
        raise ValueError("a fit needs two distinct x values")
    slope = sum(wi * (x - mx) * (y - my) for wi, x, y in zip(w, xs, ys)) / sxx
    icpt = my - slope * mx
    ss_res = sum(wi * (y - (icpt + slope * x)) ** 2 for wi, x, y in zip(w, xs, ys))
    ss_tot = sum(wi * (y - my) ** 2 for wi, y in zip(w, ys))
    # A flat set of points: 1 when the line passes through them all (as the suite's own
    # stats_fit_line says), else 0.
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    s2 = ss_res / (n - 2) if n > 2 else math.nan
    se = math.sqrt(s2 / sxx) if n > 2 else math.nan
    ise = math.sqrt(s2 * (1 / sw + mx * mx / sxx)) if n > 2 else math.nan
    return {"slope": slope, "intercept": icpt, "r2": r2, "slope_se": se, "intercept_se": ise,
            "n": n}


def enough(xs):
    """Whether sorted fds values make a fit: MIN_POINTS or more over a MIN_SPAN span."""
    return len(xs) >= MIN_POINTS and xs[0] > 0 and xs[-1] >= MIN_SPAN * xs[0]


def growth_fit(xs, ys):
    """The order of growth: ln y = a + k ln x over the points of the top EXPONENT_DECADES
    decades of x (sorted): {exponent, exponent_se, points, fds_from}, or None when those
    points do not make a fit."""
    top = [(x, y) for x, y in zip(xs, ys) if x * 10 ** EXPONENT_DECADES >= xs[-1] and y > 0]
    if not enough([x for x, _ in top]):
        return None
    f = linear_fit([math.log(x) for x, _ in top], [math.log(y) for _, y in top])
    return {"exponent": f["slope"], "exponent_se": f["slope_se"], "points": len(top),
            "fds_from": top[0][0]}


def _sweep_key(row):
    return (row["active"], row["position"], row["timeout"], row["transport"], row["writes"])


def wait_sweep(ds, poller, metric="wait_ns"):
    """The median rows of the poller's longest fds sweep, at one configuration of the other
    fanin parameters (ties: position spread, zero timeout, unix transport, fewest active),
    sorted by fds. A zero timeout is preferred: that sweep is the scan alone, the "O(n)" of
    the seed; the wait-queue registration a blocking call adds is wait_parts' to report."""
    st = ds.stats("fanin", metric, poller=poller)
    st = st[st["median"].notna() & st["fds"].notna()]
    # A wait (not a cycle), with the measuring thread alone in its fd table: the figure a
    # one-thread event loop sees (older CSVs have neither column: "").
    for col, want in (("mode", ("wave", "")), ("fdtable", ("private", ""))):
        if col in st.columns:
            st = st[st[col].fillna("").isin(want)]
    if st.empty:
        return st
    best, best_rank = None, None
    # One placement too: where the helper ran moves a wait by a fraction of a microsecond, so
    # points of different placements are never mixed in one sweep.
    for key, grp in st.groupby(["active", "position", "timeout", "transport", "writes",
                                "placement"], dropna=False):
        active, position, timeout, transport, _, _ = key
        rank = (grp["fds"].nunique(),
                position in ("spread", ""),
                timeout in ("zero", ""),  # the scan, the seed's O(n) (fit.wait_parts: the rest)
                transport in ("unix", ""),
                -(active if isinstance(active, float) and not math.isnan(active) else 0))
        if best_rank is None or rank > best_rank:
            best, best_rank = grp, rank
    return best.sort_values("fds").drop_duplicates("fds", keep="last")


def _y(sw):
    """The value each sweep point is fitted on: the p50 of its pooled per-op samples where
    the CSV has it (as the suite's own fit), else the median over repetitions."""
    if "p50" in sw.columns and sw["p50"].notna().all():
        return list(sw["p50"]), "p50"
    return list(sw["median"]), "median"


def wait_fits(ds, metric="wait_ns"):
    """One row per poller with an fds sweep (whether it is long enough, MIN_POINTS over
    MIN_SPAN, is the caller's to judge: see enough()):
    per_fd_ns, fixed_ns, r2, per_fd_se (least squares weighted by 1/y^2), exponent and
    exponent_se (log-log over the top decades), points, fds_min, fds_max, wait_at_min_ns,
    wait_at_max_ns, per_fd_share (slope*fds_max / measured wait at fds_max), fitted_on (p50 or
    median), config (the other parameters), lines, and the CSV's own derived fit
    (csv_per_fd_ns, csv_r2, csv_exponent) where the suite wrote one."""
    out = []
    for p in ds.pollers("fanin"):
        sw = wait_sweep(ds, p, metric)
        if len(sw) < 2 or sw["fds"].nunique() < 2:
            continue  # a sweep too short for enough() is kept: C1 says it is too short
        xs = list(sw["fds"])
        ys, fitted_on = _y(sw)
        f = linear_fit(xs, ys, [1 / (y * y) if y > 0 else 0.0 for y in ys])
        g = growth_fit(xs, ys) or {"exponent": math.nan, "exponent_se": math.nan}
        top = sw.iloc[-1]
        first = sw.iloc[0]

        def derived(name, stat="median"):
            d = ds.stats("fanin", name, status="derived", poller=p)
            d = d[(d["timeout"] == first["timeout"]) & (d["position"] == first["position"])]
            for col in ("fdtable", "mode"):
                if col in d.columns:
                    d = d[d[col].fillna("") == (first.get(col) or "")]
            return d[stat].iloc[0] if len(d) else math.nan
        out.append({
            "poller": p, "peer": schema.is_peer(p),
            "per_fd_ns": f["slope"], "fixed_ns": f["intercept"], "r2": f["r2"],
            "per_fd_se": f["slope_se"], "exponent": g["exponent"],
            "exponent_se": g["exponent_se"], "points": f["n"],
            "fds_min": first["fds"], "fds_max": top["fds"],
            "wait_at_min_ns": ys[0], "wait_at_max_ns": ys[-1],
            "per_fd_share": f["slope"] * top["fds"] / ys[-1] if ys[-1] else math.nan,
            "fitted_on": fitted_on,
            "config": "active=%s, position=%s, timeout=%s, transport=%s" % (
                _fmt(first["active"]), first["position"] or "-", first["timeout"] or "-",
                first["transport"] or "-"),
            "lines": [ln for ls in sw["lines"] for ln in ls],
            "csv_per_fd_ns": derived("wait_ns_per_fd"),
            "csv_r2": derived("wait_fit_r2"),
            "csv_exponent": derived("wait_exponent"),
        })
    return pd.DataFrame(out, columns=[
        "poller", "peer", "per_fd_ns", "fixed_ns", "r2", "per_fd_se", "exponent", "exponent_se",
        "points", "fds_min", "fds_max", "wait_at_min_ns", "wait_at_max_ns", "per_fd_share",
        "fitted_on", "config", "lines", "csv_per_fd_ns", "csv_r2", "csv_exponent"])


def wait_parts(ds):
    """The suite's decomposition of the per-fd cost (C1), one row per poller and position:
    scan_ns, wqueue_ns, tax_ns, each with its _se (NaN when the CSV lacks it), and lines."""
    names = {"per_fd_scan_ns": "scan_ns", "per_fd_wqueue_ns": "wqueue_ns",
             "per_fd_fdtable_tax_ns": "tax_ns"}
    rows = {}
    for metric, key in names.items():
        d = ds.stats("fanin", metric, status="derived")
        for _, r in d.iterrows():
            rec = rows.setdefault((r["poller"], r["position"]), {
                "poller": r["poller"], "position": r["position"], "lines": [],
                **{k: math.nan for k in names.values()},
                **{k + "_se": math.nan for k in names.values()}})
            rec[key] = r["median"]
            rec[key + "_se"] = r.get("se", math.nan)
            rec["lines"] += list(r["lines"])
    cols = ["poller", "position", "scan_ns", "scan_ns_se", "wqueue_ns", "wqueue_ns_se", "tax_ns",
            "tax_ns_se", "lines"]
    return pd.DataFrame(list(rows.values()), columns=cols)


def _fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return "%g" % v
