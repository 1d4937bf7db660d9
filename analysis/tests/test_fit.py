"""The fits of fit.py: the weighted per-fd fit and its standard errors against values computed
independently (the same numbers tests/harness/test_harness.c checks the suite's C fit against),
the order of growth of known curves, and the minimum points and span."""
import math
import unittest

from muxbench_analysis import fit

XS = [1, 10, 100, 1000]
YS = [12.0, 19.0, 112.0, 1009.0]


class LinearFit(unittest.TestCase):
    def test_unweighted(self):
        f = fit.linear_fit(XS, YS)
        self.assertAlmostEqual(f["slope"], 0.9984508654947127, places=12)
        self.assertAlmostEqual(f["intercept"], 10.680272108843553, places=9)
        self.assertAlmostEqual(f["slope_se"], 0.001900280996789371, places=12)
        self.assertAlmostEqual(f["intercept_se"], 0.9549271259212578, places=9)

    def test_weighted_by_relative_error(self):
        f = fit.linear_fit(XS, YS, [1 / (y * y) for y in YS])
        self.assertAlmostEqual(f["slope"], 0.986583092690918, places=12)
        self.assertAlmostEqual(f["slope_se"], 0.04562146995417785, places=12)
        self.assertLess(f["r2"], 1.0)

    def test_two_points_have_no_error(self):
        f = fit.linear_fit([1, 10], [2, 3])
        self.assertTrue(math.isnan(f["slope_se"]))


class Growth(unittest.TestCase):
    xs = [2 ** k for k in range(15)]  # 1 .. 16384

    def test_linear_cost_has_exponent_one(self):
        g = fit.growth_fit(self.xs, [1000 + 70 * x for x in self.xs])
        self.assertAlmostEqual(g["exponent"], 1.0, delta=0.08)
        self.assertGreaterEqual(g["fds_from"] * 100, self.xs[-1])

    def test_flat_cost_has_exponent_zero(self):
        g = fit.growth_fit(self.xs, [700.0 for _ in self.xs])
        self.assertAlmostEqual(g["exponent"], 0.0, places=9)

    def test_too_few_points_or_too_short_a_span_make_no_fit(self):
        self.assertIsNone(fit.growth_fit([100, 1000], [1.0, 2.0]))
        self.assertIsNone(fit.growth_fit([100, 200, 400], [1.0, 2.0, 4.0]))
        self.assertFalse(fit.enough([1, 5, 9]))
        self.assertTrue(fit.enough([1, 5, 10]))


if __name__ == "__main__":
    unittest.main()
