"""Run the notebooks headless on one or more muxbench CSVs and write the report.

    python3 -m muxbench_analysis.report [--out DIR] [--timeout S] [CSV ...]

With no CSV, the newest results/*.csv (leaving out *.partial.csv). Writes into DIR (default
results/report): each notebook executed, as HTML; the plots as PNG; claims.md. CSVs from
several hosts: every plot has one panel per host, and claims.md a verdict per host. Exactly two
CSVs: also compare.png and compare.md, the second run against the first (docs/compare.md).

Exit status: 0 done; 2 bad input (no CSV, or a file that is not a muxbench CSV: the message says
which and why); 1 a notebook failed (its error is printed).
"""
import argparse
import os
import subprocess
import sys
import time

from . import compare, data
from .plots import PLOTS

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.dirname(HERE)
NOTEBOOK_DIR = os.path.join(ANALYSIS, "notebooks")
NOTEBOOKS = ("pollers", "threads_coroutines", "claims")
TOP = os.path.dirname(ANALYSIS)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def expected_outputs(outdir, ncsv=1):
    """Every file a complete report has (with two CSVs, also their comparison)."""
    files = [os.path.join(outdir, n + ".html") for n in NOTEBOOKS]
    files += [os.path.join(outdir, n + ".png") for n in PLOTS]
    files.append(os.path.join(outdir, "claims.md"))
    if ncsv == 2:
        files += [os.path.join(outdir, "compare.png"), os.path.join(outdir, "compare.md")]
    return files


def run_notebook(name, csvs, outdir, timeout=600, log=sys.stderr):
    """Execute analysis/notebooks/<name>.ipynb and write <outdir>/<name>.html. Returns
    (ok, output). The notebook reads MUXBENCH_CSV and writes into MUXBENCH_REPORT_DIR."""
    env = dict(os.environ)
    env["MUXBENCH_CSV"] = os.pathsep.join(os.path.abspath(c) for c in csvs)
    env["MUXBENCH_REPORT_DIR"] = os.path.abspath(outdir)
    env["PYTHONPATH"] = ANALYSIS + (os.pathsep + env["PYTHONPATH"]
                                    if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets the kernel's debugger warning
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    cmd = [sys.executable, "-m", "nbconvert", "--to", "html", "--execute",
           "--ExecutePreprocessor.timeout=%d" % timeout,
           "--ExecutePreprocessor.kernel_name=python3",
           "--output-dir", os.path.abspath(outdir), "--output", name,
           os.path.join(NOTEBOOK_DIR, name + ".ipynb")]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode == 0, p.stdout


def add_comparisons(csvs, ds, outdir, log=sys.stderr):
    """After the notebooks: with two CSVs, compare.png and compare.md (the second run against
    the first, docs/compare.md). False when the two CSVs cannot be compared (the reason is
    printed). (Several hosts: claims.md has each claim's verdict per host, claims/markdown.py.)"""
    if len(csvs) == 2:
        try:
            compare.report(csvs[0], csvs[1], outdir)
        except compare.CompareError as e:
            print("report: no comparison of the two CSVs: %s" % e, file=log)
            return False
        print("report: %-20s compare.png, compare.md" % "comparison", file=log)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m muxbench_analysis.report",
        description="Run the analysis notebooks on muxbench CSVs: HTML, PNG plots, claims.md.")
    ap.add_argument("csv", nargs="*", help="muxbench CSVs (default: the newest results/*.csv)")
    ap.add_argument("--out", default=os.path.join(TOP, "results", "report"),
                    help="output directory (default: results/report)")
    ap.add_argument("--results", default=os.path.join(TOP, "results"),
                    help="where to look for the newest CSV when none is given")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per notebook cell")
    a = ap.parse_args(argv)

    csvs = a.csv
    if not csvs:
        newest = data.newest_csv(a.results)
        if newest is None:
            print("report: no muxbench CSV in %s (run `make bench POLLER=...` first, or pass "
                  "CSV=path)" % a.results, file=sys.stderr)
            return EXIT_USAGE
        csvs = [newest]
    try:
        ds = data.load(csvs)  # check before starting any kernel: a bad file fails here, clearly
    except data.CSVError as e:
        print("report: %s" % e, file=sys.stderr)
        return EXIT_USAGE
    for w in ds.warnings:
        print("report: warning: %s" % w, file=sys.stderr)
    os.makedirs(a.out, exist_ok=True)
    print("report: %s -> %s" % (", ".join(csvs), a.out), file=sys.stderr)
    for name in NOTEBOOKS:
        t = time.time()
        ok, out = run_notebook(name, csvs, a.out, a.timeout)
        if not ok:
            print(out[-6000:], file=sys.stderr)
            print("report: notebook %s failed (above); nothing after it was run" % name,
                  file=sys.stderr)
            return EXIT_FAIL
        print("report: %-20s %5.1f s" % (name, time.time() - t), file=sys.stderr)
    if not add_comparisons(csvs, ds, a.out):
        return EXIT_USAGE
    missing = [f for f in expected_outputs(a.out, len(csvs)) if not os.path.isfile(f)
               or os.path.getsize(f) == 0]
    if missing:
        print("report: the notebooks ran but did not write: %s" % ", ".join(missing),
              file=sys.stderr)
        return EXIT_FAIL
    print(os.path.join(a.out, "claims.md"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
