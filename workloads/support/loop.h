/*
 * loop.h - what the seed workloads (nwait, iobound, cancel, checkpoint) share: a coroutine
 * scheduler over one poller, opened and closed as a pair; room in RLIMIT_NOFILE for a case's
 * fds; the thread variants' start and join.
 */
#ifndef MUX_LOOP_H
#define MUX_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <sys/resource.h>

#include "workloads/runtime/sched.h"

/* A scheduler and the poller under it. Stacks: guarded coro-asm (coro-ucontext where there is
 * no assembly switch) of stack_bytes. */
struct loop {
    struct poller *poller;
    struct cosched *sched;
};

/* BENCH_OK, or BENCH_SKIP (no coroutine switch here) / BENCH_ERROR with msg; on failure
 * nothing is left open. */
int loop_open(struct loop *l, const struct poller_ops *ops, size_t stack_bytes, char *msg,
              size_t len);
void loop_close(struct loop *l);
/* "cosched per-wait, coro-asm": for a case's note. */
void loop_describe(const struct loop *l, char *buf, size_t len);

/* Raises the soft RLIMIT_NOFILE so that `need` more fds fit beside those open now (the old
 * limit goes to *saved, *raised says whether to restore it). BENCH_OK, or BENCH_LIMIT with msg
 * when even the hard limit is too small. */
int loop_nofile_room(long need, struct rlimit *saved, int *raised, char *msg, size_t len);
void loop_nofile_restore(const struct rlimit *saved, int *raised);

/* Starts n threads running fn(&args[i * arg_size]) with stack_bytes stacks (0: the C library's
 * default). Returns how many started; on a failure *err is the pthread_create error (EAGAIN:
 * a limit). */
long loop_threads_start(pthread_t *tids, long n, size_t stack_bytes, void *(*fn)(void *),
                        void *args, size_t arg_size, int *err);
void loop_threads_join(pthread_t *tids, long n);

#endif
