"""The report end to end on a synthetic CSV: every notebook executes headless, every plot is a
non-empty image, claims.md has a verdict row per claim; and bad input fails clearly."""
import contextlib
import io
import json
import os
import unittest

from tests.helpers import ANALYSIS, TempDirCase, check_report
from tests.make_fixture import make_synthetic

from muxbench_analysis import report


class Report(TempDirCase):
    def run_report(self, *args):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = report.main(list(args))
        return rc, err.getvalue()

    def test_synthetic_report(self):
        csv = make_synthetic(quick=True).write(os.path.join(self.tmp, "s.csv"))
        out = os.path.join(self.tmp, "report")
        rc, err = self.run_report("--out", out, csv)
        self.assertEqual(rc, 0, err)
        self.assertEqual(check_report(out), [])

    def test_bad_csv_fails_before_any_notebook(self):
        bad = self.write("bad.csv", "date,open,close\n1,2,3\n")
        out = os.path.join(self.tmp, "report")
        rc, err = self.run_report("--out", out, bad)
        self.assertEqual(rc, 2)
        self.assertIn("bad.csv", err)
        self.assertIn("not a muxbench CSV", err)
        self.assertFalse(os.path.exists(os.path.join(out, "pollers.html")))

    def test_empty_csv(self):
        rc, err = self.run_report("--out", self.tmp, self.write("e.csv", ""))
        self.assertEqual(rc, 2)
        self.assertIn("is empty", err)

    def test_no_csv_in_results(self):
        rc, err = self.run_report("--out", self.tmp, "--results", self.tmp)
        self.assertEqual(rc, 2)
        self.assertIn("no muxbench CSV", err)


class NotebooksInGit(unittest.TestCase):
    """The notebooks are kept in git without outputs, so diffs stay readable."""

    def test_no_stored_outputs(self):
        nbdir = os.path.join(ANALYSIS, "notebooks")
        for name in report.NOTEBOOKS:
            with open(os.path.join(nbdir, name + ".ipynb"), encoding="utf-8") as f:
                nb = json.load(f)
            self.assertEqual(nb["metadata"]["kernelspec"]["name"], "python3")
            for cell in nb["cells"]:
                if cell["cell_type"] == "code":
                    self.assertEqual(cell["outputs"], [], name)
                    self.assertIsNone(cell["execution_count"], name)


if __name__ == "__main__":
    unittest.main()
