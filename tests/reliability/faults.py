#!/usr/bin/env python3
"""Injected faults: each one a trial with its expected outcome written down here.

    faults.py MUXBENCH SECCOMP_EXEC FAULT|--list

FAULT       what is done                                  expected
emfile      a fanin sweep 10,100,1300 fds with RLIMIT_NOFILE 1,500 and 600 fds held open by
            the parent (inherited)                        exit 0; 10 and 100 measured; the 1300
                                                          case a limit row (units_reached below
                                                          1300, the note names the fd limit);
                                                          a complete CSV
enomem      memory with 8 MiB-stack threads, 10 and 2,000 of them, under RLIMIT_AS 1 GiB
                                                          exit 0; 10 measured; the 2,000 case a
                                                          limit row naming RLIMIT_AS
eagain      pthread_create refused (EAGAIN): the run as an unused uid under RLIMIT_NPROC, first
            so low that not even the run's own signal thread starts, then with room for a few
            threads under a sweep of 1 and 1,000 threads  the first: exit 3 naming the thread
                                                          limit, no file; the second: exit 0,
                                                          a limit row for 1,000 threads
disk_full   the output on a 64 KiB tmpfs left with one page free (the environment rows do not
            fit), then with the pages the environment rows need (the cases' rows do not fit),
            then with the pages the CSV needs (the JSON written at the end does not fit);
            mounted here, skip if mounting is not permitted; at the end: exit 0 with a complete
            CSV (or 3 if its last rows did not fit either), and no half-written JSON                                exit 3 naming "No space left on
                                                          device"; no file at --out; a
                                                          .partial.csv, if any, of whole rows
outdir_gone the output directory removed while the run is stopped before its second case
                                                          exit 3 naming the missing directory;
                                                          nothing recreated, nothing left
helper_killed  the fanin helper, then the echo client, killed (SIGKILL) in a case's timed
            body                                          that case an error row naming the
                                                          killed process; the cases after it
                                                          measured; exit 1; a complete CSV
seccomp_eperm, seccomp_enosys, seccomp_kill
            io_uring_setup refused by a seccomp filter with EPERM, ENOSYS, or killing the
            caller; fanin over io_uring and epoll       exit 0; the io_uring cases skipped
                                                          with the reason; epoll measured.
                                                          kill: the probe and the environment
                                                          rows' io_uring query run in a child,
                                                          so only the child dies
crash       a coroutine stack overflowed in the second case's timed body (harness, then
            fanin with its helper process; MUXBENCH_TEST_STOP=body:2:overflow)
                                                          death by SIGSEGV with "crashed" on
                                                          stderr; the first case whole in a
                                                          .partial.csv; no temporary file; no
                                                          process of the run left
same_out    two runs writing one --out at once, and one overtaking the other in its final
            rename                                        both exit 0; the file is one whole
                                                          CSV of one run; no temporary file
readonly    the output directory on a read-only mount (and, without a --out, a read-only
            working directory for results/)               exit 3 with the reason and "choose
                                                          a writable --out path"; nothing
                                                          written
After every fault: no process of the run left alive or unreaped, and no hidden temporary file.
Exit status: 0 held, 1 did not, 77 skipped (the reason printed).
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MUXBENCH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "muxbench"
SECCOMP_EXEC = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "seccomp_exec"
FAST = ["--quick", "--repetitions", "2", "--min-time", "0.01"]
chk = common.Checker()


class Skip(Exception):
    pass


def rows_of(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def finish(proc, name, timeout=300):
    """Waits for a run; checks nothing of it is left. Returns (rc, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        chk.check(False, f"{name}: still running after {timeout} s")
    left = common.leftovers(proc.pid)
    common.clean_up(proc.pid)
    chk.check(not left, f"{name}: processes left behind: {left}")
    return proc.returncode, out, err


def run(name, args, directory, **kw):
    proc = common.start([MUXBENCH, "run"] + args, **kw)
    rc, out, err = finish(proc, name)
    temps = [t for t in os.listdir(directory) if ".tmp" in t] if os.path.isdir(directory) else []
    chk.check(not temps, f"{name}: hidden temporary files left: {temps}")
    return rc, out, err


def not_sanitized(what):
    san = common.sanitizer_of(MUXBENCH)
    if san:
        raise Skip(f"{san} sanitizer build: its shadow memory and threads distort {what}; "
                   "this fault is exercised in the plain build")


def check_complete(name, out):
    if chk.check(os.path.exists(out), f"{name}: no CSV at {out}"):
        for p in common.csv_problems(out, True):
            chk.check(False, f"{name}: {p}")


# ---- the faults ------------------------------------------------------------------------------

def emfile(tmp):
    out = os.path.join(tmp, "emfile.csv")
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(600)]
    try:
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (1500, 1500))
        rc, _, err = run("emfile", ["--workload", "fanin", "--poller", "epoll", "--set",
                                    "fds=10,100,1300", "--out", out] + FAST, tmp,
                         preexec_fn=limit, pass_fds=held)
    finally:
        for fd in held:
            os.close(fd)
    chk.check(rc == 0, f"emfile: exit {rc}: {err[-800:]}")
    check_complete("emfile", out)
    rows = rows_of(out)
    limits = [r for r in rows if r["status"] == "limit"]
    chk.check(limits and all(r["fds"] == "1300" and float(r["value"]) < 1300 for r in limits),
              f"emfile: one limit row at 1300 fds: {[(r['fds'], r['value']) for r in limits]}")
    chk.check(all("RLIMIT_NOFILE" in r["note"] or "fd limit" in r["note"] for r in limits),
              f"emfile: the limit row names the fd limit: {[r['note'] for r in limits]}")
    for fds in ("10", "100"):
        chk.check(any(r["fds"] == fds and r["status"] == "ok" for r in rows),
                  f"emfile: {fds} fds measured")
    return f"exit {rc}; limit row at fds=1300, units_reached " + \
        ",".join(r["value"] for r in limits)


def enomem(tmp):
    not_sanitized("RLIMIT_AS")
    out = os.path.join(tmp, "enomem.csv")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    rc, _, err = run("enomem", ["--workload", "memory", "--set", "variant=thread", "--set",
                                "units=10,2000", "--set", "touch_bytes=0", "--out", out] + FAST,
                     tmp, preexec_fn=limit)
    chk.check(rc == 0, f"enomem: exit {rc}: {err[-800:]}")
    check_complete("enomem", out)
    rows = [r for r in rows_of(out) if r["workload"] == "memory"]
    limits = [r for r in rows if r["status"] == "limit"]
    chk.check(len(limits) == 1 and limits[0]["units"] == "2000" and
              "RLIMIT_AS" in limits[0]["note"], f"enomem: one limit row naming RLIMIT_AS: "
                                                f"{[(r['units'], r['note']) for r in limits]}")
    chk.check(any(r["units"] == "10" and r["status"] == "ok" for r in rows),
              "enomem: 10 threads measured")
    return f"exit {rc}; limit row at 2,000 threads, units_reached " + \
        ",".join(r["value"] for r in limits)


# RLIMIT_NPROC counts every thread of the user, machine-wide: a uid of this test's own (no
# passwd entry needed), so no other process on a shared machine moves the count.
UNPRIVILEGED = 40000 + os.getpid() % 20000


def as_unprivileged(nproc):
    def switch():
        os.setgroups([])
        os.setgid(UNPRIVILEGED)
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        os.setuid(UNPRIVILEGED)
    return switch


def user_threads(uid):
    n = 0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                n += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            pass
    return n


def eagain(tmp):
    if os.geteuid() != 0:
        raise Skip("needs root to switch to an unprivileged user (root ignores RLIMIT_NPROC)")
    not_sanitized("thread counts")
    os.chmod(tmp, 0o777)
    base = user_threads(UNPRIVILEGED)  # 0 unless a process of that uid is left somewhere
    out = os.path.join(tmp, "nothread.csv")
    rc, _, err = run("eagain (no thread at all)", ["--workload", "harness", "--out", out] + FAST,
                     tmp, preexec_fn=as_unprivileged(base + 1))
    chk.check(rc == common.EXIT_ENV, f"eagain: no thread possible: exit {rc}, expected 3: "
                                     f"{err[-600:]}")
    chk.check("thread" in err and "Resource temporarily unavailable" in err,
              f"eagain: the reason: {err[-400:]}")
    chk.check(not os.listdir(tmp), f"eagain: files left: {os.listdir(tmp)}")
    first = rc
    out = os.path.join(tmp, "threads.csv")
    # Room for 8 tasks: the run's own threads and one unit fit; 1,000 threads that each sleep
    # 0.5 ms (the churn case) have more than 8 alive unless each create took over 60 us. With
    # room for 64, fast thread exits kept the count under it on some runs: no limit row.
    rc, _, err = run("eagain (a sweep)", ["--workload", "spawn", "--poller", "epoll", "--set",
                                          "variant=thread", "--set", "units=1,1000", "--out",
                                          out] + FAST, tmp, preexec_fn=as_unprivileged(base + 8))
    chk.check(rc == 0, f"eagain: sweep exit {rc}: {err[-800:]}")
    check_complete("eagain", out)
    rows = [r for r in rows_of(out) if r["workload"] == "spawn"]
    limits = [r for r in rows if r["status"] == "limit"]
    chk.check(limits and all(r["units"] == "1000" and r["note"].startswith("RLIMIT_NPROC")
                             for r in limits),
              f"eagain: limit rows at 1,000 threads naming RLIMIT_NPROC: "
              f"{[(r['units'], r['note']) for r in limits]}")
    chk.check(any(r["units"] == "1" and r["status"] == "ok" for r in rows),
              "eagain: one thread at a time measured")
    return f"no thread: exit {first}; sweep: exit {rc}, {len(limits)} limit row(s) at 1,000"


def mount_tmpfs(where, options):
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", where],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")


def dry_run_size(tmp):
    """Bytes of the CSV a harness run writes here, and of its header and environment rows."""
    out = os.path.join(tmp, "dry.csv")
    rc, _, err = run("disk_full (dry run)", ["--workload", "harness", "--out", out] + FAST, tmp)
    if rc != 0:
        raise Skip(f"a plain run fails here: {err[-300:]}")
    with open(out, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    env_bytes = sum(len(x) + 1 for x in lines if b",env," in x or x == lines[0])
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    return len(data), env_bytes


def disk_full_at(tmp, free, label):
    mnt = os.path.join(tmp, f"small-{label}")
    os.mkdir(mnt)
    mount_tmpfs(mnt, "size=64k")
    try:
        with open(os.path.join(mnt, "filler"), "wb") as f:
            f.write(b"\0" * (64 * 1024 - free))
        out = os.path.join(mnt, "full.csv")
        name = f"disk_full ({label})"
        rc, _, err = run(name, ["--workload", "harness", "--out", out] + FAST, mnt)
        if label == "full at the end":
            # The CSV fits, Google Benchmark's JSON written at the end does not: a complete
            # CSV and no JSON (exit 0), or, if the last rows did not fit either, exit 3. No
            # half-written file either way (run() checks the temporary files).
            chk.check(rc in (0, common.EXIT_ENV), f"{name}: exit {rc}: {err[-800:]}")
            if rc == 0:
                check_complete(name, out)
                return f"{label}: exit 0, a complete CSV, JSON not written"
        chk.check(rc == common.EXIT_ENV, f"{name}: exit {rc}, expected 3: {err[-800:]}")
        chk.check("No space left on device" in err, f"{name}: the reason: {err[-400:]}")
        chk.check(not os.path.exists(out), f"{name}: nothing at --out")
        partial = os.path.join(mnt, "full.partial.csv")
        if os.path.exists(partial):
            with open(partial, "rb") as f:
                data = f.read()
            import csv
            rows = list(csv.reader(data.decode().splitlines()))
            chk.check(data.endswith(b"\n") and rows and
                      all(len(r) == len(common.COLUMNS) for r in rows),
                      f"{name}: the partial file holds whole rows only")
            return f"{label}: exit {rc}, a .partial.csv of {len(rows) - 1} whole rows"
        return f"{label}: exit {rc}, no file"
    finally:
        subprocess.run(["umount", "-l", mnt])


def disk_full(tmp):
    """A full disk before the environment rows are written, and inside the cases' rows."""
    total, env_bytes = dry_run_size(tmp)
    page = 4096
    inside_env = page  # the header fits, the environment rows do not
    inside_cases = (env_bytes // page + 1) * page  # the environment rows fit, not every case
    if env_bytes <= inside_env or total <= inside_cases:
        raise Skip(f"this machine's CSV ({total} bytes, {env_bytes} of environment) does not "
                   "straddle a page where the test needs it")
    at_end = (total // page + 1) * page  # the CSV fits, the JSON beside it does not
    return "; ".join([disk_full_at(tmp, inside_env, "full in the environment rows"),
                      disk_full_at(tmp, inside_cases, "full in the cases' rows"),
                      disk_full_at(tmp, at_end, "full at the end")])


def outdir_gone(tmp):
    d = os.path.join(tmp, "out")
    os.mkdir(d)
    out = os.path.join(d, "gone.csv")
    env = dict(os.environ, MUXBENCH_TEST_STOP="setup:2")
    proc = common.start([MUXBENCH, "run", "--workload", "harness", "--out", out] + FAST, env=env)
    if not chk.check(common.wait_stopped(proc, 60), "outdir_gone: the run reached case 2"):
        proc.kill()
    shutil.rmtree(d)
    os.kill(proc.pid, signal.SIGCONT)
    rc, _, err = finish(proc, "outdir_gone")
    chk.check(rc == common.EXIT_ENV, f"outdir_gone: exit {rc}, expected 3: {err[-800:]}")
    chk.check(d in err and "No such file or directory" in err,
              f"outdir_gone: the reason names the directory: {err[-400:]}")
    chk.check(not os.path.exists(d), "outdir_gone: the directory was not recreated")
    return f"exit {rc}"


def child_named(parent, name, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for entry in os.listdir("/proc"):
            st = common.proc_stat(int(entry)) if entry.isdigit() else None
            if st and st["ppid"] == parent and st["name"] == name:
                return st["pid"]
        time.sleep(0.01)
    return None


def kill_helper(tmp, workload, helper, args):
    out = os.path.join(tmp, f"{workload}.csv")
    env = dict(os.environ, MUXBENCH_TEST_STOP="body:1")
    proc = common.start([MUXBENCH, "run", "--workload", workload, "--poller", "epoll",
                         "--out", out] + FAST + args, env=env)
    name = f"helper_killed ({workload})"
    if not chk.check(common.wait_stopped(proc, 60), f"{name}: the run reached a timed body"):
        proc.kill()
    pid = child_named(proc.pid, helper)
    chk.check(pid, f"{name}: no child process named {helper}")
    if pid:
        os.kill(pid, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGCONT)
    rc, _, err = finish(proc, name)
    chk.check(rc == common.EXIT_FAIL, f"{name}: exit {rc}, expected 1: {err[-800:]}")
    check_complete(name, out)
    rows = [r for r in rows_of(out) if r["workload"] == workload]
    errors = [r for r in rows if r["status"] == "error"]
    chk.check(len({tuple(r[c] for c in common.CASE_COLUMNS) for r in errors}) == 1,
              f"{name}: one case in error: {[r['note'] for r in errors]}")
    chk.check(all(("helper" in r["note"] or "client" in r["note"]) for r in errors),
              f"{name}: the error names the process: {[r['note'] for r in errors]}")
    chk.check(any(r["status"] == "ok" for r in rows), f"{name}: later cases measured")
    return f"{workload}: exit {rc}, error row: " + (errors[0]["note"][:140] if errors else "none")


def helper_killed(tmp):
    return "; ".join([kill_helper(tmp, "fanin", "muxbench-fanin", ["--set", "fds=10,100"]),
                      kill_helper(tmp, "echo", "muxbench-client", ["--set", "units=10,20"])])


def seccomp(tmp, mode):
    out = os.path.join(tmp, "uring.csv")
    p = subprocess.run([MUXBENCH, "list"], capture_output=True, text=True)
    line = [x for x in p.stdout.splitlines() if x.split()[:1] == ["io_uring"]]
    if not line or "unavailable" in line[0]:
        raise Skip("io_uring is unavailable here anyway")
    proc = common.start([SECCOMP_EXEC, mode, MUXBENCH, "run", "--workload", "fanin", "--poller",
                         "io_uring,epoll", "--set", "fds=10", "--out", out] + FAST)
    rc, _, err = finish(proc, f"seccomp {mode}")
    if rc == common.SKIP:
        raise Skip(err.strip())
    chk.check(rc == 0, f"seccomp {mode}: exit {rc}: {err[-800:]}")
    check_complete(f"seccomp {mode}", out)
    rows = [r for r in rows_of(out) if r["workload"] == "fanin"]
    uring = [r for r in rows if r["poller"] == "io_uring"]
    chk.check(uring and all(r["status"] == "skipped" and "unavailable" in r["note"]
                            for r in uring), f"seccomp {mode}: io_uring skipped with the reason: "
                                             f"{[(r['status'], r['note']) for r in uring]}")
    chk.check(any(r["poller"] == "epoll" and r["status"] == "ok" for r in rows),
              f"seccomp {mode}: epoll measured")
    return f"exit {rc}; io_uring skipped: " + (uring[0]["note"][:80] if uring else "-")


def crash_in(tmp, workload, args):
    out = os.path.join(tmp, f"{workload}.csv")
    env = dict(os.environ, MUXBENCH_TEST_STOP="body:2:overflow")
    rc, _, err = run(f"crash ({workload})", ["--workload", workload, "--out", out] + FAST + args,
                     tmp, env=env)
    name = f"crash ({workload})"
    chk.check(rc == -signal.SIGSEGV, f"{name}: exit {rc}, expected death by SIGSEGV: {err[-600:]}")
    chk.check("crashed" in err, f"{name}: the crash message: {err[-300:]}")
    chk.check(not os.path.exists(out), f"{name}: nothing at --out")
    partial = os.path.splitext(out)[0] + ".partial.csv"
    if chk.check(os.path.exists(partial), f"{name}: a .partial.csv is left"):
        for p in common.csv_problems(partial, False):
            chk.check(False, f"{name}: {p}")
        chk.check(common.case_count(partial) == 1, f"{name}: the partial file holds the one "
                                                   f"finished case: {common.case_count(partial)}")
    return f"{workload}: exit {rc}, .partial.csv with the first case whole"


def crash(tmp):
    if common.sanitizer_of(MUXBENCH):
        raise Skip("sanitizer build: the sanitizer reports the overflow and ends the process "
                   "itself; the crash handler is exercised in the plain build")
    return "; ".join([crash_in(tmp, "harness", []),
                      crash_in(tmp, "fanin", ["--poller", "epoll", "--set", "fds=10,100"])])


def same_out(tmp):
    out = os.path.join(tmp, "same.csv")
    cmd = [MUXBENCH, "run", "--workload", "harness", "--out", out] + FAST
    a, b = common.start(cmd), common.start(cmd)
    results = [finish(a, "same_out A"), finish(b, "same_out B")]
    chk.check([r[0] for r in results] == [0, 0], f"same_out: exits {[r[0] for r in results]}")
    check_complete("same_out", out)
    ids = {r["run_id"] for r in rows_of(out)}
    chk.check(len(ids) == 1, f"same_out: one run in the file: {ids}")
    # One run overtaking the other: A stops before its rename, B finishes, A goes on.
    slow = common.start(cmd, env=dict(os.environ, MUXBENCH_TEST_STOP="commit"))
    chk.check(common.wait_stopped(slow, 60), "same_out: the slow run reached its rename")
    fast = common.start(cmd)
    rc_fast = finish(fast, "same_out fast")[0]
    os.kill(slow.pid, signal.SIGCONT)
    rc_slow = finish(slow, "same_out slow")[0]
    chk.check((rc_fast, rc_slow) == (0, 0), f"same_out: overtaking exits {rc_fast}, {rc_slow}")
    check_complete("same_out (overtaken)", out)
    ids2 = {r["run_id"] for r in rows_of(out)}
    chk.check(len(ids2) == 1, f"same_out: one run in the file after overtaking: {ids2}")
    temps = [t for t in os.listdir(tmp) if ".tmp" in t]
    chk.check(not temps, f"same_out: temporary files left: {temps}")
    return "both runs exit 0 twice; the file is one whole run each time (the last rename wins)"


def readonly(tmp):
    mnt = os.path.join(tmp, "ro")
    os.mkdir(mnt)
    mount_tmpfs(mnt, "size=1m,ro")
    try:
        out = os.path.join(mnt, "ro.csv")
        rc, _, err = run("readonly --out", ["--workload", "harness", "--out", out] + FAST, mnt)
        chk.check(rc == common.EXIT_ENV, f"readonly: exit {rc}, expected 3: {err[-600:]}")
        chk.check("Read-only file system" in err and "writable --out" in err,
                  f"readonly: the reason and the way out: {err[-400:]}")
        rc2, _, err2 = run("readonly cwd", ["--workload", "harness"] + FAST, mnt, cwd=mnt)
        chk.check(rc2 == common.EXIT_ENV, f"readonly cwd: exit {rc2}, expected 3: {err2[-600:]}")
        chk.check("results/" in err2 and "writable --out" in err2,
                  f"readonly cwd: the reason names results/: {err2[-400:]}")
        chk.check(not os.listdir(mnt), "readonly: nothing written")
        return f"--out on a read-only mount: exit {rc}; default results/ there: exit {rc2}"
    finally:
        subprocess.run(["umount", "-l", mnt])


FAULTS = {
    "emfile": (emfile, "exit 0; a limit row at the fd limit; cases below it measured"),
    "enomem": (enomem, "exit 0; a limit row naming RLIMIT_AS; cases below it measured"),
    "eagain": (eagain, "exit 3 when no thread can start; a limit row in a thread sweep"),
    "disk_full": (disk_full, "exit 3 naming ENOSPC, no file at --out, a partial of whole "
                  "rows; full only for the JSON at the end: exit 0, no half-written JSON"),
    "outdir_gone": (outdir_gone, "exit 3 naming the missing directory; nothing recreated"),
    "helper_killed": (helper_killed, "an error row for that case; later cases run; exit 1"),
    "seccomp_eperm": (lambda t: seccomp(t, "eperm"), "exit 0; io_uring skipped with the reason"),
    "seccomp_enosys": (lambda t: seccomp(t, "enosys"), "exit 0; io_uring skipped with the reason"),
    "seccomp_kill": (lambda t: seccomp(t, "kill"),
                     "exit 0; io_uring skipped (the probe's child is killed, not the run)"),
    "crash": (crash, "death by SIGSEGV; the finished cases whole in a .partial.csv; nothing "
                     "left behind"),
    "same_out": (same_out, "both exit 0; one whole CSV of one run; no temporary file"),
    "readonly": (readonly, "exit 3 with the reason and what to change; nothing written"),
}


def main():
    name = sys.argv[3] if len(sys.argv) > 3 else ""
    if name == "--list":
        print("\n".join(FAULTS))
        return 0
    if name not in FAULTS:
        print(f"usage: faults.py MUXBENCH SECCOMP_EXEC {{{'|'.join(FAULTS)}}}", file=sys.stderr)
        return 2
    fn, expected = FAULTS[name]
    common.become_subreaper()
    tmp = tempfile.mkdtemp(prefix=f"muxbench-fault-{name}-")
    try:
        outcome = fn(tmp)
    except Skip as e:
        print(f"skip: {e}")
        common.record("fault", name, 0, 0, expected, f"skipped: {e}")
        return common.SKIP
    held = not chk.failures
    common.record("fault", name, 1, int(held), expected,
                  outcome if held else "FAILED: " + "; ".join(chk.failures)[:300])
    print(f"{name}: {'held' if held else 'FAILED'}: {outcome}")
    if held:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
