/*
 * poll.c - poll(2): `poll`, level-triggered only.
 *
 * One wait is one poll() over a dense pollfd array of every registered fd (ppoll() when the
 * timeout is finite and non-zero, for nanosecond resolution), then a scan of that array for
 * non-zero revents. Both the kernel's work and the scan grow with the number of registered
 * fds, ready or not: the O(n) that claim C1 describes.
 *
 * Kernel quirks handled:
 *  a) poll() cannot fail on a bad fd; a descriptor closed while registered comes back as
 *     POLLNVAL, which we report as MUX_ERR. add() checks the fd with one fcntl() so that a
 *     closed fd is refused up front, as epoll_ctl refuses it.
 *  b) A TCP peer's close raises POLLRDHUP, not POLLHUP; we ask for POLLRDHUP (a Linux
 *     extension) and map either to MUX_HUP.
 *  c) poll()'s timeout is in milliseconds; a finite timeout uses ppoll() with a timespec.
 *  d) When more fds are ready than `max`, the next wait resumes the scan where this one
 *     stopped, so fds late in the array are not starved (epoll rotates its ready list the
 *     same way).
 *  e) del() moves the last pollfd into the hole: O(1), at the cost of array order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "pollers/backends.h"
#include "pollers/fdtab.h"
#include "pollers/pollmask.h"

struct poll_poller {
    struct poller base;
    struct pollfd *pfds;
    int count, cap;
    int cursor; /* where the next scan starts (quirk d) */
    struct fdtab fds;
};

static int poll_create_poller(struct poller **out, const struct poller_cfg *cfg)
{
    struct poll_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if (cfg->expected_fds > 0) {
        p->pfds = malloc((size_t)cfg->expected_fds * sizeof *p->pfds);
        if (!p->pfds || fdtab_reserve(&p->fds, cfg->expected_fds) < 0) {
            free(p->pfds);
            fdtab_free(&p->fds);
            free(p);
            return -ENOMEM;
        }
        p->cap = cfg->expected_fds;
    }
    *out = &p->base;
    return 0;
}

static void poll_destroy(struct poller *base)
{
    struct poll_poller *p = (struct poll_poller *)base;
    free(p->pfds);
    fdtab_free(&p->fds);
    free(p);
}

static int poll_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct poll_poller *p = (struct poll_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_add_prologue(&p->fds, base, fd, events, 1 /* quirk a */, &s);
    if (rc < 0)
        return rc;
    if (p->count == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        struct pollfd *n = realloc(p->pfds, (size_t)cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        p->pfds = n;
        p->cap = cap;
    }
    s->events = events;
    s->data = data;
    s->index = p->count;
    p->pfds[p->count++] =
        (struct pollfd){.fd = fd, .events = (short)mux_to_pollmask(events)};
    return 0;
}

static int poll_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct poll_poller *p = (struct poll_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_mod_prologue(&p->fds, base, fd, events, &s);
    if (rc < 0)
        return rc;
    s->events = events;
    s->data = data;
    p->pfds[s->index].events = (short)mux_to_pollmask(events);
    return 0;
}

static int poll_del(struct poller *base, int fd)
{
    struct poll_poller *p = (struct poll_poller *)base;
    struct fd_slot *s = fdtab_registered(&p->fds, fd);
    if (!s)
        return -ENOENT;
    int hole = s->index, last = --p->count;
    if (hole != last) {
        p->pfds[hole] = p->pfds[last];
        fdtab_get(&p->fds, p->pfds[hole].fd)->index = hole;
    }
    s->events = 0;
    s->data = NULL;
    s->index = -1;
    if (p->cursor >= p->count)
        p->cursor = 0;
    return 0;
}

static int poll_wait_poller(struct poller *base, struct mux_event *out, int max, int64_t timeout_ns)
{
    struct poll_poller *p = (struct poll_poller *)base;
    if (max <= 0)
        return -EINVAL;
    int n;
    if (timeout_ns <= 0) {
        n = poll(p->pfds, (nfds_t)p->count, timeout_ns < 0 ? -1 : 0);
    } else {
        struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
        n = ppoll(p->pfds, (nfds_t)p->count, &ts, NULL);
    }
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int got = 0;
    for (int k = 0, i = p->cursor; k < p->count && n > 0; k++, i = (i + 1 == p->count) ? 0 : i + 1) {
        if (!p->pfds[i].revents)
            continue;
        n--;
        if (got == max) {
            p->cursor = i; /* resume here next time (quirk d) */
            return got;
        }
        const struct fd_slot *s = fdtab_get(&p->fds, p->pfds[i].fd);
        out[got++] = (struct mux_event){
            .fd = p->pfds[i].fd,
            .ready = mux_from_pollmask((unsigned short)p->pfds[i].revents),
            .data = s->data};
    }
    return got;
}

const struct poller_ops poll_ops = {
    .name = "poll",
    .summary = "poll(2) over a dense pollfd array, level-triggered",
    .features = MUX_F_LEVEL | MUX_F_HUPERR,
    .create = poll_create_poller,
    .destroy = poll_destroy,
    .add = poll_add,
    .mod = poll_mod,
    .del = poll_del,
    .wait = poll_wait_poller,
};
