/* run.c - see run.h. */
#define _GNU_SOURCE
#include "harness/run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/csv.h"
#include "harness/signals.h"
#include "harness/stop_points.h"
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

/* ---- rows -------------------------------------------------------------------------------- */

struct bench_derived {
    struct csv_out *csv;
    const struct bench_case *c;
    int rows;
};

void bench_derived_stat(struct bench_derived *out, const char *metric, const char *stat,
                        double value, const char *unit, const char *note)
{
    csv_row(out->csv, &out->c->id, metric, stat, value, unit, 0, 0, "derived", note);
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

void bench_derived_row(struct bench_derived *out, const char *metric, double value,
                       const char *unit, const char *note)
{
    bench_derived_stat(out, metric, "median", value, unit, note);
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
    int *rep_of = malloc((size_t)(res->nreps ? res->nreps : 1) * sizeof *rep_of);
    if (!vals || !iters || !rep_of) {
        free(vals);
        free(iters);
        free(rep_of);
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
                    if (strcmp(res->reps[r2].values[k2].metric, rv->metric) == 0) {
                        rep_of[n] = r2;
                        vals[n++] = res->reps[r2].values[k2].value;
                    }
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
            /* Each repetition's own value (stat rep1..repN, its own iterations), so that a
             * comparison of two runs can test them (muxbench compare). */
            for (int j = 0; j < n; j++) {
                char rep[16];
                snprintf(rep, sizeof rep, "rep%d", j + 1);
                csv_row(o, &c->id, rv->metric, rep, vals[j], rv->unit, n,
                        res->reps[rep_of[j]].iterations, "ok", c->note);
            }
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
    free(rep_of);
    /* Percentiles of the per-op samples, pooled over the repetitions: `repetitions` says how
     * many were pooled, `iterations` how many samples (docs/csv.md). */
    if (res->nsamples > 0 && *primary_metric) {
        static const char *const names[] = {"p50", "p99"};
        static const double q[] = {0.5, 0.99};
        for (int i = 0; i < 2; i++) {
            double v = stats_percentile(res->samples, res->nsamples, q[i]);
            csv_row(o, &c->id, *primary_metric, names[i], v, *primary_unit, res->sample_reps,
                    (uint64_t)res->nsamples, "ok", c->note);
        }
    }
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

/* ---- executing the plan ------------------------------------------------------------------- */

/* What running one case came to. */
struct case_run {
    const char *status_word; /* "skipped", "limit", "error", or NULL: measured or derived */
    int setup_rc;            /* BENCH_OK, BENCH_SKIP, BENCH_LIMIT, BENCH_ERROR */
    int stopped;             /* not run: an earlier case of its group reached a limit */
    char note[512];
    struct case_result res;
};

/* One line of the closing table. */
struct summary_line {
    char name[256];
    char text[160];
};

/* The state of a run while its cases execute. File-scope, not on the stack: the CSV must
 * outlive run_execute for the signal thread, which may still act on it while the process
 * exits. */
static struct run_state {
    struct csv_out csv;
    struct plan plan;
    int64_t t0;
    int total, index;
    int ran, skipped_env, errors;
    struct summary_line *summary;
    int nsummary;
    const char **stopped_groups; /* groups whose sweep stopped at a limit; live as the plan */
    int nstopped;
} g_state;

static int group_stopped(const struct run_state *st, const struct bench_case *c)
{
    for (int g = 0; c->group && g < st->nstopped; g++)
        if (strcmp(st->stopped_groups[g], c->group) == 0)
            return 1;
    return 0;
}

/* Runs one case: setup, then its derivation or its repetitions through the shim, teardown. */
static void run_one_case(struct run_state *st, const struct run_config *rc, struct bench_case *c,
                         struct case_run *out)
{
    memset(out, 0, sizeof *out);
    out->setup_rc = BENCH_OK;
    if (group_stopped(st, c)) {
        out->stopped = 1;
        out->status_word = "skipped";
        snprintf(out->note, sizeof out->note,
                 "not run: the sweep stopped at a limit (see the limit row)");
        return;
    }
    stop_point(STOP_SETUP);
    int setup_rc = c->setup ? c->setup(c, out->note, sizeof out->note) : BENCH_OK;
    if (setup_rc == BENCH_OK)
        stop_point(STOP_BODY);
    if (setup_rc == BENCH_OK && c->derive) {
        struct bench_derived d = {.csv = &st->csv, .c = c};
        setup_rc = c->derive(c, &d, out->note, sizeof out->note);
        if (setup_rc == BENCH_OK) {
            out->res.outcome = CASE_DERIVED;
            snprintf(out->note, sizeof out->note, "%d derived row%s", d.rows,
                     d.rows == 1 ? "" : "s");
        }
    } else if (setup_rc == BENCH_OK) {
        shim_run_case(c, &rc->shim, &out->res);
        if (out->res.outcome == CASE_LIMIT) {
            setup_rc = BENCH_LIMIT;
            c->limit_reached = out->res.limit_reached;
            snprintf(out->note, sizeof out->note, "%s", out->res.message);
        } else if (out->res.outcome == CASE_ERROR) {
            setup_rc = BENCH_ERROR;
            snprintf(out->note, sizeof out->note, "%s", out->res.message);
        }
        stop_point(STOP_TEARDOWN);
        if (c->teardown) /* only after a setup that succeeded: a failed one cleaned up */
            c->teardown(c);
    }
    out->setup_rc = setup_rc;
    out->status_word = setup_rc == BENCH_SKIP    ? "skipped"
                       : setup_rc == BENCH_LIMIT ? "limit"
                       : setup_rc == BENCH_ERROR ? "error"
                                                 : NULL;
}

/* Writes the case's rows, adds its line to the summary and returns the end of its progress
 * line in tail (printed once the rows are flushed). */
static void record_outcome(struct run_state *st, struct bench_case *c, struct case_run *out,
                           char *tail, size_t tail_len)
{
    struct summary_line *line = &st->summary[st->nsummary++];
    snprintf(line->name, sizeof line->name, "%s", c->name);
    const char *note = out->note;
    if (out->status_word) {
        if (out->setup_rc == BENCH_LIMIT) {
            csv_row(&st->csv, &c->id, "units_reached", "", c->limit_reached, "count", 0, 0,
                    "limit", note);
            if (c->group)
                st->stopped_groups[st->nstopped++] = c->group;
        } else {
            csv_row(&st->csv, &c->id, c->metric ? c->metric : "", "", NAN, "", 0, 0,
                    out->status_word, note);
        }
        st->skipped_env += out->setup_rc == BENCH_SKIP || out->setup_rc == BENCH_LIMIT ||
                           out->stopped;
        st->errors += out->setup_rc == BENCH_ERROR;
        snprintf(tail, tail_len, ": %s: %.400s\n", out->status_word, note);
        snprintf(line->text, sizeof line->text, "%s: %.140s", out->status_word, note);
        return;
    }
    if (out->res.outcome == CASE_DERIVED) {
        snprintf(tail, tail_len, ": %.400s\n", note);
        snprintf(line->text, sizeof line->text, "%.140s", note);
        return;
    }
    if (out->res.outcome == CASE_FILTERED) {
        snprintf(tail, tail_len, ": filtered out by --benchmark_filter\n");
        st->nsummary--;
        return;
    }
    struct stats s = {0};
    const char *metric = NULL, *unit = "";
    write_case_rows(&st->csv, c, &out->res, &s, &metric, &unit);
    st->ran++;
    if (!metric) {
        snprintf(tail, tail_len, ": done\n");
        snprintf(line->text, sizeof line->text, "done");
        return;
    }
    c->result = (struct bench_result){.ran = 1, .median = s.median, .mean = s.mean,
                                      .min = s.min, .max = s.max, .stddev = s.stddev,
                                      .cv = s.cv, .repetitions = s.n, .p50 = NAN, .p99 = NAN};
    if (out->res.nsamples > 0) { /* sorted by write_case_rows */
        c->result.p50 = stats_percentile(out->res.samples, out->res.nsamples, 0.5);
        c->result.p99 = stats_percentile(out->res.samples, out->res.nsamples, 0.99);
        c->result.samples = out->res.nsamples;
    }
    snprintf(tail, tail_len, ": %s %.4g %s (cv %.1f%%, %d reps)\n", metric, s.median, unit,
             100 * s.cv, s.n);
    snprintf(line->text, sizeof line->text, "%-24s %12.4g %-6s cv %5.1f%%", metric, s.median,
             unit, 100 * s.cv);
    size_t used = strlen(tail);
    if (s.n < 2)
        used += (size_t)snprintf(tail + used, tail_len - used,
                                 "muxbench: note: one repetition: no spread for this case\n");
    if (s.cv > 0.05 && used < tail_len)
        snprintf(tail + used, tail_len - used,
                 "muxbench: warning: cv %.1f%% over %d repetitions is above 5%%: the machine "
                 "is noisy, or the case too short\n",
                 100 * s.cv, s.n);
}

/* Runs every case the filter selects, writing each one's rows as soon as it ends. */
/* A write of the output that failed (a full disk, a quota, the directory removed): never a
 * complete-looking file with rows missing. The file holds whole rows only (csv_flush cuts a
 * failed write back); it goes to the partial name, the run's children are stopped, and the run
 * ends with the environment status and the reason. */
static void output_failed(struct csv_out *csv, int flush_rc)
{
    if (flush_rc == 0)
        return;
    signals_stop_children();
    int kept = csv_abort_partial(csv) == 0;
    fprintf(stderr, "\nmuxbench: writing %s failed: %s; %s\n", csv->path, strerror(-flush_rc),
            kept ? "the cases written before are in the .partial.csv beside it"
                 : "nothing could be kept");
    _exit(flush_rc == -ENOMEM ? MUX_EXIT_FAIL : MUX_EXIT_ENV);
}

static void run_cases(struct run_state *st, const struct run_config *rc)
{
    const struct workload *current = NULL; /* whose cases are running */
    for (int i = 0; i < st->plan.count; i++) {
        struct bench_case *c = st->plan.cases[i];
        if (!shim_filter_matches(c->name))
            continue;
        /* A workload's cases are contiguous in the plan: once the next one belongs to another
         * workload, what the previous kept across its cases (fanin's 20,000 sockets) goes. */
        const struct workload *w = workload_of(rc, c);
        if (current && w != current && current->finish)
            current->finish();
        current = w;
        st->index++;
        fprintf(stderr, "[%*d/%d %7.1f s] %s", st->total >= 100 ? 3 : 2, st->index, st->total,
                (double)(bench_now_ns() - st->t0) / 1e9, c->name);
        fflush(stderr);
        struct case_run out;
        run_one_case(st, rc, c, &out);
        char tail[512] = "";
        record_outcome(st, c, &out, tail, sizeof tail);
        case_result_free(&out.res);
        stop_point(STOP_ROWS);
        signals_yield_to_interrupt();
        output_failed(&st->csv, csv_flush(&st->csv));
        signals_case_done();
        fputs(tail, stderr);
    }
    if (current && current->finish)
        current->finish();
}

/* The closing table on stdout: each case's primary metric, then the counts and the files. */
static void print_summary(const struct run_state *st, const char *path, const char *json)
{
    int width = 4;
    for (int i = 0; i < st->nsummary; i++)
        if ((int)strlen(st->summary[i].name) > width)
            width = (int)strlen(st->summary[i].name);
    printf("%-*s  %s\n", width, "case", "median of the primary metric");
    for (int i = 0; i < st->nsummary; i++)
        printf("%-*s  %s\n", width, st->summary[i].name, st->summary[i].text);
    printf("\n%d case%s measured, %d skipped, %d failed in %.1f s\nCSV: %s\nJSON: %s\n", st->ran,
           st->ran == 1 ? "" : "s", st->skipped_env, st->errors,
           (double)(bench_now_ns() - st->t0) / 1e9, path, json ? json : "(not written)");
}

/* Ends the CSV with its run_complete row and renames it, and the JSON, into place. */
static int commit_files(struct run_state *st, const char *path, const char *json_path,
                        int *json_written)
{
    struct param_row id;
    memset(&id, 0, sizeof id);
    param_row_set(&id, COL_WORKLOAD, "env");
    csv_row(&st->csv, &id, "run_complete", "", 1, "count", 0, 0, "env", "");
    char json_tmp[PATH_MAX + 16];
    snprintf(json_tmp, sizeof json_tmp, "%s.tmp", json_path);
    *json_written = shim_write_json(json_tmp, 1) == 0 && rename(json_tmp, json_path) == 0;
    if (!*json_written)
        unlink(json_tmp); /* a full disk cut it short: no half-written file stays behind */
    stop_point(STOP_COMMIT);
    signals_yield_to_interrupt();
    int commit_rc = csv_commit(&st->csv);
    if (commit_rc < 0) {
        /* The directory removed, the disk full at the last write or the sync: what can be
         * kept is kept under the partial name. */
        int kept = csv_abort_partial(&st->csv) == 0;
        fprintf(stderr, "muxbench: could not finish %s: %s%s\n", path, strerror(-commit_rc),
                kept ? "; the rows written are in the .partial.csv beside it"
                     : commit_rc == -ENOENT ? " (was its directory removed during the run?)" : "");
        return MUX_EXIT_ENV;
    }
    signals_run_committed();
    return MUX_EXIT_OK;
}

int run_execute(struct run_config *rc, int argc, char **argv)
{
    struct run_state *st = &g_state;
    memset(st, 0, sizeof *st);
    char msg[1024] = "";
    int status = run_plan(rc, &st->plan, msg, sizeof msg);
    if (status) {
        fprintf(stderr, "muxbench: %s\n", msg);
        plan_free(&st->plan);
        return status;
    }
    if (rc->list_cases) {
        for (int i = 0; i < st->plan.count; i++)
            if (shim_filter_matches(st->plan.cases[i]->name))
                printf("%s\n", st->plan.cases[i]->name);
        plan_free(&st->plan);
        return MUX_EXIT_OK;
    }

    signals_block(); /* before the temporary file exists (see signals.h) */
    struct env env;
    env_collect(&env, argc, argv);
    env_warnings(&env, stderr);

    char path[PATH_MAX];
    if (rc->out_path[0])
        snprintf(path, sizeof path, "%s", rc->out_path);
    else
        default_out_path(rc, &env, path, sizeof path);
    char err[512];
    if (csv_open(&st->csv, path, &env.meta, err, sizeof err) < 0) {
        fprintf(stderr, "muxbench: %s; choose a writable --out path\n", err);
        plan_free(&st->plan);
        return MUX_EXIT_ENV;
    }
    char json_path[PATH_MAX], json_partial[PATH_MAX];
    csv_sibling(path, ".gbench.json", json_path, sizeof json_path);
    csv_sibling(path, ".partial.gbench.json", json_partial, sizeof json_partial);

    int sig_rc = signals_start(&st->csv, rc->workloads, rc->nworkloads, json_partial);
    if (sig_rc) {
        fprintf(stderr, "muxbench: cannot start the thread that handles interruptions: %s%s\n",
                strerror(sig_rc), sig_rc == EAGAIN ? " (this user's thread limit, RLIMIT_NPROC, "
                "a pids cgroup or kernel.threads-max is reached)" : "");
        csv_discard(&st->csv);
        plan_free(&st->plan);
        return sig_rc == EAGAIN ? MUX_EXIT_ENV : MUX_EXIT_FAIL;
    }

    stop_points_init();
    env_write_rows(&env, &st->csv);
    output_failed(&st->csv, csv_flush(&st->csv));

    st->t0 = bench_now_ns();
    st->summary = calloc((size_t)st->plan.count + 1, sizeof *st->summary);
    st->stopped_groups = calloc((size_t)st->plan.count + 1, sizeof *st->stopped_groups);
    for (int i = 0; i < st->plan.count; i++)
        st->total += shim_filter_matches(st->plan.cases[i]->name);
    if (!st->summary || !st->stopped_groups) {
        fprintf(stderr, "muxbench: out of memory before the first case\n");
        csv_abort_partial(&st->csv);
        _exit(MUX_EXIT_FAIL);
    }

    run_cases(st, rc);

    int json_written = 0;
    status = commit_files(st, path, json_path, &json_written);
    print_summary(st, path, json_written ? json_path : NULL);
    free(st->summary);
    free(st->stopped_groups);
    plan_free(&st->plan);
    if (status == MUX_EXIT_OK && st->errors)
        status = MUX_EXIT_FAIL;
    if (status == MUX_EXIT_OK && st->ran == 0 && st->skipped_env > 0) {
        fprintf(stderr, "muxbench: nothing could be measured on this machine; the CSV "
                        "records why for each case\n");
        status = MUX_EXIT_ENV;
    }
    return status;
}
