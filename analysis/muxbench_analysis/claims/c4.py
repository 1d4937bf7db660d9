"""C4: creating 10,000 threads takes seconds, 10,000 coroutines milliseconds (seed 002 §5.5).

Measured by the spawn workload's create_ns (create+join, create+destroy)."""
from .. import fmt
from ..data import cite
from .base import Claim, Part, lines_of, spread
from .memory import config_name, leanest, stackful

# "Seconds" is at least SECONDS for N threads; "milliseconds" at most MILLISECONDS for N
# coroutines (both in ns).
N = 10000
SECONDS = 1e9
MILLISECONDS = 100e6

CLAIM = Claim(
    "C4",
    statement="creating 10,000 threads takes seconds, 10,000 coroutines milliseconds",
    stated="\"10,000 threads ... Creation Time: Seconds\"; \"10,000 coroutines ... "
           "Milliseconds\"",
    source="002 §5.5",
    rule="Total = %s × median create_ns, from the batch of 10,000 where the CSV has one "
         "(else the largest batch, else one at a time). Threads 'take seconds' when the total "
         "is ≥ %s; coroutines 'take milliseconds' when it is ≤ %s (milliseconds or less), "
         "judged on the leanest coroutine with a stack of its own (guard or pool); copy and "
         "stackless units are listed beside it."
         % (fmt.count(N), fmt.ns(SECONDS), fmt.ns(MILLISECONDS)))


def _batch_first(df):
    """Rows creating N units at once first (the claim's situation), then larger batches;
    one-at-a-time rows last."""
    if "units" not in df.columns or not len(df):
        return df
    key = df["units"].apply(lambda u: (0 if u == N else 1, -(u if u == u else 0)))
    return df.assign(_k=key).sort_values("_k").drop(columns="_k")


def evaluate(ds):
    parts, figs, lines = [], [], []
    thr = _batch_first(ds.stats("spawn", "create_ns", variant="thread"))
    if len(thr):
        r = thr.iloc[0]
        total = N * r["median"]
        ok = total >= SECONDS
        lines += lines_of(thr.iloc[:1])
        figs.append("thread create+join %s (%s; %s) → %s threads in %s" % (
            fmt.ns(r["median"]), spread(r),
            "in a batch of %s" % fmt.count(r["units"]) if r.get("units", 1) > 1
            else "one at a time", fmt.count(N), fmt.ns(total)))
        parts.append(Part("threads take seconds", bool(ok),
                          "%s threads take %s (%s each)%s" % (
                              fmt.count(N), fmt.ns(total), fmt.ns(r["median"]),
                              "" if ok else ", under a second")))
    else:
        parts.append(Part("threads take seconds", None,
                          "no spawn create_ns rows for default-attribute threads"))
    cor = ds.stats("spawn", "create_ns", variant="coroutine")
    if len(cor) and "units" in cor.columns and (cor["units"] == N).any():
        cor = cor[cor["units"] == N]  # the claim's situation: 10,000 created at once
    if len(cor):
        every = leanest([dict(r) for _, r in cor.iterrows()])
        recs = stackful(every) or every
        recs += [o for o in every if o not in recs]
        r = recs[0]
        total = N * r["median"]
        ok = total <= MILLISECONDS
        lines += list(r["lines"])
        figs.append("coroutine (%s) create+destroy %s (%s) → %s in %s" % (
            config_name(r), fmt.ns(r["median"]), spread(r), fmt.count(N), fmt.ns(total)))
        others = ", ".join("%s: %s each" % (config_name(o), fmt.ns(o["median"]))
                           for o in recs[1:])
        parts.append(Part("coroutines take milliseconds", bool(ok),
                          "%s coroutines take %s%s" % (
                              fmt.count(N), fmt.ns(total),
                              "" if not others else " (other configurations: %s)" % others)))
    else:
        parts.append(Part("coroutines take milliseconds", None,
                          "no spawn create_ns rows for coroutines"))
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines),
                         "no spawn rows in this CSV (run the spawn workload)")
