"""Every plot draws and saves a readable PNG, on a full CSV, on a quick one, and on one with
no measurements (where each plot says what is missing instead of failing)."""
import os
import unittest

from tests.helpers import TempDirCase, check_png
from tests.make_fixture import CsvBuilder, make_synthetic, standard_env

from muxbench_analysis import load, plots


class Plots(TempDirCase):
    def make_all(self, ds):
        out = plots.make_all(ds, outdir=self.tmp)
        self.assertEqual(sorted(out), sorted(plots.PLOTS))
        for name, path in out.items():
            self.assertEqual(check_png(path), "", name)
        return out

    def test_full_synthetic(self):
        ds = load(make_synthetic().write(os.path.join(self.tmp, "s.csv")))
        self.make_all(ds)
        # titles say what the data shows, captions name the environment
        fig = plots.wait_vs_fds(ds)
        title = fig._suptitle.get_text()
        self.assertIn("select and poll grow linearly", title.replace("\n", " ").lower())
        texts = " ".join(t.get_text() for t in fig.texts)
        self.assertIn("kernel 6.1.0-synthetic", texts)
        ax = fig.axes[0]
        self.assertEqual(ax.get_xscale(), "log")
        self.assertEqual(ax.get_yscale(), "log")
        self.assertTrue(ax.get_xlabel() and ax.get_ylabel())
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        self.assertTrue(any("seed 002" in t for t in labels))   # the claim's reference line
        self.assertTrue(any(t.startswith("poll: ") and "ns/fd" in t for t in labels))

    def test_quick_synthetic(self):
        self.make_all(load(make_synthetic(quick=True, seed=7).write(
            os.path.join(self.tmp, "q.csv"))))

    def test_no_measurements(self):
        b = CsvBuilder()
        standard_env(b)
        b.case("harness", "iteration_ns", 2.0, variant="native")
        b.complete()
        ds = load(b.write(os.path.join(self.tmp, "e.csv")))
        self.make_all(ds)
        fig = plots.echo(ds)
        self.assertIn("Not measured in this CSV", " ".join(
            t.get_text() for ax in fig.axes for t in ax.texts))

    def test_every_axis_is_labelled(self):
        ds = load(make_synthetic(quick=True).write(os.path.join(self.tmp, "q.csv")))
        for name, (fn, _) in plots.PLOTS.items():
            fig = getattr(plots, fn)(ds)
            self.assertTrue(fig._suptitle.get_text(), name)
            for ax in fig.axes:
                self.assertTrue(ax.get_xlabel(), "%s: x axis without a label" % name)
                self.assertTrue(ax.get_ylabel(), "%s: y axis without a label" % name)


if __name__ == "__main__":
    unittest.main()
