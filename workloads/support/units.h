/*
 * units.h - what the memory and spawn workloads share about their units (threads and
 * coroutines): the configurations a run asks for (variant, stack_alloc, stack_bytes,
 * touch_bytes, units, checked before anything runs), the counters they read from /proc, the
 * machine limits that stop a sweep, and parked threads.
 *
 * Limits are data (docs/methodology.md): a creation that fails, or a margin that would be
 * crossed, ends the case with bench_limit() and a note that names the limit with its numbers.
 * Some limits are the process's own and safe to run into (vm.max_map_count, RLIMIT_AS): the
 * sweep goes until the kernel refuses. Others are shared with every process on the machine
 * (memory, kernel.threads-max, kernel.pid_max): the sweep stops a margin short of them, so a
 * benchmark never gets another process (or itself) OOM-killed or makes its fork() fail.
 */
#ifndef MUX_UNITS_H
#define MUX_UNITS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "workloads/runtime/coro.h"
#include "harness/planner.h"

/* ---- configurations ---- */

enum unit_kind { UNIT_THREAD, UNIT_THREAD_SMALL, UNIT_CORO };
enum unit_alloc { ALLOC_PTHREAD, ALLOC_GUARD, ALLOC_POOL, ALLOC_COPY, ALLOC_STACKLESS };

/* "thread", "thread-small", "coroutine"; "pthread", "guard", "pool", "copy" (coroutines on one
 * run stack, their frames saved on yield), "stackless" (a state machine with a frame: no stack,
 * stack_bytes and touch_bytes do not apply and their columns stay empty). */
const char *unit_kind_name(enum unit_kind k);
const char *unit_alloc_name(enum unit_alloc a);

struct unit_config {
    enum unit_kind kind;
    enum unit_alloc alloc;
    size_t stack_bytes; /* thread: the pthread stack size; coroutine: the page-rounded stack */
    size_t touch_bytes; /* 0 when the workload does not take touch_bytes */
};

/* A workload's defaults where its param_use says "auto" (per kind; NULL: not "auto"). */
struct unit_defaults {
    const char *small_stack, *small_stack_quick; /* thread-small's stack_bytes */
    const char *coro_stack, *coro_stack_quick;   /* coroutine's stack_bytes */
    const char *thread_units, *thread_units_quick;
    const char *coro_units, *coro_units_quick;
};

#define UNITS_MAX_CONFIGS 256
#define UNITS_MAX_VALUES PARAM_MAX_VALUES

/* Expands the run's variant x stack_alloc x stack_bytes x touch_bytes into configurations.
 * Pairs that cannot go together are dropped (threads allocate `pthread` stacks, coroutines
 * `guard` or `pool`; `thread` means default attributes, so an explicit stack_bytes selects
 * thread-small and coroutine); values that cannot work (a stack below the minimum, a touched
 * depth that does not fit the stack) are refused. Returns the count (> 0), or -1 with the
 * reason in msg (exit 2: bad usage). */
int units_configs(const struct run_opts *o, const struct workload *w,
                  const struct unit_defaults *d, struct unit_config *out, int max, char *msg,
                  size_t len);
/* The units to sweep for a configuration (its kind's "auto" defaults, or the user's values),
 * each checked against what no machine can hold (exit 2). Returns the count, or -1 with msg. */
int units_values(const struct run_opts *o, const struct workload *w,
                 const struct unit_defaults *d, const struct unit_config *cfg, long long *out,
                 int max, char *msg, size_t len);
/* The stack size pthread_create uses with default attributes (RLIMIT_STACK, usually 8 MiB);
 * 8 MiB when the C library cannot say. */
size_t units_default_thread_stack(void);
/* The variant names both workloads take: "thread", "thread-small", "coroutine". */
extern const char *const unit_variant_names[];

/* The start of a memory or spawn case's context. */
struct unit_case {
    struct unit_config cfg;
    long units;
    char group[128]; /* the sweep: a limit skips its larger units */
};
/* Calls add(arg, cfg, units) for every configuration and unit count of the run, in order
 * (units_configs, units_values). Returns 0, 2 with msg (bad usage), or what add returned. */
int units_plan(const struct run_opts *o, const struct workload *w, const struct unit_defaults *d,
               int (*add)(void *arg, const struct unit_config *cfg, long long units), void *arg,
               char *msg, size_t len);
/* A new case whose context (ctx_size bytes, zeroed, freed with the plan) starts with a struct
 * unit_case; its CSV columns, its group ("<workload>/<tag>/<poller>/<configuration>") and
 * its context are filled in. NULL when out of memory, with msg set. */
struct bench_case *units_case(struct plan *plan, const struct workload *w,
                              const struct poller_ops *ops, const struct unit_config *cfg,
                              long long units, size_t ctx_size, const char *tag, char *msg,
                              size_t len);
/* Sets up a pthread attribute for a configuration; 0 or an errno value. */
int units_thread_attr(const struct unit_config *cfg, pthread_attr_t *attr);
/* 0 when coroutines can run in this build, else -1 with the reason: ThreadSanitizer keeps one
 * shadow call stack per thread and coro.c does not announce its stack switches to it (no
 * fiber annotations), so frames of coroutines that never return pile up until it crashes. */
int units_coro_unsupported(char *why, size_t len);
/* coro_attr for a coroutine configuration: coro-asm where available, else coro-ucontext (copy:
 * coro-asm always; the caller sets a->copy_stack). Not for stackless. */
void units_coro_attr(const struct unit_config *cfg, struct coro_pool *pool, struct coro_attr *a);

/* ---- counters ---- */

struct unit_counters {
    long long vm_size, vm_pte; /* bytes: this process (/proc/self/status, exact) */
    long long threads;         /* this process's threads (status: Threads) */
    long long rss, anon_huge;  /* bytes: this process (/proc/self/smaps_rollup, exact) */
    long long anon;            /* bytes: its anonymous pages (smaps_rollup's Anonymous:) */
    long long kernel_stack, slab, page_tables_all; /* bytes: the whole machine (/proc/meminfo) */
    int refreshed; /* the per-cpu parts of those were folded in first (units_stat_refresh) */
};
/* /proc/meminfo's kernel counters are sums whose per-cpu parts the kernel folds in about once
 * a second (vm.stat_interval), so between two reads they can be off by a per-cpu threshold
 * times the cpus: more than a thread's kernel stack. Writing vm.stat_refresh folds them at
 * once (root only). 0 or -errno. */
int units_stat_refresh(void);
/* 0, or -errno when a file could not be read. Uses read(2) into stack buffers only, and
 * units_stat_refresh() before reading /proc/meminfo. */
int units_counters(struct unit_counters *c);
/* For the tests: the number after "key" (e.g. "VmSize:") in /proc text, times 1024 when the
 * line ends in "kB"; -1 when the key is absent. */
long long units_field(const char *text, const char *key);

/* ---- limits ---- */

struct units_memory {
    long long available; /* bytes another allocation can take: MemAvailable, or less when a
                            memory cgroup's limit is nearer */
    long long reserve;   /* what a sweep leaves alone: max(512 MiB, MemTotal / 10) */
    const char *source;  /* "MemAvailable" or "cgroup memory limit" */
};
int units_memory_room(struct units_memory *m);
/* 0 when `need` more bytes leave the reserve alone (or /proc/meminfo cannot be read: nothing to
 * go by), else -1 with the limit and its numbers in why. */
int units_memory_short(long long need, char *why, size_t len);

struct units_tasks {
    long threads_max, pid_max, tasks; /* tasks: every thread on the machine (/proc/loadavg) */
    long nproc, user_tasks;           /* RLIMIT_NPROC (-1: unlimited or not enforced, root) */
    long room;                        /* threads this process may still start, margin kept */
};
int units_task_room(struct units_tasks *t);

/* Writes "<limit> (<numbers>)" for a thread creation that failed with err (an errno value from
 * pthread_create, mostly EAGAIN), naming the limit it most likely hit. */
void units_thread_limit(int err, char *buf, size_t len);
/* The same for a coroutine creation that failed (-errno), from coro_last_limit(). */
void units_coro_limit(int neg_err, char *buf, size_t len);

/* Creation that stops short of the machine's shared limits. Call units_guard_init() once, then
 * units_guard_check() before creating unit i: 0 to go on, or -1 with the limit named in why
 * (memory is read every `every` units). */
struct units_guard {
    long long per_unit;  /* a generous estimate of memory per unit (bytes) */
    long every;          /* units between memory checks */
    long task_room;      /* threads: how many may still be started; -1: coroutines */
    struct units_tasks tasks;
};
void units_guard_init(struct units_guard *g, const struct unit_config *cfg);
int units_guard_check(struct units_guard *g, long i, char *why, size_t len);
/* Before a timed loop that cannot stop to look: whether n units fit in memory at once (0), or
 * -1 with why[] set. */
int units_guard_fits(const struct units_guard *g, long n, char *why, size_t len);

/* ---- parked threads ---- */

/* Threads that touch touch_bytes of their stack, announce themselves, and wait on a futex until
 * released: alive, idle and not runnable, as the memory workload measures them. */
struct units_park {
    size_t touch;
    atomic_int ready;   /* threads that are parked (their stack pages touched) */
    atomic_int release; /* 0 until units_park_release() */
};
void *units_parked_main(void *park);
/* Waits until n threads have parked. */
void units_park_wait(struct units_park *p, int n);
/* Releases every parked thread (they return); join them afterwards. */
void units_park_release(struct units_park *p);

/* Starts n threads running fn(arg) with attr into tids[], stopping early at a guard or a failed
 * pthread_create. Returns how many started; *err is 0, or the pthread_create error (with the
 * limit written to why), or -1 when the guard stopped it (why says which limit). */
long units_threads_start(pthread_t *tids, long n, const pthread_attr_t *attr,
                         void *(*fn)(void *), void *arg, struct units_guard *g, int *err,
                         char *why, size_t len);
void units_threads_join(pthread_t *tids, long n);

/* calloc(n, size) written once, so its pages are resident before anything is measured (a
 * handle array's page faults are the benchmark's, not the units'). NULL when out of memory. */
void *units_touched_array(size_t n, size_t size);

/* Bytes as "8.0 MiB" for notes. */
void units_bytes_str(double bytes, char *buf, size_t len);

#endif
