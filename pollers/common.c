/* common.c - pieces every backend shares: the fd table, event validation, feature names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pollers/fdtab.h"
#include "pollers/backends.h"
#include "pollers/poller.h"

int fdtab_reserve(struct fdtab *t, int fd)
{
    if (fd < 0)
        return -EBADF;
    if (fd < t->cap)
        return 0;
    int cap = t->cap ? t->cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct fd_slot *s = realloc(t->slots, (size_t)cap * sizeof *s);
    if (!s)
        return -ENOMEM;
    memset(s + t->cap, 0, (size_t)(cap - t->cap) * sizeof *s);
    for (int i = t->cap; i < cap; i++)
        s[i].index = -1;
    t->slots = s;
    t->cap = cap;
    return 0;
}

void fdtab_free(struct fdtab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = 0;
}

int fdtab_add_prologue(struct fdtab *t, const struct poller *p, int fd, uint32_t events,
                       int check_open, struct fd_slot **slot)
{
    int rc = poller_check_events(p->ops, events);
    if (rc < 0)
        return rc;
    if (fd < 0 || (check_open && fd_check_open(fd) < 0))
        return -EBADF;
    if (fdtab_registered(t, fd))
        return -EEXIST;
    if ((rc = fdtab_reserve(t, fd)) < 0)
        return rc;
    *slot = fdtab_get(t, fd);
    return 0;
}

int fdtab_mod_prologue(struct fdtab *t, const struct poller *p, int fd, uint32_t events,
                       struct fd_slot **slot)
{
    int rc = poller_check_events(p->ops, events);
    if (rc < 0)
        return rc;
    *slot = fdtab_registered(t, fd);
    return *slot ? 0 : -ENOENT;
}

int fd_check_open(int fd)
{
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    return 0;
}

int poller_check_events(const struct poller_ops *ops, uint32_t events)
{
    if (events & ~(uint32_t)(MUX_INTEREST | MUX_MODE_BITS))
        return -EINVAL;
    if (!(events & MUX_INTEREST))
        return -EINVAL;
    /* ONESHOT wins over EDGE: a oneshot registration reports once whichever trigger it uses. */
    unsigned need = (events & MUX_ONESHOT) ? MUX_F_ONESHOT
                    : (events & MUX_EDGE)  ? MUX_F_EDGE
                                           : MUX_F_LEVEL;
    return (ops->features & need) ? 0 : -EOPNOTSUPP;
}

void poller_features_str(unsigned f, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {MUX_F_LEVEL, "level"},   {MUX_F_EDGE, "edge"},        {MUX_F_ONESHOT, "oneshot"},
        {MUX_F_O1, "O(1)-wait"},  {MUX_F_HUPERR, "hup/err"},   {MUX_F_PEER, "peer-library"},
        {MUX_F_TEST_ONLY, "test-only"}, {MUX_F_EINTR_RESTART, "restarts-on-signal"},
    };
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(f & names[i].bit))
            continue;
        int n = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? "," : "",
                         names[i].name);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

int poller_unavailable(char *why, size_t len, int err, const char *reason)
{
    if (why && len)
        snprintf(why, len, "%s", reason);
    return err;
}

void mux_join_names(char *buf, size_t len, size_t n, const char *(*name)(size_t i, const void *arg),
                    const void *arg)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        const char *s = name(i, arg);
        if (!s)
            continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", s);
        if (k < 0)
            return;
        used += (size_t)k < len - used ? (size_t)k : len - used - 1;
    }
}
