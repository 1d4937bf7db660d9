/* peer.c - see peer.h. */
#define _GNU_SOURCE
#include "pollers/peers/peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t peer_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int grow_backlog(struct peer_base *pb, int need)
{
    if (need <= pb->cap)
        return 0;
    int cap = pb->cap ? pb->cap : 64;
    while (cap < need)
        cap *= 2;
    struct peer_event *b = realloc(pb->backlog, (size_t)cap * sizeof *b);
    if (!b)
        return -ENOMEM;
    pb->backlog = b;
    pb->cap = cap;
    return 0;
}

static int grow_obj(struct peer_base *pb, int fd)
{
    if (fd < pb->obj_cap)
        return 0;
    int cap = pb->obj_cap ? pb->obj_cap : 64;
    while (cap <= fd)
        cap *= 2;
    void **o = realloc(pb->obj, (size_t)cap * sizeof *o);
    if (!o)
        return -ENOMEM;
    memset(o + pb->obj_cap, 0, (size_t)(cap - pb->obj_cap) * sizeof *o);
    pb->obj = o;
    pb->obj_cap = cap;
    return 0;
}

int peer_init(struct peer_base *pb, const struct poller_cfg *cfg)
{
    pb->run = 1; /* slot marks start at 0: "never noted" */
    if (cfg->expected_fds > 0) {
        if (fdtab_reserve(&pb->fds, cfg->expected_fds) < 0 || grow_obj(pb, cfg->expected_fds) < 0 ||
            grow_backlog(pb, cfg->expected_fds) < 0) {
            peer_free(pb);
            return -ENOMEM;
        }
    }
    return 0;
}

void peer_free(struct peer_base *pb)
{
    fdtab_free(&pb->fds);
    free(pb->obj);
    free(pb->backlog);
    pb->obj = NULL;
    pb->backlog = NULL;
    pb->obj_cap = pb->cap = pb->count = pb->head = 0;
}

int peer_check_add(struct peer_base *pb, int fd, uint32_t events)
{
    int rc = poller_check_events(pb->base.ops, events);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return -EBADF;
    if (pb->base.ops->fd_limit > 0 && fd >= pb->base.ops->fd_limit)
        return -ERANGE;
    if (fdtab_registered(&pb->fds, fd))
        return -EEXIST;
    if ((rc = fdtab_reserve(&pb->fds, fd)) < 0 || (rc = grow_obj(pb, fd)) < 0)
        return rc;
    return 0;
}

int peer_check_mod(struct peer_base *pb, int fd, uint32_t events)
{
    int rc = poller_check_events(pb->base.ops, events);
    if (rc < 0)
        return rc;
    return fdtab_registered(&pb->fds, fd) ? 0 : -ENOENT;
}

struct fd_slot *peer_slot(struct peer_base *pb, int fd) { return fdtab_registered(&pb->fds, fd); }

void peer_registered(struct peer_base *pb, int fd, uint32_t events, void *data)
{
    struct fd_slot *s = fdtab_get(&pb->fds, fd);
    if (!s->events)
        pb->registered++;
    s->events = events;
    s->data = data;
    s->gen++; /* a backlog entry of the previous registration is stale now */
}

void peer_unregistered(struct peer_base *pb, int fd)
{
    struct fd_slot *s = fdtab_get(&pb->fds, fd);
    if (!s || !s->events)
        return;
    pb->registered--;
    s->events = 0;
    s->data = NULL;
    s->gen++;
}

void peer_note(struct peer_base *pb, int fd, uint32_t ready)
{
    struct fd_slot *s = fdtab_registered(&pb->fds, fd);
    if (!s || !ready)
        return;
    if (s->mark == pb->run && s->index >= 0 && s->index < pb->count) {
        pb->backlog[s->index].ready |= ready; /* a second report in the same run: merged */
        return;
    }
    if (grow_backlog(pb, pb->count + 1) < 0)
        return; /* out of memory in a callback: the level-triggered report comes again */
    s->mark = pb->run;
    s->index = pb->count;
    pb->backlog[pb->count++] = (struct peer_event){.fd = fd, .gen = s->gen, .ready = ready};
}

static int peer_deliver(struct peer_base *pb, struct mux_event *out, int max)
{
    int n = 0;
    while (pb->head < pb->count && n < max) {
        const struct peer_event *e = &pb->backlog[pb->head++];
        const struct fd_slot *s = fdtab_registered(&pb->fds, e->fd);
        if (!s || s->gen != e->gen)
            continue; /* removed or modified since the library reported it */
        out[n].fd = e->fd;
        out[n].ready = e->ready;
        out[n].data = s->data;
        n++;
    }
    if (pb->head == pb->count)
        pb->head = pb->count = 0;
    return n;
}

int peer_wait(struct peer_base *pb, struct mux_event *out, int max, int64_t timeout_ns,
              peer_run_fn run_once)
{
    if (max <= 0)
        return -EINVAL;
    int n = peer_deliver(pb, out, max);
    if (n > 0)
        return n;
    /* Only a finite timeout reads the clock: blocking and zero waits cost no clock read. */
    int64_t deadline = timeout_ns > 0 ? peer_now_ns() + timeout_ns : 0;
    int64_t left = timeout_ns;
    for (;;) {
        pb->run++;
        int rc = run_once(pb, left);
        if (rc < 0)
            return rc;
        n = peer_deliver(pb, out, max);
        if (n > 0 || timeout_ns == 0 || rc == PEER_INTERRUPTED)
            return n;
        if (timeout_ns > 0) {
            /* The library's timer fired by its own clock, which may be coarser (libevent's
             * CLOCK_MONOTONIC_COARSE, libuv's whole milliseconds) than ours: wait out the rest. */
            left = deadline - peer_now_ns();
            if (left <= 0)
                return 0;
        }
    }
}

int peer_sleep(int64_t timeout_ns)
{
    if (timeout_ns < 0) {
        pause();
        return 0;
    }
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    nanosleep(&ts, NULL);
    return 0;
}

int peer_stub_probe(char *why, size_t len, const char *reason)
{
    return poller_unavailable(why, len, -ENOSYS, reason);
}

int peer_stub_create(struct poller **p, const struct poller_cfg *cfg)
{
    (void)p;
    (void)cfg;
    return -ENOSYS;
}

void peer_stub_destroy(struct poller *p) { (void)p; }

int peer_stub_add(struct poller *p, int fd, uint32_t events, void *data)
{
    (void)p;
    (void)fd;
    (void)events;
    (void)data;
    return -ENOSYS;
}

int peer_stub_del(struct poller *p, int fd)
{
    (void)p;
    (void)fd;
    return -ENOSYS;
}

int peer_stub_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    (void)p;
    (void)out;
    (void)max;
    (void)timeout_ns;
    return -ENOSYS;
}
