"""The loader: a valid muxbench CSV loads; anything else fails with a clear message."""
import os
import time
import unittest

from tests.helpers import TempDirCase
from tests.make_fixture import CsvBuilder, make_synthetic, standard_env

from muxbench_analysis import CSVError, cite, load, newest_csv
from muxbench_analysis.schema import COLUMNS
from tests.csv_header import header_problems

HEADER = ",".join(COLUMNS)


def small():
    b = CsvBuilder()
    standard_env(b)
    b.case("fanin", "wait_ns", 1000.0, poller="epoll", fds=10, active=1)
    b.complete()
    return b


class LoadValid(TempDirCase):
    def test_synthetic_loads_complete(self):
        ds = load(make_synthetic().write(os.path.join(self.tmp, "s.csv")))
        self.assertEqual(ds.warnings, [])
        self.assertTrue(all(ds.complete.values()))
        self.assertIn("6.1.0-synthetic", ds.caption())
        self.assertIn("Synthetic CPU", ds.caption())
        st = ds.stats("fanin", "wait_ns", poller="poll", fds=1000.0, position="spread",
                      active=1.0)
        self.assertEqual(len(st), 1)
        self.assertGreater(st["median"].iloc[0], 50000)
        self.assertLessEqual(st["min"].iloc[0], st["median"].iloc[0])

    def test_partial_run_loads_with_a_warning(self):
        ds = load(make_synthetic(quick=True, partial=True).write(
            os.path.join(self.tmp, "x.partial.csv")))
        self.assertFalse(all(ds.complete.values()))
        self.assertTrue(any("run_complete" in w for w in ds.warnings))
        self.assertIn("INCOMPLETE", ds.caption())

    def test_several_files_combine(self):
        a = make_synthetic(quick=True, omit=("memory",)).write(os.path.join(self.tmp, "a.csv"))
        b = CsvBuilder(run_id="20261122T020000Z-synthetic-1", start="2026-11-22T02:00:00Z")
        standard_env(b)
        b.case("memory", "vsz_per_unit_bytes", 8e6, variant="thread", units=10)
        b.complete()
        ds = load([a, b.write(os.path.join(self.tmp, "b.csv"))])
        self.assertEqual(len(ds.files), 2)
        self.assertEqual(len(ds.stats("memory", "vsz_per_unit_bytes")), 1)
        self.assertGreater(len(ds.stats("fanin", "wait_ns")), 10)

    def test_same_run_twice_is_left_out(self):
        a = small().write(os.path.join(self.tmp, "a.csv"))
        ds = load([a, a])
        self.assertEqual(len(ds.files), 1)
        self.assertTrue(any("already loaded" in w for w in ds.warnings))

    def test_quoted_note_with_comma_and_newline(self):
        b = small()
        b.skipped("fanin", 'kqueue: "unavailable",\nnot a BSD', poller="kqueue")
        b.case("fanin", "wait_ns", 2000.0, poller="poll", fds=10, active=1)
        path = b.write(os.path.join(self.tmp, "q.csv"))
        ds = load(path)
        sk = ds.skipped("fanin")
        self.assertEqual(sk["note"].iloc[0], 'kqueue: "unavailable",\nnot a BSD')
        # line numbers count physical lines: the note spans two
        st = ds.stats("fanin", "wait_ns", poller="poll")
        first = min(n for _, n in st["lines"].iloc[0])
        with open(path) as f:
            self.assertIn(",poll,", f.read().split("\n")[first - 1])

    def test_unknown_workload_is_left_out_with_a_warning(self):
        text = small().text().replace(",fanin,", ",sleepwait,", 1)
        ds = load(self.write("u.csv", text))
        self.assertTrue(any("sleepwait" in w for w in ds.warnings))

    def test_extra_column_at_the_end_is_accepted(self):
        lines = small().text().splitlines()
        text = "\n".join([lines[0] + ",future"] + [ln + ",x" for ln in lines[1:]]) + "\n"
        ds = load(self.write("f.csv", text))
        self.assertEqual(ds.warnings, [])

    def test_newest_csv_leaves_out_partial(self):
        a = self.write("2026-a.csv", small().text())
        time.sleep(0.01)
        b = self.write("2026-b.partial.csv", small().text())
        os.utime(a, (1, 1))
        self.assertEqual(newest_csv(self.tmp), a)
        self.assertTrue(os.path.exists(b))
        os.remove(a)
        self.assertIsNone(newest_csv(self.tmp))

    def test_lenient_where_the_contract_is_loose(self):
        b = small()
        for r in b.rows:
            if r["stat"] == "cv":
                r["unit"] = "ns"          # the metric's unit on a cv row
        b.derived("fanin", "wait_ns_per_fd", 0.5, "fit", poller="epoll")
        b.rows[-1]["stat"] = ""           # a derived row without a stat
        ds = load(b.write(os.path.join(self.tmp, "l.csv")))
        self.assertEqual(len(ds.stats("fanin", "wait_ns_per_fd", status="derived")), 1)

    def test_a_case_in_two_runs_keeps_the_newest(self):
        old = small().write(os.path.join(self.tmp, "old.csv"))
        b = CsvBuilder(run_id="newer", start="2026-11-23T00:00:00Z")
        standard_env(b)
        b.case("fanin", "wait_ns", 3000.0, poller="epoll", fds=10, active=1)
        b.complete()
        ds = load([old, b.write(os.path.join(self.tmp, "new.csv"))])
        st = ds.stats("fanin", "wait_ns", poller="epoll")
        self.assertEqual(len(st), 1)
        self.assertEqual(st["median"].iloc[0], 3000.0)
        self.assertEqual(st["run_id"].iloc[0], "newer")

    def test_cite_makes_ranges(self):
        self.assertEqual(cite([("d/x.csv", 3), ("d/x.csv", 4), ("d/x.csv", 5), ("d/x.csv", 9)]),
                         "x.csv lines 3-5, 9")


class EchoComparison(TempDirCase):
    def test_agent_rows_are_left_out_of_the_closed_loop_comparison(self):
        from muxbench_analysis import schema
        b = CsvBuilder()
        standard_env(b)
        for clients, agents, rps in (("local", "", 100e3), ("10.0.0.2:7100", 1, 150e3),
                                     ("netns", 2, 90e3)):
            b.case("echo", "req_per_s", rps, poller="epoll", variant="coroutine", units=100,
                   transport="veth" if clients == "netns" else "tcp", loop="closed",
                   clients=clients, agents=agents)
        b.complete()
        ds = load(b.write(os.path.join(self.tmp, "a.csv")))
        st = ds.stats("echo", "req_per_s")
        self.assertEqual(len(st), 3)
        kept = schema.closed_loop(st)
        self.assertEqual(list(kept["clients"]), ["local"])
        self.assertEqual(kept["median"].iloc[0], 100e3)


class LoadErrors(TempDirCase):
    """Each bad file fails with a CSVError naming the file and what is wrong."""

    def assertFails(self, path, *fragments):
        with self.assertRaises(CSVError) as cm:
            load(path)
        msg = str(cm.exception)
        self.assertIn(os.path.basename(path), msg)
        for frag in fragments:
            self.assertIn(frag, msg)
        return msg

    def test_empty_file(self):
        self.assertFails(self.write("e.csv", ""), "is empty (0 bytes)")

    def test_blank_file(self):
        self.assertFails(self.write("e.csv", "\n\n  \n"), "is empty")

    def test_header_only(self):
        self.assertFails(self.write("h.csv", HEADER + "\n"), "has a header but no rows")

    def test_missing_file(self):
        self.assertFails(os.path.join(self.tmp, "nope.csv"), "no such file")

    def test_directory(self):
        os.mkdir(os.path.join(self.tmp, "d.csv"))
        self.assertFails(os.path.join(self.tmp, "d.csv"), "is a directory")

    def test_google_benchmark_csv(self):
        text = ("name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,"
                "label,error_occurred,error_message\n"
                '"BM_wait/10",1000,1200,1100,ns,,,,,\n')
        self.assertFails(self.write("g.csv", text), "not a muxbench CSV",
                         "Google Benchmark")

    def test_google_benchmark_json(self):
        self.assertFails(self.write("g.csv", '{\n  "context": {},\n  "benchmarks": []\n}\n'),
                         "is JSON")

    def test_another_tools_csv(self):
        text = "date,open,high,low,close\n2026-01-02,1,2,0.5,1.5\n"
        self.assertFails(self.write("o.csv", text), "none of the muxbench columns",
                         "date, open")

    def test_some_columns_missing(self):
        import csv
        import io
        rows = list(csv.reader(io.StringIO(small().text())))
        buf = io.StringIO()
        csv.writer(buf).writerows(r[:-2] for r in rows)  # drop status and note
        self.assertFails(self.write("m.csv", buf.getvalue()), "lacks the columns",
                         "status", "note")

    def test_binary(self):
        self.assertFails(self.write("b.csv", b"\x00\x01\x02PK\x03\x04", "wb"), "binary")

    def test_ragged_row(self):
        text = small().text().splitlines()
        text[3] = text[3] + ",extra,cells"
        msg = self.assertFails(self.write("r.csv", "\n".join(text) + "\n"), "fields",
                               "header has %d" % len(COLUMNS))
        self.assertIn("r.csv:4", msg)

    def test_truncated_row(self):
        text = small().text()
        self.assertFails(self.write("t.csv", text[:-40]), "fields")

    def test_unknown_metric(self):
        text = small().text().replace(",wait_ns,", ",wait_ms,")
        self.assertFails(self.write("u.csv", text), "no metric 'wait_ms'", "wait_ns")

    def test_bad_stat(self):
        text = small().text().replace(",median,", ",average,", 1)
        self.assertFails(self.write("s.csv", text), "stat 'average'")

    def test_value_not_a_number(self):
        b = small()
        b.rows[-2]["value"] = "fast"
        self.assertFails(b.write(os.path.join(self.tmp, "v.csv")), "'fast'",
                         "not a number")

    def test_unit_mismatch(self):
        b = small()
        for r in b.rows:
            if r["metric"] == "wait_ns" and r["stat"] == "median":
                r["unit"] = "us"
        self.assertFails(b.write(os.path.join(self.tmp, "u.csv")), "unit 'us'",
                         "docs/csv.md says 'ns'")

    def test_measured_row_without_value(self):
        b = small()
        for r in b.rows:
            if r["metric"] == "wait_ns" and r["stat"] == "median":
                r["value"] = ""
        self.assertFails(b.write(os.path.join(self.tmp, "n.csv")), "needs a value")

    def test_cv_of_a_zero_mean_is_empty(self):
        b = small()
        for r in b.rows:
            if r["metric"] == "wait_ns" and r["stat"] == "cv":
                r["value"] = ""           # undefined when the mean is 0 (docs/csv.md)
        load(b.write(os.path.join(self.tmp, "cv.csv")))
        for r in b.rows:
            if r["metric"] == "wait_ns" and r["stat"] == "mean":
                r["value"] = ""           # but every other statistic needs its value
        self.assertFails(b.write(os.path.join(self.tmp, "mean.csv")), "needs a value")

    def test_bad_status(self):
        text = small().text().replace(",ok,", ",fine,", 1)
        self.assertFails(self.write("st.csv", text), "status 'fine'")

    def test_two_runs_in_one_file(self):
        b = small()
        b.rows[-2]["run_id"] = "another-run"
        self.assertFails(b.write(os.path.join(self.tmp, "two.csv")), "mixes 2 run_ids")

    def test_many_problems_are_listed(self):
        text = small().text().replace(",ns,", ",parsec,")
        msg = self.assertFails(self.write("many.csv", text), "rows break the contract")
        self.assertIn("line ", msg)


class HeaderCheck(unittest.TestCase):
    """tests/csv_header.py (the CTest analysis.csv_header, on a real run's CSV) names each way
    a header can differ from schema.COLUMNS."""
    def test_equal(self):
        self.assertEqual(header_problems(COLUMNS, COLUMNS), [])

    def test_missing_column(self):
        (p,) = header_problems(COLUMNS[:-1], COLUMNS)
        self.assertIn("lacks: %s" % COLUMNS[-1], p)

    def test_extra_column(self):
        (p,) = header_problems(COLUMNS + ("new_param",), COLUMNS)
        self.assertIn("schema.py lacks", p)
        self.assertIn("new_param", p)

    def test_other_order(self):
        h = list(COLUMNS)
        h[9], h[10] = h[10], h[9]
        (p,) = header_problems(h, COLUMNS)
        self.assertIn("column 10 is %r in the CSV, %r in schema.py" % (h[9], COLUMNS[9]), p)

    def test_duplicate_column(self):
        h = list(COLUMNS)
        h[1] = h[0]
        problems = header_problems(h, COLUMNS)
        self.assertTrue(any("twice: %s" % h[0] in p for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
