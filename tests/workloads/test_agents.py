#!/usr/bin/env python3
"""End-to-end tests of `muxbench agent` and echo's clients on agents (standard library only).

    test_agents.py MUXBENCH GROUP

GROUP is one of:
  agent_usage       bad --listen values and options exit 2, an address that is not this
                    machine's or a port in use exits 3, each with a message
  agent_binds_one   the agent listens on the address it is given and on no other
  agent_stops       SIGTERM and SIGINT stop an idle agent with exit 0, and one that is running a
                    client too: the client is reaped, nothing is left
  handshake         a stray line and a run of another version or architecture are refused with
                    a message that names both versions; a run of this version is greeted with
                    the agent's host, kernel and CPU; the agent serves the next run after each
  run_refusals      the measuring side: an unreachable agent is exit 3 naming its address, an
                    agent of another version or one that refuses is exit 3 with its words, a
                    malformed clients= list is exit 2
  loopback_one      echo with one agent over loopback: every row ok, the clients and agents
                    columns, the agent's environment rows and its client CPU share
  loopback_two      two agents: the connections split between them, both agents' rows
  agent_killed      an agent killed mid-case: that case is an error row naming the agent, the run
                    goes on to its end (exit 1), the agent's client does not outlive it
  veth_one          transport=veth with one agent: rows ok, no namespace or process left
  veth_two          transport=veth with two agents in the client namespace
  veth_interrupt    SIGINT, SIGTERM and a crash of a veth run: no namespace, process or
                    temporary file is left behind
  veth_stale        a namespace pair left by a run that is gone is removed by the next run
  veth_unprivileged without root, a veth case is a skipped row saying why
Exit status: 0 pass, 1 fail, 77 skip.
"""
import csv
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, HERE)
from test_cli import MUXBENCH, check  # noqa: E402
from test_cli import main as cli_main  # noqa: E402
from test_fanin import TAG, become_subreaper, exists, orphans_reaped  # noqa: E402

QUICK = ["--poller", "epoll", "--quick", "--set", "variant=coroutine", "--set", "units=10"]
LISTENING = re.compile(r"listening on (\S+) \(muxbench (\S+), protocol (\d+), (\S+)\)")


def tmpdir():
    return tempfile.mkdtemp(prefix="muxbench-agents-")


def tagged_env(tag):
    return dict(os.environ, **{TAG: tag})


def start_agent(tag, addr="127.0.0.1:0", extra=()):
    """Starts an agent; returns (proc, its address, version, arch) once it listens."""
    proc = subprocess.Popen([MUXBENCH, "agent", "--listen", addr, *extra], text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=tagged_env(tag))
    line = proc.stderr.readline()
    m = LISTENING.search(line)
    if not m:
        proc.kill()
        proc.communicate()
        raise SystemExit(f"the agent did not start: {line!r}")
    return proc, m.group(1), m.group(2), m.group(4)


def stop_agent(proc):
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def run(args, tag=None, **kw):
    return subprocess.run([MUXBENCH] + args, capture_output=True, text=True, timeout=600,
                          env=tagged_env(tag or uuid.uuid4().hex), **kw)


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def env_items(rows):
    return {r["metric"]: r["note"] for r in rows if r["workload"] == "env"}


def procs_of(tag):
    """Live processes of one run by the tag in their environment: {pid: (comm, cmdline)}."""
    found = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/environ", "rb") as f:
                if (TAG + "=" + tag).encode() not in f.read().split(b"\0"):
                    continue
            with open(d + "/comm") as f:
                comm = f.read().strip()
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            found[int(os.path.basename(d))] = (comm, cmd)
        except OSError:
            pass
    return found


def namespaces(pid=None):
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    prefix = "muxbench-" if pid is None else f"muxbench-{pid}-"
    return [n for n in names if n.startswith(prefix)]


def need_veth():
    if os.geteuid() != 0:
        print("SKIP: transport=veth needs root", file=sys.stderr)
        raise SystemExit(77)
    if not shutil.which("ip") and not os.path.exists("/usr/sbin/ip"):
        print("SKIP: no iproute2 `ip`", file=sys.stderr)
        raise SystemExit(77)
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: no network namespace support", file=sys.stderr)
        raise SystemExit(77)


def case_rows(rows):
    return [r for r in rows if r["workload"] == "echo"]


# ---- the agent alone ---------------------------------------------------------------------

def agent_usage():
    for args, what in (([], "no --listen"),
                       (["--listen"], "--listen without a value"),
                       (["--listen", "127.0.0.1"], "no port"),
                       (["--listen", "127.0.0.1:99999"], "a port out of range"),
                       (["--listen", "localhost:7000"], "a name, not a number"),
                       (["--listen", "[::1]"], "IPv6 without a port"),
                       (["--listen", "127.0.0.1:0", "--bogus", "1"], "an unknown option"),
                       (["--listen", "127.0.0.1:0", "--exit-with-fd", "x"], "a bad fd")):
        r = run(["agent"] + args)
        check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2: {r.stderr[-200:]}")
        check("muxbench agent:" in r.stderr, f"{what}: a message: {r.stderr[-200:]}")
    # 192.0.2.1 (TEST-NET-1) is no address of this machine.
    r = run(["agent", "--listen", "192.0.2.1:0"])
    check(r.returncode == 3 and "cannot listen on 192.0.2.1:0" in r.stderr,
          f"a foreign address: exit {r.returncode}, expected 3: {r.stderr[-200:]}")
    tag = uuid.uuid4().hex
    proc, addr, _, _ = start_agent(tag)
    r = run(["agent", "--listen", addr])
    check(r.returncode == 3 and "in use" in r.stderr,
          f"a port in use: exit {r.returncode}, expected 3: {r.stderr[-200:]}")
    stop_agent(proc)


def agent_binds_one():
    tag = uuid.uuid4().hex
    proc, addr, _, _ = start_agent(tag)
    port = int(addr.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    refused = False
    try:
        socket.create_connection(("127.0.0.2", port), timeout=5).close()
    except ConnectionRefusedError:
        refused = True
    check(refused, f"127.0.0.2:{port} is refused: the agent bound 127.0.0.1 only")
    code, _ = stop_agent(proc)
    check(code == 0, f"stopped with exit {code}")


def agent_stops():
    check(become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER)")
    for sig in (signal.SIGTERM, signal.SIGINT):
        tag = uuid.uuid4().hex
        proc, _, _, _ = start_agent(tag)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        check(proc.returncode == 0, f"idle, {sig.name}: exit {proc.returncode}, expected 0")
        check("stopping" in err, f"idle, {sig.name}: it says so: {err[-200:]}")

    # Mid-case: the agent's client is reaped by the agent, the run's case is an error row.
    for sig in (signal.SIGTERM, signal.SIGINT):
        tag = uuid.uuid4().hex
        agent, addr, _, _ = start_agent(tag)
        out = os.path.join(tmpdir(), "s.csv")
        run_proc = subprocess.Popen(
            [MUXBENCH, "run", "--workload", "echo", "--out", out, "--poller", "epoll",
             "--repetitions", "30", "--set", "variant=coroutine", "--set", "units=10,20,40",
             "--set", "clients=" + addr], text=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=tagged_env(tag))
        client = wait_for(lambda: [p for p, (c, _) in procs_of(tag).items()
                                   if c == "muxbench-client"])
        check(client, f"mid-case, {sig.name}: the agent's client ran")
        agent.send_signal(sig)
        _, err = agent.communicate(timeout=30)
        check(agent.returncode == 0, f"mid-case, {sig.name}: exit {agent.returncode}: {err}")
        for pid in client or []:
            check(not exists(pid), f"mid-case, {sig.name}: client {pid} still exists")
        _, rerr = run_proc.communicate(timeout=300)
        check(run_proc.returncode == 1, f"mid-case, {sig.name}: the run exits 1, not "
              f"{run_proc.returncode}: {rerr[-300:]}")
        errors = [r for r in case_rows(read_rows(out)) if r["status"] == "error"]
        check(errors and addr in errors[0]["note"],
              f"mid-case, {sig.name}: an error row naming {addr}: "
              f"{[r['note'] for r in errors]}")
        check(not procs_of(tag), f"mid-case, {sig.name}: nothing of the run is alive")
    left = orphans_reaped()
    check(not left, f"processes were left to the reaper: {left}")


def wait_for(probe, timeout_s=120):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        got = probe()
        if got:
            return got
        time.sleep(0.01)
    return None


def say(addr, line):
    """Sends one handshake line to the agent at addr; returns its answer line."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(line.encode())
        f = s.makefile("r")
        return f.readline().rstrip("\n")


def handshake():
    tag = uuid.uuid4().hex
    proc, addr, version, arch = start_agent(tag)
    answer = say(addr, "GET / HTTP/1.0\n")
    check(answer.startswith("REFUSED") and "MUXBENCH-AGENT" in answer,
          f"a stray line is refused, saying what a run sends: {answer!r}")
    answer = say(addr, f"MUXBENCH-AGENT 1 0123456789ab {arch}\n")
    check(answer.startswith("REFUSED") and version in answer and "0123456789ab" in answer,
          f"another version is refused naming both: {answer!r}")
    answer = say(addr, f"MUXBENCH-AGENT 1 {version} sparc-be-32\n")
    check(answer.startswith("REFUSED") and "sparc-be-32" in answer,
          f"another architecture is refused: {answer!r}")
    answer = say(addr, f"MUXBENCH-AGENT 99 {version} {arch}\n")
    check(answer.startswith("REFUSED") and "protocol 99" in answer,
          f"another protocol is refused: {answer!r}")
    answer = say(addr, f"MUXBENCH-AGENT 1 {version} {arch}\n")
    fields = answer.split("\t")
    check(answer.startswith(f"OK 1 {version} {arch}") and len(fields) == 5,
          f"this version is greeted: {answer!r}")
    if len(fields) == 5:
        check(fields[1] == socket.gethostname() and fields[2] == os.uname().release,
              f"the greeting carries the host and kernel: {fields}")
        check(fields[4].isdigit() and int(fields[4]) >= 1, f"and the cpus: {fields}")
    code, err = stop_agent(proc)
    check(code == 0, f"the agent served every connection and stopped with 0, not {code}")
    check(err.count("refused") == 4, f"the agent logged each refusal: {err}")


# ---- the measuring side ------------------------------------------------------------------

class FakeAgent:
    """A listener that answers every handshake with `reply`."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.makefile("r").readline()
                conn.sendall(self.reply.encode())

    def close(self):
        self.sock.close()


def run_refusals():
    out = os.path.join(tmpdir(), "r.csv")
    base = ["run", "--workload", "echo", "--out", out] + QUICK
    # A port nobody listens on: bound and closed.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    r = run(base + ["--set", "clients=" + dead])
    check(r.returncode == 3 and dead in r.stderr and "unreachable" in r.stderr,
          f"an unreachable agent: exit {r.returncode}, expected 3 naming it: {r.stderr[-300:]}")
    check(not os.path.exists(out), "an unreachable agent: no CSV")

    fake = FakeAgent("OK 1 0123456789ab x86_64-le-64\thost\tkernel\tcpu\t1\n")
    r = run(base + ["--set", "clients=" + fake.addr])
    check(r.returncode == 3 and fake.addr in r.stderr and "0123456789ab" in r.stderr and
          "same build" in r.stderr,
          f"an agent of another version: exit {r.returncode}, expected 3: {r.stderr[-300:]}")
    fake.close()
    fake = FakeAgent("REFUSED busy with another thing\n")
    r = run(base + ["--set", "clients=" + fake.addr])
    check(r.returncode == 3 and "busy with another thing" in r.stderr,
          f"a refusal: exit {r.returncode}, expected 3 with its words: {r.stderr[-300:]}")
    fake.close()
    fake = FakeAgent("SSH-2.0-OpenSSH\n")
    r = run(base + ["--set", "clients=" + fake.addr])
    check(r.returncode == 3 and "not a muxbench agent" in r.stderr,
          f"not an agent: exit {r.returncode}, expected 3: {r.stderr[-300:]}")
    fake.close()

    for value, what in (("nonsense", "no port"), ("127.0.0.1:0", "port 0"),
                        ("example.com:7000", "a name"), ("127.0.0.1:1,127.0.0.1:1", "twice"),
                        (",".join("127.0.0.1:%d" % (7000 + i) for i in range(9)), "nine")):
        r = run(base + ["--set", "clients=" + value])
        check(r.returncode == 2 and "clients" in r.stderr,
              f"clients={value} ({what}): exit {r.returncode}, expected 2: {r.stderr[-300:]}")
    r = run(base + ["--set", "clients=127.0.0.1:7000", "--set", "transport=unix"])
    check(r.returncode == 2 and "transport=tcp" in r.stderr,
          f"clients= with unix: exit {r.returncode}, expected 2: {r.stderr[-300:]}")
    r = run(base + ["--set", "agents=5", "--set", "transport=veth"])
    check(r.returncode == 2, f"agents=5: exit {r.returncode}, expected 2: {r.stderr[-300:]}")


def check_agent_rows(rows, addrs, what):
    cases = case_rows(rows)
    check(cases and all(r["status"] == "ok" for r in cases),
          f"{what}: every row ok: {[(r['status'], r['note']) for r in cases if r['status'] != 'ok'][:3]}")
    check(all(r["agents"] == str(len(addrs)) for r in cases), f"{what}: agents column")
    env = env_items(rows)
    for i, addr in enumerate(addrs, 1):
        check(env.get(f"agent{i}.addr", "").startswith(addr),
              f"{what}: env row agent{i}.addr is {addr}: {env.get(f'agent{i}.addr')}")
        for field in ("host", "kernel", "cpu", "cpus", "version"):
            check(env.get(f"agent{i}.{field}"), f"{what}: env row agent{i}.{field}")
        share = [r for r in cases if r["metric"] == f"agent{i}_client_cpu_ratio" and
                 r["stat"] == "median"]
        check(share and 0 < float(share[0]["value"]) <= 1.5,
              f"{what}: agent {i}'s client CPU share: {[r['value'] for r in share]}")
    check(f"agent{len(addrs) + 1}.addr" not in env, f"{what}: no more agents than used")
    med = {r["metric"]: float(r["value"]) for r in cases if r["stat"] == "median"}
    check(0 < med.get("p50_us", 0) <= med.get("p99_us", 0),
          f"{what}: 0 < p50 <= p99 from the merged histograms: {med}")
    check(med.get("req_per_s", 0) > 0, f"{what}: requests counted")


def loopback(n):
    tag = uuid.uuid4().hex
    agents = [start_agent(tag) for _ in range(n)]
    addrs = [a[1] for a in agents]
    out = os.path.join(tmpdir(), "l.csv")
    r = run(["run", "--workload", "echo", "--out", out, "--set", "clients=" + ",".join(addrs)]
            + QUICK, tag)
    check(r.returncode == 0, f"{n} agents: exit {r.returncode}: {r.stderr[-400:]}")
    rows = read_rows(out) if os.path.exists(out) else []
    check_agent_rows(rows, addrs, f"{n} agents")
    want_clients = "+".join(addrs)
    check(all(r["clients"] == want_clients for r in case_rows(rows)),
          f"{n} agents: the clients column is {want_clients}")
    for i, (proc, addr, _, _) in enumerate(agents):
        code, err = stop_agent(proc)
        share = 10 // n + (i < 10 % n)
        check(code == 0 and f"{share} connections to" in err,
              f"agent {addr} made its {share} of the 10 connections: {err[-300:]}")


def loopback_one():
    loopback(1)


def loopback_two():
    loopback(2)


def agent_killed():
    check(become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER)")
    tag = uuid.uuid4().hex
    agent, addr, _, _ = start_agent(tag)
    out = os.path.join(tmpdir(), "k.csv")
    proc = subprocess.Popen(
        [MUXBENCH, "run", "--workload", "echo", "--out", out, "--poller", "epoll",
         "--repetitions", "30", "--set", "variant=coroutine", "--set", "units=10,20,40",
         "--set", "clients=" + addr], text=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=tagged_env(tag))
    client = wait_for(lambda: [p for p, (c, _) in procs_of(tag).items()
                               if c == "muxbench-client"])
    check(client, "the agent's client ran")
    agent.kill()
    agent.communicate()
    _, err = proc.communicate(timeout=300)
    check(proc.returncode == 1, f"the run exits 1, not {proc.returncode}: {err[-400:]}")
    rows = read_rows(out) if os.path.exists(out) else []
    cases = case_rows(rows)
    errors = [r for r in cases if r["status"] == "error"]
    check(errors and all(addr in r["note"] for r in errors),
          f"error rows naming the agent: {[r['note'] for r in errors]}")
    check(len({r["units"] for r in cases}) == 3, "the run went on through every case")
    check(any(r["metric"] == "run_complete" for r in rows), "the CSV is complete")
    time.sleep(0.2)
    orphans_reaped()  # the client, reparented to us when its agent died, if it has exited
    for pid in client or []:
        check(not exists(pid), f"the agent's client {pid} did not outlive it")
    check(not procs_of(tag), f"nothing of the run is alive: {procs_of(tag)}")


# ---- transport=veth ----------------------------------------------------------------------

def veth(n):
    need_veth()
    tag = uuid.uuid4().hex
    out = os.path.join(tmpdir(), "v.csv")
    proc = subprocess.Popen([MUXBENCH, "run", "--workload", "echo", "--out", out, "--set",
                             "transport=veth", "--set", f"agents={n}"] + QUICK, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=tagged_env(tag))
    _, err = proc.communicate(timeout=300)
    check(proc.returncode == 0, f"veth, {n} agents: exit {proc.returncode}: {err[-400:]}")
    rows = read_rows(out) if os.path.exists(out) else []
    check_agent_rows(rows, ["10.199.0.2:%d" % (7100 + i) for i in range(n)],
                     f"veth, {n} agents")
    check(all(r["clients"] == "netns" and r["transport"] == "veth" for r in case_rows(rows)),
          f"veth, {n} agents: clients=netns, transport=veth")
    check(not namespaces(proc.pid), f"veth, {n} agents: no namespace left: "
          f"{namespaces(proc.pid)}")
    check(not procs_of(tag), f"veth, {n} agents: no process left: {procs_of(tag)}")


def veth_one():
    veth(1)


def veth_two():
    veth(2)


def veth_interrupt():
    need_veth()
    check(become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER)")
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 130),
                      (signal.SIGSEGV, -signal.SIGSEGV)):
        tag = uuid.uuid4().hex
        d = tmpdir()
        out = os.path.join(d, "i.csv")
        proc = subprocess.Popen(
            [MUXBENCH, "run", "--workload", "echo", "--out", out, "--poller", "epoll",
             "--repetitions", "30", "--set", "variant=coroutine", "--set", "units=10,20,40",
             "--set", "transport=veth", "--set", "agents=2"], text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=tagged_env(tag))
        ready = wait_for(lambda: namespaces(proc.pid) and
                         [p for p, (c, _) in procs_of(tag).items() if c == "muxbench-client"])
        check(ready, f"{sig.name}: the namespaces and a client existed")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        check(proc.returncode == want, f"{sig.name}: exit {proc.returncode}, expected {want}: "
              f"{err[-300:]}")
        time.sleep(0.2)
        orphans_reaped()
        check(not namespaces(proc.pid), f"{sig.name}: namespaces left: {namespaces(proc.pid)}")
        check(not procs_of(tag), f"{sig.name}: processes left: {procs_of(tag)}")
        leftovers = [f for f in os.listdir(d) if f.endswith(".tmp")]
        check(not leftovers, f"{sig.name}: temporary files left: {leftovers}")
        check(not os.path.exists(out), f"{sig.name}: no complete CSV for an interrupted run")


def veth_stale():
    need_veth()
    # A pid that is gone: a child that has exited and been reaped.
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"muxbench-{dead.pid}-s"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        out = os.path.join(tmpdir(), "st.csv")
        r = run(["run", "--workload", "echo", "--out", out, "--set", "transport=veth"] + QUICK)
        check(r.returncode == 0, f"exit {r.returncode}: {r.stderr[-300:]}")
        check(name in r.stderr and "removing" in r.stderr,
              f"the stale namespace is named: {r.stderr[-300:]}")
        check(name not in namespaces(), f"{name} is gone")
    finally:
        if name in namespaces():
            subprocess.run(["ip", "netns", "del", name])


def veth_unprivileged():
    need_veth()
    d = tmpdir()
    os.chmod(d, 0o777)
    out = os.path.join(d, "u.csv")

    def drop():
        os.setgid(65534)
        os.setuid(65534)
    try:
        r = subprocess.run([MUXBENCH, "run", "--workload", "echo", "--out", out, "--set",
                            "transport=veth"] + QUICK, capture_output=True, text=True,
                           timeout=300, preexec_fn=drop)
    except PermissionError:
        print("SKIP: the build is not reachable by the user nobody", file=sys.stderr)
        raise SystemExit(77)
    check(r.returncode == 3, f"nothing could run: exit {r.returncode}: {r.stderr[-300:]}")
    rows = case_rows(read_rows(out)) if os.path.exists(out) else []
    check(rows and all(x["status"] == "skipped" and "root" in x["note"] for x in rows),
          f"a skipped row saying root is needed: {[x['note'] for x in rows]}")


if __name__ == "__main__":
    sys.exit(cli_main({g.__name__: g for g in (
        agent_usage, agent_binds_one, agent_stops, handshake, run_refusals, loopback_one,
        loopback_two, agent_killed, veth_one, veth_two, veth_interrupt, veth_stale,
        veth_unprivileged)}, "agents"))
