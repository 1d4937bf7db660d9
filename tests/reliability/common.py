"""What the reliability tests share (Python's standard library only).

- CSV checks: a file is *complete* (every row whole, every measured case whole, the
  run_complete row present) or a *complete partial* (the same without run_complete); anything
  else is a torn file.
- Process checks: the test process is made a child subreaper, so whatever the run started and
  left behind (alive, or a zombie nobody reaped) is re-parented to the test and seen there, as
  well as by its process group.
- Results: every test appends what it tried and what held to $MUXBENCH_RELIABILITY_LOG (JSON
  lines) when that is set; tools/reliability_report.py turns the log into docs/reliability.md.
"""
import csv
import ctypes
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SKIP = 77

# The exit statuses of docs (harness/main.c): the tests expect these by name.
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ENV, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _load_schema():
    path = os.path.join(ROOT, "analysis", "muxbench_analysis", "schema.py")
    spec = importlib.util.spec_from_file_location("muxbench_schema", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = _load_schema()
COLUMNS = list(SCHEMA.COLUMNS)
CASE_COLUMNS = list(SCHEMA.CASE_COLUMNS)
FULL_STATS = {"median", "mean", "min", "max", "stddev", "cv"}


class Checker:
    """Collects failures instead of stopping at the first; main() turns them into 0 or 1."""

    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, file=sys.stderr)
        return bool(cond)


# ---- CSV -------------------------------------------------------------------------------------

def csv_problems(path, want_complete):
    """Why the file at path is not a whole muxbench CSV ([] when it is). want_complete: the
    run_complete row must be there (True), must not be (False)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return [f"{path}: cannot be read: {e.strerror}"]
    if not raw.endswith(b"\n"):
        return [f"{path}: does not end with a newline (a row cut short)"]
    try:
        rows = list(csv.reader(raw.decode("utf-8").splitlines(True), strict=True))
    except (UnicodeDecodeError, csv.Error) as e:
        return [f"{path}: unreadable as CSV: {e}"]
    if not rows or rows[0] != COLUMNS:
        return [f"{path}: header is not the muxbench header"]
    problems = []
    records = []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(COLUMNS):
            problems.append(f"{path}:{i}: {len(r)} cells, expected {len(COLUMNS)}")
            continue
        records.append(dict(zip(COLUMNS, r)))
    if problems:
        return problems
    env = {r["metric"] for r in records if r["status"] == "env"}
    # An interruption before the environment rows were written leaves the header alone: whole,
    # and empty. Rows of cases without the environment rows would be a torn file.
    if records and not env - {"run_complete"}:
        problems.append(f"{path}: rows without the environment rows")
    if ("run_complete" in env) != want_complete:
        problems.append(f"{path}: run_complete row {'missing' if want_complete else 'present'}")
    # A measured case is whole: each of its metrics has all six statistics (and perhaps pooled
    # percentiles), or is percentile rows alone; its repetitions' own rows (rep1 ... repN) run
    # without a gap.
    stats = {}
    for r in records:
        if r["status"] == "ok":
            key = tuple(r[c] for c in CASE_COLUMNS) + (r["metric"],)
            stats.setdefault(key, set()).add(r["stat"])
    rep_index = getattr(SCHEMA, "rep_index", lambda stat: None)
    for key, have in stats.items():
        reps = sorted(i for i in map(rep_index, have) if i is not None)
        named = {s for s in have if rep_index(s) is None}
        pooled = set(SCHEMA.STATS) - FULL_STATS  # percentiles (p50, p99) pooled over reps
        whole = FULL_STATS <= named or named <= pooled
        if not whole or not named - FULL_STATS <= pooled or reps != list(range(1, len(reps) + 1)):
            problems.append(f"{path}: case {key} has statistics {sorted(have)} only")
    return problems


def case_count(path):
    """Cases with at least one row (not env) in a CSV file."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return len({tuple(r[COLUMNS.index(c)] for c in CASE_COLUMNS) for r in rows[1:]
                if len(r) == len(COLUMNS) and r[COLUMNS.index("workload")] != "env"})


def output_state(directory, out):
    """('none'|'complete'|'partial'|'both', problems) for the outputs of a run into out, plus
    any hidden temporary file left in the directory (a problem in every case)."""
    partial = os.path.splitext(out)[0] + ".partial.csv"
    problems = [f"hidden temporary file left: {os.path.basename(t)}"
                for t in glob.glob(os.path.join(directory, ".*.tmp*"))]
    have_out, have_partial = os.path.exists(out), os.path.exists(partial)
    if have_out:
        problems += csv_problems(out, True)
    if have_partial:
        problems += csv_problems(partial, False)
    state = {(False, False): "none", (True, False): "complete", (False, True): "partial",
             (True, True): "both"}[(have_out, have_partial)]
    return state, problems


# ---- processes -------------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of the runs this process starts come here instead of to PID 1 (which, in a
    container without an init, never reaps them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return {"pid": pid, "name": name, "state": fields[0], "ppid": int(fields[1]),
            "pgrp": int(fields[2])}


# The runs started through start() and not yet waited for: this process's own children, never
# someone's leftovers.
RUNNING = set()


def _stray(st, run_pid):
    """A process of the finished run run_pid: in its group, or re-parented here."""
    return st["pid"] != os.getpid() and st["pid"] not in RUNNING and \
        (st["pgrp"] == run_pid or st["ppid"] == os.getpid())


def leftovers(run_pid):
    """Processes of a finished run still in the process table: in its process group, or
    re-parented to this (subreaper) process. Each as 'name pid state'."""
    RUNNING.discard(run_pid)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_stat(int(entry))
        if st and _stray(st, run_pid):
            found.append(st)
    return [f"{s['name']} pid {s['pid']} state {s['state']}"
            + (" (zombie: never reaped)" if s["state"] == "Z" else " (alive)") for s in found]


def clean_up(run_pid):
    """Kills and reaps what a finished run left, so the next trial starts clean."""
    RUNNING.discard(run_pid)
    try:
        os.killpg(run_pid, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.time() + 5
    while time.time() < deadline:
        strays = []
        for entry in os.listdir("/proc"):
            st = proc_stat(int(entry)) if entry.isdigit() else None
            if st and _stray(st, run_pid):
                strays.append(st)
        if not strays:
            return
        for st in strays:
            try:
                if st["state"] != "Z":
                    os.kill(st["pid"], signal.SIGKILL)
                if st["ppid"] == os.getpid():
                    os.waitpid(st["pid"], os.WNOHANG)
            except OSError:
                pass
        time.sleep(0.01)


def process_state(pid):
    st = proc_stat(pid)
    return st["state"] if st else None


def wait_stopped(proc, timeout):
    """True once proc is stopped (it reached its stop point), False if it exited first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if process_state(proc.pid) == "T":
            return True
        time.sleep(0.002)
    return False


def start(cmd, env=None, **kw):
    """A run in a session (and process group) of its own."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env, **kw)
    RUNNING.add(proc.pid)
    return proc


# ---- the results log -------------------------------------------------------------------------

def record(suite, item, trials, held, expected, outcome, **extra):
    """One line of the reliability log: what was tried (item), how often, how often what was
    expected held."""
    path = os.environ.get("MUXBENCH_RELIABILITY_LOG")
    if not path:
        return
    entry = {"suite": suite, "item": item, "trials": trials, "held": held,
             "expected": expected, "outcome": outcome, "time": time.time()}
    entry.update(extra)
    with open(path, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def sanitizer_of(muxbench):
    """'address', 'thread' or '' for the build of this muxbench (its CSV env rows say)."""
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(muxbench))),
                         "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("MUX_SANITIZE:"):
                    value = line.split("=", 1)[1].strip()
                    return "thread" if "thread" in value else ("address" if value else "")
    except OSError:
        pass
    return ""
