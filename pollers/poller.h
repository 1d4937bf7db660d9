/*
 * poller.h - muxbench's readiness API.
 *
 * One interface, many backends, all linked into one binary and chosen by name at run time
 * (see registry.c). A backend exports one `const struct poller_ops`; a poller instance starts
 * with a `struct poller` header that the registry fills in.
 *
 * The contract every backend keeps (tests/conformance.c checks each rule on each backend):
 *
 *  1. wait() returns only fds that are ready, each at most once per call, with every ready bit
 *     for that fd merged into one event. Every registered fd can fire: when more fds are ready
 *     than `max`, successive waits deliver all of them (no fd starves behind the first `max`).
 *  2. Modes, chosen per fd at add/mod time:
 *       level   (default)     reported on every wait while the condition holds;
 *       MUX_EDGE              reported when the condition becomes true (new data, new space);
 *       MUX_ONESHOT           reported once, then disarmed until mod() re-arms it.
 *     A backend states which modes it supports in `features`; asking for another one returns
 *     -EOPNOTSUPP. A variant (epoll-et, io_uring-oneshot, ...) ORs `forced_mode` into every
 *     add and mod, so a workload that asks for nothing gets the variant's semantics.
 *  3. MUX_HUP (peer closed its end) and MUX_ERR (a socket error is pending, or the fd went bad)
 *     are always reported, never requested. A backend without MUX_F_HUPERR (select) cannot tell
 *     them apart from readiness: there the fd is reported readable and/or writable instead and
 *     the caller learns the rest from read()/getsockopt(SO_ERROR).
 *  4. Errors come back as -errno and nothing aborts:
 *       -EBADF       add of a closed or never-opened fd;
 *       -EEXIST      add of an fd already registered;
 *       -ENOENT      mod or del of an fd not registered;
 *       -EINVAL      max <= 0, an empty interest set, unknown event bits;
 *       -EOPNOTSUPP  a mode the backend lacks;
 *       -ERANGE      an fd the backend cannot represent (a peer library's fixed fd_set):
 *                    one at or above the backend's `fd_limit`.
 *     An interrupted wait (EINTR) is zero events, not an error. A peer library that restarts
 *     an interrupted wait itself (libevent, libuv) cannot keep this rule: it says so with
 *     MUX_F_EINTR_RESTART, and a signal then ends its wait only if it brings an event.
 *  5. The caller removes an fd (del) before closing it. Backends that register the open file
 *     rather than the descriptor (epoll, io_uring) would otherwise keep reporting it through a
 *     dup, and poll/select would see POLLNVAL/EBADF.
 *  6. A poller belongs to the thread that created it: only that thread calls add, mod, del and
 *     wait (io_uring's deferred completions and kqueue-emul rely on it; others are not locked).
 *  7. Nothing in a measured path adapts behind the caller's back: no hidden resizing of batch
 *     sizes, no randomization. `max` and the config are the caller's parameters.
 *
 * Timeouts are nanoseconds: negative waits forever, zero polls, positive is an upper bound a
 * backend rounds *up* to its own resolution (never down to a busy poll).
 */
#ifndef MUX_POLLER_H
#define MUX_POLLER_H

#include <stddef.h>
#include <stdint.h>

enum mux_bits {
    MUX_IN = 1u << 0,      /* readable (or peer closed: a read returns 0) */
    MUX_OUT = 1u << 1,     /* writable */
    MUX_HUP = 1u << 2,     /* reported only: the peer closed its end */
    MUX_ERR = 1u << 3,     /* reported only: error pending or fd invalid */
    MUX_EDGE = 1u << 8,    /* requested only: edge-triggered */
    MUX_ONESHOT = 1u << 9, /* requested only: disarm after the first report */
};
#define MUX_INTEREST (MUX_IN | MUX_OUT)
#define MUX_MODE_BITS (MUX_EDGE | MUX_ONESHOT)

enum mux_features {
    MUX_F_LEVEL = 1u << 0,   /* level-triggered registrations */
    MUX_F_EDGE = 1u << 1,    /* MUX_EDGE */
    MUX_F_ONESHOT = 1u << 2, /* MUX_ONESHOT */
    MUX_F_O1 = 1u << 3,      /* a wait's cost does not grow with idle registered fds */
    MUX_F_HUPERR = 1u << 4,  /* MUX_HUP and MUX_ERR are reported as such */
    MUX_F_PEER = 1u << 5,    /* wraps a third-party event library, not a system call */
    MUX_F_TEST_ONLY = 1u << 6, /* an emulation for tests; never run by the benchmarks */
    MUX_F_EINTR_RESTART = 1u << 7, /* a signal does not end a wait: the library restarts it */
};

struct mux_event {
    int fd;
    uint32_t ready; /* MUX_IN | MUX_OUT | MUX_HUP | MUX_ERR */
    void *data;     /* what the caller registered with the fd */
};

struct poller_cfg {
    int expected_fds;     /* sizing hint for tables (0: small); never a limit */
    unsigned queue_depth; /* io_uring submission queue entries (0: the backend's default) */
};

struct poller_ops;

/* The header of every poller instance; a backend's own state follows it. */
struct poller {
    const struct poller_ops *ops;
    uint32_t forced_mode; /* copied from ops->forced_mode by poller_create() */
};

struct poller_ops {
    const char *name;    /* as typed on the command line and written to the CSV */
    const char *summary; /* one line for `muxbench list` */
    unsigned features;   /* MUX_F_* */
    uint32_t forced_mode; /* MUX_EDGE / MUX_ONESHOT ORed into every add and mod */
    int fd_limit;         /* fds >= fd_limit are refused by add() with -ERANGE; 0: no limit */

    /* 0 when the backend can run here, else -errno with the reason written to why[]. */
    int (*probe)(char *why, size_t why_len);
    /* Allocates *p; returns 0 or -errno (-ENOSYS, -EPERM: unavailable on this kernel). */
    int (*create)(struct poller **p, const struct poller_cfg *cfg);
    void (*destroy)(struct poller *p);
    int (*add)(struct poller *p, int fd, uint32_t events, void *data);
    int (*mod)(struct poller *p, int fd, uint32_t events, void *data);
    int (*del)(struct poller *p, int fd);
    /* Returns the number of events written to out[0..max), 0 on timeout or EINTR, or -errno. */
    int (*wait)(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns);
};

/* The registry (registry.c). */
size_t poller_count(void);
const struct poller_ops *poller_at(size_t i);
const struct poller_ops *poller_find(const char *name);
/* Writes the valid names, separated by ", ", for an error message. */
void poller_names(char *buf, size_t len, int include_test_only);
/* probe() plus the build-time reason when the backend was not compiled in. */
int poller_probe(const struct poller_ops *ops, char *why, size_t why_len);
int poller_create(const struct poller_ops *ops, struct poller **p, const struct poller_cfg *cfg);

static inline void poller_destroy(struct poller *p) { p->ops->destroy(p); }
static inline int poller_add(struct poller *p, int fd, uint32_t events, void *data)
{
    return p->ops->add(p, fd, events | p->forced_mode, data);
}
static inline int poller_mod(struct poller *p, int fd, uint32_t events, void *data)
{
    return p->ops->mod(p, fd, events | p->forced_mode, data);
}
static inline int poller_del(struct poller *p, int fd) { return p->ops->del(p, fd); }
static inline int poller_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    return p->ops->wait(p, out, max, timeout_ns);
}

/* Shared by backends: validate requested events against the backend's features.
 * Returns 0, -EINVAL (empty interest, unknown bits) or -EOPNOTSUPP (mode not supported). */
int poller_check_events(const struct poller_ops *ops, uint32_t events);

/* The io_uring setup flags the io_uring backends use, as text for the CSV's environment rows
 * ("none" when io_uring is not built). */
const char *poller_uring_setup_flags(void);
/* How many of an io_uring poller's reaps found the kernel's CQ overflow list in use (the CQ
 * ring had filled); -1 for a poller of another backend. For tests: proof that a test made the
 * ring overflow. */
long poller_uring_overflows(const struct poller *p);

/* Joins names into buf, separated by ", ", for messages and help text: name(i, arg) gives the
 * i-th of n names, or NULL to leave it out. Every list of names (backends, workloads, --set keys)
 * is joined here, so they read alike and truncate alike (at len - 1 bytes, always terminated). */
void mux_join_names(char *buf, size_t len, size_t n, const char *(*name)(size_t i, const void *arg),
                    const void *arg);

/* Names the features for `muxbench list`, e.g. "level,edge,oneshot,O(1),hup/err". */
void poller_features_str(unsigned features, char *buf, size_t len);

#endif
