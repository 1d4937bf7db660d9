/*
 * uring.c - io_uring poll through liburing: `io_uring` (multishot poll, edge-like; a fd added
 * with MUX_ONESHOT gets a single-shot poll) and `io_uring-oneshot` (a single-shot poll for
 * every fd, re-armed by mod).
 *
 * One wait is one io_uring_enter(GETEVENTS) that runs the completions' deferred work (quirk
 * k), then a read of the completion (CQ) ring; when it is empty and the timeout is not zero,
 * one more io_uring_enter (GETEVENTS, with the timeout as an EXT_ARG timespec) submits any
 * queued re-arms (quirk b) and sleeps until a completion arrives. Each CQE's user_data names (fd, generation): stale
 * ones are dropped, and several CQEs of one fd are merged into one event. A registered but
 * idle fd costs a wait nothing: claim C1's O(1). Registration is one io_uring_enter per add,
 * mod and del, as epoll pays one epoll_ctl; nothing is batched behind the caller's back.
 *
 *   add(fd)  --SQE POLL_ADD(ud = fd|gen<<32)-->  kernel poll on the file's wait queue
 *   wakeup   --CQE(ud, mask, F_MORE)-->          CQ ring  --wait-->  {fd, MUX_*, data}
 *
 * probe() sets a ring up in a forked child, so a seccomp filter that kills on io_uring_setup
 * costs a child, not the run.
 *
 * Kernel quirks handled:
 *  a) A multishot poll is edge-like, not level: the kernel arms it EPOLLET and posts one CQE
 *     when armed if the fd is already ready, then one per wakeup. IORING_POLL_ADD_LEVEL is
 *     refused for POLL_ADD (EINVAL), so true level semantics would mean a single-shot poll
 *     re-armed after every delivery; we do not fake that, and `io_uring` does not claim
 *     MUX_F_LEVEL (level_repeats is a skip; io_uring-oneshot pays a re-arm, a mod, per event).
 *  b) The kernel can end a multishot poll: the CQE then lacks IORING_CQE_F_MORE. It does so
 *     when the CQ ring is full (that last CQE carries the mask and goes to the overflow list)
 *     and cancels with -ECANCELED (POLLFREE, ring teardown). A current-generation CQE without
 *     F_MORE queues a re-arm, submitted by the next call into the poller (after the caller
 *     consumed this call's events, so the new poll does not report again what was just
 *     delivered); the new poll checks readiness when armed, so no edge is lost.
 *     A single-shot poll that fired stays disarmed until mod(); one cancelled by the kernel
 *     is re-armed. Any other error ends the poll and is reported once as MUX_ERR.
 *  c) CQ overflow: IORING_FEAT_NODROP (required) keeps CQEs that found the ring full in a
 *     kernel list flagged by IORING_SQ_CQ_OVERFLOW; io_uring_peek_cqe flushes it with an
 *     io_uring_enter once the ring is drained. The CQ is sized with IORING_SETUP_CQSIZE at
 *     max(16384, 16 x SQ entries) (clamped to the kernel's 65536) so thousands of fds ready at
 *     once fit without overflowing. If the kernel cannot even allocate the overflow entries
 *     it drops CQEs and io_uring_enter says -EBADR (once): wait() returns it, at once or
 *     after the events it already holds, since events were lost.
 *  d) Stale CQEs: a completion for a removed registration can still sit in the ring when the
 *     fd number is reused. user_data is fd | generation << 32; add, mod and del bump the
 *     fd's generation and CQEs of any other generation are dropped (as libev's epoll does).
 *  e) The cancel CQE: del() and mod() remove a poll with IORING_OP_ASYNC_CANCEL, submitted
 *     at once because the caller may close the fd right after. IORING_OP_POLL_REMOVE is not
 *     used: it fails with -EALREADY and leaves the poll armed while the poll's task work is
 *     pending (io_poll_disarm), which would keep the closed file open; ASYNC_CANCEL marks the
 *     poll cancelled whoever owns it. The cancel's own CQE is tagged (bit 63) and ignored;
 *     the cancelled poll's -ECANCELED CQE carries the old generation and is dropped.
 *  f) A bad fd is reported in a CQE, not by io_uring_enter. add() submits at once, and the
 *     POLL_ADD fails inline, its CQE posted before io_uring_enter returns: add() scans the
 *     CQEs that appeared during its own submit (from the tail it saw before; nothing is
 *     consumed) for its user_data. If the CQ is in overflow that CQE may be in the kernel's
 *     list; then one fcntl(F_GETFD) decides. A refused add's CQE is dropped as stale later.
 *  g) EINTR: io_uring_enter returns -EINTR when a signal arrives: zero events. -ETIME is the
 *     timeout; but when the same enter submitted SQEs it returns their count instead, and a
 *     wakeup may bring only stale CQEs, so a wait that got nothing checks the clock and sleeps
 *     again for what is left: a timeout is never cut short.
 *  h) Timeouts: the EXT_ARG timespec (IORING_FEAT_EXT_ARG, 5.11, required) is nanoseconds on
 *     an hrtimer, never rounded down to a busy poll; negative sleeps without a timeout. 0
 *     never sleeps: in deferred mode (quirk k) it still makes one io_uring_enter(GETEVENTS),
 *     which runs the completions' work; otherwise it reads the ring with no system call
 *     unless re-arms are queued or the CQ overflowed.
 *  i) SQ full: add/mod/del submit at once, their SQEs queued after any re-arms a wait left,
 *     in one io_uring_enter; the SQ therefore holds a handful of entries and a poll occupies
 *     none once submitted. When there is no room (io_uring_get_sqe would return NULL) we
 *     submit what is queued and retry. A failed submit leaves SQEs unconsumed: ours become
 *     NOPs, so a later submit cannot arm what we reported as failed, and the call returns
 *     the -errno.
 *  j) Regular files have no wait queue: the kernel completes the poll at once with the mask
 *     and ends the multishot; the re-arm makes them reported at every wait, as poll() does
 *     (epoll refuses them with EPERM).
 *  k) Where the kernel's work is paid. By default a poll's wakeup is finished (its CQE
 *     posted) as task work when the thread next returns from *any* system call, such as the
 *     read or write that precedes a wait, so a wait that finds CQEs in the ring would cost a
 *     ring read while epoll_wait pays for the same work inside the call. The ring is set up
 *     with IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER (Linux 6.1) where the
 *     kernel has them: the work then runs only when the ring's owner asks for completions,
 *     and every wait starts with one io_uring_enter(GETEVENTS) that runs it, so the wait pays
 *     for it, as epoll's does. A poller must then be used by the thread that created it
 *     (the API's rule anyway). Older kernels fall back to the default, and the environment
 *     row io_uring_setup_flags says which one a run had.
 *
 * mod() is cancel + add (a new generation) in one io_uring_enter, or just the add when the fd
 * is known disarmed (a single-shot poll whose CQE was consumed: io_uring-oneshot's re-arm).
 * IORING_OP_POLL_REMOVE's update form (io_uring_prep_poll_update) is not used: it keeps the
 * old poll's single/multishot kind, and it fails with -ENOENT once a single-shot poll fired
 * or a multishot ended, or -EALREADY (quirk e), results that arrive only in a CQE; mod() would
 * have to wait for that CQE and fall back to an add anyway.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include "pollers/backends.h"
#include "pollers/fdtab.h"
#include "pollers/pollmask.h"
#include "mux_config.h"

#define URING_SUMMARY "io_uring multishot poll (edge-like), re-armed without IORING_CQE_F_MORE"
#define URING_ONESHOT_SUMMARY "io_uring single-shot poll for every fd, re-armed by mod"

#if MUX_HAVE_LIBURING

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sizes (quirk c). queue_depth 0 means URING_DEFAULT_SQ; no call needs more than 2 SQEs. */
#define URING_DEFAULT_SQ 256u
#define URING_MIN_SQ 2u
#define URING_MIN_CQ 16384u
#define URING_MAX_CQ 65536u /* the kernel's IORING_MAX_CQ_ENTRIES; CLAMP enforces it anyway */
#define URING_SETUP_FLAGS (IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP)
/* Quirk k: completions are made by the waiting call, not on the way back from any system call. */
#ifdef IORING_SETUP_DEFER_TASKRUN
#define URING_DEFER_FLAGS (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
#else
#define URING_DEFER_FLAGS 0u
#endif

/* user_data: fd in bits 0-31, generation in bits 32-62, bit 63 tags our cancels (quirk d, e).
 * The low 32 bits are a non-negative fd, so it is never liburing's LIBURING_UDATA_TIMEOUT. */
#define UD_CTL (1ull << 63)
#define GEN_MASK 0x7fffffffu

/* fd_slot.state */
#define ST_ARMED 1u /* a poll of the current generation is in the kernel or queued in the SQ */

struct uring_poller {
    struct poller base;
    struct io_uring ring;
    struct fdtab fds;
    uint32_t call; /* the wait call, for fd_slot.mark: an fd already in out[] this call */
    int lost;      /* -EBADR seen while flushing the overflow list, for the next wait (quirk c) */
    int deferred;  /* IORING_SETUP_DEFER_TASKRUN in effect (quirk k) */
    long overflows; /* reaps that found the kernel's CQ overflow list in use (quirk c) */
};

static inline uint64_t ud_make(int fd, uint32_t gen)
{
    return (uint64_t)(gen & GEN_MASK) << 32 | (uint32_t)fd;
}
static inline int ud_fd(uint64_t ud) { return (int)(uint32_t)ud; }
static inline uint32_t ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & GEN_MASK; }

/* ---- setup, probe ----------------------------------------------------------------------- */

static int ring_init(struct io_uring *ring, unsigned sq_entries, struct io_uring_params *prm)
{
    if (sq_entries < URING_MIN_SQ)
        sq_entries = URING_MIN_SQ;
    uint64_t cq = (uint64_t)sq_entries * 16;
    if (cq < URING_MIN_CQ)
        cq = URING_MIN_CQ;
    if (cq > URING_MAX_CQ)
        cq = URING_MAX_CQ;
    memset(prm, 0, sizeof *prm);
    prm->flags = URING_SETUP_FLAGS | URING_DEFER_FLAGS;
    prm->cq_entries = (unsigned)cq;
    int rc = io_uring_queue_init_params(sq_entries, ring, prm);
    if (rc == -EINVAL && URING_DEFER_FLAGS) { /* quirk k: before Linux 6.1 */
        memset(prm, 0, sizeof *prm);
        prm->flags = URING_SETUP_FLAGS;
        prm->cq_entries = (unsigned)cq;
        rc = io_uring_queue_init_params(sq_entries, ring, prm);
    }
    return rc; /* 0 or -errno; prm->flags says which setup took */
}

/* 0 if the kernel has what the variant needs, else -ENOSYS and the reason. */
static int check_features(unsigned features, int multishot, const char **reason)
{
    if (!(features & IORING_FEAT_NODROP)) {
        *reason = "the kernel is older than 5.5: no IORING_FEAT_NODROP, completions could be "
                  "dropped when the CQ ring is full";
        return -ENOSYS;
    }
    if (!(features & IORING_FEAT_EXT_ARG)) {
        *reason = "the kernel is older than 5.11: no IORING_FEAT_EXT_ARG for wait timeouts";
        return -ENOSYS;
    }
    /* Multishot poll came in 5.13, with IORING_FEAT_RSRC_TAGS: the feature bit stands in. */
    if (multishot && !(features & IORING_FEAT_RSRC_TAGS)) {
        *reason = "the kernel is older than 5.13: no multishot poll (io_uring-oneshot works)";
        return -ENOSYS;
    }
    return 0;
}

/* kernel.io_uring_disabled (Linux 6.6): 0 allowed, 1 root and kernel.io_uring_group only,
 * 2 disabled; -1 when the sysctl does not exist. */
static int read_io_uring_disabled(void)
{
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
    if (!f)
        return -1;
    int v = -1;
    if (fscanf(f, "%d", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

static int explain_setup_error(int err, char *why, size_t len)
{
    int disabled = err == -EPERM ? read_io_uring_disabled() : -1;
    const char *reason;
    char buf[160];
    if (err == -EPERM && disabled == 2)
        reason = "io_uring is disabled on this system (kernel.io_uring_disabled=2); "
                 "`sysctl kernel.io_uring_disabled=0` enables it";
    else if (err == -EPERM && disabled == 1)
        reason = "io_uring is limited to privileged processes and the group in "
                 "kernel.io_uring_group (kernel.io_uring_disabled=1) and this process was "
                 "refused (a seccomp filter would look the same): join that group, or "
                 "`sysctl kernel.io_uring_disabled=0` enables it for everyone";
    else if (err == -EPERM)
        reason = "io_uring_setup was refused (EPERM): a seccomp filter (the default profiles "
                 "of Docker and other container runtimes block io_uring) or a security module";
    else if (err == -ENOSYS)
        reason = "io_uring_setup is not implemented (ENOSYS): a kernel before 5.1 or built "
                 "without CONFIG_IO_URING, or a seccomp filter that hides the system call";
    else if (err == -ENOMEM)
        reason = "io_uring_setup failed (ENOMEM): before Linux 5.12 the rings count against "
                 "RLIMIT_MEMLOCK (`ulimit -l`)";
    else if (err == -EINVAL)
        reason = "io_uring_setup refused the ring's parameters (EINVAL): the kernel is older "
                 "than 5.6 (IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP)";
    else {
        snprintf(buf, sizeof buf, "io_uring_setup failed: %s", strerror(-err));
        reason = buf;
    }
    return poller_unavailable(why, len, err, reason);
}

/* What the probing child found: io_uring_setup's result, the ring's features and the setup
 * flags the kernel accepted. */
struct probe_answer {
    int rc;
    unsigned features, flags;
};

/* Sets a ring up in a forked child, as muxbench would, and reports what happened: a seccomp
 * filter that kills a process calling io_uring_setup (SECCOMP_RET_KILL_*, not just an errno)
 * then kills the child, not the run. The child makes system calls only (liburing's setup is
 * mmap and io_uring_setup) and leaves with _exit. The interrupting signals are held from the
 * fork until the child is reaped: the probe runs before the run handles them (at start-up, as
 * muxbench parses its pollers), and a SIGINT then would kill this process with the child
 * unreaped, a zombie left to whoever inherits it. Held, it takes effect just after. Returns 0
 * with *a filled, or -errno (no pipe, no fork), or 1 when the child gave no answer (*status
 * says how it ended). */
static int probe_in_child(struct probe_answer *a, int *status)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    sigset_t held, old;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGHUP);
    sigaddset(&held, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &held, &old);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(pfd[0]);
        close(pfd[1]);
        return -err;
    }
    if (pid == 0) {
        struct probe_answer c = {0, 0, 0};
        struct io_uring ring;
        struct io_uring_params prm;
        c.rc = ring_init(&ring, URING_MIN_SQ, &prm);
        if (c.rc == 0) {
            c.features = prm.features;
            c.flags = prm.flags;
            io_uring_queue_exit(&ring);
        }
        _exit(write(pfd[1], &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1);
    }
    close(pfd[1]);
    ssize_t n;
    do
        n = read(pfd[0], a, sizeof *a);
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    *status = 0;
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n == (ssize_t)sizeof *a ? 0 : 1;
}

static int probe_variant(char *why, size_t len, int multishot)
{
    struct probe_answer a;
    int status;
    int got = probe_in_child(&a, &status);
    if (got < 0)
        return poller_unavailable(why, len, got, "the io_uring probe could not start a child");
    if (got > 0) {
        char reason[256];
        if (WIFSIGNALED(status))
            snprintf(reason, sizeof reason, "the probe's child process was killed by signal %d "
                     "(%s) setting up a ring: a seccomp filter that kills on io_uring_setup "
                     "(SECCOMP_RET_KILL); the run would have died the same way",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(reason, sizeof reason, "the probe's child process exited (status %d) "
                     "without an answer", WEXITSTATUS(status));
        return poller_unavailable(why, len, -EPERM, reason);
    }
    if (a.rc < 0)
        return explain_setup_error(a.rc, why, len);
    const char *reason;
    int rc = check_features(a.features, multishot, &reason);
    if (rc < 0)
        return poller_unavailable(why, len, rc, reason);
    return 0;
}

static int uring_probe(char *why, size_t len) { return probe_variant(why, len, 1); }
static int uring_oneshot_probe(char *why, size_t len) { return probe_variant(why, len, 0); }

static int create_variant(struct poller **out, const struct poller_cfg *cfg, int multishot)
{
    struct uring_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    struct io_uring_params prm;
    int rc = ring_init(&p->ring, cfg->queue_depth ? cfg->queue_depth : URING_DEFAULT_SQ, &prm);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->deferred = (prm.flags & URING_DEFER_FLAGS) && URING_DEFER_FLAGS;
    const char *reason;
    if ((rc = check_features(prm.features, multishot, &reason)) < 0 ||
        (cfg->expected_fds > 0 && (rc = fdtab_reserve(&p->fds, cfg->expected_fds)) < 0)) {
        io_uring_queue_exit(&p->ring);
        free(p);
        return rc;
    }
    *out = &p->base;
    return 0;
}

static int uring_create(struct poller **out, const struct poller_cfg *cfg)
{
    return create_variant(out, cfg, 1);
}
static int uring_oneshot_create(struct poller **out, const struct poller_cfg *cfg)
{
    return create_variant(out, cfg, 0);
}

static void uring_destroy(struct poller *base)
{
    struct uring_poller *p = (struct uring_poller *)base;
    io_uring_queue_exit(&p->ring); /* closes the ring fd, unmaps the rings; polls are cancelled */
    fdtab_free(&p->fds);
    free(p);
}

/* ---- submission ------------------------------------------------------------------------- */

static void prep_poll(struct io_uring_sqe *sqe, int fd, uint32_t events, uint32_t gen)
{
    if (events & MUX_ONESHOT)
        io_uring_prep_poll_add(sqe, fd, mux_to_pollmask(events));
    else
        io_uring_prep_poll_multishot(sqe, fd, mux_to_pollmask(events));
    io_uring_sqe_set_data64(sqe, ud_make(fd, gen));
}

static void prep_cancel(struct io_uring_sqe *sqe, int fd, uint32_t gen)
{
    io_uring_prep_cancel64(sqe, ud_make(fd, gen), 0);
    io_uring_sqe_set_data64(sqe, UD_CTL | ud_make(fd, gen));
}

/* Makes room for `k` SQEs: when the SQ is full, submits what is queued and retries (quirk i). */
static int sq_reserve(struct uring_poller *p, unsigned k)
{
    if (io_uring_sq_space_left(&p->ring) >= k)
        return 0;
    int rc = io_uring_submit(&p->ring);
    if (rc < 0)
        return rc;
    return io_uring_sq_space_left(&p->ring) >= k ? 0 : -EAGAIN;
}

/* Submits everything queued: re-arms a wait left (quirk b), then this call's `k` SQEs, which
 * are the last ones. The kernel consumes the SQ in order, so the unconsumed ones are at the
 * end. Returns how many of ours were consumed and 0 or -errno in *err; ours that were not
 * become NOPs (quirk i). Unconsumed re-arms stay queued for the next submit. */
static int submit_own(struct uring_poller *p, struct io_uring_sqe **own, int k, int *err)
{
    *err = 0;
    while (io_uring_sq_ready(&p->ring)) {
        int rc = io_uring_submit(&p->ring);
        if (rc > 0)
            continue;
        *err = rc < 0 ? rc : -EAGAIN;
        int left = (int)io_uring_sq_ready(&p->ring);
        if (left > k)
            left = k;
        for (int i = k - left; i < k; i++) {
            io_uring_prep_nop(own[i]);
            io_uring_sqe_set_data64(own[i], UD_CTL);
        }
        return k - left;
    }
    return k;
}

/* Quirk f: the result of our POLL_ADD if its CQE was posted since the CQ tail was `tail0`;
 * 1 when not found. Nothing is consumed. */
static int find_posted(struct uring_poller *p, unsigned tail0, uint64_t ud)
{
    struct io_uring_cq *cq = &p->ring.cq;
    unsigned tail = io_uring_smp_load_acquire(cq->ktail);
    for (unsigned i = tail0; i != tail; i++) {
        const struct io_uring_cqe *cqe = &cq->cqes[i & cq->ring_mask];
        if (cqe->user_data == ud)
            return cqe->res < 0 ? cqe->res : 0;
    }
    return 1;
}

/* Arms a poll for fd at generation s->gen, after an optional cancel of generation old_gen.
 * Returns 0 or -errno. On an error the slot says what the kernel holds: ST_ARMED is cleared
 * when the old poll was cancelled, and the caller's generation bump hides every CQE. */
static int arm(struct uring_poller *p, int fd, struct fd_slot *s, uint32_t events, int cancel,
               uint32_t old_gen)
{
    int rc = sq_reserve(p, cancel ? 2 : 1);
    if (rc < 0)
        return rc;
    struct io_uring_sqe *own[2];
    int k = 0;
    if (cancel)
        prep_cancel(own[k++] = io_uring_get_sqe(&p->ring), fd, old_gen);
    prep_poll(own[k++] = io_uring_get_sqe(&p->ring), fd, events, s->gen);
    unsigned tail0 = io_uring_smp_load_acquire(p->ring.cq.ktail);
    int err, done = submit_own(p, own, k, &err);
    if (cancel && done >= 1)
        s->state &= ~ST_ARMED; /* the old poll is gone, whatever follows */
    if (err < 0)
        return err;
    rc = find_posted(p, tail0, ud_make(fd, s->gen));
    if (rc == 1) /* not in the ring: in the overflow list, or the poll is armed */
        rc = io_uring_cq_has_overflow(&p->ring) ? fd_check_open(fd) : 0;
    if (rc < 0)
        return rc;
    s->state |= ST_ARMED;
    return 0;
}

/* ---- registration ----------------------------------------------------------------------- */

static int uring_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct uring_poller *p = (struct uring_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_add_prologue(&p->fds, base, fd, events, 0 /* quirk f */, &s);
    if (rc < 0)
        return rc;
    s->gen = (s->gen + 1) & GEN_MASK;
    s->state = 0;
    if ((rc = arm(p, fd, s, events, 0, 0)) < 0) {
        s->gen = (s->gen + 1) & GEN_MASK; /* its error CQE, if any, is now stale */
        s->state = 0;
        return rc;
    }
    s->events = events;
    s->data = data;
    return 0;
}

static int uring_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct uring_poller *p = (struct uring_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_mod_prologue(&p->fds, base, fd, events, &s);
    if (rc < 0)
        return rc;
    uint32_t old_gen = s->gen;
    s->gen = (s->gen + 1) & GEN_MASK; /* CQEs of the old registration are stale from here */
    if ((rc = arm(p, fd, s, events, s->state & ST_ARMED, old_gen)) < 0) {
        if (s->state & ST_ARMED)
            s->gen = old_gen; /* nothing reached the kernel: the old poll stands */
        else
            s->gen = (s->gen + 1) & GEN_MASK; /* disarmed until a mod succeeds */
        return rc;
    }
    s->events = events;
    s->data = data;
    return 0;
}

static int uring_del(struct poller *base, int fd)
{
    struct uring_poller *p = (struct uring_poller *)base;
    struct fd_slot *s = fdtab_registered(&p->fds, fd);
    if (!s)
        return -ENOENT;
    if (s->state & ST_ARMED) { /* a fired single-shot poll needs no system call */
        int rc = sq_reserve(p, 1);
        if (rc < 0)
            return rc;
        struct io_uring_sqe *own[1];
        prep_cancel(own[0] = io_uring_get_sqe(&p->ring), fd, s->gen);
        submit_own(p, own, 1, &rc);
        if (rc < 0)
            return rc; /* nothing reached the kernel: still registered */
    }
    s->gen = (s->gen + 1) & GEN_MASK;
    s->events = 0;
    s->data = NULL;
    s->state = 0;
    return 0;
}

/* ---- wait ------------------------------------------------------------------------------- */

/* Queues a poll for s->gen again (quirk b); submits and retries when the SQ is full. */
static int rearm(struct uring_poller *p, int fd, struct fd_slot *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
    if (!sqe) {
        int rc = io_uring_submit(&p->ring);
        if (rc < 0)
            return rc;
        if (!(sqe = io_uring_get_sqe(&p->ring)))
            return -EAGAIN;
    }
    prep_poll(sqe, fd, s->events, s->gen);
    s->state |= ST_ARMED;
    return 0;
}

/* Takes one CQE into out[]. Returns 0 when it must stay in the ring (out[] is full and the
 * CQE is for an fd not yet in it), else 1. */
static int take(struct uring_poller *p, const struct io_uring_cqe *cqe, struct mux_event *out,
                int max, int *n)
{
    uint64_t ud = cqe->user_data;
    if (ud & UD_CTL)
        return 1; /* a cancel's own CQE (quirk e) */
    int fd = ud_fd(ud);
    struct fd_slot *s = fdtab_registered(&p->fds, fd);
    if (!s || s->gen != ud_gen(ud))
        return 1; /* stale (quirk d) */
    int merge = s->mark == p->call;
    if (!merge && *n == max)
        return 0;
    int res = cqe->res;
    uint32_t bits = res >= 0              ? mux_from_pollmask((unsigned)res)
                    : res == -ECANCELED ? 0
                                        : MUX_ERR;
    if (!(cqe->flags & IORING_CQE_F_MORE)) { /* this poll is over (quirk b) */
        s->state &= ~ST_ARMED;
        int again = res == -ECANCELED || (res >= 0 && !(s->events & MUX_ONESHOT));
        if (again && rearm(p, fd, s) < 0)
            bits |= MUX_ERR; /* could not re-arm: say so; mod() retries */
    }
    if (!bits)
        return 1;
    if (merge) {
        out[s->index].ready |= bits;
    } else {
        s->mark = p->call;
        s->index = *n;
        out[(*n)++] = (struct mux_event){.fd = fd, .ready = bits, .data = s->data};
    }
    return 1;
}

/* Drains the CQ ring into out[] (flushing the kernel's overflow list, quirk c). */
static int reap(struct uring_poller *p, struct mux_event *out, int max, int n)
{
    struct io_uring_cqe *cqe;
    int rc;
    p->overflows += io_uring_cq_has_overflow(&p->ring) ? 1 : 0;
    while ((rc = io_uring_peek_cqe(&p->ring, &cqe)) == 0) {
        if (!take(p, cqe, out, max, &n))
            return n;
        io_uring_cqe_seen(&p->ring, cqe);
    }
    if (rc != -EAGAIN && !p->lost) /* the flush's io_uring_enter failed: -EBADR, CQEs lost */
        p->lost = rc;
    return n;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int uring_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    struct uring_poller *p = (struct uring_poller *)base;
    if (max <= 0)
        return -EINVAL;
    if (p->lost) { /* reported once, as the kernel reports it once */
        int rc = p->lost;
        p->lost = 0;
        return rc;
    }
    if (++p->call == 0) { /* once per 2^32 calls: no slot may keep a mark equal to a new call */
        for (int i = 0; i < p->fds.cap; i++)
            p->fds.slots[i].mark = 0;
        p->call = 1;
    }
    /* Re-arms queued by the previous call go in now, after its caller consumed those events,
     * so a re-armed poll does not report again readiness that was just delivered. A failure
     * leaves them queued: the blocking enter below or the next call retries. */
    if (p->deferred)
        io_uring_submit_and_get_events(&p->ring); /* quirk k: run the completions' work now */
    else if (io_uring_sq_ready(&p->ring))
        io_uring_submit(&p->ring);
    int n = reap(p, out, max, 0);
    int64_t deadline = 0;
    if (n == 0 && timeout_ns > 0)
        deadline = mono_ns() + timeout_ns;
    while (n == 0 && timeout_ns != 0 && !p->lost) {
        struct io_uring_cqe *cqe;
        int rc;
        if (timeout_ns < 0) {
            rc = io_uring_submit_and_wait(&p->ring, 1);
        } else {
            int64_t left = deadline - mono_ns();
            if (left <= 0)
                break;
            struct __kernel_timespec ts = {.tv_sec = left / 1000000000,
                                           .tv_nsec = left % 1000000000};
            rc = io_uring_submit_and_wait_timeout(&p->ring, &cqe, 1, &ts, NULL);
        }
        if (rc == -EINTR)
            return 0; /* quirk g */
        if (rc < 0 && rc != -ETIME && rc != -EBUSY) /* EBUSY: an old kernel's "reap first" */
            return rc;
        n = reap(p, out, max, 0);
        if (rc == -ETIME)
            break;
    }
    if (n == 0 && p->lost) {
        int rc = p->lost;
        p->lost = 0;
        return rc;
    }
    return n; /* re-arms queued by this call's reap are submitted by the next call */
}

#else /* !MUX_HAVE_LIBURING: listed, with the reason, never available */

static int uring_probe(char *why, size_t len)
{
    return poller_unavailable(why, len, -ENOSYS, "built without liburing (install liburing-dev)");
}
#define uring_oneshot_probe uring_probe
static int uring_create(struct poller **p, const struct poller_cfg *cfg)
{
    (void)p;
    (void)cfg;
    return -ENOSYS;
}
#define uring_oneshot_create uring_create
static void uring_destroy(struct poller *p) { (void)p; }
static int uring_add(struct poller *p, int fd, uint32_t events, void *data)
{
    (void)p, (void)fd, (void)events, (void)data;
    return -ENOSYS;
}
#define uring_mod uring_add
static int uring_del(struct poller *p, int fd)
{
    (void)p, (void)fd;
    return -ENOSYS;
}
static int uring_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    (void)p, (void)out, (void)max, (void)timeout_ns;
    return -ENOSYS;
}

#endif

const struct poller_ops uring_ops = {
    .name = "io_uring",
    .summary = URING_SUMMARY,
    .features = MUX_F_EDGE | MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR,
    .forced_mode = MUX_EDGE,
    .probe = uring_probe,
    .create = uring_create,
    .destroy = uring_destroy,
    .add = uring_add,
    .mod = uring_mod,
    .del = uring_del,
    .wait = uring_wait,
};

const struct poller_ops uring_oneshot_ops = {
    .name = "io_uring-oneshot",
    .summary = URING_ONESHOT_SUMMARY,
    .features = MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR,
    .forced_mode = MUX_ONESHOT,
    .probe = uring_oneshot_probe,
    .create = uring_oneshot_create,
    .destroy = uring_destroy,
    .add = uring_add,
    .mod = uring_mod,
    .del = uring_del,
    .wait = uring_wait,
};

long poller_uring_overflows(const struct poller *p)
{
#if MUX_HAVE_LIBURING
    if (p && (p->ops == &uring_ops || p->ops == &uring_oneshot_ops))
        return ((const struct uring_poller *)p)->overflows;
#else
    (void)p;
#endif
    return -1;
}

const char *poller_uring_setup_flags(void)
{
#if MUX_HAVE_LIBURING
    static char text[256];
    struct probe_answer a;
    int status;
    /* In a child, as the probe: the environment rows are written before any case, and a
     * seccomp filter that kills on io_uring_setup must not end the run there. */
    if (probe_in_child(&a, &status) != 0 || a.rc < 0)
        return "unavailable (no ring could be set up; `muxbench list` says why)";
    int deferred = (a.flags & URING_DEFER_FLAGS) && URING_DEFER_FLAGS;
    snprintf(text, sizeof text, "IORING_SETUP_CQSIZE|IORING_SETUP_CLAMP%s; SQ 256 entries "
             "unless configured, CQ max(16384, 16 x SQ) capped at 65536",
             deferred ? "|IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN"
                      : " (no DEFER_TASKRUN on this kernel: completions are posted on the way "
                        "back from any system call)");
    return text;
#else
    return "none (built without liburing)";
#endif
}
