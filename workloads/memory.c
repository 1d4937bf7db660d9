/*
 * memory.c - what one idle thread or coroutine costs in memory: claims C2 ("a thread costs
 * ~8 MB of stack; a coroutine a few KB") and C3 ("1,000 threads ≈ 8 GB, 10,000 ≈ 80 GB;
 * 10,000 coroutines ≈ 100 MB; 100K coroutines ≈ a few hundred MB").
 *
 * One repetition is one sweep step: N units created, measured alive, destroyed.
 *
 *      (threads: park D "drainer" threads first, quirk a)
 *      before = counters                         VmSize, VmPTE, Threads (/proc/self/status),
 *                                                Rss (/proc/self/smaps_rollup), KernelStack
 *                                                and Slab (/proc/meminfo)
 *      create N units, each left parked:
 *        thread      pthread_create ─► touch touch_bytes of its stack ─► futex wait
 *        coroutine   coro_create ─► coro_resume: touch touch_bytes ─► coro_yield (suspended)
 *          copy      coro_create on the run stack ─► coro_resume: descend touch_bytes ─►
 *                    coro_yield from there (its frames are copied off the run stack)
 *          stackless malloc its frame ─► run its step function to its first suspension
 *      after = counters                          every unit alive, touched and idle
 *      verify        threads: the Threads delta is N; coroutines: N ran their touch
 *      destroy N     futex wake + pthread_join; coro_destroy (+ the pool's munmap)
 *
 *      vsz_per_unit_bytes          = ΔVmSize / N          (virtual: reserved, touched or not)
 *      rss_per_unit_bytes          = ΔRss / N             (resident, exact: smaps_rollup walks
 *                                                          the page tables; VmRSS is a cached
 *                                                          per-cpu counter, approximate)
 *      kernel_stack_per_unit_bytes = ΔKernelStack / N     (system-wide, quirk b)
 *      page_tables_per_unit_bytes  = ΔVmPTE / N           (this process's page tables, exact)
 *      slab_per_unit_bytes         = Δ(SReclaimable + SUnreclaim) / N   (system-wide, quirk b)
 *      kernel_per_unit_bytes       = the sum of the three
 *      anon_per_unit_bytes         = ΔAnonymous / N      (smaps_rollup: anonymous pages only;
 *                                                          Rss also counts file pages, which
 *                                                          a lazily loaded library can add)
 *
 *   Per sweep, a derived fit (status `derived`): each counter's delta (not divided) against N
 *   over every repetition of every N that ran, by least squares: the slope is the cost per
 *   unit with constant costs (the first chunk, arrays, a library page) in the intercept
 *   instead of divided by N, and its standard error says how well the points agree:
 *   rss_per_unit_fit_bytes, anon_per_unit_fit_bytes, vsz_per_unit_fit_bytes,
 *   kernel_per_unit_fit_bytes, each with a *_fit_err_bytes row. These are the figures the
 *   claims use; the per-N rows show how the division drifts at small N.
 *
 * Variants: `thread` (default attributes: the stack is RLIMIT_STACK's 8 MiB, the CSV's
 * stack_bytes says what it was), `thread-small` (pthread_attr_setstacksize to stack_bytes),
 * `coroutine` (coro.h: `guard` stacks, one mapping plus a guard page each, or a `pool`, or
 * `copy` stacks, one run stack of stack_bytes for all and each coroutine's frames on the heap;
 * the switch is coro-asm where built, the note says; or `stackless`, stackless.h: a frame of a
 * few dozen bytes from malloc, no stack). A sweep is one configuration over N (its
 * group): the first limit reached ends it with a `limit` row (units_reached: how many units
 * existed), and the larger N of the group are skipped.
 *
 * What it does not measure: memory a real thread or coroutine would allocate for itself
 * (a malloc arena per thread is up to 64 MiB of address space; buffers; a scheduler's queues),
 * the cost of running them (spawn and ctxswitch do), user-space bookkeeping of the benchmark
 * (the arrays of handles are allocated and touched before the baseline).
 *
 * Quirks handled:
 *  a) glibc keeps the stacks of joined threads, up to 40 MiB (glibc.pthread.stack_cache_size),
 *     and reuses a cached stack for a new thread whose size it fits: a create after a join may
 *     not mmap at all, and would show no virtual and little resident cost. Before the baseline,
 *     D = cache size / stack size + 1 parked threads of the same size take every stack the cache
 *     could offer, so the N measured threads all get fresh mappings.
 *  b) KernelStack and Slab are machine-wide: what other processes allocate or free meanwhile is
 *     in the delta. Divided by N it fades as N grows; at N = 1 it is mostly noise (the cv says
 *     how much). The kernel frees a thread's task_struct and kernel stack after an RCU grace
 *     period, so a repetition waits for the machine's counters to settle before its baseline.
 *  c) 8 MiB is a reservation: VmSize counts it at creation, Rss only the pages touched (the
 *     thread's struct pthread and TLS at the stack top, its frames, touch_bytes).
 *  d) Transparent huge pages could make one touch of a big stack resident as 2 MiB. Thread
 *     stacks are mapped with MAP_STACK (no THP on Linux 6.7+), coroutine stacks too, and pool
 *     chunks get MADV_NOHUGEPAGE (coro_stack.c); the THP mode and the AnonHugePages delta are
 *     recorded in the note, so an inflated figure would say why. thp=off turns THP off for the
 *     whole process for the case (prctl PR_SET_THP_DISABLE, put back in teardown): the thp
 *     column says which, the note the system's mode.
 *  e) A pool maps its stacks in chunks (64 MiB by default); here the chunk holds min(N, 64 MiB /
 *     stack) stacks, so the virtual size per unit is the stack, not a mostly unused chunk. The
 *     pool is created and destroyed in each repetition: every stack is a first use.
 *  f) A thread announces itself only after its wait's own call chain has run once (a futex wait
 *     that returns at once), so its stack does not grow after the measurement.
 *  g) Limits shared with the machine (memory, threads-max, pid_max) are not run into: memory is
 *     checked every few thousand units and the sweep stops short of MemAvailable (or a cgroup
 *     limit) less a reserve; threads stop a margin short of threads-max and pid_max. Limits of
 *     the process alone (vm.max_map_count: ~32,700 guarded stacks; RLIMIT_AS) are run into, and
 *     the failure is the data. Every limit row's note names the limit with the numbers.
 *  h) Repetitions: 3 (--repetitions overrides), but a step of a million units or more runs
 *     once: its page faults take seconds (about 2.5 us each on the planning VM, three per
 *     coroutine at touch_bytes=8k), and its counters are exact (three repetitions agreed to
 *     0.1% there); the noise that repetitions show is the machine-wide counters' at small N.
 *  i) Every repetition, threads or coroutines, starts by settling: the last repetition's
 *     threads have left, an RCU grace period has passed and KernelStack and Slab hold still.
 *  j) A sanitizer build's figures are not the program's (AddressSanitizer's redzones, shadow
 *     and fake stacks are in them): every row's note says so, and the analysis refuses them.
 *  k) Heap memory (copy and stackless) comes from malloc, whose arenas keep freed memory: the
 *     baseline is read after the handle arrays are allocated, and malloc_trim() runs after each
 *     repetition so the next one starts from returned pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mux_config.h"
#include "harness/stats.h"
#include "workloads/runtime/stackless.h"
#include "workloads/support/units.h"

#define MIB ((size_t)1 << 20)
#define POOL_CHUNK (64 * MIB)

enum counter_id { K_VSZ, K_RSS, K_KSTACK, K_PTE, K_SLAB, K_ANON, K_COUNT };

/* The counters fitted across a sweep, and their rows. */
enum fit_id { F_RSS, F_ANON, F_VSZ, F_KERNEL, F_COUNT };
static const char *const fit_metric[F_COUNT] = {"rss_per_unit_fit_bytes",
                                                "anon_per_unit_fit_bytes",
                                                "vsz_per_unit_fit_bytes",
                                                "kernel_per_unit_fit_bytes"};
static const char *const fit_err_metric[F_COUNT] = {"rss_fit_err_bytes", "anon_fit_err_bytes",
                                                    "vsz_fit_err_bytes", "kernel_fit_err_bytes"};
#define FIT_MAX_REPS 32

/* A stackless unit: its frame is all it has. */
struct parked_frame {
    struct stackless base;
    long *ran;
};

struct mem_case {
    struct unit_case u; /* cfg, units, group */
    /* Allocated and touched in setup, before any baseline. */
    pthread_t *tids;
    struct coro **cos;
    pthread_t *drain;
    long ndrain;
    pthread_attr_t attr;
    int have_attr;
    struct units_park park, drain_park;
    struct parked_frame **frames; /* stackless */
    long touched; /* coroutines that ran their touch */
    long long huge_max; /* the largest AnonHugePages delta seen (bytes) */
    char base_note[256];
    int thp_off;       /* thp=off: PR_SET_THP_DISABLE for the case */
    int thp_was;       /* the process's setting before it */
    int thp_set;
    /* Each repetition's deltas (bytes, not divided), for the sweep's fit. */
    double delta[F_COUNT][FIT_MAX_REPS];
    int ndelta;
};

/* The fit over a sweep: its cases, in order of N. */
struct mem_fit {
    struct bench_case *points[64];
    int count;
};

/* glibc's cache of thread stacks (quirk a): 40 MiB unless GLIBC_TUNABLES says otherwise. */
static size_t stack_cache_bytes(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    const char *key = "glibc.pthread.stack_cache_size=";
    const char *p = t ? strstr(t, key) : NULL;
    return p ? (size_t)strtoull(p + strlen(key), NULL, 0) : 40 * MIB;
}

static void thp_mode(char *buf, size_t len)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128] = "";
    snprintf(buf, len, "unknown");
    if (!f)
        return;
    if (fgets(line, sizeof line, f)) {
        char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
        if (a && b)
            snprintf(buf, len, "%.*s", (int)(b - a - 1), a + 1);
    }
    fclose(f);
}

static void free_arrays(struct mem_case *m)
{
    free(m->tids);
    free(m->cos);
    free(m->drain);
    free(m->frames);
    m->tids = m->drain = NULL;
    m->cos = NULL;
    m->frames = NULL;
    if (m->have_attr)
        pthread_attr_destroy(&m->attr);
    m->have_attr = 0;
}

static int mem_setup_inner(struct bench_case *c, char *msg, size_t len);

/* Setup, with THP put back when it does not succeed (teardown runs only after success). */
static int mem_setup(struct bench_case *c, char *msg, size_t len)
{
    int rc = mem_setup_inner(c, msg, len);
    struct mem_case *m = c->ctx;
    if (rc != BENCH_OK && m->thp_set) {
        prctl(PR_SET_THP_DISABLE, (unsigned long)m->thp_was, 0, 0, 0);
        m->thp_set = 0;
    }
    return rc;
}

static int mem_setup_inner(struct bench_case *c, char *msg, size_t len)
{
    struct mem_case *m = c->ctx;
    char thp[64];
    thp_mode(thp, sizeof thp);
    if (m->thp_off) {
        int was = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
        if (was < 0 || prctl(PR_SET_THP_DISABLE, 1UL, 0, 0, 0) < 0) {
            snprintf(msg, len, "prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
            return BENCH_SKIP;
        }
        m->thp_was = was;
        m->thp_set = 1;
        snprintf(thp + strlen(thp), sizeof thp - strlen(thp), " (off for this process)");
    }
    struct units_memory room;
    if (units_memory_room(&room) == 0 &&
        (double)m->u.units * sizeof(void *) > (double)(room.available - room.reserve)) {
        snprintf(msg, len, "memory: the handles of %ld units alone would not leave %s its "
                 "reserve", m->u.units, room.source);
        c->limit_reached = 0;
        return BENCH_LIMIT;
    }
    if (m->u.cfg.kind == UNIT_CORO && m->u.cfg.alloc != ALLOC_STACKLESS &&
        units_coro_unsupported(msg, len) < 0)
        return BENCH_SKIP;
    char why[256];
    if (m->u.cfg.alloc == ALLOC_COPY && coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why)) {
        snprintf(msg, len, "copy stacks need the assembly switch: %s", why);
        return BENCH_SKIP;
    }
    m->ndelta = 0;
    if (m->u.cfg.alloc == ALLOC_STACKLESS) {
        m->frames = units_touched_array((size_t)m->u.units, sizeof *m->frames);
        snprintf(m->base_note, sizeof m->base_note, "a %zu-byte frame from malloc each; "
                 "KernelStack and Slab are machine-wide; THP %s", sizeof(struct parked_frame),
                 thp);
    } else if (m->u.cfg.kind == UNIT_CORO) {
        struct coro_attr a;
        units_coro_attr(&m->u.cfg, NULL, &a);
        m->cos = units_touched_array((size_t)m->u.units, sizeof *m->cos);
        snprintf(m->base_note, sizeof m->base_note, "switch %s; KernelStack and Slab are "
                 "machine-wide; THP %s", coro_switch_name(a.switch_kind), thp);
    } else {
        int rc = units_thread_attr(&m->u.cfg, &m->attr);
        if (rc) {
            snprintf(msg, len, "pthread attributes for a %zu-byte stack: %s",
                     m->u.cfg.stack_bytes, strerror(rc));
            return BENCH_ERROR;
        }
        m->have_attr = 1;
        m->ndrain = (long)(stack_cache_bytes() / m->u.cfg.stack_bytes) + 1;
        m->tids = units_touched_array((size_t)m->u.units, sizeof *m->tids);
        m->drain = units_touched_array((size_t)m->ndrain, sizeof *m->drain);
        snprintf(m->base_note, sizeof m->base_note, "glibc's stack cache emptied by %ld parked "
                 "threads first; KernelStack and Slab are machine-wide; THP %s", m->ndrain, thp);
    }
    if ((m->u.cfg.alloc == ALLOC_STACKLESS && !m->frames) ||
        (m->u.cfg.kind == UNIT_CORO && m->u.cfg.alloc != ALLOC_STACKLESS && !m->cos) ||
        (m->u.cfg.kind != UNIT_CORO && (!m->tids || !m->drain))) {
        free_arrays(m);
        snprintf(msg, len, "memory: no room for the handles of %ld units", m->u.units);
        c->limit_reached = 0;
        return BENCH_LIMIT;
    }
    m->huge_max = 0;
    struct unit_counters now;
    if (units_counters(&now) < 0) {
        free_arrays(m);
        snprintf(msg, len, "could not read /proc/self/status, smaps_rollup or /proc/meminfo");
        return BENCH_ERROR;
    }
    if (!now.refreshed)
        snprintf(m->base_note + strlen(m->base_note), sizeof m->base_note - strlen(m->base_note),
                 "; meminfo's per-cpu parts not folded (vm.stat_refresh needs root): small N "
                 "are imprecise");
    if (MUX_SANITIZE[0]) /* quirk j */
        snprintf(m->base_note + strlen(m->base_note), sizeof m->base_note - strlen(m->base_note),
                 "; sanitizer build (%s): not the program's memory", MUX_SANITIZE);
    snprintf(c->note, sizeof c->note, "%.255s", m->base_note);
    return BENCH_OK;
}

static void mem_teardown(struct bench_case *c)
{
    struct mem_case *m = c->ctx;
    if (m->thp_set)
        prctl(PR_SET_THP_DISABLE, (unsigned long)m->thp_was, 0, 0, 0);
    m->thp_set = 0;
    free_arrays(m);
}

/* Before a thread repetition: waits until the threads of the last one have left the process
 * (a join returns once the thread has cleared its tid, before the kernel has released it), so
 * the count holds still for 10 ms; then until KernelStack and Slab hold still: the kernel frees
 * a thread's task_struct and kernel stack after an RCU grace period (quirk b). 0, or -1 when
 * the thread count did not hold still within 2 s. */
static int settle(void)
{
    struct unit_counters prev, now;
    if (units_counters(&prev) < 0)
        return -1;
    for (int i = 0;; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        if (units_counters(&now) < 0)
            return -1;
        if (now.threads == prev.threads)
            break;
        if (i == 200)
            return -1;
        prev = now;
    }
    /* A grace period now (MEMBARRIER_CMD_GLOBAL is synchronize_rcu()), so the frees queued
     * behind it run; then until two reads 10 ms apart agree (at most 0.5 s). */
    syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
    prev = now;
    for (int i = 0; i < 50; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        if (units_counters(&now) < 0)
            return 0;
        if (now.kernel_stack == prev.kernel_stack && llabs(now.slab - prev.slab) < 64 * 1024)
            return 0;
        prev = now;
    }
    return 0;
}

static void coro_touch_main(void *arg)
{
    struct mem_case *m = arg;
    coro_stack_touch(m->u.cfg.touch_bytes);
    m->touched++;
    coro_yield(); /* suspended here until destroyed */
}

/* copy: suspended touch_bytes deep, so that much is saved off the run stack. */
static void copy_park_main(void *arg)
{
    struct mem_case *m = arg;
    m->touched++;
    coro_stack_touch_yield(m->u.cfg.touch_bytes); /* suspended at the bottom until destroyed */
}

static int parked_step(struct stackless *s)
{
    struct parked_frame *f = (struct parked_frame *)s;
    STACKLESS_BEGIN(s);
    (*f->ran)++;
    STACKLESS_YIELD(s); /* parked here until freed */
    STACKLESS_END(s);
}

static void destroy_coros(struct mem_case *m, long n, struct coro_pool *pool,
                          struct coro_copy_stack *cs)
{
    if (m->u.cfg.alloc == ALLOC_STACKLESS) {
        for (long i = 0; i < n; i++)
            free(m->frames[i]);
        return;
    }
    for (long i = 0; i < n; i++)
        coro_destroy(m->cos[i]);
    coro_pool_destroy(pool);
    coro_copy_stack_destroy(cs);
}

/* Stackless units: frames allocated and run to their first suspension. */
static long create_frames(struct mem_case *m, char *why, size_t len)
{
    struct units_guard g;
    units_guard_init(&g, &m->u.cfg);
    m->touched = 0;
    for (long i = 0; i < m->u.units; i++) {
        if (units_guard_check(&g, i, why, len) < 0)
            return i;
        struct parked_frame *f = malloc(sizeof *f);
        if (!f) {
            snprintf(why, len, "memory (malloc of a %zu-byte frame failed)", sizeof *f);
            return i;
        }
        stackless_init(&f->base, parked_step);
        f->ran = &m->touched;
        m->frames[i] = f;
        if (stackless_resume(&f->base) != STACKLESS_YIELDED) {
            snprintf(why, len, "stackless unit %ld did not suspend", i);
            return -(i + 1);
        }
    }
    return m->u.units;
}

/* Creates the coroutines; returns how many exist (== units unless a limit stopped it, with
 * why[] set). */
static long create_coros(struct mem_case *m, struct coro_pool **pool,
                         struct coro_copy_stack **cs, char *why, size_t len)
{
    *pool = NULL;
    *cs = NULL;
    if (m->u.cfg.alloc == ALLOC_STACKLESS)
        return create_frames(m, why, len);
    if (m->u.cfg.alloc == ALLOC_COPY) {
        int rc = coro_copy_stack_create(cs, m->u.cfg.stack_bytes);
        if (rc < 0) {
            units_coro_limit(rc, why, len);
            return 0;
        }
    }
    if (m->u.cfg.alloc == ALLOC_POOL) {
        size_t per_chunk = POOL_CHUNK / m->u.cfg.stack_bytes;
        if (per_chunk > (size_t)m->u.units)
            per_chunk = (size_t)m->u.units;
        int rc = coro_pool_create(pool, m->u.cfg.stack_bytes, per_chunk ? per_chunk : 1);
        if (rc < 0) {
            units_coro_limit(rc, why, len);
            return 0;
        }
    }
    struct coro_attr a;
    units_coro_attr(&m->u.cfg, *pool, &a);
    a.copy_stack = *cs;
    coro_fn park = m->u.cfg.alloc == ALLOC_COPY ? copy_park_main : coro_touch_main;
    struct units_guard g;
    units_guard_init(&g, &m->u.cfg);
    m->touched = 0;
    for (long i = 0; i < m->u.units; i++) {
        if (units_guard_check(&g, i, why, len) < 0)
            return i;
        int rc = coro_create(&m->cos[i], &a, park, m);
        if (rc < 0) {
            units_coro_limit(rc, why, len);
            return i;
        }
        rc = coro_resume(m->cos[i]);
        if (rc == -ENOMEM) { /* copy: its frames could not be saved */
            units_coro_limit(rc, why, len);
            return -(i + 1);
        }
        if (rc != 0) { /* it must have yielded, not finished */
            snprintf(why, len, "coroutine %ld did not suspend after its touch", i);
            return -(i + 1);
        }
    }
    return m->u.units;
}

static void release_threads(struct units_park *p, pthread_t *tids, long n)
{
    units_park_release(p);
    units_threads_join(tids, n);
}

static double mem_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct mem_case *m = c->ctx;
    const int threads = m->u.cfg.kind != UNIT_CORO;
    char why[512] = "";
    double elapsed = 0;
    for (uint64_t it = 0; it < iters && !bench_failed(st); it++) {
        long ndrained = 0;
        int err = 0;
        if (settle() < 0) { /* quirk i */
            bench_fail(st, "the threads of the last repetition did not leave the process");
            break;
        }
        if (threads) {
            m->drain_park = (struct units_park){.touch = 0};
            ndrained = units_threads_start(m->drain, m->ndrain, &m->attr, units_parked_main,
                                           &m->drain_park, NULL, &err, why, sizeof why);
            units_park_wait(&m->drain_park, (int)ndrained);
            if (err) {
                release_threads(&m->drain_park, m->drain, ndrained);
                bench_limit(st, 0, "before any unit, emptying glibc's stack cache: %s", why);
                break;
            }
        }
        struct unit_counters before, after;
        if (units_counters(&before) < 0) {
            if (threads)
                release_threads(&m->drain_park, m->drain, ndrained);
            bench_fail(st, "could not read /proc/self/status, smaps_rollup or /proc/meminfo");
            break;
        }

        int64_t t0 = bench_now_ns();
        long created;
        struct coro_pool *pool = NULL;
        struct coro_copy_stack *cs = NULL;
        if (threads) {
            struct units_guard g;
            units_guard_init(&g, &m->u.cfg);
            m->park = (struct units_park){.touch = m->u.cfg.touch_bytes};
            created = units_threads_start(m->tids, m->u.units, &m->attr, units_parked_main,
                                          &m->park, &g, &err, why, sizeof why);
            units_park_wait(&m->park, (int)created);
        } else {
            created = create_coros(m, &pool, &cs, why, sizeof why);
        }
        elapsed += (double)(bench_now_ns() - t0);

        int ok = created == m->u.units && units_counters(&after) == 0;
        long long dthreads = ok ? after.threads - before.threads : 0;
        if (threads) {
            release_threads(&m->park, m->tids, created);
            release_threads(&m->drain_park, m->drain, ndrained);
        } else {
            destroy_coros(m, created < 0 ? -created : created, pool, cs);
            malloc_trim(0); /* quirk k */
        }
        if (created < 0) {
            bench_fail(st, "%s", why);
            break;
        }
        if (created != m->u.units) {
            bench_limit(st, (double)created, "%s", why);
            break;
        }
        if (!ok) {
            bench_fail(st, "could not read the counters with every unit alive");
            break;
        }
        /* Counted, not assumed. */
        if (threads && dthreads != m->u.units) {
            bench_fail(st, "%ld threads created but the process gained %lld", m->u.units,
                       dthreads);
            break;
        }
        if (!threads && m->touched != m->u.units) {
            bench_fail(st, "%ld coroutines created but %ld ran their touch", m->u.units,
                       m->touched);
            break;
        }
        double n = (double)m->u.units;
        double v[K_COUNT] = {
            [K_VSZ] = (double)(after.vm_size - before.vm_size) / n,
            [K_RSS] = (double)(after.rss - before.rss) / n,
            [K_KSTACK] = (double)(after.kernel_stack - before.kernel_stack) / n,
            [K_PTE] = (double)(after.vm_pte - before.vm_pte) / n,
            [K_SLAB] = (double)(after.slab - before.slab) / n,
            [K_ANON] = (double)(after.anon - before.anon) / n,
        };
        if (m->ndelta < FIT_MAX_REPS) {
            int r = m->ndelta++;
            m->delta[F_RSS][r] = v[K_RSS] * n;
            m->delta[F_ANON][r] = v[K_ANON] * n;
            m->delta[F_VSZ][r] = v[K_VSZ] * n;
            m->delta[F_KERNEL][r] = (v[K_KSTACK] + v[K_PTE] + v[K_SLAB]) * n;
        }
        bench_counter(st, "vsz_per_unit_bytes", v[K_VSZ], "bytes");
        bench_counter(st, "rss_per_unit_bytes", v[K_RSS], "bytes");
        bench_counter(st, "anon_per_unit_bytes", v[K_ANON], "bytes");
        bench_counter(st, "kernel_per_unit_bytes", v[K_KSTACK] + v[K_PTE] + v[K_SLAB], "bytes");
        bench_counter(st, "kernel_stack_per_unit_bytes", v[K_KSTACK], "bytes");
        bench_counter(st, "page_tables_per_unit_bytes", v[K_PTE], "bytes");
        bench_counter(st, "slab_per_unit_bytes", v[K_SLAB], "bytes");
        if (after.anon_huge - before.anon_huge > m->huge_max) {
            m->huge_max = after.anon_huge - before.anon_huge;
            snprintf(c->note, sizeof c->note, "%.180s; AnonHugePages grew %lld KiB: huge pages "
                     "are in rss", m->base_note, m->huge_max / 1024);
        }
    }
    return elapsed;
}

/* ---- the fit over a sweep ----------------------------------------------------------------- */

static int fit_derive(struct bench_case *c, struct bench_derived *out, char *msg, size_t len)
{
    const struct mem_fit *f = c->ctx;
    static double x[64 * FIT_MAX_REPS], y[F_COUNT][64 * FIT_MAX_REPS];
    int n = 0, ns = 0;
    long lo = 0, hi = 0;
    for (int i = 0; i < f->count; i++) {
        const struct mem_case *m = f->points[i]->ctx;
        if (!f->points[i]->result.ran || m->ndelta == 0)
            continue;
        lo = ns == 0 || m->u.units < lo ? m->u.units : lo;
        hi = ns == 0 || m->u.units > hi ? m->u.units : hi;
        ns++;
        for (int r = 0; r < m->ndelta; r++, n++) {
            x[n] = (double)m->u.units;
            for (int k = 0; k < F_COUNT; k++)
                y[k][n] = m->delta[k][r];
        }
    }
    struct stats_fit fit[F_COUNT];
    for (int k = 0; k < F_COUNT; k++) {
        if (stats_fit_line(x, y[k], n, &fit[k]) < 0) {
            snprintf(msg, len, "the fit needs repetitions at two different unit counts; %d "
                     "count%s ran", ns, ns == 1 ? "" : "s");
            return BENCH_SKIP;
        }
    }
    for (int k = 0; k < F_COUNT; k++) {
        char note[256];
        snprintf(note, sizeof note, "least squares of the delta against N over %d repetitions "
                 "at %d unit counts, N=%ld..%ld: slope per unit, intercept %.0f bytes, r2 %.4f",
                 n, ns, lo, hi, fit[k].intercept, fit[k].r2);
        bench_derived_row(out, fit_metric[k], fit[k].slope, "bytes", note);
        bench_derived_row(out, fit_err_metric[k], fit[k].slope_se, "bytes", note);
    }
    return BENCH_OK;
}

static const struct param_use params[] = {
    {.key = "variant", .defaults = "thread,thread-small,coroutine", .choices = unit_variant_names},
    {.key = "units", .defaults = "auto"},
    {.key = "stack_bytes", .defaults = "auto"},
    {.key = "stack_alloc", .defaults = "auto"},
    {.key = "touch_bytes", .defaults = "0,8k", .quick = "8k"},
    {.key = "thp", .defaults = "system"},
    {0},
};

/* What "auto" means, per kind. */
static const struct unit_defaults defaults = {
    .small_stack = "64k",
    .small_stack_quick = "64k",
    .coro_stack = "16k,64k,256k",
    .coro_stack_quick = "16k",
    .thread_units = "1,10,100,1000,10000",
    .thread_units_quick = "1,100,1000",
    .coro_units = "1,10,100,1000,10000,100000,1000000",
    .coro_units_quick = "1,1000,100000",
};

struct planning {
    struct plan *plan;
    const struct run_opts *o;
    const struct workload *w;
    char *msg;
    size_t len;
    struct mem_fit *fit;       /* the sweep being planned */
    struct bench_case *first;  /* its first point */
    const char *thp;           /* "system" or "off" */
};

/* Ends the sweep being planned with its fit: a derived case outside the sweep's group, so a
 * limit that stops the sweep still leaves the points that ran to be fitted. */
static int close_sweep(struct planning *p)
{
    struct mem_fit *fit = p->fit;
    p->fit = NULL;
    if (!fit)
        return 0;
    if (fit->count < 2) { /* one N: nothing to fit */
        free(fit);
        return 0;
    }
    struct bench_case *c = plan_add(p->plan, p->w, NULL);
    if (!c) {
        free(fit);
        snprintf(p->msg, p->len, "out of memory");
        return 1;
    }
    c->id = p->first->id;
    param_row_set(&c->id, COL_UNITS, "");
    c->ctx = fit;
    c->free_ctx = free;
    c->derive = fit_derive;
    c->metric = fit_metric[F_RSS];
    bench_case_name(c);
    snprintf(c->name + strlen(c->name), sizeof c->name - strlen(c->name), "/fit");
    return 0;
}

static int add_case(void *arg, const struct unit_config *cfg, long long units)
{
    struct planning *p = arg;
    if (p->fit && memcmp(&((struct mem_case *)p->first->ctx)->u.cfg, cfg, sizeof *cfg) != 0 &&
        close_sweep(p))
        return 1;
    int off = strcmp(p->thp, "off") == 0;
    struct bench_case *c = units_case(p->plan, p->w, NULL, cfg, units, sizeof(struct mem_case),
                                      off ? "sweep-thp-off" : "sweep", p->msg, p->len);
    if (!c)
        return 1;
    ((struct mem_case *)c->ctx)->thp_off = off;
    param_row_set(&c->id, COL_THP, p->thp);
    if (!p->fit) {
        if (!(p->fit = calloc(1, sizeof *p->fit))) {
            snprintf(p->msg, p->len, "out of memory");
            return 1;
        }
        p->first = c;
    }
    if (p->fit->count < (int)(sizeof p->fit->points / sizeof p->fit->points[0]))
        p->fit->points[p->fit->count++] = c;
    c->metric = NULL; /* counters only */
    c->headline = "rss_per_unit_bytes";
    c->iterations = 1;
    c->batch = 1;
    /* Exact counts: 3 repetitions show the machine-wide noise; a million-unit step takes
     * seconds of page faults and its counters agree to 0.1%: once (quirk h). */
    c->repetitions = p->o->repetitions ? 0 : units >= 1000000 ? 1 : 3;
    c->setup = mem_setup;
    c->body = mem_body;
    c->teardown = mem_teardown;
    bench_case_name(c);
    return 0;
}

static int memory_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                       const struct poller_ops *poller, char *msg, size_t len)
{
    (void)poller;
    struct planning p = {plan, o, w, msg, len, NULL, NULL, NULL};
    struct param_set thp;
    run_values(o, w, "thp", &thp);
    for (int t = 0; t < thp.count; t++) {
        p.thp = thp.values[t];
        int rc = units_plan(o, w, &defaults, add_case, &p, msg, len);
        if (rc) {
            free(p.fit);
            return rc;
        }
        if ((rc = close_sweep(&p)) != 0)
            return rc;
    }
    return 0;
}

const struct workload memory_workload = {
    .name = "memory",
    .summary = "virtual, resident and kernel memory per idle thread and coroutine, N swept "
               "to a limit (auto: 1..10k threads, 1..1M coroutines; stacks 64k thread-small, "
               "16k-256k coroutine; pool and guard, a 64k copy stack, stackless; per-sweep fits)",
    .params = params,
    .plan = memory_plan,
};
