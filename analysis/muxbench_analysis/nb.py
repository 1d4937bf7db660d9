"""Small helpers the notebooks call, so their cells stay short.

    ds = open_dataset()           # $MUXBENCH_CSV, else the newest results/*.csv; shows the header
    show(plots.echo(ds), "echo")  # saves <report dir>/echo.png and displays it
    table(df)                     # a DataFrame as a readable table
"""
import os

from . import data, plots


def _display(obj):
    try:
        from IPython.display import display
    except ImportError:  # outside Jupyter: print
        print(obj)
        return
    display(obj)


def _md(text):
    try:
        from IPython.display import Markdown
        return Markdown(text)
    except ImportError:
        return text


def open_dataset():
    """Load the CSVs the notebook is pointed at and show what they are."""
    paths = data.csv_paths_from_env()
    ds = data.load(paths)
    lines = ["**CSV**: " + ", ".join("`%s`" % os.path.basename(p) for p in ds.files),
             "", "**Environment**: " + ds.caption().replace("\n", "; "),
             "", "**Plots go to**: `%s`" % plots.report_dir()]
    for w in ds.warnings:
        lines += ["", "> warning: " + w]
    _display(_md("\n".join(lines)))
    return ds


def show(fig, name):
    """Save fig as <report dir>/<name>.png and display the PNG (so the HTML report holds
    exactly the file that was written). Returns nothing, so the cell shows only the plot."""
    path = plots.save(fig, name)
    try:
        from IPython.display import Image
        _display(Image(filename=path))
    except ImportError:
        print(path)


def table(df, columns=None, formats=None):
    """Display df (optionally some columns, with per-column format functions) as a table."""
    out = df if columns is None else df[[c for c in columns if c in df]]
    out = out.copy()
    for col, f in (formats or {}).items():
        if col in out:
            out[col] = out[col].map(lambda v: "" if v != v else f(v))  # NaN stays empty
    import pandas as pd
    with pd.option_context("display.max_colwidth", None, "display.max_rows", 500):
        _display(out.reset_index(drop=True))


def markdown(text):
    _display(_md(text))
