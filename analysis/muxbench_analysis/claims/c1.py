"""C1: select/poll cost per call grows O(n) with watched fds; epoll is O(1) (seed 002 §3.3).

Measured by fanin's wait_ns swept over fds: a least-squares fit per poller (fit.wait_fits)."""
import math

from .. import fmt
from ..data import cite
from ..fit import wait_fits
from .base import APPROX, Claim, Part, isnan

# A sweep must span MIN_SPAN x in fds, over at least MIN_POINTS points.
MIN_SPAN = 10.0
MIN_POINTS = 3
# O(n) when the fit's slope is positive, R^2 >= MIN_R2, and the per-fd term is at least
# LINEAR_SHARE of the measured wait at the largest fds; O(1) when the measured wait at the
# largest fds is within FLAT_GROWTH of the wait at the smallest.
MIN_R2 = 0.9
LINEAR_SHARE = 0.5
FLAT_GROWTH = APPROX

CLAIM = Claim(
    "C1",
    statement="select/poll cost per call grows O(n) with watched fds; epoll is O(1) in "
              "watched fds",
    stated="select/poll: \"Kernel must traverse all fds to check status. Time complexity: "
           "O(n)\"; epoll: \"returns only ready fds. Time complexity: O(1) for ready events\"",
    source="002 §3.3",
    rule="select and poll are O(n) when the least-squares fit of median wait_ns against fds "
         "(one sweep of at least %d points spanning at least %gx in fds) has a positive slope, "
         "R² ≥ %g, and the per-fd term is at least %d%% of the measured wait at the largest "
         "fds; epoll (and epoll-et) is O(1) when its measured wait at the largest fds is "
         "within %gx of its wait at the smallest. Other backends and peers are shown for "
         "reference." % (MIN_POINTS, MIN_SPAN, MIN_R2, LINEAR_SHARE * 100, FLAT_GROWTH))


def evaluate(ds):
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
        if r["points"] < MIN_POINTS or span < MIN_SPAN:
            return Part(name, None, "%s's sweep (%d points, fds %d-%d) is too short to tell"
                        % (p, r["points"], r["fds_min"], r["fds_max"]))
        lines.extend(r["lines"])
        se = "" if isnan(r["per_fd_se"]) else " ± %s" % fmt.ns_fine(r["per_fd_se"])
        fig = "%s %s/fd%s (R² %.2f)" % (p, fmt.ns_fine(r["per_fd_ns"]), se, r["r2"])
        figs.append(fig)
        share = r["per_fd_share"]
        growth = r["wait_at_max_ns"] / r["wait_at_min_ns"]
        if want_linear:
            ok = r["per_fd_ns"] > 0 and r["r2"] >= MIN_R2 and share >= LINEAR_SHARE
            what = "%s: %s/fd (R² %.2f), %s of a wait at %s fds (%s)" % (
                p, fmt.ns_fine(r["per_fd_ns"]), r["r2"], fmt.pct(max(share, 0.0)),
                fmt.count(r["fds_max"]), fmt.ns(r["wait_at_max_ns"]))
            return Part(name, bool(ok), what + ("; grows linearly" if ok else
                                                "; not a linear growth"))
        ok = growth <= FLAT_GROWTH
        ref = fits[fits["poller"].isin(["poll", "select"]) & (fits["per_fd_ns"] > 0)]
        rel = "" if ref.empty else ", %s of %s's per-fd cost" % (
            fmt.pct(r["per_fd_ns"] / ref["per_fd_ns"].min()),
            ref.sort_values("per_fd_ns")["poller"].iloc[0])
        what = "%s: %s at %s fds, %s at %s fds (%.2fx over a %sx sweep; %s/fd%s)" % (
            p, fmt.ns(r["wait_at_min_ns"]), fmt.count(r["fds_min"]),
            fmt.ns(r["wait_at_max_ns"]), fmt.count(r["fds_max"]), growth,
            fmt.count(r["fds_max"] / r["fds_min"]), fmt.ns_fine(r["per_fd_ns"]), rel)
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
            "%s %s/fd" % (r["poller"], fmt.ns_fine(r["per_fd_ns"]))
            for _, r in others.iterrows()))
    csv_fit = fits[fits["csv_per_fd_ns"].notna()]
    if len(csv_fit):
        agree, differ = [], []
        for _, r in csv_fit.iterrows():
            # The same least squares over the same medians: equal but for rounding, unless
            # the suite's sweep and the one chosen here differ (another configuration).
            tol = max(1e-6, 1e-3 * abs(r["per_fd_ns"]), 2 * (r["per_fd_se"] or 0)
                      if r["per_fd_se"] == r["per_fd_se"] else 0)
            (agree if abs(r["csv_per_fd_ns"] - r["per_fd_ns"]) <= tol else differ).append(
                "%s %s/fd" % (r["poller"], fmt.ns_fine(r["csv_per_fd_ns"])))
        if agree:
            notes.append("the suite's own derived fit agrees for " + ", ".join(agree))
        if differ:
            notes.append("the suite's own derived fit differs (another sweep of the CSV) for "
                         + ", ".join(differ))
    measured = "fitted per-fd cost of one wait: " + ", ".join(figs) if figs else ""
    why = "no fanin wait_ns rows sweeping fds for select, poll or epoll in this CSV (run the " \
          "fanin workload with those pollers)" if fits.empty else ""
    return CLAIM.verdict(parts, measured, cite(lines), why, "; ".join(notes))
