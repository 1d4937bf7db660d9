#!/usr/bin/env python3
"""`muxbench compare` end to end, on real quick runs (standard library only; the comparison
itself runs on the Python that `muxbench compare` execs).

    test_compare_cli.py MUXBENCH GROUP

GROUP is one of:
  errors     through the muxbench binary: bad usage exits 2, a missing file, a file that is
             not a muxbench CSV and a missing analysis package or interpreter exit 3 with the
             reason; a real run compared with itself is "no significant change" everywhere
  same_run   runs of the same command on this machine, five a side interleaved A B A B ...
             (1 repetition each) and pooled by compare: at least 95% of the tested cases are
             "no significant change"
  hog        a run with a CPU hog pinned on the measuring threads' CPU: every ctxswitch case
             (all of them run on that CPU; coro-raw is skipped under ASan) is flagged slower,
             by at least 1.3x, and --threshold 0.3 exits 1

The runs (RUN_ARGS): fanin over five backends at four fds and four ctxswitch mechanisms, all
pinned to one CPU (placement same-pu), 6 repetitions a side (5 against 5 is the least that
lets a two-sided U test reach p < 0.05; 3 against 3 cannot); the hog group runs fewer fanin
cases (HOG_ARGS), one run a side. same_run pools five one-repetition runs a side because the
repetitions of one run are back to back and share whatever noise episode the machine is in:
two single runs of one command differ "significantly" on a VM whose noise comes and goes over
seconds (docs/compare.md).

This machine is shared: another process landing on the measuring CPU during one run moves that
run's figures the way the hog does. A group therefore gets up to three attempts; it fails when
none passes on a quiet machine, and skips (77) when every failed attempt ran while other
processes kept the CPUs busy (measured from /proc/stat, our own processes subtracted).
Exit status: 0 pass, 1 fail, 77 skip.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MUXBENCH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "muxbench"
GROUP = sys.argv[2] if len(sys.argv) > 2 else "errors"

RUN_ARGS = ["run", "--workload", "fanin,ctxswitch", "--poller",
            "epoll,epoll-et,epoll-oneshot,poll,select", "--quick", "--repetitions", "6",
            "--set", "fds=1,10,100,1000", "--set", "variant=futex,pipe,coro-asm,coro-raw",
            "--set", "placement=same-pu"]
# same_run: five runs a side of one repetition each, interleaved and pooled (5 against 5): each
# value is then its own run, the independent samples the U test assumes.
SAME_RUNS, SAME_REPS = 5, 1
_REPS = RUN_ARGS.index("--repetitions") + 1
SAME_ARGS = RUN_ARGS[:_REPS] + [str(SAME_REPS)] + RUN_ARGS[_REPS + 1:]
# The hog group needs the ctxswitch cases and a few fanin ones (which the hog barely moves:
# preemption seldom lands in a timed wait call that short), not the whole set: it stays short.
HOG_ARGS = ["run", "--workload", "fanin,ctxswitch", "--poller", "epoll", "--quick",
            "--repetitions", "6", "--set", "fds=1,1000",
            "--set", "variant=futex,pipe,coro-asm,coro-raw", "--set", "placement=same-pu"]
ATTEMPTS = 3
BUSY_CPUS = 0.25  # other processes' average CPU use above which an attempt was disturbed
TESTED = ("no significant change", "slower", "faster", "higher", "lower")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def muxbench(args, env=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([MUXBENCH] + args, capture_output=True, text=True, timeout=timeout,
                          env=e)


class ForeignLoad:
    """CPU time other processes used over an interval, in CPUs (1.0 = one CPU busy), from
    /proc/stat's busy and steal time minus what this process's children used."""

    @staticmethod
    def _busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        t = os.times()
        self.t0, self.busy0 = time.time(), self._busy()
        self.own0 = t.children_user + t.children_system
        return self

    def __exit__(self, *exc):
        t = os.times()
        wall = max(time.time() - self.t0, 1e-3)
        own = t.children_user + t.children_system - self.own0
        self.cpus = max(0.0, (self._busy() - self.busy0 - own) / wall)
        return False


def real_run(out, hog_cpu=None, args=RUN_ARGS):
    """One run of args into out; with hog_cpu, a busy loop pinned there throughout."""
    hog = None
    if hog_cpu is not None:
        hog = subprocess.Popen([sys.executable, "-c",
                                "import os\nos.sched_setaffinity(0, {%d})\nwhile True: pass\n"
                                % hog_cpu])
        time.sleep(0.3)
    try:
        p = muxbench(args + ["--out", out])
    finally:
        if hog:
            hog.kill()
            hog.wait()
    if not check(p.returncode == 0, f"run exit {p.returncode}: {p.stderr[-1500:]}"):
        return False
    return True


def compare(base, new, extra=()):
    """(exit status, stdout, stderr, rows of the --out CSV); base and new may be lists of
    CSVs joined by commas."""
    out = os.path.splitext(new.split(",")[-1])[0] + "-cmp.csv"
    p = muxbench(["compare", base, new, "--out", out] + list(extra))
    rows = []
    if os.path.exists(out):
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    return p.returncode, p.stdout, p.stderr, rows


def measuring_cpu(path):
    """The CPU the same-pu cases were bound to, from the notes of the run."""
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["workload"] == "ctxswitch" and r["status"] == "ok":
                m = re.search(r"cpus? (\d+)", r["note"])
                if m:
                    return int(m.group(1))
    return None


def attempts(one):
    """Runs one(tmpdir) -> (passed, why) up to ATTEMPTS times under ForeignLoad."""
    disturbed_all = True
    for i in range(ATTEMPTS):
        tmp = tempfile.mkdtemp(prefix="muxbench-compare-")
        try:
            with ForeignLoad() as load:
                ok, why = one(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"attempt {i + 1}: {'pass' if ok else 'no'}; other processes used "
              f"{load.cpus:.2f} CPUs; {why}")
        if ok:
            return 0
        if failures:  # a run or the command itself failed: not a matter of noise
            return 1
        disturbed_all &= load.cpus > BUSY_CPUS
    if disturbed_all:
        print(f"skip: every attempt ran while other processes used more than {BUSY_CPUS} CPUs;"
              " the runs cannot show what they should on a machine this busy")
        return 77
    check(False, f"{GROUP}: no attempt passed on a quiet machine (see above)")
    return 1


# ---- groups ---------------------------------------------------------------------------------

def errors():
    tmp = tempfile.mkdtemp(prefix="muxbench-compare-")
    try:
        return errors_in(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def errors_in(tmp):
    base = os.path.join(tmp, "base.csv")
    p = muxbench(["run", "--workload", "fanin", "--poller", "epoll", "--quick",
                  "--repetitions", "5", "--set", "fds=1,10", "--out", base])
    if not check(p.returncode == 0, f"run exit {p.returncode}: {p.stderr[-1500:]}"):
        return 1
    missing = os.path.join(tmp, "absent.csv")
    notcsv = os.path.join(tmp, "other.csv")
    with open(notcsv, "w") as f:
        f.write("name,real_time,cpu_time\nBM_x,1,1\n")
    gbench = os.path.splitext(base)[0] + ".gbench.json"
    cases = [
        ([], {}, 2, "required"),
        ([base], {}, 2, "required"),
        ([base, base, "--alpha", "1.5"], {}, 2, "--alpha"),
        ([base, base, "--metric", "bogus"], {}, 2, "unknown metric"),
        ([base, base, "--out", os.path.join(tmp, "x.txt")], {}, 2, ".md"),
        ([base, missing], {}, 3, "no such file"),
        ([missing, base], {}, 3, "no such file"),
        ([base, notcsv], {}, 3, "not a muxbench CSV"),
        ([gbench, base], {}, 3, "JSON"),
        ([base, base], {"MUXBENCH_ANALYSIS_DIR": tmp}, 3, "cannot find the analysis package"),
        ([base, base], {"MUXBENCH_PYTHON": os.path.join(tmp, "no-python")}, 3, "cannot run"),
    ]
    for args, env, status, text in cases:
        p = muxbench(["compare"] + args, env=env)
        check(p.returncode == status, f"compare {args} {env}: exit {p.returncode}, expected "
              f"{status}; stderr: {p.stderr.strip()[-300:]}")
        check(text in p.stderr, f"compare {args} {env}: '{text}' not in: {p.stderr[-300:]}")
    p = muxbench(["compare", "--help"])
    check(p.returncode == 0 and "--threshold" in p.stdout, f"--help: {p.returncode}")
    # The real file against itself: every per-repetition value reaches the test (p = 1).
    rc, out, err, rows = compare(base, base, ["--metric", "all", "--threshold", "0"])
    check(rc == 0, f"a run against itself: exit {rc}: {err[-500:]}")
    tested = [r for r in rows if r["verdict"] in TESTED]
    check(len(tested) >= 2 * 5, f"a run against itself: {len(tested)} tested comparisons")
    check(all(r["verdict"] == "no significant change" and float(r["p_value"]) == 1.0
              and r["base_n"] == "5" and r["new_n"] == "5" for r in tested),
          f"a run against itself: {[(r['case'], r['verdict'], r['p_value']) for r in tested]}")
    check("Same machine, kernel, build and settings" in out, f"scope line: {out[:300]}")
    return 1 if failures else 0


def same_run():
    def one(tmp):
        # Interleaved A B A B A B, pooled per side (docs/compare.md, "Several runs per side").
        a = [os.path.join(tmp, "a%d.csv" % i) for i in range(SAME_RUNS)]
        b = [os.path.join(tmp, "b%d.csv" % i) for i in range(SAME_RUNS)]
        for x, y in zip(a, b):
            if not (real_run(x, args=SAME_ARGS) and real_run(y, args=SAME_ARGS)):
                return False, "a run failed"
        rc, out, err, rows = compare(",".join(a), ",".join(b))
        check(all(r["base_n"] == r["new_n"] == str(SAME_RUNS * SAME_REPS) for r in rows
                  if r["verdict"] in TESTED), "every tested case pools %d repetitions a side"
              % (SAME_RUNS * SAME_REPS))
        if not check(rc == 0, f"compare exit {rc}: {err[-500:]}"):
            return False, "compare failed"
        tested = [r for r in rows if r["verdict"] in TESTED]
        if not check(len(tested) >= 20, f"{len(tested)} tested cases, expected 20 or more"):
            return False, "too few cases"
        same = [r for r in tested if r["verdict"] == "no significant change"]
        share = len(same) / len(tested)
        moved = ", ".join(f"{r['case']} x{float(r['ratio']):.3f} p={r['p_value']}"
                          for r in tested if r not in same)
        return share >= 0.95, (f"{len(same)} of {len(tested)} no significant change "
                               f"({100 * share:.0f}%){'; changed: ' + moved if moved else ''}")
    return attempts(one)


def hog():
    def one(tmp):
        a, b = os.path.join(tmp, "base.csv"), os.path.join(tmp, "hog.csv")
        if not real_run(a, args=HOG_ARGS):
            return False, "the base run failed"
        cpu = measuring_cpu(a)
        if not check(cpu is not None, "the ctxswitch notes name the CPU the cases ran on"):
            return False, "no CPU"
        if not real_run(b, hog_cpu=cpu, args=HOG_ARGS):
            return False, "the run with the hog failed"
        rc, out, err, rows = compare(a, b, ["--threshold", "0.3"])
        # coro-raw is skipped in an ASan build (no fiber annotations): 3 or 4 cases.
        switch = [r for r in rows if r["case"].startswith("ctxswitch/")
                  and r["verdict"] in TESTED]
        if not check(len(switch) >= 3, f"3 or 4 ctxswitch comparisons, got {len(switch)}"):
            return False, "cases missing"
        slow = [r for r in switch if r["verdict"] == "slower" and float(r["ratio"]) >= 1.3]
        if len(slow) == len(switch):
            check(rc == 1, f"--threshold 0.3 with cases 1.3x slower: exit {rc}, expected 1")
        summary = "; ".join(f"{r['case']} x{float(r['ratio']):.2f} {r['verdict']}"
                            for r in switch)
        return len(slow) == len(switch), f"hog on cpu {cpu}: {summary}"
    return attempts(one)


def main():
    if not os.path.exists("/proc/stat"):
        print("skip: needs /proc/stat")
        return 77
    fn = {"errors": errors, "same_run": same_run, "hog": hog}.get(GROUP)
    if fn is None:
        print(f"unknown group {GROUP}", file=sys.stderr)
        return 2
    rc = fn()
    if failures and rc == 0:
        rc = 1
    print(f"{GROUP}: {'pass' if rc == 0 else 'skip' if rc == 77 else 'FAIL'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
