#!/usr/bin/env python3
"""End-to-end tests of the echo workload through the muxbench command line (standard library
only).

    test_echo.py MUXBENCH GROUP

GROUP is one of:
  bad_input   the load and policy parameters: rate=0, rate=abc, loop=sideways, reg=bogus exit 2
              naming the value and nothing is written; a policy the backend cannot do (edge on
              select) is a skipped row that says so, beside the measured keep rows
  cleanup     no client process outlives a run, alive or as a zombie. This test makes itself a
              subreaper (PR_SET_CHILD_SUBREAPER), so an orphan the run leaves behind comes to it
              instead of to a PID 1 that may never reap it. Runs interrupted with SIGINT, SIGTERM
              and SIGHUP while the client runs (exit 130), one that crashes (SIGSEGV: the crash
              handler kills and reaps the client, the finished cases are in the .partial.csv),
              and one whose client is killed mid-case (an error row, the later cases still run,
              exit 1).
Exit status: 0 pass, 1 fail, 77 skip.
"""
import os
import signal
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, HERE)
from test_cli import check, run  # noqa: E402
from test_cli import main as cli_main  # noqa: E402
from test_fanin import (become_subreaper, exists, orphans_reaped, read_rows, start,  # noqa: E402
                        tagged)

CLIENT = "muxbench-client"


def clients(tag):
    return [pid for pid, comm in tagged(tag).items() if comm == CLIENT]


def long_run(out):
    # Coroutines over epoll, several cases with many repetitions: a client is alive most of the
    # time, and a signal finds one.
    return ["run", "--workload", "echo", "--poller", "epoll", "--out", out, "--repetitions", "30",
            "--set", "variant=coroutine", "--set", "units=10,20,40,80"]


def with_client(what, out, act):
    """Starts a long run and, once a client process exists, hands the run and that client to
    act(); then checks that nothing of the run is left, alive or unreaped."""
    tag = uuid.uuid4().hex
    proc = start(long_run(out), tag)
    running, t0 = [], time.time()
    while not running and proc.poll() is None and time.time() - t0 < 120:
        running = clients(tag)
        time.sleep(0.01)
    if not check(running, f"{what}: a client process ran"):
        proc.kill()
        proc.communicate()
        return
    act(proc, running)
    for pid in running:
        check(not exists(pid), f"{what}: client {pid} still exists (alive or a zombie)")
    left = orphans_reaped()
    check(not left, f"{what}: processes were left to the reaper: {left}")
    check(not clients(tag), f"{what}: no client of the run is alive")


def bad_input():
    tmp = os.path.join("/tmp", "muxbench-echo-" + uuid.uuid4().hex[:8])
    os.makedirs(tmp)
    out = os.path.join(tmp, "b.csv")
    base = ["run", "--workload", "echo", "--poller", "epoll", "--quick", "--out", out,
            "--set", "units=10"]
    for value in ("rate=0", "rate=abc", "loop=sideways", "reg=bogus"):
        p = run(base + ["--set", value])
        check(p.returncode == 2, f"{value}: exit {p.returncode}, expected 2: {p.stderr[-300:]}")
        check(value in p.stderr, f"{value}: the message names it: {p.stderr[-300:]}")
        check(not os.path.exists(out), f"{value}: nothing written")
    p = run(["run", "--workload", "echo", "--poller", "select", "--quick", "--out", out,
             "--set", "units=10", "--set", "variant=coroutine", "--set", "reg=edge,keep"])
    check(p.returncode == 0, f"reg=edge,keep on select: exit {p.returncode}: {p.stderr[-300:]}")
    rows = [r for r in read_rows(out) if r["workload"] == "echo"]
    edge = [r for r in rows if r["reg"] == "edge"]
    check(len(edge) == 1 and edge[0]["status"] == "skipped" and "edge" in edge[0]["note"],
          f"reg=edge on select: one skipped row naming the policy: {edge}")
    check(any(r["reg"] == "keep" and r["status"] == "ok" for r in rows),
          "reg=keep on select: measured")


def cleanup():
    check(become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER)")
    tmp = os.path.join("/tmp", "muxbench-echo-" + uuid.uuid4().hex[:8])
    os.makedirs(tmp)
    out = os.path.join(tmp, "e.csv")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        def interrupt(proc, running, sig=sig):
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
            check(proc.returncode == 130,
                  f"{sig.name}: exit {proc.returncode}, expected 130: {err[-300:]}")
            check("interrupted" in err, f"{sig.name}: the message says so: {err[-300:]}")
        with_client(sig.name, out, interrupt)

    # A crash: the handler kills and reaps the client before the signal takes its course.
    def crash(proc, running):
        for partial in (out[:-4] + ".partial.csv",):
            if os.path.exists(partial):
                os.unlink(partial)
        proc.send_signal(signal.SIGSEGV)
        _, err = proc.communicate(timeout=60)
        check(proc.returncode == -signal.SIGSEGV,
              f"SIGSEGV: killed by the signal, not {proc.returncode}: {err[-300:]}")
        check("crashed" in err, f"SIGSEGV: the crash handler ran: {err[-300:]}")
        check(os.path.exists(out[:-4] + ".partial.csv"), "SIGSEGV: the .partial.csv is there")
    with_client("SIGSEGV", out, crash)

    # The client killed mid-case: that case is an error row, the later cases run with a new
    # client, and the run exits 1.
    def kill_client(proc, running):
        for pid in running:
            os.kill(pid, signal.SIGKILL)  # the test started it, through muxbench
        _, err = proc.communicate(timeout=300)
        check(proc.returncode == 1, f"client killed: exit {proc.returncode}: {err[-500:]}")
        rows = [r for r in read_rows(out) if r["workload"] == "echo"]
        errors = [r for r in rows if r["status"] == "error"]
        check(len(errors) == 1 and "client" in errors[0]["note"],
              f"client killed: one error row naming the client: {[r['note'] for r in errors]}")
        ok = [r for r in rows if r["status"] == "ok" and r["metric"] == "req_per_s"]
        check(ok, "client killed: the other cases ran")
    with_client("client killed", out, kill_client)


if __name__ == "__main__":
    sys.exit(cli_main({"bad_input": bad_input, "cleanup": cleanup}, "echo.cli"))
