/* uring.c - placeholder until the io_uring backend lands: listed, never available. */
#include <errno.h>

#include "backends.h"

static int uring_probe(char *why, size_t len)
{
    return poller_unavailable(why, len, -ENOSYS,
                              "not built yet");
}
static int uring_create(struct poller **p, const struct poller_cfg *cfg)
{
    (void)p;
    (void)cfg;
    return -ENOSYS;
}

const struct poller_ops uring_ops = {
    .name = "io_uring",
    .summary = "io_uring multishot poll",
    .features = MUX_F_LEVEL | MUX_F_EDGE | MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR,
    .probe = uring_probe,
    .create = uring_create,
};
const struct poller_ops uring_oneshot_ops = {
    .name = "io_uring-oneshot",
    .summary = "io_uring single-shot poll",
    .features = MUX_F_ONESHOT | MUX_F_O1 | MUX_F_HUPERR,
    .forced_mode = MUX_ONESHOT,
    .probe = uring_probe,
    .create = uring_create,
};

const char *poller_uring_setup_flags(void) { return "not built"; }
