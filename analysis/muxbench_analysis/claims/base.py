"""What every claim module shares: the verdict labels, a claim's definition, its parts, the rule
that turns parts into a verdict, and the small helpers that quote a figure with its spread.

Each part of a claim holds (True), does not (False) or is not measured (None). The verdict is:
    holds                  every part measured, every part holds
    holds only in part     some parts hold, some do not (the text says which)
    does not hold          no measured part holds
    not measured in this CSV   no part is measured (the text says why)
and, when some parts are measured and some are not, the measured parts decide and the text
names the parts that are not measured. Nothing is extrapolated: a figure the CSV does not hold
is "not measured", never guessed.
"""
import math
from dataclasses import dataclass, field

from .. import fmt

HOLDS = "holds"
PART = "holds only in part"
NOT = "does not hold"
NOT_MEASURED = "not measured in this CSV"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# "About X" in a seed means within this factor of X, either way (every claim reads it so).
APPROX = 2.0


@dataclass
class Part:
    name: str
    outcome: object   # True, False or None (not measured)
    text: str


@dataclass
class Verdict:
    claim_id: str
    claim: str
    stated: str
    source: str
    measured: str = ""
    verdict: str = NOT_MEASURED
    detail: str = ""
    rows: str = ""
    rule: str = ""
    parts: list = field(default_factory=list)
    summary: str = ""   # the verdict cell: which parts hold, which do not, what is missing


def compose(parts):
    """The verdict label for a list of parts (see the module docstring)."""
    measured = [p for p in parts if p.outcome is not None]
    if not measured:
        return NOT_MEASURED
    if all(p.outcome for p in measured):
        return HOLDS
    if not any(p.outcome for p in measured):
        return NOT
    return PART


@dataclass
class Claim:
    """One claim as its module defines it: the statement judged, the seed's own words, where
    the seed says it (write-up number and section, as docs/design.md lists them) and the rule,
    in words, that the module's evaluate() applies."""
    claim_id: str
    statement: str
    stated: str
    source: str
    rule: str

    def verdict(self, parts, measured, rows, why_not="", extra=""):
        """The Verdict for these parts. why_not explains a claim with no measured part (else
        the parts' own texts do); extra is appended to the detail as context."""
        label = compose(parts)
        held = [p.name for p in parts if p.outcome is True]
        failed = [p.name for p in parts if p.outcome is False]
        missing = [p.name for p in parts if p.outcome is None]
        bits, summary = [], []
        if label == NOT_MEASURED:
            bits.append(why_not or "; ".join(p.text for p in parts))
            summary.append(bits[0])
        else:
            if label == PART:
                summary.append("holds for %s; not for %s" % (", ".join(held), ", ".join(failed)))
            elif label == HOLDS:
                summary.append("holds for " + ", ".join(held))
            else:
                summary.append("not for " + ", ".join(failed))
            bits.extend(p.text for p in parts if p.outcome is not None)
            if missing:
                summary.append("not measured in this CSV: " + ", ".join(missing))
                bits.append("not measured: " + "; ".join(p.text for p in parts
                                                         if p.outcome is None))
        if extra:
            bits.append(extra)
        return Verdict(self.claim_id, self.statement, self.stated, self.source,
                       measured=measured, verdict=label,
                       detail=". ".join(b.rstrip(".") for b in bits if b) + ".", rows=rows,
                       rule=self.rule, parts=parts, summary="; ".join(summary))


def isnan(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def eqnan(series, v):
    """series == v, where a missing v matches missing cells."""
    if isnan(v):
        return series.isna()
    return series == v


def spread(row, scale=1.0, f=fmt.ns):
    """'range a-b over R reps' from min/max, else 'CV x%', else 'spread not recorded'."""
    lo, hi, cv, reps = row.get("min"), row.get("max"), row.get("cv"), row.get("repetitions")
    if not isnan(lo) and not isnan(hi):
        r = "" if isnan(reps) else " over %d reps" % reps
        return "range %s-%s%s" % (f(lo * scale), f(hi * scale), r)
    if not isnan(cv):
        return "CV %s" % fmt.pct(cv)
    return "spread not recorded"


def lines_of(df):
    """Every CSV line the rows of df rest on."""
    return [ln for ls in df["lines"] for ln in ls] if len(df) else []
