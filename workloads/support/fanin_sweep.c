/*
 * fanin_sweep.c - fanin's plan: the sweeps over fds, the fit of each and C1's decomposition of
 * the per-fd cost (fanin_sweep.h).
 *
 * What the fits do not do: they weigh each point by its relative error (1/wait^2), so a
 * backend whose cost is flat at small fds and grows later is fitted to the whole curve; the
 * order of growth (the exponent) is fitted over the top two decades only, where a fixed cost
 * no longer hides the growth. Fewer than 3 points or under a 10x span of fds make no fit, with
 * the reason in the row, rather than a two-point line whose R^2 is 1 by construction.
 *
 * Quirks: the fit case is outside its sweep's group, so a limit met halfway through the sweep
 * (EMFILE, ENOMEM) still leaves the points that ran to be fitted; fds values a machine cannot
 * hold are refused at planning (exit 3, saying what to change), not met halfway.
 */
#define _GNU_SOURCE
#include "workloads/support/fanin_sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/stats.h"
#include "workloads/support/fanin_pool.h"

/* The fit of one sweep; its result is kept for the decomposition (struct fanin_parts). */
struct fanin_fit {
    int count;
    struct bench_case *points[PARAM_MAX_VALUES + 8];
    int cycle; /* mode=cycle: a fit of cycle_ns */
    int fitted;
    struct stats_fit per_fd; /* wait_ns against fds, weighted by 1/wait_ns^2 */
};

/* ---- the fits ---------------------------------------------------------------------------- */

#define FIT_MIN_POINTS 3
#define FIT_MIN_SPAN 10.0
#define EXPONENT_DECADES 2 /* the order of growth is fitted over the top two decades of fds */

/* x = fds, y = the p50 of the sweep's per-op samples (pooled over the repetitions: a wait a
 * preemption or an interrupt stretched moves it little), for the points that ran, sorted. */
static int fit_points(const struct fanin_fit *f, double *x, double *y)
{
    int n = 0;
    for (int i = 0; i < f->count; i++) {
        const struct bench_case *p = f->points[i];
        if (!p->result.ran)
            continue;
        double fds = (double)param_number(p->id.v[COL_FDS]);
        int k = n++;
        for (; k > 0 && x[k - 1] > fds; k--) { /* insertion: the plan is nearly sorted */
            x[k] = x[k - 1];
            y[k] = y[k - 1];
        }
        x[k] = fds;
        y[k] = p->result.samples > 0 ? p->result.p50 : p->result.median;
    }
    return n;
}

/* Fewer than FIT_MIN_POINTS points or a span below FIT_MIN_SPAN make no fit (a two-point R^2
 * of 1 is not evidence); 0 when the points make one, else -1 with why. */
static int fit_enough(const double *x, int n, const char *what, char *why, size_t len)
{
    if (n >= FIT_MIN_POINTS && x[n - 1] >= FIT_MIN_SPAN * x[0])
        return 0;
    snprintf(why, len, "no %s: it needs %d points or more over a %gx span of fds; %d ran%s", what,
             FIT_MIN_POINTS, FIT_MIN_SPAN, n, n ? "" : " (see the sweep's rows)");
    if (n > 0)
        snprintf(why + strlen(why), len - strlen(why), ", fds=%g..%g", x[0], x[n - 1]);
    return -1;
}

static int fit_derive(struct bench_case *c, struct bench_derived *out, char *msg, size_t len)
{
    struct fanin_fit *f = c->ctx;
    const char *m = f->cycle ? "cycle" : "wait";
    double x[PARAM_MAX_VALUES + 8], y[PARAM_MAX_VALUES + 8], w[PARAM_MAX_VALUES + 8];
    int n = fit_points(f, x, y);
    f->fitted = 0;
    if (fit_enough(x, n, "fit", msg, len) < 0)
        return BENCH_SKIP;
    for (int i = 0; i < n; i++)
        w[i] = y[i] > 0 ? 1 / (y[i] * y[i]) : 0;
    if (stats_fit_weighted(x, y, w, n, &f->per_fd) < 0) {
        snprintf(msg, len, "no fit: the %d points' medians are not all positive", n);
        return BENCH_SKIP;
    }
    f->fitted = 1;
    char name[64], note[320];
    snprintf(note, sizeof note, "least squares weighted by 1/%s_ns^2 (each point by its relative "
             "error) over the p50 of %d points, fds=%g..%g: %s_ns = %s_ns_fixed + "
             "%s_ns_per_fd * fds; se = standard error", m, n, x[0], x[n - 1], m, m, m);
    snprintf(name, sizeof name, "%s_ns_per_fd", m);
    bench_derived_row(out, name, f->per_fd.slope, "ns", note);
    bench_derived_stat(out, name, "se", f->per_fd.slope_se, "ns", note);
    snprintf(name, sizeof name, "%s_ns_fixed", m);
    bench_derived_row(out, name, f->per_fd.intercept, "ns", note);
    bench_derived_stat(out, name, "se", f->per_fd.intercept_se, "ns", note);
    snprintf(name, sizeof name, "%s_fit_r2", m);
    bench_derived_row(out, name, f->per_fd.r2, "ratio", note);
    snprintf(name, sizeof name, "%s_fit_points", m);
    bench_derived_row(out, name, n, "count", note);
    /* The order of growth: ln y = a + k ln fds over the top decades, where a fixed cost no
     * longer hides the growth (for fixed + b * fds, k tends to 1 as fds grows). */
    double lx[PARAM_MAX_VALUES + 8], ly[PARAM_MAX_VALUES + 8], span[PARAM_MAX_VALUES + 8];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (x[i] * pow(10, EXPONENT_DECADES) >= x[n - 1] && y[i] > 0) {
            span[k] = x[i];
            lx[k] = log(x[i]);
            ly[k] = log(y[i]);
            k++;
        }
    struct stats_fit e;
    snprintf(name, sizeof name, "%s_exponent", m);
    if (fit_enough(span, k, "exponent", note, sizeof note) == 0 &&
        stats_fit_weighted(lx, ly, NULL, k, &e) == 0) {
        snprintf(note, sizeof note, "log-log least squares over the %d points of the top %d "
                 "decades, fds=%g..%g: ln %s_ns = a + %s_exponent * ln fds (1: O(n), 0: O(1)); "
                 "se = standard error", k, EXPONENT_DECADES, span[0], span[k - 1], m, m);
        bench_derived_row(out, name, e.slope, "ratio", note);
        bench_derived_stat(out, name, "se", e.slope_se, "ratio", note);
    }
    return BENCH_OK;
}

/* The parts of the per-fd cost at one configuration (C1): the scan (timeout=zero, private fd
 * table), the wait-queue registration (blocking minus zero at the same position: a blocking
 * poll or select registers a wait-queue entry on every fd it scans before it finds one ready)
 * and the shared-fd-table tax (shared minus private, timeout=zero: fdget's atomic get and put
 * per fd). Each is a difference of fitted slopes; its se combines theirs. */
struct fanin_parts {
    struct fanin_fit *fit[2][2]; /* [timeout: zero, blocking][fdtable: private, shared] */
};

static void part_row(struct bench_derived *out, const char *metric, const struct fanin_fit *a,
                     const struct fanin_fit *b, const char *note)
{
    double v = a->per_fd.slope - (b ? b->per_fd.slope : 0);
    double se = b ? hypot(a->per_fd.slope_se, b->per_fd.slope_se) : a->per_fd.slope_se;
    bench_derived_row(out, metric, v, "ns", note);
    bench_derived_stat(out, metric, "se", se, "ns", note);
}

static int parts_derive(struct bench_case *c, struct bench_derived *out, char *msg, size_t len)
{
    const struct fanin_parts *pt = c->ctx;
    const struct fanin_fit *zp = pt->fit[0][0], *bp = pt->fit[1][0], *zs = pt->fit[0][1];
    if (!zp || !zp->fitted) {
        snprintf(msg, len, "no decomposition: the timeout=zero fdtable=private sweep has no fit");
        return BENCH_SKIP;
    }
    part_row(out, "per_fd_scan_ns", zp, NULL,
             "the scan: wait_ns_per_fd at timeout=zero, fdtable=private");
    if (bp && bp->fitted)
        part_row(out, "per_fd_wqueue_ns", bp, zp,
                 "the wait-queue registration: wait_ns_per_fd at timeout=blocking minus "
                 "timeout=zero, both fdtable=private, at this position");
    if (zs && zs->fitted)
        part_row(out, "per_fd_fdtable_tax_ns", zs, zp,
                 "the shared-fd-table tax: wait_ns_per_fd at fdtable=shared minus "
                 "fdtable=private, both timeout=zero");
    return BENCH_OK;
}
/* ---- planning ---------------------------------------------------------------------------- */


/* placement=auto: two cores sharing a cache if the machine has them, else what it has. */
static const char *auto_placement(void)
{
    static const enum placement_id order[] = {PL_SAME_L3, PL_CROSS_L3, PL_SMT_SIBLING,
                                              PL_SAME_PU};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        struct placement pl;
        if (placement_resolve(order[i], &pl, NULL, 0) == 0)
            return placement_name(order[i]);
    }
    return placement_name(PL_UNPINNED);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The sweep for one `active`: the user's values, or 1, 2, 4 ... up to the limit plus 1,000,
 * 10,000 and the limit itself (auto), or the quick list cut at the limit. */
static int sweep(const struct run_opts *o, const struct workload *w, long long active,
                 long long max_n, long long *out, int cap)
{
    struct param_set v;
    run_values(o, w, "fds", &v);
    int n = 0;
    if (v.count == 1 && strcmp(v.values[0], "auto") == 0) {
        for (long long x = 1; x <= max_n && n < cap - 3; x *= 2)
            out[n++] = x;
        if (1000 <= max_n)
            out[n++] = 1000;
        if (10000 <= max_n)
            out[n++] = 10000;
        out[n++] = max_n;
        qsort(out, (size_t)n, sizeof *out, cmp_ll);
    } else {
        int user = param_override(&o->set, "fds") != NULL;
        for (int i = 0; i < v.count && n < cap; i++) {
            long long x = param_number(v.values[i]);
            if (user || x <= max_n)
                out[n++] = x;
        }
    }
    int k = 0; /* drop duplicates of a sorted auto list, and points below `active` */
    for (int i = 0; i < n; i++)
        if (out[i] >= active && (k == 0 || out[k - 1] != out[i]))
            out[k++] = out[i];
    return k;
}

static int limit_message(char *msg, size_t len, const char *what, long long want)
{
    int raisable = 0;
    long hard = pool_nofile_limit(&raisable);
    snprintf(msg, len,
             "%s=%lld needs more file descriptors than RLIMIT_NOFILE allows: the limit is %ld "
             "(the soft limit is raised to the hard one) and the run keeps %d for itself, so the "
             "largest fds possible is %ld. To go further, raise the hard limit: `ulimit -Hn N` "
             "as root, `nofile` in /etc/security/limits.conf, or LimitNOFILE= for a systemd "
             "unit; %s",
             what, want, hard, POOL_FD_RESERVE, hard - POOL_FD_RESERVE,
             raisable ? "this process may raise it (it has CAP_SYS_RESOURCE)"
                      : "here this user cannot raise it (setrlimit: Operation not permitted)");
    return MUX_EXIT_ENV;
}

#define ID_COLS 9
static struct bench_case *add_case(struct plan *plan, const struct workload *w,
                                   const struct poller_ops *poller, const char *const col[ID_COLS])
{
    struct bench_case *c = plan_add(plan, w, poller);
    if (!c)
        return NULL;
    static const enum param_col cols[ID_COLS] = {
        COL_FDS,       COL_ACTIVE,    COL_WRITES,  COL_POSITION, COL_TIMEOUT,
        COL_TRANSPORT, COL_PLACEMENT, COL_FDTABLE, COL_MODE};
    for (int i = 0; i < ID_COLS; i++)
        param_row_set(&c->id, cols[i], col[i]);
    bench_case_name(c);
    return c;
}

/* One sweep: a case per fds value (cfg has everything else, point() makes it measure), then
 * the fit over them, which *out gets (for the decomposition). */
static int plan_sweep(struct plan *plan, const struct workload *w, const struct fanin_config *cfg,
                      fanin_point_fn point, const char *id[ID_COLS], const long long *fds, int nf,
                      struct fanin_fit **out)
{
    struct fanin_fit *fit = calloc(1, sizeof *fit);
    if (!fit)
        return -1;
    fit->cycle = cfg->cycle;
    for (int i = 0; i < nf; i++) {
        char fcol[32];
        snprintf(fcol, sizeof fcol, "%lld", fds[i]);
        id[0] = fcol;
        struct bench_case *c = add_case(plan, w, cfg->ops, id);
        if (!c || point(c, cfg, (int)fds[i]) < 0) {
            free(fit);
            return -1;
        }
        fit->points[fit->count++] = c;
    }
    /* The fit: outside the sweep's group, so a limit that stops the sweep still leaves the
     * points that ran to be fitted. */
    id[0] = "";
    struct bench_case *c = add_case(plan, w, cfg->ops, id);
    if (!c) {
        free(fit);
        return -1;
    }
    c->ctx = fit;
    c->free_ctx = free;
    c->derive = fit_derive;
    *out = fit;
    return 0;
}

/* The decomposition cases: one per configuration whose timeout=zero fdtable=private sweep is
 * planned beside a blocking or a shared one. keys[i] names configuration i (every column but
 * fds, timeout and fdtable); parts[i] holds its fits. */
static int plan_parts(struct plan *plan, const struct workload *w, const struct poller_ops *ops,
                      const char (*ids)[ID_COLS][PARAM_VALUE_MAX], struct fanin_parts *const *parts,
                      int count)
{
    for (int i = 0; i < count; i++) {
        struct fanin_parts *pt = parts[i];
        if (!pt->fit[0][0] || (!pt->fit[1][0] && !pt->fit[0][1])) {
            free(pt);
            continue;
        }
        const char *id[ID_COLS];
        for (int k = 0; k < ID_COLS; k++)
            id[k] = ids[i][k];
        id[0] = id[4] = id[7] = ""; /* fds, timeout, fdtable: the parts span them */
        struct bench_case *c = add_case(plan, w, ops, id);
        if (!c) {
            for (int k = i; k < count; k++)
                free(parts[k]);
            return -1;
        }
        c->ctx = pt;
        c->free_ctx = free;
        c->derive = parts_derive;
    }
    return 0;
}

int fanin_plan_sweeps(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, fanin_point_fn point, char *msg,
                      size_t len)
{
    long long max_n = pool_max_pairs();
    struct param_set act, wr, pos, tmo, tr, plc, fdt, mode;
    run_values(o, w, "fdtable", &fdt);
    run_values(o, w, "mode", &mode);
    run_values(o, w, "placement", &plc);
    run_values(o, w, "active", &act);
    run_values(o, w, "writes", &wr);
    run_values(o, w, "position", &pos);
    run_values(o, w, "timeout", &tmo);
    run_values(o, w, "transport", &tr);
    const struct param_set *user_fds = param_override(&o->set, "fds");
    if (user_fds && user_fds->count == 1 && strcmp(user_fds->values[0], "auto") == 0)
        user_fds = NULL; /* the automatic sweep, as by default */
    for (int i = 0; user_fds && i < user_fds->count; i++)
        if (param_number(user_fds->values[i]) > max_n)
            return limit_message(msg, len, "fds", param_number(user_fds->values[i]));
    for (int a = 0; a < act.count; a++) {
        long long active = param_number(act.values[a]);
        for (int i = 0; user_fds && i < user_fds->count; i++)
            if (active > param_number(user_fds->values[i])) {
                snprintf(msg, len, "active=%lld is larger than fds=%s: a round cannot make more "
                         "fds ready than are registered", active, user_fds->values[i]);
                return MUX_EXIT_USAGE;
            }
        if (active > max_n)
            return limit_message(msg, len, "active", active);
        for (int k = 0; k < wr.count; k++)
            if (strcmp(wr.values[k], "auto") != 0 && param_number(wr.values[k]) < active) {
                snprintf(msg, len, "writes=%s is smaller than active=%lld: a round must write "
                         "to every active fd at least once", wr.values[k], active);
                return MUX_EXIT_USAGE;
            }
    }
    /* Every combination of the other parameters is one sweep over fds (transport outermost,
     * so the pool is rebuilt as rarely as possible). */
    /* fdtable=auto: shared only where it measures something, the scan's tax (quirk h): with a
     * zero timeout on a backend whose wait scans every fd (no MUX_F_O1). */
    const int fdt_auto = fdt.count == 1 && strcmp(fdt.values[0], "auto") == 0;
    if (fdt_auto) {
        fdt.count = 2;
        snprintf(fdt.values[0], PARAM_VALUE_MAX, "private");
        snprintf(fdt.values[1], PARAM_VALUE_MAX, "shared");
    }
    enum { D_TR, D_TMO, D_POS, D_ACT, D_WR, D_PLC, D_FDT, D_MODE, NDIMS };
    const struct param_set *dims[NDIMS] = {&tr, &tmo, &pos, &act, &wr, &plc, &fdt, &mode};
    int total = 1;
    for (int d = 0; d < NDIMS; d++)
        total *= dims[d]->count;
    /* The decomposition's configurations: every column but fds, timeout and fdtable. */
    int nparts = 0, rc = 0;
    struct fanin_parts **parts = calloc((size_t)total, sizeof *parts);
    char(*part_ids)[ID_COLS][PARAM_VALUE_MAX] = calloc((size_t)total, sizeof *part_ids);
    if (!parts || !part_ids) {
        free(parts);
        free(part_ids);
        snprintf(msg, len, "out of memory while planning fanin");
        return MUX_EXIT_FAIL;
    }
    for (int combo = 0; rc == 0 && combo < total; combo++) {
        const char *v[NDIMS];
        for (int d = NDIMS - 1, rest = combo; d >= 0; d--) {
            v[d] = dims[d]->values[rest % dims[d]->count];
            rest /= dims[d]->count;
        }
        if (fdt_auto && strcmp(v[D_FDT], "shared") == 0 &&
            (strcmp(v[D_TMO], "zero") != 0 || (poller->features & MUX_F_O1)))
            continue;
        long long active = param_number(v[D_ACT]);
        long long writes = strcmp(v[D_WR], "auto") == 0 ? active : param_number(v[D_WR]);
        const char *placement = strcmp(v[D_PLC], "auto") == 0 ? auto_placement() : v[D_PLC];
        char acol[32], wcol[32];
        snprintf(acol, sizeof acol, "%lld", active);
        snprintf(wcol, sizeof wcol, "%lld", writes);
        const char *id[ID_COLS] = {"",         acol,     wcol,     v[D_POS],  v[D_TMO],
                                   v[D_TR],    placement, v[D_FDT], v[D_MODE]};
        struct fanin_config cfg = {
            .ops = poller, .active = (int)active, .writes = (int)writes, .quick = o->quick,
            .position = strcmp(v[D_POS], "first") == 0 ? FANIN_POS_FIRST
                        : strcmp(v[D_POS], "last") == 0 ? FANIN_POS_LAST
                                                     : FANIN_POS_SPREAD,
            .timeout_ns = strcmp(v[D_TMO], "zero") == 0 ? 0 : -1,
            .shared_fdtable = strcmp(v[D_FDT], "shared") == 0,
            .cycle = strcmp(v[D_MODE], "cycle") == 0,
            .transport = strcmp(v[D_TR], "tcp") == 0 ? POOL_TCP : POOL_UNIX,
            .placement = (enum placement_id)placement_lookup(placement),
        };
        snprintf(cfg.group, sizeof cfg.group, "%s/%s/a%s/w%s/%s/%s/%s/%s/%s/%s", w->name,
                 poller->name, acol, wcol, v[D_POS], v[D_TMO], v[D_TR], placement, v[D_FDT],
                 v[D_MODE]);
        long long fds[PARAM_MAX_VALUES + 8];
        int nf = sweep(o, w, active, max_n, fds, PARAM_MAX_VALUES + 8);
        struct fanin_fit *fit = NULL;
        if (plan_sweep(plan, w, &cfg, point, id, fds, nf, &fit) < 0) {
            rc = 1;
            break;
        }
        if (cfg.cycle)
            continue; /* the decomposition is of a wait */
        int k = 0; /* this configuration's parts */
        for (; k < nparts; k++) {
            int same = 1;
            for (int col = 0; col < ID_COLS; col++)
                same &= col == 0 || col == 4 || col == 7 || strcmp(part_ids[k][col], id[col]) == 0;
            if (same)
                break;
        }
        if (k == nparts) {
            if (!(parts[k] = calloc(1, sizeof **parts))) {
                rc = 1;
                break;
            }
            for (int col = 0; col < ID_COLS; col++)
                snprintf(part_ids[k][col], PARAM_VALUE_MAX, "%s", id[col]);
            nparts++;
        }
        parts[k]->fit[cfg.timeout_ns < 0][cfg.shared_fdtable] = fit;
    }
    if (rc == 0)
        rc = plan_parts(plan, w, poller, (const char(*)[ID_COLS][PARAM_VALUE_MAX])part_ids,
                        parts, nparts) < 0;
    else
        for (int k = 0; k < nparts; k++)
            free(parts[k]);
    free(parts);
    free(part_ids);
    if (rc)
        snprintf(msg, len, "out of memory while planning fanin");
    return rc ? MUX_EXIT_FAIL : MUX_EXIT_OK;
}
