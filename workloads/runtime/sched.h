/*
 * sched.h - a small single-threaded coroutine scheduler over the readiness API.
 *
 * Its functions keep the cosched_ prefix: the C library owns sched_* (sched_yield(), ...). The
 * file itself is free to be sched.h: headers are included by their path from the repository
 * root, so it never shadows <sched.h>.
 *
 * Coroutines are spawned into a run queue; cosched_run() resumes them in FIFO order until all
 * have finished. A coroutine that calls cosched_wait_fd() parks until the poller reports the fd
 * (or its timeout passes); cosched_yield() goes to the back of the run queue; cosched_sleep()
 * parks on the timer heap. Any `struct poller` works: level (select, poll, epoll), edge
 * (epoll-et) and oneshot (epoll-oneshot, io_uring-oneshot), through one of four registration
 * policies (the choice and its cost are in sched.c's header):
 *
 *   per-wait  add on park, del on wake: 2 registration calls per park, nothing registered while
 *             a coroutine runs. Works on every backend; AUTO's choice for level backends.
 *   edge      register once (edge-triggered), keep it; readiness that arrives while nobody waits
 *             is remembered. 0 calls per park. AUTO's choice for edge-forced backends.
 *   oneshot   register once (oneshot), re-arm with mod on each park: 1 call per park. AUTO's
 *             choice for oneshot-forced backends.
 *   keep      level-triggered, registered at the first park and kept while the coroutine runs:
 *             0 calls per park while it parks again before the next poller wait (a server that
 *             answers and waits for the next request). A report nobody waits for drops it (one
 *             del, or a mod to what is still waited for), so a ready fd with no waiter cannot
 *             spin the loop. Level backends only (what a level event loop such as libevent's
 *             persistent events does); asked for explicitly, AUTO never picks it.
 *
 * The I/O contract: cosched_wait_fd() returning readiness bits means "try the operation now";
 * it can be spurious (the operation gets EAGAIN: wait again). Under `edge`, wait only after an
 * operation returned EAGAIN (the usual edge-triggered rule), or a wake-up can be missed.
 * Call cosched_forget_fd(fd) before close(fd) (it drops a kept registration, under `edge` and
 * `keep`; the poller contract asks for del before close).
 */
#ifndef MUX_COSCHED_H
#define MUX_COSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "workloads/runtime/coro.h"
#include "pollers/poller.h"

enum cosched_reg {
    COSCHED_REG_AUTO = 0,     /* choose from the poller's forced mode and features */
    COSCHED_REG_PER_WAIT = 1, /* "per-wait" */
    COSCHED_REG_EDGE = 2,     /* "edge" */
    COSCHED_REG_ONESHOT = 3,  /* "oneshot" */
    COSCHED_REG_KEEP = 4,     /* "keep" */
};

struct cosched_cfg {
    struct poller *poller;  /* required; not owned (the caller destroys it after the scheduler) */
    struct coro_attr attr;  /* for every spawned coroutine (user_bytes is the scheduler's) */
    int max_events;         /* events per poller_wait (0: 64) */
    enum cosched_reg reg;   /* registration policy */
};

struct cosched_stats {
    uint64_t spawned, finished;
    uint64_t parks_fd, parks_timer, yields;
    uint64_t wakes_fd, timeouts, immediate; /* immediate: edge readiness already remembered */
    uint64_t poller_waits, poller_events;
    uint64_t reg_add, reg_mod, reg_del;     /* registration calls made */
    uint64_t cancelled;                     /* tasks cancelled by cosched_cancel_all */
    size_t live, peak_live;
};

struct cosched;

/* cfg->attr with coro_attr_init() defaults is the usual start. 0 or -errno: -EINVAL (no poller,
 * bad attr), -EOPNOTSUPP (a policy the backend cannot do: edge on a level-only or
 * oneshot-forced backend, oneshot on one without oneshot), -ENOMEM. */
int cosched_create(struct cosched **s, const struct cosched_cfg *cfg);
/* Destroys every coroutine not finished (without unwinding it) and drops every registration it
 * made. Must not be called from inside one of its coroutines. */
void cosched_destroy(struct cosched *s);
/* The policy cosched_create() would use for `asked` on a poller of `ops` (AUTO resolved), or
 * -EOPNOTSUPP when the backend cannot do it (edge on a level-only or oneshot-forced backend,
 * oneshot on one without oneshot, keep on one that is not level-triggered). */
int cosched_reg_resolve(const struct poller_ops *ops, enum cosched_reg asked);
/* The policy in force (AUTO resolved) and its name: "per-wait", "edge", "oneshot", "keep". */
enum cosched_reg cosched_reg_used(const struct cosched *s);
const char *cosched_reg_name(enum cosched_reg reg);

/* Creates a coroutine running fn(arg) and queues it. From outside or inside cosched_run().
 * 0 or -errno from coro_create (-ENOMEM with coro_last_limit() telling which limit). */
int cosched_spawn(struct cosched *s, coro_fn fn, void *arg);
/* Runs until every coroutine has finished: 0. -EDEADLK when coroutines remain but none can
 * ever run (one suspended itself with coro_yield() instead of a cosched_* call), or a
 * poller_wait error (-errno); the scheduler can be run again or destroyed after either. */
int cosched_run(struct cosched *s);

/* From a coroutine of a running scheduler (else -EPERM):
 * cosched_wait_fd: park until fd is reported for `events` (MUX_IN and/or MUX_OUT) or
 *   timeout_ns passes (negative: no timeout). Returns the reported bits (> 0; MUX_HUP/MUX_ERR
 *   may come with them), -ETIMEDOUT, -ECANCELED (cosched_cancel_all), -EBUSY (another
 *   coroutine already waits for that fd and direction), -EINVAL, or the poller's add/mod
 *   error (-EBADF, -EPERM for a regular file on epoll, ...). */
int cosched_wait_fd(int fd, uint32_t events, int64_t timeout_ns);
/* Park for at least ns nanoseconds (negative: 0, i.e. one round): 0, -ECANCELED (below), or
 * -EPERM outside. */
int cosched_sleep(int64_t ns);
/* To the back of the run queue: every other runnable coroutine runs first. */
void cosched_yield(void);

/* Drops what the scheduler keeps for fd (a kept registration, remembered readiness); call it
 * before close(fd). 0, -EBUSY while a coroutine waits on fd, or the poller's del error. Works
 * from inside or outside a coroutine, with the scheduler given or (NULL) the running one. */
int cosched_forget_fd(struct cosched *s, int fd);

/* Cancels every live coroutine of s (NULL: the running scheduler) but the caller, as a cancel
 * scope around the whole scheduler: a coroutine parked in cosched_wait_fd or cosched_sleep is
 * queued at once with -ECANCELED (its fd registration is synced, its timer dropped); one that is
 * runnable learns it at its next park, which returns -ECANCELED without parking, as does every
 * later park. A cancelled coroutine is expected to release what it holds and return;
 * cosched_yield still yields. Returns how many were newly cancelled (stats.cancelled adds up). */
size_t cosched_cancel_all(struct cosched *s);

/* The scheduler running on this thread (NULL outside cosched_run). */
struct cosched *cosched_current(void);
void cosched_get_stats(const struct cosched *s, struct cosched_stats *st);

#endif
