/* backends.h - the ops each backend file exports (internal to pollers/). */
#ifndef MUX_BACKENDS_H
#define MUX_BACKENDS_H

#include "poller.h"

extern const struct poller_ops select_ops;
extern const struct poller_ops poll_ops;
extern const struct poller_ops epoll_ops, epoll_et_ops, epoll_oneshot_ops;
extern const struct poller_ops uring_ops, uring_oneshot_ops;
extern const struct poller_ops kqueue_ops;

/* Writes "<what> is not available: <reason>" style text; returns err for chaining. */
int poller_unavailable(char *why, size_t len, int err, const char *reason);

#endif
