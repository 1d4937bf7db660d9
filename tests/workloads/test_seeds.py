#!/usr/bin/env python3
"""End-to-end tests of the seed workloads (nwait, iobound, cancel, checkpoint); standard library
only, on test_cli.py's helpers.

    test_seeds.py MUXBENCH GROUP

GROUP is one of:
  nwait               every request answered (counted), total_ns at least N x D sequentially
                      and at least D concurrently (the server holds each request D), a speedup
                      row per concurrent variant; bad input exits 2
  nwait_server_dies   the delay server killed mid-run: an error row naming the request, exit 1,
                      no process left behind
  nwait_interrupt     SIGINT while requests wait: exit 130 and the delay server is gone
  iobound             every operation recorded, percentiles ordered, the requested sleeps the
                      same in every variant (seeded), nothing ends early; bad input exits 2
  cancel              every task blocked, cancelled and released in every variant; a fd limit
                      too small for the tasks is a limit row; bad input exits 2
  checkpoint          one yield and at least one poller wait per checkpoint await, none on the
                      fast path; a never-yielding task delays the ticker by (nearly) its whole
                      run; bad input exits 2
Exit status: 0 pass, 1 fail, 77 skip.
"""
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import test_cli  # noqa: E402  (same argv, same checks)
from test_cli import check, expect_usage_errors, run, validate_csv  # noqa: E402

MUXBENCH = test_cli.MUXBENCH


def rows_of(rows, workload, **want):
    return [r for r in rows if r["workload"] == workload
            and all(r.get(k) == v for k, v in want.items())]


def value(rows, workload, **want):
    got = rows_of(rows, workload, **want)
    return float(got[0]["value"]) if len(got) == 1 else None


def quick(workload, *sets, poller="epoll"):
    tmp = tempfile.mkdtemp(prefix=f"muxbench-{workload}-")
    out = os.path.join(tmp, f"{workload}.csv")
    args = ["run", "--workload", workload, "--poller", poller, "--quick", "--out", out]
    for s in sets:
        args += ["--set", s]
    p = run(args)
    return p, out


def children_of(pid):
    """Pids whose parent is pid (from /proc/<pid>/stat)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(d))
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def holds_socket(pid):
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def wait_for_child(proc, deadline_s=30):
    """The run's delay server: a live child holding sockets. Not any child: at start-up
    muxbench forks short-lived io_uring probes (a pipe and a ring, no socket), which a test
    that took the first child would kill or find gone (CI under ThreadSanitizer)."""
    end = time.time() + deadline_s
    while time.time() < end and proc.poll() is None:
        for kid in children_of(proc.pid):
            if alive(kid) and holds_socket(kid):
                return kid
        time.sleep(0.02)
    return None


# ---- nwait ----------------------------------------------------------------------------------

def nwait():
    n, d_ms = 5, 20
    p, out = quick("nwait", f"units={n}", f"delay_ns={d_ms}ms", "transport=tcp,unix")
    check(p.returncode == 0, f"nwait run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    d_ns = d_ms * 1e6
    for transport in ("tcp", "unix"):
        for variant, poller, floor in (("sequential", "", n * d_ns), ("threads", "", d_ns),
                                       ("coroutines", "epoll", d_ns)):
            where = f"nwait {variant} {transport}"
            ok = rows_of(rows, "nwait", variant=variant, poller=poller, transport=transport,
                         metric="total_ns", stat="min")
            if not check(len(ok) == 1, f"{where}: {len(ok)} total_ns min rows"):
                continue
            # Logical, not a timing threshold: the server holds every request at least D.
            check(float(ok[0]["value"]) >= floor, f"{where}: total {ok[0]['value']} < {floor}")
            check(f"{n} of {n} answered (counted)" in ok[0]["note"], f"{where}: {ok[0]['note']}")
            check(ok[0]["delay_ns"] == str(int(d_ns)), f"{where}: delay_ns {ok[0]['delay_ns']}")
            over = value(rows, "nwait", variant=variant, poller=poller, transport=transport,
                         metric="overhead_ns", stat="min")
            check(over is not None and over >= 0, f"{where}: overhead_ns {over}")
            if variant != "sequential":
                s = value(rows, "nwait", variant=variant, poller=poller, transport=transport,
                          metric="speedup", stat="median", status="derived")
                check(s is not None and s > 0, f"{where}: speedup {s}")
    check(not rows_of(rows, "nwait", status="error"), "no nwait case failed")
    expect_usage_errors([
        (["--workload", "nwait", "--set", "delay_ns=5xs"], "not a duration"),
        (["--workload", "nwait", "--set", "delay_ns=2h"], "not a duration"),
        (["--workload", "nwait", "--set", "delay_ns=3601s"], "out of range"),
        (["--workload", "nwait", "--set", "units=20000"], "at most 10000 requests"),
        (["--workload", "nwait", "--set", "variant=async"], "not one of"),
    ])


def nwait_server_dies():
    tmp = tempfile.mkdtemp(prefix="muxbench-nwait-dies-")
    out = os.path.join(tmp, "dies.csv")
    proc = subprocess.Popen([MUXBENCH, "run", "--workload", "nwait", "--poller", "epoll",
                             "--set", "variant=sequential", "--set", "units=3",
                             "--set", "delay_ns=2s", "--repetitions", "1", "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = wait_for_child(proc)
    if not check(server is not None, "the delay server process started"):
        proc.kill()
        proc.communicate()
        return
    time.sleep(0.3)  # the first request is waiting
    os.kill(server, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    check(proc.returncode == 1, f"exit {proc.returncode} after the server died: {err[-800:]}")
    rows = validate_csv(out)
    bad = rows_of(rows, "nwait", status="error")
    check(len(bad) == 1 and "request 1 of 3" in bad[0]["note"],
          f"an error row naming the request: {[r['note'] for r in bad]}")
    check(not alive(server), f"the dead server {server} was reaped")


def nwait_interrupt():
    tmp = tempfile.mkdtemp(prefix="muxbench-nwait-int-")
    out = os.path.join(tmp, "int.csv")
    proc = subprocess.Popen([MUXBENCH, "run", "--workload", "nwait", "--poller", "epoll",
                             "--set", "variant=sequential", "--set", "units=3",
                             "--set", "delay_ns=5s", "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = wait_for_child(proc)
    if not check(server is not None, "the delay server process started"):
        proc.kill()
        proc.communicate()
        return
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    check(proc.returncode == 130, f"exit {proc.returncode} on SIGINT: {err[-500:]}")
    check(not alive(server), f"the delay server {server} is gone")


# ---- iobound --------------------------------------------------------------------------------

def iobound():
    units, ops = 10, 20
    p, out = quick("iobound", f"units={units}", f"ops={ops}", "mean_ns=1ms")
    check(p.returncode == 0, f"iobound run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    req = {}
    for variant, poller in (("coroutines", "epoll"), ("threads", "")):
        where = f"iobound {variant}"
        got = lambda metric, stat: value(rows, "iobound", variant=variant, poller=poller,
                                         metric=metric, stat=stat)
        check(got("ops_counted", "min") == units * ops, f"{where}: ops_counted")
        p50, p95, p99 = got("op_us", "p50"), got("op_us", "p95"), got("op_us", "p99")
        if check(None not in (p50, p95, p99), f"{where}: op_us percentiles"):
            check(0 < p50 <= p95 <= p99, f"{where}: p50 {p50} p95 {p95} p99 {p99}")
        late = got("late_us", "p50")
        check(late is not None and late >= 0, f"{where}: late_us p50 {late}")
        req[variant] = (got("req_us", "p50"), got("req_us", "p95"))
        # An op is its requested sleep plus what the runtime added: never less.
        check(req[variant][0] is not None and p50 is not None and p50 >= req[variant][0],
              f"{where}: op p50 {p50} below the requested p50 {req[variant][0]}")
    check(req["coroutines"] == req["threads"] and None not in req["threads"],
          f"the same seeded sleeps in both variants: {req}")
    check(not rows_of(rows, "iobound", status="error"), "no iobound case failed")
    expect_usage_errors([
        (["--workload", "iobound", "--set", "ops=0"], "out of range"),
        (["--workload", "iobound", "--set", "units=100000", "--set", "ops=1000"],
         "at most 10000000 operations"),
        (["--workload", "iobound", "--set", "mean_ns=5 ms"], "not a duration"),
    ])


# ---- cancel ---------------------------------------------------------------------------------

def cancel():
    p, out = quick("cancel", "units=60")
    check(p.returncode == 0, f"cancel run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    for variant, poller in (("coroutines", "epoll"), ("pthread-cancel", ""), ("eventfd", "")):
        where = f"cancel {variant}"
        ok = rows_of(rows, "cancel", variant=variant, poller=poller, metric="cancel_ns",
                     stat="median")
        if not check(len(ok) == 1, f"{where}: {len(ok)} cancel_ns rows"):
            continue
        check(float(ok[0]["value"]) > 0, f"{where}: cancel_ns {ok[0]['value']}")
        check("every task blocked, cancelled and released" in ok[0]["note"],
              f"{where}: {ok[0]['note']}")
        per = value(rows, "cancel", variant=variant, poller=poller,
                    metric="cancel_per_task_ns", stat="median")
        check(per is not None and abs(per * 60 - float(ok[0]["value"])) <= 0.01 * per * 60 + 1,
              f"{where}: cancel_per_task_ns {per} is cancel_ns / units")
    check(not rows_of(rows, "cancel", status="error"), "no cancel case failed")

    # 500 tasks need about 500 fds: a hard limit of 200 makes that case a limit row; the run
    # measured 20 tasks first, so it exits 0 (3 only when nothing could be measured).
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
    tmp = tempfile.mkdtemp(prefix="muxbench-cancel-lim-")
    out = os.path.join(tmp, "lim.csv")
    p = subprocess.run([MUXBENCH, "run", "--workload", "cancel", "--poller", "epoll",
                        "--set", "units=20,500", "--set", "variant=coroutines", "--quick",
                        "--out", out], capture_output=True, text=True, timeout=300,
                       preexec_fn=low_nofile)
    check(p.returncode == 0, f"cancel at the fd limit: exit {p.returncode}: {p.stderr[-800:]}")
    if os.path.exists(out):
        rows = validate_csv(out)
        lim = rows_of(rows, "cancel", status="limit")
        check(len(lim) == 1 and "RLIMIT_NOFILE" in lim[0]["note"],
              f"a limit row naming RLIMIT_NOFILE: {[r['note'] for r in rows_of(rows, 'cancel')]}")
    # A backend with a fixed fd set (libevent-select: FD_SETSIZE) cannot watch 2,000 tasks'
    # socketpairs: that case is a skipped row saying so, never an error; 20 tasks still run.
    out = os.path.join(tmp, "fdset.csv")
    p = subprocess.run([MUXBENCH, "run", "--workload", "cancel", "--poller", "libevent-select",
                        "--set", "units=20,2000", "--set", "variant=coroutines", "--quick",
                        "--out", out], capture_output=True, text=True, timeout=300)
    avail = subprocess.run([MUXBENCH, "list"], capture_output=True, text=True).stdout
    if re.search(r"^\s*libevent-select\s+available", avail, re.M):
        check(p.returncode == 0, f"cancel over libevent-select: exit {p.returncode}: "
                                 f"{p.stderr[-800:]}")
        rows = validate_csv(out)
        skip = rows_of(rows, "cancel", status="skipped", units="2000")
        check(len(skip) == 1 and "FD_SETSIZE" in skip[0]["note"],
              f"2,000 tasks over libevent-select: one skipped row naming FD_SETSIZE: "
              f"{[(r['units'], r['status'], r['note']) for r in rows_of(rows, 'cancel')]}")
        check(rows_of(rows, "cancel", status="ok", units="20"), "20 tasks ran")
    expect_usage_errors([
        (["--workload", "cancel", "--set", "units=200000"], "at most 100000 tasks"),
        (["--workload", "cancel", "--set", "variant=sigkill"], "not one of"),
    ])


# ---- checkpoint -----------------------------------------------------------------------------

def checkpoint():
    busy_ms = 10
    p, out = quick("checkpoint", f"busy_ns={busy_ms}ms", "yield_every_ns=200us")
    check(p.returncode == 0, f"checkpoint run: exit {p.returncode}: {p.stderr[-1500:]}")
    rows = validate_csv(out)
    get = lambda variant, metric, poller="epoll": value(
        rows, "checkpoint", variant=variant, poller=poller, metric=metric, stat="median")
    check(get("checkpoint", "yields_per_await") == 1, "one yield per checkpoint await")
    check((get("checkpoint", "poller_waits_per_await") or 0) >= 1,
          "a poller wait per checkpoint await")
    check(get("fastpath", "yields_per_await") == 0, "no yield on the fast path")
    # The fast path's only waits are the scheduler's at the start and end of a batch (1e6 awaits).
    check((get("fastpath", "poller_waits_per_await") or 1) < 0.001,
          "no poller wait per await on the fast path")
    for v in ("checkpoint", "fastpath"):
        a = get(v, "await_ns")
        check(a is not None and a > 0, f"await_ns {v}: {a}")
    r = get("request", "request_ns")
    check(r is not None and r > 0, f"request_ns: {r}")
    # Logical: a tick due in the busy stretch waits for its end; the first such tick is due at
    # most 1 ms after the stretch begins.
    starve = value(rows, "checkpoint", variant="never-yields", poller="epoll",
                   metric="starve_ns", stat="min")
    check(starve is not None and starve >= (busy_ms - 1) * 1e6,
          f"never-yields starve_ns {starve} < busy_ns - 1 ms")
    check((get("never-yields", "yields") or 0) == 0, "never-yields yields nothing")
    check((get("yields", "yields") or 0) >= 1, "yields yields")
    check(get("threads", "starve_ns", poller="") is not None or
          rows_of(rows, "checkpoint", variant="threads", status="skipped"),
          "threads measured (or skipped with a reason)")
    check(not rows_of(rows, "checkpoint", status="error"), "no checkpoint case failed")
    expect_usage_errors([
        (["--workload", "checkpoint", "--set", "busy_ns=1ms", "--set", "yield_every_ns=2ms"],
         "longer than busy_ns"),
        (["--workload", "checkpoint", "--set", "busy_ns=10"], "out of range"),
        (["--workload", "checkpoint", "--set", "yield_every_ns=1m"], "not a duration"),
    ])


if __name__ == "__main__":
    sys.exit(test_cli.main({"nwait": nwait, "nwait_server_dies": nwait_server_dies,
                            "nwait_interrupt": nwait_interrupt, "iobound": iobound,
                            "cancel": cancel, "checkpoint": checkpoint}, prefix="seeds"))
