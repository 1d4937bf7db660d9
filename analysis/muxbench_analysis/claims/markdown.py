"""claims.md: the table of verdicts, then each claim with its figures, rows and rule."""


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ").strip() or "-"


def to_markdown(verdicts, ds):
    out = ["# muxbench claims report", ""]
    out.append("CSV: %s" % ", ".join("`%s`" % f for f in ds.files))
    out.append("")
    out.append("Environment: " + ds.caption().replace("\n", "; "))
    out.append("")
    if len(ds.hosts()) > 1:
        out.append("**These rows come from %d hosts (%s): the verdicts pool them; each "
                   "host's own verdicts are under \"Verdicts per host\" below.**" % (
                       len(ds.hosts()), ", ".join(ds.hosts())))
        out.append("")
    for w in ds.warnings:
        out.append("> warning: %s" % w)
    if ds.warnings:
        out.append("")
    out.append("| claim | as the seed states it | measured here (spread) | verdict | rows |")
    out.append("|---|---|---|---|---|")
    for v in verdicts:
        out.append("| **%s**: %s | %s (seed %s) | %s | **%s**: %s | %s |" % (
            v.claim_id, _cell(v.claim), _cell(v.stated), v.source, _cell(v.measured or "-"),
            v.verdict, _cell(v.summary), _cell(v.rows or "-")))
    out.append("")
    out.append("## The claims one by one")
    out.append("")
    for v in verdicts:
        out.append("### %s: %s" % (v.claim_id, v.claim))
        out.append("")
        out.append("- Seed %s: %s" % (v.source, v.stated))
        out.append("- Verdict: **%s**. %s" % (v.verdict, v.detail))
        if v.measured:
            out.append("- Measured: %s" % v.measured)
        out.append("- Rows: %s" % (v.rows or "none"))
        out.append("- Rule: %s" % v.rule)
        out.append("")
    if len(ds.hosts()) > 1:
        from ..hosts import claims_by_host  # plots and hosts import claims: imported late
        out.append(claims_by_host(ds))
    out.append("## How the verdicts are decided")
    out.append("")
    out.append("A claim is split into parts. **holds**: every part measured holds; **holds only "
               "in part**: some do and some do not (the verdict names them); **does not "
               "hold**: none does; **not measured in this CSV**: the CSV has no rows for any "
               "part, and the verdict says why. Figures are medians over repetitions; the "
               "spread is the min-max range of the repetitions. Rows are cited by CSV line "
               "(the header is line 1). Nothing is extrapolated. Each claim's rule is stated "
               "in its section above, and as code in its own module, "
               "`analysis/muxbench_analysis/claims/c<N>.py`.")
    out.append("")
    return "\n".join(out)
