/*
 * kqueue.c - BSD/macOS kqueue: `kqueue` (level by default; edge and oneshot per fd on request).
 *
 * One wait is one kevent() with an empty changelist, then a walk of the returned kevents that
 * merges an fd's read and write kevents into one event and attaches the caller's data pointer.
 * add/mod/del apply their changes at once (one kevent() each), never deferred into a wait. The
 * kernel keeps the knotes and a queue of active ones, so a wait does not touch idle fds: the
 * cost claim C1 puts to the test. Only a wait that reports a oneshot fd with its other filter
 * still armed makes one more kevent() (quirk d).
 *
 * Kernel quirks handled:
 *  a) Read and write interest are two knotes, (fd, EVFILT_READ) and (fd, EVFILT_WRITE), and come
 *     back as two kevents, anywhere in one batch. We merge them into one event per fd: the fd
 *     table's `mark` holds the number of the wait that last reported the fd and `index` its
 *     place in out[], so a second kevent for the fd ORs its bits in. O(1) per kevent, no sort.
 *  b) EV_ADD on an existing knote silently modifies it; nothing says "already registered". The
 *     fd table decides -EEXIST and -ENOENT, and its `state` records which filters the fd has in
 *     the kernel (KQ_R, KQ_W), so mod() adds and deletes exactly the filters that change.
 *  c) EV_ADD on an existing knote updates udata and re-evaluates the filter, but keeps the
 *     EV_CLEAR / EV_ONESHOT it was created with (FreeBSD). A mod() that changes the mode deletes
 *     the filter and adds it back; one that keeps it re-issues EV_ADD, which re-checks readiness
 *     as epoll_ctl(EPOLL_CTL_MOD) does.
 *  d) EV_ONESHOT deletes only the knote that fired; the fd's other filter is a separate knote,
 *     still armed, and would report the fd again (e.g. writable after it was reported readable).
 *     So when a wait reports a oneshot fd, the filters that did not fire are deleted (EV_DELETE,
 *     batched for the whole wait) before wait() returns: the fd is disarmed as a whole until
 *     mod() adds its filters afresh. Both filters firing in one batch are merged, both are gone.
 *     A kevent batch may stop after one filter of an fd (max): that fd is reported once with the
 *     bits that arrived, and the other direction waits for the re-arm, as a oneshot should.
 *  e) MUX_HUP comes from EV_EOF (the peer shut down, a pipe's writer went away). A socket error
 *     comes with EV_EOF and the error in fflags (kqueue copies so_error there and leaves it
 *     pending for SO_ERROR): EV_EOF with non-zero fflags, or EV_ERROR, is MUX_ERR.
 *  f) With no room for receipts, kevent() stops at the first change that fails and the rest are
 *     not applied. Updates of several knotes set EV_RECEIPT and pass the same array as the
 *     eventlist (allowed by kevent(2)): every change is tried and answers with EV_ERROR and its
 *     errno in data, and no event is dequeued. Without EV_RECEIPT, one kevent() per change. A
 *     failed add() deletes both filters (errors ignored), leaving nothing half registered; a
 *     failed mod() does the same and leaves the fd registered but disarmed until a mod() works.
 *  g) EV_DELETE and close() drop a knote's queued event, so stale events should not occur. udata
 *     carries the registration's generation (fdtab `gen`, bumped by add and del) anyway, and a
 *     kevent for a generation, fd or filter the table does not hold is dropped.
 *  h) Timeouts are a struct timespec: nanoseconds pass through unrounded (NULL waits forever).
 *     An interrupted kevent() (EINTR) is zero events.
 *  i) udata is void * on FreeBSD, macOS and NetBSD >= 10, intptr_t on older NetBSD: it is set
 *     and read through _Generic, with no cast warnings either way.
 *  j) close() removes an fd's knotes in the kernel. The API still asks for del() first; del() of
 *     an fd closed behind our back clears the table and returns the -EBADF kevent() gives.
 *
 * Built for real where <sys/event.h> exists (MUX_HAVE_KQUEUE). Elsewhere this file exports a
 * stub whose probe() says why, so `muxbench list` names kqueue as unavailable. The tests build
 * this same source a second time, against a test-only kevent-over-epoll adapter, by defining
 * KQ_REAL, KQ_EVENT_HEADER, KQ_OPS_SYMBOL, KQ_NAME, KQ_SUMMARY and KQ_EXTRA_FEATURES first
 * (tests/kqueue_emul/kqueue_emul_backend.c); the defaults below are the product's.
 */
#include "mux_config.h"

#ifndef KQ_REAL
#define KQ_REAL MUX_HAVE_KQUEUE
#endif
#ifndef KQ_OPS_SYMBOL
#define KQ_OPS_SYMBOL kqueue_ops
#endif
#ifndef KQ_NAME
#define KQ_NAME "kqueue"
#endif
#ifndef KQ_SUMMARY
#define KQ_SUMMARY "kqueue/kevent (BSD, macOS), level-triggered (edge/oneshot per fd on request)"
#endif
#ifndef KQ_EXTRA_FEATURES
#define KQ_EXTRA_FEATURES 0
#endif
#define KQ_FEATURES                                                                            \
    (MUX_F_LEVEL | MUX_F_EDGE | MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR | (KQ_EXTRA_FEATURES))

#include <errno.h>

#include "pollers/backends.h"

#if KQ_REAL

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifdef KQ_EVENT_HEADER
#include KQ_EVENT_HEADER
#else
#include <sys/event.h>
#endif

#include "pollers/fdtab.h"

enum { KQ_R = 1u << 0, KQ_W = 1u << 1 }; /* fd_slot.state: the filters the fd has in the kernel */

struct kq_poller {
    struct poller base;
    int kq;
    int kev_cap;
    struct kevent *kev; /* wait's event buffer, then its disarm changelist (quirk d) */
    uint32_t call;      /* numbers the waits for fd_slot.mark (quirk a); never 0 */
    struct fdtab fds;
};

/* Quirk i. */
#define KQ_SET_GEN(kev, g)                                                                     \
    ((kev).udata = _Generic((kev).udata, void *: (void *)(uintptr_t)(g), default: (g)))
#define KQ_GEN(kev) ((uint32_t)(uintptr_t)(kev).udata)

static unsigned kq_mode(uint32_t events)
{
    return (events & MUX_ONESHOT) ? EV_ONESHOT : (events & MUX_EDGE) ? EV_CLEAR : 0;
}

static void kq_change(struct kevent *ch, int fd, int filter, unsigned flags, uint32_t gen)
{
    EV_SET(ch, fd, filter, flags, 0, 0, 0);
    KQ_SET_GEN(*ch, gen);
}

/* Applies n changes, every one of them tried; returns 0 or the first -errno (quirk f). The
 * receipts overwrite ch. */
static int kq_apply(int kq, struct kevent *ch, int n)
{
    if (n <= 0)
        return 0;
    if (n == 1)
        return kevent(kq, ch, 1, NULL, 0, NULL) < 0 ? -errno : 0;
#ifdef EV_RECEIPT
    static const struct timespec zero = {0, 0};
    for (int i = 0; i < n; i++)
        ch[i].flags |= EV_RECEIPT;
    int got = kevent(kq, ch, n, ch, n, &zero);
    if (got < 0)
        return -errno;
    for (int i = 0; i < got; i++)
        if ((ch[i].flags & EV_ERROR) && ch[i].data != 0)
            return -(int)ch[i].data;
    return 0;
#else
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (kevent(kq, &ch[i], 1, NULL, 0, NULL) < 0 && rc == 0)
            rc = -errno;
    return rc;
#endif
}

/* Deletes both filters of fd, whichever exist: the way back from a failed add or mod. */
static void kq_drop_all(struct kq_poller *p, int fd)
{
    struct kevent ch[2];
    kq_change(&ch[0], fd, EVFILT_READ, EV_DELETE, 0);
    kq_change(&ch[1], fd, EVFILT_WRITE, EV_DELETE, 0);
    (void)kq_apply(p->kq, ch, 2);
}

static int kq_probe(char *why, size_t len)
{
    int kq = kqueue();
    if (kq < 0)
        return poller_unavailable(why, len, -errno, "kqueue() failed on this system");
    close(kq);
    return 0;
}

static int kq_create(struct poller **out, const struct poller_cfg *cfg)
{
    struct kq_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->kq = kqueue();
    if (p->kq < 0) {
        int err = -errno;
        free(p);
        return err;
    }
    if (cfg->expected_fds > 0 && fdtab_reserve(&p->fds, cfg->expected_fds) < 0) {
        close(p->kq);
        free(p);
        return -ENOMEM;
    }
    *out = &p->base;
    return 0;
}

static void kq_destroy(struct poller *base)
{
    struct kq_poller *p = (struct kq_poller *)base;
    close(p->kq); /* drops every knote */
    free(p->kev);
    fdtab_free(&p->fds);
    free(p);
}

static int kq_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct kq_poller *p = (struct kq_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_add_prologue(&p->fds, base, fd, events, 0, &s); /* -EEXIST: quirk b */
    if (rc < 0)
        return rc;
    uint32_t gen = ++s->gen;
    unsigned flags = EV_ADD | kq_mode(events);
    struct kevent ch[2];
    int n = 0;
    if (events & MUX_IN)
        kq_change(&ch[n++], fd, EVFILT_READ, flags, gen);
    if (events & MUX_OUT)
        kq_change(&ch[n++], fd, EVFILT_WRITE, flags, gen);
    if ((rc = kq_apply(p->kq, ch, n)) < 0) {
        if (n > 1)
            kq_drop_all(p, fd);
        return rc;
    }
    s->events = events;
    s->data = data;
    s->state = ((events & MUX_IN) ? KQ_R : 0) | ((events & MUX_OUT) ? KQ_W : 0);
    return 0;
}

static int kq_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    static const struct {
        uint32_t bit;
        int filter; /* short on FreeBSD and macOS, uint32_t on NetBSD */
        unsigned have;
    } filt[] = {{MUX_IN, EVFILT_READ, KQ_R}, {MUX_OUT, EVFILT_WRITE, KQ_W}};
    struct kq_poller *p = (struct kq_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_mod_prologue(&p->fds, base, fd, events, &s);
    if (rc < 0)
        return rc;
    unsigned mode = kq_mode(events), old_mode = kq_mode(s->events);
    struct kevent ch[4];
    int n = 0;
    for (int k = 0; k < 2; k++) {
        int want = (events & filt[k].bit) != 0, has = (s->state & filt[k].have) != 0;
        if (has && (!want || mode != old_mode)) /* quirk c: a mode is fixed at creation */
            kq_change(&ch[n++], fd, filt[k].filter, EV_DELETE, s->gen);
        if (want)
            kq_change(&ch[n++], fd, filt[k].filter, EV_ADD | mode, s->gen);
    }
    rc = kq_apply(p->kq, ch, n);
    s->events = events;
    s->data = data;
    if (rc < 0) {
        kq_drop_all(p, fd); /* quirk f: registered, disarmed */
        s->state = 0;
        return rc;
    }
    s->state = ((events & MUX_IN) ? KQ_R : 0) | ((events & MUX_OUT) ? KQ_W : 0);
    return 0;
}

static int kq_del(struct poller *base, int fd)
{
    struct kq_poller *p = (struct kq_poller *)base;
    struct fd_slot *s = fdtab_registered(&p->fds, fd);
    if (!s)
        return -ENOENT;
    struct kevent ch[2];
    int n = 0;
    if (s->state & KQ_R)
        kq_change(&ch[n++], fd, EVFILT_READ, EV_DELETE, s->gen);
    if (s->state & KQ_W)
        kq_change(&ch[n++], fd, EVFILT_WRITE, EV_DELETE, s->gen);
    int rc = kq_apply(p->kq, ch, n);
    s->events = 0;
    s->data = NULL;
    s->state = 0;
    s->gen++;
    /* ENOENT: the fd was closed and its number reused, its knotes died with it (quirk j). */
    return rc == -ENOENT ? 0 : rc;
}

/* Quirk d: every oneshot fd reported in this wait loses the filters that did not fire. At most
 * one per reported fd remains (one fired), so the changelist fits in kev[0..got). */
static void kq_disarm(struct kq_poller *p, const struct mux_event *out, int got)
{
    int n = 0;
    for (int i = 0; i < got; i++) {
        struct fd_slot *s = fdtab_get(&p->fds, out[i].fd);
        if (!(s->events & MUX_ONESHOT) || !s->state)
            continue;
        if (s->state & KQ_R)
            kq_change(&p->kev[n++], out[i].fd, EVFILT_READ, EV_DELETE, s->gen);
        if (s->state & KQ_W)
            kq_change(&p->kev[n++], out[i].fd, EVFILT_WRITE, EV_DELETE, s->gen);
        s->state = 0;
    }
    /* A failure can only be an fd closed since it was reported: its knotes are gone anyway. */
    (void)kq_apply(p->kq, p->kev, n);
}

static int kq_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    struct kq_poller *p = (struct kq_poller *)base;
    if (max <= 0)
        return -EINVAL;
    if (max > p->kev_cap) {
        struct kevent *kev = realloc(p->kev, (size_t)max * sizeof *kev);
        if (!kev)
            return -ENOMEM;
        p->kev = kev;
        p->kev_cap = max;
    }
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    int n = kevent(p->kq, NULL, 0, p->kev, max, tsp);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (++p->call == 0) { /* wrapped: forget every mark so none can match by accident */
        for (int fd = 0; fd < p->fds.cap; fd++)
            p->fds.slots[fd].mark = 0;
        p->call = 1;
    }
    int got = 0, oneshot = 0;
    for (int i = 0; i < n; i++) {
        const struct kevent *k = &p->kev[i];
        unsigned bit = k->filter == EVFILT_READ ? KQ_R : k->filter == EVFILT_WRITE ? KQ_W : 0;
        struct fd_slot *s = k->ident <= INT_MAX ? fdtab_registered(&p->fds, (int)k->ident) : NULL;
        if (!s || !(s->state & bit) || KQ_GEN(*k) != s->gen)
            continue; /* quirk g */
        uint32_t ready;
        if (k->flags & EV_ERROR) {
            ready = MUX_ERR;
        } else {
            ready = bit == KQ_R ? MUX_IN : MUX_OUT;
            if (k->flags & EV_EOF)
                ready |= MUX_HUP | (k->fflags ? MUX_ERR : 0); /* quirk e */
        }
        if (s->events & MUX_ONESHOT) {
            s->state &= ~bit; /* the kernel deleted this knote as it returned it */
            oneshot = 1;
        }
        if (s->mark == p->call) { /* quirk a: the fd's other filter, already in out[] */
            out[s->index].ready |= ready;
            continue;
        }
        s->mark = p->call;
        s->index = got;
        out[got++] = (struct mux_event){.fd = (int)k->ident, .ready = ready, .data = s->data};
    }
    if (oneshot)
        kq_disarm(p, out, got);
    return got;
}

const struct poller_ops KQ_OPS_SYMBOL = {
    .name = KQ_NAME,
    .summary = KQ_SUMMARY,
    .features = KQ_FEATURES,
    .probe = kq_probe,
    .create = kq_create,
    .destroy = kq_destroy,
    .add = kq_add,
    .mod = kq_mod,
    .del = kq_del,
    .wait = kq_wait,
};

#else /* !KQ_REAL: listed, never available */

static int kq_probe(char *why, size_t len)
{
    return poller_unavailable(why, len, -ENOSYS,
                              "no <sys/event.h> on this system (kqueue is BSD/macOS only); "
                              "not emulated, never reported");
}

static int kq_create(struct poller **p, const struct poller_cfg *cfg)
{
    (void)p;
    (void)cfg;
    return -ENOSYS;
}

const struct poller_ops KQ_OPS_SYMBOL = {
    .name = KQ_NAME,
    .summary = KQ_SUMMARY,
    .features = KQ_FEATURES,
    .probe = kq_probe,
    .create = kq_create,
};

#endif
