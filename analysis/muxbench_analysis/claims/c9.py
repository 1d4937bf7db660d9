"""C9: an abstraction layer over the native loop costs per-request overhead (seeds 000 b, 003).

Measured by fanin's event_ns for the peers (libevent-epoll, libev, libuv) against the native
backend each runs over, at matched configurations, minus the cost of the suite's own adapter
(the `null` peer: native epoll through the same adapter path, no library); echo's requests/s as
context."""
import math

from .. import fmt, schema
from ..data import cite
from .base import Claim, Part, eqnan, isnan

# An overhead counts when the peer's median is at least MIN_OVERHEAD above the native
# backend's and the difference is larger than twice the two cases' combined stddev, in most of
# the matched configurations; the seeds' size of it is SEED_FACTOR x.
MIN_OVERHEAD = 0.05
SEED_FACTOR = 3.0
# The columns a peer's configuration must share with the native one it is compared with.
MATCH = ("fds", "active", "writes", "position", "timeout", "transport", "placement", "fdtable",
         "mode")
# The reference peer: the adapter alone (pollers/peers/null.c).
ADAPTER = "null"

CLAIM = Claim(
    "C9",
    statement="an abstraction layer over the native loop costs per-request overhead",
    stated="\"This extra abstraction adds per-request CPU + sync overhead\", \"replacing AnyIO "
           "paths with native asyncio primitives yields ~3×+ speedups\" (000 b); \"Slower due "
           "to abstraction layer\", \"10x slower\" (003)",
    source="000 b, 003",
    rule="Each peer (libevent-epoll, libev, libuv) is compared with the native backend it "
         "runs over on fanin event_ns at the same fds/active/position/timeout/transport/"
         "fdtable/mode, after subtracting what the suite's own adapter costs there (the `null` "
         "peer's difference from native epoll at the same configuration, where it was run). "
         "The library costs an overhead when what is left is ≥ %d%% of native's median and "
         "exceeds twice the combined stddev (CV × median where stddev is absent, else 0), in "
         "most matched configurations. The seeds' size of it (~3x+, 10x) holds when the "
         "median ratio (native + the library's part) / native is ≥ %gx."
         % (MIN_OVERHEAD * 100, SEED_FACTOR))


def _sd(r):
    if not isnan(r["stddev"]):
        return r["stddev"]
    if not isnan(r["cv"]):
        return r["cv"] * r["median"]
    return 0.0


def peer_overheads(ds, metric="event_ns"):
    """For each peer: matched fanin configurations against its native backend, with the
    difference and ratio of the medians. {peer: [dict(config, peer, native, diff, ratio,
    significant, lines)]}"""
    st = ds.stats("fanin", metric)
    st = st[st["median"].notna()]
    out = {}
    for peer in sorted(p for p in set(st["poller"]) if schema.is_peer(p)):
        native = schema.native_of(peer)
        pr, nr = st[st["poller"] == peer], st[st["poller"] == native]
        matches = []
        for _, a in pr.iterrows():
            m = nr
            for c in MATCH:
                m = m[eqnan(m[c], a[c])]
            if m.empty:
                continue
            b = m.iloc[0]
            diff = a["median"] - b["median"]
            comb = math.sqrt(_sd(a) ** 2 + _sd(b) ** 2)
            ratio = a["median"] / b["median"] if b["median"] else math.nan
            matches.append({
                "key": tuple(str(a[c]) for c in MATCH),
                "sd": comb,
                "fds": a["fds"], "active": a["active"], "position": a["position"],
                "peer": a["median"], "native": b["median"], "native_name": native,
                "diff": diff, "ratio": ratio,
                "significant": diff > 2 * comb and ratio >= 1 + MIN_OVERHEAD,
                "lines": list(a["lines"]) + list(b["lines"])})
        out[peer] = matches
    return out


def _echo_peers(ds):
    st = schema.closed_loop(ds.stats("echo", "req_per_s"))
    if st.empty:
        return ""
    bits = []
    for peer in sorted(p for p in set(st["poller"]) if schema.is_peer(p)):
        nat = schema.native_of(peer)
        for n in sorted(set(st[st["poller"] == peer]["units"]), reverse=True):
            a = st[(st["poller"] == peer) & (st["units"] == n)]
            b = st[(st["poller"] == nat) & (st["units"] == n)]
            if len(a) and len(b):
                bits.append("%s %.2fx %s's requests/s at %s connections" % (
                    peer, a["median"].iloc[0] / b["median"].iloc[0], nat, fmt.count(n)))
                break
    return ", ".join(bits)


def _subtract_adapter(ov):
    """Each library peer's matches with the adapter's difference at the same configuration
    taken off (diff, ratio, significant recomputed; `adapter` holds what was subtracted, NaN
    where the null peer was not run there). Returns the adapter's median difference too."""
    adapter = {m["key"]: m for m in ov.get(ADAPTER, [])}
    out = {}
    for peer, matches in ov.items():
        if peer == ADAPTER:
            continue
        fixed = []
        for m in matches:
            a = adapter.get(m["key"])
            m = dict(m)
            m["adapter"] = a["diff"] if a else math.nan
            if a:
                m["diff"] = m["diff"] - a["diff"]
                comb = math.sqrt(m["sd"] ** 2 + a["sd"] ** 2)
                m["ratio"] = (m["native"] + m["diff"]) / m["native"] if m["native"] else \
                    math.nan
                m["significant"] = m["diff"] > 2 * comb and m["ratio"] >= 1 + MIN_OVERHEAD
                m["lines"] = m["lines"] + a["lines"]
            fixed.append(m)
        out[peer] = fixed
    diffs = sorted(m["diff"] for m in ov.get(ADAPTER, []))
    return out, diffs[len(diffs) // 2] if diffs else math.nan


def evaluate(ds):
    parts, figs, lines = [], [], []
    ov, adapter_ns = _subtract_adapter(peer_overheads(ds))
    ratios = []
    for peer, matches in ov.items():
        if not matches:
            parts.append(Part("%s overhead" % peer, None, "%s has no configuration matching "
                              "%s's in this CSV" % (peer, schema.native_of(peer))))
            continue
        for m in matches:
            lines += m["lines"]
        sig = sum(1 for m in matches if m["significant"])
        diffs = sorted(m["diff"] for m in matches)
        rs = sorted(m["ratio"] for m in matches)
        md, mr = diffs[len(diffs) // 2], rs[len(rs) // 2]
        ratios.append(mr)
        ok = sig * 2 > len(matches)
        figs.append("%s %+.0f ns per event (%.2fx %s, median of %d configurations)" % (
            peer, md, mr, matches[0]["native_name"], len(matches)))
        parts.append(Part("%s overhead" % peer, bool(ok),
                          "%s costs %s more per event than %s (%.2fx), beyond the noise in "
                          "%d of %d configurations" % (
                              peer, fmt.ns(md), matches[0]["native_name"], mr, sig,
                              len(matches))))
    extra = ""
    if not isnan(adapter_ns):
        figs.insert(0, "the adapter (null peer) %+.0f ns per event over epoll, subtracted"
                    % adapter_ns)
    elif ov:
        figs.insert(0, "the adapter's own cost not subtracted (no `null` peer rows)")
    if ratios:
        big = all(r >= SEED_FACTOR for r in ratios)
        parts.append(Part("of the seeds' size (≥ 3x)", bool(big),
                          "the layers cost %.2f-%.2fx the native path, %s the seeds' ~3x+/10x"
                          % (min(ratios), max(ratios), "as big as" if big else
                             "far below")))
        echo = _echo_peers(ds)
        if echo:
            extra = "echo: " + echo
    why = "no peer rows (libevent-epoll, libev, libuv) beside a native backend in this CSV " \
          "(run fanin with --poller epoll,libevent-epoll,libev,libuv)"
    if not parts:
        parts.append(Part("peer overhead", None, why))
    return CLAIM.verdict(parts, "; ".join(figs), cite(lines), "" if ov else why, extra)
