"""C1: select/poll cost per call grows O(n) with watched fds; epoll is O(1) (seed 002 §3.3).

Measured by fanin's wait_ns swept over fds. The verdict rests on the order of growth, the
exponent k of a log-log fit over the top two decades of each sweep (fit.wait_fits): 1 for O(n),
0 for O(1). The suite's decomposition of the per-fd cost (fit.wait_parts) says which part of
it the seed's "O(n)" is."""
import math

from .. import fmt
from ..data import cite
from ..fit import EXPONENT_DECADES, MIN_POINTS, MIN_SPAN, wait_fits, wait_parts
from .base import Claim, Part, isnan

# O(n): the exponent within LINEAR_BAND (above it the cost grows faster than linear, which
# the claim does not say either); O(1): the exponent at most FLAT_MAX.
LINEAR_BAND = (0.8, 1.25)
FLAT_MAX = 0.2

CLAIM = Claim(
    "C1",
    statement="select/poll cost per call grows O(n) with watched fds; epoll is O(1) in "
              "watched fds",
    stated="select/poll: \"Kernel must traverse all fds to check status. Time complexity: "
           "O(n)\"; epoll: \"returns only ready fds. Time complexity: O(1) for ready events\"",
    source="002 §3.3",
    rule="The order of growth is the exponent k of a log-log least-squares fit of wait_ns "
         "(each point's p50) against fds over the top %d decades of a sweep (at least %d "
         "points spanning at least %gx; no fit otherwise), with its standard error. select "
         "and poll are O(n) when %g <= k <= %g; epoll (and epoll-et) is O(1) when k <= %g. A "
         "backend that was not measured is named as such, never assumed. The per-fd cost is "
         "decomposed into the scan (timeout=zero), the wait-queue registration (blocking minus "
         "zero) and the shared-fd-table tax (shared minus private), each a difference of "
         "fitted slopes; the seed's O(n), \"the kernel traverses all fds\", is the scan."
         % (EXPONENT_DECADES, MIN_POINTS, MIN_SPAN, LINEAR_BAND[0], LINEAR_BAND[1], FLAT_MAX))


def _pm(v, se, f):
    return f(v) + ("" if isnan(se) else " ± " + f(se))


def _decomposition(ds, lines):
    """One sentence per select/poll configuration of the suite's parts."""
    parts = wait_parts(ds)
    out = []
    for _, r in parts[parts["poller"].isin(["select", "poll"])].iterrows():
        lines.extend(r["lines"])
        bits = ["scan %s" % _pm(r["scan_ns"], r["scan_ns_se"], fmt.ns_fine)]
        if not isnan(r["wqueue_ns"]):
            bits.append("wait-queue registration %s" % _pm(r["wqueue_ns"], r["wqueue_ns_se"],
                                                           fmt.ns_fine))
        if not isnan(r["tax_ns"]):
            bits.append("shared-fd-table tax %s" % _pm(r["tax_ns"], r["tax_ns_se"],
                                                      fmt.ns_fine))
        known = [v for v in (r["scan_ns"], r["wqueue_ns"], r["tax_ns"]) if not isnan(v)]
        share = ""
        if len(known) > 1 and all(v > 0 for v in known):
            share = "; the seed's O(n) (the traversal: the scan) is %s of it" % fmt.pct(
                r["scan_ns"] / sum(known))
        elif len(known) > 1:
            share = "; a part is not above zero here (noise): no share of it is given"
        out.append("%s per fd at position=%s: %s%s" % (r["poller"], r["position"] or "-",
                                                       ", ".join(bits), share))
    return out


def evaluate(ds):
    fits = wait_fits(ds)
    parts, figs, lines, notes = [], [], [], []

    def judge(p, want_linear):
        name = "%s %s" % (p, "O(n)" if want_linear else "O(1)")
        r = fits[fits["poller"] == p]
        if r.empty:
            return Part(name, None, "%s was not measured (no fanin wait_ns sweep for it in "
                        "this CSV)" % p)
        r = r.iloc[0]
        short = r["points"] < MIN_POINTS or r["fds_max"] < MIN_SPAN * r["fds_min"]
        if short or isnan(r["exponent"]):
            return Part(name, None, "%s's sweep (%d points, fds %d-%d) is too short to tell "
                        "(it needs %d points over %gx, and %d in its top %d decades)"
                        % (p, r["points"], r["fds_min"], r["fds_max"], MIN_POINTS, MIN_SPAN,
                           MIN_POINTS, EXPONENT_DECADES))
        lines.extend(r["lines"])
        k, kse = r["exponent"], r["exponent_se"]
        se = "" if isnan(r["per_fd_se"]) else " ± %s" % fmt.ns_fine(r["per_fd_se"])
        kt = "k = %.2f%s" % (k, "" if isnan(kse) else " ± %.2f" % kse)
        figs.append("%s %s/fd%s, %s" % (p, fmt.ns_fine(r["per_fd_ns"]), se, kt))
        growth = r["wait_at_max_ns"] / r["wait_at_min_ns"] if r["wait_at_min_ns"] else math.nan
        span = "%s at %s fds, %s at %s fds" % (fmt.ns(r["wait_at_min_ns"]),
                                               fmt.count(r["fds_min"]),
                                               fmt.ns(r["wait_at_max_ns"]),
                                               fmt.count(r["fds_max"]))
        if want_linear:
            ok = LINEAR_BAND[0] <= k <= LINEAR_BAND[1]
            how = ("grows linearly" if ok else "grows faster than linearly"
                   if k > LINEAR_BAND[1] else "does not grow linearly")
            return Part(name, bool(ok), "%s: %s (%s, %s/fd); %s" % (
                p, how, kt, fmt.ns_fine(r["per_fd_ns"]), span))
        ok = k <= FLAT_MAX
        return Part(name, bool(ok), "%s: %s (%s, %.2fx over the sweep); %s" % (
            p, "flat" if ok else "grows with fds", kt, growth, span))

    for p in ("select", "poll"):
        parts.append(judge(p, True))
    present = set(fits["poller"])
    for p in ("epoll", "epoll-et"):
        if p == "epoll" or p in present:
            parts.append(judge(p, False))
    others = fits[~fits["poller"].isin(["select", "poll", "epoll", "epoll-et"])]
    if len(others):
        notes.append("for reference: " + ", ".join(
            "%s k = %.2f" % (r["poller"], r["exponent"]) for _, r in others.iterrows()
            if not isnan(r["exponent"])))
    notes.extend(_decomposition(ds, lines))
    csv_fit = fits[fits["csv_exponent"].notna()]
    if len(csv_fit):
        agree, differ = [], []
        for _, r in csv_fit.iterrows():
            tol = max(1e-6, 1e-3 * abs(r["exponent"]))
            (agree if abs(r["csv_exponent"] - r["exponent"]) <= tol else differ).append(
                "%s k = %.2f" % (r["poller"], r["csv_exponent"]))
        if agree:
            notes.append("the suite's own derived fit agrees for " + ", ".join(agree))
        if differ:
            notes.append("the suite's own derived fit differs (another sweep of the CSV) for "
                         + ", ".join(differ))
    measured = "order of growth of one wait: " + ", ".join(figs) if figs else ""
    why = "no fanin wait_ns rows sweeping fds for select, poll or epoll in this CSV (run the " \
          "fanin workload with those pollers)" if fits.empty else ""
    return CLAIM.verdict(parts, measured, cite(lines), why, "; ".join(n for n in notes if n))
