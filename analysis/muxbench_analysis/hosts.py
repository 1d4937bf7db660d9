"""Runs from several machines in one report: every plot drawn once per host, side by side, each
host in its own colour, and each claim's verdict per host.

A Dataset that holds rows from several hosts pools them: a figure measured on one machine would
stand next to another machine's with nothing to tell them apart. split() gives one Dataset per
host; side_by_side() wraps a plot function so that it draws one panel per host (the host's
name and colour on the panel's title and frame); claims_by_host() is the per-host verdict table
at the end of claims.md (claims/markdown.py).
"""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .data import Dataset

HOST_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
               "#17becf")


def host_color(i):
    return HOST_COLORS[i % len(HOST_COLORS)]


def split(ds):
    """[(host, Dataset of that host's rows)] in host order."""
    out = []
    for host in ds.hosts():
        rows = ds.rows[ds.rows["host"] == host]
        files = [f for f in ds.files if f in set(rows["_file"])]
        out.append((host, Dataset(rows=rows, files=files, warnings=[],
                                  complete={f: ds.complete.get(f, True) for f in files})))
    return out


def _pixels(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def side_by_side(plot_fn):
    """plot_fn(ds) -> Figure, drawn once per host in panels side by side when ds holds more
    than one host; unchanged for one host."""
    def per_host(ds, *args, **kwargs):
        parts = split(ds)
        if len(parts) < 2:
            return plot_fn(ds, *args, **kwargs)
        figs = [(host, plot_fn(sub, *args, **kwargs)) for host, sub in parts]
        w = max(f.get_figwidth() for _, f in figs)
        h = max(f.get_figheight() for _, f in figs)
        out = Figure(figsize=(w * len(figs), h + 0.5))
        axes = out.subplots(1, len(figs), squeeze=False)[0]
        for i, ((host, fig), ax) in enumerate(zip(figs, axes)):
            ax.imshow(_pixels(fig), interpolation="lanczos")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(host_color(i))
                spine.set_linewidth(4)
            ax.set_title("host %s" % host, color=host_color(i), fontsize=16, fontweight="bold")
        out.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=1 - 0.45 / (h + 0.5),
                            wspace=0.02)
        return out
    per_host.__name__ = plot_fn.__name__
    per_host.__doc__ = plot_fn.__doc__
    per_host.__wrapped__ = plot_fn
    return per_host


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ").strip() or "-"


def claims_by_host(ds):
    """Markdown: one row per claim, one column per host with that host's verdict and figure.
    Empty when ds holds one host."""
    from . import claims
    parts = split(ds)
    if len(parts) < 2:
        return ""
    per_host = [(host, {v.claim_id: v for v in claims.evaluate(sub)}) for host, sub in parts]
    ids = list(per_host[0][1])
    out = ["## Verdicts per host", "",
           "The table above pools the %d hosts; here each claim is decided on each host's rows "
           "alone." % len(parts), "",
           "| claim | " + " | ".join("%s" % _cell(h) for h, _ in per_host) + " |",
           "|---|" + "---|" * len(per_host)]
    for cid in ids:
        first = per_host[0][1][cid]
        cells = []
        for _, verdicts in per_host:
            v = verdicts.get(cid)
            if v is None:
                cells.append("-")
                continue
            cells.append("**%s**%s" % (v.verdict, ": " + _cell(v.measured) if v.measured
                                       else ""))
        out.append("| **%s**: %s | %s |" % (cid, _cell(first.claim), " | ".join(cells)))
    out.append("")
    return "\n".join(out)
