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
 * With mode=cycle (the op of libevent's test/bench.c and of `perf bench epoll wait`), this
 * thread writes the wave itself (copies of the active fds' peer ends, from the helper), waits
 * until it is delivered and reads it: one cycle_ns op = the A writes, the waits, the A reads
 * and the re-arms, so muxbench's figures can be set beside theirs.
 *
 * Metrics (docs/csv.md):
 *   wait_ns          one wait call: the primary metric (a Google Benchmark iteration is one
 *                    wait; cycle_ns with mode=cycle), with a p50 and a p99 of the per-wait
 *                    samples pooled over the repetitions (their count in the row). Every byte is
 *                    written before the wait starts: a wait measures the backend finding and
 *                    returning the ready fds among the N it watches, not a sleep or a wakeup.
 *   event_ns         the same waits' time divided by the events they returned.
 *   events_per_wait  events a wait returned (A when a backend hands over a whole wave at once).
 *   rearm_ns         oneshot variants: one re-arm (mod()) after an event, timed alone; the
 *                    wait_ns of a oneshot backend leaves it out, a real loop pays it per event.
 *   idle_wait_ns     one zero-timeout wait over the N registered fds with none ready: K waits
 *                    timed as one region, divided by K.
 *   add_ns, del_ns   registering / removing one fd, on a fresh poller of the same backend (so
 *                    every add is a first one): the N adds (dels) timed as one region, plus the
 *                    first zero-timeout wait after them minus an idle one (the "flush":
 *                    libraries that defer the system call to their next loop run, libev and
 *                    libuv, pay it there; for the others it is the first wait's cold start),
 *                    divided by N.
 *   bracket_ns       an empty timing bracket (two clock reads), median of 1,001: what each
 *                    wait_ns sample carries besides the wait.
 *   wait_sleeps      voluntary context switches (getrusage RUSAGE_THREAD, read outside the
 *                    bracket) during the repetition's timed waits: a wait must not sleep, so
 *                    anything but 0 says the figure includes a sleep.
 *   fdtable_sharers  other threads sharing this thread's fd table (kcmp): 0 or 1, as fdtable.
 *   bare_poll_ns     the reference: poll() called directly over the same N fds with a wave
 *                    written, K calls each bracketed as a wait is, mean; wait_vs_bare_poll is
 *                    the repetition's mean wait_ns over it (the poll backend's own overhead).
 *   fit (derived)    per sweep, over the points' p50: wait_ns_per_fd and wait_ns_fixed by least
 *                    squares weighted by 1/wait^2 (each point counts by its relative error, so
 *                    the top two or three do not decide the line), each with its standard
 *                    error (stat `se`), wait_fit_r2, wait_fit_points, and wait_exponent (se):
 *                    the log-log slope over the top two decades of fds, the order of growth
 *                    (1 for O(n), 0 for O(1)). No fit from fewer than 3 points or under a 10x
 *                    span of fds.
 *   parts (derived)  per configuration, C1's decomposition of the per-fd cost, each a difference
 *                    of fitted slopes with its se: per_fd_scan_ns (timeout=zero, fdtable=
 *                    private), per_fd_wqueue_ns (blocking minus zero: the wait-queue entry a
 *                    blocking poll or select registers on every fd it scans before the ready
 *                    one, __pollwait), per_fd_fdtable_tax_ns (shared minus private, zero).
 * One clock read brackets each timed region (bracket_ns); add, del and idle waits are timed in
 * batches so the clock does not dominate. A wait is timed alone, for its percentiles, so each
 * wait_ns carries one bracket: a few percent of the cheapest wait (io_uring and epoll,
 * ~0.6-0.8 us here), which is why bracket_ns is in every case's rows.
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
 *     (a mod: one epoll_ctl or io_uring_enter): rearm_ns is that re-arm, timed alone.
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
 *  h) `fdtable`: while another thread shares this thread's fd table, every fdget() in the
 *     kernel takes its slow path (an atomic get and put per fd per call), a per-fd tax on
 *     poll and select that a one-thread event loop does not pay. The run's signal thread
 *     leaves the table (harness/run.c), so by default (private) this thread is alone in it;
 *     fdtable=shared starts one idle thread for the case, as a multi-threaded server has.
 *     fdtable=auto (the default) adds the shared sweep only where it is a part of C1's
 *     decomposition: timeout=zero on a backend whose wait scans every fd (no MUX_F_O1); an
 *     O(1) backend's wait touches no fd it does not report, so it has no per-fd tax to fit.
 *     setup() checks with kcmp(KCMP_FILES) that the table is what the column says, and skips
 *     the case when it is not (a sanitizer's own thread shares it, for instance).
 *  i) Follow-up waits (the rest of a wave a backend handed over in parts) have a zero timeout:
 *     with a finite one the libraries arm and cancel a timer inside the timed wait.
 *  j) Peers: what the row's note says besides (libuv polls again when its 1,024-entry array
 *     filled; libev's del makes no system call; libev's add includes our fcntl check). io_uring
 *     on a kernel without DEFER_TASKRUN (before 6.1) posts completions on the way back from
 *     any system call, here the untimed read: every such row's note says its wait is a ring
 *     read.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "workloads/support/fanin_pool.h"
#include "harness/placement.h"
#include "harness/stats.h"
#include "harness/planner.h"

#define LOST_NS 1000000000LL     /* a wave incomplete this long after its writes lost events */

/* Tests only: tests/CMakeLists.txt builds a copy of fanin with FANIN_SABOTAGE_TIMING, in which a
 * wait is timed from its middle, to show that the known-cost test fails on a wrong measurement. */
#ifdef FANIN_SABOTAGE_TIMING
#define WAIT_NS(t0, t1) (((t1) - (t0)) / 2)
#else
#define WAIT_NS(t0, t1) ((t1) - (t0))
#endif
#define TOKEN(idx) ((void *)(uintptr_t)((idx) + 1))

enum { POS_SPREAD, POS_FIRST, POS_LAST };

/* An idle thread that shares the measuring thread's fd table (fdtable=shared). */
struct sharer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop, started;
};

struct fanin_case {
    const struct poller_ops *ops;
    int n, active, writes, position, transport, quick;
    enum placement_id placement; /* thread 0: this one, thread 1: the helper */
    int bound;                   /* this thread is bound to the placement's cpu */
    int64_t timeout_ns; /* -1 blocking, 0 zero */
    int shared_fdtable; /* fdtable=shared: an idle thread shares this thread's fd table */
    int cycle;          /* mode=cycle: this thread writes, waits and reads in one op */
    char group[200];
    struct sharer *sharer;
    int *writers; /* mode=cycle: our copies of the active fds' peer ends, per active slot */
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
    uint64_t waits, events, made, seen, rearms, sleeps;
    double wait_ns, rearm_ns;
};

/* The fit of one sweep; its result is kept for the decomposition (struct fanin_parts). */
struct fanin_fit {
    int count;
    struct bench_case *points[PARAM_MAX_VALUES + 8];
    int cycle; /* mode=cycle: a fit of cycle_ns */
    int fitted;
    struct stats_fit per_fd; /* wait_ns against fds, weighted by 1/wait_ns^2 */
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
    if (fc->cycle) { /* this thread writes: inside the op */
        for (int k = 0; k < count; k++)
            if (write(fc->writers[(fc->pos + k) % fc->active], "x", 1) != 1) {
                snprintf(err, len, "the write to the peer of fd %d failed: %s",
                         pool_get()->fds[fc->active_idx[(fc->pos + k) % fc->active]],
                         strerror(errno));
                return -1;
            }
    } else if (pool_wave(fc->pos, count, err, len) < 0) {
        return -1;
    }
    fc->pos = (fc->pos + count) % fc->active;
    fc->round_left -= count;
    fc->expected = count;
    fc->delivered = 0;
    fc->waits_in_wave = 0;
    fc->made += (uint64_t)count;
    fc->wave_start = bench_now_ns();
    return 0;
}

static int take_events(struct fanin_case *fc, int n, int timed, char *err, size_t len)
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
        if (!fc->rearm)
            continue;
        int64_t t0 = bench_now_ns();
        int rc = poller_mod(fc->p, e->fd, MUX_IN | fc->mode, e->data);
        if (timed) { /* rearm_ns: one clock read per mod, as wait_ns has per wait */
            fc->rearm_ns += (double)(bench_now_ns() - t0);
            fc->rearms++;
        }
        if (rc < 0) {
            snprintf(err, len, "re-arming fd %d (mod) failed: %s", e->fd, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* Voluntary context switches of this thread so far: a wait that must not sleep adds none. */
static long voluntary_switches(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

static int check_lost(const struct fanin_case *fc, int64_t now, char *err, size_t len)
{
    if (fc->delivered < fc->expected && now - fc->wave_start > LOST_NS) {
        snprintf(err, len, "events lost: %d of the %d fds made ready by wave %u were delivered "
                 "in %d waits over %.1f s (events delivered must equal fds made ready)",
                 fc->delivered, fc->expected, fc->wave, fc->waits_in_wave,
                 (double)(now - fc->wave_start) / 1e9);
        return -1;
    }
    return 0;
}

/* mode=cycle: one op is a whole wave by this thread: its writes, the waits that deliver it,
 * the reads (and re-arms). *ns is the op's time. */
static int cycle_op(struct fanin_case *fc, int timed, int64_t *ns, char *err, size_t len)
{
    long sw0 = timed ? voluntary_switches() : 0;
    int64_t t0 = bench_now_ns();
    if (start_wave(fc, err, len) < 0)
        return -1;
    int waits = 0, events = 0;
    while (fc->delivered < fc->expected) {
        int n = poller_wait(fc->p, fc->out, fc->active, waits == 0 ? fc->timeout_ns : 0);
        waits++;
        fc->waits_in_wave++;
        if (n < 0) {
            snprintf(err, len, "wait failed: %s", strerror(-n));
            return -1;
        }
        events += n;
        if (take_events(fc, n, timed, err, len) < 0 || check_lost(fc, bench_now_ns(), err, len) < 0)
            return -1;
    }
    *ns = bench_now_ns() - t0;
    if (timed) {
        fc->sleeps += (uint64_t)(voluntary_switches() - sw0);
        fc->waits += (uint64_t)waits;
        fc->events += (uint64_t)events;
        fc->wait_ns += (double)*ns;
    }
    return 0;
}

/* One wait, starting the next wave first when the last one is complete. *ns is the wait's
 * time; `timed` says whether it counts in this repetition's figures. */
static int step(struct fanin_case *fc, int timed, int64_t *ns, char *err, size_t len)
{
    if (fc->cycle)
        return cycle_op(fc, timed, ns, err, len);
    if (fc->delivered == fc->expected && start_wave(fc, err, len) < 0)
        return -1;
    /* A follow-up wait (the rest of a wave a backend handed over in parts) has a zero
     * timeout: every byte was written before the first wait, and a finite timeout would make
     * the libraries arm and cancel a timer inside the timed wait. */
    int64_t timeout = fc->waits_in_wave == 0 ? fc->timeout_ns : 0;
    long sw0 = timed ? voluntary_switches() : 0;
    int64_t t0 = bench_now_ns();
    int n = poller_wait(fc->p, fc->out, fc->active, timeout);
    int64_t t1 = bench_now_ns();
    *ns = WAIT_NS(t0, t1);
    fc->waits_in_wave++;
    if (n < 0) {
        snprintf(err, len, "wait failed: %s", strerror(-n));
        return -1;
    }
    if (timed) {
        fc->sleeps += (uint64_t)(voluntary_switches() - sw0);
        fc->waits++;
        fc->events += (uint64_t)n;
        fc->wait_ns += (double)*ns;
    }
    if (take_events(fc, n, timed, err, len) < 0)
        return -1;
    return check_lost(fc, t1, err, len);
}

static int finish_wave(struct fanin_case *fc, char *err, size_t len)
{
    int64_t ns;
    while (fc->delivered < fc->expected)
        if (step(fc, 0, &ns, err, len) < 0)
            return -1;
    return 0;
}

/* ---- what a timing bracket and a bare poll() cost ---------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* bracket_ns: the median of empty timing brackets (two clock reads, as around each wait). */
static double bracket_ns(void)
{
    enum { K = 1001 };
    double d[K];
    for (int i = 0; i < K; i++) {
        int64_t t0 = bench_now_ns();
        d[i] = (double)(bench_now_ns() - t0);
    }
    qsort(d, K, sizeof d[0], cmp_double);
    return d[K / 2];
}

/* bare_poll_ns: the mean of k poll() calls made directly (no backend, no wrapper) over the same
 * n fds with a wave written, each timed as a wait is: the reference the poll backend's wait_ns
 * is compared with (wait_vs_bare_poll). Level-triggered poll() consumes nothing: the wave is
 * delivered afterwards through the backend, untimed. */
static int bare_poll(struct fanin_case *fc, double *out_ns, char *err, size_t len)
{
    const struct pool *pl = pool_get();
    struct pollfd *pfd = malloc((size_t)fc->n * sizeof *pfd);
    if (!pfd) {
        snprintf(err, len, "out of memory for the bare poll reference");
        return -1;
    }
    for (int i = 0; i < fc->n; i++)
        pfd[i] = (struct pollfd){.fd = pl->fds[i], .events = POLLIN};
    int rc = finish_wave(fc, err, len) < 0 || start_wave(fc, err, len) < 0 ? -1 : 0;
    int k = 200000 / fc->n;
    k = k < 8 ? 8 : k > 256 ? 256 : k;
    double total = 0;
    for (int i = 0; rc == 0 && i < k; i++) {
        int64_t t0 = bench_now_ns();
        int n = poll(pfd, (nfds_t)fc->n, fc->timeout_ns < 0 ? -1 : 0);
        total += (double)(bench_now_ns() - t0);
        if (n != fc->expected) {
            snprintf(err, len, "a bare poll() over the %d fds returned %d, not the %d written", fc->n,
                     n, fc->expected);
            rc = -1;
        }
    }
    free(pfd);
    if (rc == 0)
        rc = finish_wave(fc, err, len);
    *out_ns = total / k;
    return rc;
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

/* ---- the fd table (fdtable=private|shared) ----------------------------------------------- */

/* A ThreadSanitizer build runs one thread of its own, started by the process's first
 * pthread_create, which shares the table like any thread: tolerated in that build (whose
 * figures mean nothing anyway), and said in the note. */
#if defined(__SANITIZE_THREAD__)
#define SANITIZER_SHARERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SANITIZER_SHARERS 1
#endif
#endif
#ifndef SANITIZER_SHARERS
#define SANITIZER_SHARERS 0
#endif

/* How many other threads of this process share the calling thread's fd table, told by
 * kcmp(KCMP_FILES) against every task of /proc/self/task; -errno when that cannot be told. */
static int fdtable_sharers(void)
{
    pid_t self = (pid_t)syscall(SYS_gettid);
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -errno;
    int count = 0, err = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self)
            continue;
        long r = syscall(SYS_kcmp, self, tid, KCMP_FILES, 0, 0);
        if (r == 0)
            count++;
        else if (r < 0 && errno != ESRCH) /* a thread that just exited is not counted */
            err = errno;
    }
    closedir(d);
    return err ? -err : count;
}

static void *sharer_main(void *arg)
{
    struct sharer *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop)
        pthread_cond_wait(&s->wake, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void sharer_stop(struct fanin_case *fc)
{
    struct sharer *s = fc->sharer;
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
    fc->sharer = NULL;
}

/* fdtable=shared: an idle thread (created with pthread_create, so sharing the fd table, as
 * every thread of a multi-threaded server does) lives for the case. */
static int sharer_start(struct fanin_case *fc, char *msg, size_t len)
{
    struct sharer *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, len, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    fc->sharer = s;
    int rc = pthread_create(&s->thread, NULL, sharer_main, s);
    if (rc) {
        snprintf(msg, len, "fdtable=shared: starting the idle thread that shares the fd table: %s",
                 strerror(rc));
        sharer_stop(fc);
        return -rc;
    }
    s->started = 1;
    return 0;
}

/* Starts the sharer for fdtable=shared and checks that the table is what the case's fdtable
 * column says: private (no other thread shares it) or shared (exactly the idle thread). */
static int fdtable_prepare(struct bench_case *c, struct fanin_case *fc, char *msg, size_t len)
{
    int rc = fc->shared_fdtable ? sharer_start(fc, msg, len) : 0;
    if (rc < 0)
        return rc == -EAGAIN ? BENCH_LIMIT : BENCH_ERROR;
    int sharers = fdtable_sharers();
    if (sharers < 0) {
        sharer_stop(fc);
        snprintf(msg, len, "fdtable=%s cannot be verified: kcmp(KCMP_FILES) over /proc/self/task "
                 "failed: %s", fc->shared_fdtable ? "shared" : "private", strerror(-sharers));
        return BENCH_SKIP;
    }
    int extra = sharers - fc->shared_fdtable;
    if (extra != 0 && extra != SANITIZER_SHARERS) {
        sharer_stop(fc);
        snprintf(msg, len, "fdtable=%s: %d other thread%s of this process share%s the measuring "
                 "thread's fd table (a run's own threads, a sanitizer's?), so the case would not "
                 "measure what its fdtable column says", fc->shared_fdtable ? "shared" : "private",
                 sharers, sharers == 1 ? "" : "s", sharers == 1 ? "s" : "");
        return BENCH_SKIP;
    }
    size_t used = strlen(c->note);
    snprintf(c->note + used, sizeof c->note - used, "; fd table %s (verified by kcmp)%s",
             fc->shared_fdtable ? "shared with one idle thread" : "private to the measuring thread",
             extra ? ", and ThreadSanitizer's own thread" : "");
    return BENCH_OK;
}

/* Quirk j: what a peer's figures include that native epoll's do not, and what an io_uring
 * wait leaves out on a kernel without DEFER_TASKRUN, in the row's note. */
static void note_peer(struct bench_case *c, const struct fanin_case *fc)
{
    const char *name = fc->ops->name, *what = NULL;
    if (strcmp(name, "libev") == 0)
        what = "libev: del_ns has no kernel removal (lazy), add_ns includes our fcntl check";
    else if (strcmp(name, "libuv") == 0 && fc->active >= 1024)
        what = "libuv: 1,024+ ready fds take several epoll_waits per loop run";
    else if (strncmp(name, "io_uring", 8) == 0 && strstr(poller_uring_setup_flags(), "no DEFER"))
        what = "io_uring without DEFER_TASKRUN: completions are posted in the untimed read, "
               "the timed wait reads the ring";
    size_t used = strlen(c->note);
    if (what)
        snprintf(c->note + used, sizeof c->note - used, "; %s", what);
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
    sharer_stop(fc);
    for (int i = 0; fc->writers && i < fc->active; i++)
        if (fc->writers[i] >= 0)
            close(fc->writers[i]);
    free(fc->writers);
    fc->writers = NULL;
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

/* mode=cycle: copies of the active fds' peer ends, from the helper, so that this thread
 * writes. They count against RLIMIT_NOFILE (POOL_FD_RESERVE covers a few). */
static int take_writers(struct fanin_case *fc, char *msg, size_t len)
{
    fc->writers = malloc((size_t)fc->active * sizeof *fc->writers);
    if (!fc->writers) {
        snprintf(msg, len, "out of memory");
        return BENCH_ERROR;
    }
    for (int i = 0; i < fc->active; i++)
        fc->writers[i] = -1;
    int rc = pool_peer_ends(fc->active_idx, fc->active, fc->writers, msg, len);
    if (rc < 0)
        return pool_is_limit(rc) ? BENCH_LIMIT : BENCH_ERROR;
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
    if ((rc = fdtable_prepare(c, fc, msg, len)) != BENCH_OK) {
        release(fc);
        return rc;
    }
    note_peer(c, fc);
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
    if (fc->cycle && (rc = take_writers(fc, msg, len)) != BENCH_OK) {
        release(fc);
        return rc;
    }
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
    fc->waits = fc->events = fc->made = fc->seen = fc->rearms = fc->sleeps = 0;
    fc->wait_ns = fc->rearm_ns = 0;
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
    if (fc->rearms)
        bench_counter(st, "rearm_ns", fc->rearm_ns / (double)fc->rearms, "ns");
    bench_counter(st, "wait_sleeps", (double)fc->sleeps, "count");
    if (fc->sleeps && !strstr(c->note, "slept")) { /* flagged in every row of the case */
        size_t used = strlen(c->note);
        snprintf(c->note + used, sizeof c->note - used, "; FLAG: timed waits slept (%llu "
                 "voluntary switches in a repetition): the figure includes a sleep",
                 (unsigned long long)fc->sleeps);
    }
    bench_counter(st, "bracket_ns", bracket_ns(), "ns");
    int sharers = fdtable_sharers();
    bench_counter(st, "fdtable_sharers", sharers < 0 ? NAN : sharers, "count");
    if (!fc->cycle) {
        double bare;
        if (bare_poll(fc, &bare, err, sizeof err) < 0) {
            bench_fail(st, "%s", err);
            return;
        }
        bench_counter(st, "bare_poll_ns", bare, "ns");
        bench_counter(st, "wait_vs_bare_poll", fc->wait_ns / (double)fc->waits / bare, "ratio");
    }
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

static const struct param_use params[] = {
    {.key = "fds", .defaults = "auto", .quick = "1,10,100,1000,10000"},
    {.key = "active", .defaults = "1"},
    {.key = "writes", .defaults = "auto"},
    {.key = "position", .defaults = "spread"},
    {.key = "timeout", .defaults = "blocking,zero"}, /* C1: the registration is their difference */
    {.key = "transport", .defaults = "unix", .choices = MUX_CHOICES("unix", "tcp")},
    {.key = "placement", .defaults = "auto"}, /* quirk g */
    {.key = "fdtable", .defaults = "auto", .quick = "private"}, /* quirk h */
    {.key = "mode", .defaults = "wave"},
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

/* One sweep: a case per fds value (proto has everything else), then the fit over them, which
 * *out gets (for the decomposition). */
static int plan_sweep(struct plan *plan, const struct workload *w, const struct fanin_case *proto,
                      const char *id[ID_COLS], const long long *fds, int nf, struct fanin_fit **out)
{
    struct fanin_fit *fit = calloc(1, sizeof *fit);
    if (!fit)
        return -1;
    fit->cycle = proto->cycle;
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
        c->metric = proto->cycle ? "cycle_ns" : "wait_ns";
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

static int fanin_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, char *msg, size_t len)
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
        struct fanin_case proto = {
            .ops = poller, .active = (int)active, .writes = (int)writes, .quick = o->quick,
            .position = strcmp(v[D_POS], "first") == 0 ? POS_FIRST
                        : strcmp(v[D_POS], "last") == 0 ? POS_LAST
                                                     : POS_SPREAD,
            .timeout_ns = strcmp(v[D_TMO], "zero") == 0 ? 0 : -1,
            .shared_fdtable = strcmp(v[D_FDT], "shared") == 0,
            .cycle = strcmp(v[D_MODE], "cycle") == 0,
            .transport = strcmp(v[D_TR], "tcp") == 0 ? POOL_TCP : POOL_UNIX,
            .placement = (enum placement_id)placement_lookup(placement),
        };
        snprintf(proto.group, sizeof proto.group, "%s/%s/a%s/w%s/%s/%s/%s/%s/%s/%s", w->name,
                 poller->name, acol, wcol, v[D_POS], v[D_TMO], v[D_TR], placement, v[D_FDT],
                 v[D_MODE]);
        long long fds[PARAM_MAX_VALUES + 8];
        int nf = sweep(o, w, active, max_n, fds, PARAM_MAX_VALUES + 8);
        struct fanin_fit *fit = NULL;
        if (plan_sweep(plan, w, &proto, id, fds, nf, &fit) < 0) {
            rc = 1;
            break;
        }
        if (proto.cycle)
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
        parts[k]->fit[proto.timeout_ns < 0][proto.shared_fdtable] = fit;
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
