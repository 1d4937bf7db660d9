/*
 * iobound.c - simulated I/O: claim C7's latency part (seed 001's io_bound: "200 workers × 200
 * operations with exponential sleep (mean 5ms)", "p95 ≈15 ms" for asyncio, trio and anyio).
 *
 * `units` workers each run `ops` operations back to back; one operation is one sleep whose
 * length is drawn from an exponential distribution of mean `mean_ns`:
 *
 *   t0 = now ─► sleep(requested) ─► t1 = now
 *   op_us   = (t1 - t0): the requested sleep plus everything the runtime added (the timer's
 *             expiry, the wake-up, the scheduler's round, the switch back)
 *   late_us = (t1 - t0) - requested: what the runtime added alone
 *
 *   coroutines   a coroutine per worker on the cosched scheduler over the case's poller:
 *                cosched_sleep (the timer heap; the timed wait is the poller's wait)
 *   threads      a thread per worker (64 KiB stacks): clock_nanosleep(CLOCK_MONOTONIC)
 *
 * Every variant draws the same sequences: worker w's k-th sleep comes from a generator seeded
 * with w (splitmix64), so the coroutine and thread rows sleep exactly the same requested times
 * and only what the runtime adds differs.
 *
 * One repetition (iterations = 1) is every worker's every operation. Rows:
 *   total_ns          the repetition: the first worker starts ─► the last operation ends
 *   op_us             stats p50, p95, p99: percentiles over every operation of the repetition
 *                     (units × ops of them), the median of those over the repetitions
 *   late_us           stats p50, p99, the same way
 *   req_us            stats p50, p95: the requested sleeps alone (the same in every variant and
 *                     repetition: what the distribution asks for before any runtime)
 *   ops_counted       operations whose requested and actual sleep were recorded (must be
 *                     units × ops, or the case is an error row)
 *
 * Counted, not assumed: every operation records its requested and actual length; an actual
 * below the requested one (a sleep that returned early) makes the case an error row, as does a
 * missing operation.
 *
 * What it does not measure: real I/O (a sleep is a timer, nothing is read or written); the
 * Python interpreter's own cost per await, which is most of what the seed's runtimes add.
 * Creating the workers is inside total_ns (microseconds each, against a run of ops × mean) but
 * in no operation's op_us.
 *
 * Quirks handled:
 *  a) Timer slack: a normal thread's sleeps and the scheduler's timed waits may both end up to
 *     50 us late (the kernel's default slack); both variants get it, and late_us shows it.
 *  b) The expected length of the seed's run: the mean is 5 ms whatever the size, so p95 of the
 *     requested sleeps alone is 3 × mean = 15 ms (the exponential's 95th percentile is
 *     mean × ln 20): the seed's p95 is what the sleeps ask for, before any runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/exit_codes.h"
#include "harness/planner.h"
#include "harness/stats.h"
#include "harness/workload.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/loop.h"

#define IOB_STACK (64 * 1024)
#define IOB_OPS_MAX 10000000LL /* units × ops recorded per repetition */

enum iob_variant { V_COROUTINES, V_THREADS };
static const char *const variant_names[] = {"coroutines", "threads", NULL};

struct iobound;

struct worker {
    struct iobound *b;
    long w;
    long done; /* operations recorded */
};

struct iobound {
    enum iob_variant variant;
    const struct poller_ops *ops;
    long units, nops;
    int64_t mean_ns;
    double *req_ns, *act_ns; /* [w * nops + k] */
    double *scratch;
    struct worker *workers;
    pthread_t *tids;
    struct loop loop;
    long early;              /* operations that ended before their requested time */
    char group[96];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Worker w's requested sleeps: the same in every variant and every repetition. */
static void draw_sleeps(struct iobound *b)
{
    for (long w = 0; w < b->units; w++) {
        uint64_t x = (uint64_t)w * 0x2545f4914f6cdd1dULL + 1;
        for (long k = 0; k < b->nops; k++) {
            double u = (double)(splitmix64(&x) >> 11) * 0x1.0p-53; /* [0, 1) */
            b->req_ns[w * b->nops + k] = floor(-log1p(-u) * (double)b->mean_ns);
        }
    }
}

static void thread_sleep(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static void run_worker(struct worker *wk, int coroutine)
{
    struct iobound *b = wk->b;
    const double *req = &b->req_ns[wk->w * b->nops];
    double *act = &b->act_ns[wk->w * b->nops];
    for (long k = 0; k < b->nops; k++) {
        int64_t t0 = bench_now_ns();
        if (coroutine) {
            if (cosched_sleep((int64_t)req[k]) < 0)
                return;
        } else {
            thread_sleep((int64_t)req[k]);
        }
        act[k] = (double)(bench_now_ns() - t0);
        wk->done++;
    }
}

static void *worker_thread(void *arg)
{
    run_worker(arg, 0);
    return NULL;
}

static void worker_coroutine(void *arg) { run_worker(arg, 1); }

static void iob_cleanup(struct iobound *b)
{
    loop_close(&b->loop);
    free(b->req_ns);
    free(b->act_ns);
    free(b->scratch);
    free(b->workers);
    free(b->tids);
    b->req_ns = b->act_ns = b->scratch = NULL;
    b->workers = NULL;
    b->tids = NULL;
}

static int iob_setup(struct bench_case *c, char *msg, size_t len)
{
    struct iobound *b = c->ctx;
    size_t n = (size_t)b->units * (size_t)b->nops;
    b->req_ns = malloc(n * sizeof *b->req_ns);
    b->act_ns = calloc(n, sizeof *b->act_ns);
    b->scratch = malloc(n * sizeof *b->scratch);
    b->workers = calloc((size_t)b->units, sizeof *b->workers);
    b->tids = calloc((size_t)b->units, sizeof *b->tids);
    if (!b->req_ns || !b->act_ns || !b->scratch || !b->workers || !b->tids) {
        iob_cleanup(b);
        snprintf(msg, len, "memory for %zu operations", n);
        return BENCH_LIMIT;
    }
    draw_sleeps(b);
    char how[96] = "clock_nanosleep, 64 KiB stacks";
    if (b->variant == V_COROUTINES) {
        int rc = loop_open(&b->loop, b->ops, IOB_STACK, msg, len);
        if (rc != BENCH_OK) {
            iob_cleanup(b);
            return rc;
        }
        loop_describe(&b->loop, how, sizeof how);
    }
    memcpy(b->scratch, b->req_ns, n * sizeof *b->scratch);
    double req_p95 = stats_percentile(b->scratch, (int)n, 0.95);
    snprintf(c->note, sizeof c->note, "%s; %ld workers x %ld sleeps of mean %.3g ms (seeded: "
             "the same in every variant; their own p95 %.3g ms)", how, b->units, b->nops,
             (double)b->mean_ns / 1e6, req_p95 / 1e6);
    return BENCH_OK;
}

static void iob_teardown(struct bench_case *c) { iob_cleanup(c->ctx); }

static double iob_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct iobound *b = c->ctx;
    (void)iters; /* iterations = 1 */
    for (long w = 0; w < b->units; w++)
        b->workers[w] = (struct worker){.b = b, .w = w};
    long started = b->units;
    int err = 0;
    int64_t t0 = bench_now_ns();
    if (b->variant == V_THREADS) {
        started = loop_threads_start(b->tids, b->units, IOB_STACK, worker_thread, b->workers,
                                     sizeof *b->workers, &err);
        loop_threads_join(b->tids, started);
    } else {
        for (long w = 0; w < b->units && !err; w++)
            if ((err = -cosched_spawn(b->loop.sched, worker_coroutine, &b->workers[w])) != 0)
                started = w;
        int rc = cosched_run(b->loop.sched);
        if (rc < 0 && !err)
            err = -rc;
    }
    int64_t t1 = bench_now_ns();
    if (started < b->units) {
        bench_limit(st, (double)started, "%s %ld of %ld: %s",
                    b->variant == V_THREADS ? "pthread_create" : "cosched_spawn", started + 1,
                    b->units, strerror(err));
        return 0;
    }
    if (err) {
        bench_fail(st, "cosched_run: %s", strerror(err));
        return 0;
    }
    return (double)(t1 - t0);
}

static void iob_run_end(struct bench_case *c, struct bench_state *st)
{
    struct iobound *b = c->ctx;
    long counted = 0;
    for (long w = 0; w < b->units; w++)
        counted += b->workers[w].done;
    const long n = b->units * b->nops;
    if (counted != n) {
        bench_fail(st, "%ld operations planned but %ld recorded", n, counted);
        return;
    }
    long early = 0;
    for (long i = 0; i < n; i++) {
        b->scratch[i] = b->act_ns[i] - b->req_ns[i];
        early += b->scratch[i] < 0;
    }
    if (early) {
        bench_fail(st, "%ld of %ld sleeps ended before their requested time", early, n);
        return;
    }
    bench_counter(st, "late_us@p50", stats_percentile(b->scratch, (int)n, 0.50) / 1e3, "us");
    bench_counter(st, "late_us@p99", stats_percentile(b->scratch, (int)n, 0.99) / 1e3, "us");
    memcpy(b->scratch, b->req_ns, (size_t)n * sizeof *b->scratch);
    bench_counter(st, "req_us@p50", stats_percentile(b->scratch, (int)n, 0.50) / 1e3, "us");
    bench_counter(st, "req_us@p95", stats_percentile(b->scratch, (int)n, 0.95) / 1e3, "us");
    memcpy(b->scratch, b->act_ns, (size_t)n * sizeof *b->scratch);
    bench_counter(st, "op_us@p50", stats_percentile(b->scratch, (int)n, 0.50) / 1e3, "us");
    bench_counter(st, "op_us@p95", stats_percentile(b->scratch, (int)n, 0.95) / 1e3, "us");
    bench_counter(st, "op_us@p99", stats_percentile(b->scratch, (int)n, 0.99) / 1e3, "us");
    bench_counter(st, "ops_counted", (double)counted, "count");
}

/* ---- planning ---------------------------------------------------------------------------- */

static const struct param_use params[] = {
    {.key = "variant", .defaults = "coroutines,threads", .choices = variant_names},
    {.key = "units", .defaults = "200", .quick = "50"},
    {.key = "ops", .defaults = "200", .quick = "40"},
    {.key = "mean_ns", .defaults = "5ms"},
    {0},
};

static int iob_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                    const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants;
    long long units[PARAM_MAX_VALUES], nops[PARAM_MAX_VALUES], means[PARAM_MAX_VALUES];
    run_values(o, w, "variant", &variants);
    int nu = run_numbers(o, w, "units", units, PARAM_MAX_VALUES);
    int no = run_numbers(o, w, "ops", nops, PARAM_MAX_VALUES);
    int nm = run_numbers(o, w, "mean_ns", means, PARAM_MAX_VALUES);
    for (int u = 0; u < nu; u++)
        for (int k = 0; k < no; k++)
            if (units[u] * nops[k] > IOB_OPS_MAX) {
                snprintf(msg, len, "iobound: units=%lld x ops=%lld: at most %lld operations "
                         "per repetition (each is recorded)", units[u], nops[k], IOB_OPS_MAX);
                return MUX_EXIT_USAGE;
            }
    const int once_here = poller == run_first_poller(o);
    for (int v = 0; v < variants.count; v++) {
        enum iob_variant var = strcmp(variants.values[v], "threads") == 0 ? V_THREADS
                                                                          : V_COROUTINES;
        if (var == V_THREADS && !once_here)
            continue;
        for (int u = 0; u < nu; u++)
            for (int k = 0; k < no; k++)
                for (int m = 0; m < nm; m++) {
                    const struct poller_ops *p = var == V_COROUTINES ? poller : NULL;
                    struct bench_case *c = plan_add(plan, w, p);
                    struct iobound *b = calloc(1, sizeof *b);
                    if (!c || !b) {
                        free(b);
                        snprintf(msg, len, "out of memory");
                        return MUX_EXIT_FAIL;
                    }
                    *b = (struct iobound){.variant = var, .ops = poller, .units = (long)units[u],
                                          .nops = (long)nops[k], .mean_ns = means[m]};
                    c->ctx = b;
                    c->free_ctx = free;
                    param_row_set(&c->id, COL_VARIANT, variant_names[var]);
                    param_row_setn(&c->id, COL_UNITS, units[u]);
                    param_row_setn(&c->id, COL_OPS, nops[k]);
                    param_row_setn(&c->id, COL_MEAN_NS, means[m]);
                    c->metric = "total_ns";
                    c->iterations = 1;
                    c->setup = iob_setup;
                    c->body = iob_body;
                    c->run_end = iob_run_end;
                    c->teardown = iob_teardown;
                    bench_case_name(c);
                }
    }
    return 0;
}

const struct workload iobound_workload = {
    .name = "iobound",
    .summary = "workers x operations, each an exponential sleep (mean 5 ms): coroutines over "
               "each poller and threads; p50/p95/p99 per operation and what the runtime adds",
    .params = params,
    .per_poller = 1,
    .plan = iob_plan,
};
