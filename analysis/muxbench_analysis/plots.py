"""The report's plots. Each function takes a Dataset and returns a matplotlib Figure (drawn with
the Agg renderer, no pyplot state); save() writes it as PNG.

Every plot has labelled axes with units, a title that says what the reader should see (worked
out from the data, so it never claims what the CSV does not show), the environment in a
caption, and the seed's claimed figure as a reference line or band where the claim gives one.
When the CSV has no rows for a plot, the plot still exists and says what is missing and why.
"""
import math
import os
import re
import textwrap

import matplotlib
import pandas as pd

matplotlib.use("Agg", force=False)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from . import claims, fmt, hosts, schema  # noqa: E402
from .fit import linear_fit, wait_fits, wait_sweep  # noqa: E402

DPI = 120

# plot name -> (function name, notebook); the report checks that each one was written.
PLOTS = {
    "pollers_wait_vs_fds": ("wait_vs_fds", "pollers"),
    "pollers_idle_wait": ("idle_wait", "pollers"),
    "pollers_registration": ("registration", "pollers"),
    "pollers_position": ("position_effect", "pollers"),
    "ctxswitch_by_placement": ("ctxswitch", "threads_coroutines"),
    "memory_per_unit": ("memory_per_unit", "threads_coroutines"),
    "memory_at_n": ("memory_at_n", "threads_coroutines"),
    "memory_totals": ("memory_totals", "threads_coroutines"),
    "spawn_create": ("spawn_create", "threads_coroutines"),
    "spawn_churn": ("spawn_churn", "threads_coroutines"),
    "memory_spectrum": ("memory_spectrum", "threads_coroutines"),
    "echo": ("echo", "threads_coroutines"),
    "nwait": ("nwait", "threads_coroutines"),
    "iobound": ("iobound", "threads_coroutines"),
    "cancel": ("cancel", "threads_coroutines"),
    "checkpoint": ("checkpoint", "threads_coroutines"),
}

_KERNEL_COLORS = {
    "select": "#d62728", "poll": "#ff7f0e", "epoll": "#1f77b4", "epoll-et": "#17becf",
    "epoll-oneshot": "#9edae5", "io_uring": "#2ca02c", "io_uring-oneshot": "#98df8a",
    "kqueue": "#8c564b",
}
_PEER_COLORS = {"libevent-epoll": "#9467bd", "libev": "#e377c2", "libuv": "#7f7f7f"}
_OTHER = ["#bcbd22", "#8c564b", "#aec7e8", "#ffbb78", "#c5b0d5"]
REF = "#555555"


def color_of(name, _cache={}):
    if name in _KERNEL_COLORS:
        return _KERNEL_COLORS[name]
    if name in _PEER_COLORS:
        return _PEER_COLORS[name]
    if name not in _cache:
        _cache[name] = _OTHER[len(_cache) % len(_OTHER)]
    return _cache[name]


# ---- scaffolding ------------------------------------------------------------------------
def _fig(ncols=1, nrows=1, size=(9.5, 5.8)):
    fig = Figure(figsize=size)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def _finish(fig, ds, title, note=""):
    """Title, caption (the environment, plus a note) and layout."""
    wrapped = textwrap.fill(title, 90)
    fig.suptitle(wrapped, fontsize=11.5, fontweight="bold")
    cap = "Environment: " + ds.caption()
    if note:
        cap += "\n" + note
    cap = "\n".join(textwrap.fill(line, 150) for line in cap.split("\n"))
    n_cap = cap.count("\n") + 1
    n_title = wrapped.count("\n") + 1
    h = fig.get_figheight()
    bottom = min(0.3, (0.16 * n_cap + 0.1) / h)
    top = 1 - min(0.25, (0.2 * n_title + 0.08) / h)
    fig.text(0.01, 0.01, cap, fontsize=7, color="#333333", va="bottom", ha="left")
    _dense_log_ticks(fig)
    fig.tight_layout(rect=(0, bottom, 1, top))
    return fig


def _dense_log_ticks(fig):
    """A log axis spanning less than two decades gets ticks at 1-2-5 (or at every power of 2
    for byte axes), so it never shows a single labelled tick."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log":
                continue
            lo, hi = sorted(axis.get_view_interval())
            if lo <= 0:
                continue
            loc = axis.get_major_locator()
            base = getattr(loc, "_base", 10.0)
            if base == 4 and hi / lo < 64:
                axis.set_major_locator(LogLocator(base=2, numticks=12))
            elif base == 10 and hi / lo < 100:
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))


def _empty(ds, title, why, xlabel="", ylabel=""):
    fig, (ax,) = _fig(size=(9.5, 4.2))
    ax.text(0.5, 0.5, textwrap.fill("Not measured in this CSV: " + why, 80),
            ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#aa0000")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks([])
    ax.set_yticks([])
    return _finish(fig, ds, title)


def save(fig, name, outdir=None):
    """Write fig as <outdir>/<name>.png (outdir: $MUXBENCH_REPORT_DIR, else results/report at
    the top of the repository) and return the path."""
    outdir = outdir or report_dir()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name + ".png")
    fig.savefig(path, dpi=DPI)
    return path


def report_dir():
    d = os.environ.get("MUXBENCH_REPORT_DIR", "").strip()
    if d:
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "results", "report"))


def _ns_axis(ax, which="y"):
    f = FuncFormatter(lambda v, _: fmt.ns(v) if v > 0 else "")
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(f)
    axis.set_minor_formatter(NullFormatter())


def _bytes_axis(ax):
    ax.yaxis.set_major_locator(LogLocator(base=4, numticks=9))
    ax.yaxis.set_minor_locator(LogLocator(base=4, subs=(2.0,), numticks=9))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.nbytes(v) if v > 0 else ""))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _count_axis(ax):
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: fmt.count(v) if v >= 1 else "%g" % v))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _yerr(mid, lo, hi):
    """[[below], [above]] for one bar, or None when the range was not recorded."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (mid, lo, hi)):
        return None
    return [[max(mid - lo, 0.0)], [max(hi - mid, 0.0)]]


def _errs(df):
    lo = (df["median"] - df["min"]).clip(lower=0).fillna(0)
    hi = (df["max"] - df["median"]).clip(lower=0).fillna(0)
    return [list(lo), list(hi)]


def _skip_note(ds, workload):
    """'Not run: a at fds 1,024, 2,048 (why); c (error: why)', one entry per reason; reasons
    that differ only in their numbers (the same refusal at each fds of a sweep) are one entry,
    quoted once, with the values it covered."""
    sk = ds.skipped(workload)
    if sk.empty:
        return ""
    groups = {}
    for _, r in sk.iterrows():
        who = r["poller"] or r["variant"] or workload
        note = ("error: " if r["status"] == "error" else "") + (r["note"] or "no reason given")
        key = (who, re.sub(r"[0-9][0-9,.]*", "#", note))
        g = groups.setdefault(key, {"who": who, "note": note, "at": []})
        for col in ("fds", "units"):
            v = r.get(col)
            if v == v and v not in (None, "") and (col, v) not in g["at"]:
                g["at"].append((col, v))
    bits = []
    for g in groups.values():
        at = ""
        if len(g["at"]) > 1:
            col = g["at"][0][0]
            vals = sorted(v for c, v in g["at"] if c == col)
            at = " at %s %s" % (col, ", ".join(fmt.count(v) for v in vals))
        bits.append("%s%s (%s)" % (g["who"], at, g["note"]))
    return "Not run: " + "; ".join(bits[:6]) + ("; ..." if len(bits) > 6 else "")


def _order(pollers):
    known = list(_KERNEL_COLORS) + list(_PEER_COLORS)
    return sorted(pollers, key=lambda p: (known.index(p) if p in known else 99, p))


# ---- pollers ----------------------------------------------------------------------------
def wait_vs_fds(ds):
    """Wait cost against watched fds, every backend and peer, log-log, with the fitted per-fd
    cost in the legend and the seed's O(n) / O(1) shapes as reference lines."""
    title_default = "Cost of one wait call against watched fds"
    fits = wait_fits(ds)
    if fits.empty:
        return _empty(ds, title_default, "no fanin wait_ns rows sweeping fds",
                      "watched fds", "one wait call")
    fig, (ax,) = _fig(size=(12, 6.2))
    for p in _order(fits["poller"]):
        sw = wait_sweep(ds, p)
        f = fits[fits["poller"] == p].iloc[0]
        peer = schema.is_peer(p)
        label = "%s: %s/fd (R² %.2f)" % (p, fmt.ns_fine(f["per_fd_ns"]), f["r2"])
        ax.errorbar(sw["fds"], sw["median"], yerr=_errs(sw), color=color_of(p),
                    marker="s" if peer else "o", ms=4.5, lw=1.4, ls="--" if peer else "-",
                    capsize=2, label=label)
    # the seed's shapes, anchored at the first point of poll (or select) and epoll
    xs = sorted(set(fits["fds_min"]) | set(fits["fds_max"]))
    x0, x1 = min(xs), max(xs)
    lin = fits[fits["poller"].isin(["poll", "select"])]
    if len(lin):
        r = lin.iloc[0]
        ax.plot([x0, x1], [r["wait_at_max_ns"] * x0 / r["fds_max"],
                           r["wait_at_max_ns"] * x1 / r["fds_max"]], color=REF,
                ls=":", lw=1.2, label="seed 002 §3.3: O(n) for select/poll (slope 1)")
    flat = fits[fits["poller"].isin(["epoll", "epoll-et"])]
    if len(flat):
        r = flat.iloc[0]
        ax.plot([x0, x1], [r["wait_at_min_ns"]] * 2, color=REF, ls="-.", lw=1.2,
                label="seed 002 §3.3: O(1) for epoll (flat)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _count_axis(ax)
    _ns_axis(ax)
    ax.set_xlabel("watched fds (registered with the poller)")
    ax.set_ylabel("one wait call, median time (bars: min-max over repetitions)")
    ax.grid(True, which="major", alpha=0.3)
    # Beside the axes, not over them: select's and poll's lines cross the upper left.
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    v = claims.c1.evaluate(ds)
    grow = [p.name.split()[0] for p in v.parts if p.outcome and "O(n)" in p.name]
    flatp = [p.name.split()[0] for p in v.parts if p.outcome and "O(1)" in p.name]
    bits = []
    if grow:
        per = fits[fits["poller"].isin(grow)]["per_fd_ns"]
        bits.append("%s grow%s linearly with watched fds (%s-%s per fd)" % (
            " and ".join(grow), "s" if len(grow) == 1 else "", fmt.ns_fine(per.min()),
            fmt.ns_fine(per.max())))
    if flatp:
        bits.append("%s stay%s flat" % (" and ".join(flatp), "s" if len(flatp) == 1 else ""))
    title = "; ".join(bits) if bits else title_default
    return _finish(fig, ds, title[0].upper() + title[1:] + " (C1: %s)" % v.verdict,
                   "Fits: least squares of median wait_ns on fds, %s. %s" % (
                       fits["config"].iloc[0], _skip_note(ds, "fanin")))


def idle_wait(ds):
    """A zero-timeout wait over idle fds, against watched fds."""
    fits = wait_fits(ds, metric="idle_wait_ns")
    if fits.empty:
        return _empty(ds, "Idle wait cost against watched fds",
                      "no fanin idle_wait_ns rows sweeping fds", "watched fds", "idle wait")
    fig, (ax,) = _fig()
    for p in _order(fits["poller"]):
        sw = wait_sweep(ds, p, "idle_wait_ns")
        f = fits[fits["poller"] == p].iloc[0]
        peer = schema.is_peer(p)
        ax.errorbar(sw["fds"], sw["median"], yerr=_errs(sw), color=color_of(p),
                    marker="s" if peer else "o", ms=4.5, lw=1.4, ls="--" if peer else "-",
                    capsize=2, label="%s: %s/fd" % (p, fmt.ns_fine(f["per_fd_ns"])))
    ax.set_xscale("log")
    ax.set_yscale("log")
    _count_axis(ax)
    _ns_axis(ax)
    ax.set_xlabel("watched fds, all idle")
    ax.set_ylabel("one zero-timeout wait, median time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", ncol=2)
    top = fits.sort_values("per_fd_ns", ascending=False).iloc[0]
    low = fits.sort_values("wait_at_max_ns").iloc[0]
    title = ("Asking an idle set costs %s with %s at %s fds, %s with %s" % (
        fmt.ns(top["wait_at_max_ns"]), top["poller"], fmt.count(top["fds_max"]),
        fmt.ns(low["wait_at_max_ns"]), low["poller"]))
    return _finish(fig, ds, title, "idle_wait_ns: one wait with a zero timeout over fds that "
                   "are all idle (what a busy-polling loop pays per turn).")


def registration(ds):
    """Cost of registering (add) and removing (del) one fd, against watched fds."""
    add = ds.stats("fanin", "add_ns")
    dele = ds.stats("fanin", "del_ns")
    if add.empty and dele.empty:
        return _empty(ds, "Registration cost", "no fanin add_ns / del_ns rows",
                      "watched fds", "one add / del")
    fig, axes = _fig(ncols=2, size=(11, 5.6))
    meds = {}
    for ax, st, what in ((axes[0], add, "add (register one fd)"),
                         (axes[1], dele, "del (remove one fd)")):
        for p in _order(set(st["poller"])):
            s = st[st["poller"] == p].sort_values("fds").drop_duplicates("fds")
            if s.empty:
                continue
            peer = schema.is_peer(p)
            ax.errorbar(s["fds"], s["median"], yerr=_errs(s), color=color_of(p),
                        marker="s" if peer else "o", ms=4, lw=1.3, ls="--" if peer else "-",
                        capsize=2, label=p)
            if what.startswith("add"):
                meds[p] = s["median"].median()
        ax.set_xscale("log")
        ax.set_yscale("log")
        _count_axis(ax)
        _ns_axis(ax)
        ax.set_xlabel("watched fds")
        ax.set_ylabel("%s, median time" % what)
        ax.set_title(what, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7.5, ncol=2)
    if meds:
        lo = min(meds, key=meds.get)
        hi = max(meds, key=meds.get)
        title = "Registering an fd costs %s with %s and %s with %s" % (
            fmt.ns(meds[lo]), lo, fmt.ns(meds[hi]), hi)
    else:
        title = "Registration cost"
    return _finish(fig, ds, title, "select and poll register in user space (a bit in a set, an "
                   "entry in an array); epoll and io_uring make a system call per fd.")


def position_effect(ds):
    """Wait cost by where the active fds sit among the registered (first, spread, last),
    relative to 'spread'."""
    st = ds.stats("fanin", "wait_ns")
    st = st[st["position"] != ""]
    groups = []
    for p in _order(set(st["poller"])):
        s = st[st["poller"] == p]
        for (fds, active), g in s.groupby(["fds", "active"]):
            if g["position"].nunique() > 1 and "spread" in set(g["position"]):
                groups.append((p, fds, active, g))
                break
    if not groups:
        return _empty(ds, "Effect of the active fd's position",
                      "no fanin rows with several positions (first/spread/last) at one fds",
                      "poller", "wait relative to spread")
    fig, (ax,) = _fig()
    positions = [q for q in ("first", "spread", "last")
                 if any(q in set(g["position"]) for *_, g in groups)]
    width = 0.8 / len(positions)
    worst, beyond = {}, {}
    for i, (p, fds, active, g) in enumerate(groups):
        base = g[g["position"] == "spread"]["median"].iloc[0]
        for j, q in enumerate(positions):
            r = g[g["position"] == q]
            if r.empty:
                continue
            rel = r["median"].iloc[0] / base
            lo = r["min"].iloc[0] / base
            hi = r["max"].iloc[0] / base
            ax.bar(i + (j - (len(positions) - 1) / 2) * width, rel, width,
                   yerr=_yerr(rel, lo, hi), capsize=2,
                   color=["#6baed6", "#bdbdbd", "#fd8d3c"][j % 3],
                   label=q if i == 0 else None)
            worst[p] = max(worst.get(p, 0.0), abs(rel - 1))
            b = g[g["position"] == "spread"].iloc[0]
            if q != "spread" and not math.isnan(lo) and not math.isnan(b["max"]) and (
                    r["min"].iloc[0] > b["max"] or r["max"].iloc[0] < b["min"]):
                beyond[p] = max(beyond.get(p, 0.0), abs(rel - 1))
    ax.axhline(1.0, color=REF, lw=0.8)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(["%s\n%s fds" % (p, fmt.count(f)) for p, f, _, _ in groups],
                       fontsize=8)
    ax.set_ylabel("median wait_ns relative to position=spread (ratio)")
    ax.set_xlabel("poller, at the fds where the position was varied")
    lo = min(0.8, min(1 - w for w in worst.values()) - 0.05)
    ax.set_ylim(max(0.0, lo), max(1.2, max(1 + w for w in worst.values()) + 0.05))
    ax.legend(title="active fds sit", fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    if beyond:
        title = "Where the active fd sits changes the wait of %s (beyond the repetitions' " \
                "range); not of the others" % ", ".join(
                    "%s by %s" % (p, fmt.pct(beyond[p])) for p in sorted(beyond,
                                                                          key=beyond.get,
                                                                          reverse=True))
    else:
        title = "Where the active fd sits makes no difference beyond the repetitions' range " \
                "(largest: %s, %s)" % (max(worst, key=worst.get), fmt.pct(max(worst.values())))
    return _finish(fig, ds, title, "first / last: the active fds are the lowest / highest "
                   "registered; spread: spaced evenly. Bars: min-max over repetitions.")


# ---- threads and coroutines ---------------------------------------------------------------
def ctxswitch(ds):
    """Switch cost by mechanism and placement, with counted/expected switches."""
    sw = ds.stats("ctxswitch", "switch_ns")
    if sw.empty:
        return _empty(ds, "Context switch cost", "no ctxswitch switch_ns rows",
                      "mechanism", "one switch")
    # Thread switch_ns at other placements comes from CSVs before wake_ns: a wake-up as well.
    thread_rows = sw["variant"].isin(claims.c5.THREAD_MECHS)
    old_wakes = sw[thread_rows & (sw["placement"] != claims.c5.SWITCH_PLACEMENT)]
    sw = sw[~thread_rows | (sw["placement"] == claims.c5.SWITCH_PLACEMENT)]
    wk = ds.stats("ctxswitch", "wake_ns")
    if len(old_wakes):
        wk = old_wakes if wk.empty else pd.concat([wk, old_wakes])
    wake_set = set() if wk.empty else set(zip(wk["variant"], wk["placement"]))
    if len(wk):
        sw = pd.concat([sw, wk])
    if "touch_bytes" in sw.columns:  # coro-copy at each depth is its own bar
        deep = (sw["variant"] == "coro-copy") & sw["touch_bytes"].notna()
        sw = sw.copy()
        sw.loc[deep, "variant"] = ["coro-copy %s" % fmt.nbytes(t)
                                   for t in sw.loc[deep, "touch_bytes"]]
    ratio = ds.stats("ctxswitch", "switches_counted_ratio")
    mechs = [m for m in claims.c5.THREAD_MECHS + claims.c5.CORO_MECHS +
             claims.c5.SPECTRUM_MECHS if m in set(sw["variant"])]
    mechs += sorted(set(sw["variant"]) - set(mechs))
    places = [p for p in schema.PLACEMENTS if p in set(sw["placement"])]
    places += sorted(set(sw["placement"]) - set(places))
    pal = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f"]
    fig, (ax,) = _fig(size=(10, 6))
    width = 0.8 / max(1, len(places))
    labelled = set()
    for i, m in enumerate(mechs):
        here = [p for p in places if len(sw[(sw["variant"] == m) & (sw["placement"] == p)])]
        for k, place in enumerate(here):
            j = places.index(place)
            r = sw[(sw["variant"] == m) & (sw["placement"] == place)].iloc[0]
            rr = ratio[(ratio["variant"] == m) & (ratio["placement"] == place)]
            counted = rr["median"].iloc[0] if len(rr) else math.nan
            is_wake = (m, place) in wake_set
            verified = not m.startswith(("futex", "pipe", "yield")) or (
                not is_wake and not math.isnan(counted) and
                claims.c5.VERIFIED[0] <= counted <= claims.c5.VERIFIED[1])
            x = i + (k - (len(here) - 1) / 2) * width
            ax.bar(x, r["median"], width, color=pal[j % len(pal)], zorder=2,
                   alpha=1.0 if verified else 0.35, hatch=None if verified else "//",
                   edgecolor="black" if not verified else None, lw=0.5,
                   yerr=_yerr(r["median"], r["min"], r["max"]), capsize=2,
                   label=None if place in labelled else (place or "no placement"))
            labelled.add(place)
            if m not in claims.c5.CORO_MECHS:
                txt = "n/a" if math.isnan(counted) else "%.2f" % counted
                top = r["max"] if not math.isnan(r["max"]) else r["median"]
                ax.text(x, top * 1.12, txt, ha="center", va="bottom", fontsize=6.5,
                        rotation=90, color="black" if verified else "#aa0000")
    ax.axhspan(1000, 10000, color="#2ca02c", alpha=0.12, zorder=0,
               label="seed 002 §5.2: kernel switch ~1-10 µs")
    ax.axhline(100, color=REF, ls="--", lw=1.2, label="seed 002 §5.2: user-mode switch ~100 ns")
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(mechs)))
    ax.set_xticklabels(mechs)
    ax.set_xlabel("mechanism (futex / pipe ping-pong and sched_yield between two threads; "
                  "coroutine switches in one thread)")
    ax.set_ylabel("one switch, median time (bars: min-max over repetitions)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right", title="placement", title_fontsize=8)
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(ymin, ymax * 4)
    v = claims.c5.evaluate(ds)
    kern = [p for p in v.parts if p.name.startswith("kernel") and p.outcome is not None]
    bits = []
    if kern:
        bits.append("A verified thread switch costs " + ", ".join(
            p.text.split(": ")[1].split(" per")[0] + " at " + p.name.split()[-1]
            for p in kern))
    cor = sw[sw["variant"].isin(claims.c5.CORO_MECHS)]
    if len(cor):
        bits.append("a coroutine switch %s" % " to ".join(
            fmt.ns(x) for x in sorted([cor["median"].min(), cor["median"].max()])
            if True) if len(cor) > 1 else fmt.ns(cor["median"].iloc[0]))
    title = "; ".join(bits) if bits else "Context switch cost"
    return _finish(fig, ds, title + " (C5: %s)" % v.verdict,
                   "Numbers above thread bars: switches counted by the kernel / expected; "
                   "hatched bars are handoffs between cpus (wake_ns: a wake-up, not a switch) "
                   "or counts outside %g-%g, not judged as switches. %s" % (
                       claims.c5.VERIFIED[0], claims.c5.VERIFIED[1],
                       _skip_note(ds, "ctxswitch")))


def _mem_series(ds):
    """{label: (variant, DataFrame of per-unit medians by units)} for every memory config."""
    out = {}
    for variant in sorted(set(ds.select("memory")["variant"])):
        recs = claims.memory.memory_table(ds, variant)
        by = {}
        for r in recs:
            by.setdefault(claims.memory.config_name(r), []).append(r)
        for cfg, rs in by.items():
            rs.sort(key=lambda r: r["units"])
            out["%s (%s)" % (variant, cfg)] = (variant, rs)
    return out


def memory_per_unit(ds):
    """Per-unit virtual, resident and kernel memory against N, with the seed's 8 MB and 'a few
    KB' as references, and the limits that stopped a sweep."""
    series = _mem_series(ds)
    if not series:
        return _empty(ds, "Memory per thread and per coroutine", "no memory rows",
                      "units", "bytes per unit")
    fig, axes = _fig(ncols=3, size=(15, 5.8))
    styles = {"thread": "-", "thread-small": "--", "coroutine": ":"}
    pal = [matplotlib.colormaps["tab20"](i / 20.0) for i in range(20)]
    for k, (label, (variant, rs)) in enumerate(sorted(series.items())):
        for ax, key in zip(axes, ("vsz", "rss", "kernel")):
            xs = [r["units"] for r in rs if not math.isnan(r[key])]
            ys = [r[key] for r in rs if not math.isnan(r[key])]
            if xs:
                ax.plot(xs, ys, marker="o", ms=3.5, lw=1.4, color=pal[k % len(pal)],
                        ls=styles.get(variant, "-"), label=label)
    lim = ds.stats("memory", "units_reached", status="limit")
    for ax, (key, what) in zip(axes, (("vsz", "virtual size"), ("rss", "resident (RSS)"),
                                      ("kernel", "kernel (stack + page tables + slab)"))):
        ax.axhline(claims.c2.THREAD_STACK, color=REF, ls="--", lw=1.1,
                   label="seed 002 §5.2: thread ~8 MB")
        ax.axhspan(1024, claims.c2.FEW_KB, color="#2ca02c", alpha=0.12,
                   label="seed 002 §5.2: coroutine ~few KB")
        for _, r in lim.iterrows():
            ax.axvline(r["median"], color="#aa0000", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _count_axis(ax)
        _bytes_axis(ax)
        ax.set_xlabel("units alive at once (threads or coroutines)")
        ax.set_ylabel("%s per unit, median (bytes)" % what)
        ax.set_title(what, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    v = claims.c2.evaluate(ds)
    thr = [p for p in v.parts if p.name.startswith("8 MB") and p.outcome is not None]
    cor = [p for p in v.parts if "coroutine" in p.name and p.outcome is not None]
    bits = []
    if thr:
        bits.append(thr[0].text.replace("a thread reserves ", "A thread reserves ")
                    .split(" (")[0])
        if len(thr) > 1:
            bits.append(thr[1].text.split(" = ")[-1].split(" (")[0].join(
                ["but uses ", " resident + kernel"]))
    if cor:
        bits.append("a coroutine " + cor[0].text.split(") uses ")[-1].split(" (")[0])
    title = ", ".join(bits[:2]) + ("; " + bits[2] if len(bits) > 2 else "") if bits else \
        "Memory per thread and per coroutine"
    return _finish(fig, ds, title + " (C2: %s)" % v.verdict, _limit_note(lim))


def _limit_note(lim):
    """The limits that stopped sweeps, each kind once (the notes of one limit differ only in
    the figures they quote: maps, MemAvailable)."""
    if not len(lim):
        return ""
    seen = {}
    for _, r in lim.iterrows():
        seen.setdefault(re.sub(r"[0-9][0-9,.]*", "#", r["note"]), (r["note"], []))[1].append(
            r["median"])
    bits = ["at %s units: %s" % ("/".join(fmt.count(n) for n in sorted(set(ns))), note)
            for note, ns in seen.values()]
    return "Dotted red lines: a limit stopped a sweep at that N (%s)." % "; ".join(bits)


def _memory_pick(ds):
    """The configurations that answer C2 at a glance, at one N: default and small-stack threads
    untouched, the leanest coroutine and the runtime's default one (64 KiB, guard page),
    untouched. N is 10,000 where threads reached it, else the largest N threads reached."""
    recs = {v: claims.memory.memory_table(ds, v) for v in ("thread", "thread-small", "coroutine")}
    thread_ns = sorted({r["units"] for r in recs["thread"] + recs["thread-small"]})
    if not thread_ns:
        return None, []
    n = 10000 if 10000 in thread_ns else thread_ns[-1]

    def untouched(r):
        return claims.base.isnan(r["touch_bytes"]) or r["touch_bytes"] == 0

    picked = []
    for v in ("thread", "thread-small"):
        picked += [(v, r) for r in recs[v] if r["units"] == n and untouched(r)][:1]
    cor = [r for r in recs["coroutine"] if r["units"] == n and untouched(r)]
    if cor:
        lean = claims.memory.leanest(cor)[0]
        picked.append(("coroutine", lean))
        default = [r for r in cor if r["stack_bytes"] == 65536 and r["stack_alloc"] == "guard"]
        if default and default[0] is not lean:
            picked.append(("coroutine", default[0]))
    return n, picked


def memory_at_n(ds):
    """Per-unit virtual, resident and kernel memory of a thread against a coroutine, at one N,
    as bars on a log scale, with the seed's 8 MB and 'a few KB'."""
    n, picked = _memory_pick(ds)
    if not picked:
        return _empty(ds, "Memory per thread and per coroutine", "no memory rows for threads",
                      "configuration", "bytes per unit")
    fig, (ax,) = _fig(size=(11, 5.8))
    kinds = (("vsz", "virtual size", "#bbbbbb"), ("rss", "resident (RSS)", "#1f77b4"),
             ("kernel", "kernel (stack + page tables + slab)", "#ff7f0e"))
    width = 0.26
    for k, (key, what, col) in enumerate(kinds):
        xs = [i + (k - 1) * width for i in range(len(picked))]
        ys = [r[key] for _, r in picked]
        bars = ax.bar(xs, [y if y == y and y > 0 else 0 for y in ys], width, color=col,
                      label=what, edgecolor="#333333", lw=0.5)
        for b, y in zip(bars, ys):
            if y == y and y > 0:
                ax.annotate(fmt.nbytes(y), (b.get_x() + b.get_width() / 2, y),
                            textcoords="offset points", xytext=(0, 2), ha="center",
                            fontsize=7.5)
    ax.axhline(claims.c2.THREAD_STACK, color=REF, ls="--", lw=1.1,
               label="seed 002 §5.2: thread ~8 MB")
    ax.axhspan(1024, claims.c2.FEW_KB, color="#2ca02c", alpha=0.12,
               label="seed 002 §5.2: coroutine ~few KB")
    ax.set_xticks(range(len(picked)))
    ax.set_xticklabels(["%s\n%s" % (v, claims.memory.config_name(r)) for v, r in picked],
                       fontsize=8.5)
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.set_ylabel("bytes per unit, median over repetitions")
    ax.set_xlabel("one unit among %s alive at once" % fmt.count(n))
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(max(ymin, 16), ymax * 3)
    t = dict(picked)
    bits = []
    if "thread" in t:
        r = t["thread"]
        bits.append("With %s alive, a default thread reserves %s but uses %s resident + %s "
                    "kernel" % (fmt.count(n), fmt.nbytes(r["vsz"]), fmt.nbytes(r["rss"]),
                                fmt.nbytes(r["kernel"]) if r["kernel"] == r["kernel"] else "?"))
    cor = [r for v, r in picked if v == "coroutine"]
    if cor:
        c = cor[0]
        bits.append("a coroutine (%s) %s resident + %s kernel" % (
            claims.memory.config_name(c), fmt.nbytes(c["rss"]),
            fmt.nbytes(c["kernel"]) if c["kernel"] == c["kernel"] else "?"))
    return _finish(fig, ds, "; ".join(bits) if bits else "Memory per unit",
                   "Per unit = (process counter with N alive - before) / N: virtual size "
                   "(VmSize), resident (smaps_rollup Rss), kernel (KernelStack, VmPTE, Slab). "
                   "All configurations and N: memory_per_unit.png.")


def memory_totals(ds):
    """Total memory (per unit × N) against N, virtual and resident + kernel, with the seed's
    totals (C3) as reference points with their 'about' band."""
    tables = {"thread": claims.memory.memory_table(ds, "thread"),
              "coroutine": claims.memory.memory_table(ds, "coroutine")}
    if not tables["thread"] and not tables["coroutine"]:
        return _empty(ds, "Total memory of N threads or coroutines", "no memory rows",
                      "units", "total bytes")
    fig, (ax,) = _fig(size=(10, 6))
    for variant, col in (("thread", "#d62728"), ("coroutine", "#1f77b4")):
        recs = tables[variant]
        if not recs:
            continue
        lean = (claims.memory.config_name(claims.memory.leanest(recs)[0])
                if variant == "coroutine" else None)
        rs = sorted([r for r in recs if lean is None or claims.memory.config_name(r) == lean],
                    key=lambda r: r["units"])
        cfg = claims.memory.config_name(rs[0])
        ax.plot([r["units"] for r in rs], [r["vsz"] * r["units"] for r in rs], color=col,
                ls="--", marker="o", ms=3.5, label="%s virtual (%s)" % (variant, cfg))
        ax.plot([r["units"] for r in rs], [claims.memory.used(r) * r["units"] for r in rs],
                color=col, ls="-", marker="o", ms=3.5,
                label="%s resident + kernel (%s)" % (variant, cfg))
    for name, variant, n, lo, hi in claims.c3.TARGETS:
        mid = math.sqrt(lo * hi)
        ax.errorbar([n], [mid], yerr=[[mid - lo], [hi - mid]], fmt="*", ms=11,
                    color="#d62728" if variant == "thread" else "#1f77b4", mec="black",
                    capsize=4, alpha=0.7)
        ax.annotate("seed: " + name, (n, hi), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _count_axis(ax)
    _bytes_axis(ax)
    ax.set_xlabel("units alive at once (threads or coroutines)")
    ax.set_ylabel("total memory = per-unit median × N (bytes)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left")
    v = claims.c3.evaluate(ds)
    held = [p.name for p in v.parts if p.outcome]
    virt = [p.name for p in v.parts if p.outcome is False and "virtual size only" in p.text]
    bits = []
    if virt:
        bits.append("%s: true of virtual size only" % ", ".join(virt))
    if held:
        bits.append("%s: holds" % ", ".join(held))
    title = "; ".join(bits) if bits else "Total memory of N threads or coroutines"
    return _finish(fig, ds, title + " (C3: %s)" % v.verdict,
                   "Stars: the seed's totals (002 §5.2, §5.5), bars: the 'about' band "
                   "(x%g either way; 'a few hundred MB' = 150 MB-1 GB)." % claims.base.APPROX)


def _top(r):
    """The top of a bar's error bar (its max), or the bar itself."""
    return r["max"] if not math.isnan(r["max"]) else r["median"]


def _spawn_bars(ds, metric):
    st = ds.stats("spawn", metric)
    rows = []
    for _, r in st.iterrows():
        rows.append(("%s\n%s" % (r["variant"], claims.memory.config_name(r)), r))
    rows.sort(key=lambda t: -t[1]["median"] if metric == "create_ns" else t[1]["median"])
    return rows


def spawn_create(ds):
    """Create+join (thread) / create+destroy (coroutine) cost of one unit, with the seed's
    'seconds' and 'milliseconds' for 10,000 as references."""
    rows = _spawn_bars(ds, "create_ns")
    if not rows:
        return _empty(ds, "Creation cost", "no spawn create_ns rows", "variant", "one create")
    fig, (ax,) = _fig(size=(10, 5.8))
    for i, (label, r) in enumerate(rows):
        c = "#d62728" if r["variant"].startswith("thread") else "#1f77b4"
        ax.bar(i, r["median"], 0.6, color=c,
               yerr=_yerr(r["median"], r["min"], r["max"]), capsize=3)
        ax.text(i, _top(r) * 1.1, "10,000 in\n%s" % fmt.ns(claims.c4.N * r["median"]),
                ha="center", va="bottom", fontsize=8)
    ax.axhline(claims.c4.SECONDS / claims.c4.N, color="#d62728", ls="--", lw=1.1,
               label="seed 002 §5.5: 10,000 threads take seconds (≥ 100 µs each)")
    ax.axhspan(1e6 / claims.c4.N, claims.c4.MILLISECONDS / claims.c4.N, color="#1f77b4",
               alpha=0.1, label="seed 002 §5.5: 10,000 coroutines take milliseconds "
                                "(100 ns-10 µs each)")
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([t[0] for t in rows], fontsize=8)
    ax.set_xlabel("variant and stack configuration")
    ax.set_ylabel("create + join (thread) / destroy (coroutine) of one unit, median time")
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(ymin, max(ymax, claims.c4.SECONDS / claims.c4.N) * 8)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper right")
    v = claims.c4.evaluate(ds)
    title = "; ".join(p.text.split(" (")[0] for p in v.parts if p.outcome is not None) or \
        "Creation cost"
    return _finish(fig, ds, title[0].upper() + title[1:] + " (C4: %s)" % v.verdict)


def spawn_churn(ds):
    """What one tiny task costs in the churn (elapsed less the measured sleep, per task), with
    the seed's 210k tasks/s as a cost per task."""
    rows = _spawn_bars(ds, "churn_overhead_ns")
    if not rows:
        return _empty(ds, "Task churn", "no spawn churn_overhead_ns rows", "variant",
                      "per task")
    rows = [(("%s %s" % (r["poller"], label)) if r["poller"] else label, r)
            for label, r in rows]
    fig, (ax,) = _fig(size=(10, 5.6))
    for i, (label, r) in enumerate(rows):
        c = "#d62728" if r["variant"].startswith("thread") else "#1f77b4"
        ax.bar(i, r["median"], 0.6, color=c,
               yerr=_yerr(r["median"], r["min"], r["max"]), capsize=3)
        ax.text(i, _top(r) * 1.1, "%s\nN=%s" % (fmt.ns(r["median"]), fmt.count(r["units"])),
                ha="center", va="bottom", fontsize=7)
    seed = 1e9 / claims.c7.CHURN
    ax.axhline(seed, color=REF, ls="--", lw=1.2,
               label="seed 001: asyncio ≈ 210k tasks/s = %s per task" % fmt.ns(seed))
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([t[0] for t in rows], fontsize=7)
    ax.set_xlabel("poller, variant and stack configuration (tasks that each sleep 0.5 ms)")
    ax.set_ylabel("per task: (elapsed - measured sleep) / N, median")
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(ymin, ymax * 4)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    v = claims.c7.evaluate(ds)
    part = [p for p in v.parts if p.name.startswith("churn")]
    title = "Task churn per task (C7 churn: %s)" % (
        "not measured" if not part or part[0].outcome is None else
        "holds" if part[0].outcome else "does not hold")
    slack = ds.stats("spawn", "timer_slack_ns")
    note = "" if slack.empty else "Timer lateness of a 0.5 ms sleep: " + ", ".join(sorted({
        "%s %s" % (r["poller"] or "nanosleep", fmt.ns(r["median"]))
        for _, r in slack.iterrows()})) + "."
    return _finish(fig, ds, title, note)


# The memory spectrum: which memory fit and which switch stand for each kind of unit.
SPECTRUM = [
    # label, memory (variant, stack_alloc), ctxswitch variant (placement same-pu)
    ("threads", ("thread", "pthread"), "futex"),
    ("guarded stacks", ("coroutine", "guard"), "coro-asm"),
    ("pooled stacks", ("coroutine", "pool"), "coro-asm"),
    ("copy stacks", ("coroutine", "copy"), "coro-copy"),
    ("stackless", ("coroutine", "stackless"), "coro-stackless"),
]


def _spectrum_points(ds):
    """[(label, bytes per parked unit, its error, switch ns, config)] for the kinds measured:
    the leanest configuration's fit slope (else its largest-N step) against the switch of the
    same kind at same-pu (coro-copy at the depth its memory was suspended at, else 0)."""
    sw = ds.stats("ctxswitch", "switch_ns")
    out = []
    for label, (variant, alloc), mech in SPECTRUM:
        recs = [r for r in claims.memory.memory_table(ds, variant)
                if r["stack_alloc"] == alloc and not math.isnan(r["rss"])]
        if not recs or sw.empty:
            continue
        r = claims.memory.leanest(recs)[0]
        r = max([x for x in recs if claims.memory.config_name(x) ==
                 claims.memory.config_name(r)], key=lambda x: x["units"])
        s = sw[(sw["variant"] == mech) & (sw["placement"] == "same-pu")]
        if mech == "coro-copy" and "touch_bytes" in s.columns and len(s):
            depth = 0 if math.isnan(r["touch_bytes"]) else r["touch_bytes"]
            at = s[s["touch_bytes"] == depth]
            s = at if len(at) else s.sort_values("touch_bytes")
        if s.empty:
            continue
        err = r.get("rss_err", math.nan)
        out.append((label, r["rss"] + (0 if math.isnan(r["kernel"]) else r["kernel"]),
                    err, s["median"].iloc[0], claims.memory.config_name(r)))
    return out


def memory_spectrum(ds):
    """Bytes per parked unit against the cost of one switch: threads, guarded, pooled and copy
    stacks, stackless coroutines."""
    if claims.memory.refused(ds):
        return _empty(ds, "The memory spectrum", claims.memory.refused(ds),
                      "one switch", "resident + kernel bytes per parked unit")
    pts = _spectrum_points(ds)
    if not pts:
        return _empty(ds, "The memory spectrum", "needs memory and ctxswitch rows of the same "
                      "kinds", "one switch", "resident + kernel bytes per parked unit")
    fig, (ax,) = _fig(size=(9.5, 6))
    pal = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd"]
    for i, (label, mem, err, ns, cfg) in enumerate(pts):
        ax.errorbar(ns, mem, yerr=None if math.isnan(err) else err, fmt="o", ms=9,
                    color=pal[i % len(pal)], capsize=3, label="%s (%s)" % (label, cfg))
        # Alternate above and below: guarded and pooled stacks share a switch.
        ax.annotate("%s\n%s, %s" % (label, fmt.nbytes(mem), fmt.ns(ns)), (ns, mem),
                    textcoords="offset points", xytext=(8, 6 if i % 2 == 0 else -26),
                    fontsize=7.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _ns_axis(ax, "x")
    _bytes_axis(ax)
    ax.axhline((1 << 30) / 1e6, color="#2ca02c", ls=":", lw=1,
               label="target: 1M copy-stack coroutines in 1 GiB (1 KiB each)")
    ax.axhline((256 << 20) / 1e6, color="#9467bd", ls=":", lw=1,
               label="target: 1M stackless in 256 MiB (268 bytes each)")
    ax.axvline(5, color="#9467bd", ls="--", lw=0.8, label="target: a stackless switch < 5 ns")
    ax.set_xlabel("one switch at same-pu, median (threads: futex ping-pong; coroutines: the "
                  "kind's switch)")
    ax.set_ylabel("resident + kernel bytes per parked unit (slope of the fit across N)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    lo = min(p[1] for p in pts)
    hi = max(p[1] for p in pts)
    return _finish(fig, ds, "From %s to %s per parked unit: memory against switch cost" % (
        fmt.nbytes(hi), fmt.nbytes(lo)),
        "Each kind at its leanest measured configuration; memory and switch come from one "
        "run's rows.")


def echo(ds):
    """The echo comparison: requests/s, p99 latency and server RSS against connections."""
    rps = schema.closed_loop(ds.stats("echo", "req_per_s"))
    if rps.empty:
        return _empty(ds, "Echo server: connection-per-thread against coroutines over each "
                      "poller", "no echo rows (the echo workload did not run)",
                      "connections", "requests/s")
    p99 = schema.closed_loop(ds.stats("echo", "p99_us"))
    rss = schema.closed_loop(ds.stats("echo", "rss_bytes"))
    fig, axes = _fig(ncols=3, size=(13.5, 5.6))
    def reg_of(frame):
        return frame["reg"].fillna("").astype(str) if "reg" in frame.columns else ""
    servers = sorted({(r["variant"], r["poller"], str(r.get("reg", "") or ""))
                      for _, r in rps.iterrows()},
                     key=lambda t: (t[0] != "thread", schema.is_peer(t[1]), t[1], t[2]))
    several_regs = len({t[2] for t in servers if t[0] != "thread"}) > 1
    for variant, poller, reg in servers:
        label = variant if not poller else "%s / %s" % (variant, poller)
        if several_regs and reg:
            label += " (%s)" % reg
        col = "#000000" if variant == "thread" else color_of(poller)
        ls = "-" if variant == "thread" else ("--" if schema.is_peer(poller) else "-")
        if several_regs and reg == "per-wait":
            ls = ":"
        for ax, st, scale in ((axes[0], rps, 1), (axes[1], p99, 1), (axes[2], rss, 1)):
            s = st[(st["variant"] == variant) & (st["poller"] == poller) &
                   (reg_of(st) == reg)].sort_values("units")
            if s.empty:
                continue
            ax.plot(s["units"], s["median"] * scale, marker="o", ms=3.5, color=col, ls=ls,
                    lw=2 if variant == "thread" else 1.3, label=label)
    for ax, t in zip(axes, ("throughput", "tail latency", "memory")):
        ax.set_xscale("log")
        if ax is not axes[0]:
            ax.set_yscale("log")
        _count_axis(ax)
        ax.set_xlabel("concurrent connections")
        ax.set_title(t, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("requests answered per second, median (req/s)")
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.rate(v)))
    axes[1].set_ylabel("p99 request latency, median over repetitions (time)")
    _ns_axis(axes[1])
    axes[1].yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.ns(v * 1e3)))
    axes[2].set_ylabel("server resident size at full load, median (bytes)")
    _bytes_axis(axes[2])
    axes[0].legend(fontsize=7, loc="lower left")
    top_n = rps["units"].max()
    at = rps[rps["units"] == top_n].sort_values("median")
    lo, hi = at.iloc[0], at.iloc[-1]

    def nm(r):
        return r["variant"] if not r["poller"] else "%s/%s" % (r["variant"], r["poller"])
    title = "At %s connections %s answers %s, %s %s" % (
        fmt.count(top_n), nm(hi), fmt.rate(hi["median"], "req"), nm(lo),
        fmt.rate(lo["median"], "req"))
    return _finish(fig, ds, title, "thread: one blocking thread per connection; coroutine / "
                   "poller: one coroutine per connection over that backend; loop: the peer "
                   "library's callbacks.")


# ---- the seeds' scenarios: nwait (C6), iobound and cancel (C7), checkpoint (C8) ----------
def _who(r):
    """'coroutines / epoll', or the variant alone for rows without a poller (threads)."""
    return r["variant"] if not r["poller"] else "%s / %s" % (r["variant"], r["poller"])


def _variant_color(r):
    if not r["poller"]:
        return "#d62728" if r["variant"] != "sequential" else "#555555"
    return color_of(r["poller"])


def _by_variant(st, first=("sequential", "threads", "pthread-cancel", "eventfd")):
    """Rows sorted: the variants without a poller first, then each poller in the usual order."""
    pollers = _order({p for p in st["poller"] if p})
    def key(r):
        v = r["variant"]
        return (0 if not r["poller"] else 1, first.index(v) if v in first else 9,
                pollers.index(r["poller"]) if r["poller"] in pollers else 0, v)
    return sorted((r for _, r in st.iterrows()), key=key)


def nwait(ds):
    """N requests that each wait D: total time per variant against N×D and D (C6)."""
    st = ds.stats("nwait", "total_ns")
    if st.empty:
        return _empty(ds, "N requests that each wait D (C6)",
                      "no nwait rows (the nwait workload did not run)", "variant", "total time")
    # One (N, D, transport) configuration: the one with the most cases (the default run has one).
    cfg = st.groupby(["units", "delay_ns", "transport"]).size().idxmax()
    st = st[(st["units"] == cfg[0]) & (st["delay_ns"] == cfg[1]) & (st["transport"] == cfg[2])]
    n, d = float(cfg[0]), float(cfg[1])
    rows = _by_variant(st)
    fig, (ax,) = _fig(size=(10, 5.8))
    for i, r in enumerate(rows):
        ax.bar(i, r["median"], 0.6, color=_variant_color(r),
               yerr=_yerr(r["median"], r["min"], r["max"]), capsize=3)
        ideal = n * d if r["variant"] == "sequential" else d
        ax.text(i, _top(r) * 1.08, "%s\n+%s" % (fmt.ns(r["median"]),
                                                fmt.ns(max(r["median"] - ideal, 0))),
                ha="center", va="bottom", fontsize=7.5)
    ax.axhline(n * d, color=REF, ls="--", lw=1.1, label="N × D = %s × %s" % (fmt.count(n),
                                                                          fmt.ns(d)))
    ax.axhline(d, color=REF, ls=":", lw=1.1, label="D = %s (every wait overlapped)" % fmt.ns(d))
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([_who(r).replace(" / ", "\n") for r in rows], fontsize=8)
    ax.set_xlabel("how the N requests wait (%s delay server)" % cfg[2])
    ax.set_ylabel("all N answered, median time (label: the time, + what exceeds N×D or D)")
    lo, hi = ax.get_ylim()
    ax.set_ylim(d / 3, max(hi, n * d) * 4)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    seq = [r for r in rows if r["variant"] == "sequential"]
    conc = [r for r in rows if r["variant"] != "sequential"]
    if seq and conc:
        best = min(conc, key=lambda r: r["median"])
        title = "%s requests of %s: sequential %s, %s %s (%.1fx)" % (
            fmt.count(n), fmt.ns(d), fmt.ns(seq[0]["median"]), _who(best),
            fmt.ns(best["median"]), seq[0]["median"] / best["median"])
    else:
        title = "%s requests of %s" % (fmt.count(n), fmt.ns(d))
    return _finish(fig, ds, title + " (C6)", "Seed 002 §4.2: 20 requests of 1 s took ~22 s "
                   "one after another and ~1.3 s with async (17x). Here the server is a local "
                   "process answering after exactly D; run with --set delay_ns=1s for the seed's "
                   "size. " + _skip_note(ds, "nwait"))


def iobound(ds):
    """Per-operation latency of exponential sleeps (mean 5 ms): p50, p95, p99 per variant,
    against the seed's p95 ≈ 15 ms and the p95 the sleeps themselves ask for (C7)."""
    op = ds.stats("iobound", "op_us")
    if op.empty:
        return _empty(ds, "Simulated I/O: 200 workers × 200 exponential sleeps (C7)",
                      "no iobound rows (the iobound workload did not run)", "variant",
                      "per-operation time")
    late = ds.stats("iobound", "late_us")
    req = ds.stats("iobound", "req_us")
    rows = _by_variant(op)
    fig, axes = _fig(ncols=2, size=(13, 5.8))
    ax = axes[0]
    width = 0.26
    for i, r in enumerate(rows):
        for k, (stat, alpha) in enumerate((("p50", 0.45), ("p95", 0.75), ("p99", 1.0))):
            v = r[stat]
            if v == v:
                ax.bar(i + (k - 1) * width, v * 1e3, width, color=_variant_color(r),
                       alpha=alpha, label=stat if i == 0 else None)
        if r["p95"] == r["p95"]:
            ax.text(i, r["p95"] * 1e3 * 1.05, "p95\n%s" % fmt.ns(r["p95"] * 1e3), ha="center",
                    va="bottom", fontsize=7.5)
    ax.axhline(15e6, color=REF, ls="--", lw=1.1, label="seed 001: p95 ≈ 15 ms")
    if len(req) and req["p95"].notna().any():
        ax.axhline(req["p95"].dropna().iloc[0] * 1e3, color="#2ca02c", ls=":", lw=1.3,
                   label="p95 of the requested sleeps alone")
    _ns_axis(ax)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([_who(r).replace(" / ", "\n") for r in rows], fontsize=8)
    ax.set_xlabel("how the workers sleep")
    ax.set_ylabel("one operation (requested sleep + runtime), percentile over all operations")
    ax.set_title("operation time", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    ax = axes[1]
    lrows = _by_variant(late) if len(late) else []
    for i, r in enumerate(lrows):
        for k, (stat, alpha) in enumerate((("p50", 0.5), ("p99", 1.0))):
            v = r[stat]
            if v == v and v > 0:
                ax.bar(i + (k - 0.5) * 0.35, v * 1e3, 0.35, color=_variant_color(r), alpha=alpha,
                       label=stat if i == 0 else None)
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(lrows)))
    ax.set_xticklabels([_who(r).replace(" / ", "\n") for r in lrows], fontsize=8)
    ax.set_xlabel("how the workers sleep")
    ax.set_ylabel("what the runtime added to one sleep (actual - requested), percentile")
    ax.set_title("lateness", fontsize=10)
    ax.legend(fontsize=7.5)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    r0 = rows[0]
    title = "p95 of one operation: %s; the sleeps alone ask for %s" % (
        ", ".join("%s %s" % (_who(r), fmt.ns(r["p95"] * 1e3)) for r in rows[:3]
                  if r["p95"] == r["p95"]),
        fmt.ns(req["p95"].dropna().iloc[0] * 1e3) if len(req) and req["p95"].notna().any()
        else "?")
    cfg = "%s workers × %s operations, mean %s" % (
        fmt.count(r0["units"]), fmt.count(r0["ops"]), fmt.ns(r0["mean_ns"]))
    return _finish(fig, ds, title + " (C7)", cfg + ". Seed 001: 200 workers × 200 exponential "
                   "sleeps of mean 5 ms, p95 ≈ 15 ms for asyncio, trio and anyio. "
                   + _skip_note(ds, "iobound"))


def cancel(ds):
    """A cancellation storm: time from the first cancel until every task has finished and
    released what it held, per task, per variant (C7)."""
    st = ds.stats("cancel", "cancel_per_task_ns")
    tot = ds.stats("cancel", "cancel_ns")
    if st.empty:
        return _empty(ds, "Cancellation storm (C7)",
                      "no cancel rows (the cancel workload did not run)", "variant",
                      "time per task")
    n = st["units"].max()
    st = st[st["units"] == n]
    rows = _by_variant(st)
    fig, (ax,) = _fig(size=(10, 5.8))
    for i, r in enumerate(rows):
        ax.bar(i, r["median"], 0.6, color=_variant_color(r),
               yerr=_yerr(r["median"], r["min"], r["max"]), capsize=3)
        t = tot[(tot["variant"] == r["variant"]) & (tot["poller"] == r["poller"]) &
                (tot["units"] == n)]
        label = fmt.ns(r["median"])
        if len(t):
            label += "\nall: %s" % fmt.ns(t["median"].iloc[0])
        ax.text(i, _top(r) * 1.08, label, ha="center", va="bottom", fontsize=7.5)
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([_who(r).replace(" / ", "\n") for r in rows], fontsize=8)
    ax.set_xlabel("how the tasks are cancelled")
    ax.set_ylabel("first cancel → every task finished and released, per task (median)")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 4)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    best = min(rows, key=lambda r: r["median"])
    worst = max(rows, key=lambda r: r["median"])
    title = "%s tasks settle in %s (%s) to %s (%s)" % (
        fmt.count(n), fmt.ns(best["median"] * n), _who(best), fmt.ns(worst["median"] * n),
        _who(worst))
    return _finish(fig, ds, title + " (C7)", "Seed 001: 5k long-lived tasks cancelled after "
                   "50 ms; asyncio settled fastest (no figure given). Half the tasks block on a "
                   "socket read, half on a 1 h timer. " + _skip_note(ds, "cancel"))


def checkpoint(ds):
    """The checkpoint's price per await against the fast path, with one request for scale,
    and the lateness of a 1 ms ticker beside a busy task (C8)."""
    aw = ds.stats("checkpoint", "await_ns")
    sv = ds.stats("checkpoint", "starve_ns")
    if aw.empty and sv.empty:
        return _empty(ds, "A checkpoint on every await, and starvation (C8)",
                      "no checkpoint rows (the checkpoint workload did not run)", "variant",
                      "time")
    rq = ds.stats("checkpoint", "request_ns")
    fig, axes = _fig(ncols=2, size=(13, 5.8))
    ax = axes[0]
    pollers = _order({p for p in aw["poller"] if p})
    for i, p in enumerate(pollers):
        for k, (variant, alpha) in enumerate((("fastpath", 0.45), ("checkpoint", 1.0))):
            r = aw[(aw["poller"] == p) & (aw["variant"] == variant)]
            if len(r):
                r = r.iloc[0]
                ax.bar(i + (k - 0.5) * 0.38, r["median"], 0.38, color=color_of(p), alpha=alpha,
                       yerr=_yerr(r["median"], r["min"], r["max"]), capsize=2,
                       hatch="//" if variant == "fastpath" else None,
                       label=("%s await" % variant) if i == 0 else None)
        q = rq[rq["poller"] == p]
        if len(q):
            ax.plot(i, q["median"].iloc[0], marker="D", color="#000000", ms=5,
                    label="one request on the same loop" if i == 0 else None)
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(pollers)))
    ax.set_xticklabels(pollers, fontsize=8, rotation=30, ha="right")
    ax.set_xlabel("poller under the scheduler")
    ax.set_ylabel("one await on a done future (median); ◆ one request/response")
    ax.set_title("the price of a checkpoint", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax = axes[1]
    srows = _by_variant(sv, first=("threads",)) if len(sv) else []
    for i, r in enumerate(srows):
        ax.bar(i, r["median"], 0.6, color=_variant_color(r),
               yerr=_yerr(r["median"], r["min"], r["max"]), capsize=3)
        ax.text(i, _top(r) * 1.08, fmt.ns(r["median"]), ha="center", va="bottom", fontsize=7.5)
    if len(sv) and sv["busy_ns"].notna().any():
        ax.axhline(sv["busy_ns"].dropna().iloc[0], color=REF, ls="--", lw=1.1,
                   label="the busy task's run (busy_ns)")
        ax.legend(fontsize=7.5, loc="upper right")
    ax.set_yscale("log")
    _ns_axis(ax)
    ax.set_xticks(range(len(srows)))
    ax.set_xticklabels([_who(r).replace(" / ", "\n") for r in srows], fontsize=8)
    ax.set_xlabel("what the busy task does")
    ax.set_ylabel("worst lateness of a 1 ms ticker (median over repetitions)")
    ax.set_title("starvation", fontsize=10)
    lo, hi = ax.get_ylim() if srows else (1, 10)
    if srows:
        ax.set_ylim(lo, hi * 4)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    bits = []
    if len(aw):
        cp = aw[aw["variant"] == "checkpoint"]
        fp = aw[aw["variant"] == "fastpath"]
        if len(cp) and len(fp):
            extra = cp["median"].median() - fp["median"].median()
            bits.append("a checkpoint costs %s more per await" % fmt.ns(extra))
    never = [r for r in srows if r["variant"] == "never-yields"]
    if never:
        bits.append("a task that never yields delays the ticker %s" % fmt.ns(never[0]["median"]))
    title = "; ".join(bits) or "A checkpoint on every await, and starvation"
    return _finish(fig, ds, title[0].upper() + title[1:] + " (C8)",
                   "Seed 000 a: trio checkpoints on every await (a bit of per-await overhead); "
                   "asyncio returns at once from a done future and can starve the loop. "
                   + _skip_note(ds, "checkpoint"))


def make_all(ds, notebook=None, outdir=None):
    """Draw and save every plot (of one notebook, or all); returns {name: path}."""
    out = {}
    for name, (fn, nb) in PLOTS.items():
        if notebook and nb != notebook:
            continue
        fig = globals()[fn](ds)
        out[name] = save(fig, name, outdir)
    return out


__all__ = ["PLOTS", "save", "report_dir", "make_all", "linear_fit"] + [f for f, _ in
                                                                      PLOTS.values()]

# Several hosts in one Dataset: every plot draws one panel per host, side by side (hosts.py).
for _plot_fn in sorted({f for f, _ in PLOTS.values()}):
    globals()[_plot_fn] = hosts.side_by_side(globals()[_plot_fn])
