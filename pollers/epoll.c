/*
 * epoll.c - Linux epoll: `epoll` (level by default; edge and oneshot per fd on request),
 * `epoll-et` (every fd edge-triggered) and `epoll-oneshot` (every fd oneshot).
 *
 * One wait is one epoll_wait() (epoll_pwait2() for a finite non-zero timeout) plus a walk of
 * the returned events to attach each fd's data pointer. The kernel keeps the interest list
 * and a ready list, so a wait does not touch idle fds: the cost claim C1 puts to the test.
 *
 * Kernel quirks handled:
 *  a) epoll registers the open file description, not the fd number: a dup()'d descriptor keeps
 *     a registration alive after close(fd). The API asks callers to del() before close().
 *  b) EPOLLHUP is raised only when both directions are shut; a TCP peer's close shows up as
 *     EPOLLRDHUP alone. We always ask for EPOLLRDHUP and map either to MUX_HUP.
 *  c) epoll_wait's timeout is in milliseconds. A finite timeout goes through epoll_pwait2()
 *     (Linux 5.11) with nanoseconds; where that returns ENOSYS we round up to whole ms, so a
 *     short timeout never turns into a busy poll.
 *  d) EPOLLONESHOT disarms the whole registration after one event; EPOLL_CTL_MOD re-arms it,
 *     and mod() on a disarmed fd is legal.
 *  e) Regular files and directories cannot be registered: epoll_ctl gives EPERM, passed on.
 *  f) epoll_event carries one 64-bit word; we store the fd there and keep the caller's data
 *     pointer in our own per-fd table, as Redis's ae_epoll does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "pollers/backends.h"
#include "pollers/fdtab.h"

struct epoll_poller {
    struct poller base;
    int epfd;
    int kernel_events_cap;
    struct epoll_event *kernel_events;
    struct fdtab fds;
    int have_pwait2;
};

uint32_t mux_to_epoll(uint32_t events)
{
    uint32_t e = EPOLLRDHUP;
    if (events & MUX_IN)
        e |= EPOLLIN;
    if (events & MUX_OUT)
        e |= EPOLLOUT;
    if (events & MUX_EDGE)
        e |= EPOLLET;
    if (events & MUX_ONESHOT)
        e |= EPOLLONESHOT;
    return e;
}

uint32_t mux_from_epoll(uint32_t e)
{
    uint32_t r = 0;
    if (e & (EPOLLIN | EPOLLPRI))
        r |= MUX_IN;
    if (e & EPOLLOUT)
        r |= MUX_OUT;
    if (e & (EPOLLHUP | EPOLLRDHUP))
        r |= MUX_HUP;
    if (e & EPOLLERR)
        r |= MUX_ERR;
    return r;
}

static int epoll_probe(char *why, size_t len)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return poller_unavailable(why, len, -errno, "epoll_create1 failed on this kernel");
    close(fd);
    return 0;
}

static int epoll_create_poller(struct poller **out, const struct poller_cfg *cfg)
{
    struct epoll_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        int err = -errno;
        free(p);
        return err;
    }
    p->have_pwait2 = 1;
    if (cfg->expected_fds > 0 && fdtab_reserve(&p->fds, cfg->expected_fds) < 0) {
        close(p->epfd);
        free(p);
        return -ENOMEM;
    }
    *out = &p->base;
    return 0;
}

static void epoll_destroy(struct poller *base)
{
    struct epoll_poller *p = (struct epoll_poller *)base;
    close(p->epfd);
    free(p->kernel_events);
    fdtab_free(&p->fds);
    free(p);
}

static int epoll_ctl_fd(struct epoll_poller *p, int op, int fd, uint32_t events, void *data)
{
    int rc = poller_check_events(p->base.ops, events);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return -EBADF;
    if ((rc = fdtab_reserve(&p->fds, fd)) < 0)
        return rc;
    struct epoll_event ev = {.events = mux_to_epoll(events), .data.fd = fd};
    if (epoll_ctl(p->epfd, op, fd, &ev) < 0)
        return -errno;
    struct fd_slot *s = fdtab_get(&p->fds, fd);
    s->events = events;
    s->data = data;
    return 0;
}

static int epoll_add(struct poller *base, int fd, uint32_t events, void *data)
{
    return epoll_ctl_fd((struct epoll_poller *)base, EPOLL_CTL_ADD, fd, events, data);
}

static int epoll_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    return epoll_ctl_fd((struct epoll_poller *)base, EPOLL_CTL_MOD, fd, events, data);
}

static int epoll_del(struct poller *base, int fd)
{
    struct epoll_poller *p = (struct epoll_poller *)base;
    if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
        return -errno;
    struct fd_slot *s = fdtab_get(&p->fds, fd);
    if (s) {
        s->events = 0;
        s->data = NULL;
    }
    return 0;
}

static int epoll_wait_poller(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    struct epoll_poller *p = (struct epoll_poller *)base;
    if (max <= 0)
        return -EINVAL;
    if (max > p->kernel_events_cap) {
        struct epoll_event *ev = realloc(p->kernel_events, (size_t)max * sizeof *ev);
        if (!ev)
            return -ENOMEM;
        p->kernel_events = ev;
        p->kernel_events_cap = max;
    }
    int n;
    if (timeout_ns <= 0) {
        n = epoll_wait(p->epfd, p->kernel_events, max, timeout_ns < 0 ? -1 : 0);
    } else {
        n = -1;
        errno = ENOSYS;
        if (p->have_pwait2) {
            struct timespec ts = {.tv_sec = timeout_ns / 1000000000,
                                  .tv_nsec = timeout_ns % 1000000000};
            n = epoll_pwait2(p->epfd, p->kernel_events, max, &ts, NULL);
            if (n < 0 && errno == ENOSYS)
                p->have_pwait2 = 0;
        }
        if (n < 0 && errno == ENOSYS) {
            int64_t ms = (timeout_ns + 999999) / 1000000;
            n = epoll_wait(p->epfd, p->kernel_events, max, ms > 0x7fffffff ? 0x7fffffff : (int)ms);
        }
    }
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        int fd = p->kernel_events[i].data.fd;
        const struct fd_slot *s = fdtab_get(&p->fds, fd);
        out[i].fd = fd;
        out[i].ready = mux_from_epoll(p->kernel_events[i].events);
        out[i].data = s ? s->data : NULL;
    }
    return n;
}

#define EPOLL_FEATURES (MUX_F_O1 | MUX_F_HUPERR)
#define EPOLL_OPS(sym, nm, sum, feat, forced)                                                   \
    const struct poller_ops sym = {                                                            \
        .name = nm,                                                                            \
        .summary = sum,                                                                        \
        .features = EPOLL_FEATURES | (feat),                                                   \
        .forced_mode = forced,                                                                 \
        .probe = epoll_probe,                                                                  \
        .create = epoll_create_poller,                                                         \
        .destroy = epoll_destroy,                                                              \
        .add = epoll_add,                                                                      \
        .mod = epoll_mod,                                                                      \
        .del = epoll_del,                                                                      \
        .wait = epoll_wait_poller,                                                             \
    }

EPOLL_OPS(epoll_ops, "epoll", "epoll_wait, level-triggered (edge/oneshot per fd on request)",
          MUX_F_LEVEL | MUX_F_EDGE | MUX_F_ONESHOT, 0);
EPOLL_OPS(epoll_et_ops, "epoll-et", "epoll_wait with every fd edge-triggered (EPOLLET)",
          MUX_F_EDGE | MUX_F_ONESHOT, MUX_EDGE);
EPOLL_OPS(epoll_oneshot_ops, "epoll-oneshot",
          "epoll_wait with every fd EPOLLONESHOT, re-armed by mod", MUX_F_ONESHOT, MUX_ONESHOT);
