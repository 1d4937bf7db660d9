/*
 * libev.c - libev 4 as a peer: `libev`, one loop per poller (ev_loop_new(EVFLAG_AUTO)), on
 * libev's default backend, which is epoll on Linux (ev_backend() says EVBACKEND_EPOLL here;
 * its linuxaio and io_uring backends are not among the recommended ones and are not chosen).
 *
 * One wait is one ev_run() call:
 *     timeout < 0   ev_run(loop, EVRUN_ONCE)
 *     timeout = 0   ev_run(loop, EVRUN_NOWAIT)
 *     timeout > 0   ev_now_update + ev_timer_start(timeout) + ev_run(loop, EVRUN_ONCE)
 * ev_run first applies the registrations queued since the last run (fd_reify: the epoll_ctl
 * calls), then makes one epoll_wait and invokes the callback of every ev_io watcher that
 * fired. Our callback appends {fd, revents} to the peer backlog (peer.h); wait() hands out at
 * most `max` and keeps the rest for the next waits, which deliver them before libev is polled
 * again; del() and mod() drop an fd's entries. One ev_io per fd carries EV_READ and/or
 * EV_WRITE, so an fd is reported once per wait with both bits.
 *
 * Semantics: level only (libev's ev_io is level-triggered; it offers neither edge nor oneshot).
 *
 * Quirks:
 *  a) Registration is deferred: ev_io_start() queues the fd and the epoll_ctl happens in the
 *     next ev_run(). A bad fd would only surface there (the watcher stopped with EV_ERROR), so
 *     add() checks the fd with one fcntl() (our cost, not libev's; fanin's add_ns counts it,
 *     and counts the deferred epoll_ctl through the flush wait it times after the adds).
 *  b) Removal is lazy: ev_io_stop() makes no system call; libev leaves the fd in the epoll
 *     set and removes or narrows it when an event it no longer wants arrives. del_ns measures
 *     that user-space step; the kernel work, if any, lands in a later wait.
 *  c) ev_now() is the time of the last loop iteration: a timer started from it after a pause
 *     fires early by the pause. We call ev_now_update() before starting the timer.
 *  d) The epoll backend's minimum wait is 1 ms (backend_mintime) and epoll_wait takes whole
 *     milliseconds, rounded up: a shorter finite timeout waits about 1 ms (never less).
 *  e) A signal ends a wait: epoll_wait's EINTR ends the backend poll and EVRUN_ONCE returns
 *     without an event and without the timer having fired; wait() returns 0 then.
 *  f) EPOLLERR and EPOLLHUP become EV_READ | EV_WRITE, masked by the watcher's interest: a
 *     hang-up or an error is reported as readiness (no MUX_F_HUPERR). EV_ERROR (libev could not
 *     register the fd: EBADF, ENOMEM) stops the watcher; it is reported once as MUX_ERR with
 *     the interest bits.
 *  g) epoll's dup and fork quirks (events for a closed fd number, a reused fd) are libev's own
 *     to handle: it keeps a generation count per fd in the epoll data, as our io_uring does.
 *  h) ev_io_start() on a negative fd is an assertion failure: add() refuses it first (-EBADF).
 *  i) With no watcher active, ev_run(EVRUN_ONCE) returns at once; a blocking wait with nothing
 *     registered sleeps in pause() instead, until a signal.
 *  j) EVFLAG_NOENV (LIBEV_FLAGS cannot change the backend) and EVFLAG_NOSIGMASK (libev does not
 *     touch the signal mask).
 *  k) One ev_io per fd is allocated at its first add and reused; all are freed with the loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "mux_config.h"
#include "pollers/peers/peer.h"

#if MUX_HAVE_LIBEV
#include <ev.h>

struct libev_poller {
    struct peer_base pb;
    struct ev_loop *loop;
    ev_timer timer;
};

static int libev_probe(char *why, size_t len)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!loop) {
        snprintf(why, len, "libev %d.%d: ev_loop_new failed (no usable backend)",
                 ev_version_major(), ev_version_minor());
        return -ENOSYS;
    }
    ev_loop_destroy(loop);
    return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    uint32_t r = 0;
    if (revents & EV_READ)
        r |= MUX_IN;
    if (revents & EV_WRITE)
        r |= MUX_OUT;
    if (revents & EV_ERROR) /* quirk f: the watcher is stopped */
        r |= MUX_ERR | ((w->events & EV_READ) ? MUX_IN : 0) | ((w->events & EV_WRITE) ? MUX_OUT : 0);
    peer_note(w->data, w->fd, r);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static int libev_create(struct poller **out, const struct poller_cfg *cfg)
{
    struct libev_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (peer_init(&p->pb, cfg) < 0) {
        free(p);
        return -ENOMEM;
    }
    p->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (!p->loop) {
        peer_free(&p->pb);
        free(p);
        return -ENOSYS;
    }
    ev_timer_init(&p->timer, timer_cb, 0., 0.);
    *out = &p->pb.base;
    return 0;
}

static void libev_destroy(struct poller *base)
{
    struct libev_poller *p = (struct libev_poller *)base;
    for (int fd = 0; fd < p->pb.obj_cap; fd++) {
        ev_io *w = p->pb.obj[fd];
        if (w) {
            ev_io_stop(p->loop, w);
            free(w);
        }
    }
    ev_timer_stop(p->loop, &p->timer);
    ev_loop_destroy(p->loop);
    peer_free(&p->pb);
    free(p);
}

static int to_libev(uint32_t events)
{
    return ((events & MUX_IN) ? EV_READ : 0) | ((events & MUX_OUT) ? EV_WRITE : 0);
}

static int libev_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct libev_poller *p = (struct libev_poller *)base;
    int rc = peer_check_add(&p->pb, fd, events); /* quirk h: fd < 0 refused here */
    if (rc < 0)
        return rc;
    if (fd_check_open(fd) < 0) /* quirk a */
        return -EBADF;
    ev_io *w = p->pb.obj[fd];
    if (!w) {
        if (!(w = malloc(sizeof *w)))
            return -ENOMEM;
        ev_io_init(w, io_cb, fd, to_libev(events));
        w->data = &p->pb;
        p->pb.obj[fd] = w;
    } else {
        ev_io_set(w, fd, to_libev(events));
    }
    ev_io_start(p->loop, w);
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int libev_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct libev_poller *p = (struct libev_poller *)base;
    int rc = peer_check_mod(&p->pb, fd, events);
    if (rc < 0)
        return rc;
    ev_io *w = p->pb.obj[fd];
    ev_io_stop(p->loop, w); /* libev: a watcher's events change only while it is stopped */
    ev_io_set(w, fd, to_libev(events));
    ev_io_start(p->loop, w);
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int libev_del(struct poller *base, int fd)
{
    struct libev_poller *p = (struct libev_poller *)base;
    if (!peer_slot(&p->pb, fd))
        return -ENOENT;
    ev_io_stop(p->loop, p->pb.obj[fd]);
    peer_unregistered(&p->pb, fd);
    return 0;
}

static int libev_run_once(struct peer_base *pb, int64_t timeout_ns)
{
    struct libev_poller *p = (struct libev_poller *)pb;
    if (timeout_ns == 0) {
        ev_run(p->loop, EVRUN_NOWAIT);
        return 0;
    }
    if (pb->registered == 0 && timeout_ns < 0) { /* quirk i */
        ev_run(p->loop, EVRUN_NOWAIT);
        peer_sleep(-1);
        return PEER_INTERRUPTED;
    }
    int fired = 0;
    if (timeout_ns > 0) {
        ev_now_update(p->loop); /* quirk c */
        ev_timer_set(&p->timer, (double)timeout_ns * 1e-9, 0.);
        ev_timer_start(p->loop, &p->timer);
    }
    ev_run(p->loop, EVRUN_ONCE);
    if (timeout_ns > 0) {
        fired = !ev_is_active(&p->timer); /* a one-shot timer stops itself when it fires */
        ev_timer_stop(p->loop, &p->timer);
    }
    /* quirk e: nothing reported and no timeout: a signal interrupted epoll_wait. */
    return (pb->count == 0 && !fired) ? PEER_INTERRUPTED : 0;
}

static int libev_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    return peer_wait((struct peer_base *)base, out, max, timeout_ns, libev_run_once);
}

const struct poller_ops libev_ops = {
    .name = "libev",
    .summary = "libev 4, its default backend (epoll on Linux); ev_io, level-triggered",
    .features = MUX_F_PEER | MUX_F_LEVEL | MUX_F_O1,
    .probe = libev_probe,
    .create = libev_create,
    .destroy = libev_destroy,
    .add = libev_add,
    .mod = libev_mod,
    .del = libev_del,
    .wait = libev_wait,
};

#else /* !MUX_HAVE_LIBEV */

static int libev_stub_probe(char *why, size_t len)
{
    return peer_stub_probe(why, len, "built without libev (install libev-dev: ev.h and -lev)");
}
PEER_STUB_OPS(libev_ops, "libev", "libev 4, its default backend", libev_stub_probe);

#endif
