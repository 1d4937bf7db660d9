/*
 * libuv.c - libuv 1 as a peer: `libuv`, one uv_loop_t per poller, on libuv's only Linux
 * backend (epoll), with one uv_poll_t handle per fd.
 *
 * One wait is one uv_run() call:
 *     timeout < 0   uv_run(loop, UV_RUN_ONCE)
 *     timeout = 0   uv_run(loop, UV_RUN_NOWAIT)
 *     timeout > 0   uv_update_time + uv_timer_start(ms) + uv_run(loop, UV_RUN_ONCE) + uv_timer_stop
 * uv_run runs due timers, pending and idle callbacks, then uv__io_poll: the epoll_ctl calls
 * queued since the last run, epoll_wait into a 1024-entry array and each watcher's callback;
 * then check and close callbacks. Our poll callback appends {fd, events} to the peer backlog
 * (peer.h); wait() hands out at most `max` and keeps the rest for the next waits, which
 * deliver them before libuv is polled again; del() and mod() drop an fd's entries. One handle
 * per fd carries UV_READABLE and/or UV_WRITABLE, and a second report of an fd in the same run
 * (quirk d) is merged into its first event.
 *
 * Semantics: level only (uv_poll is level-triggered; libuv offers neither edge nor oneshot).
 *
 * Quirks:
 *  a) uv_close() is asynchronous: del() stops the handle (epoll_ctl DEL at once, through
 *     uv__platform_invalidate_fd) and closes it; libuv calls the close callback, which frees
 *     it, in the next uv_run(). destroy() runs the loop once to finish the closes before
 *     uv_loop_close().
 *  b) A handle cannot be reused before its close callback: each add allocates one. uv_poll_init
 *     tests the fd with an epoll_ctl ADD and DEL pair (uv__io_check_fd) and sets O_NONBLOCK
 *     (ioctl FIONBIO); the registering EPOLL_CTL_ADD itself waits for the next uv_run (the
 *     watcher queue). add_ns counts all of it (fanin times a flush wait after the adds).
 *  c) When epoll_wait fills its 1024 entries, uv__io_poll polls again without blocking, up to
 *     48 times in one run: an fd that is still ready (we read nothing inside the callbacks) is
 *     then reported again in the same run. peer_note merges the reports (the contract: each fd
 *     at most once per wait).
 *  d) A signal does not end a wait: uv__io_poll restarts epoll_wait on EINTR with what is left
 *     of the timeout (MUX_F_EINTR_RESTART).
 *  e) Timers are whole milliseconds on the loop's cached clock (uv_now(), truncated to the
 *     millisecond): we call uv_update_time() before uv_timer_start() and round up, and when
 *     the timer fires before our own deadline (by < 1 ms) peer_wait waits for the rest.
 *  f) POLLERR: libuv stops the handle and calls back once with status UV_EBADF. We report
 *     MUX_ERR with the interest bits and start the handle again, so the error is reported at
 *     every wait while it holds, as level semantics say. EPOLLHUP alone is merged into the
 *     read/write bits the handle asked for; UV_DISCONNECT (EPOLLRDHUP: sockets only) is not
 *     requested. No MUX_F_HUPERR.
 *  g) With no active handle, uv_run() returns at once (the loop is not alive, or uv__io_poll
 *     has nothing to watch); a wait with nothing registered sleeps instead.
 *  h) An epoll_ctl failure inside uv__io_poll aborts the process: an fd closed between add()
 *     and the next wait (against rule 5 of poller.h) kills it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "mux_config.h"
#include "pollers/peers/peer.h"

#if MUX_HAVE_LIBUV
#include <uv.h>

struct libuv_poller {
    struct peer_base pb;
    uv_loop_t loop;
    uv_timer_t timer;
};

struct libuv_handle {
    uv_poll_t poll;
    int fd;
    int interest; /* UV_READABLE | UV_WRITABLE */
};

static int libuv_probe(char *why, size_t len)
{
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        snprintf(why, len, "libuv %s: uv_loop_init failed: %s", uv_version_string(),
                 uv_strerror(rc));
        return rc;
    }
    uv_loop_close(&loop);
    return 0;
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct libuv_handle *lh = (struct libuv_handle *)h;
    uint32_t r = 0;
    if (status < 0) { /* quirk f */
        r = MUX_ERR | ((lh->interest & UV_READABLE) ? MUX_IN : 0) |
            ((lh->interest & UV_WRITABLE) ? MUX_OUT : 0);
        uv_poll_start(h, lh->interest, poll_cb);
    } else {
        r = ((events & UV_READABLE) ? MUX_IN : 0) | ((events & UV_WRITABLE) ? MUX_OUT : 0);
    }
    peer_note(h->data, lh->fd, r);
}

static void close_cb(uv_handle_t *h) { free(h); }

static void timer_cb(uv_timer_t *t) { (void)t; }

static int libuv_create(struct poller **out, const struct poller_cfg *cfg)
{
    struct libuv_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (peer_init(&p->pb, cfg) < 0) {
        free(p);
        return -ENOMEM;
    }
    int rc = uv_loop_init(&p->loop);
    if (rc < 0) {
        peer_free(&p->pb);
        free(p);
        return rc;
    }
    uv_timer_init(&p->loop, &p->timer);
    *out = &p->pb.base;
    return 0;
}

static void libuv_destroy(struct poller *base)
{
    struct libuv_poller *p = (struct libuv_poller *)base;
    for (int fd = 0; fd < p->pb.obj_cap; fd++) {
        uv_poll_t *h = p->pb.obj[fd];
        if (h) {
            uv_poll_stop(h);
            uv_close((uv_handle_t *)h, close_cb);
        }
    }
    uv_close((uv_handle_t *)&p->timer, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT); /* quirk a: the close callbacks */
    uv_loop_close(&p->loop);
    peer_free(&p->pb);
    free(p);
}

static int to_libuv(uint32_t events)
{
    return ((events & MUX_IN) ? UV_READABLE : 0) | ((events & MUX_OUT) ? UV_WRITABLE : 0);
}

static int libuv_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct libuv_poller *p = (struct libuv_poller *)base;
    int rc = peer_check_add(&p->pb, fd, events);
    if (rc < 0)
        return rc;
    struct libuv_handle *h = malloc(sizeof *h);
    if (!h)
        return -ENOMEM;
    if ((rc = uv_poll_init(&p->loop, &h->poll, fd)) < 0) { /* quirk b; UV_EBADF is -EBADF */
        free(h);
        return rc;
    }
    h->fd = fd;
    h->interest = to_libuv(events);
    h->poll.data = &p->pb;
    if ((rc = uv_poll_start(&h->poll, h->interest, poll_cb)) < 0) {
        uv_close((uv_handle_t *)&h->poll, close_cb);
        return rc;
    }
    p->pb.obj[fd] = h;
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int libuv_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct libuv_poller *p = (struct libuv_poller *)base;
    int rc = peer_check_mod(&p->pb, fd, events);
    if (rc < 0)
        return rc;
    struct libuv_handle *h = p->pb.obj[fd];
    h->interest = to_libuv(events);
    if ((rc = uv_poll_start(&h->poll, h->interest, poll_cb)) < 0)
        return rc;
    peer_registered(&p->pb, fd, events, data);
    return 0;
}

static int libuv_del(struct poller *base, int fd)
{
    struct libuv_poller *p = (struct libuv_poller *)base;
    if (!peer_slot(&p->pb, fd))
        return -ENOENT;
    uv_poll_t *h = p->pb.obj[fd];
    uv_poll_stop(h);
    uv_close((uv_handle_t *)h, close_cb); /* quirk a */
    p->pb.obj[fd] = NULL;
    peer_unregistered(&p->pb, fd);
    return 0;
}

static int libuv_run_once(struct peer_base *pb, int64_t timeout_ns)
{
    struct libuv_poller *p = (struct libuv_poller *)pb;
    if (timeout_ns == 0) {
        uv_run(&p->loop, UV_RUN_NOWAIT);
        return 0;
    }
    if (pb->registered == 0) { /* quirk g */
        uv_run(&p->loop, UV_RUN_NOWAIT);
        return peer_sleep(timeout_ns);
    }
    if (timeout_ns < 0) {
        uv_run(&p->loop, UV_RUN_ONCE);
        return 0;
    }
    uv_update_time(&p->loop); /* quirk e */
    uint64_t ms = (uint64_t)((timeout_ns + 999999) / 1000000);
    uv_timer_start(&p->timer, timer_cb, ms, 0);
    uv_run(&p->loop, UV_RUN_ONCE);
    uv_timer_stop(&p->timer);
    return 0;
}

static int libuv_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    return peer_wait((struct peer_base *)base, out, max, timeout_ns, libuv_run_once);
}

const struct poller_ops libuv_ops = {
    .name = "libuv",
    .summary = "libuv 1, epoll; uv_poll_t, level-triggered",
    .features = MUX_F_PEER | MUX_F_EINTR_RESTART | MUX_F_LEVEL | MUX_F_O1,
    .probe = libuv_probe,
    .create = libuv_create,
    .destroy = libuv_destroy,
    .add = libuv_add,
    .mod = libuv_mod,
    .del = libuv_del,
    .wait = libuv_wait,
};

#else /* !MUX_HAVE_LIBUV */

static int libuv_stub_probe(char *why, size_t len)
{
    return peer_stub_probe(why, len, "built without libuv (install libuv1-dev)");
}
PEER_STUB_OPS(libuv_ops, "libuv", "libuv 1, epoll", libuv_stub_probe);

#endif
