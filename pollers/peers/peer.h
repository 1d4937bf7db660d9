/*
 * peer.h - what the peer wrappers (libevent.c, libev.c, libuv.c) share: the bookkeeping that
 * turns a callback-driven event library into the readiness API's wait(out, max).
 *
 * A library reports readiness by calling a callback per fd from inside its loop call. The
 * wrapper's callbacks hand each report to peer_note(), which merges several reports of one
 * fd in one loop run into one event (libuv can report an fd twice in one run: it polls again
 * when epoll_wait filled its 1024-entry array) and appends it to a backlog. wait() delivers
 * from the backlog, at most `max` per call; whatever a loop run produced beyond `max` is
 * delivered by the next waits before the library is polled again, so no fd starves behind
 * the first `max`. A backlog entry carries the fd's registration generation: del() and mod()
 * bump it, and entries of an older generation are dropped, never delivered.
 *
 *   library loop --callback(fd, bits)--> peer_note --> backlog --peer_deliver--> out[0..max)
 *
 * The loop itself (which library call, how timeouts map onto its timers) is the wrapper's:
 * peer_wait() drives it through a run_once() hook and keeps the contract's timeout rules
 * (a finite timeout is never cut short by a library clock that is coarser or older than ours).
 */
#ifndef MUX_PEER_H
#define MUX_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "pollers/backends.h"
#include "pollers/fdtab.h"

struct peer_event {
    int fd;
    uint32_t gen;
    uint32_t ready;
};

struct peer_base {
    struct poller base;
    struct fdtab fds;  /* slot: events (0 = not registered), gen, data, index (backlog), mark */
    void **obj;        /* the library's per-fd object (struct event *, ev_io *, uv_poll_t *) */
    int obj_cap;
    int registered;    /* fds registered */
    uint32_t run;      /* loop runs so far: marks which run noted a fd */
    struct peer_event *backlog;
    int head, count, cap;
};

/* run_once() results besides 0 (ran) and -errno. */
#define PEER_INTERRUPTED 1 /* the library returned early with nothing: a signal (EINTR) */

/* Runs the library's loop once: timeout_ns < 0 blocks until an event, 0 polls, > 0 waits at
 * most that long (the library's own rounding). Callbacks call peer_note(). */
typedef int (*peer_run_fn)(struct peer_base *pb, int64_t timeout_ns);

int peer_init(struct peer_base *pb, const struct poller_cfg *cfg);
void peer_free(struct peer_base *pb);

/* add(): validates events, fd (-EBADF), the backend's fd_limit (-ERANGE) and double adds
 * (-EEXIST), and makes room for fd in the tables. */
int peer_check_add(struct peer_base *pb, int fd, uint32_t events);
/* mod(): validates events and that fd is registered (-ENOENT). */
int peer_check_mod(struct peer_base *pb, int fd, uint32_t events);
/* del(): the slot of a registered fd, or NULL (the caller returns -ENOENT). */
struct fd_slot *peer_slot(struct peer_base *pb, int fd);
/* After the library accepted an add or mod; after a del. */
void peer_registered(struct peer_base *pb, int fd, uint32_t events, void *data);
void peer_unregistered(struct peer_base *pb, int fd);

/* From a library callback: fd is ready with MUX_* bits. Reports of fds not registered (the
 * library's own watchers) are ignored. */
void peer_note(struct peer_base *pb, int fd, uint32_t ready);

/* wait(): the backlog first, else run_once() until an event, the timeout or a signal. */
int peer_wait(struct peer_base *pb, struct mux_event *out, int max, int64_t timeout_ns,
              peer_run_fn run_once);

/* Monotonic nanoseconds, for timeouts. */
int64_t peer_now_ns(void);

/* Sleeps for timeout_ns (forever when negative) with nothing to watch: for libraries whose
 * loop does not block when no fd is registered. Returns 0 (a signal ends it too). */
int peer_sleep(int64_t timeout_ns);

/* The ops of a peer library that was not found at build time: probe() says why. */
int peer_stub_probe(char *why, size_t len, const char *reason);
int peer_stub_create(struct poller **p, const struct poller_cfg *cfg);
void peer_stub_destroy(struct poller *p);
int peer_stub_add(struct poller *p, int fd, uint32_t events, void *data);
int peer_stub_del(struct poller *p, int fd);
int peer_stub_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns);

#define PEER_STUB_OPS(sym, nm, sum, probe_fn)                                                  \
    const struct poller_ops sym = {                                                            \
        .name = nm,                                                                            \
        .summary = sum,                                                                        \
        .features = MUX_F_PEER,                                                                \
        .probe = probe_fn,                                                                     \
        .create = peer_stub_create,                                                            \
        .destroy = peer_stub_destroy,                                                          \
        .add = peer_stub_add,                                                                  \
        .mod = peer_stub_add,                                                                  \
        .del = peer_stub_del,                                                                  \
        .wait = peer_stub_wait,                                                                \
    }

#endif
