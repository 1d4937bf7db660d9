#!/usr/bin/env python3
"""real_run.py [CSV] - the analysis on a CSV from a quick real run of muxbench.

The CSV is $MUXBENCH_REAL_CSV if set, else the first argument (CTest passes
${CMAKE_BINARY_DIR}/quick-run/quick.csv, which the test fixture muxbench_quick_csv writes).
With no such file the test is skipped (exit 77), never passed. Otherwise it runs the whole
report on it and checks: every notebook executed, every plot is a non-empty image, claims.md has
a verdict row for each claim C1-C9.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from muxbench_analysis import CSVError, load, report  # noqa: E402
from tests.helpers import check_report  # noqa: E402

SKIP = 77


def main(argv):
    path = os.environ.get("MUXBENCH_REAL_CSV") or (argv[1] if len(argv) > 1 else "")
    if not path:
        print("skip: no CSV from a quick real run (set MUXBENCH_REAL_CSV or pass a path)")
        return SKIP
    if not os.path.isfile(path):
        print("skip: no CSV from a quick real run at %s (the muxbench_quick_csv fixture "
              "writes it: muxbench run --quick ... --out %s)" % (path, path))
        return SKIP
    try:
        ds = load(path)
    except CSVError as e:
        print("FAIL: the real run's CSV is not valid: %s" % e)
        return 1
    if str(ds.env_value("command_line", "")).startswith("synthetic"):
        print("FAIL: %s is the synthetic fixture, not a real run" % path)
        return 1
    print("real run: %s, %d rows; %s" % (path, len(ds.rows), ds.caption()))
    out = tempfile.mkdtemp(prefix="muxbench-real-report-")
    try:
        rc = report.main(["--out", out, path])
        if rc != 0:
            print("FAIL: the report exited %d" % rc)
            return 1
        problems = check_report(out)
        for p in problems:
            print("FAIL: %s" % p)
        if problems:
            return 1
        with open(os.path.join(out, "claims.md"), encoding="utf-8") as f:
            print(f.read().split("## The claims one by one")[0])
        print("1 passed, 0 failed")
        return 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
