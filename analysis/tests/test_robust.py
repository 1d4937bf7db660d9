"""Real CSVs will be thinner than the synthetic one: medians only, one poller, one workload,
columns left empty. Verdicts, claims.md and every plot must still come out (plots saying what is
missing), without a numpy warning about NaN, which would mean data handled carelessly."""
import os
import unittest
import warnings

from tests.helpers import TempDirCase, check_png
from tests.make_fixture import make_synthetic

from muxbench_analysis import claims, load, plots

WORKLOADS = ("fanin", "ctxswitch", "memory", "spawn", "echo", "harness")


def variants():
    b = make_synthetic(quick=True)
    b.rows = [r for r in b.rows if r["stat"] in ("median", "")]
    yield "medians-only", b
    b = make_synthetic(quick=True)
    b.rows = [r for r in b.rows if r["workload"] == "env" or r["poller"] == "epoll"]
    yield "epoll-only", b
    for w in WORKLOADS[:-1]:
        yield "only-" + w, make_synthetic(quick=True, omit=[x for x in WORKLOADS if x != w])
    b = make_synthetic(quick=True)
    for r in b.rows:
        if r["workload"] == "ctxswitch":
            r["placement"] = ""
        if r["workload"] in ("memory", "spawn"):
            r["stack_alloc"] = r["touch_bytes"] = ""
    yield "empty-columns", b


class Robust(TempDirCase):
    def test_thin_csvs(self):
        for tag, b in variants():
            with self.subTest(csv=tag), warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                ds = load(b.write(os.path.join(self.tmp, tag + ".csv")))
                vs = claims.evaluate(ds)
                self.assertEqual(len(vs), 9)
                self.assertIn("| **C9**", claims.to_markdown(vs, ds))
                out = plots.make_all(ds, outdir=os.path.join(self.tmp, tag))
                for name, path in out.items():
                    self.assertEqual(check_png(path), "", name)


if __name__ == "__main__":
    unittest.main()
