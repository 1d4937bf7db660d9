/*
 * checkpoint.c - the price of a checkpoint on every await, and what a task that never awaits
 * does to the loop: claim C8 (seed 000 a: trio "checkpoint[s] on (almost) every async call ...
 * adds a bit of per-await overhead"; asyncio's fast path "does not yield"; "If an awaited call
 * never actually blocks, the loop may never switch tasks").
 *
 * await_ns (variants checkpoint, fastpath; per poller): one op is one await on an operation
 * that has already completed (a future whose result is set):
 *
 *   fastpath     the result is there: return it at once (asyncio awaiting a done future)
 *   checkpoint   always go through the scheduler once first (cosched_yield: the run queue,
 *                two switches), then return the result (trio's schedule point)
 *
 *   The loop also has I/O pending, as a real one does: a second coroutine is parked on a socket
 *   nobody writes to, so every scheduler round makes one zero-timeout poller wait (cosched.c:
 *   I/O is not starved by busy coroutines). That wait is part of the checkpoint's price and is
 *   why it differs per poller. Timed inside the awaiting coroutine: t0 before the first await,
 *   t1 after the last of a batch (1,000; 1,000,000 on the fast path); spawning and ending the
 *   coroutines are not timed. Counted: the awaits made (each returns the future's value; their
 *   sum must be awaits × value), the scheduler's yields (one per checkpoint await, none on the
 *   fast path) and its poller waits (at least one per checkpoint await); a mismatch is an
 *   error row.
 *
 * request_ns (variant request; per poller): for scale, one request/response on the same loop:
 *   a client coroutine sends 64 bytes on a unix socketpair and parks until the answer is
 *   readable; a server coroutine parked on the other end wakes, reads them and sends them back.
 *   Two parks and wakes, four system calls, two poller waits. The analysis reports the
 *   checkpoint's extra cost (checkpoint - fastpath) as a share of this.
 *
 * starve_ns (variants never-yields, yields per poller; threads once): a ticker task wants to run
 *   every 1 ms (absolute due times); after 2.5 ms another task computes for busy_ns (a loop
 *   reading the clock):
 *
 *   never-yields  the busy coroutine never awaits: nothing else runs until it ends
 *   yields        the busy coroutine calls cosched_yield() every yield_every_ns of its work
 *   threads       the ticker and the busy loop are threads bound to one cpu: the kernel
 *                 preempts the busy one (the contrast: no cooperation needed)
 *
 *   starve_ns = the worst lateness of a tick (woken - due) over the run (the ticks before and
 *   after the busy stretch included: their lateness is the timer's own). One value per
 *   repetition (iterations = 1). Counted: ticks (every due time passed was served once) and the
 *   busy task's yields (the scheduler's count must agree).
 *
 * What it does not measure: Python's cost per await (an interpreter frame, a generator resume:
 * most of what asyncio and trio pay); awaits on operations that are not ready (they park in
 * both variants alike); cancellation at a checkpoint (see the cancel workload).
 *
 * Quirks handled:
 *  a) The fast path's loop does real work the compiler cannot drop: each result is added into
 *     a volatile sum.
 *  b) Timer slack (50 us for a normal thread) is in every tick's lateness, in every variant.
 *  c) threads: both threads are bound to the cpu the harness thread is on; where binding is
 *     refused the case is skipped (unbound, the two would simply run on two cpus).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "harness/planner.h"
#include "harness/workload.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/loop.h"

#define CP_STACK (64 * 1024)
#define CP_BATCH 1000           /* awaits or requests per body() call */
#define CP_BATCH_FAST 1000000  /* fast-path awaits per body() call (~1 ns each) */
#define TICK_NS 1000000LL       /* the ticker's period: 1 ms */
#define LEAD_NS 2500000LL       /* the busy task starts after 2.5 ms: two ticks first */
#define AFTER_TICKS 2           /* ticks after the busy stretch */
#define MSG_BYTES 64
#define IO_TIMEOUT_NS (10LL * 1000000000)

enum cp_variant { V_CHECKPOINT, V_FASTPATH, V_REQUEST, V_NEVER_YIELDS, V_YIELDS, V_THREADS };
static const char *const variant_names[] = {"checkpoint", "fastpath", "request", "never-yields",
                                            "yields", "threads", NULL};

struct future {
    int done;
    long value;
};

struct cp {
    enum cp_variant variant;
    const struct poller_ops *ops;
    int64_t busy_ns, yield_every_ns;
    struct loop loop;
    int io[2];   /* await: the parked coroutine's socket; request: client / server ends */
    uint64_t iters;
    /* await */
    struct future fut;
    volatile long sink;
    int64_t t0, t1;
    int err;
    /* request */
    uint64_t served;
    /* starve */
    int64_t start, busy_start, busy_end;
    atomic_int busy_done;
    int64_t worst_late;
    long ticks, yields, ticks_expected;
    int cpu;
};

/* ---- await_ns ---- */

static long await_fastpath(struct future *f)
{
    if (f->done)
        return f->value;
    return -1; /* never: the future is done (a parked await is not what is measured) */
}

static long await_checkpoint(struct future *f)
{
    cosched_yield(); /* the checkpoint: through the scheduler once, ready or not */
    if (f->done)
        return f->value;
    return -1;
}

static void awaiter(void *arg)
{
    struct cp *k = arg;
    long sum = 0;
    const int checkpoint = k->variant == V_CHECKPOINT;
    k->t0 = bench_now_ns();
    for (uint64_t i = 0; i < k->iters; i++)
        sum += checkpoint ? await_checkpoint(&k->fut) : await_fastpath(&k->fut);
    k->t1 = bench_now_ns();
    k->sink = sum;
    char b = 1;
    if (write(k->io[1], &b, 1) != 1) /* wakes the I/O waiter: the scheduler can finish */
        k->err = errno;
}

static void io_waiter(void *arg)
{
    struct cp *k = arg;
    for (;;) {
        char b;
        ssize_t n = read(k->io[0], &b, 1);
        if (n == 1)
            return;
        if (n < 0 && errno != EAGAIN) {
            k->err = errno;
            return;
        }
        int r = cosched_wait_fd(k->io[0], MUX_IN, IO_TIMEOUT_NS);
        if (r < 0) {
            k->err = -r;
            return;
        }
    }
}

static double await_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct cp *k = c->ctx;
    struct cosched_stats before, after;
    cosched_get_stats(k->loop.sched, &before);
    k->iters = iters;
    k->err = 0;
    int rc = cosched_spawn(k->loop.sched, io_waiter, k);
    if (rc == 0)
        rc = cosched_spawn(k->loop.sched, awaiter, k);
    if (rc == 0)
        rc = cosched_run(k->loop.sched);
    if (rc < 0 || k->err) {
        bench_fail(st, "the await loop: %s", strerror(rc < 0 ? -rc : k->err));
        return 0;
    }
    cosched_get_stats(k->loop.sched, &after);
    uint64_t yields = after.yields - before.yields;
    uint64_t waits = after.poller_waits - before.poller_waits;
    if (k->sink != (long)iters * k->fut.value ||
        yields != (k->variant == V_CHECKPOINT ? iters : 0) ||
        (k->variant == V_CHECKPOINT && waits < iters)) {
        bench_fail(st, "%llu awaits: results %ld (want %ld), %llu yields, %llu poller waits",
                   (unsigned long long)iters, (long)k->sink, (long)iters * k->fut.value,
                   (unsigned long long)yields, (unsigned long long)waits);
        return 0;
    }
    bench_counter_add(st, "yields_per_await", (double)yields, "count", BENCH_COUNT_AVG);
    bench_counter_add(st, "poller_waits_per_await", (double)waits, "count", BENCH_COUNT_AVG);
    return (double)(k->t1 - k->t0);
}

/* ---- request_ns ---- */

static int read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0)
            return EPIPE;
        if (errno != EAGAIN)
            return errno;
        int w = cosched_wait_fd(fd, MUX_IN, IO_TIMEOUT_NS);
        if (w < 0)
            return -w;
    }
    return 0;
}

static void client(void *arg)
{
    struct cp *k = arg;
    char out[MSG_BYTES], in[MSG_BYTES];
    k->t0 = bench_now_ns();
    for (uint64_t i = 0; i < k->iters && !k->err; i++) {
        memset(out, (int)(i & 0x7f), sizeof out);
        if (write(k->io[0], out, sizeof out) != (ssize_t)sizeof out)
            k->err = errno ? errno : EIO;
        else if ((k->err = read_full(k->io[0], in, sizeof in)) == 0 &&
                 memcmp(in, out, sizeof in) != 0)
            k->err = EPROTO;
    }
    k->t1 = bench_now_ns();
}

static void server(void *arg)
{
    struct cp *k = arg;
    char buf[MSG_BYTES];
    for (uint64_t i = 0; i < k->iters; i++) {
        int err = read_full(k->io[1], buf, sizeof buf);
        if (err || write(k->io[1], buf, sizeof buf) != (ssize_t)sizeof buf) {
            k->err = err ? err : EIO;
            return;
        }
        k->served++;
    }
}

static double request_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct cp *k = c->ctx;
    k->iters = iters;
    k->err = 0;
    k->served = 0;
    int rc = cosched_spawn(k->loop.sched, server, k);
    if (rc == 0)
        rc = cosched_spawn(k->loop.sched, client, k);
    if (rc == 0)
        rc = cosched_run(k->loop.sched);
    if (rc < 0 || k->err || k->served != iters) {
        bench_fail(st, "%llu requests, %llu served: %s", (unsigned long long)iters,
                   (unsigned long long)k->served, strerror(rc < 0 ? -rc : k->err ? k->err : EIO));
        return 0;
    }
    return (double)(k->t1 - k->t0);
}

/* ---- starve_ns ---- */

static void note_tick(struct cp *k, int64_t due, int64_t woke)
{
    if (woke - due > k->worst_late)
        k->worst_late = woke - due;
    k->ticks++;
}

static int ticker_more(struct cp *k, int64_t due)
{
    return !atomic_load(&k->busy_done) || due <= k->busy_end + AFTER_TICKS * TICK_NS;
}

/* Every due time that passed is served once: a late ticker catches up with the due times it
 * slept through, counting each (the lateness of the first is the one that matters). */
static void ticker_coroutine(void *arg)
{
    struct cp *k = arg;
    for (int64_t due = k->start + TICK_NS; ticker_more(k, due); due += TICK_NS) {
        int64_t now = bench_now_ns();
        if (due > now && cosched_sleep(due - now) < 0)
            return;
        note_tick(k, due, bench_now_ns());
    }
}

static void busy_run(struct cp *k, int coroutine)
{
    k->busy_start = bench_now_ns();
    int64_t last = k->busy_start, now;
    while ((now = bench_now_ns()) - k->busy_start < k->busy_ns) {
        if (coroutine && k->variant == V_YIELDS && now - last >= k->yield_every_ns) {
            cosched_yield();
            k->yields++;
            last = bench_now_ns();
        }
    }
    k->busy_end = bench_now_ns();
    atomic_store(&k->busy_done, 1);
}

static void busy_coroutine(void *arg)
{
    struct cp *k = arg;
    if (cosched_sleep(k->start + LEAD_NS - bench_now_ns()) == 0)
        busy_run(k, 1);
}

static void *ticker_thread(void *arg)
{
    struct cp *k = arg;
    for (int64_t due = k->start + TICK_NS; ticker_more(k, due); due += TICK_NS) {
        struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        note_tick(k, due, bench_now_ns());
    }
    return NULL;
}

static void *busy_thread(void *arg)
{
    struct cp *k = arg;
    int64_t at = k->start + LEAD_NS;
    struct timespec ts = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    busy_run(k, 0);
    return NULL;
}

static int start_bound(pthread_t *t, int cpu, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_attr_init(&attr);
    if (rc)
        return rc;
    rc = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    if (!rc)
        rc = pthread_attr_setstacksize(&attr, CP_STACK);
    if (!rc)
        rc = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc;
}

static double starve_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct cp *k = c->ctx;
    (void)iters; /* iterations = 1 */
    k->worst_late = 0;
    k->ticks = k->yields = 0;
    atomic_store(&k->busy_done, 0);
    struct cosched_stats before = {0}, after = {0};
    k->start = bench_now_ns();
    if (k->variant == V_THREADS) {
        pthread_t tt, bt;
        int rc = start_bound(&tt, k->cpu, ticker_thread, k);
        if (rc) {
            bench_fail(st, "the ticker thread: %s", strerror(rc));
            return 0;
        }
        rc = start_bound(&bt, k->cpu, busy_thread, k);
        if (rc) {
            atomic_store(&k->busy_done, 1); /* lets the ticker end */
            pthread_join(tt, NULL);
            bench_fail(st, "the busy thread: %s", strerror(rc));
            return 0;
        }
        pthread_join(bt, NULL);
        pthread_join(tt, NULL);
    } else {
        cosched_get_stats(k->loop.sched, &before);
        int rc = cosched_spawn(k->loop.sched, ticker_coroutine, k);
        if (rc == 0)
            rc = cosched_spawn(k->loop.sched, busy_coroutine, k);
        if (rc == 0)
            rc = cosched_run(k->loop.sched);
        if (rc < 0) {
            bench_fail(st, "the scheduler: %s", strerror(-rc));
            return 0;
        }
        cosched_get_stats(k->loop.sched, &after);
    }
    /* Every due time from start to the last one served. */
    long expected = (long)((k->busy_end + AFTER_TICKS * TICK_NS - k->start) / TICK_NS);
    long sched_yields = (long)(after.yields - before.yields);
    if (k->ticks < expected || (k->variant != V_THREADS && sched_yields != k->yields) ||
        (k->variant == V_NEVER_YIELDS && k->yields != 0)) {
        bench_fail(st, "ticks %ld (want at least %ld); busy task's yields %ld, the scheduler "
                   "counted %ld", k->ticks, expected, k->yields, sched_yields);
        return 0;
    }
    bench_counter(st, "ticks", (double)k->ticks, "count");
    if (k->variant != V_THREADS)
        bench_counter(st, "yields", (double)k->yields, "count");
    return (double)k->worst_late;
}

/* ---- the case ---- */

static void cp_cleanup(struct cp *k)
{
    loop_close(&k->loop);
    for (int i = 0; i < 2; i++)
        if (k->io[i] >= 0)
            close(k->io[i]);
    k->io[0] = k->io[1] = -1;
}

static int cp_setup(struct bench_case *c, char *msg, size_t len)
{
    struct cp *k = c->ctx;
    k->io[0] = k->io[1] = -1;
    k->fut = (struct future){.done = 1, .value = 3};
    if (k->variant == V_THREADS) {
        k->cpu = sched_getcpu();
        cpu_set_t set;
        if (k->cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0 ||
            !CPU_ISSET(k->cpu, &set)) {
            snprintf(msg, len, "no cpu to bind the two threads to");
            return BENCH_SKIP;
        }
        snprintf(c->note, sizeof c->note, "ticker and busy thread bound to cpu %d; 1 ms ticks; "
                 "busy %.3g ms", k->cpu, (double)k->busy_ns / 1e6);
        return BENCH_OK;
    }
    int rc = loop_open(&k->loop, k->ops, CP_STACK, msg, len);
    if (rc != BENCH_OK)
        return rc;
    if (k->variant <= V_REQUEST &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, k->io) < 0) {
        snprintf(msg, len, "socketpair: %s", strerror(errno));
        k->io[0] = k->io[1] = -1;
        cp_cleanup(k);
        return errno == EMFILE || errno == ENFILE ? BENCH_LIMIT : BENCH_ERROR;
    }
    char how[96];
    loop_describe(&k->loop, how, sizeof how);
    if (k->variant <= V_FASTPATH)
        snprintf(c->note, sizeof c->note, "%s; an await on a done future, %s; one coroutine "
                 "parked on a socket meanwhile (a zero-timeout wait per round)", how,
                 k->variant == V_CHECKPOINT ? "through the scheduler once" : "returns at once");
    else if (k->variant == V_REQUEST)
        snprintf(c->note, sizeof c->note, "%s; %d-byte request and answer between two "
                 "coroutines over a unix socketpair", how, MSG_BYTES);
    else
        snprintf(c->note, sizeof c->note, "%s; 1 ms ticks; busy %.3g ms%s", how,
                 (double)k->busy_ns / 1e6, k->variant == V_YIELDS ? ", yielding" : "");
    if (k->variant == V_YIELDS) {
        size_t used = strlen(c->note);
        snprintf(c->note + used, sizeof c->note - used, " every %.3g us",
                 (double)k->yield_every_ns / 1e3);
    }
    return BENCH_OK;
}

static void cp_teardown(struct bench_case *c) { cp_cleanup(c->ctx); }

/* ---- planning ---- */

static const struct param_use params[] = {
    {.key = "variant",
     .defaults = "checkpoint,fastpath,request,never-yields,yields,threads",
     .choices = variant_names},
    {.key = "busy_ns", .defaults = "100ms", .quick = "20ms"},
    {.key = "yield_every_ns", .defaults = "100us"},
    {0},
};

static int add_case(struct plan *plan, const struct workload *w, const struct poller_ops *poller,
                    enum cp_variant var, int64_t busy, int64_t every)
{
    struct bench_case *c = plan_add(plan, w, var == V_THREADS ? NULL : poller);
    struct cp *k = calloc(1, sizeof *k);
    if (!c || !k) {
        free(k);
        return 1;
    }
    k->variant = var;
    k->ops = poller;
    k->busy_ns = busy;
    k->yield_every_ns = every;
    k->io[0] = k->io[1] = -1;
    c->ctx = k;
    c->free_ctx = free;
    param_row_set(&c->id, COL_VARIANT, variant_names[var]);
    c->setup = cp_setup;
    c->teardown = cp_teardown;
    if (var <= V_FASTPATH) {
        c->metric = "await_ns";
        /* A batch is one scheduler run (two spawns, two stacks): enough awaits to bury that. */
        c->batch = var == V_FASTPATH ? CP_BATCH_FAST : CP_BATCH;
        c->body = await_body;
    } else if (var == V_REQUEST) {
        c->metric = "request_ns";
        c->batch = CP_BATCH;
        c->body = request_body;
    } else {
        c->metric = "starve_ns";
        c->iterations = 1;
        c->body = starve_body;
        param_row_setn(&c->id, COL_BUSY_NS, busy);
        if (var == V_YIELDS)
            param_row_setn(&c->id, COL_YIELD_EVERY_NS, every);
    }
    bench_case_name(c);
    return 0;
}

static int cp_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                   const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants;
    long long busy[PARAM_MAX_VALUES], every[PARAM_MAX_VALUES];
    run_values(o, w, "variant", &variants);
    int nb = run_numbers(o, w, "busy_ns", busy, PARAM_MAX_VALUES);
    int ne = run_numbers(o, w, "yield_every_ns", every, PARAM_MAX_VALUES);
    for (int b = 0; b < nb; b++)
        for (int e = 0; e < ne; e++)
            if (every[e] > busy[b]) {
                snprintf(msg, len, "checkpoint: yield_every_ns=%lld is longer than busy_ns=%lld: "
                         "the busy task would never yield", every[e], busy[b]);
                return MUX_EXIT_USAGE;
            }
    const int once_here = poller == run_first_poller(o);
    for (int v = 0; v < variants.count; v++) {
        enum cp_variant var = V_CHECKPOINT;
        for (int k = 0; variant_names[k]; k++)
            if (strcmp(variants.values[v], variant_names[k]) == 0)
                var = (enum cp_variant)k;
        if (var == V_THREADS && !once_here)
            continue;
        int sweeps_busy = var >= V_NEVER_YIELDS;
        for (int b = 0; b < (sweeps_busy ? nb : 1); b++)
            for (int e = 0; e < (var == V_YIELDS ? ne : 1); e++)
                if (add_case(plan, w, poller, var, busy[b], every[e])) {
                    snprintf(msg, len, "out of memory");
                    return MUX_EXIT_FAIL;
                }
    }
    return 0;
}

const struct workload checkpoint_workload = {
    .name = "checkpoint",
    .summary = "one await on a ready operation with a checkpoint (always yields) or a fast path, "
               "a request for scale, and the lateness of a 1 ms ticker beside a busy task",
    .params = params,
    .per_poller = 1,
    .plan = cp_plan,
};
