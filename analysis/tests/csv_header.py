#!/usr/bin/env python3
"""csv_header.py [CSV] - the header muxbench writes equals schema.COLUMNS, name for name.

The C program names its columns in one table (harness/params.def and the fixed columns around
it); the analysis names them in muxbench_analysis/schema.py. This test holds the two lists
together: a column added, renamed or moved on one side only fails here, naming it.

The CSV is $MUXBENCH_REAL_CSV if set, else the first argument (CTest passes the quick run's CSV
that the fixture muxbench_quick_csv writes). With no such file the test is skipped (exit 77),
never passed. Standard library only: schema.py is loaded by path, without pandas.
"""
import csv
import importlib.util
import os
import sys

SKIP = 77
SCHEMA_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "muxbench_analysis",
                         "schema.py")


def load_schema():
    spec = importlib.util.spec_from_file_location("muxbench_schema", SCHEMA_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def header_problems(header, columns):
    """What differs between the header the suite wrote and the schema's columns, in words
    (an empty list when they are equal)."""
    header, columns = list(header), list(columns)
    if header == columns:
        return []
    problems = []
    missing = [c for c in columns if c not in header]
    extra = [c for c in header if c not in columns]
    if missing:
        problems.append("schema.py has columns the CSV lacks: %s" % ", ".join(missing))
    if extra:
        problems.append("the CSV has columns schema.py lacks (add them to COLUMNS and to "
                        "docs/csv.md): %s" % ", ".join(extra))
    dups = sorted({c for c in header if header.count(c) > 1})
    if dups:
        problems.append("the CSV names a column twice: %s" % ", ".join(dups))
    if not problems:
        first = next(i for i, (a, b) in enumerate(zip(header, columns)) if a != b)
        problems.append("same names, another order: column %d is %r in the CSV, %r in "
                        "schema.py" % (first + 1, header[first], columns[first]))
    return problems


def main(argv):
    path = os.environ.get("MUXBENCH_REAL_CSV") or (argv[1] if len(argv) > 1 else "")
    if not path or not os.path.isfile(path):
        print("skip: no CSV from a quick real run%s (the muxbench_quick_csv fixture writes it; "
              "or set MUXBENCH_REAL_CSV)" % (" at " + path if path else ""))
        return SKIP
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f, strict=True), None)
    if not header:
        print("FAIL: %s is empty: no header" % path)
        return 1
    columns = load_schema().COLUMNS
    problems = header_problems(header, columns)
    for p in problems:
        print("FAIL: %s: %s" % (path, p))
    if problems:
        return 1
    print("%s: the header's %d columns equal schema.COLUMNS" % (path, len(header)))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
