"""The verdict on each claim C1-C9 (docs/design.md), decided from a Dataset's rows.

    verdicts = evaluate(ds)           # [Verdict, ...], one per claim, C1..C9
    text = to_markdown(verdicts, ds)  # claims.md
    write_claims(ds, path)            # both, into a file

One module per claim, c1.py ... c9.py, each defining in one place its CLAIM (statement, the
seed's words and section, the rule in words), its thresholds as module constants, and
evaluate(ds) -> Verdict. This package finds them by name: a new claim is a new cN.py, nothing
else. base.py holds what they share (Part, Verdict, the verdict rule); memory.py the memory and
spawn tables the thread/coroutine claims read.
"""
import importlib
import pkgutil
import re

from . import base, memory  # noqa: F401 (shared with the plots: claims.base, claims.memory)
from .base import HOLDS, NOT, NOT_MEASURED, PART, Claim, Part, Verdict, compose
from .markdown import to_markdown


def claim_modules(path, package):
    """Every cN module of the package at path, imported, in claim order (C1, C2, ..., C10)."""
    found = []
    for info in pkgutil.iter_modules(path):
        m = re.fullmatch(r"c([0-9]+)", info.name)
        if m:
            found.append((int(m.group(1)), importlib.import_module("." + info.name, package)))
    return [mod for _, mod in sorted(found, key=lambda pair: pair[0])]


MODULES = claim_modules(__path__, __name__)
CLAIMS = [m.CLAIM for m in MODULES]
CLAIM_BY_ID = {c.claim_id: c for c in CLAIMS}
RULES = {c.claim_id: c.rule for c in CLAIMS}


def evaluate(ds):
    """One Verdict per claim, in claim order."""
    return [m.evaluate(ds) for m in MODULES]


def write_claims(ds, path):
    """Evaluate every claim and write claims.md to path; returns the verdicts."""
    verdicts = evaluate(ds)
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_markdown(verdicts, ds))
    return verdicts


__all__ = ["HOLDS", "PART", "NOT", "NOT_MEASURED", "Claim", "Part", "Verdict", "compose",
           "MODULES", "CLAIMS", "CLAIM_BY_ID", "RULES", "claim_modules", "evaluate", "to_markdown",
           "write_claims"]
