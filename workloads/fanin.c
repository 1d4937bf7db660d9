/*
 * fanin.c - the many-sockets workload: what one wait costs as the number of watched fds grows
 * (claim C1: select and poll are O(n), epoll, io_uring and kqueue O(1)), through every backend
 * and through the peer libraries (libevent, libev, libuv: claim C9).
 *
 * The model is libevent's test/bench.c (N socketpairs, A active, W writes), not its
 * gettimeofday timing. `fds` (N) ends of a pool of connected pairs are registered for reading;
 * the other ends live in a helper process (fanin_pool.h), so this process can hold nearly
 * RLIMIT_NOFILE of them. A round is `writes` (W) one-byte writes the helper makes in waves of
 * `active` (A): a wave writes to the next A fds of the active list, chained (each wave starts
 * where the last one stopped), and the waits that follow deliver them. With W = A (the
 * default) a round is one wave, and a wave is normally one wait.
 *
 *     helper:  write 1 byte to the wave's A peers, then answer  ─┐   untimed (a control message)
 *     here:                                                      ▼
 *              t0 ── wait(out, max = A, timeout) ── t1               one wait_ns op = t1 - t0
 *              each event: checked, read(), re-armed if oneshot      untimed
 *              another wait while the wave is incomplete             another op
 *
 * Metrics (docs/csv.md):
 *   wait_ns          one wait call: the primary metric (a Google Benchmark iteration is one
 *                    wait), with a p99 over per-wait samples. Every byte is written before the
 *                    wait starts: a wait measures the backend finding and returning the ready
 *                    fds among the N it watches, not a sleep or a wakeup.
 *   event_ns         the same waits' time divided by the events they returned.
 *   events_per_wait  events a wait returned (A when a backend hands over a whole wave at once).
 *   idle_wait_ns     one zero-timeout wait over the N registered fds with none ready: K waits
 *                    timed as one region, divided by K.
 *   add_ns, del_ns   registering / removing one fd, on a fresh poller of the same backend (so
 *                    every add is a first one): the N adds (dels) timed as one region, plus the
 *                    first zero-timeout wait after them minus an idle one (the "flush":
 *                    libraries that defer the system call to their next loop run, libev and
 *                    libuv, pay it there; for the others it is the first wait's cold start),
 *                    divided by N.
 *   fit (derived)    per sweep, least squares of median wait_ns against fds: wait_ns_per_fd
 *                    (the slope: the answer to C1), wait_ns_fixed and wait_fit_r2.
 * One clock read brackets each timed region (~35 ns here: the harness workload's
 * clock_read_ns); add, del and idle waits are timed in batches so the clock does not dominate.
 * A wait is timed alone, for its p99, so each wait_ns carries one clock read: a few percent of
 * the cheapest wait (io_uring and epoll, ~0.6-0.8 us here); compare it with clock_read_ns.
 *
 * Verification: each wave knows the fds it made ready. A wait that returns an fd outside the
 * wave, an fd twice, an fd without MUX_IN or with another fd's data pointer, or a wave whose
 * fds have not all arrived 1 s after it was written, fails the case (an `error` row): the
 * events delivered must equal the fds made ready, fd by fd. A zero-timeout wait over idle fds
 * that returns anything fails it too.
 *
 * What it does not measure: wakeup latency (the waits never sleep), the reads and writes
 * (untimed), several threads on one poller, a realistic traffic mix. Each timed wait follows a
 * blocking read of the helper's answer, so it starts on a freshly woken thread.
 *
 * Quirks handled:
 *  a) Modes: a backend without level mode runs edge-triggered (io_uring, epoll-et) or oneshot
 *     (epoll-oneshot, io_uring-oneshot), re-armed with mod() after each event, untimed: the
 *     oneshot variants' wait_ns and event_ns leave out the re-arm a real loop pays per event
 *     (a mod: one epoll_ctl or io_uring_enter), which add_ns shows the order of.
 *  b) RLIMIT_NOFILE: the soft limit is raised to the hard one; the planner refuses fds above
 *     hard limit - POOL_FD_RESERVE (exit 3, saying what to change) instead of failing halfway
 *     through a sweep; a machine limit met while building the pool or registering (EMFILE,
 *     ENFILE, ENOMEM, ENOSPC) ends that sweep with a `limit` row.
 *  c) A backend that cannot represent an fd (fd_limit: libevent-select, FD_SETSIZE) skips the
 *     cases that would need one, with the reason.
 *  d) A repetition is a fixed number of waits, sized in setup() by a calibration that is also
 *     the warm-up: the untimed helper round trip dominates wall time, and Google Benchmark's
 *     min-time would count only the manual (wait) time.
 *  e) `position`: the active fds are spread evenly (index (2i+1)N/2A), or the first A, or the
 *     last A of the N, in registration order, which is also fd-number order: for poll and
 *     select it decides how far their scan must go.
 *  f) The pool, and the helper, are kept across cases (finish() ends them): building 20,000
 *     pairs for each case would cost more than the case.
 *  g) `placement` binds this thread (thread 0) and the helper (thread 1). It matters: with the
 *     helper on another core, a wait reads the cache lines the helper's writes dirtied there
 *     (the socket, the epoll ready list), 0.3-0.5 us more per epoll wait here than on one cpu,
 *     and an unpinned run lands on either, from case to case. `auto` (the default) is two
 *     cores sharing an L3 (events produced on another core), else what the machine has. With
 *     the helper on another cpu this thread polls for its answer (up to 2 ms) instead of
 *     sleeping, so each wait starts on a cpu that stayed awake, as in a busy event loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workloads/support/fanin_pool.h"
#include "harness/placement.h"
#include "harness/stats.h"
#include "harness/planner.h"

#define FOLLOWUP_NS 1000000000LL /* the timeout of a blocking wait for the rest of a wave */
#define LOST_NS 1000000000LL     /* a wave incomplete this long after its writes lost events */
#define TOKEN(idx) ((void *)(uintptr_t)((idx) + 1))

enum { POS_SPREAD, POS_FIRST, POS_LAST };

struct fanin_case {
    const struct poller_ops *ops;
    int n, active, writes, position, transport, quick;
    enum placement_id placement; /* thread 0: this one, thread 1: the helper */
    int bound;                   /* this thread is bound to the placement's cpu */
    int64_t timeout_ns; /* -1 blocking, 0 zero */
    char group[200];
    /* set up */
    struct poller *p;
    uint32_t mode; /* MUX_EDGE or MUX_ONESHOT asked for at add, or 0 (level) */
    int rearm;     /* oneshot: mod() after each event */
    int *active_idx;
    uint32_t *want, *got; /* per index < n: the wave that wrote / delivered it */
    struct mux_event *out;
    /* the wave in flight */
    uint32_t wave;
    int expected, delivered, pos, round_left, waits_in_wave;
    int64_t wave_start;
    /* per repetition (timed waits only, except `made` and `seen`) */
    uint64_t waits, events, made, seen;
    double wait_ns;
};

struct fanin_fit {
    int count;
    struct bench_case *points[PARAM_MAX_VALUES + 8];
};

/* ---- one wave, one wait ------------------------------------------------------------------- */

static int start_wave(struct fanin_case *fc, char *err, size_t len)
{
    if (fc->round_left == 0)
        fc->round_left = fc->writes;
    int count = fc->round_left < fc->active ? fc->round_left : fc->active;
    if (++fc->wave == 0) { /* 2^32 waves: start the marks again */
        memset(fc->want, 0, (size_t)fc->n * sizeof *fc->want);
        memset(fc->got, 0, (size_t)fc->n * sizeof *fc->got);
        fc->wave = 1;
    }
    for (int k = 0; k < count; k++)
        fc->want[fc->active_idx[(fc->pos + k) % fc->active]] = fc->wave;
    if (pool_wave(fc->pos, count, err, len) < 0)
        return -1;
    fc->pos = (fc->pos + count) % fc->active;
    fc->round_left -= count;
    fc->expected = count;
    fc->delivered = 0;
    fc->waits_in_wave = 0;
    fc->made += (uint64_t)count;
    fc->wave_start = bench_now_ns();
    return 0;
}

static int take_events(struct fanin_case *fc, int n, char *err, size_t len)
{
    const struct pool *pl = pool_get();
    for (int i = 0; i < n; i++) {
        const struct mux_event *e = &fc->out[i];
        int idx = (e->fd >= 0 && e->fd < pl->idx_cap) ? pl->idx_of_fd[e->fd] : -1;
        if (idx < 0 || idx >= fc->n) {
            snprintf(err, len, "the wait returned fd %d, which is not one of the %d registered",
                     e->fd, fc->n);
            return -1;
        }
        if (e->data != TOKEN(idx)) {
            snprintf(err, len, "fd %d came back with another fd's data pointer", e->fd);
            return -1;
        }
        if (fc->want[idx] != fc->wave) {
            if (pool_check_helper(err, len) == 0) /* else every fd hung up: say why */
                snprintf(err, len, "fd %d was reported ready but nothing was written to it in "
                         "this wave (events delivered must equal fds made ready)", e->fd);
            return -1;
        }
        if (fc->got[idx] == fc->wave) {
            snprintf(err, len, "fd %d was reported twice for one write", e->fd);
            return -1;
        }
        if (!(e->ready & MUX_IN)) {
            snprintf(err, len, "fd %d was reported without MUX_IN (ready %#x)", e->fd, e->ready);
            return -1;
        }
        fc->got[idx] = fc->wave;
        fc->delivered++;
        fc->seen++;
        char buf[64];
        ssize_t r = read(e->fd, buf, sizeof buf);
        if (r <= 0) {
            int read_err = errno;
            if (pool_check_helper(err, len) == 0)
                snprintf(err, len, "fd %d was reported readable but read() returned %zd (%s)",
                         e->fd, r, r < 0 ? strerror(read_err) : "end of file");
            return -1;
        }
        int rc;
        if (fc->rearm && (rc = poller_mod(fc->p, e->fd, MUX_IN | fc->mode, e->data)) < 0) {
            snprintf(err, len, "re-arming fd %d (mod) failed: %s", e->fd, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* One wait, starting the next wave first when the last one is complete. *ns is the wait's
 * time; `timed` says whether it counts in this repetition's figures. */
static int step(struct fanin_case *fc, int timed, int64_t *ns, char *err, size_t len)
{
    if (fc->delivered == fc->expected && start_wave(fc, err, len) < 0)
        return -1;
    int64_t timeout = fc->waits_in_wave == 0 ? fc->timeout_ns
                      : fc->timeout_ns < 0   ? FOLLOWUP_NS
                                             : 0;
    int64_t t0 = bench_now_ns();
    int n = poller_wait(fc->p, fc->out, fc->active, timeout);
    int64_t t1 = bench_now_ns();
    *ns = t1 - t0;
    fc->waits_in_wave++;
    if (n < 0) {
        snprintf(err, len, "wait failed: %s", strerror(-n));
        return -1;
    }
    if (timed) {
        fc->waits++;
        fc->events += (uint64_t)n;
        fc->wait_ns += (double)*ns;
    }
    if (take_events(fc, n, err, len) < 0)
        return -1;
    if (fc->delivered < fc->expected && t1 - fc->wave_start > LOST_NS) {
        snprintf(err, len, "events lost: %d of the %d fds made ready by wave %u were delivered "
                 "in %d waits over %.1f s (events delivered must equal fds made ready)",
                 fc->delivered, fc->expected, fc->wave, fc->waits_in_wave,
                 (double)(t1 - fc->wave_start) / 1e9);
        return -1;
    }
    return 0;
}

static int finish_wave(struct fanin_case *fc, char *err, size_t len)
{
    int64_t ns;
    while (fc->delivered < fc->expected)
        if (step(fc, 0, &ns, err, len) < 0)
            return -1;
    return 0;
}

/* ---- registration and idle waits ---------------------------------------------------------- */

/* k zero-timeout waits on p timed as one region; each must return nothing (`registered` idle
 * fds). */
static int zero_waits(struct fanin_case *fc, struct poller *p, int k, int registered, int64_t *ns,
                      char *err, size_t len)
{
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < k; i++)
        bad |= poller_wait(p, fc->out, fc->active, 0) != 0;
    *ns = bench_now_ns() - t0;
    if (bad) {
        snprintf(err, len, "a zero-timeout wait over %d idle fds returned events or failed",
                 registered);
        return -1;
    }
    return 0;
}

static int register_range(struct fanin_case *fc, struct poller *p, int from, int to,
                          int *failed_at)
{
    const struct pool *pl = pool_get();
    for (int i = from; i < to; i++) {
        int rc = poller_add(p, pl->fds[i], MUX_IN | fc->mode, TOKEN(i));
        if (rc < 0) {
            *failed_at = i;
            return rc;
        }
    }
    return 0;
}

struct reg_figures {
    double add_ns, del_ns, idle_ns;
};

/* idle_wait_ns on the case's poller; add_ns and del_ns on a fresh poller of the same backend,
 * so that every add is a first registration (no state a library kept from an earlier del, as
 * libev keeps fds in its epoll set) and the measured poller is never disturbed. */
static int measure_registration(struct fanin_case *fc, struct reg_figures *f, char *err,
                                size_t len)
{
    const struct pool *pl = pool_get();
    int k = 100000 / fc->n;
    k = k < 8 ? 8 : k > 256 ? 256 : k;
    int64_t idle = 0, add, del, flush1 = 0, idle1 = 0, flush0 = 0, idle0 = 0;
    if (zero_waits(fc, fc->p, k, fc->n, &idle, err, len) < 0)
        return -1;
    struct poller *q = NULL;
    struct poller_cfg cfg = {.expected_fds = pl->idx_cap};
    int rc = poller_create(fc->ops, &q, &cfg), at = 0;
    if (rc < 0) {
        snprintf(err, len, "a second %s poller (for add_ns, del_ns): %s", fc->ops->name,
                 strerror(-rc));
        return -1;
    }
    int64_t t0 = bench_now_ns();
    rc = register_range(fc, q, 0, fc->n, &at);
    add = bench_now_ns() - t0;
    if (rc < 0) {
        snprintf(err, len, "add of fd %d failed: %s", pl->fds[at], strerror(-rc));
        for (int i = 0; i < at; i++)
            poller_del(q, pl->fds[i]);
        poller_destroy(q);
        return -1;
    }
    rc = zero_waits(fc, q, 1, fc->n, &flush1, err, len);
    if (rc == 0)
        rc = zero_waits(fc, q, k, fc->n, &idle1, err, len);
    t0 = bench_now_ns();
    for (int i = 0; i < fc->n; i++)
        if (poller_del(q, pl->fds[i]) < 0 && rc == 0) {
            snprintf(err, len, "del of fd %d failed", pl->fds[i]);
            rc = -1;
        }
    del = bench_now_ns() - t0;
    if (rc == 0)
        rc = zero_waits(fc, q, 1, 0, &flush0, err, len);
    if (rc == 0)
        rc = zero_waits(fc, q, k, 0, &idle0, err, len);
    poller_destroy(q);
    if (rc < 0)
        return -1;
    f->idle_ns = (double)idle / k;
    f->add_ns = ((double)add + (double)flush1 - (double)idle1 / k) / fc->n;
    f->del_ns = ((double)del + (double)flush0 - (double)idle0 / k) / fc->n;
    return 0;
}

/* ---- the case's callbacks ----------------------------------------------------------------- */

static void drain(const struct fanin_case *fc)
{
    const struct pool *pl = pool_get();
    char buf[256];
    for (int i = 0; i < fc->n && i < pl->count; i++)
        while (read(pl->fds[i], buf, sizeof buf) > 0)
            ;
}

static void release(struct fanin_case *fc)
{
    if (fc->bound)
        placement_unbind_self();
    fc->bound = 0;
    if (fc->p)
        poller_destroy(fc->p);
    fc->p = NULL;
    free(fc->active_idx);
    free(fc->want);
    free(fc->got);
    free(fc->out);
    fc->active_idx = NULL;
    fc->want = fc->got = NULL;
    fc->out = NULL;
}

static void choose_mode(struct fanin_case *fc)
{
    unsigned f = fc->ops->features;
    uint32_t forced = fc->ops->forced_mode;
    if ((forced & MUX_ONESHOT) || !(f & (MUX_F_LEVEL | MUX_F_EDGE)))
        fc->mode = MUX_ONESHOT;
    else if ((forced & MUX_EDGE) || !(f & MUX_F_LEVEL))
        fc->mode = MUX_EDGE;
    else
        fc->mode = 0;
    fc->rearm = (fc->mode | forced) & MUX_ONESHOT ? 1 : 0;
}

/* Quirk c: the backend cannot represent the fd numbers this case needs. */
static int skip_fd_limit(const struct fanin_case *fc, int max_fd, char *msg, size_t len)
{
    snprintf(msg, len, "%s cannot watch fds=%d: they need fd numbers up to %d and it refuses fds "
             ">= %d (FD_SETSIZE; libevent's select method aborts the process there under "
             "fortified glibc)", fc->ops->name, fc->n, max_fd, fc->ops->fd_limit);
    return BENCH_SKIP;
}

/* Quirk g: binds this thread to the placement's first cpu and the helper to its second. */
static int place(struct bench_case *c, struct fanin_case *fc, char *msg, size_t len)
{
    struct placement pl;
    char why[256];
    if (placement_resolve(fc->placement, &pl, why, sizeof why) < 0) {
        snprintf(msg, len, "placement %s: %s", placement_name(fc->placement), why);
        return BENCH_SKIP;
    }
    int apart = pl.cpu[0] >= 0 && pl.cpu[1] >= 0 && pl.cpu[0] != pl.cpu[1];
    if (pool_pin_helper(pl.cpu[1], apart, msg, len) < 0)
        return BENCH_ERROR;
    int ran_on = -1, rc = placement_bind_self(&pl, 0, &ran_on);
    fc->bound = pl.cpu[0] >= 0;
    if (rc < 0) {
        release(fc);
        snprintf(msg, len, "binding the measuring thread to cpu %d (%s) failed: %s (it ran on "
                 "cpu %d)", pl.cpu[0], placement_name(fc->placement), strerror(-rc), ran_on);
        return BENCH_SKIP;
    }
    if (pl.cpu[0] >= 0)
        snprintf(c->note, sizeof c->note, "measuring thread bound to cpu %d (verified), helper "
                 "to cpu %d", ran_on, pl.cpu[1]);
    else
        snprintf(c->note, sizeof c->note, "unpinned: the scheduler placed both processes");
    return BENCH_OK;
}

static int fanin_setup(struct bench_case *c, char *msg, size_t len)
{
    struct fanin_case *fc = c->ctx;
    int limit = fc->ops->fd_limit;
    if (limit > 0 && fc->n + 2 >= limit) /* n fds above stdio need numbers up to n + 2 */
        return skip_fd_limit(fc, fc->n + 2, msg, len);
    int rc = pool_ensure(fc->transport, fc->n, msg, len);
    if (rc < 0) {
        if (!pool_is_limit(rc))
            return BENCH_ERROR;
        c->limit_reached = pool_get()->count;
        return BENCH_LIMIT;
    }
    const struct pool *pl = pool_get();
    int max_fd = 0;
    for (int i = 0; i < fc->n; i++)
        max_fd = pl->fds[i] > max_fd ? pl->fds[i] : max_fd;
    if (limit > 0 && max_fd >= limit)
        return skip_fd_limit(fc, max_fd, msg, len);
    if ((rc = place(c, fc, msg, len)) != BENCH_OK)
        return rc;
    drain(fc); /* bytes a failed case may have left */
    struct poller_cfg cfg = {.expected_fds = max_fd + 1};
    if ((rc = poller_create(fc->ops, &fc->p, &cfg)) < 0) {
        release(fc);
        snprintf(msg, len, "creating the %s poller failed: %s", fc->ops->name, strerror(-rc));
        return (rc == -ENOSYS || rc == -EPERM) ? BENCH_SKIP : BENCH_ERROR;
    }
    choose_mode(fc);
    fc->active_idx = calloc((size_t)fc->active, sizeof *fc->active_idx);
    fc->want = calloc((size_t)fc->n, sizeof *fc->want);
    fc->got = calloc((size_t)fc->n, sizeof *fc->got);
    fc->out = calloc((size_t)fc->active, sizeof *fc->out);
    if (!fc->active_idx || !fc->want || !fc->got || !fc->out) {
        release(fc);
        snprintf(msg, len, "out of memory");
        return BENCH_ERROR;
    }
    for (int i = 0; i < fc->active; i++)
        fc->active_idx[i] = fc->position == POS_FIRST  ? i
                            : fc->position == POS_LAST ? fc->n - fc->active + i
                                                       : (int)((2LL * i + 1) * fc->n / (2LL * fc->active));
    int at = 0;
    if ((rc = register_range(fc, fc->p, 0, fc->n, &at)) < 0) {
        for (int i = 0; i < at; i++)
            poller_del(fc->p, pl->fds[i]);
        release(fc);
        snprintf(msg, len, "registering fd %d (%d of %d) with %s failed: %s", pl->fds[at], at + 1,
                 fc->n, fc->ops->name, strerror(-rc));
        if (rc == -ENOMEM || rc == -ENOSPC || rc == -EMFILE || rc == -ENFILE) {
            c->limit_reached = at;
            return BENCH_LIMIT;
        }
        return BENCH_ERROR;
    }
    fc->wave = 0;
    fc->expected = fc->delivered = fc->pos = fc->round_left = 0;
    if (pool_set_active(fc->active_idx, fc->active, msg, len) < 0)
        goto failed;
    /* Calibration, also the warm-up: three rounds, then the wall time of 16 waits (at least 4,
     * and no more than 20 ms of them). */
    int64_t ns, t0 = 0;
    int waits = 0;
    for (int i = 0; i < 3 * ((fc->writes + fc->active - 1) / fc->active); i++)
        if (step(fc, 0, &ns, msg, len) < 0 || finish_wave(fc, msg, len) < 0)
            goto failed;
    t0 = bench_now_ns();
    while (waits < 4 || (waits < 16 && bench_now_ns() - t0 < 20000000)) {
        if (step(fc, 0, &ns, msg, len) < 0)
            goto failed;
        waits++;
    }
    if (finish_wave(fc, msg, len) < 0)
        goto failed;
    double per_wait_s = (double)(bench_now_ns() - t0) / 1e9 / waits;
    double budget_s = fc->quick ? 0.05 : 0.2; /* the harness's min-time defaults */
    double it = budget_s / per_wait_s;
    c->iterations = it < 10 ? 10 : it > 200000 ? 200000 : (int64_t)it;
    return BENCH_OK;
failed:
    drain(fc);
    for (int i = 0; i < fc->n; i++)
        poller_del(fc->p, pl->fds[i]);
    release(fc);
    return BENCH_ERROR;
}

static void fanin_run_start(struct bench_case *c, struct bench_state *st)
{
    (void)st;
    struct fanin_case *fc = c->ctx;
    fc->waits = fc->events = fc->made = fc->seen = 0;
    fc->wait_ns = 0;
}

static double fanin_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct fanin_case *fc = c->ctx;
    char err[256];
    double total = 0;
    for (uint64_t i = 0; i < iters; i++) {
        int64_t ns;
        if (step(fc, 1, &ns, err, sizeof err) < 0) {
            bench_fail(st, "%s", err);
            break;
        }
        total += (double)ns;
        bench_sample(st, (double)ns);
    }
    return total;
}

static void fanin_run_end(struct bench_case *c, struct bench_state *st)
{
    struct fanin_case *fc = c->ctx;
    char err[256];
    /* A wave cut by the end of the repetition is delivered untimed, and checked. */
    if (finish_wave(fc, err, sizeof err) < 0) {
        bench_fail(st, "%s", err);
        return;
    }
    if (fc->seen != fc->made) {
        bench_fail(st, "%llu events were delivered for %llu fds made ready",
                   (unsigned long long)fc->seen, (unsigned long long)fc->made);
        return;
    }
    if (fc->events == 0 || fc->waits == 0) {
        bench_fail(st, "no event was delivered in %llu waits", (unsigned long long)fc->waits);
        return;
    }
    bench_counter(st, "event_ns", fc->wait_ns / (double)fc->events, "ns");
    bench_counter(st, "events_per_wait", (double)fc->events / (double)fc->waits, "count");
    struct reg_figures f;
    if (measure_registration(fc, &f, err, sizeof err) < 0) {
        bench_fail(st, "%s", err);
        return;
    }
    bench_counter(st, "add_ns", f.add_ns, "ns");
    bench_counter(st, "del_ns", f.del_ns, "ns");
    bench_counter(st, "idle_wait_ns", f.idle_ns, "ns");
}

static void fanin_teardown(struct bench_case *c)
{
    struct fanin_case *fc = c->ctx;
    const struct pool *pl = pool_get();
    drain(fc);
    for (int i = 0; i < fc->n && i < pl->count; i++)
        poller_del(fc->p, pl->fds[i]);
    release(fc);
}

static void fanin_free(void *ctx)
{
    struct fanin_case *fc = ctx;
    release(fc);
    free(fc);
}

/* ---- the fit ----------------------------------------------------------------------------- */

static int fit_derive(struct bench_case *c, struct bench_derived *out, char *msg, size_t len)
{
    const struct fanin_fit *f = c->ctx;
    double x[PARAM_MAX_VALUES + 8], y[PARAM_MAX_VALUES + 8];
    int n = 0;
    long long lo = 0, hi = 0;
    for (int i = 0; i < f->count; i++) {
        const struct bench_case *p = f->points[i];
        if (!p->result.ran)
            continue;
        long long fds = param_number(p->id.v[COL_FDS]);
        lo = n == 0 || fds < lo ? fds : lo;
        hi = n == 0 || fds > hi ? fds : hi;
        x[n] = (double)fds;
        y[n] = p->result.median;
        n++;
    }
    struct stats_fit fit;
    if (stats_fit_line(x, y, n, &fit) < 0) {
        snprintf(msg, len, "the fit needs two sweep points of different fds that ran; %d ran", n);
        return BENCH_SKIP;
    }
    char note[256];
    snprintf(note, sizeof note, "least squares over the median wait_ns of %d points, fds=%lld.."
             "%lld: wait_ns = wait_ns_fixed + wait_ns_per_fd * fds", n, lo, hi);
    bench_derived_row(out, "wait_ns_per_fd", fit.slope, "ns", note);
    bench_derived_row(out, "wait_ns_fixed", fit.intercept, "ns", note);
    bench_derived_row(out, "wait_fit_r2", fit.r2, "ratio", note);
    return BENCH_OK;
}

/* ---- planning ---------------------------------------------------------------------------- */

static const struct param_use params[] = {
    {.key = "fds", .defaults = "auto", .quick = "1,10,100,1000,10000"},
    {.key = "active", .defaults = "1"},
    {.key = "writes", .defaults = "auto"},
    {.key = "position", .defaults = "spread"},
    {.key = "timeout", .defaults = "blocking"},
    {.key = "transport", .defaults = "unix", .choices = MUX_CHOICES("unix", "tcp")},
    {.key = "placement", .defaults = "auto"}, /* quirk g */
    {0},
};

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

static struct bench_case *add_case(struct plan *plan, const struct workload *w,
                                   const struct poller_ops *poller, const char *const col[7])
{
    struct bench_case *c = plan_add(plan, w, poller);
    if (!c)
        return NULL;
    static const enum param_col cols[7] = {COL_FDS,     COL_ACTIVE,    COL_WRITES,   COL_POSITION,
                                           COL_TIMEOUT, COL_TRANSPORT, COL_PLACEMENT};
    for (int i = 0; i < 7; i++)
        param_row_set(&c->id, cols[i], col[i]);
    bench_case_name(c);
    return c;
}

/* One sweep: a case per fds value (proto has everything else), then the fit over them. */
static int plan_sweep(struct plan *plan, const struct workload *w, const struct fanin_case *proto,
                      const char *id[7], const long long *fds, int nf)
{
    struct fanin_fit *fit = calloc(1, sizeof *fit);
    if (!fit)
        return -1;
    for (int i = 0; i < nf; i++) {
        char fcol[32];
        snprintf(fcol, sizeof fcol, "%lld", fds[i]);
        id[0] = fcol;
        struct bench_case *c = add_case(plan, w, proto->ops, id);
        struct fanin_case *fc = c ? malloc(sizeof *fc) : NULL;
        if (!fc) {
            free(fit);
            return -1;
        }
        *fc = *proto;
        fc->n = (int)fds[i];
        c->ctx = fc;
        c->free_ctx = fanin_free;
        c->group = fc->group;
        c->metric = "wait_ns";
        c->timing = BENCH_TIME_MANUAL;
        c->batch = 1;
        c->setup = fanin_setup;
        c->run_start = fanin_run_start;
        c->body = fanin_body;
        c->run_end = fanin_run_end;
        c->teardown = fanin_teardown;
        fit->points[fit->count++] = c;
    }
    /* The fit: outside the sweep's group, so a limit that stops the sweep still leaves the
     * points that ran to be fitted. */
    id[0] = "";
    struct bench_case *c = add_case(plan, w, proto->ops, id);
    if (!c) {
        free(fit);
        return -1;
    }
    c->ctx = fit;
    c->free_ctx = free;
    c->derive = fit_derive;
    return 0;
}

static int fanin_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, char *msg, size_t len)
{
    long long max_n = pool_max_pairs();
    struct param_set act, wr, pos, tmo, tr, plc;
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
    const struct param_set *dims[6] = {&tr, &tmo, &pos, &act, &wr, &plc};
    int total = 1;
    for (int d = 0; d < 6; d++)
        total *= dims[d]->count;
    for (int combo = 0; combo < total; combo++) {
        const char *v[6];
        for (int d = 5, rest = combo; d >= 0; d--) {
            v[d] = dims[d]->values[rest % dims[d]->count];
            rest /= dims[d]->count;
        }
        long long active = param_number(v[3]);
        long long writes = strcmp(v[4], "auto") == 0 ? active : param_number(v[4]);
        const char *placement = strcmp(v[5], "auto") == 0 ? auto_placement() : v[5];
        char acol[32], wcol[32];
        snprintf(acol, sizeof acol, "%lld", active);
        snprintf(wcol, sizeof wcol, "%lld", writes);
        const char *id[7] = {"", acol, wcol, v[2], v[1], v[0], placement};
        struct fanin_case proto = {
            .ops = poller, .active = (int)active, .writes = (int)writes, .quick = o->quick,
            .position = strcmp(v[2], "first") == 0 ? POS_FIRST
                        : strcmp(v[2], "last") == 0 ? POS_LAST
                                                     : POS_SPREAD,
            .timeout_ns = strcmp(v[1], "zero") == 0 ? 0 : -1,
            .transport = strcmp(v[0], "tcp") == 0 ? POOL_TCP : POOL_UNIX,
            .placement = (enum placement_id)placement_lookup(placement),
        };
        snprintf(proto.group, sizeof proto.group, "%s/%s/a%s/w%s/%s/%s/%s/%s", w->name,
                 poller->name, acol, wcol, v[2], v[1], v[0], placement);
        long long fds[PARAM_MAX_VALUES + 8];
        int nf = sweep(o, w, active, max_n, fds, PARAM_MAX_VALUES + 8);
        if (plan_sweep(plan, w, &proto, id, fds, nf) < 0) {
            snprintf(msg, len, "out of memory while planning fanin");
            return 1;
        }
    }
    return 0;
}

static void fanin_finish(void) { pool_destroy(); }

static void fanin_interrupted(void) { pool_kill_helper(); }

const struct workload fanin_workload = {
    .name = "fanin",
    .summary = "N sockets registered, A made ready per round: the cost of one wait against N "
               "(fds=auto: 1, 2, 4 ... up to the fd limit, plus 1,000 and 10,000), of one event, "
               "of add, del and an idle wait, and a least-squares fit per backend",
    .params = params,
    .per_poller = 1,
    .plan = fanin_plan,
    .finish = fanin_finish,
    .interrupted = fanin_interrupted,
};
