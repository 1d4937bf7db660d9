/* backends.h - the ops each backend file exports (internal to pollers/). */
#ifndef MUX_BACKENDS_H
#define MUX_BACKENDS_H

#include "pollers/poller.h"

extern const struct poller_ops select_ops;
extern const struct poller_ops poll_ops;
extern const struct poller_ops epoll_ops, epoll_et_ops, epoll_oneshot_ops;
extern const struct poller_ops uring_ops, uring_oneshot_ops;
extern const struct poller_ops kqueue_ops;
/* Peers: third-party event libraries behind the same API (peers/). */
extern const struct poller_ops libevent_epoll_ops, libevent_poll_ops, libevent_select_ops;
extern const struct poller_ops libev_ops, libuv_ops;
extern const struct poller_ops null_peer_ops; /* native epoll through the peer adapter */

/* epoll.c's translation of interest bits to epoll's, and of epoll's events to MUX_* bits
 * (EPOLLRDHUP always asked for; HUP or RDHUP is MUX_HUP), shared with the null peer. */
#include <stdint.h>
uint32_t mux_to_epoll(uint32_t events);
uint32_t mux_from_epoll(uint32_t e);

/* Writes "<what> is not available: <reason>" style text; returns err for chaining. */
int poller_unavailable(char *why, size_t len, int err, const char *reason);

#endif
