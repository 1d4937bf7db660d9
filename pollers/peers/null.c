/*
 * null.c - the `null` peer: native epoll driven through the same adapter path as the peer
 * libraries (peer.h: the callback-style report per fd, the backlog, peer_wait's loop and
 * timeout rules), with no library in between. What fanin measures for it minus what it
 * measures for `epoll` is the adapter's own cost, which claim C9 subtracts from each peer's
 * overhead so that what is left is the library's.
 *
 * One wait is one run_once(): epoll_wait into a 1024-entry array (libuv's size, libevent's
 * starting size), then peer_note() for each event, as a library's callback would. add, mod and
 * del are one epoll_ctl each, made at once (no deferral: the libraries that defer are libev
 * and libuv). Level-triggered only, as libev and libuv are.
 *
 * Quirks: a finite timeout is rounded up to whole milliseconds (epoll_wait), and peer_wait
 * keeps waiting when that returns early; events are translated as the epoll backend does
 * (mux_from_epoll: HUP and RDHUP are MUX_HUP, ERR is MUX_ERR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mux_config.h"
#include "pollers/peers/peer.h"

#if MUX_HAVE_EPOLL
#include <sys/epoll.h>

#define NULL_BATCH 1024

struct null_poller {
    struct peer_base pb;
    int epfd;
    struct epoll_event events[NULL_BATCH];
};

static int null_create(struct poller **out, const struct poller_cfg *cfg)
{
    struct null_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (peer_init(&p->pb, cfg) < 0) {
        free(p);
        return -ENOMEM;
    }
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        int err = errno;
        peer_free(&p->pb);
        free(p);
        return -err;
    }
    *out = &p->pb.base;
    return 0;
}

static void null_destroy(struct poller *base)
{
    struct null_poller *p = (struct null_poller *)base;
    close(p->epfd);
    peer_free(&p->pb);
    free(p);
}

static int ctl(struct null_poller *p, int op, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = mux_to_epoll(events & MUX_INTEREST), .data.fd = fd};
    return epoll_ctl(p->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int null_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct null_poller *p = (struct null_poller *)base;
    int rc = peer_check_add(&p->pb, fd, events);
    if (rc == 0)
        rc = ctl(p, EPOLL_CTL_ADD, fd, events);
    if (rc == 0)
        peer_registered(&p->pb, fd, events, data);
    return rc;
}

static int null_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct null_poller *p = (struct null_poller *)base;
    int rc = peer_check_mod(&p->pb, fd, events);
    if (rc == 0)
        rc = ctl(p, EPOLL_CTL_MOD, fd, events);
    if (rc == 0)
        peer_registered(&p->pb, fd, events, data);
    return rc;
}

static int null_del(struct poller *base, int fd)
{
    struct null_poller *p = (struct null_poller *)base;
    if (!peer_slot(&p->pb, fd))
        return -ENOENT;
    int rc = ctl(p, EPOLL_CTL_DEL, fd, 0);
    peer_unregistered(&p->pb, fd); /* a closed fd left the set by itself: forget it either way */
    return rc == -EBADF || rc == -ENOENT ? 0 : rc;
}

static int null_run_once(struct peer_base *pb, int64_t timeout_ns)
{
    struct null_poller *p = (struct null_poller *)pb;
    int ms = -1;
    if (timeout_ns >= 0) {
        int64_t up = (timeout_ns + 999999) / 1000000;
        ms = up > 0x7fffffff ? 0x7fffffff : (int)up;
    }
    int n = epoll_wait(p->epfd, p->events, NULL_BATCH, ms);
    if (n < 0)
        return errno == EINTR ? PEER_INTERRUPTED : -errno;
    for (int i = 0; i < n; i++)
        peer_note(pb, p->events[i].data.fd, mux_from_epoll(p->events[i].events));
    return 0;
}

static int null_wait(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    return peer_wait((struct peer_base *)base, out, max, timeout_ns, null_run_once);
}

const struct poller_ops null_peer_ops = {
    .name = "null",
    .summary = "native epoll through the peer adapter, no library: the adapter's own cost (C9)",
    .features = MUX_F_PEER | MUX_F_LEVEL | MUX_F_O1 | MUX_F_HUPERR,
    .create = null_create,
    .destroy = null_destroy,
    .add = null_add,
    .mod = null_mod,
    .del = null_del,
    .wait = null_wait,
};

#else /* !MUX_HAVE_EPOLL */

static int null_stub_probe(char *why, size_t len)
{
    return peer_stub_probe(why, len, "the null peer drives epoll, which this system lacks");
}
PEER_STUB_OPS(null_peer_ops, "null", "native epoll through the peer adapter", null_stub_probe);

#endif
