/*
 * fdtable.h - who shares the calling thread's file descriptor table, and an idle thread that
 * does, for fanin's fdtable=private|shared.
 *
 * While another task shares a thread's fd table (every thread made by pthread_create does),
 * the kernel's fdget() takes its slow path: an atomic reference get and put on every file it
 * looks up. poll and select look up every fd they watch on every call, so the same scan costs
 * more per fd in a multi-threaded process than in a one-thread event loop.
 */
#ifndef MUX_FDTABLE_H
#define MUX_FDTABLE_H

/* A ThreadSanitizer build runs one thread of its own, started by the process's first
 * pthread_create, which shares the table like any thread: callers tolerate that many extra
 * sharers in such a build (whose figures mean nothing anyway) and say so. */
#if defined(__SANITIZE_THREAD__)
#define FDTABLE_SANITIZER_SHARERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FDTABLE_SANITIZER_SHARERS 1
#endif
#endif
#ifndef FDTABLE_SANITIZER_SHARERS
#define FDTABLE_SANITIZER_SHARERS 0
#endif

/* How many other threads of this process share the calling thread's fd table, told by
 * kcmp(KCMP_FILES) against every task of /proc/self/task; -errno when that cannot be told. */
int fdtable_sharers(void);

/* An idle thread, made with pthread_create so that it shares the fd table, parked on a
 * condition variable until fdtable_sharer_stop(). */
struct fdtable_sharer;

/* Starts one: 0 and *out, or pthread_create's error number (EAGAIN at a thread limit) or
 * ENOMEM, with *out NULL. */
int fdtable_sharer_start(struct fdtable_sharer **out);

/* Wakes, joins and frees it; NULL is a no-op. */
void fdtable_sharer_stop(struct fdtable_sharer *s);

#endif
