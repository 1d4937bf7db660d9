"""The muxbench CSV contract (docs/csv.md; docs/design.md §5), as data.

Everything the loader checks is written down here, so the contract has one home on the Python
side. When docs/csv.md changes, this file changes with it. It imports nothing: the command-line
tests (tests/cli/test_cli.py, standard library only) load it by path.
"""

# Every column of docs/csv.md, in the order the suite writes them. Later versions may add
# columns at the end; none is removed or renamed without changing docs/csv.md.
COLUMNS = (
    "run_id", "timestamp", "host", "kernel", "cpu_model", "workload", "poller", "variant",
    "placement", "fds", "active", "writes", "position", "timeout", "transport", "units",
    "stack_bytes", "stack_alloc", "touch_bytes", "reg", "loop", "rate", "clients", "agents",
    "thp", "fdtable", "mode", "delay_ns", "ops", "mean_ns", "busy_ns", "yield_every_ns",
    "metric", "stat", "value", "unit", "repetitions", "iterations", "status", "note",
)

# A file without these is not a muxbench CSV: the columns every reader relies on, with status
# and note, which every verdict depends on.
CORE_COLUMNS = (
    "run_id", "timestamp", "host", "kernel", "cpu_model", "workload", "poller", "variant",
    "placement", "fds", "active", "units", "stack_bytes", "metric", "stat", "value", "unit",
    "repetitions", "status", "note",
)

NUMERIC_COLUMNS = ("fds", "active", "writes", "units", "stack_bytes", "touch_bytes", "rate",
                   "agents", "delay_ns", "ops", "mean_ns", "busy_ns", "yield_every_ns", "value",
                   "repetitions", "iterations")

# The columns that identify one case (one configuration that was measured).
CASE_COLUMNS = ("workload", "poller", "variant", "placement", "fds", "active", "writes",
                "position", "timeout", "transport", "units", "stack_bytes", "stack_alloc",
                "touch_bytes", "reg", "loop", "rate", "clients", "agents", "thp", "fdtable", "mode",
                "delay_ns", "ops", "mean_ns", "busy_ns", "yield_every_ns")

# p50/p95/p99: percentiles of per-operation samples (pooled over the repetitions where the
# harness records the samples; the median of each repetition's own where a workload computes
# them, as iobound does).
PERCENTILE_STATS = ("p50", "p95", "p99")
STATS = ("median", "mean", "min", "max", "stddev", "cv") + PERCENTILE_STATS + ("se",)
# One row per repetition holds that repetition's own value: stat "rep1" ... "repN", in the order
# the repetitions ran (docs/csv.md). The summary statistics above are computed over them.
REP_PREFIX = "rep"


def rep_index(stat):
    """1 for 'rep1', 12 for 'rep12'; None for anything else ('rep', 'rep0', 'rep01', 'median')."""
    text = str(stat)
    digits = text[len(REP_PREFIX):]
    if not text.startswith(REP_PREFIX) or not digits.isdigit() or not digits.isascii() \
            or digits[0] == "0":
        return None
    return int(digits)


def is_stat(stat):
    """Whether stat is a documented statistic or a repetition's own value."""
    return stat in STATS or rep_index(stat) is not None


STATUSES = ("ok", "derived", "skipped", "limit", "error", "env")
UNITS = ("ns", "us", "bytes", "per_s", "ratio", "count")

# workload -> {metric: unit}
METRICS = {
    "fanin": {
        "wait_ns": "ns", "event_ns": "ns", "add_ns": "ns", "del_ns": "ns",
        "idle_wait_ns": "ns", "events_per_wait": "count",
        "wait_ns_per_fd": "ns", "wait_ns_fixed": "ns", "wait_fit_r2": "ratio",
        "wait_fit_points": "count", "wait_exponent": "ratio",
        "cycle_ns": "ns", "cycle_ns_per_fd": "ns", "cycle_ns_fixed": "ns",
        "cycle_fit_r2": "ratio", "cycle_fit_points": "count", "cycle_exponent": "ratio",
        "rearm_ns": "ns", "bracket_ns": "ns", "wait_sleeps": "count",
        "fdtable_sharers": "count", "bare_poll_ns": "ns", "wait_vs_bare_poll": "ratio",
        "per_fd_scan_ns": "ns", "per_fd_wqueue_ns": "ns", "per_fd_fdtable_tax_ns": "ns",
        "units_reached": "count",
    },
    "ctxswitch": {"switch_ns": "ns", "wake_ns": "ns", "switches_counted_ratio": "ratio",
                  "voluntary_per_handoff": "ratio", "involuntary_per_handoff": "ratio",
                  "syscalls_per_round_trip": "count", "round_trip_p99_ns": "ns",
                  "coro_overhead_ratio": "ratio", "units_reached": "count"},
    "memory": {
        "vsz_per_unit_bytes": "bytes", "rss_per_unit_bytes": "bytes",
        "kernel_per_unit_bytes": "bytes", "kernel_stack_per_unit_bytes": "bytes",
        "page_tables_per_unit_bytes": "bytes", "slab_per_unit_bytes": "bytes",
        "anon_per_unit_bytes": "bytes",
        "rss_per_unit_fit_bytes": "bytes", "anon_per_unit_fit_bytes": "bytes",
        "vsz_per_unit_fit_bytes": "bytes", "kernel_per_unit_fit_bytes": "bytes",
        "rss_fit_err_bytes": "bytes", "anon_fit_err_bytes": "bytes",
        "vsz_fit_err_bytes": "bytes", "kernel_fit_err_bytes": "bytes",
        "units_reached": "count",
    },
    "spawn": {"create_ns": "ns", "create_first_use_ns": "ns", "spawn_per_s": "per_s",
              "churn_overhead_ns": "ns", "timer_slack_ns": "ns",
              "units_reached": "count"},
    "echo": {"req_per_s": "per_s", "p50_us": "us", "p99_us": "us", "rss_bytes": "bytes",
             "server_cpu_ratio": "ratio", "client_cpu_ratio": "ratio", "units_reached": "count",
             # with agents (docs/agents.md): each agent's client CPU time / its window
             **{"agent%d_client_cpu_ratio" % i: "ratio" for i in range(1, 9)}},
    "harness": {"iteration_ns": "ns", "clock_read_ns": "ns"},
    "nwait": {"total_ns": "ns", "overhead_ns": "ns", "speedup": "ratio",
              "units_reached": "count"},
    "iobound": {"total_ns": "ns", "op_us": "us", "late_us": "us", "req_us": "us",
                "ops_counted": "count", "units_reached": "count"},
    "cancel": {"cancel_ns": "ns", "cancel_per_task_ns": "ns", "units_reached": "count"},
    "checkpoint": {"await_ns": "ns", "request_ns": "ns", "starve_ns": "ns",
                   "yields_per_await": "count", "poller_waits_per_await": "count",
                   "ticks": "count", "yields": "count", "units_reached": "count"},
}

WORKLOADS = tuple(METRICS) + ("env",)


def closed_loop(st):
    """echo's closed-loop rows with the local client of a stats frame (loop or clients empty: a
    CSV from before the column): the comparison the claims and the echo plot make. Open-loop
    rows answer another question (latency at a set rate), and rows whose load came from agents
    (clients: addresses, or netns for transport=veth; docs/agents.md) another machine's or
    path's; both are shown on their own."""
    if "loop" in st.columns:
        st = st[st["loop"].fillna("").astype(str).isin(["", "closed", "nan"])]
    if "clients" in st.columns:
        st = st[st["clients"].fillna("").astype(str).isin(["", "local", "nan"])]
    return st

PLACEMENTS = ("same-pu", "smt-sibling", "same-l3", "cross-l3", "cross-numa", "unpinned")

# Environment items (docs/csv.md, "Environment rows"); vuln.<name> and agent<N>.<field> (the
# agents of a run, docs/agents.md) are open-ended.
ENV_ITEMS = (
    "kernel", "cpu_model", "cpus_online", "cores", "smt", "governor", "turbo", "rlimit_nofile",
    "rlimit_nofile_max", "threads_max", "max_map_count", "io_uring_disabled",
    "io_uring_setup_flags", "compiler", "cflags", "build_type", "git_revision", "hwloc_version",
    "topology", "placements", "command_line", "benchmark_version", "clock", "run_complete",
    "kernel_build", "placement_backend", "sanitize", "muxbench_version", "microcode",
)

# Pollers that are peers: an event library layered over a native backend.
PEER_PREFIXES = ("libevent", "libev", "libuv", "null")


def is_peer(poller):
    """True for an event library (libevent-epoll, libev, libuv), false for a kernel backend."""
    return any(str(poller).startswith(p) for p in PEER_PREFIXES)


def native_of(peer):
    """The kernel backend a peer runs over: 'libevent-epoll' -> 'epoll'; libev/libuv -> epoll."""
    name = str(peer)
    if "-" in name:
        return name.split("-", 1)[1]
    return "epoll"
