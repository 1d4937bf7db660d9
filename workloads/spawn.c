/*
 * spawn.c - what starting a unit of concurrency costs: claim C4 ("creating 10,000 threads
 * takes seconds, 10,000 coroutines milliseconds") and the churn part of C7 ("≈210k tasks/s":
 * asyncio's task_spawn, tiny tasks that each sleep 0.5 ms).
 *
 * create_ns: one op is one unit's whole life, with nothing in its body:
 *
 *      thread      pthread_create ─► the thread runs an empty function ─► pthread_join
 *      coroutine   coro_create ─► coro_resume (the empty function returns) ─► coro_destroy
 *        copy      the same on a copy stack (one run stack, created with the case)
 *        stackless malloc a frame ─► run its step function to its end ─► free
 *
 *   units = 1       one at a time: create, finish, destroy, repeat (Google Benchmark picks the
 *                   count); create_ns = elapsed / ops
 *   units = N > 1   a batch: create all N, then join all (threads run as they are created);
 *                   create all N, resume all, destroy all (coroutines); create_ns = elapsed / N
 *
 * create_first_use_ns (pool only): the same on a pool created just before, so each stack's
 * first page faults in and the chunk is mapped (quirk b); create_ns is then measured on the
 * pool's warm free list.
 *
 * spawn_per_s: the churn of N tiny tasks (units = N > 1), each of which waits 0.5 ms and ends:
 *
 *      t0 ─► start all N as fast as possible ─► the last one has ended ─► t1
 *      spawn_per_s = N / (t1 - t0)          the seed's figure, but read it with care: it can
 *                                           never exceed N / 0.5 ms, so at small N it is the
 *                                           sleep's arithmetic, and a timer that rounds the
 *                                           sleep up (libev's 1 ms minimum wait, libevent's
 *                                           coarse clock) lowers it without any spawn cost
 *      the sleep actually slept is measured, not assumed:
 *        coroutine  the poller under the scheduler is wrapped: every wait that may block is
 *                   timed, so `slept` is the time the scheduler really spent waiting for
 *                   timers (0 when the N tasks take longer to start than one sleep lasts:
 *                   their sleeps then end while it is busy), and a wait that ran out reports
 *                   how late it returned against the timeout it was given
 *        thread     each thread reads the clock around its nanosleep; `slept` is the shortest
 *                   (the threads sleep in parallel; the first to wake waited for the timer
 *                   alone, the others also for a cpu)
 *      churn_overhead_ns = (t1 - t0 - slept) / N   the headline: what starting, scheduling
 *                                           and ending one task cost, the sleep taken out
 *                                           whatever the timer made of it
 *      timer_slack_ns   how late the timer wakes: coroutines, the mean lateness of the
 *                       scheduler's timed-out waits (per poller: libev rounds up to 1 ms,
 *                       epoll_wait to whole milliseconds); threads, the shortest real sleep
 *                       less 0.5 ms; no row when no wait ran out
 *
 *      coroutine   cosched_spawn N times, then cosched_run: each task cosched_sleep(0.5 ms);
 *                  the scheduler's timed wait is the run's poller's wait (this op is measured
 *                  once per poller: the cases carry the poller column); the scheduler and
 *                  the pool are warmed by one untimed round first
 *      thread      pthread_create N threads that each nanosleep(0.5 ms), then join them all
 *
 *   Counted, not assumed: every task increments a counter after its sleep, and the scheduler's
 *   own finished count must agree; a case where one did not finish is an error row.
 *
 * What it does not measure: memory (the memory workload does), a task that does work or I/O,
 * a second thread running coroutines, cancellation (C7's other parts), the latency
 * distribution of the sleeps (the seed reports one; cosched's timers are tested elsewhere).
 *
 * Quirks handled:
 *  a) glibc keeps the stacks of joined threads (up to 40 MiB: four 8 MiB stacks) and reuses
 *     them: one at a time, every create after the first reuses the last thread's stack (no mmap,
 *     no page faults: what a program that creates threads one by one sees); in a batch of
 *     10,000 nearly every thread maps a fresh stack and the joins unmap them. The note says so.
 *  b) The first use of a pool stack page-faults in the page holding the control block (and the
 *     chunk's mmap, once per 64 MiB); a stack from the free list is resident already. Both are
 *     reported: create_first_use_ns and create_ns. A guard stack is always a first use (mmap,
 *     mprotect, a page fault, munmap).
 *  c) Thread sleeps and the scheduler's timed waits both get the kernel's timer slack (50 us
 *     by default for a normal thread), and a poller whose wait takes milliseconds rounds the
 *     sleep up further: measured per task (timer_slack_ns), and taken out of the overhead.
 *  d) Limits: a failed pthread_create or coro_create (EAGAIN, the map count, RLIMIT_AS) ends the
 *     sweep with a limit row and how many units were started; a batch that would not fit in
 *     the memory available (less a reserve) is not started (units_reached 0, the note says why).
 *  e) Stackless units have no scheduler here (sched.h runs stackful coroutines): they are
 *     measured by create_ns only; copy stacks run under the scheduler like the others.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workloads/runtime/sched.h"
#include "workloads/runtime/stackless.h"
#include "workloads/support/units.h"

#define SLEEP_NS 500000 /* the seed's task_spawn: 0.5 ms */

enum spawn_op { OP_CREATE, OP_CHURN };

struct spawn_case {
    struct unit_case u; /* cfg, units, group */
    enum spawn_op op;
    const struct poller_ops *ops; /* churn of coroutines: the poller under the scheduler */
    pthread_attr_t attr;
    int have_attr;
    pthread_t *tids;
    struct coro **cos;
    struct coro_attr cattr;
    struct coro_pool *pool;
    struct poller *poller;
    struct cosched *sched;
    struct coro_copy_stack *copy_stack; /* copy: the run stack of the case */
    atomic_long ran;       /* units whose function ran (threads and coroutines) */
    atomic_llong slept_min; /* churn of threads: the shortest real sleep of this round */
    struct poller_ops timed_ops; /* churn of coroutines: the poller's, with wait timed */
    int (*real_wait)(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns);
    int64_t waited_ns;           /* this round: time in waits that could block */
    int64_t late_ns;             /* this round: timed-out waits' lateness, summed */
    long late_waits;
    long expected;         /* what `ran` must be at the end of the repetition */
    double first_use_ns;   /* pool: this repetition's first-use figure, per unit */
    char note[200];        /* what setup says; the churn adds its count */
};

/* ---- the units ---------------------------------------------------------------------------- */

static void *thread_empty(void *arg)
{
    atomic_fetch_add(&((struct spawn_case *)arg)->ran, 1);
    return NULL;
}

/* The churn's poller wait, timed (one churn runs at a time, on one thread). */
static _Thread_local struct spawn_case *tl_timed;

static int timed_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    struct spawn_case *s = tl_timed;
    int64_t t0 = bench_now_ns();
    int n = s->real_wait(p, out, max, timeout_ns);
    int64_t took = bench_now_ns() - t0;
    if (timeout_ns != 0)
        s->waited_ns += took;
    if (n == 0 && timeout_ns > 0 && took >= timeout_ns) { /* ran out (not EINTR: early) */
        s->late_ns += took - timeout_ns;
        s->late_waits++;
    }
    return n;
}

/* A task's real sleep, kept if it is the shortest of the round. */
static void record_sleep(struct spawn_case *s, long long ns)
{
    long long seen = atomic_load_explicit(&s->slept_min, memory_order_relaxed);
    while (ns < seen && !atomic_compare_exchange_weak(&s->slept_min, &seen, ns))
        ;
}

static void *thread_sleeper(void *arg)
{
    struct spawn_case *s = arg;
    int64_t t0 = bench_now_ns();
    nanosleep(&(struct timespec){.tv_nsec = SLEEP_NS}, NULL);
    record_sleep(s, bench_now_ns() - t0);
    atomic_fetch_add(&s->ran, 1);
    return NULL;
}

static void coro_empty(void *arg)
{
    atomic_fetch_add_explicit(&((struct spawn_case *)arg)->ran, 1, memory_order_relaxed);
}

static void coro_sleeper(void *arg)
{
    struct spawn_case *s = arg;
    int64_t t0 = bench_now_ns();
    cosched_sleep(SLEEP_NS);
    record_sleep(s, bench_now_ns() - t0);
    atomic_fetch_add_explicit(&s->ran, 1, memory_order_relaxed);
}

struct empty_frame {
    struct stackless base;
    struct spawn_case *s;
};

static int stackless_empty(struct stackless *sl)
{
    struct empty_frame *f = (struct empty_frame *)sl;
    STACKLESS_BEGIN(sl);
    atomic_fetch_add_explicit(&f->s->ran, 1, memory_order_relaxed);
    STACKLESS_END(sl);
}

/* n stackless units: each frame allocated, run to its end, freed. Returns n, or how many were
 * made before malloc failed (why[] says so), or -1 when one did not finish. */
static long stackless_batch(struct spawn_case *s, long n, char *why, size_t len)
{
    struct empty_frame **frames = (struct empty_frame **)s->cos;
    long made = 0, bad = -1;
    for (; made < n; made++) {
        if (!(frames[made] = malloc(sizeof **frames))) {
            snprintf(why, len, "memory (malloc of a %zu-byte frame failed)", sizeof **frames);
            break;
        }
        stackless_init(&frames[made]->base, stackless_empty);
        frames[made]->s = s;
    }
    for (long i = 0; i < made; i++)
        if (stackless_resume(&frames[i]->base) != STACKLESS_FINISHED && bad < 0)
            bad = i;
    for (long i = 0; i < made; i++)
        free(frames[i]);
    s->expected += made;
    if (bad >= 0) {
        snprintf(why, len, "stackless unit %ld did not finish in one resume", bad);
        return -1;
    }
    return made;
}

/* n threads running fn, created then joined. Returns how many were created (n unless a limit
 * stopped it: why[] says which). */
static long thread_batch(struct spawn_case *s, long n, void *(*fn)(void *), char *why,
                         size_t len)
{
    int err;
    long created = units_threads_start(s->tids, n, &s->attr, fn, s, NULL, &err, why, len);
    units_threads_join(s->tids, created);
    s->expected += created;
    return created;
}

/* n coroutines created, each resumed to its end, destroyed. Returns how many were created; -1
 * when one did not finish in its one resume (why[] says so). */
static long coro_batch(struct spawn_case *s, long n, char *why, size_t len)
{
    long created = 0, bad = -1;
    for (; created < n; created++) {
        int rc = coro_create(&s->cos[created], &s->cattr, coro_empty, s);
        if (rc < 0) {
            units_coro_limit(rc, why, len);
            break;
        }
    }
    for (long i = 0; i < created; i++)
        if (coro_resume(s->cos[i]) != 1 && bad < 0)
            bad = i;
    for (long i = 0; i < created; i++)
        coro_destroy(s->cos[i]);
    s->expected += created;
    if (bad >= 0) {
        snprintf(why, len, "coroutine %ld did not finish in one resume", bad);
        return -1;
    }
    return created;
}

/* ---- create_ns ----------------------------------------------------------------------------- */

static double create_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct spawn_case *s = c->ctx;
    const long per = s->u.units;                 /* ops per batch */
    const uint64_t batches = s->u.units == 1 ? iters : iters / (uint64_t)per;
    char why[512] = "";
    int64_t t0 = bench_now_ns();
    for (uint64_t b = 0; b < batches; b++) {
        long got = s->u.cfg.alloc == ALLOC_STACKLESS ? stackless_batch(s, per, why, sizeof why)
                   : s->u.cfg.kind == UNIT_CORO  ? coro_batch(s, per, why, sizeof why)
                                                 : thread_batch(s, per, thread_empty, why,
                                                                sizeof why);
        if (got < 0) {
            bench_fail(st, "%s", why);
            return 0;
        }
        if (got < per) {
            bench_limit(st, (double)got, "%s", why);
            return 0;
        }
    }
    return (double)(bench_now_ns() - t0);
}

static void create_run_start(struct bench_case *c, struct bench_state *st)
{
    struct spawn_case *s = c->ctx;
    atomic_store(&s->ran, 0);
    s->expected = 0;
    if (s->u.cfg.alloc != ALLOC_POOL)
        return;
    /* A fresh pool: its first batch is a first use (quirk b); it leaves the free list warm. */
    int rc = coro_pool_create(&s->pool, s->u.cfg.stack_bytes, 0);
    char why[512];
    if (rc < 0) {
        units_coro_limit(rc, why, sizeof why);
        bench_limit(st, 0, "%s", why);
        return;
    }
    s->cattr.pool = s->pool;
    int64_t t0 = bench_now_ns();
    long got = coro_batch(s, s->u.units, why, sizeof why);
    s->first_use_ns = (double)(bench_now_ns() - t0) / (double)s->u.units;
    if (got < 0)
        bench_fail(st, "%s", why);
    else if (got < s->u.units)
        bench_limit(st, (double)got, "%s", why);
}

static void create_run_end(struct bench_case *c, struct bench_state *st)
{
    struct spawn_case *s = c->ctx;
    if (s->pool)
        bench_counter(st, "create_first_use_ns", s->first_use_ns, "ns");
    if (atomic_load(&s->ran) != s->expected)
        bench_fail(st, "%ld units created but %ld ran", s->expected, atomic_load(&s->ran));
    coro_pool_destroy(s->pool);
    s->pool = NULL;
}

/* ---- spawn_per_s --------------------------------------------------------------------------- */

static long churn_coro(struct spawn_case *s, char *why, size_t len)
{
    struct cosched_stats before, after;
    cosched_get_stats(s->sched, &before);
    long spawned = 0;
    for (; spawned < s->u.units; spawned++) {
        int rc = cosched_spawn(s->sched, coro_sleeper, s);
        if (rc < 0) {
            units_coro_limit(rc, why, len);
            break;
        }
    }
    int rc = cosched_run(s->sched);
    cosched_get_stats(s->sched, &after);
    s->expected += spawned;
    if (rc < 0) {
        snprintf(why, len, "cosched_run: %s", strerror(-rc));
        return -1;
    }
    if ((long)(after.finished - before.finished) != spawned) {
        snprintf(why, len, "%ld tasks spawned but the scheduler finished %llu", spawned,
                 (unsigned long long)(after.finished - before.finished));
        return -1;
    }
    return spawned;
}

static void churn_run_start(struct bench_case *c, struct bench_state *st)
{
    struct spawn_case *s = c->ctx;
    (void)st;
    atomic_store(&s->ran, 0);
    s->expected = 0;
}

/* The churn's figures for one round of N tasks that took t ns. */
static void churn_counters(struct spawn_case *s, struct bench_state *st, int64_t t)
{
    double n = (double)s->u.units;
    bench_counter(st, "spawn_per_s", n * 1e9 / (double)t, "per_s");
    if (s->u.cfg.kind == UNIT_CORO) {
        bench_counter(st, "churn_overhead_ns", (double)(t - s->waited_ns) / n, "ns");
        if (s->late_waits)
            bench_counter(st, "timer_slack_ns", (double)s->late_ns / (double)s->late_waits,
                          "ns");
        return;
    }
    double slept = (double)atomic_load(&s->slept_min);
    bench_counter(st, "churn_overhead_ns", ((double)t - slept) / n, "ns");
    bench_counter(st, "timer_slack_ns", slept - SLEEP_NS, "ns");
}

static double churn_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct spawn_case *s = c->ctx;
    char why[512] = "";
    double elapsed = 0;
    for (uint64_t i = 0; i < iters; i++) {
        atomic_store(&s->slept_min, LLONG_MAX);
        s->waited_ns = s->late_ns = 0;
        s->late_waits = 0;
        tl_timed = s;
        int64_t t0 = bench_now_ns();
        long got = s->u.cfg.kind == UNIT_CORO
                       ? churn_coro(s, why, sizeof why)
                       : thread_batch(s, s->u.units, thread_sleeper, why, sizeof why);
        int64_t t = bench_now_ns() - t0;
        elapsed += (double)t;
        if (got < 0) {
            bench_fail(st, "%s", why);
            return 0;
        }
        if (got < s->u.units) {
            bench_limit(st, (double)got, "%s", why);
            return 0;
        }
        churn_counters(s, st, t);
    }
    return elapsed;
}

static void churn_run_end(struct bench_case *c, struct bench_state *st)
{
    struct spawn_case *s = c->ctx;
    long ran = atomic_load(&s->ran);
    if (ran != s->expected) {
        bench_fail(st, "%ld tasks started but %ld finished their sleep", s->expected, ran);
        return;
    }
    snprintf(c->note, sizeof c->note, "%.180s; %ld of %ld tasks finished (counted)", s->note,
             ran, s->expected);
}

/* ---- setup / teardown ----------------------------------------------------------------------- */

static void spawn_teardown(struct bench_case *c)
{
    struct spawn_case *s = c->ctx;
    cosched_destroy(s->sched);
    s->sched = NULL;
    coro_pool_destroy(s->pool);
    s->pool = NULL;
    coro_copy_stack_destroy(s->copy_stack);
    s->copy_stack = NULL;
    if (s->poller)
        poller_destroy(s->poller);
    s->poller = NULL;
    if (s->have_attr)
        pthread_attr_destroy(&s->attr);
    s->have_attr = 0;
    free(s->tids);
    free(s->cos);
    s->tids = NULL;
    s->cos = NULL;
}

/* The churn's scheduler, its poller and (pool) a pool warmed by one untimed round. */
static int churn_setup(struct bench_case *c, char *msg, size_t len)
{
    struct spawn_case *s = c->ctx;
    int rc = poller_create(s->ops, &s->poller, NULL);
    if (rc < 0) {
        snprintf(msg, len, "poller %s: %s", s->ops->name, strerror(-rc));
        return BENCH_ERROR;
    }
    /* Its waits timed: the same backend, its wait wrapped (timed_wait). */
    s->timed_ops = *s->poller->ops;
    s->real_wait = s->timed_ops.wait;
    s->timed_ops.wait = timed_wait;
    s->poller->ops = &s->timed_ops;
    tl_timed = s;
    if (s->u.cfg.alloc == ALLOC_POOL &&
        (rc = coro_pool_create(&s->pool, s->u.cfg.stack_bytes, 0)) < 0) {
        snprintf(msg, len, "coro_pool_create: %s", strerror(-rc));
        return BENCH_ERROR;
    }
    struct cosched_cfg cfg = {.poller = s->poller};
    units_coro_attr(&s->u.cfg, s->pool, &cfg.attr);
    cfg.attr.copy_stack = s->copy_stack;
    if ((rc = cosched_create(&s->sched, &cfg)) < 0) {
        snprintf(msg, len, "cosched_create over %s: %s", s->ops->name, strerror(-rc));
        return BENCH_ERROR;
    }
    char why[512];
    long got = churn_coro(s, why, sizeof why);
    if (got != s->u.units) {
        snprintf(msg, len, "the warm-up round: %s", why);
        c->limit_reached = (double)got;
        return got < 0 ? BENCH_ERROR : BENCH_LIMIT;
    }
    return BENCH_OK;
}

static int spawn_setup(struct bench_case *c, char *msg, size_t len)
{
    struct spawn_case *s = c->ctx;
    struct units_guard g;
    units_guard_init(&g, &s->u.cfg);
    c->limit_reached = 0;
    /* The most units alive at once: a batch (threads: their stacks until joined). */
    if (s->u.units > 1 && units_guard_fits(&g, s->u.units, msg, len) < 0)
        return BENCH_LIMIT;
    if (s->u.cfg.kind == UNIT_CORO && s->u.cfg.alloc != ALLOC_STACKLESS &&
        units_coro_unsupported(msg, len) < 0)
        return BENCH_SKIP;
    int rc = BENCH_OK;
    char why[256];
    if (s->u.cfg.alloc == ALLOC_COPY && coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why)) {
        snprintf(msg, len, "copy stacks need the assembly switch: %s", why);
        return BENCH_SKIP;
    }
    if (s->u.cfg.alloc == ALLOC_STACKLESS) {
        if (!(s->cos = units_touched_array((size_t)s->u.units, sizeof *s->cos))) {
            snprintf(msg, len, "memory: no room for %ld frame handles", s->u.units);
            return BENCH_LIMIT;
        }
        snprintf(s->note, sizeof s->note, "a %zu-byte frame from malloc, run to its end, freed",
                 sizeof(struct empty_frame));
    } else if (s->u.cfg.kind == UNIT_CORO) {
        units_coro_attr(&s->u.cfg, NULL, &s->cattr);
        if (s->u.cfg.alloc == ALLOC_COPY) {
            int err = coro_copy_stack_create(&s->copy_stack, s->u.cfg.stack_bytes);
            if (err < 0) {
                snprintf(msg, len, "coro_copy_stack_create: %s", strerror(-err));
                return BENCH_ERROR;
            }
            s->cattr.copy_stack = s->copy_stack;
        }
        if (s->op == OP_CREATE &&
            !(s->cos = units_touched_array((size_t)s->u.units, sizeof *s->cos))) {
            snprintf(msg, len, "memory: no room for %ld coroutine handles", s->u.units);
            return BENCH_LIMIT;
        }
        if (s->op == OP_CHURN)
            rc = churn_setup(c, msg, len);
        snprintf(s->note, sizeof s->note, "switch %s; %s", coro_switch_name(s->cattr.switch_kind),
                 s->u.cfg.alloc == ALLOC_GUARD ? "every stack mapped and unmapped (mmap, mprotect, "
                                               "munmap)"
                 : s->u.cfg.alloc == ALLOC_COPY ? "one run stack; control blocks from malloc"
                 : s->op == OP_CHURN ? "pool warmed by one untimed round"
                                     : "create_ns: warm free list; create_first_use_ns: a "
                                       "fresh pool");
    } else {
        if ((rc = units_thread_attr(&s->u.cfg, &s->attr)) != 0) {
            snprintf(msg, len, "pthread attributes: %s", strerror(rc));
            return BENCH_ERROR;
        }
        s->have_attr = 1;
        if (!(s->tids = units_touched_array((size_t)s->u.units, sizeof *s->tids))) {
            spawn_teardown(c);
            snprintf(msg, len, "memory: no room for %ld thread handles", s->u.units);
            return BENCH_LIMIT;
        }
        snprintf(s->note, sizeof s->note, "%s", s->u.units == 1
                 ? "glibc reuses the last joined thread's stack (no mmap)"
                 : "glibc's stack cache holds 40 MiB: nearly every thread maps a fresh stack");
    }
    if (rc != BENCH_OK)
        spawn_teardown(c);
    snprintf(c->note, sizeof c->note, "%s", s->note);
    return rc;
}

/* ---- planning ------------------------------------------------------------------------------- */

static const struct param_use params[] = {
    {.key = "variant", .defaults = "thread,coroutine", .choices = unit_variant_names},
    {.key = "units", .defaults = "1,10000", .quick = "1,1000"},
    {.key = "stack_bytes", .defaults = "auto"},
    {.key = "stack_alloc", .defaults = "auto"},
    {0},
};

static const struct unit_defaults defaults = {
    .small_stack = "64k",
    .small_stack_quick = "64k",
    .coro_stack = "16k",
    .coro_stack_quick = "16k",
};

struct planning {
    struct plan *plan;
    const struct workload *w;
    const struct poller_ops *poller; /* the one this plan() call is for */
    int first;                       /* it is the run's first available poller */
    char *msg;
    size_t len;
};

static int add_one(struct planning *p, const struct unit_config *cfg, enum spawn_op op,
                   long long units, const struct poller_ops *ops)
{
    struct bench_case *c = units_case(p->plan, p->w, ops, cfg, units, sizeof(struct spawn_case),
                                      op == OP_CREATE ? "create" : "churn", p->msg, p->len);
    if (!c)
        return 1;
    struct spawn_case *s = c->ctx;
    s->op = op;
    s->ops = ops;
    c->setup = spawn_setup;
    c->teardown = spawn_teardown;
    if (op == OP_CREATE) {
        c->metric = "create_ns";
        c->batch = units == 1 ? (cfg->kind == UNIT_CORO ? 256 : 8) : (uint64_t)units;
        c->iterations = units == 1 ? 0 : units; /* a batch: one per repetition */
        c->body = create_body;
        c->run_start = create_run_start;
        c->run_end = create_run_end;
    } else {
        c->metric = NULL; /* rates and per-task figures: counters */
        c->headline = "churn_overhead_ns";
        c->iterations = 1;
        c->body = churn_body;
        c->run_start = churn_run_start;
        c->run_end = churn_run_end;
    }
    bench_case_name(c);
    /* Not a CSV column (the metric tells the rows apart), but the names must differ. */
    size_t n = strlen(c->name);
    snprintf(c->name + n, sizeof c->name - n, "/op:%s", op == OP_CREATE ? "create" : "churn");
    return 0;
}

static int add_cases(void *arg, const struct unit_config *cfg, long long units)
{
    struct planning *p = arg;
    const int coro = cfg->kind == UNIT_CORO;
    int rc = 0;
    if (p->first)
        rc = add_one(p, cfg, OP_CREATE, units, NULL);
    /* A churn of one task measures a sleep, not a churn; stackless units have no scheduler
     * (quirk e). */
    if (!rc && units > 1 && (coro || p->first) && cfg->alloc != ALLOC_STACKLESS)
        rc = add_one(p, cfg, OP_CHURN, units, coro ? p->poller : NULL);
    return rc;
}

static int spawn_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, char *msg, size_t len)
{
    struct planning p = {plan, w, poller, poller == run_first_poller(o), msg, len};
    return units_plan(o, w, &defaults, add_cases, &p, msg, len);
}

const struct workload spawn_workload = {
    .name = "spawn",
    .summary = "create+join / create+destroy, one at a time and in batches; the churn of tiny "
               "0.5 ms tasks, coroutines over each poller (auto: 16k pool and guard stacks, a 64k "
               "copy stack, stackless units for create only)",
    .params = params,
    .per_poller = 1,
    .plan = spawn_plan,
};
