"""C6: N requests that each wait D take N×D one after another, but about D on threads or an
event loop (seed 002 §4.2, §4.4: 20 requests of 1 s, "Sync ~22s" vs "Async ~1.3s").

Measured by the nwait workload: total_ns for N requests to a delay server that answers each
after exactly D, sequentially (one connection), with a thread per request and with a coroutine
per request over each poller; overhead_ns is what exceeds N×D (sequential) or D (concurrent)."""
from .. import fmt
from ..data import cite
from .base import APPROX, Claim, Part, isnan, lines_of, spread

# The seed's own figures: 20 requests of 1 s took ~22 s sequentially and ~1.3 s with async.
SEED_N = 20
SEED_D = 1e9
SEED_SYNC = 22e9
SEED_ASYNC = 1.3e9

CLAIM = Claim(
    "C6",
    statement="N requests that each wait D: sequential ≈ N×D, threads or an event loop ≈ D",
    stated="20 requests of 1 s: \"Sync ~22s\" vs \"Async ~1.3s\" (\"17x\"); \"Sync: total wait "
           "time = N × IO latency; Async: total wait time = max(IO latency)\"",
    source="002 §4.2, §4.4",
    rule="From nwait's median total_ns at one N and D (the configuration with the most cases). "
         "Sequential ≈ N×D holds when its total is within %gx of N×D; threads ≈ D and the event "
         "loop ≈ D hold when every such case (every poller's coroutine case) is within %gx of "
         "D. The measured overheads are set beside the seed's 22 s and 1.3 s." % (APPROX, APPROX))


def _config(st):
    """(units, delay_ns, transport) with the most cases."""
    return st.groupby(["units", "delay_ns", "transport"]).size().idxmax()


def _within(v, target):
    return target / APPROX <= v <= target * APPROX


def evaluate(ds):
    st = ds.stats("nwait", "total_ns")
    names = ("sequential ≈ N×D", "threads ≈ D", "an event loop ≈ D")
    if st.empty or st["delay_ns"].isna().all():
        why = "no nwait rows (run the nwait workload; its rows are described in docs/csv.md)"
        return CLAIM.verdict([Part(n, None, why) for n in names], "", "", why)
    n, d, transport = _config(st)
    st = st[(st["units"] == n) & (st["delay_ns"] == d) & (st["transport"] == transport)]
    over = ds.stats("nwait", "overhead_ns", units=n, delay_ns=d, transport=transport)
    speed = ds.stats("nwait", "speedup", status=("derived",), units=n, delay_ns=d,
                     transport=transport)
    parts, figs, lines = [], [], lines_of(st)
    size = "%s requests of %s (%s)" % (fmt.count(n), fmt.ns(d), transport)

    def over_of(r):
        o = over[(over["variant"] == r["variant"]) & (over["poller"] == r["poller"])]
        return o["median"].iloc[0] if len(o) else r["median"] - (
            n * d if r["variant"] == "sequential" else d)

    seq = st[st["variant"] == "sequential"]
    if len(seq):
        r = seq.iloc[0]
        o = over_of(r)
        ok = _within(r["median"], n * d)
        figs.append("sequential %s (%s): N×D + %s, %s per request" % (
            fmt.ns(r["median"]), spread(r), fmt.ns(o), fmt.ns(o / n)))
        parts.append(Part(names[0], bool(ok), "%s one after another take %s = N×D + %s%s" % (
            size, fmt.ns(r["median"]), fmt.ns(o), "" if ok else ", not within %gx" % APPROX)))
    else:
        parts.append(Part(names[0], None, "no sequential nwait case"))
    for name, want in ((names[1], lambda r: r["variant"] == "threads"),
                       (names[2], lambda r: r["variant"] == "coroutines")):
        rows = [r for _, r in st.iterrows() if want(r)]
        if not rows:
            parts.append(Part(name, None, "no %s nwait case" % name.split(" ")[0]))
            continue
        texts, ok = [], True
        for r in sorted(rows, key=lambda r: r["median"]):
            o = over_of(r)
            ok &= _within(r["median"], d)
            who = r["variant"] if not r["poller"] else r["poller"]
            s = speed[(speed["variant"] == r["variant"]) & (speed["poller"] == r["poller"])]
            sp = "" if s.empty or isnan(s["median"].iloc[0]) else ", %.1fx" % s["median"].iloc[0]
            texts.append("%s %s (D + %s%s)" % (who, fmt.ns(r["median"]), fmt.ns(o), sp))
        figs.append("; ".join(texts))
        parts.append(Part(name, bool(ok), "%s at once: %s%s" % (
            size, ", ".join(texts), "" if ok else " (not all within %gx of D)" % APPROX)))
    # The seed beside it: its extra over N×D and D, per request.
    extra = ("The seed's 22 s is N×D + 2 s (%s per request beyond the 1 s wait: the HTTPS round "
             "trips to httpbin.org, which a local server does not have) and its 1.3 s is D + "
             "0.3 s (the slowest of 20 concurrent requests); here the client, the loopback and "
             "the server's timer add the overheads above"
             % fmt.ns((SEED_SYNC - SEED_N * SEED_D) / SEED_N))
    if d != SEED_D:
        extra += "; measured at D = %s (the seed's 1 s is --set delay_ns=1s)" % fmt.ns(d)
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines), extra=extra)
