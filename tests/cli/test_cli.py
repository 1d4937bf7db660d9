#!/usr/bin/env python3
"""End-to-end tests of the muxbench command line (standard library only).

    test_cli.py MUXBENCH GROUP

GROUP is one of:
  bad_input   every bad input exits with its documented status and a clear message, and
              nothing is measured or written
  run_csv     a real quick run, parsed with the csv module: columns, metrics, statistics,
              environment rows, the shim overhead figure; the CSV is kept for later tests
              (MUXBENCH_QUICK_CSV, default <build>/quick-run/quick.csv)
  interrupt   SIGINT midway leaves the previous CSV untouched and a partial file of whole
              cases; SIGKILL leaves no file at the target, and the next run tidies up
  ctxswitch   switches counted by the kernel on one cpu, system calls per round trip, a
              cross-cpu handoff reported as wake_ns, coro_overhead_ratio from the two rows it
              divides, the copy and stackless variants; a missing placement is skipped
  echo        the echo workload over epoll and poll: its metrics for the coroutine variant per
              poller and the thread variant once, p50 <= p99, bad unit counts exit 2, and a
              sweep past the fd limit ends with a limit row
  memory      a quick memory run: every metric, and figures that hold logically (a thread's
              virtual size is at least its stack, a coroutine's resident size at least its
              touched depth, resident at most virtual); bad thread and coroutine counts exit 2
  limits      limits reached are data: the map count stops guarded coroutines (memory and
              spawn), RLIMIT_AS stops threads and pooled coroutines; a limit row with
              units_reached, the limit named in its note, exit 0
  spawn       a quick spawn run: create_ns one at a time and in a batch, the churn rate, and
              every churned task counted; bad counts exit 2
Exit status: 0 pass, 1 fail, 77 skip.
"""
import csv
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

MUXBENCH = sys.argv[1] if len(sys.argv) > 1 else "muxbench"
GROUP = sys.argv[2] if len(sys.argv) > 2 else "bad_input"

def load_schema():
    """The CSV contract as data, shared with the analysis package (it imports nothing)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis",
                        "muxbench_analysis", "schema.py")
    spec = importlib.util.spec_from_file_location("muxbench_schema", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = load_schema()
COLUMNS = list(SCHEMA.COLUMNS)
STATS = set(SCHEMA.STATS)
STATUSES = set(SCHEMA.STATUSES)
UNITS = set(SCHEMA.UNITS) | {""}
METRICS = {w: set(m) for w, m in SCHEMA.METRICS.items()}
ENV_KEYS = set(SCHEMA.ENV_ITEMS)

failures = []


def fit_of_nothing(row):
    """memory's derived per-unit fit when every unit count it fits was skipped: its own skip
    row says that no count ran (the counts' rows say why)."""
    return row["status"] == "skipped" and "0 counts ran" in row["note"]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(args, **kw):
    return subprocess.run([MUXBENCH] + args, capture_output=True, text=True, timeout=600, **kw)


def read_csv(path):
    with open(path, newline="") as f:
        reader = csv.reader(f, strict=True)
        rows = list(reader)
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]], rows


# ---- bad input ----------------------------------------------------------------------------

def bad_input():
    tmp = tempfile.mkdtemp(prefix="muxbench-cli-")
    out = os.path.join(tmp, "x.csv")
    cases = [
        # (args, exit status, text the message must contain)
        (["frobnicate"], 2, "valid commands"),
        ([], 2, "usage"),
        (["run", "--workload", "nosuch"], 2, "valid: harness"),
        (["run", "--poller", "nosuch"], 2, "valid: select, poll, epoll"),
        (["run", "--poller", "kqueue-emul"], 2, "unknown poller"),  # test-only, never run
        (["run", "--set", "nosuch=1"], 2, "unknown parameter 'nosuch'"),
        (["run", "--set", "fds=12x"], 2, "not a whole number"),
        (["run", "--set", "fds=0"], 2, "out of range"),
        (["run", "--set", "fds=-5"], 2, "not a whole number"),
        (["run", "--set", "fds=99999999999999999999999"], 2, "not a whole number"),
        (["run", "--set", "stack_bytes=12q"], 2, "size in bytes"),
        (["run", "--set", "placement=moon"], 2, "same-pu"),
        (["run", "--set", "fds"], 2, "key=value"),
        (["run", "--set"], 2, "needs a value"),
        (["run", "--workload", "harness", "--set", "variant=warp"], 2, "c-shim"),
        (["run", "--workload", "harness", "--set", "units=10"], 2,
         "no selected workload takes this parameter"),
        (["run", "--workload", ""], 2, "names no workload"),
        (["run", "--workload", ","], 2, "names no workload"),
        (["run", "--workload", "fanin", "--poller", ""], 2, "names no poller"),
        (["run", "--workload", "fanin", "--set", "fds=auto,10"], 2, "cannot be mixed"),
        (["run", "--workload", "harness", "--set", "variant=auto"], 2, "no automatic value"),
        (["run", "--repetitions", "0"], 2, "--repetitions"),
        (["run", "--repetitions", "2.5"], 2, "whole number"),
        (["run", "--min-time", "abc"], 2, "--min-time"),
        (["run", "--frobnicate"], 2, "unknown option"),
        (["run", "--workload", "harness", "--", "--benchmark_nonsense=1"], 2,
         "unrecognised Google Benchmark flag"),
        (["run", "--workload", "harness", "--", "--benchmark_filter=("], 2,
         "not a valid regular expression"),
        # An unwritable output: exit 3 before any benchmark runs.
        (["run", "--workload", "harness", "--out", "/proc/muxbench-nope/x.csv"], 3,
         "cannot write"),
        (["run", "--workload", "harness", "--out", os.path.join(tmp, "no", "dir", "x.csv")], 3,
         "cannot write"),
        (["run", "--workload", "harness", "--out", tmp], 3, "is a directory"),
    ]
    for args, status, text in cases:
        if args and args[0] == "run" and "--out" not in args:
            args = ["run", "--out", out] + args[1:]
        p = run(args)
        check(p.returncode == status,
              f"{args}: exit {p.returncode}, expected {status}; stderr: {p.stderr.strip()[:300]}")
        check(text in p.stderr, f"{args}: message lacks '{text}': {p.stderr.strip()[:300]}")
        check(re.search(r"\[ *1/", p.stderr) is None, f"{args}: a benchmark ran before the error")
        check(not os.path.exists(out), f"{args}: wrote {out}")
        check(not glob.glob(os.path.join(tmp, ".*tmp*")), f"{args}: left a temporary file")
    # Help and list succeed and say what is there.
    p = run(["run", "--help"])
    check(p.returncode == 0 and "Workloads and their parameters" in p.stdout, "run --help")
    p = run(["list"])
    check(p.returncode == 0, "list exits 0")
    for text in ("epoll", "available", "kqueue", "unavailable", "reason:", "topology:",
                 "placements:", "same-pu", "harness"):
        check(text in p.stdout, f"list mentions {text}")
    check("kqueue-emul" not in p.stdout, "list never shows the test-only emulation")

    # A backend this kernel cannot run: a skipped row with the reason, still a valid CSV; with
    # nothing else to measure the run exits 3.
    unavailable = [line.split()[0] for line in p.stdout.split("workloads:")[0].splitlines()
                   if len(line.split()) > 1 and line.split()[1] == "unavailable"]
    if unavailable:
        backend = unavailable[0]
        skip_out = os.path.join(tmp, "unavailable.csv")
        q = run(["run", "--workload", "fanin", "--poller", backend, "--quick", "--out",
                 skip_out])
        check(q.returncode == 3, f"--poller {backend} alone: exit {q.returncode}, expected 3")
        rows = validate_csv(skip_out)
        fanin = [r for r in rows if r["workload"] == "fanin"]
        check(fanin and all(r["status"] == "skipped" and r["poller"] == backend and
                            "backend unavailable" in r["note"] for r in fanin),
              f"--poller {backend}: skipped rows naming why: {fanin[:1]}")
    else:
        print("every backend runs here; the unavailable-backend case is not exercised")


# ---- a real quick run ---------------------------------------------------------------------

def validate_csv(path, expect_complete=True):
    header, rows, raw = read_csv(path)
    check(header == COLUMNS, f"{path}: columns {header}")
    for i, r in enumerate(raw[1:]):
        if not check(len(r) == len(COLUMNS), f"{path}: row {i + 2} has {len(r)} cells"):
            return rows
    run_ids = {r["run_id"] for r in rows}
    check(len(run_ids) == 1, f"one run_id per file: {run_ids}")
    for r in rows:
        where = f"{r['workload']}/{r['poller']}/{r['variant']} {r['metric']}/{r['stat']}"
        check(r["status"] in STATUSES, f"{where}: status {r['status']}")
        check(r["unit"] in UNITS, f"{where}: unit {r['unit']}")
        if r["status"] == "env":
            check(r["workload"] == "env", f"{where}: env row of workload {r['workload']}")
            continue
        check(r["workload"] in METRICS, f"{where}: unknown workload")
        if r["metric"]:
            check(r["metric"] in METRICS.get(r["workload"], ()), f"{where}: unknown metric")
        if r["status"] in ("ok", "derived"):
            check(SCHEMA.is_stat(r["stat"]), f"{where}: stat '{r['stat']}'")
            # A cv is undefined (empty) when the mean is 0, a stddev and cv when there was one
            # repetition (harness/stats.h).
            one = r["repetitions"] == "1"
            if not (r["stat"] == "cv" or (one and r["stat"] == "stddev")) or r["value"] != "":
                check(r["value"] != "", f"{where}: empty value")
                float(r["value"] or "nan")
            if r["status"] == "ok":
                check(int(r["repetitions"]) >= 1, f"{where}: repetitions {r['repetitions']}")
            else:  # derived from other rows (a fit, and its standard errors): the note says
                check(r["stat"] in ("median", "se") and r["note"] != "", f"{where}: derived row")
        elif r["status"] in ("skipped", "error"):
            check(r["note"] != "", f"{where}: a {r['status']} row without a reason")
        elif r["status"] == "limit":
            check(r["metric"] == "units_reached" and r["value"] != "", f"{where}: limit row")
    env = {r["metric"] for r in rows if r["status"] == "env"}
    missing = (ENV_KEYS - {"run_complete"}) - env
    check(not missing, f"environment rows missing: {sorted(missing)}")
    check(any(k.startswith("vuln.") for k in env), "vulnerability rows")
    check(("run_complete" in env) == expect_complete,
          f"run_complete row {'missing' if expect_complete else 'present in a partial file'}")
    return rows


def stat_of(rows, **want):
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            return float(r["value"])
    return None


def check_repetition_rows(rows):
    """Every metric with a median has one row per repetition (rep1..repN, N = repetitions),
    and their median, min and max are the summary rows' (docs/csv.md)."""
    import statistics
    groups = {}
    for r in rows:
        if r["status"] != "ok" or r["stat"] in SCHEMA.PERCENTILE_STATS:
            continue
        key = tuple(r[c] for c in SCHEMA.CASE_COLUMNS) + (r["metric"],)
        groups.setdefault(key, {})[r["stat"]] = r
    checked = 0
    for key, stats in groups.items():
        where = "/".join(k for k in key if k)
        if not check("median" in stats, f"{where}: no median row"):
            continue
        n = int(stats["median"]["repetitions"])
        reps = sorted(SCHEMA.rep_index(s) for s in stats if SCHEMA.rep_index(s))
        if not check(reps == list(range(1, n + 1)), f"{where}: repetition rows {reps}, "
                     f"expected rep1..rep{n}"):
            continue
        values = [float(stats["rep%d" % k]["value"]) for k in reps]
        for stat, want in (("median", statistics.median(values)), ("min", min(values)),
                           ("max", max(values))):
            got = float(stats[stat]["value"])
            check(abs(got - want) <= 1e-6 * max(1.0, abs(want)),
                  f"{where}: {stat} {got} is not that of its repetitions {values}")
        checked += 1
    check(checked > 0, "repetition rows checked")


def run_csv():
    out = os.environ.get("MUXBENCH_QUICK_CSV") or os.path.join(
        os.path.dirname(os.path.abspath(MUXBENCH)), "..", "quick-run", "quick.csv")
    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    for f in glob.glob(os.path.splitext(out)[0] + "*"):
        os.unlink(f)
    p = run(["run", "--poller", "epoll", "--quick", "--out", out])
    check(p.returncode == 0, f"quick run exit {p.returncode}: {p.stderr[-2000:]}")
    # "[ 1/42 ...", or "[  1/123 ..." once a run has 100 cases or more.
    check(re.search(r"^\[ *1/[0-9]+ +[0-9.]+ s\] ", p.stderr, re.M) is not None,
          "progress (case i of n, elapsed) on stderr")
    check("CSV: " + out in p.stdout, "the summary names the CSV")
    if not os.path.exists(out):
        check(False, "no CSV written")
        return
    rows = validate_csv(out)
    shim = stat_of(rows, workload="harness", variant="c-shim", metric="iteration_ns",
                   stat="median")
    native = stat_of(rows, workload="harness", variant="native", metric="iteration_ns",
                     stat="median")
    check(shim is not None and native is not None and shim > 0 and native > 0,
          "the shim overhead figure (c-shim and native iteration_ns) is in the CSV")
    for stat in ("median", "mean", "min", "max", "stddev", "cv"):
        check(stat_of(rows, workload="harness", variant="c-shim", stat=stat) is not None,
              f"statistic {stat} present")
    check_repetition_rows(rows)
    json_path = os.path.splitext(out)[0] + ".gbench.json"
    import json
    with open(json_path) as f:
        doc = json.load(f)
    check(len(doc.get("benchmarks", [])) > 0, "Google Benchmark's JSON kept beside the CSV")
    check(not glob.glob(os.path.join(os.path.dirname(out), ".*tmp*")),
          "no temporary file left")
    print(f"quick run: {len(rows)} rows in {out}")


# ---- interruption ---------------------------------------------------------------------------

def start_long_run(out):
    args = [MUXBENCH, "run", "--workload", "harness", "--out", out, "--min-time", "1",
            "--repetitions", "3"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_second_case(proc, deadline_s=60):
    """Reads stderr until case 1's progress line is complete: its rows are written and
    case 2 (several seconds long) has started."""
    seen = ""
    t0 = time.time()
    while time.time() - t0 < deadline_s:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if line.startswith("[ 1/") and line.endswith("\n"):
            return seen
    return None


def interrupt():
    tmp = tempfile.mkdtemp(prefix="muxbench-int-")
    out = os.path.join(tmp, "run.csv")
    previous = "a previous complete run\n"
    with open(out, "w") as f:
        f.write(previous)

    proc = start_long_run(out)
    if not check(wait_for_second_case(proc) is not None, "the run reached its second case"):
        proc.kill()
        return
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    check(proc.returncode == 130, f"SIGINT: exit {proc.returncode}, expected 130")
    check("interrupted" in err and "partial" in err, f"SIGINT message: {err[-300:]}")
    with open(out) as f:
        check(f.read() == previous, "the previous complete CSV is untouched")
    partial = os.path.join(tmp, "run.partial.csv")
    if check(os.path.exists(partial), "a partial CSV is left"):
        rows = validate_csv(partial, expect_complete=False)
        cases = {r["variant"] for r in rows if r["workload"] == "harness"}
        check(cases == {"c-shim"}, f"the partial file holds the finished case only: {cases}")
        stats = {r["stat"] for r in rows if r["variant"] == "c-shim"}
        reps = {"rep%d" % k for k in (1, 2, 3)}
        check(stats == (STATS - set(SCHEMA.PERCENTILE_STATS) - {"se"}) | reps,
              f"the finished case is whole: {stats}")
    check(os.path.exists(os.path.join(tmp, "run.partial.gbench.json")), "partial JSON left")
    import json
    with open(os.path.join(tmp, "run.partial.gbench.json")) as f:
        json.load(f)
    check(not glob.glob(os.path.join(tmp, ".*tmp*")), "no temporary file after SIGINT")

    # A crash in a later case (a fault, an abort from fortified libc or a sanitizer): the
    # finished cases are kept under the partial name too, before the process dies of it.
    os.unlink(partial)
    os.unlink(os.path.join(tmp, "run.partial.gbench.json"))
    proc = start_long_run(out)
    check(wait_for_second_case(proc) is not None, "the crashing run reached its second case")
    proc.send_signal(signal.SIGSEGV)
    _, err = proc.communicate(timeout=60)
    check(proc.returncode == -signal.SIGSEGV, f"SIGSEGV: exit {proc.returncode}")
    check("crashed" in err, f"SIGSEGV message: {err[-300:]}")
    with open(out) as f:
        check(f.read() == previous, "after a crash the previous complete CSV is untouched")
    if check(os.path.exists(partial), "a crash leaves a partial CSV"):
        rows = validate_csv(partial, expect_complete=False)
        cases = {r["variant"] for r in rows if r["workload"] == "harness"}
        check(cases == {"c-shim"}, f"the crash's partial file holds the finished case: {cases}")
    check(not glob.glob(os.path.join(tmp, ".*tmp*")), "no temporary file after the crash")

    # SIGKILL: nothing can run, so nothing may appear at the target; the next run tidies up.
    os.unlink(partial)
    proc = start_long_run(out)
    check(wait_for_second_case(proc) is not None, "second run reached its second case")
    proc.kill()
    proc.communicate(timeout=60)
    with open(out) as f:
        check(f.read() == previous, "SIGKILL: the previous CSV is untouched")
    check(not os.path.exists(partial), "SIGKILL: no partial file claims to be one")
    stale = glob.glob(os.path.join(tmp, ".run.csv.tmp.*"))
    check(len(stale) == 1, f"SIGKILL leaves only its hidden temporary file: {stale}")
    p = run(["run", "--workload", "harness", "--set", "variant=native", "--quick", "--out", out])
    check(p.returncode == 0, f"a later run succeeds: {p.stderr[-500:]}")
    check(not glob.glob(os.path.join(tmp, ".run.csv.tmp.*")), "the next run removed the stale file")
    validate_csv(out)


# ---- ctxswitch ------------------------------------------------------------------------------

def placements_available():
    out = run(["list"]).stdout.split("placements:", 1)[1]
    have, lack = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            (have if parts[1] == "available" else lack).add(parts[0])
    return have, lack


def ctxswitch():
    tmp = tempfile.mkdtemp(prefix="muxbench-cs-")
    out = os.path.join(tmp, "cs.csv")
    p = run(["run", "--workload", "ctxswitch", "--quick", "--out", out, "--set",
             "placement=same-pu", "--set", "variant=futex,pipe,yield"])
    check(p.returncode == 0, f"ctxswitch run: {p.stderr[-1000:]}")
    rows = validate_csv(out)
    for variant in ("futex", "pipe", "yield"):
        ratio = stat_of(rows, variant=variant, metric="switches_counted_ratio", stat="median")
        # On one hardware thread a handoff cannot happen without a context switch: the kernel
        # must have counted at least one per expected switch (other tasks may add more).
        check(ratio is not None and ratio >= 0.95,
              f"{variant} on same-pu: switches counted / expected = {ratio}")
        sw = stat_of(rows, variant=variant, metric="switch_ns", stat="median")
        check(sw is not None and sw > 0, f"{variant}: switch_ns median")
        # The tail is of whole round trips, and says so; no p99 poses as a single switch's.
        rt = stat_of(rows, variant=variant, metric="round_trip_p99_ns", stat="median")
        check(rt is not None and rt > 0, f"{variant}: round_trip_p99_ns")
        check(stat_of(rows, variant=variant, metric="switch_ns", stat="p99") is None,
              f"{variant}: a switch_ns p99 row (half a round trip's tail) is back")
        for part in ("voluntary_per_handoff", "involuntary_per_handoff"):
            v = stat_of(rows, variant=variant, metric=part, stat="median")
            check(v is not None and v >= 0, f"{variant}: {part} = {v}")
        notes = {r["note"] for r in rows if r["variant"] == variant and r["status"] == "ok"}
        check(any("verified" in n for n in notes), f"{variant}: the binding is recorded: {notes}")
    # A pipe round trip is exactly a write and a read on each side; a futex one at least a
    # wake on each side (waits that find the word changed are skipped).
    calls = {v: stat_of(rows, variant=v, metric="syscalls_per_round_trip", stat="min")
             for v in ("pipe", "futex")}
    check(calls["pipe"] == 4, f"pipe: {calls['pipe']} system calls per round trip, expected 4")
    check(calls["futex"] is not None and calls["futex"] >= 2,
          f"futex: {calls['futex']} system calls per round trip, expected at least 2")

    # Coroutines: no ratio that is 1 by construction; coro_overhead_ratio is the quotient of
    # the two medians it names; coro-copy carries its depth, coro-stackless runs.
    out3 = os.path.join(tmp, "coro.csv")
    p = run(["run", "--workload", "ctxswitch", "--quick", "--out", out3, "--set",
             "placement=same-pu", "--set",
             "variant=coro-asm,coro-raw,coro-copy,coro-stackless"])
    check(p.returncode == 0, f"coroutine run: {p.stderr[-1000:]}")
    rows = validate_csv(out3)
    check(not [r for r in rows if r["metric"] == "switches_counted_ratio"],
          "a coroutine switches_counted_ratio row is back")
    raw = stat_of(rows, variant="coro-raw", metric="switch_ns", stat="median")
    if raw is None:
        print("coro-raw not measured here (sanitizer build): coro_overhead_ratio not checked")
    else:
        asm = stat_of(rows, variant="coro-asm", metric="switch_ns", stat="median")
        ratio = stat_of(rows, variant="coro-asm", metric="coro_overhead_ratio", stat="median")
        check(asm is not None and ratio is not None and
              abs(ratio - asm / raw) <= 1e-3 * ratio,
              f"coro_overhead_ratio {ratio} is not coro-asm {asm} / coro-raw {raw}")
    copy = [r for r in rows if r["variant"] == "coro-copy" and r["metric"] == "switch_ns"
            and r["stat"] == "median"]
    check(sorted(r["touch_bytes"] for r in copy) == ["0", "4096"],
          f"coro-copy at depths 0 and 4k: {[r['touch_bytes'] for r in copy]}")
    check(all("copied out and back" in r["note"] for r in copy), "coro-copy says what it copies")
    check(stat_of(rows, variant="coro-stackless", metric="switch_ns", stat="median") is not None,
          "coro-stackless measured")

    # Across cpus a handoff is a wake-up, not a switch: its rows are wake_ns only.
    have, lack = placements_available()
    cross = [pl for pl in ("same-l3", "smt-sibling", "cross-l3", "cross-numa") if pl in have]
    if cross:
        out4 = os.path.join(tmp, "cross.csv")
        p = run(["run", "--workload", "ctxswitch", "--quick", "--out", out4, "--set",
                 f"placement={cross[0]}", "--set", "variant=futex"])
        check(p.returncode == 0, f"cross-cpu run: {p.stderr[-1000:]}")
        rows = validate_csv(out4)
        metrics = {r["metric"] for r in rows if r["workload"] == "ctxswitch"}
        check("wake_ns" in metrics and "switch_ns" not in metrics,
              f"futex at {cross[0]}: metrics {sorted(metrics)}")
    else:
        print("one cpu here: the cross-cpu rows are not exercised")

    check("same-pu" in have and "unpinned" in have, f"placements: {have}")
    if lack:
        missing = sorted(lack)[0]
        out2 = os.path.join(tmp, "lack.csv")
        p = run(["run", "--workload", "ctxswitch", "--quick", "--out", out2, "--set",
                 f"placement={missing}"])
        # Nothing could be measured: exit 3, and the CSV says why for each case.
        check(p.returncode == 3, f"placement {missing}: exit {p.returncode}")
        rows = validate_csv(out2)
        skipped = [r for r in rows if r["workload"] == "ctxswitch"]
        check(skipped and all(r["status"] == "skipped" and missing in r["note"]
                              for r in skipped), f"placement {missing}: skipped rows with reason")
    else:
        print("every placement exists here; the missing-placement case is not exercised")


# ---- echo -----------------------------------------------------------------------------------

ECHO_METRICS = ("req_per_s", "p50_us", "p99_us", "rss_bytes")


def echo():
    import resource
    tmp = tempfile.mkdtemp(prefix="muxbench-echo-")
    out = os.path.join(tmp, "echo.csv")
    p = run(["run", "--workload", "echo", "--poller", "epoll,poll", "--quick", "--set",
             "units=10", "--out", out])
    check(p.returncode == 0, f"echo run: exit {p.returncode}: {p.stderr[-1500:]}")
    if not check(os.path.exists(out), "echo: no CSV written"):
        return
    rows = [r for r in validate_csv(out) if r["workload"] == "echo"]
    cases = {(r["poller"], r["variant"]) for r in rows}
    check(cases == {("", "thread"), ("epoll", "coroutine"), ("poll", "coroutine")},
          f"echo: the thread variant once without a poller, coroutines per poller: {cases}")

    # A backend with a fixed fd set cannot hold 1000 connections' fds: skipped, with why.
    fixed = os.path.join(tmp, "fixed.csv")
    p = run(["run", "--workload", "echo", "--poller", "libevent-select", "--quick", "--set",
             "variant=coroutine", "--set", "units=10,1000", "--out", fixed])
    if "unknown poller" in p.stderr or "backend unavailable" in open(fixed).read():
        print("libevent-select is not built here; its fd-limit skip is not exercised")
    else:
        check(p.returncode == 0, f"echo over libevent-select: exit {p.returncode}")
        got = {r["units"]: (r["status"], r["note"]) for r in validate_csv(fixed)
               if r["workload"] == "echo" and (r["metric"] == "req_per_s" or
                                               r["status"] != "ok")}
        check(got.get("10", ("",))[0] == "ok", f"echo/libevent-select at 10: {got.get('10')}")
        check(got.get("1000", ("",))[0] == "skipped" and "FD_SETSIZE" in got["1000"][1],
              f"echo/libevent-select at 1000: skipped for FD_SETSIZE: {got.get('1000')}")
    for poller, variant in sorted(cases):
        mine = [r for r in rows if r["poller"] == poller and r["variant"] == variant]
        where = f"echo/{poller or '-'}/{variant}"
        check(all(r["status"] == "ok" for r in mine), f"{where}: every row ok: "
              f"{[(r['status'], r['note']) for r in mine if r['status'] != 'ok'][:2]}")
        for metric in ECHO_METRICS:
            v = stat_of(mine, metric=metric, stat="median")
            check(v is not None and v > 0, f"{where}: {metric} median = {v}")
        for stat in ("median", "min", "max"):
            p50 = stat_of(mine, metric="p50_us", stat=stat)
            p99 = stat_of(mine, metric="p99_us", stat=stat)
            check(p50 is not None and p99 is not None and p50 <= p99,
                  f"{where}: p50 {p50} <= p99 {p99} ({stat})")
        iters = {int(r["iterations"]) for r in mine}
        check(len(iters) == 1 and all(i > 0 and i % 10 == 0 for i in iters),
              f"{where}: iterations = requests per repetition, a multiple of 10 units: {iters}")
        check(all(r["units"] == "10" and r["transport"] == "tcp" for r in mine),
              f"{where}: units and transport columns")
        alloc = {r["stack_alloc"] for r in mine}
        check(alloc == {"pthread" if variant == "thread" else "guard"},
              f"{where}: stack_alloc {alloc}")
        notes = {r["note"] for r in mine}
        check(all("client on cpu" in n or "unpinned" in n for n in notes),
              f"{where}: the placement is recorded: {notes}")
        if variant == "coroutine":
            check(all("cosched" in n for n in notes), f"{where}: the policy is recorded")

    # Zero, negative and absurd counts are bad usage, refused before anything runs.
    for bad, text in (("0", "out of range"), ("-1", "not a whole number"),
                      ("2000000", "units=2000000"), ("100000000", "units=100000000"),
                      ("99999999999", "out of range")):
        bad_out = os.path.join(tmp, "bad.csv")
        p = run(["run", "--workload", "echo", "--poller", "epoll", "--quick", "--set",
                 f"units={bad}", "--out", bad_out])
        check(p.returncode == 2, f"echo units={bad}: exit {p.returncode}, expected 2")
        check(text in p.stderr, f"echo units={bad}: message lacks '{text}': {p.stderr[-300:]}")
        check(not os.path.exists(bad_out), f"echo units={bad}: wrote a CSV")
    p = run(["run", "--workload", "echo", "--poller", "epoll", "--set", "stack_bytes=4k",
             "--out", os.path.join(tmp, "bad.csv")])
    check(p.returncode == 2 and "stack_bytes" in p.stderr,
          f"echo stack_bytes=4k: exit {p.returncode}: {p.stderr[-300:]}")

    # Past the fd limit: a limit row, the rest of the sweep skipped, never a hang; exit 3 when
    # nothing at all could be measured.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard + 100 > 1048576:
        print("no finite fd limit below 2^20 here; the limit case is not exercised")
        return
    over = hard + 100
    lim_out = os.path.join(tmp, "limit.csv")
    p = run(["run", "--workload", "echo", "--poller", "epoll", "--quick", "--set",
             "variant=coroutine", "--set", f"units=10,{over},{over + 1}", "--out", lim_out])
    check(p.returncode == 0, f"echo sweep past the fd limit: exit {p.returncode}: "
          f"{p.stderr[-500:]}")
    rows = [r for r in validate_csv(lim_out) if r["workload"] == "echo"]
    by_units = {}
    for r in rows:
        by_units.setdefault(r["units"], set()).add(r["status"])
    check(by_units.get("10") == {"ok"}, f"units=10 measured: {by_units.get('10')}")
    limit = [r for r in rows if r["units"] == str(over)]
    check(len(limit) == 1 and limit[0]["status"] == "limit" and
          "RLIMIT_NOFILE" in limit[0]["note"] and limit[0]["metric"] == "units_reached",
          f"units={over}: one limit row naming RLIMIT_NOFILE: {limit}")
    check(by_units.get(str(over + 1)) == {"skipped"},
          f"units={over + 1}: skipped after the limit: {by_units.get(str(over + 1))}")
    p = run(["run", "--workload", "echo", "--poller", "epoll", "--quick", "--set",
             "variant=thread", "--set", f"units={over}", "--out", lim_out])
    check(p.returncode == 3, f"echo units={over} alone: exit {p.returncode}, expected 3")


# ---- memory and spawn -------------------------------------------------------------------------

MEMORY_METRICS = ("vsz_per_unit_bytes", "rss_per_unit_bytes", "kernel_per_unit_bytes",
                  "kernel_stack_per_unit_bytes", "page_tables_per_unit_bytes",
                  "slab_per_unit_bytes")


def sanitizer(rows):
    """'thread', 'address' or '' from the cflags environment row."""
    cflags = next((r["note"] for r in rows if r["status"] == "env" and r["metric"] == "cflags"),
                  "")
    return "thread" if "-fsanitize=thread" in cflags else \
        "address" if "-fsanitize=address" in cflags else ""


def by_case(rows, workload, stat="median"):
    """{(poller, variant, units, stack_bytes, stack_alloc, touch_bytes): {metric: value}};
    stack_bytes and touch_bytes are 0 where they do not apply (stackless)."""
    out = {}
    for r in rows:
        if r["workload"] == workload and r["status"] == "ok" and r["stat"] == stat:
            key = (r["poller"], r["variant"], int(r["units"]), int(r["stack_bytes"] or 0),
                   r["stack_alloc"], int(r["touch_bytes"] or 0))
            out.setdefault(key, {})[r["metric"]] = float(r["value"])
    return out


def expect_usage_errors(cases):
    tmp = tempfile.mkdtemp(prefix="muxbench-units-")
    out = os.path.join(tmp, "x.csv")
    for args, text in cases:
        p = run(["run", "--out", out] + args)
        check(p.returncode == 2, f"{args}: exit {p.returncode}, expected 2: {p.stderr[-300:]}")
        check(text in p.stderr, f"{args}: message lacks '{text}': {p.stderr.strip()[-300:]}")
        check(re.search(r"\[ *1/", p.stderr) is None, f"{args}: a benchmark ran before the error")
        check(not os.path.exists(out), f"{args}: wrote {out}")


def memory():
    tmp = tempfile.mkdtemp(prefix="muxbench-mem-")
    out = os.path.join(tmp, "mem.csv")
    p = run(["run", "--workload", "memory", "--quick", "--out", out, "--set", "units=1,100",
             "--set", "touch_bytes=0,8k"])
    check(p.returncode == 0, f"memory run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    san = sanitizer(rows)
    cases = by_case(rows, "memory")
    variants = {k[1] for k in cases}
    want = {"thread", "thread-small"} | ({"coroutine"} if san != "thread" else set())
    check(want <= variants, f"memory variants measured: {sorted(variants)}")
    if san == "thread":
        # Stackless coroutines switch no stack: they run under ThreadSanitizer too.
        skipped = [r for r in rows if r["workload"] == "memory" and r["variant"] == "coroutine"
                   and r["stack_alloc"] != "stackless" and not fit_of_nothing(r)]
        check(skipped and all(r["status"] == "skipped" and "ThreadSanitizer" in r["note"]
                              for r in skipped), "coroutines skipped under ThreadSanitizer")
    means = by_case(rows, "memory", "mean")
    for key, m in sorted(cases.items()):
        _, variant, units, stack, alloc, touch = key
        where = f"memory {variant} units={units} stack={stack} {alloc} touch={touch}"
        if not check(all(k in m for k in MEMORY_METRICS), f"{where}: metrics {sorted(m)}"):
            continue
        vsz, rss = m["vsz_per_unit_bytes"], m["rss_per_unit_bytes"]
        if variant.startswith("thread"):
            check(alloc == "pthread", f"{where}: threads allocate pthread stacks")
            # The whole stack is reserved per thread, touched or not.
            check(vsz >= stack, f"{where}: vsz per thread {vsz} < its stack {stack}")
        elif alloc in ("guard", "pool"):
            check(vsz >= stack, f"{where}: vsz per coroutine {vsz} < its stack {stack}")
            # Every touched byte is resident (plus the control block's page).
            check(rss >= touch + 4096, f"{where}: rss per coroutine {rss} < touched {touch} + "
                                       "a page")
        else:
            # Heap units: a few of them fit in pages malloc already had (judged by the fit).
            check(alloc in ("copy", "stackless"), f"{where}: stack_alloc")
            continue
        # ThreadSanitizer keeps a thread's shadow in mappings made in advance: resident grows,
        # virtual does not. Elsewhere nothing can be resident without being mapped.
        if san != "thread":
            check(rss <= vsz, f"{where}: rss {rss} > vsz {vsz}")
        # Anonymous pages are part of Rss.
        check(m["anon_per_unit_bytes"] <= rss + 1, f"{where}: anon {m['anon_per_unit_bytes']} "
                                                   f"> rss {rss}")

    # The fit over each sweep: per-unit cost as a slope, with its error, for every
    # configuration that ran at two unit counts.
    fits = {(r["variant"], r["stack_alloc"], r["stack_bytes"], r["touch_bytes"], r["thp"]):
            float(r["value"]) for r in rows if r["workload"] == "memory"
            and r["status"] == "derived" and r["metric"] == "rss_per_unit_fit_bytes"}
    errs = {r["stack_alloc"] for r in rows if r["workload"] == "memory"
            and r["status"] == "derived" and r["metric"] == "rss_fit_err_bytes"}
    allocs = {k[4] for k in cases}
    check(allocs and allocs <= {k[1] for k in fits} and allocs <= errs,
          f"a fit for every stack_alloc measured: {sorted(allocs)} vs {sorted(fits)}")
    for (variant, alloc, stack, touch, thp), slope in sorted(fits.items()):
        where = f"memory fit {variant} {alloc} stack={stack} touch={touch}"
        if alloc in ("guard", "pool"):
            check(slope >= int(touch or 0) + 4096 - 64,
                  f"{where}: {slope} per unit < touched + a page")

    # Heap units (copy, stackless) need enough of them for the heap to grow by pages: their fit
    # over 1,000 and 20,000. A copy coroutine suspended 4 KiB deep saves that much; a stackless
    # one is a small frame.
    if san != "thread":
        out_heap = os.path.join(tmp, "heap.csv")
        p = run(["run", "--workload", "memory", "--quick", "--out", out_heap, "--set",
                 "variant=coroutine", "--set", "stack_alloc=copy,stackless", "--set",
                 "units=1000,20000", "--set", "touch_bytes=4k"])
        check(p.returncode == 0, f"heap units run: exit {p.returncode}: {p.stderr[-800:]}")
        heap = {r["stack_alloc"]: float(r["value"]) for r in validate_csv(out_heap)
                if r["status"] == "derived" and r["metric"] == "rss_per_unit_fit_bytes"}
        check("copy" in heap and heap["copy"] >= 4096,
              f"copy suspended 4 KiB deep: {heap.get('copy')} bytes per unit")
        check("stackless" in heap and 0 < heap["stackless"] < 4096,
              f"stackless: {heap.get('stackless')} bytes per unit is not a small frame")
    if san:
        notes = [r["note"] for r in rows if r["workload"] == "memory" and r["status"] == "ok"]
        check(notes and all("sanitizer build" in n for n in notes),
              "rows of a sanitizer build say so")

    # thp=off: the column says so, the note the system's mode and the process's setting.
    out2 = os.path.join(tmp, "thp.csv")
    p = run(["run", "--workload", "memory", "--quick", "--out", out2, "--set", "units=1,10",
             "--set", "variant=thread-small", "--set", "thp=off"])
    check(p.returncode == 0, f"thp=off run: exit {p.returncode}: {p.stderr[-800:]}")
    thp_rows = [r for r in validate_csv(out2) if r["workload"] == "memory"
                and r["status"] == "ok"]
    check(thp_rows and all(r["thp"] == "off" and "off for this process" in r["note"]
                           for r in thp_rows), "thp=off rows are marked")
    small = [k for k in cases if k[1] == "thread-small"]
    check(small and all(k[3] == 65536 for k in small), "thread-small's stack is 64 KiB")
    thread = [k for k in cases if k[1] == "thread"]
    check(thread and all(k[3] >= 1 << 20 for k in thread),
          "thread's stack is the default (RLIMIT_STACK's, megabytes)")
    notes = {r["note"] for r in rows if r["workload"] == "memory" and r["variant"] == "thread"
             and r["status"] == "ok"}
    check(any("stack cache" in n for n in notes), f"thread rows say how glibc's cache was "
                                                  f"handled: {notes}")

    expect_usage_errors([
        (["--workload", "memory", "--set", "units=0"], "out of range"),
        (["--workload", "memory", "--set", "units=-1"], "not a whole number"),
        (["--workload", "memory", "--set", "units=1000000000000"], "out of range"),
        (["--workload", "memory", "--set", "variant=thread", "--set", "units=5000000"],
         "PID_MAX_LIMIT"),
        (["--workload", "memory", "--set", "variant=thread-small", "--set", "units=10,5000000"],
         "PID_MAX_LIMIT"),
        (["--workload", "memory", "--set", "variant=coroutine", "--set", "stack_bytes=1g",
          "--set", "units=100000000"], "address space"),
        (["--workload", "memory", "--set", "variant=thread", "--set", "stack_bytes=64k"],
         "default attributes"),
        (["--workload", "memory", "--set", "variant=thread-small", "--set", "stack_alloc=pool"],
         "does not take stack_alloc"),
        (["--workload", "memory", "--set", "variant=coroutine", "--set", "stack_bytes=16k",
          "--set", "touch_bytes=64k"], "does not fit"),
        (["--workload", "memory", "--set", "variant=thread-small", "--set", "stack_bytes=8k"],
         "PTHREAD_STACK_MIN"),
    ])


def limit_rows(rows, workload):
    return [r for r in rows if r["workload"] == workload and r["status"] == "limit"]


def with_rlimit_as(limit):
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def limits():
    tmp = tempfile.mkdtemp(prefix="muxbench-lim-")
    # Guarded coroutines: two map entries each, so vm.max_map_count (read here: 65,530 on
    # many kernels, 1,048,576 on others) stops them near half of it. Ask for more than that.
    with open("/proc/sys/vm/max_map_count") as f:
        max_maps = int(f.read())
    past = max_maps // 2 + max(2000, max_maps // 20)
    # Each parked guarded coroutine keeps its control block's page (more under a sanitizer).
    if past * 16 * 1024 > mem_available() // 2:
        print(f"SKIP: {past} guarded coroutines (vm.max_map_count {max_maps}) would need more "
              f"memory than half of what is available")
        sys.exit(77)
    out = os.path.join(tmp, "guard.csv")
    p = run(["run", "--workload", "memory,spawn", "--poller", "epoll", "--quick", "--out", out,
             "--set", "variant=coroutine", "--set", "stack_alloc=guard", "--set",
             f"units=100,{past}", "--set", "touch_bytes=0"])
    rows = validate_csv(out)
    if sanitizer(rows) == "thread":
        # Nothing but coroutines asked for, all skipped: exit 3 (nothing could be measured).
        check(p.returncode == 3, f"guard limit run: exit {p.returncode}: {p.stderr[-1500:]}")
        check(all(r["status"] == "skipped" and "ThreadSanitizer" in r["note"] for r in rows
                  if r["workload"] in ("memory", "spawn") and not fit_of_nothing(r)),
              "coroutines skipped, with why")
        print("ThreadSanitizer build: coroutines are skipped; their limits are not exercised")
    else:
        check(p.returncode == 0, f"guard limit run: exit {p.returncode}: {p.stderr[-1500:]}")
        for workload in ("memory", "spawn"):
            lim = limit_rows(rows, workload)
            check(lim, f"{workload}: {past} guarded coroutines hit a limit")
            for r in lim:
                reached = float(r["value"])
                check(r["units"] == str(past) and r["metric"] == "units_reached",
                      f"{workload}: limit row {r['units']} {r['metric']}")
                check("max_map_count" in r["note"] and "threads_max" in r["note"] and
                      "MemAvailable" in r["note"], f"{workload}: the note names the limit "
                                                   f"and the numbers: {r['note']}")
                check(max_maps / 2 * 0.5 < reached <= max_maps / 2,
                      f"{workload}: units_reached {reached} against max_map_count {max_maps}")
            ok = [r for r in rows if r["workload"] == workload and r["units"] == "100"
                  and r["status"] == "ok"]
            check(ok, f"{workload}: the sweep ran below the limit")

    # RLIMIT_AS: 8 MiB thread stacks and 16 KiB pool stacks run out of 1 GiB of address space
    # (1,000 threads need 8 GiB; 100,000 coroutines 1.6 GiB).
    if sanitizer(rows):
        print("sanitizer build: its shadow memory needs the whole address space; RLIMIT_AS is "
              "exercised in the plain build")
        return
    out = os.path.join(tmp, "as.csv")
    p = run(["run", "--workload", "memory", "--quick", "--out", out, "--set",
             "variant=thread,coroutine", "--set", "stack_alloc=pthread,pool", "--set",
             "units=10,1000,100000", "--set", "touch_bytes=0"],
            preexec_fn=with_rlimit_as(1 << 30))
    check(p.returncode == 0, f"RLIMIT_AS run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    for variant in ("thread", "coroutine"):
        lim = [r for r in limit_rows(rows, "memory") if r["variant"] == variant]
        check(len(lim) == 1 and "RLIMIT_AS" in lim[0]["note"],
              f"{variant}: one limit row naming RLIMIT_AS: {[r['note'] for r in lim]}")
        if lim:
            check(0 < float(lim[0]["value"]) < int(lim[0]["units"]),
                  f"{variant}: units_reached {lim[0]['value']} of {lim[0]['units']}")
        ok = [r for r in rows if r["workload"] == "memory" and r["variant"] == variant
              and r["units"] == "10" and r["status"] == "ok"]
        check(ok, f"{variant}: 10 units fit under RLIMIT_AS")
        after = [r for r in rows if r["workload"] == "memory" and r["variant"] == variant
                 and r["units"] == "100000"]
        if lim and lim[0]["units"] == "1000":
            check(after and all(r["status"] == "skipped" for r in after),
                  f"{variant}: the sweep stopped at the limit")


def spawn():
    tmp = tempfile.mkdtemp(prefix="muxbench-spawn-")
    out = os.path.join(tmp, "spawn.csv")
    p = run(["run", "--workload", "spawn", "--poller", "epoll", "--quick", "--out", out,
             "--set", "units=1,1000"])
    check(p.returncode == 0, f"spawn run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    san = sanitizer(rows)
    cases = by_case(rows, "spawn")
    expect = [("", "thread", 1, "pthread", "create_ns"), ("", "thread", 1000, "pthread",
              "create_ns"), ("", "thread", 1000, "pthread", "spawn_per_s")]
    if san != "thread":
        for alloc in ("pool", "guard", "copy"):
            expect += [("", "coroutine", 1, alloc, "create_ns"),
                       ("", "coroutine", 1000, alloc, "create_ns")]
            # timer_slack_ns only where a wait ran out: checked below on a churn of two.
            expect += [("epoll", "coroutine", 1000, alloc, m)
                       for m in ("spawn_per_s", "churn_overhead_ns")]
        expect += [("", "coroutine", 1, "pool", "create_first_use_ns"),
                   ("", "coroutine", 1000, "pool", "create_first_use_ns")]
    # Stackless units need no stack (nor a sanitizer's support for switching one); they have
    # no scheduler, so no churn.
    expect += [("", "coroutine", 1, "stackless", "create_ns"),
               ("", "coroutine", 1000, "stackless", "create_ns")]
    expect += [("", "thread", 1000, "pthread", m) for m in ("churn_overhead_ns",
                                                            "timer_slack_ns")]
    for poller, variant, units, alloc, metric in expect:
        vals = [m[metric] for k, m in cases.items()
                if (k[0], k[1], k[2], k[4]) == (poller, variant, units, alloc) and metric in m]
        where = f"spawn {poller or '-'} {variant} units={units} {alloc} {metric}"
        if not check(len(vals) == 1, f"{where}: {len(vals)} values"):
            continue
        v = vals[0]
        # A sleep is never shorter than asked: the timer's lateness is not negative.
        check(v >= 0 if metric == "timer_slack_ns" else v > 0, f"{where} = {v}")
        if metric == "spawn_per_s":
            # Each task waits 0.5 ms: N tasks cannot all finish in less.
            check(v <= units / 0.0005, f"{where} = {v}: faster than a 0.5 ms sleep allows")
    churn = [r for r in rows if r["workload"] == "spawn" and r["metric"] == "spawn_per_s"
             and r["status"] == "ok"]
    check(churn and all("1000 of 1000 tasks finished" in r["note"] for r in churn),
          f"every churned task counted: {sorted({r['note'] for r in churn})}")
    check(not [r for r in rows if r["workload"] == "spawn" and r["status"] == "error"],
          "no spawn case failed")
    check(not [r for r in rows if r["workload"] == "spawn" and r["stack_alloc"] == "stackless"
               and r["metric"] in ("spawn_per_s", "churn_overhead_ns")],
          "a stackless churn was planned without a scheduler to run it")

    # Two tasks start in microseconds, so the scheduler's wait for their 0.5 ms sleeps runs
    # out: the timer's lateness is measured, and a timed-out wait is never early.
    if san != "thread":
        out2 = os.path.join(tmp, "two.csv")
        p = run(["run", "--workload", "spawn", "--poller", "epoll", "--quick", "--out", out2,
                 "--set", "variant=coroutine", "--set", "stack_alloc=pool", "--set", "units=2"])
        check(p.returncode == 0, f"churn of two: exit {p.returncode}: {p.stderr[-800:]}")
        two = validate_csv(out2)
        slack = stat_of(two, workload="spawn", metric="timer_slack_ns", stat="min")
        check(slack is not None and slack >= 0, f"churn of two: timer_slack_ns min {slack}")

    expect_usage_errors([
        (["--workload", "spawn", "--set", "units=0"], "out of range"),
        (["--workload", "spawn", "--set", "units=-5"], "not a whole number"),
        (["--workload", "spawn", "--set", "variant=thread", "--set", "units=5000000"],
         "PID_MAX_LIMIT"),
        (["--workload", "spawn", "--set", "variant=coroutine", "--set", "stack_alloc=pthread"],
         "does not take stack_alloc"),
    ])


# ---- workloads in sequence ----------------------------------------------------------------

def sequence():
    """One workload's state kept across its cases (fanin's socket pool, near the fd limit) is
    released before the next workload runs: echo then has the fds it would have alone."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 4000:
        print("SKIP: needs a finite fd limit of at least 4000")
        sys.exit(77)
    fds = hard - 1000
    tmp = tempfile.mkdtemp(prefix="muxbench-seq-")
    out = os.path.join(tmp, "seq.csv")
    p = run(["run", "--workload", "fanin,echo", "--poller", "epoll", "--quick", "--out", out,
             "--set", f"fds={fds}", "--set", "units=1500", "--repetitions", "1"])
    check(p.returncode == 0, f"fanin then echo: exit {p.returncode}: {p.stderr[-800:]}")
    rows = validate_csv(out)
    fanin = stat_of(rows, workload="fanin", metric="wait_ns", stat="median")
    check(fanin is not None, f"fanin measured at fds={fds}")
    echo = [r for r in rows if r["workload"] == "echo" and r["metric"] == "req_per_s"
            and r["stat"] == "median"]
    check(len(echo) == 2, f"echo measured with 1500 connections after fanin held {fds} fds: "
          f"{[(r['variant'], r['status'], r['note'][:80]) for r in rows if r['workload'] == 'echo'][:3]}")


def main(groups=None, prefix="cli"):
    """Runs GROUP from `groups` (test_fanin.py passes its own); returns the exit status."""
    if groups is None:
        groups = {"bad_input": bad_input, "run_csv": run_csv, "interrupt": interrupt,
                  "ctxswitch": ctxswitch, "echo": echo, "memory": memory,
                  "limits": limits, "spawn": spawn, "sequence": sequence}
    if GROUP not in groups:
        print(f"unknown group {GROUP}; valid: {', '.join(groups)}", file=sys.stderr)
        return 2
    if not os.access(MUXBENCH, os.X_OK):
        print(f"SKIP: {MUXBENCH} is not built", file=sys.stderr)
        return 77
    groups[GROUP]()
    print(f"{'FAIL' if failures else 'PASS'} {prefix}.{GROUP} ({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
