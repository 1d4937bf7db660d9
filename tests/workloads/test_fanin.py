#!/usr/bin/env python3
"""End-to-end tests of the fanin workload through the muxbench command line (standard library
only).

    test_fanin.py MUXBENCH GROUP

GROUP is one of:
  bad_input   parameter validation: active > fds, zero and negative numbers, an unknown transport
              exit 2; fds beyond RLIMIT_NOFILE exits 3 naming the limit, the largest fds possible
              and how to raise it; nothing runs and nothing is written
  quick_fit   a quick run with --poller select,epoll parsed with the csv module: every metric for
              every point of both sweeps (timeout blocking and zero), the derived fit rows with
              their standard errors, recomputed here from the CSV's medians, a positive per-fd
              slope for select, and the decomposition rows (scan, wait-queue registration)
  peer_skip   libevent-select at fds >= 1024 writes a skipped row with the reason
  cleanup     no helper process outlives a run: a normal one, one whose helper is killed midway
              (error rows, later cases still run), one interrupted with SIGINT, and one killed
              with SIGKILL (the helper dies with it)
Exit status: 0 pass, 1 fail, 77 skip.
"""
import csv
import ctypes
import glob
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from test_cli import MUXBENCH, GROUP, check, run, validate_csv  # noqa: E402  (same argv, same checks)
from test_cli import main as cli_main  # noqa: E402

TAG = "MUXBENCH_TEST_TAG"
FANIN_METRICS = {"wait_ns", "event_ns", "add_ns", "del_ns", "idle_wait_ns", "events_per_wait",
                 "bracket_ns", "wait_sleeps", "fdtable_sharers", "bare_poll_ns",
                 "wait_vs_bare_poll"}
FIT_METRICS = {"wait_ns_per_fd", "wait_ns_fixed", "wait_fit_r2", "wait_fit_points",
               "wait_exponent"}
PART_METRICS = {"per_fd_scan_ns", "per_fd_wqueue_ns"}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fanin_rows(path):
    return [r for r in read_rows(path) if r["workload"] == "fanin"]


# ---- bad input ----------------------------------------------------------------------------

def bad_input():
    tmp = tempfile.mkdtemp(prefix="muxbench-fanin-")
    out = os.path.join(tmp, "x.csv")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        with open("/proc/sys/fs/nr_open") as f:
            hard = int(f.read())
    base = ["run", "--workload", "fanin", "--poller", "epoll", "--out", out, "--set",
            "timeout=blocking"]
    cases = [
        # (extra args, exit status, texts the message must contain)
        (["--set", "fds=10", "--set", "active=20"], 2, ["active=20 is larger than fds=10"]),
        (["--set", "fds=100,5", "--set", "active=8"], 2, ["active=8 is larger than fds=5"]),
        (["--set", "fds=0"], 2, ["fds=0", "out of range"]),
        (["--set", "fds=-3"], 2, ["fds=-3", "not a whole number"]),
        (["--set", "active=0"], 2, ["active=0", "out of range"]),
        (["--set", "active=-1"], 2, ["not a whole number"]),
        (["--set", "writes=0"], 2, ["writes=0", "out of range"]),
        (["--set", "fds=8", "--set", "active=4", "--set", "writes=2"], 2,
         ["writes=2 is smaller than active=4"]),
        (["--set", "transport=pigeon"], 2, ["transport=pigeon", "unix", "tcp"]),
        (["--set", "position=middle"], 2, ["spread", "first", "last"]),
        (["--set", "timeout=soon"], 2, ["blocking", "zero"]),
        # Beyond the fd limit: exit 3 with the limit, the largest fds, and what to change.
        (["--set", f"fds=100,{hard + 1}"], 3,
         [f"fds={hard + 1}", f"the limit is {hard}", f"largest fds possible is {hard - 100}",
          "ulimit", "limits.conf"]),
        (["--set", f"active={hard}"], 3, [f"active={hard}", str(hard - 100)]),
    ]
    for extra, status, texts in cases:
        p = run(base + extra)
        where = " ".join(extra)
        check(p.returncode == status,
              f"{where}: exit {p.returncode}, expected {status}; stderr: {p.stderr.strip()[:300]}")
        for t in texts:
            check(t in p.stderr, f"{where}: message lacks '{t}': {p.stderr.strip()[:400]}")
        check("[ 1/" not in p.stderr, f"{where}: a case ran before the error")
        check(not os.path.exists(out), f"{where}: wrote {out}")

    # A lower limit, set before muxbench starts: the numbers follow it.
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    p = subprocess.run([MUXBENCH] + base + ["--set", "fds=2000"], capture_output=True, text=True,
                       timeout=120, preexec_fn=low_limit)
    check(p.returncode == 3, f"limit 1024, fds=2000: exit {p.returncode}: {p.stderr[-300:]}")
    for t in ("the limit is 1024", "largest fds possible is 924"):
        check(t in p.stderr, f"limit 1024: message lacks '{t}': {p.stderr.strip()[:400]}")
    check("cannot raise it" in p.stderr or "may raise it" in p.stderr,
          f"limit 1024: the message says whether the hard limit can be raised here: {p.stderr}")
    # fds the process already holds (inherited here) leave fewer than planned: the sweep ends
    # with a limit row saying how far it got, and the run itself does not fail.
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(150)]
    try:
        p = subprocess.run([MUXBENCH] + base + ["--quick", "--set", "fds=100,924"],
                           capture_output=True, text=True, timeout=120, preexec_fn=low_limit,
                           pass_fds=held)
    finally:
        for fd in held:
            os.close(fd)
    check(p.returncode == 0, f"fds held elsewhere: exit {p.returncode}: {p.stderr[-500:]}")
    if check(os.path.exists(out), "fds held elsewhere: the CSV is written"):
        validate_csv(out)
        limit = [r for r in fanin_rows(out) if r["status"] == "limit"]
        check(len(limit) == 1 and limit[0]["fds"] == "924"
              and 0 < float(limit[0]["value"]) < 924
              and "Too many open files" in limit[0]["note"],
              f"fds held elsewhere: one limit row with how far it got: {limit}")
        ran = [r for r in fanin_rows(out) if r["fds"] == "100" and r["status"] == "ok"]
        check(ran, "fds held elsewhere: the point below the limit ran")
        os.unlink(out)
    # The default sweep stops at the limit instead of failing halfway.
    p = subprocess.run([MUXBENCH] + base + ["--list-cases"], capture_output=True, text=True,
                       timeout=120, preexec_fn=low_limit)
    check(p.returncode == 0, f"--list-cases under limit 1024: exit {p.returncode}")
    fds = [int(m) for m in re.findall(r"/fds:(\d+)/", p.stdout)]
    check(fds and max(fds) == 924 and 512 in fds and 1000 not in fds,
          f"default sweep under limit 1024: {fds}")

    # fdtable=auto (the default): a shared sweep only at timeout=zero on a backend whose wait
    # scans every fd; an O(1) backend and a blocking wait run private only. Given explicitly,
    # fdtable=shared runs wherever it is asked.
    def sweeps(poller, *extra):
        p = run(["run", "--workload", "fanin", "--poller", poller, "--list-cases"] + list(extra))
        check(p.returncode == 0, f"--list-cases {poller} {extra}: exit {p.returncode}")
        return {(m.group(1), m.group(2)) for m in
                re.finditer(r"/timeout:(\w+)/.*?/fdtable:(\w+)/", p.stdout)}
    check(sweeps("poll") == {("zero", "private"), ("zero", "shared"), ("blocking", "private")},
          f"fdtable=auto on poll: {sweeps('poll')}")
    check(sweeps("epoll") == {("zero", "private"), ("blocking", "private")},
          f"fdtable=auto on epoll: {sweeps('epoll')}")
    check(("blocking", "shared") in sweeps("epoll", "--set", "fdtable=private,shared"),
          "fdtable=private,shared given: every combination runs")


# ---- a quick real run ---------------------------------------------------------------------

def weighted_fit(xs, ys, weighted=True):
    """Least squares weighted by 1/y^2 (fanin's per-fd fit), or unweighted (its exponent)."""
    w = [1 / (y * y) if weighted else 1.0 for y in ys]
    sw = sum(w)
    mx = sum(wi * x for wi, x in zip(w, xs)) / sw
    my = sum(wi * y for wi, y in zip(w, ys)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, x in zip(w, xs))
    sxy = sum(wi * (x - mx) * (y - my) for wi, x, y in zip(w, xs, ys))
    syy = sum(wi * (y - my) ** 2 for wi, y in zip(w, ys))
    slope = sxy / sxx
    icpt = my - slope * mx
    res = sum(wi * (y - icpt - slope * x) ** 2 for wi, x, y in zip(w, xs, ys))
    return {"slope": slope, "intercept": icpt, "r2": 1 - res / syy if syy > 0 else 1.0}


def quick_fit():
    tmp = tempfile.mkdtemp(prefix="muxbench-fanin-")
    out = os.path.join(tmp, "quick.csv")
    t0 = time.time()
    p = run(["run", "--workload", "fanin", "--poller", "select,epoll", "--quick", "--out", out])
    took = time.time() - t0
    if not check(p.returncode == 0, f"quick run: exit {p.returncode}: {p.stderr[-2000:]}"):
        return
    # How long it took is printed below, a figure: a timed assertion would flake under load.
    rows = fanin_rows(out)
    for poller, timeout in [(p, t) for p in ("select", "epoll") for t in ("blocking", "zero")]:
        mine = [r for r in rows if r["poller"] == poller and r["timeout"] == timeout]
        points = sorted({int(r["fds"]) for r in mine if r["fds"]})
        check(points == [1, 10, 100, 1000, 10000], f"{poller}: quick sweep {points}")
        for n in points:
            got = {r["metric"] for r in mine if r["fds"] == str(n) and r["stat"] == "median"}
            check(FANIN_METRICS <= got, f"{poller} fds={n}: metrics {sorted(got)}")
            p99 = [r for r in mine if r["fds"] == str(n) and r["stat"] == "p99"]
            check(len(p99) == 1 and p99[0]["metric"] == "wait_ns", f"{poller} fds={n}: p99 row")
            pooled = [r for r in mine if r["fds"] == str(n) and r["stat"] in ("p50", "p99")]
            check(all(int(r["iterations"]) >= int(r["repetitions"]) * 10 for r in pooled),
                  f"{poller} fds={n}: the percentiles pool every repetition's samples: "
                  f"{[(r['repetitions'], r['iterations']) for r in pooled]}")
            epw = [float(r["value"]) for r in mine if r["fds"] == str(n)
                   and r["metric"] == "events_per_wait" and r["stat"] == "median"]
            check(epw == [1.0], f"{poller} fds={n}: events_per_wait {epw} (active=1)")
            sharers = [r["value"] for r in mine if r["fds"] == str(n)
                       and r["metric"] == "fdtable_sharers" and r["stat"] == "median"]
            check(sharers == ["0"] and all(r["fdtable"] == "private" for r in mine),
                  f"{poller} fds={n}: the fd table is private by default: {sharers}")
        fit = {(r["metric"], r["stat"]): r for r in mine if r["status"] == "derived"}
        if not check({m for m, _ in fit} == FIT_METRICS, f"{poller}: fit rows {sorted(fit)}"):
            continue
        for m in ("wait_ns_per_fd", "wait_ns_fixed", "wait_exponent"):
            check((m, "se") in fit and float(fit[(m, "se")]["value"]) >= 0,
                  f"{poller}: {m} has a standard error")
        for r in fit.values():
            check(r["fds"] == "" and r["active"] == "1" and r["transport"] == "unix"
                  and r["placement"] != "", f"{poller}: the fit row's columns {r}")
        for m in ("wait_ns_per_fd", "wait_ns_fixed", "wait_fit_r2"):
            note = fit[(m, "median")]["note"]
            check("5 points" in note and "fds=1..10000" in note,
                  f"{poller}: the fit says what it fitted: {note}")
        check("3 points" in fit[("wait_exponent", "median")]["note"],
              f"{poller}: the exponent is fitted over the top two decades (100..10000)")
        # The derived fit, recomputed here from the CSV's own p50 rows (pooled samples).
        med = sorted((int(r["fds"]), float(r["value"])) for r in mine
                     if r["fds"] and r["metric"] == "wait_ns" and r["stat"] == "p50")
        want = weighted_fit([x for x, _ in med], [y for _, y in med])
        for m, k in (("wait_ns_per_fd", "slope"), ("wait_ns_fixed", "intercept"),
                     ("wait_fit_r2", "r2")):
            got = float(fit[(m, "median")]["value"])
            check(abs(got - want[k]) <= 1e-6 * max(1.0, abs(want[k])),
                  f"{poller} {timeout}: {m} {got} is not the fit of the p50s {want[k]}")
        top = [(x, y) for x, y in med if x * 100 >= med[-1][0]]
        expo = weighted_fit([math.log(x) for x, _ in top], [math.log(y) for _, y in top],
                            weighted=False)
        got = float(fit[("wait_exponent", "median")]["value"])
        check(abs(got - expo["slope"]) < 1e-6, f"{poller}: exponent {got} vs {expo['slope']}")
        placed = {r["placement"] for r in mine if r["status"] == "ok"}
        notes = {r["note"] for r in mine if r["status"] == "ok"}
        check(len(placed) == 1 and all("bound to cpu" in n or "unpinned" in n for n in notes),
              f"{poller}: one placement, and the note says where the threads ran: {notes}")
        if poller == "select":
            slope = float(fit[("wait_ns_per_fd", "median")]["value"])
            # The sign of the slope over 1..10,000 fds is not a matter of noise: select
            # walks every watched fd. How well a line fits is (R² is reported, not judged).
            check(slope > 0, f"select: per-fd slope {slope} is not positive")
    for poller in ("select", "epoll"):
        parts = {r["metric"] for r in rows if r["poller"] == poller and r["status"] == "derived"
                 and r["timeout"] == "" and r["fds"] == ""}
        check(parts == PART_METRICS, f"{poller}: decomposition rows {sorted(parts)}")
    print(f"quick fanin run in {took:.1f} s: {len(rows)} rows in {out}")
    # A placement the machine lacks is a skip with the reason, never a run elsewhere.
    listing = run(["list"]).stdout
    missing = [pl for pl in ("cross-numa", "cross-l3", "smt-sibling")
               if re.search(rf"^\s+{pl}\s+unavailable", listing, re.M)]
    if missing:
        p = run(["run", "--workload", "fanin", "--poller", "epoll", "--quick", "--set", "fds=10",
                 "--set", f"placement={missing[0]}", "--out", out])
        check(p.returncode == 3, f"placement={missing[0]}: exit {p.returncode} (nothing ran)")
        skipped = [r for r in fanin_rows(out) if r["status"] == "skipped" and r["fds"] == "10"]
        check(skipped and missing[0] in skipped[0]["note"],
              f"placement={missing[0]}: a skipped row with the reason: {skipped}")


# ---- the peer's skip ----------------------------------------------------------------------

def peer_skip():
    p = run(["list"])
    if "libevent-select    available" not in p.stdout:
        print("SKIP: libevent-select is not available (built without libevent)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="muxbench-fanin-")
    out = os.path.join(tmp, "peer.csv")
    p = run(["run", "--workload", "fanin", "--poller", "libevent-select", "--quick",
             "--set", "fds=100,1024,5000", "--set", "timeout=blocking", "--out", out])
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-1000:]}")
    rows = fanin_rows(out)
    ok = [r for r in rows if r["fds"] == "100" and r["metric"] == "wait_ns" and r["status"] == "ok"]
    check(ok, "libevent-select at fds=100 ran")
    for n in ("1024", "5000"):
        skipped = [r for r in rows if r["fds"] == n and r["status"] == "skipped"]
        if check(len(skipped) == 1, f"libevent-select at fds={n}: one skipped row: {skipped}"):
            note = skipped[0]["note"]
            for t in ("FD_SETSIZE", ">= 1024", "aborts"):
                check(t in note, f"fds={n}: the reason lacks '{t}': {note}")


# ---- the helper never outlives a run ------------------------------------------------------

def become_subreaper():
    """Orphans of the runs (a helper whose muxbench died) are reparented here, so an unreaped
    one shows up as our zombie instead of disappearing into PID 1."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def tagged(tag):
    """Live processes of one run, by the tag in their environment: {pid: comm}."""
    found = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/environ", "rb") as f:
                if (TAG + "=" + tag).encode() not in f.read().split(b"\0"):
                    continue
            with open(d + "/comm") as f:
                found[int(os.path.basename(d))] = f.read().strip()
        except OSError:
            pass
    return found


def helpers(tag):
    return [pid for pid, comm in tagged(tag).items() if comm == "muxbench-fanin"]


def orphans_reaped():
    """Reaps what was reparented to us; returns their pids, each with its name."""
    pids = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return pids
        if info is None:
            return pids
        try:
            with open(f"/proc/{info.si_pid}/stat") as f:
                name = f.read().split(" ")[1]
        except OSError:
            name = "?"
        os.waitpid(info.si_pid, 0)
        pids.append(f"{info.si_pid} {name}")


def exists(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def start(args, tag):
    env = dict(os.environ, **{TAG: tag})
    return subprocess.Popen([MUXBENCH] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def wait_first_case(proc, deadline_s=120):
    """Reads stderr until case 1's progress line is complete: case 2 is running."""
    t0 = time.time()
    while time.time() - t0 < deadline_s:
        line = proc.stderr.readline()
        if not line:
            return False
        if re.match(r"^\[\s*1/", line) and line.endswith("\n"):
            return True
    return False


def check_gone(pids, what):
    for pid in pids:
        check(not exists(pid), f"{what}: helper {pid} still exists (alive or a zombie)")
    left = orphans_reaped()
    check(not left, f"{what}: processes were left to the reaper: {left}")


def cleanup():
    check(become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER)")
    tmp = tempfile.mkdtemp(prefix="muxbench-fanin-")
    out = os.path.join(tmp, "c.csv")
    long_run = ["run", "--workload", "fanin", "--poller", "poll,epoll", "--out", out,
                "--set", "fds=100,200,400,800,1600", "--set", "timeout=blocking",
                "--set", "fdtable=private"]

    # A normal run.
    tag = uuid.uuid4().hex
    proc = start(["run", "--workload", "fanin", "--poller", "epoll", "--quick", "--out", out,
                  "--set", "fds=10,100", "--set", "timeout=blocking"], tag)
    seen = set()
    while proc.poll() is None:
        seen.update(helpers(tag))
        time.sleep(0.02)
    proc.communicate()
    check(proc.returncode == 0, f"normal run: exit {proc.returncode}")
    check(seen, "normal run: a helper process was seen while it ran")
    check_gone(seen, "normal run")

    # The helper killed midway: the case fails with an error row, later cases get a new one.
    def kill_helper(proc, tag, running):
        for pid in running:
            os.kill(pid, signal.SIGKILL)  # the test started it, through muxbench
        seen = set(running)
        while proc.poll() is None:
            seen.update(helpers(tag))
            time.sleep(0.02)
        _, err = proc.communicate(timeout=300)
        check(proc.returncode == 1, f"helper-killed run: exit {proc.returncode}: {err[-500:]}")
        rows = fanin_rows(out)
        errors = [r for r in rows if r["status"] == "error"]
        check(errors and all("helper" in r["note"] for r in errors),
              f"helper-killed run: error rows naming the helper: {[r['note'] for r in errors]}")
        check(len(errors) <= 2, f"only the case in flight failed: {len(errors)} error rows")
        later = [r for r in rows if r["poller"] == "epoll" and r["metric"] == "wait_ns"
                 and r["status"] == "ok"]
        check(later, "helper-killed run: later cases ran with a new helper")
        check(len(seen) >= 2, f"a new helper replaced the killed one: {seen}")
        check_gone(seen, "helper-killed run")
    midway(long_run, "helper-killed run", kill_helper)

    # SIGINT: the run stops with 130 and reaps its helper itself.
    def interrupt(proc, tag, running):
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        check(proc.returncode == 130, f"SIGINT: exit {proc.returncode}: {err[-300:]}")
        check_gone(running, "SIGINT run")
    midway(long_run, "SIGINT run", interrupt)

    # SIGKILL: nothing in muxbench runs, the helper dies with it (PR_SET_PDEATHSIG).
    def kill(proc, tag, running):
        proc.kill()
        proc.communicate(timeout=60)
        reaped, t0 = [], time.time()
        while set(reaped) < set(running) and time.time() - t0 < 5:
            reaped += [int(p.split()[0]) for p in orphans_reaped()]
            time.sleep(0.05)
        check(set(running) <= set(reaped),
              f"SIGKILL: the helper died with muxbench (reaped here: {reaped}, was {running})")
        check_gone(running, "SIGKILL run")
    midway(long_run, "SIGKILL run", kill)


def midway(args, what, act):
    """Starts a run, and once its first case is done (the second is running) hands it, with
    its helper, to act()."""
    tag = uuid.uuid4().hex
    proc = start(args, tag)
    if not check(wait_first_case(proc), f"{what}: the first case finished"):
        proc.kill()
        proc.communicate()
        return
    running = helpers(tag)
    check(len(running) == 1, f"{what}: one helper while running: {running}")
    act(proc, tag, running)


if __name__ == "__main__":
    sys.exit(cli_main({"bad_input": bad_input, "quick_fit": quick_fit, "peer_skip": peer_skip,
                       "cleanup": cleanup}, "fanin.cli"))
