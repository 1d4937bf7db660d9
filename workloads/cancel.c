/*
 * cancel.c - a cancellation storm: claim C7's third part (seed 001's cancellation benchmark:
 * "launch 5k long-lived tasks, cancel after 50ms; metric = time to settle cancellations").
 *
 * `units` tasks are started; task i blocks on a socket read (even i: it owns a fresh unix
 * socketpair nobody writes to) or on a far timer (odd i: one hour). Once every task is blocked
 * and at least 50 ms have passed since the first started, all are cancelled:
 *
 *   coroutines      a coroutine per task on the cosched scheduler over the case's poller
 *                   (cosched_wait_fd / cosched_sleep); a canceller coroutine sleeps the 50 ms
 *                   and calls cosched_cancel_all(): each parked task is queued with -ECANCELED,
 *                   forgets and closes its sockets and returns, and the scheduler frees its
 *                   stack
 *   pthread-cancel  a thread per task (64 KiB stacks) blocked in read() or clock_nanosleep();
 *                   pthread_cancel() on every thread, then pthread_join() on every thread; a
 *                   cleanup handler closes the thread's sockets
 *   eventfd         the same threads blocked in poll() on their socket (or on nothing, with the
 *                   hour as poll's timeout) and on one shared eventfd; one write to it wakes them
 *                   all; each closes its sockets and returns; then pthread_join() on every one
 *
 *   t0 = the first cancel (cosched_cancel_all, the first pthread_cancel, the eventfd write)
 *   t1 = every task has finished and released its resources: cosched_run has returned (every
 *        coroutine finished and its stack freed), or the last pthread_join has returned
 *   cancel_ns          = t1 - t0 (one value per repetition; iterations = 1)
 *   cancel_per_task_ns = cancel_ns / units
 *
 * Untimed: starting the tasks, their sockets, the 50 ms. Counted, not assumed: every task counts
 * itself blocked and then released (its sockets closed); after each repetition the process has
 * the fds and threads it had before the case (read from /proc), the scheduler finished every
 * coroutine and cancelled every task, and the stacks are gone (guarded stacks: the map entries
 * are back to where they were, in a build without sanitizers). Any difference is an error row.
 *
 * What it does not measure: unwinding (a cancelled coroutine returns normally; pthread_cancel
 * unwinds through the cleanup handlers, which is part of its cost); cancellation of tasks that
 * are running rather than blocked; nested cancel scopes; Python's exception machinery, which is
 * most of what asyncio and trio spend per cancelled task.
 *
 * Quirks handled:
 *  a) glibc caches the stacks of joined threads (up to 40 MiB): with 64 KiB stacks the cache
 *     holds 640 of them; the rest are unmapped by the joins, inside the window.
 *  b) Limits: the tasks need `units` fds (two per socket task) beside those open: the soft
 *     RLIMIT_NOFILE is raised to the hard one for the case, and a case that still does not fit,
 *     or a pthread_create/cosched_spawn/socketpair that fails for a limit, is a `limit` row.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "harness/planner.h"
#include "harness/sysinfo.h"
#include "harness/workload.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/loop.h"

#define CANCEL_STACK (64 * 1024)
#define CANCEL_AFTER_NS 50000000LL       /* the seed's 50 ms */
#define FAR_NS (3600LL * 1000000000)     /* a far timer: one hour */
#define CANCEL_UNITS_MAX 100000
#define BLOCK_WAIT_NS (30LL * 1000000000) /* tasks that do not block by then: an error row */
/* The sanitizers map memory of their own as stacks come and go (AddressSanitizer's fake stacks
 * and allocator regions, ThreadSanitizer's shadow): there the map entries are not compared. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MAPS_COMPARED 0
#else
#define MAPS_COMPARED 1
#endif
/* ThreadSanitizer starts a background thread of its own at the process's first pthread_create,
 * and AddressSanitizer may start one as its allocator grows (seen in CI): the first storm of
 * threads may leave one more thread than it found, never two. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZER_THREADS 1
#else
#define SANITIZER_THREADS 0
#endif

enum cancel_variant { V_COROUTINES, V_PTHREAD_CANCEL, V_EVENTFD };
static const char *const variant_names[] = {"coroutines", "pthread-cancel", "eventfd", NULL};

struct cancel;

struct task {
    struct cancel *k;
    long i;
    int sv[2];
    int err; /* what went wrong in the task (socketpair, an unexpected wake), 0 if nothing */
};

struct cancel {
    enum cancel_variant variant;
    const struct poller_ops *ops;
    long units;
    struct task *tasks;
    pthread_t *tids;
    struct loop loop;
    int efd;
    struct rlimit nofile;
    int nofile_raised;
    atomic_long blocked, released;
    int64_t first_start, t_cancel;
    long fds0, threads0, maps0; /* the process before the tasks */
    char group[96];
};

static int open_pair(struct task *t, int nonblock)
{
    t->sv[0] = t->sv[1] = -1;
    if (t->i % 2)
        return 0; /* a timer task */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0,
                   t->sv) < 0) {
        t->err = errno;
        t->sv[0] = t->sv[1] = -1;
        return -1;
    }
    return 0;
}

static void release(struct task *t)
{
    for (int s = 0; s < 2; s++)
        if (t->sv[s] >= 0) {
            close(t->sv[s]);
            t->sv[s] = -1;
        }
    atomic_fetch_add(&t->k->released, 1);
}

/* ---- coroutines ---- */

static void task_coroutine(void *arg)
{
    struct task *t = arg;
    if (open_pair(t, 1) < 0)
        return;
    atomic_fetch_add_explicit(&t->k->blocked, 1, memory_order_relaxed);
    int rc = t->sv[0] >= 0 ? cosched_wait_fd(t->sv[0], MUX_IN, -1) : cosched_sleep(FAR_NS);
    if (rc != -ECANCELED)
        t->err = rc < 0 ? -rc : EPROTO; /* woken by something else than the cancel */
    if (t->sv[0] >= 0)
        cosched_forget_fd(NULL, t->sv[0]);
    release(t);
}

static void canceller(void *arg)
{
    struct cancel *k = arg;
    int64_t until = k->first_start + CANCEL_AFTER_NS;
    do /* the tasks all park in the first round; 50 ms is long after */
        cosched_sleep(until - bench_now_ns());
    while (bench_now_ns() < until);
    k->t_cancel = bench_now_ns();
    cosched_cancel_all(NULL);
}

/* ---- threads ---- */

static void cleanup_handler(void *arg) { release(arg); }

static void *task_pthread_cancel(void *arg)
{
    struct task *t = arg;
    if (open_pair(t, 0) < 0)
        return NULL;
    pthread_cleanup_push(cleanup_handler, t);
    atomic_fetch_add(&t->k->blocked, 1);
    if (t->sv[0] >= 0) {
        char b;
        ssize_t n = read(t->sv[0], &b, 1); /* a cancellation point; nobody writes */
        t->err = n < 0 ? errno : EPROTO;
    } else {
        struct timespec ts = {.tv_sec = FAR_NS / 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); /* a cancellation point */
        t->err = EPROTO;
    }
    pthread_cleanup_pop(1);
    return NULL;
}

static void *task_eventfd(void *arg)
{
    struct task *t = arg;
    if (open_pair(t, 0) < 0)
        return NULL;
    struct pollfd p[2] = {{.fd = t->k->efd, .events = POLLIN}, {.fd = t->sv[0], .events = POLLIN}};
    atomic_fetch_add(&t->k->blocked, 1);
    int n;
    do
        n = poll(p, t->sv[0] >= 0 ? 2 : 1, (int)(FAR_NS / 1000000));
    while (n < 0 && errno == EINTR);
    if (n != 1 || !(p[0].revents & POLLIN))
        t->err = n < 0 ? errno : EPROTO;
    release(t);
    return NULL;
}

/* ---- the case ---- */

static void cancel_cleanup(struct cancel *k)
{
    loop_close(&k->loop);
    if (k->efd >= 0)
        close(k->efd);
    k->efd = -1;
    loop_nofile_restore(&k->nofile, &k->nofile_raised);
    free(k->tasks);
    free(k->tids);
    k->tasks = NULL;
    k->tids = NULL;
}

static int cancel_setup(struct bench_case *c, char *msg, size_t len)
{
    struct cancel *k = c->ctx;
    k->efd = -1;
    int rc = loop_nofile_room(k->units + 8, &k->nofile, &k->nofile_raised, msg, len);
    if (rc != BENCH_OK)
        return rc;
    k->tasks = calloc((size_t)k->units, sizeof *k->tasks);
    k->tids = calloc((size_t)k->units, sizeof *k->tids);
    if (!k->tasks || !k->tids) {
        cancel_cleanup(k);
        snprintf(msg, len, "memory for %ld tasks", k->units);
        return BENCH_LIMIT;
    }
    char how[96] = "64 KiB thread stacks";
    if (k->variant == V_COROUTINES && k->ops->fd_limit > 0) {
        /* A backend with a fixed fd set (libevent-select: FD_SETSIZE) cannot watch the fd
         * numbers half the tasks' socketpairs take: they run from the lowest free one up. */
        long highest = sys_count_fds() + k->units + 8;
        if (highest >= k->ops->fd_limit) {
            snprintf(msg, len, "%s refuses fds >= %d (FD_SETSIZE); %ld tasks need fd numbers "
                     "up to about %ld", k->ops->name, k->ops->fd_limit, k->units, highest);
            cancel_cleanup(k);
            return BENCH_SKIP;
        }
    }
    if (k->variant == V_COROUTINES) {
        if ((rc = loop_open(&k->loop, k->ops, CANCEL_STACK, msg, len)) != BENCH_OK) {
            cancel_cleanup(k);
            return rc;
        }
        loop_describe(&k->loop, how, sizeof how);
    } else if (k->variant == V_EVENTFD) {
        if ((k->efd = eventfd(0, EFD_CLOEXEC)) < 0) {
            snprintf(msg, len, "eventfd: %s", strerror(errno));
            cancel_cleanup(k);
            return BENCH_ERROR;
        }
    }
    snprintf(c->note, sizeof c->note, "%s; %ld tasks: %ld on a socket read, %ld on a 1 h timer; "
             "cancelled 50 ms after the first started", how, k->units, (k->units + 1) / 2,
             k->units / 2);
    return BENCH_OK;
}

static void cancel_teardown(struct bench_case *c) { cancel_cleanup(c->ctx); }

static void cancel_run_start(struct bench_case *c, struct bench_state *st)
{
    struct cancel *k = c->ctx;
    (void)st;
    atomic_store(&k->blocked, 0);
    atomic_store(&k->released, 0);
    for (long i = 0; i < k->units; i++)
        k->tasks[i] = (struct task){.k = k, .i = i, .sv = {-1, -1}};
    k->fds0 = sys_count_dir("/proc/self/fd");
    k->threads0 = sys_count_threads();
    k->maps0 = coro_map_entries();
}

static double coroutine_storm(struct cancel *k, struct bench_state *st)
{
    struct cosched_stats before, after;
    cosched_get_stats(k->loop.sched, &before);
    k->first_start = bench_now_ns();
    long spawned = 0;
    int rc = 0;
    for (; spawned < k->units; spawned++)
        if ((rc = cosched_spawn(k->loop.sched, task_coroutine, &k->tasks[spawned])) < 0)
            break;
    if (rc == 0)
        rc = cosched_spawn(k->loop.sched, canceller, k);
    int run = cosched_run(k->loop.sched); /* runs the leftovers even after a failed spawn */
    int64_t t1 = bench_now_ns();
    if (rc < 0) {
        bench_limit(st, (double)spawned, "cosched_spawn %ld of %ld: %s", spawned + 1, k->units,
                    strerror(-rc));
        return 0;
    }
    if (run < 0) {
        bench_fail(st, "cosched_run: %s", strerror(-run));
        return 0;
    }
    cosched_get_stats(k->loop.sched, &after);
    if (after.finished - before.finished != (uint64_t)k->units + 1 ||
        after.cancelled - before.cancelled != (uint64_t)k->units || after.live != 0) {
        bench_fail(st, "the scheduler finished %llu and cancelled %llu of %ld tasks (%zu live)",
                   (unsigned long long)(after.finished - before.finished - 1),
                   (unsigned long long)(after.cancelled - before.cancelled), k->units,
                   after.live);
        return 0;
    }
    return (double)(t1 - k->t_cancel);
}

static double thread_storm(struct cancel *k, struct bench_state *st)
{
    int err = 0;
    k->first_start = bench_now_ns();
    long started = loop_threads_start(k->tids, k->units, CANCEL_STACK,
                                      k->variant == V_EVENTFD ? task_eventfd : task_pthread_cancel,
                                      k->tasks, sizeof *k->tasks, &err);
    int64_t deadline = bench_now_ns() + BLOCK_WAIT_NS;
    while (atomic_load(&k->blocked) + atomic_load(&k->released) < started &&
           bench_now_ns() < deadline)
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    int64_t until = k->first_start + CANCEL_AFTER_NS;
    while (bench_now_ns() < until)
        nanosleep(&(struct timespec){.tv_nsec = until - bench_now_ns()}, NULL);
    int64_t t0 = bench_now_ns();
    if (k->variant == V_EVENTFD) {
        uint64_t one = 1;
        if (write(k->efd, &one, sizeof one) != (ssize_t)sizeof one)
            err = err ? err : errno;
    } else {
        for (long i = 0; i < started; i++)
            pthread_cancel(k->tids[i]);
    }
    loop_threads_join(k->tids, started);
    int64_t t1 = bench_now_ns();
    if (k->variant == V_EVENTFD) { /* reset the eventfd for the next repetition */
        uint64_t v;
        if (read(k->efd, &v, sizeof v) < 0)
            err = err ? err : errno;
    }
    if (started < k->units) {
        bench_limit(st, (double)started, "pthread_create %ld of %ld: %s", started + 1, k->units,
                    strerror(err));
        return 0;
    }
    if (err) {
        bench_fail(st, "the eventfd: %s", strerror(err));
        return 0;
    }
    return (double)(t1 - t0);
}

static double cancel_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct cancel *k = c->ctx;
    (void)iters; /* iterations = 1: one storm */
    double ns = k->variant == V_COROUTINES ? coroutine_storm(k, st) : thread_storm(k, st);
    if (!bench_failed(st))
        bench_counter(st, "cancel_per_task_ns", ns / (double)k->units, "ns");
    return ns;
}

static void cancel_run_end(struct bench_case *c, struct bench_state *st)
{
    struct cancel *k = c->ctx;
    for (long i = 0; i < k->units; i++)
        if (k->tasks[i].err) {
            if (k->tasks[i].err == EMFILE || k->tasks[i].err == ENFILE)
                bench_limit(st, (double)i, "task %ld's socketpair: %s", i + 1,
                            strerror(k->tasks[i].err));
            else
                bench_fail(st, "task %ld of %ld: %s", i + 1, k->units,
                           k->tasks[i].err == EPROTO ? "woken by something other than the "
                                                       "cancel" : strerror(k->tasks[i].err));
            return;
        }
    long blocked = atomic_load(&k->blocked), released = atomic_load(&k->released);
    if (blocked != k->units || released != k->units) {
        bench_fail(st, "%ld tasks: %ld blocked, %ld released their resources", k->units, blocked,
                   released);
        return;
    }
    long fds = sys_count_dir("/proc/self/fd"), threads = sys_count_threads();
    long maps = coro_map_entries();
    /* Thread stacks may stay in glibc's cache (quirk a): maps are compared for coroutines. */
    if (fds != k->fds0 || threads < k->threads0 || threads > k->threads0 + SANITIZER_THREADS ||
        (MAPS_COMPARED && k->variant == V_COROUTINES && maps != k->maps0)) {
        bench_fail(st, "after the storm: fds %ld -> %ld, threads %ld -> %ld, map entries "
                   "%ld -> %ld", k->fds0, fds, k->threads0, threads, k->maps0, maps);
        return;
    }
    size_t used = strlen(c->note);
    char *tail = strstr(c->note, "; every task");
    if (tail)
        used = (size_t)(tail - c->note);
    snprintf(c->note + used, sizeof c->note - used, "; every task blocked, cancelled and "
             "released (counted; fds and threads back to %ld and %ld)", fds, threads);
}

/* ---- planning ---- */

static const struct param_use params[] = {
    {.key = "variant", .defaults = "coroutines,pthread-cancel,eventfd", .choices = variant_names},
    {.key = "units", .defaults = "5000", .quick = "500"},
    {0},
};

static int cancel_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                       const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants;
    long long units[PARAM_MAX_VALUES];
    run_values(o, w, "variant", &variants);
    int nu = run_numbers(o, w, "units", units, PARAM_MAX_VALUES);
    for (int u = 0; u < nu; u++)
        if (units[u] > CANCEL_UNITS_MAX) {
            snprintf(msg, len, "cancel: units=%lld: at most %d tasks", units[u],
                     CANCEL_UNITS_MAX);
            return MUX_EXIT_USAGE;
        }
    const int once_here = poller == run_first_poller(o);
    for (int v = 0; v < variants.count; v++) {
        enum cancel_variant var = V_COROUTINES;
        for (int k = 0; variant_names[k]; k++)
            if (strcmp(variants.values[v], variant_names[k]) == 0)
                var = (enum cancel_variant)k;
        if (var != V_COROUTINES && !once_here)
            continue;
        for (int u = 0; u < nu; u++) {
            const struct poller_ops *p = var == V_COROUTINES ? poller : NULL;
            struct bench_case *c = plan_add(plan, w, p);
            struct cancel *k = calloc(1, sizeof *k);
            if (!c || !k) {
                free(k);
                snprintf(msg, len, "out of memory");
                return MUX_EXIT_FAIL;
            }
            k->variant = var;
            k->ops = poller;
            k->units = (long)units[u];
            k->efd = -1;
            c->ctx = k;
            c->free_ctx = free;
            param_row_set(&c->id, COL_VARIANT, variant_names[var]);
            param_row_setn(&c->id, COL_UNITS, units[u]);
            c->metric = "cancel_ns";
            c->iterations = 1;
            c->setup = cancel_setup;
            c->run_start = cancel_run_start;
            c->body = cancel_body;
            c->run_end = cancel_run_end;
            c->teardown = cancel_teardown;
            bench_case_name(c);
        }
    }
    return 0;
}

const struct workload cancel_workload = {
    .name = "cancel",
    .summary = "a cancellation storm: N tasks blocked on a socket read or a far timer, all "
               "cancelled after 50 ms (coroutines over each poller, pthread_cancel, an eventfd)",
    .params = params,
    .per_poller = 1,
    .plan = cancel_plan,
};
