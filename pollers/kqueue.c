/* kqueue.c - placeholder until the kqueue backend lands: listed, never available. */
#include <errno.h>

#include "backends.h"

static int kqueue_probe(char *why, size_t len)
{
    return poller_unavailable(why, len, -ENOSYS,
                              "no <sys/event.h> on this system (kqueue is BSD/macOS only)");
}
static int kqueue_create(struct poller **p, const struct poller_cfg *cfg)
{
    (void)p;
    (void)cfg;
    return -ENOSYS;
}

const struct poller_ops kqueue_ops = {
    .name = "kqueue",
    .summary = "kqueue/kevent (BSD, macOS)",
    .features = MUX_F_LEVEL | MUX_F_EDGE | MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR,
    .probe = kqueue_probe,
    .create = kqueue_create,
};
