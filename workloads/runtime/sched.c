/*
 * sched.c - a single-threaded coroutine scheduler over the readiness API (see sched.h).
 *
 * One op, for the workloads that count them:
 *   park/wake  a coroutine's cosched_wait_fd() on an fd that is not ready, until it runs again:
 *              the registration calls of the policy (below), a switch out, the poller_wait that
 *              reports the fd (shared by every fd it reports), a switch back in.
 *   yield      cosched_yield(): a run-queue push and two switches; no system call unless some
 *              coroutine waits on an fd (then each scheduler round makes one zero-timeout
 *              poller_wait, so I/O is not starved by busy coroutines).
 * Not measured or not done: fairness beyond FIFO rounds, priorities, more than one thread,
 * work stealing, cancelling one task by handle (cosched_cancel_all cancels every other task,
 * as a cancel scope around the whole scheduler would; the cancel workload's storm).
 *
 * Registration policy (the choice the issue asks to document, and its cost per park):
 *
 *   policy     registration                          calls per park   AUTO picks it for
 *   per-wait   add on park, del on wake/timeout      2 (add, del)     level backends (select,
 *                                                                     poll, epoll)
 *   edge       add once with MUX_EDGE, kept until    0 (1 add per fd  edge-forced (epoll-et) or
 *              cosched_forget_fd; readiness seen     lifetime, 1 del  edge-only backends
 *              with no waiter is remembered          at forget)
 *   oneshot    add once with MUX_ONESHOT; each park  1 (mod)          oneshot-forced (epoll-
 *              re-arms with mod; a report disarms it                  oneshot, io_uring-oneshot)
 *   keep       level add at the first park, kept     0 while the      never (asked for: the
 *              while its coroutine runs; a report    coroutine parks  echo server on level
 *              that no waiter claims drops it (del,  again before     backends)
 *              or mod to what is still waited for)   the next wait
 *
 *  For select and poll a registration call is a table update in user space; for epoll it is an
 *  epoll_ctl system call (so per-wait costs epoll two syscalls per park that an edge loop does
 *  not pay: the echo workload's rows say which policy they ran). Why keep is not AUTO's choice:
 *  a level registration with nobody waiting is reported on every wait while the fd stays ready,
 *  and the API has no "registered, no interest" state to park it in. keep pays for that only
 *  when it happens (one spurious report, then a del); it is the right trade where coroutines
 *  park again at once (servers), the wrong one where they often leave ready fds unread for a
 *  while, and it needs cosched_forget_fd() before every close (as edge does).
 *
 * Quirks handled:
 *  a) Edge: an edge that arrives while nobody waits (or for the other direction) is remembered
 *     in the fd's record and returned at once by the next wait for it ("immediate" in the
 *     stats), so registering after the data arrived, or between an EAGAIN and the park, loses
 *     nothing. The price is an occasional spurious wake: the caller retries and gets EAGAIN.
 *     MUX_HUP/MUX_ERR stay remembered (the peer does not close twice).
 *  b) Oneshot: a report disarms the whole registration, including a direction still waited
 *     for by another coroutine; that direction is re-armed with mod right away. A forced-oneshot
 *     backend under per-wait is tracked the same way.
 *  c) Edge add reports a condition that already holds (epoll re-evaluates readiness on
 *     EPOLL_CTL_ADD and _MOD), so per-wait works on edge-forced backends too.
 *  d) Stale events: a batch from one poller_wait is dispatched completely before any coroutine
 *     runs, so a coroutine cannot close and reuse an fd number between two events of one batch.
 *     An event for an fd with no registration of ours is dropped.
 *  e) The timer heap has room for every live coroutine (grown at spawn), so parking never
 *     allocates; the fd table grows at the first wait on a higher fd (-ENOMEM possible there).
 *  f) A task record lives in its coroutine's control block (coro_attr.user_bytes): spawning
 *     allocates nothing but the coroutine's stack.
 */
#define _GNU_SOURCE
#include "workloads/runtime/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct task {
    struct cosched *s;
    struct coro *co;
    struct task *next;                /* run queue */
    struct task *all_prev, *all_next; /* every live task, for destroy */
    int64_t deadline;
    long heap_idx;                    /* -1: not on the timer heap */
    int fd;                           /* -1: not waiting on an fd */
    uint32_t want;
    int result;                       /* what the park returns */
    unsigned char cancelled;          /* every park from now on returns -ECANCELED */
};

struct fdrec {
    struct task *rd, *wr; /* parked waiters for MUX_IN / MUX_OUT (the same task for both) */
    uint32_t reg;         /* interest registered with the poller; 0: none */
    uint32_t cached;      /* edge policy: readiness reported with nobody waiting for it */
    unsigned char armed;  /* the registration can still report (oneshot disarms it) */
};

struct cosched {
    struct poller *p;
    struct coro_attr attr;
    int max_events;
    enum cosched_reg reg;
    uint32_t reg_flags; /* MUX_EDGE / MUX_ONESHOT asked at add and mod */
    int oneshot;        /* a report disarms a registration (policy or forced mode) */
    struct mux_event *events;
    struct task *rq_head, *rq_tail;
    size_t rq_len;
    struct task **heap;
    size_t heap_len, heap_cap;
    struct fdrec *fds;
    int fds_cap;
    size_t fd_waiters;
    struct task *all;
    struct cosched_stats st;
};

static _Thread_local struct cosched *tl_sched;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *cosched_reg_name(enum cosched_reg reg)
{
    switch (reg) {
    case COSCHED_REG_AUTO:
        return "auto";
    case COSCHED_REG_PER_WAIT:
        return "per-wait";
    case COSCHED_REG_EDGE:
        return "edge";
    case COSCHED_REG_ONESHOT:
        return "oneshot";
    case COSCHED_REG_KEEP:
        return "keep";
    }
    return NULL;
}

/* ---- run queue and timer heap ---- */

static void rq_push(struct cosched *s, struct task *t)
{
    t->next = NULL;
    if (s->rq_tail)
        s->rq_tail->next = t;
    else
        s->rq_head = t;
    s->rq_tail = t;
    s->rq_len++;
}

static struct task *rq_pop(struct cosched *s)
{
    struct task *t = s->rq_head;
    if (t) {
        s->rq_head = t->next;
        if (!s->rq_head)
            s->rq_tail = NULL;
        s->rq_len--;
    }
    return t;
}

static void heap_set(struct cosched *s, size_t i, struct task *t)
{
    s->heap[i] = t;
    t->heap_idx = (long)i;
}

static void heap_up(struct cosched *s, size_t i)
{
    struct task *t = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->deadline <= t->deadline)
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, t);
}

static void heap_down(struct cosched *s, size_t i)
{
    struct task *t = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && s->heap[c + 1]->deadline < s->heap[c]->deadline)
            c++;
        if (t->deadline <= s->heap[c]->deadline)
            break;
        heap_set(s, i, s->heap[c]);
        i = c;
    }
    heap_set(s, i, t);
}

/* Room is guaranteed: heap_cap >= live tasks (grown at spawn). */
static void heap_push(struct cosched *s, struct task *t, int64_t deadline)
{
    t->deadline = deadline;
    s->heap[s->heap_len++] = t;
    heap_up(s, s->heap_len - 1);
}

static void heap_remove(struct cosched *s, struct task *t)
{
    size_t i = (size_t)t->heap_idx;
    t->heap_idx = -1;
    s->heap_len--;
    if (i == s->heap_len)
        return;
    struct task *last = s->heap[s->heap_len];
    heap_set(s, i, last);
    heap_down(s, i);
    heap_up(s, (size_t)last->heap_idx);
}

/* ---- fd registrations ---- */

static int fds_reserve(struct cosched *s, int fd)
{
    if (fd < s->fds_cap)
        return 0;
    int cap = s->fds_cap ? s->fds_cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct fdrec *n = realloc(s->fds, (size_t)cap * sizeof *n);
    if (!n)
        return -ENOMEM;
    memset(n + s->fds_cap, 0, (size_t)(cap - s->fds_cap) * sizeof *n);
    s->fds = n;
    s->fds_cap = cap;
    return 0;
}

static uint32_t waiting_for(const struct fdrec *r)
{
    return (r->rd ? MUX_IN : 0u) | (r->wr ? MUX_OUT : 0u);
}

static int reg_add(struct cosched *s, int fd, struct fdrec *r, uint32_t interest)
{
    s->st.reg_add++;
    int rc = poller_add(s->p, fd, interest | s->reg_flags, NULL);
    if (rc == -EEXIST) { /* registered behind our back (fd reused without forget): take it over */
        s->st.reg_mod++;
        rc = poller_mod(s->p, fd, interest | s->reg_flags, NULL);
    }
    if (rc == 0) {
        r->reg = interest;
        r->armed = 1;
    }
    return rc;
}

static int reg_mod(struct cosched *s, int fd, struct fdrec *r, uint32_t interest)
{
    s->st.reg_mod++;
    int rc = poller_mod(s->p, fd, interest | s->reg_flags, NULL);
    if (rc == -ENOENT) { /* the kernel dropped it (fd closed and reopened): register anew */
        r->reg = 0;
        return reg_add(s, fd, r, interest);
    }
    if (rc == 0) {
        r->reg = interest;
        r->armed = 1;
    }
    return rc;
}

static int reg_del(struct cosched *s, int fd, struct fdrec *r)
{
    s->st.reg_del++;
    int rc = poller_del(s->p, fd);
    r->reg = 0;
    r->armed = 0;
    return rc;
}

/* Makes the poller's registration for fd serve the coroutines now waiting on it. */
static int fd_sync(struct cosched *s, int fd, struct fdrec *r)
{
    uint32_t want = waiting_for(r);
    switch (s->reg) {
    case COSCHED_REG_EDGE:
        if (!want)
            return 0; /* kept: edges seen meanwhile go to r->cached */
        if (!r->reg)
            return reg_add(s, fd, r, want);
        if (want & ~r->reg)
            return reg_mod(s, fd, r, r->reg | want); /* grows, never shrinks */
        return 0;
    case COSCHED_REG_ONESHOT:
        if (!want)
            return 0; /* left as it is: a report with nobody waiting just disarms it */
        if (!r->reg)
            return reg_add(s, fd, r, want);
        if (!r->armed || r->reg != want)
            return reg_mod(s, fd, r, want);
        return 0;
    case COSCHED_REG_KEEP:
        if (!want)
            return 0; /* kept for the next park; a report nobody claims drops it (on_event) */
        if (!r->reg)
            return reg_add(s, fd, r, want);
        if (r->reg != want)
            return reg_mod(s, fd, r, want);
        return 0;
    default: /* per-wait */
        if (!want)
            return r->reg ? reg_del(s, fd, r) : 0;
        if (!r->reg)
            return reg_add(s, fd, r, want);
        if (r->reg != want || !r->armed)
            return reg_mod(s, fd, r, want);
        return 0;
    }
}

/* Takes t off fd's record and the timer heap and queues it with `result`. */
static void wake(struct cosched *s, struct task *t, int result)
{
    if (t->heap_idx >= 0)
        heap_remove(s, t);
    if (t->fd >= 0) {
        struct fdrec *r = &s->fds[t->fd];
        if (r->rd == t)
            r->rd = NULL;
        if (r->wr == t)
            r->wr = NULL;
        t->fd = -1;
        s->fd_waiters--;
    }
    t->result = result;
    rq_push(s, t);
}

/* After the waiters of fd changed: re-sync, and if that fails, hand the error to whoever still
 * waits (they would otherwise wait on a registration that does not exist). */
static void resync_or_fail(struct cosched *s, int fd)
{
    struct fdrec *r = &s->fds[fd];
    int rc = fd_sync(s, fd, r);
    if (rc < 0) {
        if (r->rd)
            wake(s, r->rd, rc);
        if (r->wr)
            wake(s, r->wr, rc);
    }
}

static void on_event(struct cosched *s, int fd, uint32_t ready)
{
    if (fd < 0 || fd >= s->fds_cap)
        return;
    struct fdrec *r = &s->fds[fd];
    if (!r->reg)
        return; /* quirk d: not registered by us any more */
    if (s->oneshot)
        r->armed = 0;
    const uint32_t always = ready & (MUX_HUP | MUX_ERR);
    uint32_t unclaimed = ready & MUX_INTEREST;
    struct task *rd = r->rd, *wr = r->wr;
    int rd_woken = 0, wr_woken = 0;
    if (rd && (ready & (MUX_IN | always))) {
        unclaimed &= ~rd->want;
        s->st.wakes_fd++;
        wake(s, rd, (int)(ready & (rd->want | MUX_HUP | MUX_ERR)));
        rd_woken = 1;
    }
    /* wr == rd: one coroutine waiting for either direction; woken once, by whichever came. */
    if (wr && !(wr == rd && rd_woken) && (ready & (MUX_OUT | always))) {
        unclaimed &= ~wr->want;
        s->st.wakes_fd++;
        wake(s, wr, (int)(ready & (wr->want | MUX_HUP | MUX_ERR)));
        wr_woken = 1;
    }
    if (s->reg == COSCHED_REG_EDGE)
        r->cached |= unclaimed | always;
    if (s->reg == COSCHED_REG_KEEP && (unclaimed || !(rd_woken || wr_woken))) {
        /* Level readiness nobody waits for would be reported on every wait: shrink the
         * registration to the waiters left (none: delete it). */
        uint32_t want = waiting_for(r);
        int rc = want ? (r->reg != want ? reg_mod(s, fd, r, want) : 0) : reg_del(s, fd, r);
        if (rc < 0) {
            if (r->rd)
                wake(s, r->rd, rc);
            if (r->wr)
                wake(s, r->wr, rc);
        }
        return;
    }
    resync_or_fail(s, fd);
}

static void expire_timers(struct cosched *s, int64_t now)
{
    while (s->heap_len && s->heap[0]->deadline <= now) {
        struct task *t = s->heap[0];
        int fd = t->fd;
        if (fd >= 0) {
            s->st.timeouts++;
            wake(s, t, -ETIMEDOUT);
            resync_or_fail(s, fd);
        } else {
            wake(s, t, 0);
        }
    }
}

/* ---- lifecycle ---- */

int cosched_reg_resolve(const struct poller_ops *ops, enum cosched_reg asked)
{
    const uint32_t forced = ops->forced_mode;
    switch (asked) {
    case COSCHED_REG_AUTO:
        if (forced & MUX_ONESHOT)
            return COSCHED_REG_ONESHOT;
        if (forced & MUX_EDGE)
            return COSCHED_REG_EDGE;
        if (ops->features & MUX_F_LEVEL)
            return COSCHED_REG_PER_WAIT;
        if (ops->features & MUX_F_EDGE)
            return COSCHED_REG_EDGE;
        if (ops->features & MUX_F_ONESHOT)
            return COSCHED_REG_ONESHOT;
        return COSCHED_REG_PER_WAIT;
    case COSCHED_REG_PER_WAIT:
        return COSCHED_REG_PER_WAIT;
    case COSCHED_REG_EDGE:
        return (ops->features & MUX_F_EDGE) && !(forced & MUX_ONESHOT) ? COSCHED_REG_EDGE
                                                                       : -EOPNOTSUPP;
    case COSCHED_REG_ONESHOT:
        return ops->features & MUX_F_ONESHOT ? COSCHED_REG_ONESHOT : -EOPNOTSUPP;
    case COSCHED_REG_KEEP:
        return (ops->features & MUX_F_LEVEL) && !(forced & (MUX_EDGE | MUX_ONESHOT))
                   ? COSCHED_REG_KEEP
                   : -EOPNOTSUPP;
    }
    return -EINVAL;
}

int cosched_create(struct cosched **out, const struct cosched_cfg *cfg)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!cfg || !cfg->poller || cfg->max_events < 0)
        return -EINVAL;
    uint32_t forced = cfg->poller->forced_mode;
    if ((unsigned)cfg->reg > COSCHED_REG_KEEP)
        return -EINVAL;
    int resolved = cosched_reg_resolve(cfg->poller->ops, cfg->reg);
    if (resolved < 0)
        return resolved;
    enum cosched_reg reg = (enum cosched_reg)resolved;

    struct cosched *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->p = cfg->poller;
    s->attr = cfg->attr;
    s->attr.user_bytes = sizeof(struct task);
    s->max_events = cfg->max_events ? cfg->max_events : 64;
    s->reg = reg;
    s->reg_flags = reg == COSCHED_REG_EDGE      ? MUX_EDGE
                   : reg == COSCHED_REG_ONESHOT ? MUX_ONESHOT
                                                : 0;
    s->oneshot = ((s->reg_flags | forced) & MUX_ONESHOT) != 0;
    s->events = calloc((size_t)s->max_events, sizeof *s->events);
    if (!s->events) {
        free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void cosched_destroy(struct cosched *s)
{
    if (!s)
        return;
    while (s->all) {
        struct task *t = s->all;
        s->all = t->all_next;
        coro_destroy(t->co); /* t lived in that coroutine's control block */
    }
    for (int fd = 0; fd < s->fds_cap; fd++)
        if (s->fds[fd].reg)
            poller_del(s->p, fd);
    free(s->fds);
    free(s->heap);
    free(s->events);
    free(s);
}

enum cosched_reg cosched_reg_used(const struct cosched *s) { return s->reg; }

struct cosched *cosched_current(void) { return tl_sched; }

void cosched_get_stats(const struct cosched *s, struct cosched_stats *st) { *st = s->st; }

int cosched_spawn(struct cosched *s, coro_fn fn, void *arg)
{
    if (!s || !fn)
        return -EINVAL;
    if (s->heap_cap < s->st.live + 1) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        struct task **h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->heap_cap = cap;
    }
    struct coro *co;
    int rc = coro_create(&co, &s->attr, fn, arg);
    if (rc < 0)
        return rc;
    struct task *t = coro_user_area(co);
    t->s = s;
    t->co = co;
    t->heap_idx = -1;
    t->fd = -1;
    t->cancelled = 0;
    t->all_prev = NULL;
    t->all_next = s->all;
    if (s->all)
        s->all->all_prev = t;
    s->all = t;
    rq_push(s, t);
    s->st.spawned++;
    if (++s->st.live > s->st.peak_live)
        s->st.peak_live = s->st.live;
    return 0;
}

static void task_finish(struct cosched *s, struct task *t)
{
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        s->all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    s->st.live--;
    s->st.finished++;
    coro_destroy(t->co); /* frees t too */
}

int cosched_run(struct cosched *s)
{
    if (!s)
        return -EINVAL;
    struct cosched *prev = tl_sched;
    tl_sched = s;
    int rc = 0;
    while (s->st.live > 0) {
        /* One round: the coroutines runnable now; those queued meanwhile wait for the next. */
        for (size_t n = s->rq_len; n > 0; n--) {
            struct task *t = rq_pop(s);
            if (coro_resume(t->co) == 1)
                task_finish(s, t);
        }
        if (s->st.live == 0)
            break;
        int64_t timeout;
        if (s->rq_len)
            timeout = 0;
        else if (s->heap_len) {
            timeout = s->heap[0]->deadline - now_ns();
            if (timeout < 0)
                timeout = 0;
        } else if (s->fd_waiters)
            timeout = -1;
        else {
            rc = -EDEADLK;
            break;
        }
        if (s->fd_waiters || timeout != 0) {
            int n = poller_wait(s->p, s->events, s->max_events, timeout);
            s->st.poller_waits++;
            if (n < 0) {
                rc = n;
                break;
            }
            s->st.poller_events += (uint64_t)n;
            for (int i = 0; i < n; i++)
                on_event(s, s->events[i].fd, s->events[i].ready);
        }
        if (s->heap_len)
            expire_timers(s, now_ns());
    }
    tl_sched = prev;
    return rc;
}

/* ---- inside a coroutine ---- */

static struct task *self_task(struct cosched *s)
{
    struct coro *co = coro_self();
    if (!s || !co)
        return NULL;
    struct task *t = coro_user_area(co);
    return (t && t->s == s && t->co == co) ? t : NULL;
}

int cosched_wait_fd(int fd, uint32_t events, int64_t timeout_ns)
{
    struct cosched *s = tl_sched;
    struct task *t = self_task(s);
    if (!t)
        return -EPERM;
    if (fd < 0)
        return -EBADF;
    if (!events || (events & ~(uint32_t)MUX_INTEREST))
        return -EINVAL;
    int rc = fds_reserve(s, fd);
    if (rc < 0)
        return rc;
    if (t->cancelled)
        return -ECANCELED;
    struct fdrec *r = &s->fds[fd];
    if (((events & MUX_IN) && r->rd) || ((events & MUX_OUT) && r->wr))
        return -EBUSY;
    if (s->reg == COSCHED_REG_EDGE) {
        uint32_t hit = r->cached & (events | MUX_HUP | MUX_ERR);
        if (hit) {
            r->cached &= ~events;
            s->st.immediate++;
            return (int)hit;
        }
    }
    if (events & MUX_IN)
        r->rd = t;
    if (events & MUX_OUT)
        r->wr = t;
    rc = fd_sync(s, fd, r);
    if (rc < 0) {
        if (r->rd == t)
            r->rd = NULL;
        if (r->wr == t)
            r->wr = NULL;
        return rc;
    }
    t->fd = fd;
    t->want = events;
    s->fd_waiters++;
    if (timeout_ns >= 0)
        heap_push(s, t, now_ns() + timeout_ns);
    s->st.parks_fd++;
    coro_yield();
    return t->result;
}

int cosched_sleep(int64_t ns)
{
    struct cosched *s = tl_sched;
    struct task *t = self_task(s);
    if (!t)
        return -EPERM;
    if (t->cancelled)
        return -ECANCELED;
    heap_push(s, t, now_ns() + (ns > 0 ? ns : 0));
    s->st.parks_timer++;
    coro_yield();
    return t->result; /* 0 from the timer, -ECANCELED from cosched_cancel_all */
}

void cosched_yield(void)
{
    struct cosched *s = tl_sched;
    struct task *t = self_task(s);
    if (!t)
        return;
    s->st.yields++;
    rq_push(s, t);
    coro_yield();
}

int cosched_forget_fd(struct cosched *s, int fd)
{
    if (!s)
        s = tl_sched;
    if (!s)
        return -EPERM;
    if (fd < 0 || fd >= s->fds_cap)
        return 0;
    struct fdrec *r = &s->fds[fd];
    if (r->rd || r->wr)
        return -EBUSY;
    int rc = r->reg ? reg_del(s, fd, r) : 0;
    memset(r, 0, sizeof *r);
    return rc;
}

size_t cosched_cancel_all(struct cosched *s)
{
    if (!s)
        s = tl_sched;
    if (!s)
        return 0;
    struct task *self = self_task(s);
    size_t n = 0;
    for (struct task *t = s->all; t; t = t->all_next) {
        if (t == self || t->cancelled)
            continue;
        t->cancelled = 1;
        n++;
        int fd = t->fd;
        if (fd >= 0 || t->heap_idx >= 0) { /* parked: wake it now with the news */
            wake(s, t, -ECANCELED);
            if (fd >= 0)
                resync_or_fail(s, fd);
        }
    }
    s->st.cancelled += n;
    return n;
}
