/*
 * libevent.c - libevent 2.1 as a peer: `libevent-epoll`, `libevent-poll` and `libevent-select`,
 * one event_base per poller, forced onto one method.
 *
 * One wait is one event_base_loop() call on the poller's base:
 *     timeout < 0   event_base_loop(base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY)
 *     timeout = 0   event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK)
 *     timeout > 0   evtimer_add(timer, timeout) + event_base_loop(base, EVLOOP_ONCE) (+ evtimer_del)
 * libevent runs one dispatch (epoll_wait, poll or select) and then the callback of every event
 * it activated. Our callback appends {fd, what} to the peer backlog (peer.h); wait() hands out
 * at most `max` of them and keeps the rest for the next waits, which deliver them before
 * libevent is polled again; del() and mod() drop an fd's entries. Each fd has one
 * `struct event` with EV_READ and/or EV_WRITE, so a wait reports an fd once with both bits.
 *
 * Semantics, as libevent offers them: level = EV_PERSIST; edge = EV_PERSIST | EV_ET (the epoll
 * method only: EV_FEATURE_ET); oneshot = an event without EV_PERSIST, which libevent deletes
 * after it fires and mod() adds again.
 *
 * Quirks:
 *  a) The select method aborts the process at fd 1024. Its fd sets are allocated to size, but
 *     Debian builds libevent with _FORTIFY_SOURCE, so its FD_SET() calls __fdelt_chk, which
 *     aborts for any fd >= FD_SETSIZE. Seen here (libevent 2.1.12-stable, Debian 12, a child
 *     process adding an EV_READ event on a socket dup2()'d to the fd): fd 1023 is added and
 *     fires; fd 1024 and fd 5000 kill the child with SIGABRT after
 *     "*** bit out of range 0 - FD_SETSIZE on fd_set ***: terminated"
 *     (`nm -D libevent_core-2.1.so.7` lists __fdelt_chk). libevent-select therefore has
 *     fd_limit = FD_SETSIZE: add() refuses such fds with -ERANGE instead of dying, and the
 *     fanin sweep records the cases it cannot run as skipped, with this reason.
 *  b) A signal does not end a wait: every method returns 0 from its dispatch on EINTR and
 *     event_base_loop(EVLOOP_ONCE) dispatches again (MUX_F_EINTR_RESTART).
 *  c) Timers run on CLOCK_MONOTONIC_COARSE (a jiffy's resolution) unless the base has
 *     EVENT_BASE_FLAG_PRECISE_TIMER, which on epoll adds a timerfd_settime() to every dispatch;
 *     we keep the default and, when the timer fires before our own deadline, wait again for
 *     the rest (peer_wait), so a finite timeout is never cut short. Blocking and zero waits,
 *     the ones fanin measures, use no timer.
 *  d) EPOLLHUP and EPOLLERR (POLLHUP, POLLERR, POLLNVAL) become EV_READ | EV_WRITE, masked by
 *     the event's interest: a hang-up or an error is reported as readiness (no MUX_F_HUPERR),
 *     as our select backend does.
 *  e) The poll and select methods start each scan of their fd array at a random index
 *     (evutil_weakrand): randomization inside the measured path, libevent's own.
 *  f) event_add() logs a failed epoll_ctl through event_warn() (silenced here: a log callback
 *     that drops messages) and returns -1 without a reliable errno; the poll and select methods
 *     do not look at the fd at all until the next dispatch (then POLLNVAL, or EBADF failing the
 *     whole select). add() therefore checks the fd with one fcntl() for poll and select (as our
 *     own poll and select do) and, for epoll, only after a failure, to return -EBADF.
 *  g) With nothing registered, event_base_loop() returns at once; blocking waits pass
 *     EVLOOP_NO_EXIT_ON_EMPTY so they wait as the contract says.
 *  h) The method is forced with event_config_avoid_method() for every other method; the base
 *     has EVENT_BASE_FLAG_NOLOCK (one thread) and EVENT_BASE_FLAG_IGNORE_ENV (EVENT_NOEPOLL
 *     and friends cannot change what is measured), and create() checks the method it got.
 *  i) One `struct event` per fd is allocated at its first add (event_new) and reused by later
 *     adds (event_assign), as libevent's own test/bench.c reuses its array of events; all are
 *     freed with the base.
 *  j) EVLOOP_NONBLOCK alone does not return while callbacks keep becoming active: with a
 *     readable level-triggered fd it dispatches forever. Zero-timeout waits pass
 *     EVLOOP_ONCE | EVLOOP_NONBLOCK, as libevent's test/bench.c does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#include "mux_config.h"
#include "pollers/peers/peer.h"

#if MUX_HAVE_LIBEVENT
#include <event2/event.h>

struct levent_poller {
    struct peer_base pb;
    struct event_base *base;
    struct event *timer;
    const char *method;
    int check_fd_at_add; /* poll, select: quirk f */
};

static void quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

/* A base that uses `method` only, or NULL. */
static struct event_base *base_with_method(const char *method)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    const char **methods = event_get_supported_methods();
    for (int i = 0; methods && methods[i]; i++)
        if (strcmp(methods[i], method) != 0)
            event_config_avoid_method(cfg, methods[i]);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_IGNORE_ENV);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (base && strcmp(event_base_get_method(base), method) != 0) {
        event_base_free(base);
        base = NULL;
    }
    return base;
}

static int probe_method(const char *method, char *why, size_t len)
{
    event_set_log_callback(quiet_log);
    struct event_base *base = base_with_method(method);
    if (!base) {
        snprintf(why, len, "libevent %s has no usable '%s' method here", event_get_version(),
                 method);
        return -ENOSYS;
    }
    event_base_free(base);
    return 0;
}

static uint32_t from_libevent(short what)
{
    uint32_t r = 0;
    if (what & EV_READ)
        r |= MUX_IN;
    if (what & EV_WRITE)
        r |= MUX_OUT;
    return r;
}

static short to_libevent(uint32_t events)
{
    short f = 0;
    if (events & MUX_IN)
        f |= EV_READ;
    if (events & MUX_OUT)
        f |= EV_WRITE;
    if (!(events & MUX_ONESHOT))
        f |= EV_PERSIST;
    if (events & MUX_EDGE)
        f |= EV_ET;
    return f;
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
    peer_note(arg, (int)fd, from_libevent(what));
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int levent_create(struct poller **out, const struct poller_cfg *cfg, const char *method)
{
    event_set_log_callback(quiet_log);
    struct levent_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (peer_init(&p->pb, cfg) < 0) {
        free(p);
        return -ENOMEM;
    }
    p->method = method;
    p->check_fd_at_add = strcmp(method, "epoll") != 0;
    p->base = base_with_method(method);
    if (p->base)
        p->timer = evtimer_new(p->base, timer_cb, p);
    if (!p->base || !p->timer) {
        int err = p->base ? -ENOMEM : -ENOSYS;
        if (p->base)
            event_base_free(p->base);
        peer_free(&p->pb);
        free(p);
        return err;
    }
    *out = &p->pb.base;
    return 0;
}

static void levent_destroy(struct poller *base)
{
    struct levent_poller *p = (struct levent_poller *)base;
    for (int fd = 0; fd < p->pb.obj_cap; fd++)
        if (p->pb.obj[fd])
            event_free(p->pb.obj[fd]); /* deletes it first if pending */
    event_free(p->timer);
    event_base_free(p->base);
    peer_free(&p->pb);
    free(p);
}

/* Assigns and adds fd's event; returns 0 or -errno. */
static int arm(struct levent_poller *p, int fd, uint32_t events)
{
    struct event *ev = p->pb.obj[fd];
    if (!ev) {
        ev = event_new(p->base, fd, to_libevent(events), io_cb, &p->pb);
        if (!ev)
            return -ENOMEM;
        p->pb.obj[fd] = ev;
    } else if (event_assign(ev, p->base, fd, to_libevent(events), io_cb, &p->pb) < 0) {
        return -EINVAL;
    }
    errno = 0;
    if (event_add(ev, NULL) < 0) {
        /* quirk f: epoll_ctl's errno usually survives libevent's logging; EPERM (a regular
         * file, which epoll refuses) is the one a caller can act on. */
        int err = errno;
        if (fd_check_open(fd) < 0)
            return -EBADF;
        return err == EPERM || err == ENOSPC || err == ENOMEM ? -err : -EIO;
    }
    return 0;
}

static int levent_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct levent_poller *p = (struct levent_poller *)base;
    int rc = peer_check_add(&p->pb, fd, events);
    if (rc < 0)
        return rc;
    if (p->check_fd_at_add && fd_check_open(fd) < 0)
        return -EBADF;
    if ((rc = arm(p, fd, events)) < 0)
        return rc;
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int levent_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct levent_poller *p = (struct levent_poller *)base;
    int rc = peer_check_mod(&p->pb, fd, events);
    if (rc < 0)
        return rc;
    event_del(p->pb.obj[fd]); /* a fired oneshot event is no longer pending: harmless */
    if ((rc = arm(p, fd, events)) < 0) {
        peer_unregistered(&p->pb, fd);
        return rc;
    }
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int levent_del(struct poller *base, int fd)
{
    struct levent_poller *p = (struct levent_poller *)base;
    if (!peer_slot(&p->pb, fd))
        return -ENOENT;
    event_del(p->pb.obj[fd]);
    peer_unregistered(&p->pb, fd);
    return 0;
}

static int levent_run_once(struct peer_base *pb, int64_t timeout_ns)
{
    struct levent_poller *p = (struct levent_poller *)pb;
    int rc;
    if (timeout_ns == 0) {
        rc = event_base_loop(p->base, EVLOOP_ONCE | EVLOOP_NONBLOCK); /* quirk j */
    } else if (timeout_ns < 0) {
        rc = event_base_loop(p->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
    } else {
        int64_t us = (timeout_ns + 999) / 1000; /* rounded up, never to a busy poll */
        struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
        evtimer_add(p->timer, &tv);
        rc = event_base_loop(p->base, EVLOOP_ONCE);
        evtimer_del(p->timer);
    }
    return rc < 0 ? -EIO : 0;
}

static int levent_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    return peer_wait((struct peer_base *)base, out, max, timeout_ns, levent_run_once);
}

#define LEVENT_OPS(sym, nm, method, sum, feat, limit)                                          \
    static int sym##_probe(char *why, size_t len) { return probe_method(method, why, len); }   \
    static int sym##_create(struct poller **p, const struct poller_cfg *cfg)                   \
    {                                                                                          \
        return levent_create(p, cfg, method);                                                  \
    }                                                                                          \
    const struct poller_ops sym = {                                                            \
        .name = nm,                                                                            \
        .summary = sum,                                                                        \
        .features = MUX_F_PEER | MUX_F_EINTR_RESTART | MUX_F_LEVEL | MUX_F_ONESHOT | (feat),   \
        .fd_limit = limit,                                                                     \
        .probe = sym##_probe,                                                                  \
        .create = sym##_create,                                                                \
        .destroy = levent_destroy,                                                             \
        .add = levent_add,                                                                     \
        .mod = levent_mod,                                                                     \
        .del = levent_del,                                                                     \
        .wait = levent_wait,                                                                   \
    }

LEVENT_OPS(libevent_epoll_ops, "libevent-epoll", "epoll",
           "libevent 2.1, epoll method (EV_PERSIST level; EV_ET edge; oneshot)",
           MUX_F_EDGE | MUX_F_O1, 0);
LEVENT_OPS(libevent_poll_ops, "libevent-poll", "poll",
           "libevent 2.1, poll method (EV_PERSIST level; oneshot)", 0, 0);
LEVENT_OPS(libevent_select_ops, "libevent-select", "select",
           "libevent 2.1, select method; fds >= FD_SETSIZE refused (its fortified FD_SET aborts)",
           0, FD_SETSIZE);

#else /* !MUX_HAVE_LIBEVENT */

static int levent_stub_probe(char *why, size_t len)
{
    return peer_stub_probe(why, len, "built without libevent (install libevent-dev)");
}
PEER_STUB_OPS(libevent_epoll_ops, "libevent-epoll", "libevent 2.1, epoll method",
              levent_stub_probe);
PEER_STUB_OPS(libevent_poll_ops, "libevent-poll", "libevent 2.1, poll method", levent_stub_probe);
PEER_STUB_OPS(libevent_select_ops, "libevent-select", "libevent 2.1, select method",
              levent_stub_probe);

#endif
