"""Loading muxbench CSVs: check them against the contract, type them, and select from them.

    ds = load("results/x.csv")                 # or load(["a.csv", "b.csv"])
    ds.stats("fanin", "wait_ns", poller="epoll")   # one row per case: median, min, max, cv, ...
    ds.caption()                               # "kernel 6.1.0 | Intel Xeon | 2 CPUs | ..."

A file that is not a muxbench CSV (empty, malformed, another tool's) raises CSVError, whose
message names the file, the line and what is wrong.
"""
import csv
import glob
import math
import os
from dataclasses import dataclass, field

import pandas as pd

from . import schema

MAX_PROBLEMS = 12


class CSVError(ValueError):
    """A file that is not a valid muxbench CSV. str() is the message to show the user."""

    def __init__(self, path, message, line=None):
        self.path, self.line, self.message = path, line, message
        where = path if line is None else "%s:%d" % (path, line)
        super().__init__("%s: %s" % (where, message))


def _hint_for_header(header):
    h = [c.strip().lower() for c in header]
    if "name" in h and ("real_time" in h or "cpu_time" in h):
        return (" It looks like Google Benchmark's own CSV reporter output; muxbench writes "
                "its CSV itself (muxbench run --out F.csv), see docs/csv.md.")
    return ""


def _read_records(path):
    """(header, [(line_number, record), ...]) through the csv module (RFC 4180 quoting)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CSVError(path, "no such file") from None
    except IsADirectoryError:
        raise CSVError(path, "is a directory, not a CSV file") from None
    except OSError as e:
        raise CSVError(path, "cannot be read: %s" % e.strerror) from None
    if not raw.strip():
        raise CSVError(path, "is empty (%d bytes): no header and no rows, so not a muxbench CSV "
                             "(an interrupted run leaves <name>.partial.csv instead)" % len(raw))
    if b"\0" in raw[:65536]:
        raise CSVError(path, "is binary data, not a CSV (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CSVError(path, "is not UTF-8 text (byte %d), so not a muxbench CSV" % e.start)
    first = text.lstrip()[:1]
    if first in ("{", "["):
        raise CSVError(path, "is JSON, not CSV (Google Benchmark's <name>.gbench.json?); "
                             "pass the muxbench .csv written beside it")
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    records = []
    try:
        header = next(reader)
    except csv.Error as e:
        raise CSVError(path, "malformed CSV header: %s" % e, 1) from None
    _check_header(path, header)
    try:
        line = reader.line_num
        for rec in reader:
            if rec:  # a blank line is not a row
                records.append((line + 1, rec))
            line = reader.line_num
    except csv.Error as e:
        raise CSVError(path, "malformed CSV: %s" % e, reader.line_num) from None
    return header, records


def _check_header(path, header):
    cols = [c.strip() for c in header]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise CSVError(path, "the header repeats columns %s" % ", ".join(dup), 1)
    missing = [c for c in schema.CORE_COLUMNS if c not in cols]
    if missing:
        if len(missing) == len(schema.CORE_COLUMNS):
            what = "has none of the muxbench columns, so it is not a muxbench CSV " \
                   "(another tool's file?)"
        else:
            what = "is not a muxbench CSV: it lacks the column%s %s" % (
                "s" if len(missing) > 1 else "", ", ".join(missing))
        shown = ", ".join(cols[:8]) + (", ..." if len(cols) > 8 else "")
        raise CSVError(path, "%s. Its header is: %s. The columns are listed in docs/csv.md.%s"
                       % (what, shown, _hint_for_header(cols)), 1)
    return cols


def _num(text):
    text = text.strip()
    if text == "":
        return math.nan
    v = float(text)  # ValueError for anything that is not a number
    if math.isnan(v):
        raise ValueError(text)
    return v


def _load_one(path):
    header, records = _read_records(path)
    cols = [c.strip() for c in header]
    warnings = []
    absent = [c for c in schema.COLUMNS if c not in cols]
    if absent:
        warnings.append("%s: lacks the column%s %s of docs/csv.md; taken as empty" % (
            path, "s" if len(absent) > 1 else "", ", ".join(absent)))
    if not records:
        raise CSVError(path, "has a header but no rows: the run wrote nothing")

    problems = []

    def bad(line, msg):
        problems.append((line, msg))

    rows, lines, unknown_workloads = [], [], {}
    for line, rec in records:
        if len(problems) >= MAX_PROBLEMS:
            break
        if len(rec) != len(cols):
            bad(line, "has %d fields where the header has %d (a comma in an unquoted cell, "
                      "or a truncated line?)" % (len(rec), len(cols)))
            continue
        r = {c: v.strip() for c, v in zip(cols, rec)}
        for c in absent:
            r[c] = ""
        status, wl, metric, stat = r["status"], r["workload"], r["metric"], r["stat"]
        if status not in schema.STATUSES:
            bad(line, "status %r is not one of %s" % (status, ", ".join(schema.STATUSES)))
            continue
        if (wl == "env") != (status == "env"):
            bad(line, "workload %r with status %r: environment rows have both 'env'"
                % (wl, status))
            continue
        if wl not in schema.WORKLOADS:
            unknown_workloads[wl] = unknown_workloads.get(wl, 0) + 1
            continue
        typed = dict(r)
        ok = True
        for c in schema.NUMERIC_COLUMNS:
            try:
                typed[c] = _num(r[c])
            except ValueError:
                bad(line, "column %s holds %r, which is not a number" % (c, r[c]))
                ok = False
        if not ok:
            continue
        if status != "env":
            known = schema.METRICS[wl]
            if status in ("ok", "derived", "limit") or metric:
                if metric not in known:
                    bad(line, "workload %s has no metric %r; its metrics are %s"
                        % (wl, metric, ", ".join(known)))
                    continue
            if stat and not schema.is_stat(stat):
                bad(line, "stat %r is not one of %s, rep1, rep2, ..."
                    % (stat, ", ".join(schema.STATS)))
                continue
            if status == "ok" and not stat:
                bad(line, "a measured (ok) row needs a stat")
                continue
            if status in ("ok", "derived", "limit"):
                # a cv is undefined (empty) when the mean is 0, and a stddev and cv when there
                # was one repetition (docs/csv.md)
                if math.isnan(typed["value"]) and not (status == "ok" and
                                                       stat in ("cv", "stddev")):
                    bad(line, "a %s row needs a value (metric %s)" % (status, metric))
                    continue
                # a cv is a ratio whatever the unit cell says (the metric's unit, or none)
                want = ("ratio", known[metric], "") if stat == "cv" else (known[metric],)
                if r["unit"] not in want:
                    bad(line, "metric %s is in unit %r; docs/csv.md says %r"
                        % (metric, r["unit"], known[metric]))
                    continue
        if r["unit"] and r["unit"] not in schema.UNITS:
            bad(line, "unit %r is not one of %s" % (r["unit"], ", ".join(schema.UNITS)))
            continue
        if r["placement"] and r["placement"] not in schema.PLACEMENTS:
            warnings.append("%s:%d: placement %r is not one of the documented ones"
                            % (path, line, r["placement"]))
        rows.append(typed)
        lines.append(line)
    if problems:
        shown = "; ".join("line %d %s" % p for p in problems[:MAX_PROBLEMS])
        more = " (and more)" if len(problems) >= MAX_PROBLEMS else ""
        if len(problems) == 1:
            raise CSVError(path, problems[0][1], problems[0][0])
        raise CSVError(path, "%d rows break the contract of docs/csv.md: %s%s"
                       % (len(problems), shown, more))
    for wl, n in sorted(unknown_workloads.items()):
        warnings.append("%s: %d rows of workload %r, which this analysis does not know, were "
                        "left out (a newer muxbench?)" % (path, n, wl))
    if not rows:
        raise CSVError(path, "has no rows of any workload this analysis knows (%s)"
                       % ", ".join(schema.WORKLOADS))
    df = pd.DataFrame(rows, columns=list(schema.COLUMNS) + [c for c in cols
                                                            if c not in schema.COLUMNS])
    df["_file"] = path
    df["_line"] = lines
    runs = sorted(set(df["run_id"]))
    if len(runs) != 1:
        raise CSVError(path, "mixes %d run_ids (%s): one file holds one run; pass the files "
                             "separately" % (len(runs), ", ".join(runs[:4])))
    complete = bool(((df["metric"] == "run_complete") & (df["status"] == "env")
                     & (df["value"] == 1)).any())
    if not complete:
        warnings.append("%s: no run_complete row, so the run was interrupted (a .partial.csv); "
                        "only the cases that finished are analysed" % path)
    return df, warnings, complete


@dataclass
class Dataset:
    """One or more muxbench runs, checked and typed.

    rows: every row, numbers as floats (NaN where empty), text as str ('' where empty), and
    _file/_line for citing rows. complete: file -> whether its run_complete row is there."""
    rows: pd.DataFrame
    files: list
    warnings: list = field(default_factory=list)
    complete: dict = field(default_factory=dict)

    # ---- selection ------------------------------------------------------------------
    def select(self, workload=None, metric=None, status=("ok",), **filters):
        df = self.rows
        m = pd.Series(True, index=df.index)
        if workload is not None:
            m &= df["workload"] == workload
        if metric is not None:
            m &= df["metric"].isin([metric] if isinstance(metric, str) else list(metric))
        if status is not None:
            m &= df["status"].isin([status] if isinstance(status, str) else list(status))
        for col, want in filters.items():
            if isinstance(want, (list, tuple, set)):
                m &= df[col].isin(list(want))
            elif isinstance(want, float) and math.isnan(want):
                m &= df[col].isna()
            else:
                m &= df[col] == want
        return df[m]

    def stats(self, workload, metric, status=("ok",), **filters):
        """One row per case (the CASE_COLUMNS) with a column per stat (median, mean, min, max,
        stddev, cv, p99; NaN when absent), repetitions, note, and lines: [(file, line)].
        A case measured in several runs keeps the newest run's rows."""
        sel = self.select(workload, metric, status, **filters)
        sel = sel[~sel["stat"].map(lambda s: schema.rep_index(s) is not None)]
        out_cols = list(schema.CASE_COLUMNS) + ["run_id", "timestamp", "metric", "status"] + \
            list(schema.STATS) + ["repetitions", "note", "lines"]
        if sel.empty:
            return pd.DataFrame(columns=out_cols)
        keys = list(schema.CASE_COLUMNS) + ["metric", "status"]
        records = {}
        for r in sel.to_dict("records"):
            key = tuple("nan" if isinstance(r[k], float) and math.isnan(r[k]) else r[k]
                        for k in keys)
            rec = records.get(key)
            if rec is not None and rec["run_id"] != r["run_id"]:
                if r["timestamp"] <= rec["timestamp"]:
                    continue  # an older run's copy of the same case
                rec = None
            if rec is None:
                rec = {k: r[k] for k in keys}
                rec.update(run_id=r["run_id"], timestamp=r["timestamp"], note="", lines=[],
                           repetitions=r["repetitions"])
                rec.update({s: math.nan for s in schema.STATS})
                records[key] = rec
            stat = r["stat"] or "median"
            rec[stat] = r["value"]
            rec["lines"].append((r["_file"], r["_line"]))
            if r["note"] and not rec["note"]:
                rec["note"] = r["note"]
        return pd.DataFrame(list(records.values()), columns=out_cols)

    def repetitions(self, workload=None, metric=None, **filters):
        """The per-repetition rows (stat rep1..repN) of ok cases, with a column rep (1, 2, ...).
        Empty for a file written before muxbench kept them."""
        sel = self.select(workload, metric, ("ok",), **filters)
        idx = sel["stat"].map(schema.rep_index)
        out = sel[idx.notna()].copy()
        out["rep"] = idx[idx.notna()].astype(int)
        return out

    def pollers(self, workload="fanin"):
        return sorted(p for p in set(self.select(workload, status=("ok",))["poller"]) if p)

    def skipped(self, workload=None):
        return self.select(workload, status=("skipped", "error"))

    # ---- environment ----------------------------------------------------------------
    def env(self):
        """{run_id: {item: value or note}} from the environment rows."""
        out = {}
        env = self.rows[self.rows["status"] == "env"]
        for row in env.itertuples(index=False):
            v = row.note if row.note else row.value
            if isinstance(v, float) and not math.isnan(v) and v.is_integer():
                v = int(v)
            out.setdefault(row.run_id, {})[row.metric] = v
        for run in set(self.rows["run_id"]):
            out.setdefault(run, {})
        return out

    def env_value(self, item, default=None):
        vals = [e[item] for e in self.env().values() if item in e]
        return vals[0] if vals else default

    def caption(self):
        """The environment in one line, for the caption of every plot."""
        parts = []
        for run, e in sorted(self.env().items()):
            rows = self.rows[self.rows["run_id"] == run]
            kernel = e.get("kernel") or (rows["kernel"].iloc[0] if len(rows) else "?")
            cpu = e.get("cpu_model") or (rows["cpu_model"].iloc[0] if len(rows) else "?")
            host = rows["host"].iloc[0] if len(rows) else "?"
            cpus = e.get("cpus_online")
            smt = e.get("smt")
            bits = ["kernel %s" % kernel, str(cpu)]
            if cpus is not None:
                bits.append("%s CPUs%s" % (cpus, "" if smt is None else
                                           (", SMT on" if smt else ", SMT off")))
            if e.get("governor"):
                bits.append("governor %s" % str(e["governor"]).split(" (")[0])
            bits.append("host %s" % host)
            files = sorted(set(rows["_file"]))
            incomplete = [f for f in files if not self.complete.get(f, True)]
            bits.append("run %s%s" % (run, " (INCOMPLETE)" if incomplete else ""))
            parts.append(" | ".join(bits))
        return "\n".join(parts)

    def hosts(self):
        return sorted(set(self.rows["host"]))


def load(paths):
    """Load one CSV (a path) or several (a list of paths) into one Dataset."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise CSVError("(no file)", "no CSV given")
    frames, warnings, complete, seen = [], [], {}, {}
    for p in paths:
        df, w, c = _load_one(p)
        run = df["run_id"].iloc[0]
        if run in seen:
            warnings.append("%s: run %s is already loaded from %s; left out"
                            % (p, run, seen[run]))
            continue
        seen[run] = p
        frames.append(df)
        warnings.extend(w)
        complete[p] = c
    rows = pd.concat(frames, ignore_index=True)
    return Dataset(rows=rows, files=list(seen.values()), warnings=warnings, complete=complete)


load_csv = load


def newest_csv(results_dir="results"):
    """The newest complete-or-not muxbench CSV in results_dir, leaving out *.partial.csv."""
    cands = [p for p in glob.glob(os.path.join(results_dir, "*.csv"))
             if not p.endswith(".partial.csv")]
    if not cands:
        return None
    return max(cands, key=lambda p: (os.path.getmtime(p), p))


def csv_paths_from_env(var="MUXBENCH_CSV", results_dir=None):
    """The CSV paths a notebook should read: $MUXBENCH_CSV (several separated by os.pathsep),
    else the newest CSV in results_dir (default: results/ at the top of the repository)."""
    val = os.environ.get(var, "").strip()
    if val:
        return [p for p in val.split(os.pathsep) if p]
    if results_dir is None:
        here = os.path.dirname(os.path.abspath(__file__))
        results_dir = os.path.join(here, "..", "..", "results")
    p = newest_csv(results_dir)
    if p is None:
        raise CSVError(os.path.normpath(results_dir),
                       "no muxbench CSV here: run `make bench POLLER=...` first, or set %s"
                       % var)
    return [p]


def cite(lines, limit=8):
    """[(file, line)] -> 'x.csv lines 3-9, 12' (ranges, a few of them)."""
    by_file = {}
    for f, n in lines:
        by_file.setdefault(f, set()).add(int(n))
    parts = []
    for f in sorted(by_file):
        ns = sorted(by_file[f])
        ranges, start, prev = [], ns[0], ns[0]
        for n in ns[1:] + [None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            ranges.append("%d" % start if start == prev else "%d-%d" % (start, prev))
            if n is not None:
                start = prev = n
        shown = ", ".join(ranges[:limit]) + (", ..." if len(ranges) > limit else "")
        parts.append("%s line%s %s" % (os.path.basename(f), "s" if len(ns) > 1 else "", shown))
    return "; ".join(parts)
