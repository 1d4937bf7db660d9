"""Least-squares fits over sweeps: the per-fd cost of a wait call (claim C1)."""
import math

import pandas as pd

from . import schema


def linear_fit(xs, ys):
    """y = intercept + slope * x by least squares: {slope, intercept, r2, slope_se, n}."""
    n = len(xs)
    if n < 2:
        raise ValueError("a fit needs two points or more")
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a fit needs two distinct x values")
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    icpt = my - slope * mx
    ss_res = sum((y - (icpt + slope * x)) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    # A flat set of points: 1 when the line passes through them all (as the suite's own
    # stats_fit_line says), else 0.
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    se = math.sqrt(ss_res / (n - 2) / sxx) if n > 2 else math.nan
    return {"slope": slope, "intercept": icpt, "r2": r2, "slope_se": se, "n": n}


def _sweep_key(row):
    return (row["active"], row["position"], row["timeout"], row["transport"], row["writes"])


def wait_sweep(ds, poller, metric="wait_ns"):
    """The median rows of the poller's longest fds sweep, at one configuration of the other
    fanin parameters (ties: position spread, blocking timeout, unix transport, fewest active),
    sorted by fds."""
    st = ds.stats("fanin", metric, poller=poller)
    st = st[st["median"].notna() & st["fds"].notna()]
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
                timeout in ("blocking", ""),
                transport in ("unix", ""),
                -(active if isinstance(active, float) and not math.isnan(active) else 0))
        if best_rank is None or rank > best_rank:
            best, best_rank = grp, rank
    return best.sort_values("fds").drop_duplicates("fds", keep="last")


def wait_fits(ds, metric="wait_ns"):
    """One row per poller with an fds sweep: per_fd_ns, fixed_ns, r2, per_fd_se, points,
    fds_min, fds_max, wait_at_max_ns, per_fd_share (slope*fds_max / measured wait at fds_max),
    config (the other parameters), lines, and the CSV's own derived fit (csv_per_fd_ns,
    csv_r2) where the suite wrote one."""
    out = []
    for p in ds.pollers("fanin"):
        sw = wait_sweep(ds, p, metric)
        if len(sw) < 2 or sw["fds"].nunique() < 2:
            continue
        f = linear_fit(list(sw["fds"]), list(sw["median"]))
        top = sw.iloc[-1]
        first = sw.iloc[0]
        derived = ds.stats("fanin", "wait_ns_per_fd", status="derived", poller=p)
        r2d = ds.stats("fanin", "wait_fit_r2", status="derived", poller=p)
        out.append({
            "poller": p, "peer": schema.is_peer(p),
            "per_fd_ns": f["slope"], "fixed_ns": f["intercept"], "r2": f["r2"],
            "per_fd_se": f["slope_se"], "points": f["n"],
            "fds_min": first["fds"], "fds_max": top["fds"],
            "wait_at_min_ns": first["median"], "wait_at_max_ns": top["median"],
            "per_fd_share": f["slope"] * top["fds"] / top["median"] if top["median"] else
            math.nan,
            "config": "active=%s, position=%s, timeout=%s, transport=%s" % (
                _fmt(first["active"]), first["position"] or "-", first["timeout"] or "-",
                first["transport"] or "-"),
            "lines": [ln for ls in sw["lines"] for ln in ls],
            "csv_per_fd_ns": derived["median"].iloc[0] if len(derived) else math.nan,
            "csv_r2": r2d["median"].iloc[0] if len(r2d) else math.nan,
        })
    return pd.DataFrame(out, columns=[
        "poller", "peer", "per_fd_ns", "fixed_ns", "r2", "per_fd_se", "points", "fds_min",
        "fds_max", "wait_at_min_ns", "wait_at_max_ns", "per_fd_share", "config", "lines",
        "csv_per_fd_ns", "csv_r2"])


def _fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return "%g" % v
