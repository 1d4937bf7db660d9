"""C8: a checkpoint on every await costs per-call overhead; a task that never yields starves
the loop (seed 000 a, asyncio against Trio).

To be measured by the checkpoint workload (the cost of a yield point per await; a task that
never yields against a ticker). Until its rows are in docs/csv.md and schema.py, the claim's
one part is "not measured". To fill it in: put the thresholds below, write the rule in
CLAIM.rule, and make _checkpoint_and_starvation() read the rows (ds.stats("checkpoint",
<metric>, ...)) and return Part(s) with True/False (split it into a cost part and a starvation
part if they are judged apart), keeping the "not measured" Part when the CSV has none."""
from .base import Claim, Part

PART_NAME = "per-await checkpoint cost; starvation"
WHY_NOT = ("no rows measure a per-await checkpoint or a never-yielding task: that workload "
           "(checkpoint) is planned (docs/design.md §1) and docs/csv.md has no metric for it "
           "yet")

CLAIM = Claim(
    "C8",
    statement="a checkpoint on every await costs per-call overhead; a never-yielding task "
              "starves the loop",
    stated="\"checkpoint on (almost) every async call ... adds a bit of per-await overhead\"; "
           "\"If an awaited call never actually blocks, the loop may never switch tasks\"",
    source="000 a",
    rule="Needs an await-checkpoint / starvation workload; none is in docs/csv.md yet.")


def _checkpoint_and_starvation(ds):
    return [Part(PART_NAME, None, WHY_NOT)]


def evaluate(ds):
    parts = _checkpoint_and_starvation(ds)
    return CLAIM.verdict(parts, "", "", WHY_NOT)
