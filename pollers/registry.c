/*
 * registry.c - every backend in one table, found by name.
 *
 * Each backend file always exports its ops, compiled in or not: a backend whose headers or
 * library were missing at build time exports a probe() that says so, so `muxbench list` can
 * name it with the reason instead of silently leaving it out. Test-only emulations are not
 * here; the tests that use them hold them. The peers (peers/) wrap libevent, libev and libuv:
 * the same calls, through the library a user would otherwise pick.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pollers/poller.h"
#include "pollers/backends.h"

static const struct poller_ops *const backends[] = {
    &select_ops,  &poll_ops,         &epoll_ops,         &epoll_et_ops, &epoll_oneshot_ops,
    &uring_ops,   &uring_oneshot_ops, &kqueue_ops,
    /* peers (MUX_F_PEER): the event libraries users already know, for claim C9 */
    &libevent_epoll_ops, &libevent_poll_ops, &libevent_select_ops, &libev_ops, &libuv_ops,
    &null_peer_ops, /* the adapter alone: C9 subtracts its cost */
};

size_t poller_count(void) { return sizeof backends / sizeof backends[0]; }

const struct poller_ops *poller_at(size_t i) { return i < poller_count() ? backends[i] : NULL; }

const struct poller_ops *poller_find(const char *name)
{
    for (size_t i = 0; i < poller_count(); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

static const char *listed_name(size_t i, const void *include_test_only)
{
    const int all = *(const int *)include_test_only;
    return (backends[i]->features & MUX_F_TEST_ONLY) && !all ? NULL : backends[i]->name;
}

void poller_names(char *buf, size_t len, int include_test_only)
{
    mux_join_names(buf, len, poller_count(), listed_name, &include_test_only);
}

int poller_probe(const struct poller_ops *ops, char *why, size_t why_len)
{
    if (why_len)
        why[0] = '\0';
    return ops->probe ? ops->probe(why, why_len) : 0;
}

int poller_create(const struct poller_ops *ops, struct poller **p, const struct poller_cfg *cfg)
{
    static const struct poller_cfg defaults = {0};
    *p = NULL;
    int rc = ops->create(p, cfg ? cfg : &defaults);
    if (rc < 0)
        return rc;
    (*p)->ops = ops;
    (*p)->forced_mode = ops->forced_mode;
    return 0;
}
