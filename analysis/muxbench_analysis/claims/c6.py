"""C6: N requests that each wait D take N×D one after another, but about D on threads or an
event loop (seed 002 §4.2, §4.4: 20 requests of 1 s, "Sync ~22s" vs "Async ~1.3s").

To be measured by the nwait workload (N waits of D, sequentially and concurrently). Until its
rows are in docs/csv.md and schema.py, the claim's one part is "not measured". To fill it in:
put the thresholds beside the others below (say how close to N×D and to D counts as "≈"),
write the rule in CLAIM.rule, and make _sequential_vs_concurrent() read the rows
(ds.stats("nwait", <metric>, ...)) and return Part(PART_NAME, True/False, text), keeping the
"not measured" Part when the CSV has none of them."""
from .base import Claim, Part

PART_NAME = "sequential ≈ N×D, concurrent ≈ D"
WHY_NOT = ("no rows time N waits of D sequentially and concurrently: that workload (nwait) is "
           "planned (docs/design.md §1) and docs/csv.md has no metric for it yet")

CLAIM = Claim(
    "C6",
    statement="N requests that each wait D: sequential ≈ N×D, threads or an event loop ≈ D",
    stated="20 requests of 1 s: \"Sync ~22s\" vs \"Async ~1.3s\" (\"17x\"); \"Sync: total wait "
           "time = N × IO latency; Async: total wait time = max(IO latency)\"",
    source="002 §4.2, §4.4",
    rule="Needs a workload that times N waits of D sequentially and concurrently; none is in "
         "docs/csv.md yet.")


def _sequential_vs_concurrent(ds):
    return Part(PART_NAME, None, WHY_NOT)


def evaluate(ds):
    parts = [_sequential_vs_concurrent(ds)]
    return CLAIM.verdict(parts, "", "", WHY_NOT)
