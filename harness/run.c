/* run.c - see run.h. */
#define _GNU_SOURCE
#include "harness/run.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/csv.h"
#include "harness/stats.h"

/* ---- planning --------------------------------------------------------------------------- */

static int skip_setup(struct bench_case *c, char *msg, size_t len)
{
    snprintf(msg, len, "%s", (const char *)c->ctx);
    return BENCH_SKIP;
}

static int plan_add_skip(struct plan *plan, const struct workload *w,
                         const struct poller_ops *poller, const char *reason)
{
    struct bench_case *c = plan_add(plan, w, poller);
    if (!c || !(c->ctx = strdup(reason)))
        return -ENOMEM;
    c->free_ctx = free;
    c->setup = skip_setup;
    bench_case_name(c);
    return 0;
}

int run_plan(const struct run_config *rc, struct plan *plan, char *msg, size_t len)
{
    for (int i = 0; i < rc->nworkloads; i++) {
        const struct workload *w = rc->workloads[i];
        char why[256] = "";
        if (w->probe && w->probe(why, sizeof why) != 0) {
            char reason[320];
            snprintf(reason, sizeof reason, "workload unavailable: %s", why);
            if (plan_add_skip(plan, w, NULL, reason) < 0)
                goto oom;
            continue;
        }
        if (!w->per_poller) {
            int st = w->plan(plan, &rc->opts, w, NULL, msg, len);
            if (st)
                return st;
            continue;
        }
        for (int p = 0; p < rc->opts.npollers; p++) {
            const struct poller_ops *ops = rc->opts.pollers[p];
            if (poller_probe(ops, why, sizeof why) != 0) {
                char reason[320];
                snprintf(reason, sizeof reason, "backend unavailable: %s", why);
                if (plan_add_skip(plan, w, ops, reason) < 0)
                    goto oom;
                continue;
            }
            int st = w->plan(plan, &rc->opts, w, ops, msg, len);
            if (st)
                return st;
        }
    }
    return MUX_EXIT_OK;
oom:
    snprintf(msg, len, "out of memory while planning");
    return MUX_EXIT_FAIL;
}

/* ---- interruption ------------------------------------------------------------------------ */

static struct csv_out *g_csv;
static atomic_int g_committed;

/* A crash (a fault, an abort from fortified libc or a sanitizer) in a later case: the cases
 * that finished are whole in the temporary file (one write per case), so they are kept under
 * the partial name before the signal takes its default course. rename() is async-signal-safe;
 * nothing here takes a lock the crashing thread may hold. */
static void on_crash(int sig)
{
    static const char msg[] = "\nmuxbench: crashed; the finished cases are in the .partial.csv "
                              "file beside the output\n";
    if (g_csv && !atomic_load(&g_committed) && rename(g_csv->tmp_path, g_csv->partial_path) == 0) {
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void crash_handlers_install(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}
static const struct run_config *g_run;
static char g_json_partial[PATH_MAX];
static volatile int g_cases_done;

static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    if (atomic_load(&g_committed)) { /* the run had ended: its CSV is complete and in place */
        fprintf(stderr, "\nmuxbench: interrupted by %s after the run was written to %s\n",
                strsignal(sig), g_csv->path);
        _exit(MUX_EXIT_INTERRUPTED);
    }
    /* Child processes first (a workload's helper): nothing of the run may outlive it. */
    for (int w = 0; g_run && w < g_run->nworkloads; w++)
        if (g_run->workloads[w]->interrupted)
            g_run->workloads[w]->interrupted();
    /* The CSV lock is taken for good: no case's rows can be half written after this. */
    int rc = csv_abort_partial(g_csv);
    shim_write_json(g_json_partial, 0);
    fprintf(stderr,
            "\nmuxbench: interrupted by %s: %d case%s finished, their rows are in %s%s\n",
            strsignal(sig), g_cases_done, g_cases_done == 1 ? "" : "s", g_csv->partial_path,
            rc == 0 ? "" : " (the rename failed; the temporary file is left in place)");
    _exit(MUX_EXIT_INTERRUPTED);
}

/* ---- rows -------------------------------------------------------------------------------- */

struct bench_derived {
    struct csv_out *csv;
    const struct bench_case *c;
    int rows;
};

void bench_derived_row(struct bench_derived *out, const char *metric, double value,
                       const char *unit, const char *note)
{
    csv_row(out->csv, &out->c->id, metric, "median", value, unit, 0, 0, "derived", note);
    out->rows++;
}

/* A percentile counter, "<metric>@p50", "@p95" or "@p99": the suffix, else NULL. Its row is
 * <metric> with stat p50/p95/p99 (the median of the repetitions' percentiles). */
static const char *percentile_suffix(const char *metric)
{
    static const char *const suffixes[] = {"@p50", "@p95", "@p99"};
    size_t n = strlen(metric);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (n > 4 && strcmp(metric + n - 4, suffixes[i]) == 0)
            return metric + n - 4;
    return NULL;
}

/* Writes the statistic rows of one finished case; returns the primary metric's stats. */
static void write_case_rows(struct csv_out *o, const struct bench_case *c,
                            const struct case_result *res, struct stats *primary,
                            const char **primary_metric, const char **primary_unit)
{
    char seen[32][48];
    int nseen = 0;
    double *vals = malloc((size_t)(res->nreps ? res->nreps : 1) * sizeof *vals);
    double *iters = malloc((size_t)(res->nreps ? res->nreps : 1) * sizeof *iters);
    if (!vals || !iters) {
        free(vals);
        free(iters);
        return;
    }
    for (int r = 0; r < res->nreps; r++)
        iters[r] = (double)res->reps[r].iterations;
    struct stats it;
    stats_compute(iters, res->nreps, &it);
    *primary_metric = NULL;
    for (int r = 0; r < res->nreps; r++) {
        for (int k = 0; k < res->reps[r].nvalues; k++) {
            const struct rep_value *rv = &res->reps[r].values[k];
            int known = 0;
            for (int s = 0; s < nseen; s++)
                known |= strcmp(seen[s], rv->metric) == 0;
            if (known || nseen == 32)
                continue;
            snprintf(seen[nseen++], sizeof seen[0], "%s", rv->metric);
            int n = 0;
            for (int r2 = 0; r2 < res->nreps; r2++)
                for (int k2 = 0; k2 < res->reps[r2].nvalues; k2++)
                    if (strcmp(res->reps[r2].values[k2].metric, rv->metric) == 0)
                        vals[n++] = res->reps[r2].values[k2].value;
            struct stats s;
            stats_compute(vals, n, &s);
            const char *pct = percentile_suffix(rv->metric);
            if (pct) {
                char base[48];
                snprintf(base, sizeof base, "%.*s", (int)(pct - rv->metric), rv->metric);
                csv_row(o, &c->id, base, pct + 1, s.median, rv->unit, n, (uint64_t)it.median, "ok",
                        c->note);
                continue;
            }
            static const char *const names[] = {"median", "mean", "min", "max", "stddev", "cv"};
            const double v[] = {s.median, s.mean, s.min, s.max, s.stddev, s.cv};
            for (int i = 0; i < 6; i++)
                csv_row(o, &c->id, rv->metric, names[i], v[i], i == 5 ? "ratio" : rv->unit, n,
                        (uint64_t)it.median, "ok", c->note);
            const char *lead = c->metric ? c->metric : c->headline;
            const int is_lead = lead && strcmp(lead, rv->metric) == 0;
            if (!*primary_metric || is_lead) {
                *primary = s;
                *primary_metric = is_lead ? lead : rv->metric;
                *primary_unit = rv->unit;
            }
        }
    }
    free(vals);
    free(iters);
}

static void default_out_path(const struct run_config *rc, const struct env *e, char *out,
                             size_t len)
{
    char pollers[256] = "";
    size_t used = 0;
    if (rc->opts.npollers == 0)
        snprintf(pollers, sizeof pollers, "none");
    for (int i = 0; i < rc->opts.npollers && used < sizeof pollers; i++)
        used += (size_t)snprintf(pollers + used, sizeof pollers - used, "%s%s", i ? "+" : "",
                                 rc->opts.pollers[i]->name);
    if (rc->opts.npollers > 6)
        snprintf(pollers, sizeof pollers, "%d-pollers", rc->opts.npollers);
    char stamp[32];
    snprintf(stamp, sizeof stamp, "%.16s", e->meta.run_id); /* yyyymmddThhmmssZ */
    mkdir("results", 0755);
    snprintf(out, len, "results/%s-%s-%s.csv", stamp, e->meta.host, pollers);
}

static const struct workload *workload_of(const struct run_config *rc, const struct bench_case *c)
{
    for (int w = 0; w < rc->nworkloads; w++)
        if (strcmp(rc->workloads[w]->name, c->id.v[COL_WORKLOAD]) == 0)
            return rc->workloads[w];
    return NULL;
}

struct summary_line {
    char name[256];
    char text[160];
};

int run_execute(struct run_config *rc, int argc, char **argv)
{
    struct plan plan = {0};
    char msg[1024] = "";
    int status = run_plan(rc, &plan, msg, sizeof msg);
    if (status) {
        fprintf(stderr, "muxbench: %s\n", msg);
        plan_free(&plan);
        return status;
    }
    if (rc->list_cases) {
        for (int i = 0; i < plan.count; i++)
            if (shim_filter_matches(plan.cases[i]->name))
                printf("%s\n", plan.cases[i]->name);
        plan_free(&plan);
        return MUX_EXIT_OK;
    }

    struct env env;
    env_collect(&env, argc, argv);
    env_warnings(&env, stderr);

    char path[PATH_MAX];
    if (rc->out_path[0])
        snprintf(path, sizeof path, "%s", rc->out_path);
    else
        default_out_path(rc, &env, path, sizeof path);
    static struct csv_out csv;
    char err[512];
    if (csv_open(&csv, path, &env.meta, err, sizeof err) < 0) {
        fprintf(stderr, "muxbench: %s; choose a writable --out path\n", err);
        plan_free(&plan);
        return MUX_EXIT_ENV;
    }
    char json_path[PATH_MAX];
    csv_sibling(path, ".gbench.json", json_path, sizeof json_path);
    csv_sibling(path, ".partial.gbench.json", g_json_partial, sizeof g_json_partial);

    /* Signals go to one thread that leaves a partial file; every other thread, workload
     * threads included (they inherit this mask), never sees them. */
    static sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_csv = &csv;
    g_run = rc;
    pthread_t sigthread;
    int sig_rc = pthread_create(&sigthread, NULL, signal_thread, &sigs);
    if (sig_rc) {
        fprintf(stderr, "muxbench: cannot start the thread that handles interruptions: %s\n",
                strerror(sig_rc));
        csv_discard(&csv);
        plan_free(&plan);
        return MUX_EXIT_FAIL;
    }
    crash_handlers_install();

    env_write_rows(&env, &csv);
    csv_flush(&csv);

    int64_t t0 = bench_now_ns();
    int ran = 0, skipped_env = 0, errors = 0, total = 0;
    struct summary_line *summary = calloc((size_t)plan.count + 1, sizeof *summary);
    int nsummary = 0;
    const char **stopped_groups = calloc((size_t)plan.count + 1, sizeof *stopped_groups);
    int nstopped = 0;
    for (int i = 0; i < plan.count; i++)
        total += shim_filter_matches(plan.cases[i]->name);
    if (!summary || !stopped_groups) {
        fprintf(stderr, "muxbench: out of memory before the first case\n");
        csv_abort_partial(&csv);
        _exit(MUX_EXIT_FAIL);
    }
    int index = 0;
    const struct workload *current = NULL; /* whose cases are running */
    for (int i = 0; i < plan.count; i++) {
        struct bench_case *c = plan.cases[i];
        if (!shim_filter_matches(c->name))
            continue;
        /* A workload's cases are contiguous in the plan: once the next one belongs to another
         * workload, what the previous kept across its cases (fanin's 20,000 sockets) goes. */
        const struct workload *w = workload_of(rc, c);
        if (current && w != current && current->finish)
            current->finish();
        current = w;
        index++;
        fprintf(stderr, "[%*d/%d %7.1f s] %s", total >= 100 ? 3 : 2, index, total,
                (double)(bench_now_ns() - t0) / 1e9, c->name);
        fflush(stderr);
        const char *status_word = NULL;
        char note[512] = "";
        int stopped = 0;
        for (int g = 0; c->group && g < nstopped; g++)
            stopped |= strcmp(stopped_groups[g], c->group) == 0;
        struct case_result res = {0};
        int setup_rc = BENCH_OK;
        if (stopped) {
            status_word = "skipped";
            snprintf(note, sizeof note, "not run: the sweep stopped at a limit (see the limit row)");
        } else {
            setup_rc = c->setup ? c->setup(c, note, sizeof note) : BENCH_OK;
            if (setup_rc == BENCH_OK && c->derive) {
                struct bench_derived d = {.csv = &csv, .c = c};
                setup_rc = c->derive(c, &d, note, sizeof note);
                if (setup_rc == BENCH_OK)
                    res.outcome = CASE_DERIVED;
                if (setup_rc == BENCH_OK)
                    snprintf(note, sizeof note, "%d derived row%s", d.rows, d.rows == 1 ? "" : "s");
            } else if (setup_rc == BENCH_OK) {
                shim_run_case(c, &rc->shim, &res);
                if (res.outcome == CASE_LIMIT) {
                    setup_rc = BENCH_LIMIT;
                    c->limit_reached = res.limit_reached;
                    snprintf(note, sizeof note, "%s", res.message);
                } else if (res.outcome == CASE_ERROR) {
                    setup_rc = BENCH_ERROR;
                    snprintf(note, sizeof note, "%s", res.message);
                }
                if (c->teardown) /* only after a setup that succeeded: a failed one cleaned up */
                    c->teardown(c);
            }
            status_word = setup_rc == BENCH_SKIP    ? "skipped"
                          : setup_rc == BENCH_LIMIT ? "limit"
                          : setup_rc == BENCH_ERROR ? "error"
                                                    : NULL;
        }
        char tail[512] = ""; /* the end of the progress line, printed once the rows are out */
        struct summary_line *line = &summary[nsummary++];
        snprintf(line->name, sizeof line->name, "%s", c->name);
        if (status_word) {
            if (setup_rc == BENCH_LIMIT) {
                csv_row(&csv, &c->id, "units_reached", "", c->limit_reached, "count", 0, 0,
                        "limit", note);
                if (c->group)
                    stopped_groups[nstopped++] = c->group; /* lives as long as the plan */
            } else {
                csv_row(&csv, &c->id, c->metric ? c->metric : "", "", NAN, "", 0, 0,
                        status_word, note);
            }
            skipped_env += setup_rc == BENCH_SKIP || setup_rc == BENCH_LIMIT || stopped;
            errors += setup_rc == BENCH_ERROR;
            snprintf(tail, sizeof tail, ": %s: %.400s\n", status_word, note);
            snprintf(line->text, sizeof line->text, "%s: %.140s", status_word, note);
        } else if (res.outcome == CASE_DERIVED) {
            snprintf(tail, sizeof tail, ": %s\n", note);
            snprintf(line->text, sizeof line->text, "%s", note);
        } else if (res.outcome == CASE_FILTERED) {
            snprintf(tail, sizeof tail, ": filtered out by --benchmark_filter\n");
            nsummary--;
        } else {
            struct stats s = {0};
            const char *metric = NULL, *unit = "";
            write_case_rows(&csv, c, &res, &s, &metric, &unit);
            ran++;
            if (metric) {
                c->result = (struct bench_result){
                    .ran = 1, .median = s.median, .mean = s.mean, .min = s.min, .max = s.max,
                    .stddev = s.stddev, .cv = s.cv, .repetitions = s.n};
            }
            if (metric) {
                snprintf(tail, sizeof tail, ": %s %.4g %s (cv %.1f%%, %d reps)\n", metric,
                         s.median, unit, 100 * s.cv, s.n);
                snprintf(line->text, sizeof line->text, "%-24s %12.4g %-6s cv %5.1f%%", metric,
                         s.median, unit, 100 * s.cv);
                if (s.n < 2)
                    snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                             "muxbench: note: one repetition: no spread for this case\n");
                if (s.cv > 0.05)
                    snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                             "muxbench: warning: cv %.1f%% over %d repetitions is above 5%%: "
                             "the machine is noisy, or the case too short\n",
                             100 * s.cv, s.n);
            } else {
                snprintf(tail, sizeof tail, ": done\n");
                snprintf(line->text, sizeof line->text, "done");
            }
        }
        case_result_free(&res);
        int flush_rc = csv_flush(&csv);
        if (flush_rc < 0) {
            /* Never a complete-looking file with rows missing: what was written goes to the
             * partial name, and the run stops. */
            fprintf(stderr, "\nmuxbench: writing %s failed: %s; the cases written before "
                    "are in %s\n", csv.tmp_path, strerror(-flush_rc), csv.partial_path);
            csv_abort_partial(&csv);
            _exit(MUX_EXIT_FAIL);
        }
        g_cases_done++;
        fputs(tail, stderr);
    }

    if (current && current->finish)
        current->finish();

    struct param_row id;
    memset(&id, 0, sizeof id);
    param_row_set(&id, COL_WORKLOAD, "env");
    csv_row(&csv, &id, "run_complete", "", 1, "count", 0, 0, "env", "");
    char json_tmp[PATH_MAX + 16];
    snprintf(json_tmp, sizeof json_tmp, "%s.tmp", json_path);
    int json_rc = shim_write_json(json_tmp, 1);
    if (json_rc == 0)
        rename(json_tmp, json_path);
    int commit_rc = csv_commit(&csv);
    atomic_store(&g_committed, commit_rc == 0);
    if (commit_rc < 0) {
        fprintf(stderr, "muxbench: could not finish %s: %s\n", path, strerror(-commit_rc));
        status = MUX_EXIT_FAIL;
    }

    int width = 4;
    for (int i = 0; i < nsummary; i++)
        if ((int)strlen(summary[i].name) > width)
            width = (int)strlen(summary[i].name);
    printf("%-*s  %s\n", width, "case", "median of the primary metric");
    for (int i = 0; i < nsummary; i++)
        printf("%-*s  %s\n", width, summary[i].name, summary[i].text);
    printf("\n%d case%s measured, %d skipped, %d failed in %.1f s\nCSV: %s\nJSON: %s\n", ran,
           ran == 1 ? "" : "s", skipped_env, errors, (double)(bench_now_ns() - t0) / 1e9, path,
           json_rc == 0 ? json_path : "(not written)");
    free(summary);
    free(stopped_groups);
    plan_free(&plan);
    if (status == MUX_EXIT_OK && errors)
        status = MUX_EXIT_FAIL;
    if (status == MUX_EXIT_OK && ran == 0 && skipped_env > 0) {
        fprintf(stderr, "muxbench: nothing could be measured on this machine; the CSV "
                        "records why for each case\n");
        status = MUX_EXIT_ENV;
    }
    return status;
}
