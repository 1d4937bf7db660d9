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
 *
 * This file is the case: the waves, the timed wait and its checks, setup and teardown. The
 * machinery is in workloads/support/: the socket pool and its helper process (fanin_pool),
 * the sweeps, fits and decomposition (fanin_sweep), the reference figures beside a wait
 * (fanin_refs: bracket, bare poll, add, del, idle), the fd-table sharer (fdtable) and the
 * switch count behind wait_sleeps (switch_count).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workloads/support/fanin_pool.h"
#include "workloads/support/fanin_refs.h"
#include "workloads/support/fanin_sweep.h"
#include "workloads/support/fdtable.h"
#include "workloads/support/switch_count.h"
#include "harness/placement.h"
#include "harness/stats.h"
#include "harness/planner.h"

#define LOST_NS 1000000000LL     /* a wave incomplete this long after its writes lost events */

/* Tests only: tests/workloads/CMakeLists.txt builds a copy of fanin with FANIN_SABOTAGE_TIMING, in which a
 * wait is timed from its middle, to show that the known-cost test fails on a wrong measurement. */
#ifdef FANIN_SABOTAGE_TIMING
#define WAIT_NS(t0, t1) (((t1) - (t0)) / 2)
#else
#define WAIT_NS(t0, t1) ((t1) - (t0))
#endif

struct fanin_case {
    struct fanin_config cfg; /* the planned parameters (fanin_sweep.h) */
    int n;                   /* fds */
    int bound;               /* this thread is bound to the placement's cpu */
    struct fdtable_sharer *sharer; /* fdtable=shared: the idle thread */
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

/* ---- one wave, one wait ------------------------------------------------------------------- */

static int start_wave(struct fanin_case *fc, char *err, size_t len)
{
    if (fc->round_left == 0)
        fc->round_left = fc->cfg.writes;
    int count = fc->round_left < fc->cfg.active ? fc->round_left : fc->cfg.active;
    if (++fc->wave == 0) { /* 2^32 waves: start the marks again */
        memset(fc->want, 0, (size_t)fc->n * sizeof *fc->want);
        memset(fc->got, 0, (size_t)fc->n * sizeof *fc->got);
        fc->wave = 1;
    }
    for (int k = 0; k < count; k++)
        fc->want[fc->active_idx[(fc->pos + k) % fc->cfg.active]] = fc->wave;
    if (fc->cfg.cycle) { /* this thread writes: inside the op */
        for (int k = 0; k < count; k++)
            if (write(fc->writers[(fc->pos + k) % fc->cfg.active], "x", 1) != 1) {
                snprintf(err, len, "the write to the peer of fd %d failed: %s",
                         pool_get()->fds[fc->active_idx[(fc->pos + k) % fc->cfg.active]],
                         strerror(errno));
                return -1;
            }
    } else if (pool_wave(fc->pos, count, err, len) < 0) {
        return -1;
    }
    fc->pos = (fc->pos + count) % fc->cfg.active;
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
        if (e->data != FANIN_TOKEN(idx)) {
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
    long sw0 = timed ? switch_count_self_voluntary() : 0;
    int64_t t0 = bench_now_ns();
    if (start_wave(fc, err, len) < 0)
        return -1;
    int waits = 0, events = 0;
    while (fc->delivered < fc->expected) {
        int n = poller_wait(fc->p, fc->out, fc->cfg.active, waits == 0 ? fc->cfg.timeout_ns : 0);
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
        fc->sleeps += (uint64_t)(switch_count_self_voluntary() - sw0);
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
    if (fc->cfg.cycle)
        return cycle_op(fc, timed, ns, err, len);
    if (fc->delivered == fc->expected && start_wave(fc, err, len) < 0)
        return -1;
    /* A follow-up wait (the rest of a wave a backend handed over in parts) has a zero
     * timeout: every byte was written before the first wait, and a finite timeout would make
     * the libraries arm and cancel a timer inside the timed wait. */
    int64_t timeout = fc->waits_in_wave == 0 ? fc->cfg.timeout_ns : 0;
    long sw0 = timed ? switch_count_self_voluntary() : 0;
    int64_t t0 = bench_now_ns();
    int n = poller_wait(fc->p, fc->out, fc->cfg.active, timeout);
    int64_t t1 = bench_now_ns();
    *ns = WAIT_NS(t0, t1);
    fc->waits_in_wave++;
    if (n < 0) {
        snprintf(err, len, "wait failed: %s", strerror(-n));
        return -1;
    }
    if (timed) {
        fc->sleeps += (uint64_t)(switch_count_self_voluntary() - sw0);
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

/* ---- the reference figures (fanin_refs.h) ---------------------------------------------- */

/* bare_poll_ns over this case's fds with a wave written, delivered afterwards through the
 * backend, untimed. */
static int bare_poll(struct fanin_case *fc, double *out_ns, char *err, size_t len)
{
    *out_ns = 0;
    if (finish_wave(fc, err, len) < 0 || start_wave(fc, err, len) < 0)
        return -1;
    if (fanin_bare_poll_ns(pool_get()->fds, fc->n, fc->cfg.timeout_ns < 0 ? -1 : 0, fc->expected,
                           out_ns, err, len) < 0)
        return -1;
    return finish_wave(fc, err, len);
}

static int measure_registration(struct fanin_case *fc, struct fanin_reg_figures *f, char *err,
                                size_t len)
{
    const struct pool *pl = pool_get();
    struct fanin_watch w = {.ops = fc->cfg.ops, .p = fc->p, .fds = pl->fds, .n = fc->n,
                            .mode = fc->mode, .out = fc->out, .out_max = fc->cfg.active,
                            .expected_fds = pl->idx_cap};
    return fanin_registration(&w, f, err, len);
}

/* ---- the fd table (fdtable=private|shared) ----------------------------------------------- */

static void release_sharer(struct fanin_case *fc)
{
    fdtable_sharer_stop(fc->sharer);
    fc->sharer = NULL;
}

/* Starts the sharer for fdtable=shared and checks that the table is what the case's fdtable
 * column says: private (no other thread shares it) or shared (exactly the idle thread). */
static int fdtable_prepare(struct bench_case *c, struct fanin_case *fc, char *msg, size_t len)
{
    int rc = fc->cfg.shared_fdtable ? fdtable_sharer_start(&fc->sharer) : 0;
    if (rc) {
        if (rc == ENOMEM)
            snprintf(msg, len, "out of memory");
        else
            snprintf(msg, len, "fdtable=shared: starting the idle thread that shares the fd "
                     "table: %s", strerror(rc));
        return rc == EAGAIN ? BENCH_LIMIT : BENCH_ERROR;
    }
    int sharers = fdtable_sharers();
    if (sharers < 0) {
        release_sharer(fc);
        snprintf(msg, len, "fdtable=%s cannot be verified: kcmp(KCMP_FILES) over /proc/self/task "
                 "failed: %s", fc->cfg.shared_fdtable ? "shared" : "private", strerror(-sharers));
        return BENCH_SKIP;
    }
    int extra = sharers - fc->cfg.shared_fdtable;
    if (extra != 0 && extra != FDTABLE_SANITIZER_SHARERS) {
        release_sharer(fc);
        snprintf(msg, len, "fdtable=%s: %d other thread%s of this process share%s the measuring "
                 "thread's fd table (a run's own threads, a sanitizer's?), so the case would not "
                 "measure what its fdtable column says",
                 fc->cfg.shared_fdtable ? "shared" : "private", sharers,
                 sharers == 1 ? "" : "s", sharers == 1 ? "s" : "");
        return BENCH_SKIP;
    }
    size_t used = strlen(c->note);
    snprintf(c->note + used, sizeof c->note - used, "; fd table %s (verified by kcmp)%s",
             fc->cfg.shared_fdtable ? "shared with one idle thread"
                                    : "private to the measuring thread",
             extra ? ", and ThreadSanitizer's own thread" : "");
    return BENCH_OK;
}

/* Quirk j: what a peer's figures include that native epoll's do not, and what an io_uring
 * wait leaves out on a kernel without DEFER_TASKRUN, in the row's note. */
static void note_peer(struct bench_case *c, const struct fanin_case *fc)
{
    const char *name = fc->cfg.ops->name, *what = NULL;
    if (strcmp(name, "libev") == 0)
        what = "libev: del_ns has no kernel removal (lazy), add_ns includes our fcntl check";
    else if (strcmp(name, "libuv") == 0 && fc->cfg.active >= 1024)
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
    release_sharer(fc);
    for (int i = 0; fc->writers && i < fc->cfg.active; i++)
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
    unsigned f = fc->cfg.ops->features;
    uint32_t forced = fc->cfg.ops->forced_mode;
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
             "fortified glibc)", fc->cfg.ops->name, fc->n, max_fd, fc->cfg.ops->fd_limit);
    return BENCH_SKIP;
}

/* Quirk g: binds this thread to the placement's first cpu and the helper to its second. */
static int place(struct bench_case *c, struct fanin_case *fc, char *msg, size_t len)
{
    struct placement pl;
    char why[256];
    if (placement_resolve(fc->cfg.placement, &pl, why, sizeof why) < 0) {
        snprintf(msg, len, "placement %s: %s", placement_name(fc->cfg.placement), why);
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
                 "cpu %d)", pl.cpu[0], placement_name(fc->cfg.placement), strerror(-rc), ran_on);
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
    fc->writers = malloc((size_t)fc->cfg.active * sizeof *fc->writers);
    if (!fc->writers) {
        snprintf(msg, len, "out of memory");
        return BENCH_ERROR;
    }
    for (int i = 0; i < fc->cfg.active; i++)
        fc->writers[i] = -1;
    int rc = pool_peer_ends(fc->active_idx, fc->cfg.active, fc->writers, msg, len);
    if (rc < 0)
        return pool_is_limit(rc) ? BENCH_LIMIT : BENCH_ERROR;
    return BENCH_OK;
}

static int fanin_setup(struct bench_case *c, char *msg, size_t len)
{
    struct fanin_case *fc = c->ctx;
    int limit = fc->cfg.ops->fd_limit;
    if (limit > 0 && fc->n + 2 >= limit) /* n fds above stdio need numbers up to n + 2 */
        return skip_fd_limit(fc, fc->n + 2, msg, len);
    int rc = pool_ensure(fc->cfg.transport, fc->n, msg, len);
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
    if ((rc = poller_create(fc->cfg.ops, &fc->p, &cfg)) < 0) {
        release(fc);
        snprintf(msg, len, "creating the %s poller failed: %s", fc->cfg.ops->name, strerror(-rc));
        return (rc == -ENOSYS || rc == -EPERM) ? BENCH_SKIP : BENCH_ERROR;
    }
    choose_mode(fc);
    fc->active_idx = calloc((size_t)fc->cfg.active, sizeof *fc->active_idx);
    fc->want = calloc((size_t)fc->n, sizeof *fc->want);
    fc->got = calloc((size_t)fc->n, sizeof *fc->got);
    fc->out = calloc((size_t)fc->cfg.active, sizeof *fc->out);
    if (!fc->active_idx || !fc->want || !fc->got || !fc->out) {
        release(fc);
        snprintf(msg, len, "out of memory");
        return BENCH_ERROR;
    }
    int a = fc->cfg.active;
    for (int i = 0; i < a; i++)
        fc->active_idx[i] = fc->cfg.position == FANIN_POS_FIRST  ? i
                            : fc->cfg.position == FANIN_POS_LAST ? fc->n - a + i
                                                    : (int)((2LL * i + 1) * fc->n / (2LL * a));
    if (fc->cfg.cycle && (rc = take_writers(fc, msg, len)) != BENCH_OK) {
        release(fc);
        return rc;
    }
    int at = 0;
    if ((rc = fanin_register(fc->p, pl->fds, 0, fc->n, fc->mode, &at)) < 0) {
        for (int i = 0; i < at; i++)
            poller_del(fc->p, pl->fds[i]);
        release(fc);
        snprintf(msg, len, "registering fd %d (%d of %d) with %s failed: %s", pl->fds[at], at + 1,
                 fc->n, fc->cfg.ops->name, strerror(-rc));
        if (rc == -ENOMEM || rc == -ENOSPC || rc == -EMFILE || rc == -ENFILE) {
            c->limit_reached = at;
            return BENCH_LIMIT;
        }
        return BENCH_ERROR;
    }
    fc->wave = 0;
    fc->expected = fc->delivered = fc->pos = fc->round_left = 0;
    if (pool_set_active(fc->active_idx, fc->cfg.active, msg, len) < 0)
        goto failed;
    /* Calibration, also the warm-up: three rounds, then the wall time of 16 waits (at least 4,
     * and no more than 20 ms of them). */
    int64_t ns, t0 = 0;
    int waits = 0;
    for (int i = 0; i < 3 * ((fc->cfg.writes + fc->cfg.active - 1) / fc->cfg.active); i++)
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
    double budget_s = fc->cfg.quick ? 0.05 : 0.2; /* the harness's min-time defaults */
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
    bench_counter(st, "bracket_ns", fanin_bracket_ns(), "ns");
    int sharers = fdtable_sharers();
    bench_counter(st, "fdtable_sharers", sharers < 0 ? NAN : sharers, "count");
    if (!fc->cfg.cycle) {
        double bare;
        if (bare_poll(fc, &bare, err, sizeof err) < 0) {
            bench_fail(st, "%s", err);
            return;
        }
        bench_counter(st, "bare_poll_ns", bare, "ns");
        bench_counter(st, "wait_vs_bare_poll", fc->wait_ns / (double)fc->waits / bare, "ratio");
    }
    struct fanin_reg_figures f;
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

/* ---- planning (fanin_sweep.h) ----------------------------------------------------------- */

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

/* A planned point: this case measures cfg at n fds. */
static int fanin_point(struct bench_case *c, const struct fanin_config *cfg, int n)
{
    struct fanin_case *fc = calloc(1, sizeof *fc);
    if (!fc)
        return -1;
    fc->cfg = *cfg;
    fc->n = n;
    c->ctx = fc;
    c->free_ctx = fanin_free;
    c->group = fc->cfg.group;
    c->metric = cfg->cycle ? "cycle_ns" : "wait_ns";
    c->timing = BENCH_TIME_MANUAL;
    c->batch = 1;
    c->setup = fanin_setup;
    c->run_start = fanin_run_start;
    c->body = fanin_body;
    c->run_end = fanin_run_end;
    c->teardown = fanin_teardown;
    return 0;
}

static int fanin_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, char *msg, size_t len)
{
    return fanin_plan_sweeps(plan, o, w, poller, fanin_point, msg, len);
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
