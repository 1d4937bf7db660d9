"""Compare two muxbench runs: what changed between two kernels, machines or builds, and is it real.

    python3 -m muxbench_analysis.compare BASE.csv[,...] NEW.csv[,...] [--alpha A] [--threshold T]
                                         [--min-effect E] [--metric M[,M]|all] [--out F.md|F.csv]
    muxbench compare ...        (the same, through the muxbench command)

Either side may be several runs of one command, BASE1.csv,BASE2.csv,...: their repetitions are
pooled. On a machine with noise that comes and goes over seconds, the repetitions of one run sit
back to back inside one such episode and agree too well; runs interleaved A B A B A B and pooled
sample it on both sides (docs/compare.md).

For every case measured in both files (matched on its parameters, docs/csv.md CASE_COLUMNS) and
each metric asked for, it reads the per-repetition values (stat rep1..repN) and gives the median
on each side, the ratio NEW/BASE, a two-sided Mann-Whitney U test (scipy.stats.mannwhitneyu) with
its p-value and the repetitions on each side, and a verdict: faster, slower, or no significant
change (for metrics without a better direction: higher, lower). A change is reported only when
it is significant at --alpha AND at least --min-effect in size: repetitions of one run are more
alike than two runs of the same command (ASLR, page placement, a neighbour's load), so a tiny
shift between runs can be "significant" without meaning anything. The environment is compared
first; docs/compare.md explains the rest.

Exit status: 0 done, no case slower beyond --threshold (or no threshold given); 1 a case got
slower beyond --threshold; 2 bad usage; 3 an unreadable or incompatible file (the message says
why), or scipy missing.
"""
import argparse
import csv
import io
import math
import os
import sys

from . import schema  # imports nothing: data (pandas) and scipy load only when needed

EXIT_OK, EXIT_SLOWER, EXIT_USAGE, EXIT_FILES = 0, 1, 2, 3

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_EFFECT = 0.05

# The metric compared by default: the first of these a case has (a workload's headline).
HEADLINE = {
    "fanin": ("wait_ns", "add_ns", "idle_wait_ns"),
    "ctxswitch": ("switch_ns",),
    "memory": ("rss_per_unit_bytes",),
    "spawn": ("create_ns", "spawn_per_s"),
    "echo": ("req_per_s",),
    "harness": ("iteration_ns", "clock_read_ns"),
}

# Which way is better, by unit: times and sizes want to be small, rates large. Ratios and counts
# (events per wait, CPU shares) have no better direction: they are "higher" or "lower".
LOWER_IS_BETTER = ("ns", "us", "bytes")
HIGHER_IS_BETTER = ("per_s",)

# Environment items, in the order shown, and what a difference in each means.
MACHINE_ITEMS = ("host", "cpu_model", "cores", "cpus_online", "smt", "topology")
KERNEL_ITEMS = ("kernel", "kernel_build", "microcode")
BUILD_ITEMS = ("compiler", "cflags", "build_type", "sanitize", "git_revision",
               "benchmark_version", "muxbench_version", "hwloc_version")
SETTING_ITEMS = ("governor", "turbo", "clock", "io_uring_disabled", "io_uring_setup_flags",
                 "rlimit_nofile", "rlimit_nofile_max", "threads_max", "max_map_count",
                 "placements", "placement_backend")
INFO_ITEMS = ("command_line",)


class CompareError(Exception):
    """An unreadable or incompatible input: exit 3 with str() as the reason."""


class UsageError(Exception):
    """Bad usage: exit 2."""


def side_paths(spec):
    """The CSVs of one side: BASE.csv or BASE1.csv,BASE2.csv,... (a file whose own name has a
    comma in it is still one file)."""
    if os.path.isfile(spec):
        return [spec]
    paths = [p for p in spec.split(",") if p]
    if not paths:
        raise UsageError("%r names no CSV" % spec)
    return paths


def _load(spec, side="BASE"):
    """One side: a CSV, or several runs of one command whose repetitions are pooled. Runs of one
    side must share machine, kernel and build (else they are not one configuration: exit 3);
    differing settings are a warning."""
    from . import data
    paths = side_paths(spec)
    try:
        ds = data.load(paths)
    except data.CSVError as e:
        raise CompareError(str(e)) from None
    for path in ds.files:
        if not ds.complete.get(path, True):
            ds.warnings.append("%s is a partial run: only its finished cases are compared"
                               % path)
    runs = ds.env()
    if len(runs) > 1:
        first_run = ds.rows["run_id"].iloc[0]
        first = {k: _text(v) for k, v in runs[first_run].items() if k != "run_complete"}
        for run, env in runs.items():
            env = {k: _text(v) for k, v in env.items() if k != "run_complete"}
            diff = [(g, i) for g, i, *_ in env_diff(first, env) if g not in ("run", "other")]
            hard = [i for g, i in diff if g in ("machine", "kernel", "build")]
            if hard:
                raise CompareError("%s: run %s differs from run %s in %s: the runs pooled on "
                                   "one side must be one configuration"
                                   % (side, run, first_run, ", ".join(hard)))
            if diff:
                ds.warnings.append("%s: run %s differs from run %s in settings (%s)"
                                   % (side, run, first_run, ", ".join(i for _, i in diff)))
    return ds


def environment(ds):
    """{item: text} of one run's environment rows, plus its host."""
    env = dict(next(iter(ds.env().values()), {}))
    env.pop("run_complete", None)
    hosts = ds.hosts()
    if hosts:
        env.setdefault("host", hosts[0])
    return {k: _text(v) for k, v in env.items()}


def _text(v):
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v.is_integer():
            return str(int(v))
    return str(v)


def env_diff(base_env, new_env):
    """[(group, item, base, new)] for every item that differs, in a fixed order; vuln.* items
    belong to the kernel group (they depend on the kernel, the microcode and the boot flags)."""
    vulns = sorted(k for k in set(base_env) | set(new_env) if k.startswith("vuln."))
    groups = (("machine", MACHINE_ITEMS), ("kernel", KERNEL_ITEMS + tuple(vulns)),
              ("build", BUILD_ITEMS), ("settings", SETTING_ITEMS), ("run", INFO_ITEMS))
    listed = {i for _, items in groups for i in items}
    others = sorted(k for k in set(base_env) | set(new_env) if k not in listed)
    out = []
    for group, items in groups + (("other", tuple(others)),):
        for item in items:
            b, n = base_env.get(item, "(absent)"), new_env.get(item, "(absent)")
            if b != n:
                out.append((group, item, b, n))
    return out


def scope_notes(diff):
    """What the comparison is across, for the top of the output."""
    groups = {g for g, *_ in diff}
    notes = []
    if "machine" in groups:
        notes.append("ACROSS MACHINES: the two runs are from different machines (%s); every "
                     "difference below mixes the hardware with the rest" %
                     ", ".join(i for g, i, *_ in diff if g == "machine"))
    if "kernel" in groups:
        notes.append("ACROSS KERNELS: kernel, microcode or mitigations differ (%s)" %
                     ", ".join(i for g, i, *_ in diff if g == "kernel"))
    if "build" in groups:
        notes.append("ACROSS BUILDS: the two runs come from different builds (%s)" %
                     ", ".join(i for g, i, *_ in diff if g == "build"))
    if "settings" in groups:
        notes.append("Machine settings differ (%s): figures may move for that reason alone" %
                     ", ".join(i for g, i, *_ in diff if g == "settings"))
    if not notes:
        notes.append("Same machine, kernel, build and settings: differences are the runs' own")
    return notes


def _case_key(row, case_columns):
    return tuple("" if isinstance(row[c], float) and math.isnan(row[c]) else row[c]
                 for c in case_columns)


def case_label(workload, key, case_columns):
    """'fanin/epoll/placement:same-pu/fds:100/...' from a case key (like the harness's names)."""
    parts = [workload]
    for col, v in zip(case_columns, key):
        if col == "workload" or v == "":
            continue
        if isinstance(v, float):
            v = "%d" % v if v.is_integer() else "%g" % v
        parts.append(v if col == "poller" else "%s:%s" % (col, v))
    return "/".join(parts)


def _cases(ds, case_columns):
    """{(case key, metric): {"median": v, "reps": [..], "unit": u, "status": s, ...}} of the
    ok and derived rows, and {case key: (status, note)} of skipped, limit and error rows."""
    out, other = {}, {}
    for r in ds.rows.to_dict("records"):
        if r["status"] == "env":
            continue
        key = _case_key(r, case_columns)
        if r["status"] not in ("ok", "derived"):
            other[key] = (r["status"], r["note"])
            continue
        c = out.setdefault((key, r["metric"]), {"median": math.nan, "reps": {},
                                                 "unit": r["unit"], "status": r["status"],
                                                 "workload": r["workload"], "runs": set()})
        c["runs"].add(r["run_id"])
        k = schema.rep_index(r["stat"])
        if k is not None:
            c["reps"][(r["run_id"], k)] = r["value"]
        elif r["stat"] in ("median", ""):
            c["median"] = r["value"]
            c["unit"] = r["unit"]
    for c in out.values():
        c["reps"] = [c["reps"][k] for k in sorted(c["reps"])]
        if len(c["runs"]) > 1:  # pooled: the median of every repetition, not one run's
            c["median"] = _median(c["reps"]) if c["reps"] else math.nan
    return out, other


def smallest_p(n1, n2):
    """The smallest two-sided p-value the exact U test can give with n1 and n2 values: every
    value of one side below every value of the other (2 of the C(n1+n2, n1) orderings)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def u_test(base, new):
    """(U statistic, two-sided p) of scipy's Mann-Whitney U test; p is 1 when every value on
    both sides is the same (no difference to find, and scipy would divide by zero)."""
    from scipy.stats import mannwhitneyu
    if len(set(base) | set(new)) == 1:
        return float(len(base) * len(new)) / 2, 1.0
    res = mannwhitneyu(new, base, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def direction(unit):
    if unit in LOWER_IS_BETTER:
        return -1
    if unit in HIGHER_IS_BETTER:
        return 1
    return 0


def slowdown(ratio, unit):
    """How much slower NEW is as a factor (1.3 = 30% slower; below 1 is faster); None for a
    metric without a better direction."""
    d = direction(unit)
    if d == 0 or not ratio or math.isnan(ratio) or ratio <= 0:
        return None
    return ratio if d < 0 else 1.0 / ratio


def compare_case(b, n, alpha, min_effect):
    """One comparison: medians, ratio, the test and the verdict."""
    bm = b["median"] if not math.isnan(b["median"]) else _median(b["reps"])
    nm = n["median"] if not math.isnan(n["median"]) else _median(n["reps"])
    ratio = nm / bm if bm and not math.isnan(bm) and not math.isnan(nm) else math.nan
    row = {"base_median": bm, "new_median": nm, "ratio": ratio, "p_value": math.nan,
           "u": math.nan, "base_n": len(b["reps"]), "new_n": len(n["reps"]), "unit": n["unit"],
           "verdict": "", "note": ""}
    if b["status"] == "derived" or n["status"] == "derived":
        row["verdict"] = "not tested"
        row["note"] = "a derived value (one per run): nothing to test"
        return row
    if not b["reps"] or not n["reps"]:
        row["verdict"] = "not tested"
        row["note"] = "no per-repetition values in %s (a CSV written before muxbench kept " \
                      "them)" % ("either file" if not b["reps"] and not n["reps"]
                                 else "BASE" if not b["reps"] else "NEW")
        return row
    floor = smallest_p(len(b["reps"]), len(n["reps"]))
    if floor >= alpha:
        row["verdict"] = "too few repetitions"
        row["note"] = ("%d vs %d repetitions: the smallest p the test can give is %.3g, not "
                       "below alpha %g; run with --repetitions 5 or more"
                       % (len(b["reps"]), len(n["reps"]), floor, alpha))
        return row
    row["u"], row["p_value"] = u_test(b["reps"], n["reps"])
    effect = abs(math.log(ratio)) if ratio and ratio > 0 else 0.0
    big_enough = effect >= math.log1p(min_effect)
    if row["p_value"] >= alpha or not big_enough:
        row["verdict"] = "no significant change"
        if row["p_value"] < alpha:
            row["note"] = "significant but smaller than --min-effect %g" % min_effect
        return row
    d = direction(row["unit"])
    up = ratio > 1
    if d == 0:
        row["verdict"] = "higher" if up else "lower"
    else:
        row["verdict"] = "slower" if (up and d < 0) or (not up and d > 0) else "faster"
    return row


def _median(v):
    if not v:
        return math.nan
    s = sorted(v)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def parse_metrics(text):
    if text is None:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise UsageError("--metric needs a metric name, several separated by commas, or 'all'")
    known = {m for ms in schema.METRICS.values() for m in ms}
    if names == ["all"]:
        return "all"
    bad = [m for m in names if m not in known]
    if bad:
        raise UsageError("--metric: unknown metric%s %s; the metrics are %s (docs/csv.md), "
                         "or 'all'" % ("s" if len(bad) > 1 else "", ", ".join(bad),
                                       ", ".join(sorted(known))))
    return names


def _wanted(workload, metric, present, metrics):
    """Whether (workload, metric) is compared: --metric's list, 'all', or the headline."""
    if metric == "units_reached":
        return False
    if metrics == "all":
        return True
    if metrics:
        return metric in metrics
    for m in HEADLINE.get(workload, ()):
        if m in present:
            return m == metric
    return False


def compare(base_ds, new_ds, alpha=DEFAULT_ALPHA, min_effect=DEFAULT_MIN_EFFECT, metrics=None):
    """The whole comparison, as a dict: env (the diff), scope (notes), rows (one per case and
    metric, sorted by effect size), only_base and only_new ([(label, why)])."""
    cols = schema.CASE_COLUMNS
    base, base_other = _cases(base_ds, cols)
    new, new_other = _cases(new_ds, cols)
    diff = env_diff(environment(base_ds), environment(new_ds))
    per_case = {}
    for key, metric in set(base) | set(new):
        per_case.setdefault(key, set()).add(metric)
    rows = []
    for (key, metric) in sorted(set(base) & set(new), key=str):
        b, n = base[(key, metric)], new[(key, metric)]
        if not _wanted(n["workload"], metric, per_case[key], metrics):
            continue
        row = compare_case(b, n, alpha, min_effect)
        row.update(zip(cols, key))
        row.update(case=case_label(n["workload"], key, cols), metric=metric)
        rows.append(row)
    rows.sort(key=lambda r: (-(abs(math.log(r["ratio"])) if r["ratio"] and r["ratio"] > 0
                               and not math.isnan(r["ratio"]) else -1), r["case"], r["metric"]))
    base_keys, new_keys = {k for k, _ in base}, {k for k, _ in new}

    def only(mine, theirs, their_other, other_name):
        out = []
        for key in sorted(mine - theirs, key=str):
            why = "not in %s" % other_name
            if key in their_other:
                status, note = their_other[key]
                why = "%s in %s%s" % (status, other_name, ": " + note if note else "")
            out.append((case_label(key[0], key, cols), why))
        return out

    result = {
        "env": diff, "scope": scope_notes(diff), "rows": rows, "alpha": alpha,
        "min_effect": min_effect,
        "only_base": only(base_keys, new_keys, new_other, "NEW"),
        "only_new": only(new_keys, base_keys, base_other, "BASE"),
    }
    if not rows and not (base_keys & new_keys):
        raise CompareError("the files have no case in common, so there is nothing to compare "
                           "(BASE: %s; NEW: %s)" % (_workloads(base_keys), _workloads(new_keys)))
    few = [r for r in rows if r["verdict"] == "too few repetitions"]
    if few:
        result["scope"].append("TOO FEW REPETITIONS for the U test in %d of %d comparisons: "
                               "no p-value for them (see their note)" % (len(few), len(rows)))
    return result


def _workloads(keys):
    names = sorted({k[0] for k in keys})
    return ", ".join(names) if names else "no measured case"


# ---- output ------------------------------------------------------------------------------

def _num(v, unit=""):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    from . import fmt
    if unit == "ns":
        return fmt.ns(v)
    if unit == "us":
        return fmt.ns(v * 1e3)
    if unit == "bytes":
        return fmt.nbytes(v)
    if unit == "per_s":
        return fmt.rate(v)
    return "%.4g" % v


def _p(row):
    if row["verdict"] == "too few repetitions":
        return "n/a"
    if math.isnan(row["p_value"]):
        return "-"
    return "%.3g" % row["p_value"]


def table_rows(result):
    head = ("case", "metric", "base", "new", "new/base", "p", "n", "verdict")
    body = [(r["case"], r["metric"], _num(r["base_median"], r["unit"]),
             _num(r["new_median"], r["unit"]),
             "-" if math.isnan(r["ratio"]) else "%.3f" % r["ratio"], _p(r),
             "%d/%d" % (r["base_n"], r["new_n"]),
             r["verdict"] + (" (%s)" % r["note"] if r["note"] else ""))
            for r in result["rows"]]
    return head, body


def summary_counts(result):
    counts = {}
    for r in result["rows"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def format_text(result, base_path, new_path):
    out = io.StringIO()
    out.write("BASE %s\nNEW  %s\n" % (base_path, new_path))
    for note in result["scope"]:
        out.write("%s\n" % note)
    if result["env"]:
        out.write("\nEnvironment differences:\n")
        w = max(len(i) for _, i, *_ in result["env"])
        for group, item, b, n in result["env"]:
            out.write("  %-8s %-*s  %s  ->  %s\n" % (group, w, item, b, n))
    out.write("\nMann-Whitney U (two-sided), alpha %g, min effect %g%%; sorted by effect size\n"
              % (result["alpha"], 100 * result["min_effect"]))
    head, body = table_rows(result)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(head)]
    widths[-1] = 0
    for r in (head,) + tuple(body):
        out.write("  ".join(c.ljust(widths[i]) if widths[i] else c
                            for i, c in enumerate(r)).rstrip() + "\n")
    for name, lst in (("only in BASE", result["only_base"]), ("only in NEW", result["only_new"])):
        if lst:
            out.write("\n%s (%d):\n" % (name, len(lst)))
            for label, why in lst:
                out.write("  %s: %s\n" % (label, why))
    counts = summary_counts(result)
    out.write("\n%d comparisons: %s\n" % (len(result["rows"]), ", ".join(
        "%d %s" % (n, v) for v, n in sorted(counts.items()))))
    return out.getvalue()


def _md_cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def format_markdown(result, base_path, new_path):
    out = io.StringIO()
    out.write("# muxbench compare\n\n- BASE: `%s`\n- NEW: `%s`\n\n" % (base_path, new_path))
    for note in result["scope"]:
        out.write("**%s**\n\n" % note)
    if result["env"]:
        out.write("## Environment differences\n\n"
                  "| group | item | BASE | NEW |\n|---|---|---|---|\n")
        for group, item, b, n in result["env"]:
            out.write("| %s | %s | %s | %s |\n" % tuple(_md_cell(x) for x in (group, item, b, n)))
        out.write("\n")
    out.write("## Cases\n\nMann-Whitney U test (two-sided) on the per-repetition values, "
              "alpha %g, min effect %g%%; sorted by effect size.\n\n"
              % (result["alpha"], 100 * result["min_effect"]))
    head, body = table_rows(result)
    out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    for r in body:
        out.write("| " + " | ".join(_md_cell(c) for c in r) + " |\n")
    for name, lst in (("Only in BASE", result["only_base"]), ("Only in NEW", result["only_new"])):
        if lst:
            out.write("\n## %s\n\n" % name)
            for label, why in lst:
                out.write("- `%s`: %s\n" % (label, _md_cell(why)))
    counts = summary_counts(result)
    out.write("\n%d comparisons: %s\n" % (len(result["rows"]), ", ".join(
        "%d %s" % (n, v) for v, n in sorted(counts.items()))))
    return out.getvalue()


CSV_COLUMNS = ("case", "metric", "unit", "base_median", "new_median", "ratio", "p_value",
               "base_n", "new_n", "verdict", "note")


def write_csv(result, f):
    w = csv.writer(f, lineterminator="\n")
    w.writerow(CSV_COLUMNS + schema.CASE_COLUMNS)
    for r in result["rows"]:
        w.writerow([_csv_num(r[c]) for c in CSV_COLUMNS + schema.CASE_COLUMNS])
    for verdict, lst in (("only in BASE", result["only_base"]),
                         ("only in NEW", result["only_new"])):
        for label, why in lst:
            w.writerow([label, "", "", "", "", "", "", "", "", verdict, why] +
                       [""] * len(schema.CASE_COLUMNS))


def _csv_num(v):
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return "%d" % v if v.is_integer() and abs(v) < 1e15 else "%.10g" % v
    return v


def slower_beyond(result, threshold):
    """The rows that got slower by more than threshold (a fraction: 0.05 = 5% slower)."""
    out = []
    for r in result["rows"]:
        s = slowdown(r["ratio"], r["unit"])
        if r["verdict"] == "slower" and s is not None and s > 1 + threshold:
            out.append(r)
    return out


# ---- the report's plot --------------------------------------------------------------------

SIGNIFICANT_COLORS = {"slower": "#d62728", "faster": "#2ca02c", "higher": "#9467bd",
                      "lower": "#1f77b4"}
GREY = "#bbbbbb"


def short_labels(rows):
    """Case labels with only the parameters that tell a workload's compared cases apart (and
    its poller and variant): 'fanin/epoll/fds:100' rather than every column."""
    cols = schema.CASE_COLUMNS
    varying = {}
    for r in rows:
        for c in cols:
            varying.setdefault((r["workload"], c), set()).add(str(r.get(c, "")))
    out = []
    for r in rows:
        keep = [c for c in cols if c in ("workload", "poller", "variant")
                or len(varying[(r["workload"], c)]) > 1]
        key = tuple(r.get(c, "") if c in keep else "" for c in cols)
        out.append(case_label(r["workload"], key, cols))
    return out


def plot(result, base_path, new_path, max_cases=60):
    """A Figure: NEW/BASE per case on a log axis, one bar per compared case and metric, in the
    table's order (largest change first); coloured when the change is significant, grey when
    it is not or could not be tested."""
    import textwrap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    rows = [r for r in result["rows"] if r["ratio"] and r["ratio"] > 0
            and not math.isnan(r["ratio"])][:max_cases]
    height = 2.2 + 0.24 * max(len(rows), 4)
    fig = Figure(figsize=(11, height))
    ax = fig.subplots()
    labels = ["%s  %s" % (lab, r["metric"]) for lab, r in zip(short_labels(rows), rows)]
    colors = [SIGNIFICANT_COLORS.get(r["verdict"], GREY) for r in rows]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [math.log2(r["ratio"]) for r in rows], color=colors, height=0.7)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([lab if len(lab) <= 95 else lab[:92] + "..." for lab in labels],
                       fontsize=6.5)
    lim = max([abs(math.log2(r["ratio"])) for r in rows] + [math.log2(1.1)]) * 1.15
    ax.set_xlim(-lim, lim)
    ticks = [t for t in (0.25, 0.5, 0.8, 1, 1.25, 2, 4) if abs(math.log2(t)) <= lim]
    ax.set_xticks([math.log2(t) for t in ticks])
    ax.set_xticklabels(["x%g" % t for t in ticks])
    ax.set_xlabel("NEW / BASE median (log scale; for times right is slower, for rates right "
                  "is faster)")
    for r, yy in zip(rows, y):
        ax.text(math.log2(r["ratio"]), yy, " x%.3g " % r["ratio"], va="center", fontsize=6,
                ha="left" if r["ratio"] >= 1 else "right")
    present = sorted({r["verdict"] for r in rows if r["verdict"] in SIGNIFICANT_COLORS})
    handles = [Patch(color=SIGNIFICANT_COLORS[v], label=v) for v in present]
    handles.append(Patch(color=GREY, label="no significant change / not tested"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    counts = summary_counts(result)
    title = "%s vs %s: %s" % (os.path.basename(new_path), os.path.basename(base_path),
                              ", ".join("%d %s" % (n, v) for v, n in sorted(counts.items())))
    fig.suptitle(textwrap.fill(title, 110), fontsize=10, fontweight="bold")
    caption = "\n".join(result["scope"]) + "\nMann-Whitney U, two-sided, alpha %g, min " \
        "effect %g%%%s" % (result["alpha"], 100 * result["min_effect"],
                          "; the %d largest changes of %d" % (len(rows), len(result["rows"]))
                          if len(result["rows"]) > len(rows) else "")
    caption = "\n".join(textwrap.fill(line, 170) for line in caption.split("\n"))
    fig.text(0.01, 0.005, caption, fontsize=6.5, color="#333333", va="bottom")
    n_cap = caption.count("\n") + 1
    fig.tight_layout(rect=(0, min(0.4, (0.13 * n_cap + 0.1) / height), 1,
                           1 - min(0.2, 0.45 / height)))
    return fig


def report(base_path, new_path, outdir, alpha=DEFAULT_ALPHA, min_effect=DEFAULT_MIN_EFFECT):
    """For `make report` with two CSVs: compare.png and compare.md in outdir. Returns the paths;
    raises CompareError for files that cannot be compared."""
    result = compare(_load(base_path), _load(new_path), alpha, min_effect)
    os.makedirs(outdir, exist_ok=True)
    png = os.path.join(outdir, "compare.png")
    plot(result, base_path, new_path).savefig(png, dpi=120)
    md = os.path.join(outdir, "compare.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write(format_markdown(result, base_path, new_path))
    return png, md


# ---- command line ------------------------------------------------------------------------

def _fraction(name):
    def parse(text):
        t = text.strip()
        try:
            v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
        except ValueError:
            raise argparse.ArgumentTypeError("%s %r is not a number (0.05, or 5%%)"
                                             % (name, text)) from None
        if math.isnan(v) or v < 0:
            raise argparse.ArgumentTypeError("%s %r must be 0 or more" % (name, text))
        return v
    return parse


def _alpha(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--alpha %r is not a number" % text) from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError("--alpha %r must be between 0 and 1 (0.05)" % text)
    return v


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parser():
    ap = _Parser(prog="muxbench compare",
                 description="Compare two muxbench runs case by case (docs/compare.md).")
    ap.add_argument("base", metavar="BASE.csv",
                    help="a run's CSV, or several runs of one command separated by commas "
                         "(their repetitions are pooled)")
    ap.add_argument("new", metavar="NEW.csv", help="the same for the other side")
    ap.add_argument("--alpha", type=_alpha, default=DEFAULT_ALPHA,
                    help="significance level of the two-sided U test (default 0.05)")
    ap.add_argument("--threshold", type=_fraction("--threshold"), default=None,
                    help="exit 1 when a case got significantly slower by more than this "
                         "(0.05 or 5%%); default: report only")
    ap.add_argument("--min-effect", type=_fraction("--min-effect"), default=DEFAULT_MIN_EFFECT,
                    help="smallest change reported as one, however small its p (default 5%%)")
    ap.add_argument("--metric", default=None,
                    help="metrics to compare, M[,M] or 'all' (default: each workload's "
                         "headline: wait_ns, switch_ns, rss_per_unit_bytes, create_ns, "
                         "req_per_s, iteration_ns)")
    ap.add_argument("--out", default=None, help="also write the comparison: F.md or F.csv")
    return ap


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        a = parser().parse_args(argv)
        metrics = parse_metrics(a.metric)
        side_paths(a.base)
        side_paths(a.new)
        if a.out and os.path.splitext(a.out)[1].lower() not in (".md", ".csv"):
            raise UsageError("--out %s: the name must end in .md (Markdown) or .csv" % a.out)
    except UsageError as e:
        print("muxbench compare: %s" % e, file=stderr)
        print("usage: muxbench compare BASE.csv[,...] NEW.csv[,...] [--alpha A] [--threshold T] "
              "[--min-effect E] [--metric M[,M]|all] [--out F.md|F.csv]", file=stderr)
        return EXIT_USAGE
    except SystemExit as e:  # --help
        return EXIT_OK if not e.code else EXIT_USAGE
    try:
        import scipy.stats  # noqa: F401
    except ImportError:
        print("muxbench compare: scipy is missing: install python3-scipy (make deps)",
              file=stderr)
        return EXIT_FILES
    try:
        base_ds, new_ds = _load(a.base, "BASE"), _load(a.new, "NEW")
        result = compare(base_ds, new_ds, a.alpha, a.min_effect, metrics)
    except CompareError as e:
        print("muxbench compare: %s" % e, file=stderr)
        return EXIT_FILES
    for w in base_ds.warnings + new_ds.warnings:
        print("muxbench compare: warning: %s" % w, file=stderr)
    if not result["rows"]:
        print("muxbench compare: warning: no comparison: the cases in common have none of the "
              "metrics asked for", file=stderr)
    stdout.write(format_text(result, a.base, a.new))
    if a.out:
        try:
            with open(a.out, "w", newline="") as f:
                if a.out.lower().endswith(".csv"):
                    write_csv(result, f)
                else:
                    f.write(format_markdown(result, a.base, a.new))
        except OSError as e:
            print("muxbench compare: cannot write %s: %s" % (a.out, e.strerror), file=stderr)
            return EXIT_FILES
    if a.threshold is not None:
        worse = slower_beyond(result, a.threshold)
        if worse:
            print("muxbench compare: %d case%s slower by more than %g%%: %s" % (
                len(worse), "" if len(worse) == 1 else "s", 100 * a.threshold,
                ", ".join("%s %s (x%.3f)" % (r["case"], r["metric"], r["ratio"])
                          for r in worse[:5]) + (", ..." if len(worse) > 5 else "")),
                file=stderr)
            return EXIT_SLOWER
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
