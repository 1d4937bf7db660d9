"""muxbench compare on hand-made CSVs with known values: the per-repetition values reach
scipy's Mann-Whitney U test, the verdicts and their directions, too few repetitions, the
environment diff, the outputs and every exit status. The real runs are tests/test_compare_cli.py.
"""
import csv
import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from scipy.stats import mannwhitneyu  # noqa: E402

from helpers import TempDirCase  # noqa: E402
from make_fixture import CsvBuilder, standard_env  # noqa: E402
from muxbench_analysis import compare, data  # noqa: E402

FAN = dict(poller="epoll", placement="same-pu", fds=100, active=1, writes=1, position="spread",
           timeout="blocking", transport="unix")
SWITCH = dict(variant="futex", placement="same-pu")
BASE_WAIT = [300.5, 301.25, 299.75, 302.0, 300.0, 301.5]


def builder(run="20261122T014037Z-synthetic-1", host="synthetic", **env):
    b = CsvBuilder(run_id=run, host=host)
    standard_env(b)
    for item, value in env.items():
        for r in b.rows:
            if r["metric"] == item:
                r["note"] = value
    return b


def run_main(args):
    out, err = io.StringIO(), io.StringIO()
    rc = compare.main(args, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


class Base(TempDirCase):
    def pair(self, base_rows, new_rows, base_env=None, new_env=None, complete=True):
        b = builder(**(base_env or {}))
        n = builder(run="20261122T020000Z-synthetic-2", **(new_env or {}))
        base_rows(b)
        new_rows(n)
        if complete:
            b.complete()
            n.complete()
        return (b.write(os.path.join(self.tmp, "base.csv")),
                n.write(os.path.join(self.tmp, "new.csv")))

    def result(self, base_rows, new_rows, **kw):
        bp, np_ = self.pair(base_rows, new_rows)
        return compare.compare(data.load(bp), data.load(np_), **kw)

    def row(self, result, case_part, metric=None):
        rows = [r for r in result["rows"] if case_part in r["case"]
                and (metric is None or r["metric"] == metric)]
        self.assertEqual(len(rows), 1, [r["case"] for r in result["rows"]])
        return rows[0]


class Statistics(Base):
    def test_p_value_is_scipys_on_the_repetitions(self):
        new = [330.5, 329.0, 331.25, 300.25, 332.0, 328.5]
        res = self.result(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                          lambda b: b.case_reps("fanin", "wait_ns", new, **FAN))
        r = self.row(res, "fanin")
        want = mannwhitneyu(new, BASE_WAIT, alternative="two-sided")
        self.assertAlmostEqual(r["p_value"], want.pvalue, places=12)
        self.assertAlmostEqual(r["u"], want.statistic)
        self.assertEqual((r["base_n"], r["new_n"]), (6, 6))

    def test_medians_and_ratio(self):
        new = [v * 2 for v in BASE_WAIT]
        r = self.row(self.result(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                                 lambda b: b.case_reps("fanin", "wait_ns", new, **FAN)), "fanin")
        self.assertAlmostEqual(r["base_median"], 300.875)
        self.assertAlmostEqual(r["new_median"], 601.75)
        self.assertAlmostEqual(r["ratio"], 2.0)

    def test_twice_the_time_is_slower(self):
        r = self.row(self.result(
            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
            lambda b: b.case_reps("fanin", "wait_ns", [v * 2 for v in BASE_WAIT], **FAN)),
            "fanin")
        self.assertEqual(r["verdict"], "slower")
        self.assertLess(r["p_value"], 0.05)

    def test_half_the_time_is_faster(self):
        r = self.row(self.result(
            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
            lambda b: b.case_reps("fanin", "wait_ns", [v / 2 for v in BASE_WAIT], **FAN)),
            "fanin")
        self.assertEqual(r["verdict"], "faster")

    def test_a_higher_rate_is_faster(self):
        rates = [1e5, 1.02e5, 0.99e5, 1.01e5, 1.03e5]
        r = self.row(self.result(
            lambda b: b.case_reps("echo", "req_per_s", rates, variant="thread", units=10),
            lambda b: b.case_reps("echo", "req_per_s", [v * 1.5 for v in rates],
                                  variant="thread", units=10)), "echo")
        self.assertEqual(r["verdict"], "faster")
        self.assertGreater(r["ratio"], 1)

    def test_a_ratio_metric_is_higher_not_slower(self):
        vals = [1.0, 1.01, 0.99, 1.0, 1.02]
        res = self.result(
            lambda b: b.case_reps("ctxswitch", "switches_counted_ratio", vals, **SWITCH),
            lambda b: b.case_reps("ctxswitch", "switches_counted_ratio",
                                  [v * 2 for v in vals], **SWITCH),
            metrics=["switches_counted_ratio"])
        self.assertEqual(self.row(res, "ctxswitch")["verdict"], "higher")
        self.assertEqual(compare.slower_beyond(res, 0.0), [])

    def test_overlapping_repetitions_are_no_significant_change(self):
        new = [301.0, 300.25, 302.5, 299.5, 300.75, 301.75]
        r = self.row(self.result(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                                 lambda b: b.case_reps("fanin", "wait_ns", new, **FAN)), "fanin")
        self.assertEqual(r["verdict"], "no significant change")
        self.assertGreaterEqual(r["p_value"], 0.05)

    def test_significant_but_below_min_effect_is_no_change(self):
        new = [v * 1.02 for v in BASE_WAIT]  # every one above every base value, by 2%
        mk = (lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
              lambda b: b.case_reps("fanin", "wait_ns", new, **FAN))
        r = self.row(self.result(*mk), "fanin")
        self.assertLess(r["p_value"], 0.05)
        self.assertEqual(r["verdict"], "no significant change")
        self.assertIn("min-effect", r["note"])
        r = self.row(self.result(*mk, min_effect=0.01), "fanin")
        self.assertEqual(r["verdict"], "slower")

    def test_identical_values_give_p_1(self):
        ones = [1.0] * 5
        res = self.result(lambda b: b.case_reps("fanin", "events_per_wait", ones, **FAN),
                          lambda b: b.case_reps("fanin", "events_per_wait", ones, **FAN),
                          metrics=["events_per_wait"])
        r = self.row(res, "fanin")
        self.assertEqual(r["p_value"], 1.0)
        self.assertEqual(r["verdict"], "no significant change")

    def test_three_against_three_is_too_few(self):
        res = self.result(
            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT[:3], **FAN),
            lambda b: b.case_reps("fanin", "wait_ns", [v * 3 for v in BASE_WAIT[:3]], **FAN))
        r = self.row(res, "fanin")
        self.assertEqual(r["verdict"], "too few repetitions")
        self.assertTrue(r["p_value"] != r["p_value"])  # NaN: no p-value printed
        self.assertIn("0.1", r["note"])
        self.assertTrue(any("TOO FEW REPETITIONS" in s for s in res["scope"]))

    def test_smallest_p(self):
        self.assertAlmostEqual(compare.smallest_p(3, 3), 0.1)
        self.assertAlmostEqual(compare.smallest_p(5, 5), 2 / 252)
        self.assertLess(compare.smallest_p(4, 4), 0.05)
        self.assertGreater(compare.smallest_p(2, 20), 0.0)

    def test_rows_without_repetitions_are_not_tested(self):
        res = self.result(lambda b: b.case("fanin", "wait_ns", 300, **FAN),
                          lambda b: b.case("fanin", "wait_ns", 600, **FAN))
        r = self.row(res, "fanin")
        self.assertEqual(r["verdict"], "not tested")
        self.assertIn("per-repetition", r["note"])
        self.assertAlmostEqual(r["ratio"], 2.0)

    def test_derived_rows_are_not_tested(self):
        res = self.result(
            lambda b: b.derived("fanin", "wait_ns_per_fd", 0.5, "fit over 1..1000",
                                poller="epoll"),
            lambda b: b.derived("fanin", "wait_ns_per_fd", 1.0, "fit over 1..1000",
                                poller="epoll"),
            metrics=["wait_ns_per_fd"])
        self.assertEqual(self.row(res, "fanin")["verdict"], "not tested")

    def test_sorted_by_effect_size(self):
        def rows(scale):
            def make(b):
                for fds, s in ((1, 1.1), (10, 3.0), (100, 1.5)):
                    b.case_reps("fanin", "wait_ns", [v * (s if scale else 1) for v in BASE_WAIT],
                                **dict(FAN, fds=fds))
            return make
        res = self.result(rows(False), rows(True))
        self.assertEqual([round(r["ratio"], 3) for r in res["rows"]], [3.0, 1.5, 1.1])


class Matching(Base):
    def test_cases_in_one_file_only_are_listed_with_the_reason(self):
        def base(b):
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN)
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **dict(FAN, fds=1000))
        def new(b):
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN)
            b.skipped("fanin", "backend unavailable: io_uring_setup: EPERM",
                      **dict(FAN, fds=1000))
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **dict(FAN, fds=10))
        res = self.result(base, new)
        self.assertEqual(len(res["rows"]), 1)
        self.assertEqual(len(res["only_base"]), 1)
        self.assertIn("fds:1000", res["only_base"][0][0])
        self.assertIn("skipped in NEW", res["only_base"][0][1])
        self.assertIn("EPERM", res["only_base"][0][1])
        self.assertEqual(len(res["only_new"]), 1)
        self.assertIn("fds:10/", res["only_new"][0][0])

    def test_cases_match_on_every_parameter(self):
        def base(b):
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN)
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **dict(FAN, fds=1))
        def new(b):
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **dict(FAN, position="last"))
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **dict(FAN, fds=1))
        res = self.result(base, new)
        self.assertEqual([r["fds"] for r in res["rows"]], [1])
        self.assertEqual(len(res["only_base"]), 1)
        self.assertEqual(len(res["only_new"]), 1)

    def test_headline_metric_by_default_others_on_request(self):
        def rows(b):
            b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN)
            b.case_reps("fanin", "event_ns", BASE_WAIT, **FAN)
        self.assertEqual([r["metric"] for r in self.result(rows, rows)["rows"]], ["wait_ns"])
        got = {r["metric"] for r in self.result(rows, rows, metrics="all")["rows"]}
        self.assertEqual(got, {"wait_ns", "event_ns"})
        got = {r["metric"] for r in self.result(rows, rows, metrics=["event_ns"])["rows"]}
        self.assertEqual(got, {"event_ns"})


class Environment(Base):
    def test_same_machine_says_so(self):
        res = self.result(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                          lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN))
        self.assertEqual(res["env"], [])
        self.assertIn("Same machine", res["scope"][0])

    def test_other_machine_kernel_and_build_are_named_at_the_top(self):
        bp, np_ = self.pair(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                            new_env=dict(cpu_model="Other CPU", kernel="6.9.0",
                                         git_revision="abc123", governor="performance"))
        rc, out, err = run_main([bp, np_])
        self.assertEqual(rc, 0, err)
        head = out.split("Environment differences")[0]
        for word in ("ACROSS MACHINES", "cpu_model", "ACROSS KERNELS", "ACROSS BUILDS",
                     "git_revision", "governor"):
            self.assertIn(word, head)
        self.assertIn("Other CPU", out)

    def test_mitigations_are_kernel_differences(self):
        diff = compare.env_diff({"vuln.spectre_v2": "Mitigation: IBRS"},
                                {"vuln.spectre_v2": "Vulnerable"})
        self.assertEqual(diff, [("kernel", "vuln.spectre_v2", "Mitigation: IBRS", "Vulnerable")])
        self.assertIn("ACROSS KERNELS", compare.scope_notes(diff)[0])

    def test_an_item_in_one_run_only_is_a_difference(self):
        diff = compare.env_diff({"microcode": "0x1"}, {})
        self.assertEqual(diff, [("kernel", "microcode", "0x1", "(absent)")])


class CommandLine(Base):
    def files(self, factor=2.0):
        return self.pair(
            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
            lambda b: b.case_reps("fanin", "wait_ns", [v * factor for v in BASE_WAIT], **FAN))

    def test_slower_without_threshold_exits_0(self):
        rc, out, err = run_main(list(self.files()))
        self.assertEqual(rc, compare.EXIT_OK, err)
        self.assertIn("slower", out)

    def test_slower_beyond_threshold_exits_1(self):
        rc, _, err = run_main(list(self.files()) + ["--threshold", "10%"])
        self.assertEqual(rc, compare.EXIT_SLOWER)
        self.assertIn("slower by more than 10%", err)

    def test_slower_within_threshold_exits_0(self):
        rc, _, err = run_main(list(self.files(1.5)) + ["--threshold", "0.6"])
        self.assertEqual(rc, compare.EXIT_OK, err)

    def test_faster_beyond_threshold_exits_0(self):
        rc, _, err = run_main(list(self.files(0.5)) + ["--threshold", "0"])
        self.assertEqual(rc, compare.EXIT_OK, err)

    def test_missing_file_exits_3(self):
        bp, _ = self.files()
        rc, _, err = run_main([bp, os.path.join(self.tmp, "absent.csv")])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("no such file", err)

    def test_not_a_muxbench_csv_exits_3(self):
        bp, _ = self.files()
        other = self.write("other.csv", "name,real_time,cpu_time\nBM_x,1,1\n")
        rc, _, err = run_main([bp, other])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("not a muxbench CSV", err)
        js = self.write("x.gbench.json", '{"benchmarks": []}\n')
        rc, _, err = run_main([js, bp])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("JSON", err)

    def test_incompatible_files_exit_3(self):
        bp, np_ = self.pair(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                            lambda b: b.case_reps("ctxswitch", "switch_ns", BASE_WAIT, **SWITCH))
        rc, _, err = run_main([bp, np_])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("no case in common", err)
        self.assertIn("BASE: fanin", err)

    def test_bad_usage_exits_2(self):
        bp, np_ = self.files()
        for args, text in (([bp], "required"), ([bp, np_, "--alpha", "2"], "--alpha"),
                           ([bp, np_, "--alpha", "x"], "not a number"),
                           ([bp, np_, "--alpha", "0"], "between 0 and 1"),
                           ([bp, np_, "--threshold", "-1"], "0 or more"),
                           ([bp, np_, "--metric", "nope"], "unknown metric"),
                           ([bp, np_, "--metric", ","], "--metric"),
                           ([bp, np_, "--out", "x.txt"], ".md"),
                           ([bp, np_, "--bogus"], "unrecognized")):
            rc, out, err = run_main(args)
            self.assertEqual(rc, compare.EXIT_USAGE, (args, err))
            self.assertIn(text, err, args)
            self.assertIn("usage: muxbench compare", err)
            self.assertEqual(out, "")

    def test_out_markdown(self):
        bp, np_ = self.files()
        md = os.path.join(self.tmp, "cmp.md")
        rc, _, err = run_main([bp, np_, "--out", md])
        self.assertEqual(rc, 0, err)
        with open(md) as f:
            text = f.read()
        self.assertIn("| case | metric | base | new | new/base | p | n | verdict |", text)
        self.assertIn("| slower |", text)

    def test_out_csv(self):
        bp, np_ = self.files()
        path = os.path.join(self.tmp, "cmp.csv")
        rc, _, err = run_main([bp, np_, "--out", path])
        self.assertEqual(rc, 0, err)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["verdict"], "slower")
        self.assertAlmostEqual(float(rows[0]["ratio"]), 2.0)
        self.assertEqual(rows[0]["base_n"], "6")
        self.assertEqual(rows[0]["fds"], "100")

    def test_unwritable_out_exits_3(self):
        bp, np_ = self.files()
        rc, _, err = run_main([bp, np_, "--out", os.path.join(self.tmp, "no", "x.md")])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("cannot write", err)


class Pooling(Base):
    """Several runs a side (BASE1.csv,BASE2.csv NEW1.csv,NEW2.csv): repetitions pooled."""

    def run_file(self, name, run, values, host="synthetic", **env):
        b = builder(run=run, host=host, **env)
        b.case_reps("fanin", "wait_ns", values, **FAN)
        b.complete()
        return b.write(os.path.join(self.tmp, name))

    def sides(self, new_factor=1.0, **second_base_env):
        a1 = self.run_file("a1.csv", "20261122T010000Z-synthetic-1", BASE_WAIT[:3])
        a2 = self.run_file("a2.csv", "20261122T010100Z-synthetic-2", BASE_WAIT[3:],
                           **second_base_env)
        n1 = self.run_file("n1.csv", "20261122T010200Z-synthetic-3",
                           [v * new_factor for v in BASE_WAIT[:3]])
        n2 = self.run_file("n2.csv", "20261122T010300Z-synthetic-4",
                           [v * new_factor for v in BASE_WAIT[3:]])
        return a1 + "," + a2, n1 + "," + n2

    def test_repetitions_of_the_runs_of_a_side_are_pooled(self):
        base, new = self.sides(2.0)
        r = self.row(compare.compare(compare._load(base), compare._load(new, "NEW")),
                     "fanin/epoll")
        self.assertEqual((r["base_n"], r["new_n"]), (6, 6))
        self.assertEqual(r["base_median"], compare._median(BASE_WAIT))
        want = mannwhitneyu([v * 2.0 for v in BASE_WAIT], BASE_WAIT, alternative="two-sided")
        self.assertAlmostEqual(r["p_value"], want.pvalue)
        self.assertEqual(r["verdict"], "slower")

    def test_three_against_three_alone_is_too_few_but_pooled_is_tested(self):
        base, new = self.sides(2.0)
        alone = self.row(compare.compare(compare._load(base.split(",")[0]),
                                         compare._load(new.split(",")[0])), "fanin/epoll")
        self.assertEqual(alone["verdict"], "too few repetitions")
        rc, out, err = run_main([base, new])
        self.assertEqual(rc, compare.EXIT_OK, err)
        self.assertIn("6/6", out)

    def test_a_missing_file_in_a_list_exits_3_naming_it(self):
        base, new = self.sides()
        gone = os.path.join(self.tmp, "gone.csv")
        rc, _, err = run_main([base + "," + gone, new])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn(gone, err)
        self.assertIn("no such file", err)

    def test_an_empty_list_is_bad_usage(self):
        base, _ = self.sides()
        rc, _, err = run_main([base, ","])
        self.assertEqual(rc, compare.EXIT_USAGE)
        self.assertIn("names no CSV", err)

    def test_runs_of_one_side_from_two_machines_exit_3(self):
        base, new = self.sides(cpu_model="Another CPU")
        rc, _, err = run_main([base, new])
        self.assertEqual(rc, compare.EXIT_FILES)
        self.assertIn("BASE", err)
        self.assertIn("cpu_model", err)
        self.assertIn("one configuration", err)

    def test_runs_of_one_side_with_other_settings_warn(self):
        base, new = self.sides(governor="powersave")
        rc, _, err = run_main([base, new])
        self.assertEqual(rc, compare.EXIT_OK, err)
        self.assertIn("warning", err)
        self.assertIn("governor", err)

    def test_a_file_with_a_comma_in_its_name_is_one_file(self):
        odd = self.run_file("a,1.csv", "20261122T010000Z-synthetic-1", BASE_WAIT)
        self.assertEqual(compare.side_paths(odd), [odd])
        r = self.row(compare.compare(compare._load(odd), compare._load(odd, "NEW")),
                     "fanin/epoll")
        self.assertEqual((r["base_n"], r["new_n"]), (6, 6))

    def test_one_file_a_side_is_unchanged(self):
        bp, np_ = self.pair(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                            lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN))
        r = self.row(compare.compare(compare._load(bp), compare._load(np_)), "fanin/epoll")
        self.assertEqual((r["base_n"], r["new_n"]), (6, 6))
        self.assertEqual(r["verdict"], "no significant change")


class Loader(Base):
    def test_repetition_rows_load_and_headline_reads_pick_the_median(self):
        bp, _ = self.pair(lambda b: b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN),
                          lambda b: None)
        ds = data.load(bp)
        st = ds.stats("fanin", "wait_ns")
        self.assertEqual(len(st), 1)
        self.assertAlmostEqual(st["median"].iloc[0], 300.875)
        self.assertEqual(len(st["lines"].iloc[0]), 6)  # the summary rows only
        reps = ds.repetitions("fanin", "wait_ns")
        self.assertEqual(sorted(reps["rep"]), [1, 2, 3, 4, 5, 6])

    def test_a_malformed_repetition_stat_is_refused(self):
        for bad in ("rep0", "rep", "rep01", "repx"):
            b = builder()
            b.case_reps("fanin", "wait_ns", BASE_WAIT[:2], **FAN)
            b.rows[-1]["stat"] = bad
            path = b.write(os.path.join(self.tmp, "bad.csv"))
            with self.assertRaises(data.CSVError) as cm:
                data.load(path)
            self.assertIn(repr(bad), str(cm.exception))


def two_host_csvs(tmp):
    """Two runs of the same cases on hosts 'alpha' and 'beta', beta 2x slower at fds=100."""
    paths = []
    for i, host in enumerate(("alpha", "beta")):
        b = CsvBuilder(run_id="20261122T01403%dZ-%s-1" % (i, host), host=host)
        standard_env(b)
        for fds in (1, 100):
            scale = 2.0 if host == "beta" and fds == 100 else 1.0
            b.case_reps("fanin", "wait_ns", [v * scale for v in BASE_WAIT], **dict(FAN, fds=fds))
        b.case_reps("ctxswitch", "switch_ns", [2600, 2610, 2590, 2620, 2605], **SWITCH)
        b.complete()
        paths.append(b.write(os.path.join(tmp, "%s.csv" % host)))
    return paths


class Report(TempDirCase):
    def test_plot_colours_significant_bars_and_greys_the_rest(self):
        base, new = two_host_csvs(self.tmp)
        res = compare.compare(data.load(base), data.load(new))
        fig = compare.plot(res, base, new)
        bars = fig.axes[0].patches
        by_ratio = {round(r["ratio"], 3): r["verdict"] for r in res["rows"]}
        self.assertEqual(len(bars), len(res["rows"]))
        from matplotlib.colors import to_hex
        colours = sorted(to_hex(b.get_facecolor()) for b in bars)
        self.assertEqual(by_ratio[2.0], "slower")
        self.assertEqual(colours.count(compare.SIGNIFICANT_COLORS["slower"]), 1)
        self.assertEqual(colours.count(compare.GREY), len(bars) - 1)

    def test_two_csvs_add_compare_png_and_md(self):
        from muxbench_analysis import report
        base, new = two_host_csvs(self.tmp)
        out = os.path.join(self.tmp, "report")
        os.makedirs(out)
        with open(os.path.join(out, "claims.md"), "w") as f:
            f.write("# claims\n")
        log = io.StringIO()
        self.assertTrue(report.add_comparisons([base, new], data.load([base, new]), out, log))
        with open(os.path.join(out, "compare.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(os.path.join(out, "compare.md")) as f:
            self.assertIn("ACROSS MACHINES", f.read())
        self.assertIn(os.path.join(out, "compare.png"), report.expected_outputs(out, 2))
        self.assertNotIn(os.path.join(out, "compare.png"), report.expected_outputs(out, 3))

    def test_incomparable_csvs_fail_the_report(self):
        from muxbench_analysis import report
        b = builder()
        b.case_reps("fanin", "wait_ns", BASE_WAIT, **FAN)
        n = builder(run="20261122T020000Z-synthetic-2")
        n.case_reps("ctxswitch", "switch_ns", BASE_WAIT, **SWITCH)
        paths = [b.write(os.path.join(self.tmp, "a.csv")), n.write(os.path.join(self.tmp, "b.csv"))]
        log = io.StringIO()
        self.assertFalse(report.add_comparisons(paths, data.load(paths), self.tmp, log))
        self.assertIn("no case in common", log.getvalue())

    def test_claims_md_gets_a_verdict_per_host(self):
        from muxbench_analysis import claims, hosts
        paths = two_host_csvs(self.tmp)
        text = hosts.claims_by_host(data.load(paths))
        self.assertIn("| claim | alpha | beta |", text)
        ids = [v.claim_id for v in claims.evaluate(data.load(paths[0]))]
        for cid in ids:
            self.assertIn("**%s**" % cid, text)
        self.assertEqual(hosts.claims_by_host(data.load(paths[0])), "")
        md = claims.to_markdown(claims.evaluate(data.load(paths)), data.load(paths))
        self.assertIn("## Verdicts per host", md)
        self.assertIn("| claim | alpha | beta |", md)
        one = data.load(paths[0])
        self.assertNotIn("Verdicts per host", claims.to_markdown(claims.evaluate(one), one))

    def test_every_plot_has_one_panel_per_host(self):
        from matplotlib.colors import to_hex
        from muxbench_analysis import hosts, plots
        ds = data.load(two_host_csvs(self.tmp))
        self.assertEqual([h for h, _ in hosts.split(ds)], ["alpha", "beta"])
        for name, (fn, _) in plots.PLOTS.items():
            fig = getattr(plots, fn)(ds)
            titles = [ax.get_title() for ax in fig.axes]
            self.assertEqual(titles, ["host alpha", "host beta"], name)
            self.assertNotEqual(to_hex(fig.axes[0].title.get_color()),
                                to_hex(fig.axes[1].title.get_color()), name)

    def test_one_host_plots_are_unchanged(self):
        from muxbench_analysis import plots
        ds = data.load(two_host_csvs(self.tmp)[0])
        fig = plots.ctxswitch(ds)
        self.assertNotIn("host alpha", [ax.get_title() for ax in fig.axes])


if __name__ == "__main__":
    unittest.main()
