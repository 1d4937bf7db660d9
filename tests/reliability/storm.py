#!/usr/bin/env python3
"""Interrupt storm: every workload interrupted by SIGINT, SIGTERM and SIGHUP at every phase.

    storm.py MUXBENCH [--full] [--workload W[,W]] [--seed N]

Each trial starts one small run of one workload in a session of its own and interrupts it:

  setup, body, teardown, rows, commit
          the run stops itself at that point of its k-th case (MUXBENCH_TEST_STOP, see
          harness/stop_points.h: before a case's setup; before its timed body; before its
          teardown; after its rows are built, before they are written; before the final
          rename), the signal is sent while it is stopped, and it is let go. For `body` the
          signal follows the SIGCONT after a random 0-30 ms instead, so it lands inside the
          timed repetitions.
  anywhere
          no stop point: the signal comes at a random time after the launch (start-up
          included, before the run has set anything up); the harness workload, the cheapest,
          also gets STARTUP_TRIALS of them within its first STARTUP_S, where the io_uring
          probes run in forked children.

After each trial:
  - no process of the run is alive or unreaped: none left in its process group, none
    re-parented to this (subreaper) process;
  - no hidden temporary file in the output directory;
  - the outputs are whole: no CSV, a complete one, or a complete .partial.csv (every row whole,
    every measured case with all its statistics); never both;
  - the exit status is the documented one: 130 (interrupted; the finished cases in the partial
    file, or the complete CSV when the signal came after the final rename), 0 when the run had
    finished before the signal was handled, or - only before the run set anything up
    (`anywhere`) - death by the signal itself with no file written.

The short version (the default, in CTest under the label `reliability`) runs every workload at
every phase with two of the three signals (at least 60 trials); --full runs every workload x
phase x signal x case position (1st, 2nd, 3rd case) plus 20 random-time trials per workload.
Exit status: 0 every trial held, 1 one did not, 77 nothing to run.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PHASES = ("setup", "body", "teardown", "rows", "commit")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
COMMON_ARGS = ["--quick", "--repetitions", "2", "--min-time", "0.01"]
# Small cases for each workload (several cases each, a run well under a second); a workload
# not named here runs with --quick alone.
WORKLOAD_ARGS = {
    "harness": [],
    "fanin": ["--poller", "epoll", "--set", "fds=1,100,1000"],
    "ctxswitch": ["--set", "variant=futex,pipe,coro-asm", "--set", "placement=same-pu"],
    "memory": ["--poller", "epoll", "--set", "variant=thread,coroutine", "--set", "units=1,100"],
    "spawn": ["--poller", "epoll", "--set", "units=1,100"],
    "echo": ["--poller", "epoll", "--set", "units=10,20"],
}


def available_workloads(muxbench):
    out = subprocess.run([muxbench, "list"], capture_output=True, text=True, timeout=60).stdout
    names, section = [], None
    for line in out.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
            continue
        parts = line.split()
        if section == "workloads" and len(parts) >= 2 and parts[1] == "available":
            names.append(parts[0])
    return names


def plan(workloads, full, rng):
    trials = []
    for w in workloads:
        for p_i, phase in enumerate(PHASES):
            if full:
                for sig in SIGNALS:
                    for k in ((1,) if phase == "commit" else (1, 2, 3)):
                        trials.append((w, phase, sig, k))
            else:
                for j in range(2):  # two signals per (workload, phase), rotating over the three
                    sig = SIGNALS[(p_i + j) % 3]
                    k = 1 if phase == "commit" else 1 + (j + p_i) % 2
                    trials.append((w, phase, sig, k))
        for j in range(20 if full else 1):
            trials.append((w, "anywhere", SIGNALS[j % 3], rng.uniform(0.0, 0.3)))
        if w == "harness":  # the start-up window, where the io_uring probes fork
            for j in range(STARTUP_TRIALS):
                trials.append((w, "anywhere", SIGNALS[j % 3], rng.uniform(0.0, STARTUP_S)))
    return trials


# Start-up: muxbench forks a child to probe io_uring while it parses its pollers, before it
# handles signals. A signal that killed it there once left the probe child a zombie (7 of 60
# such trials under ASan). STARTUP_TRIALS random times in the first STARTUP_S catch that again
# with a probability of about 95%.
STARTUP_TRIALS, STARTUP_S = 24, 0.08

SANITIZER = ""


def one_trial(muxbench, workload, phase, sig, where, rng, chk):
    """Runs one trial; returns (reached, held, outcome text)."""
    tmp = tempfile.mkdtemp(prefix="muxbench-storm-")
    out = os.path.join(tmp, "run.csv")
    cmd = [muxbench, "run", "--workload", workload, "--out", out] + COMMON_ARGS + \
        WORKLOAD_ARGS.get(workload, [])
    env = dict(os.environ)
    env.pop("MUXBENCH_TEST_STOP", None)
    if SANITIZER == "address":
        # LeakSanitizer's exit-time check clones a tracer process; the signal thread's _exit
        # racing the main thread's exit() orphans it. A sanitizer artefact, not the run's:
        # leaks are the other tests' business.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    if phase != "anywhere":
        env["MUXBENCH_TEST_STOP"] = f"{phase}:{where}"
    proc = common.start(cmd, env=env)
    name = f"{workload} {signal.Signals(sig).name} at {phase}" + \
        (f" of case {where}" if phase != "anywhere" else f" +{where * 1000:.0f} ms")
    reached = True
    if phase == "anywhere":
        time.sleep(where)
        if proc.poll() is None:
            proc.send_signal(sig)
        else:
            reached = False
    elif not common.wait_stopped(proc, 120):
        reached = False  # this case never reached the phase (a skipped case has no body)
    elif phase == "body":
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(rng.uniform(0.0, 0.03))
        if proc.poll() is None:
            proc.send_signal(sig)
    else:
        proc.send_signal(sig)
        os.kill(proc.pid, signal.SIGCONT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        chk.check(False, f"{name}: still running 120 s after the signal")
    rc = proc.returncode
    left = common.leftovers(proc.pid)
    common.clean_up(proc.pid)
    state, problems = common.output_state(tmp, out)
    if not reached and rc == 0 and not left and not problems and state == "complete":
        shutil.rmtree(tmp, ignore_errors=True)
        return False, True, "finished before the stop point"
    ok = True
    ok &= chk.check(not left, f"{name}: processes left behind: {left}")
    # A sanitizer's report on an interrupted run: _exit(130) skips the sanitizer's exit code.
    reports = [m for m in ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                           "ERROR: LeakSanitizer", "runtime error:") if m in err]
    ok &= chk.check(not reports, f"{name}: sanitizer report: {err[-1500:]}")
    for p in problems:
        ok &= chk.check(False, f"{name}: {p}")
    if rc == common.EXIT_INTERRUPTED:
        ok &= chk.check(state in ("partial", "complete"),
                        f"{name}: exit 130 but outputs '{state}'")
        ok &= chk.check("interrupted by" in err, f"{name}: no interruption message: {err[-300:]}")
    elif rc == common.EXIT_OK:
        ok &= chk.check(state == "complete", f"{name}: exit 0 but outputs '{state}'")
    elif rc == -sig and phase == "anywhere":
        # Only before the run had anything to clean up: the signal's default action.
        ok &= chk.check(state == "none", f"{name}: killed by the signal with outputs '{state}'")
    else:
        ok &= chk.check(False, f"{name}: exit {rc}: {err[-600:]}")
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"  kept {tmp} for inspection", file=sys.stderr)
    return True, ok, f"exit {rc}, outputs {state}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("muxbench")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--workload", default="")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    global SANITIZER
    SANITIZER = common.sanitizer_of(args.muxbench)
    common.become_subreaper()
    workloads = available_workloads(args.muxbench)
    if args.workload:
        workloads = [w for w in workloads if w in args.workload.split(",")]
    if not workloads:
        print("skip: no workload available")
        return common.SKIP
    chk = common.Checker()
    tally = {}  # (workload, phase) -> [trials reached, held, outcomes]
    t0 = time.time()
    for workload, phase, sig, where in plan(workloads, args.full, rng):
        reached, held, outcome = one_trial(args.muxbench, workload, phase, sig, where, rng, chk)
        t = tally.setdefault((workload, phase), [0, 0, {}, 0, []])
        if not held:
            t[4].append(chk.failures[-1] if chk.failures else outcome)
        if not reached:
            t[3] += 1
            continue
        t[0] += 1
        t[1] += held
        t[2][outcome] = t[2].get(outcome, 0) + 1
    total = sum(t[0] for t in tally.values())
    held = sum(t[1] for t in tally.values())
    for (workload, phase), (n, h, outcomes, missed, failed) in sorted(tally.items()):
        seen = "; ".join(f"{k} x{v}" for k, v in sorted(outcomes.items()))
        print(f"{workload:10} {phase:9} {h}/{n} held  ({seen})"
              + (f"  [{missed} finished before the stop point]" if missed else ""))
        common.record("storm" + ("-full" if args.full else ""), f"{workload} at {phase}", n, h,
                      "no process left, no temporary file, no CSV / a complete one / a "
                      "complete .partial.csv, exit 130 (0 if it had finished)",
                      seen + ("; FAILED: " + " / ".join(f[:160] for f in failed[:2])
                              if failed else ""))
    print(f"{held}/{total} trials held in {time.time() - t0:.0f} s")
    if total < 50 and not args.workload:  # the whole storm; CTest runs it a workload at a time
        chk.check(False, f"only {total} trials reached their point (at least 50 wanted)")
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
