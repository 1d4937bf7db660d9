/*
 * ctxswitch.c - what one switch costs: claim C5 ("a kernel (thread) context switch costs
 * ~1-10 us, a user-mode (coroutine) switch ~100 ns").
 *
 * Metrics: `switch_ns` where a handoff is a context switch (thread variants bound to one cpu,
 * `same-pu`, and every coroutine variant); `wake_ns` where it is not (thread variants on two
 * cpus, or unpinned): there the side that waits has gone idle and the handoff is a cross-cpu
 * wake-up (an inter-processor interrupt and the idle cpu's exit latency, 15-30 us on a VM),
 * or for `yield` a spin that needs no switch at all. Both are per handoff (half a round trip).
 *
 * One op is one handoff of control from one side to the other; a round trip is two ops:
 *
 *      side A (the timing thread)              side B (a partner thread / coroutine)
 *      t0 = now
 *      hand the token to B   ──── op 1 ────►   wakes, takes the token
 *                            ◄─── op 2 ─────   hands it back
 *      wakes, takes it; t1 = now               waits again
 *
 *   futex           the token is a shared word; a side that must wait sleeps in FUTEX_WAIT
 *                   and the other wakes it with FUTEX_WAKE
 *   pipe            one byte through a pipe each way (read blocks, write wakes)
 *   yield           each side spins on the shared word calling sched_yield(): on one cpu every
 *                   yield runs the other thread, across cpus no switch need happen at all
 *   coro-asm        the thread's own stack and a coroutine, through coro_resume/coro_yield
 *                   (coro.h) over the assembly switch: what a coroutine library costs
 *   coro-ucontext   the same through swapcontext(), which adds an rt_sigprocmask system call
 *   coro-raw        the bare assembly switch (coro_switch.h) between two contexts, with none
 *                   of coro.h's bookkeeping: the fastest stackful switch the suite can measure,
 *                   the floor the others are compared with (derived row coro_overhead_ratio =
 *                   coro-asm / coro-raw, from medians of the same run)
 *   coro-copy       coro-asm on a copy stack (coro.h): the coroutine is suspended touch_bytes
 *                   deep (frames of 1 KiB; at 0, only the ~100 bytes of the runtime's own
 *                   frames) and every switch copies that depth out and back in; touch_bytes
 *                   sweeps the depth (the only variant that takes it); the note says how many
 *                   bytes each round trip copied
 *   coro-stackless  a stackless coroutine (stackless.h): a round trip is one call of its step
 *                   function through a pointer, which jumps to its resume point, counts, stores
 *                   the next resume point and returns
 *
 * Coroutine variants run on one thread, so only `same-pu` (bound to one cpu) and `unpinned`
 * apply to them; they are planned at those two placements when asked for.
 *
 * Thread variants run at every placement the machine has (same-pu: both threads on one
 * hardware thread, so every handoff is a real context switch; same-l3 and beyond: a handoff
 * is a cross-cpu wake-up, with the idle cpu's exit latency in it). Each thread is bound and
 * its cpu checked before measuring; a placement the machine lacks is a skipped row.
 *
 * Counted, not assumed: before and after each repetition the kernel's per-thread counters
 * (getrusage(RUSAGE_THREAD) for the timing thread, /proc/self/task/<tid>/status for the
 * partner) are read; per handoff (2 per round trip) they give voluntary_per_handoff (the thread
 * blocked), involuntary_per_handoff (it was preempted) and their sum switches_counted_ratio.
 * On one cpu every handoff is a voluntary switch (sum near 1). Across cpus the sum is near 1
 * too for futex and pipe, because a thread that sleeps is switched to the idle task: that is
 * why those rows are wake_ns, not switch_ns, whatever the ratio says. syscalls_per_round_trip
 * counts the system calls both sides made (futex: 2 waits and 2 wakes, fewer when a wait finds
 * the word already changed, more on spurious returns; pipe: 4).
 * round_trip_p99_ns is the 99th percentile of whole round trips (one clock read each, quirk
 * b), not of single switches: half a round trip's tail is not a switch's tail.
 * For coroutines the coroutine counts its own resumptions, which must equal the resumes made
 * (else an error row), and the thread's kernel switches during the run must stay near zero.
 *
 * What it does not measure: the cache and TLB refill a real workload pays after a switch
 * (the two sides here touch almost nothing); scheduler behaviour with more runnable threads
 * than two; the cost of a switch between processes (different address spaces).
 *
 * Quirks handled:
 *  a) A futex wait can return at once (EAGAIN) when the word already changed, or spuriously;
 *     both sides re-check the word in a loop, so a lost race costs a retry, not a deadlock.
 *  b) Per-round-trip samples cost one clock read (~35 ns) inside the timed region: thread
 *     variants take them (a switch costs microseconds), coroutine variants do not (a switch
 *     costs nanoseconds) and report batch means only.
 *  c) The partner thread is created once per case, bound, and parked between repetitions;
 *     it is joined in teardown, so thread counts return to where they were.
 *  d) coro-raw switches stacks behind AddressSanitizer's back (coro.c announces its switches
 *     as fibers; the bare switch cannot), so under ASan it is a skipped case.
 *  e) The stackless step function lives in another translation unit (stackless.c) and is
 *     called through a pointer, so the compiler cannot fold the loop of round trips away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/placement.h"
#include "harness/planner.h"
#include "harness/stats.h"
#include "workloads/runtime/coro.h"
#include "workloads/runtime/coro_switch.h"
#include "workloads/runtime/stackless.h"
#include "workloads/support/switch_count.h"

enum variant {
    V_FUTEX,
    V_PIPE,
    V_YIELD,
    V_CORO_ASM,
    V_CORO_UCONTEXT,
    V_CORO_RAW,
    V_CORO_COPY,
    V_CORO_STACKLESS
};

static const char *const variant_names[] = {"futex",    "pipe",          "yield",
                                            "coro-asm", "coro-ucontext", "coro-raw",
                                            "coro-copy", "coro-stackless", NULL};

/* Round trips whose latency is kept for round_trip_p99_ns, per repetition. */
#define MAX_SAMPLES (1 << 20)

static int is_coroutine(enum variant v) { return v >= V_CORO_ASM; }

enum { TURN_A = 0, TURN_B = 1, TURN_STOP = 2 };

struct pingpong {
    enum variant variant;
    struct placement pl;
    atomic_int turn;     /* futex / yield: whose move it is */
    int a_to_b[2];       /* pipe: A writes [1], B reads [0] */
    int b_to_a[2];
    pthread_t partner;
    int partner_started;
    atomic_int partner_tid;
    atomic_int partner_cpu; /* where B was seen after binding; -1 before */
    atomic_int partner_error;
    atomic_int partner_ready; /* set once B has bound (or failed to) */
    long vol_before, invol_before;
    uint64_t round_trips;   /* in this repetition */
    /* System calls made by each side, each written by its own thread only. */
    _Alignas(64) atomic_ulong syscalls_a;
    _Alignas(64) atomic_ulong syscalls_b;
    uint64_t syscalls_before;
    uint32_t *samples;      /* round trip ns, this repetition */
    size_t nsamples;
};

/* A side's system call, counted. */
static void count_syscall(atomic_ulong *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static long futex(atomic_int *word, int op, int val)
{
    return syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

static void hand_over(struct pingpong *pp, int to, atomic_ulong *calls)
{
    if (pp->variant == V_FUTEX)
        count_syscall(calls); /* before the other side can run and read the counts */
    atomic_store_explicit(&pp->turn, to, memory_order_release);
    if (pp->variant == V_FUTEX)
        futex(&pp->turn, FUTEX_WAKE_PRIVATE, 1);
}

static void wait_turn(struct pingpong *pp, int mine, atomic_ulong *calls)
{
    int seen;
    while ((seen = atomic_load_explicit(&pp->turn, memory_order_acquire)) != mine &&
           seen != TURN_STOP) {
        if (pp->variant == V_FUTEX)
            futex(&pp->turn, FUTEX_WAIT_PRIVATE, seen);
        else /* V_YIELD */
            sched_yield();
        count_syscall(calls);
    }
}

static void *partner_main(void *arg)
{
    struct pingpong *pp = arg;
    atomic_store(&pp->partner_tid, (int)syscall(SYS_gettid));
    int cpu;
    int rc = placement_bind_self(&pp->pl, 1, &cpu);
    atomic_store(&pp->partner_error, rc);
    atomic_store(&pp->partner_cpu, rc == 0 ? cpu : -1);
    atomic_store(&pp->partner_ready, 1);
    if (rc)
        return NULL;
    for (;;) {
        if (pp->variant == V_PIPE) {
            char c;
            if (read(pp->a_to_b[0], &c, 1) != 1 || c == 'q')
                return NULL;
            /* Both counted before the write: once it is done, side A may read the counts. */
            count_syscall(&pp->syscalls_b);
            count_syscall(&pp->syscalls_b);
            if (write(pp->b_to_a[1], &c, 1) != 1)
                return NULL;
        } else {
            wait_turn(pp, TURN_B, &pp->syscalls_b);
            if (atomic_load(&pp->turn) == TURN_STOP)
                return NULL;
            hand_over(pp, TURN_A, &pp->syscalls_b);
        }
    }
}

/* One round trip from side A; returns 0 or -1 when the partner is gone. */
static inline int round_trip(struct pingpong *pp)
{
    if (pp->variant == V_PIPE) {
        char c = 'x';
        if (write(pp->a_to_b[1], &c, 1) != 1 || read(pp->b_to_a[0], &c, 1) != 1)
            return -1;
        count_syscall(&pp->syscalls_a);
        count_syscall(&pp->syscalls_a);
        return 0;
    }
    hand_over(pp, TURN_B, &pp->syscalls_a);
    wait_turn(pp, TURN_A, &pp->syscalls_a);
    return 0;
}

static void stop_partner(struct pingpong *pp)
{
    if (!pp->partner_started)
        return;
    if (pp->variant == V_PIPE) {
        char q = 'q';
        if (write(pp->a_to_b[1], &q, 1) != 1)
            close(pp->a_to_b[1]); /* the partner's read then sees end of file */
    } else {
        atomic_store(&pp->turn, TURN_STOP);
        futex(&pp->turn, FUTEX_WAKE_PRIVATE, 1);
    }
    pthread_join(pp->partner, NULL);
    pp->partner_started = 0;
}

static void close_pipes(struct pingpong *pp)
{
    int *fds[] = {pp->a_to_b, pp->b_to_a};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (fds[i][j] >= 0)
                close(fds[i][j]);
    pp->a_to_b[0] = pp->a_to_b[1] = pp->b_to_a[0] = pp->b_to_a[1] = -1;
}

static void thread_teardown(struct bench_case *c)
{
    struct pingpong *pp = c->ctx;
    stop_partner(pp);
    close_pipes(pp);
    free(pp->samples);
    pp->samples = NULL;
    placement_unbind_self();
}

static int thread_setup(struct bench_case *c, char *msg, size_t len)
{
    struct pingpong *pp = c->ctx;
    enum placement_id id = (enum placement_id)placement_lookup(c->id.v[COL_PLACEMENT]);
    char why[256];
    if (placement_resolve(id, &pp->pl, why, sizeof why) != 0) {
        snprintf(msg, len, "placement %s: %s", c->id.v[COL_PLACEMENT], why);
        return BENCH_SKIP;
    }
    pp->samples = malloc(MAX_SAMPLES * sizeof *pp->samples);
    if (!pp->samples) {
        snprintf(msg, len, "out of memory for %d latency samples", MAX_SAMPLES);
        return BENCH_ERROR;
    }
    atomic_store(&pp->turn, TURN_A);
    atomic_store(&pp->partner_cpu, -1);
    atomic_store(&pp->partner_tid, 0);
    atomic_store(&pp->partner_ready, 0);
    atomic_store(&pp->partner_error, 0);
    pp->a_to_b[0] = pp->a_to_b[1] = pp->b_to_a[0] = pp->b_to_a[1] = -1;
    if (pp->variant == V_PIPE &&
        (pipe2(pp->a_to_b, O_CLOEXEC) < 0 || pipe2(pp->b_to_a, O_CLOEXEC) < 0)) {
        snprintf(msg, len, "pipe2: %s", strerror(errno));
        int err = errno;
        close_pipes(pp);
        free(pp->samples);
        pp->samples = NULL;
        return err == EMFILE || err == ENFILE ? BENCH_LIMIT : BENCH_ERROR;
    }
    int cpu;
    int rc = placement_bind_self(&pp->pl, 0, &cpu);
    if (rc) {
        snprintf(msg, len, "binding the timing thread to cpu %d: %s", pp->pl.cpu[0],
                 strerror(-rc));
        close_pipes(pp);
        free(pp->samples);
        pp->samples = NULL;
        placement_unbind_self();
        return BENCH_ERROR;
    }
    rc = pthread_create(&pp->partner, NULL, partner_main, pp);
    if (rc) {
        snprintf(msg, len, "pthread_create: %s", strerror(rc));
        close_pipes(pp);
        free(pp->samples);
        pp->samples = NULL;
        placement_unbind_self();
        return rc == EAGAIN ? BENCH_LIMIT : BENCH_ERROR;
    }
    pp->partner_started = 1;
    while (!atomic_load(&pp->partner_ready))
        usleep(100); /* untimed: the partner binds itself first */
    if (atomic_load(&pp->partner_error)) {
        snprintf(msg, len, "the partner thread could not bind to cpu %d: %s", pp->pl.cpu[1],
                 strerror(-atomic_load(&pp->partner_error)));
        pthread_join(pp->partner, NULL);
        pp->partner_started = 0;
        close_pipes(pp);
        free(pp->samples);
        pp->samples = NULL;
        placement_unbind_self();
        return BENCH_ERROR;
    }
    if (round_trip(pp) < 0) { /* one round trip: the partner is in its loop */
        snprintf(msg, len, "the first round trip with the partner failed");
        thread_teardown(c);
        return BENCH_ERROR;
    }
    if (pp->pl.cpu[0] >= 0)
        snprintf(c->note, sizeof c->note, "threads bound to cpus %d and %d, verified", cpu,
                 atomic_load(&pp->partner_cpu));
    else
        snprintf(c->note, sizeof c->note, "unpinned (ran on cpus %d and %d at start)", cpu,
                 atomic_load(&pp->partner_cpu));
    return BENCH_OK;
}

static void thread_run_start(struct bench_case *c, struct bench_state *st)
{
    struct pingpong *pp = c->ctx;
    (void)st;
    pp->round_trips = 0;
    pp->nsamples = 0;
    switch_count_pair(atomic_load(&pp->partner_tid), &pp->vol_before, &pp->invol_before);
    pp->syscalls_before = atomic_load(&pp->syscalls_a) + atomic_load(&pp->syscalls_b);
}

static double thread_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct pingpong *pp = c->ctx;
    int64_t start = bench_now_ns(), prev = start;
    for (uint64_t i = 0; i < iters; i++) {
        if (round_trip(pp) < 0) {
            bench_fail(st, "the partner thread stopped answering");
            return 0;
        }
        int64_t now = bench_now_ns();
        if (pp->nsamples < MAX_SAMPLES) /* quirk b */
            pp->samples[pp->nsamples++] = (uint32_t)(now - prev > UINT32_MAX ? UINT32_MAX
                                                                               : now - prev);
        prev = now;
    }
    pp->round_trips += iters;
    return (double)(prev - start);
}

static void thread_run_end(struct bench_case *c, struct bench_state *st)
{
    struct pingpong *pp = c->ctx;
    long vol, invol;
    switch_count_pair(atomic_load(&pp->partner_tid), &vol, &invol);
    double handoffs = 2.0 * (double)pp->round_trips;
    if (handoffs <= 0)
        return;
    double v = (double)(vol - pp->vol_before) / handoffs;
    double i = (double)(invol - pp->invol_before) / handoffs;
    bench_counter(st, "switches_counted_ratio", v + i, "ratio");
    bench_counter(st, "voluntary_per_handoff", v, "ratio");
    bench_counter(st, "involuntary_per_handoff", i, "ratio");
    uint64_t calls = atomic_load(&pp->syscalls_a) + atomic_load(&pp->syscalls_b);
    bench_counter(st, "syscalls_per_round_trip",
                  (double)(calls - pp->syscalls_before) / (double)pp->round_trips, "count");
    if (pp->nsamples) {
        double *d = malloc(pp->nsamples * sizeof *d);
        if (d) {
            for (size_t k = 0; k < pp->nsamples; k++)
                d[k] = pp->samples[k];
            bench_counter(st, "round_trip_p99_ns", stats_percentile(d, (int)pp->nsamples, 0.99),
                          "ns");
            free(d);
        }
    }
}


/* ---- coroutine variants ---------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define CTX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTX_ASAN 1
#endif
#endif
#ifndef CTX_ASAN
#define CTX_ASAN 0
#endif

struct stackless_counter {
    struct stackless base;
    uint64_t *resumes;
};

struct coro_pingpong {
    enum variant variant;
    struct placement pl;
    size_t depth;             /* coro-copy: bytes of stack in use when it yields */
    volatile int stop;
    struct coro_copy_stack *copy_stack;
    struct stackless_counter stackless;
    struct coro *co;          /* coro-asm, coro-ucontext, coro-copy */
    uint64_t resumes;         /* counted by the coroutine itself */
    uint64_t round_trips;     /* expected, in this repetition */
    uint64_t resumes_before;
#if MUX_CORO_HAVE_ASM
    struct coro_ctx main_ctx, raw_ctx; /* coro-raw */
    void *raw_stack;
#endif
    long kernel_before;
};

#define RAW_STACK_BYTES (64 * 1024)

static void coroutine_loop(void *arg)
{
    struct coro_pingpong *cp = arg;
    for (;;) {
        cp->resumes++;
        coro_yield();
    }
}

/* coro-copy: descends `left` bytes in 1 KiB frames, then yields from the bottom for ever, so
 * every switch saves and restores that depth. */
__attribute__((noinline)) static void park_deep(struct coro_pingpong *cp, size_t left)
{
    volatile char frame[1024];
    frame[0] = frame[sizeof frame - 1] = 1;
    if (left > sizeof frame)
        park_deep(cp, left - sizeof frame);
    else
        while (!cp->stop) { /* never set: it is destroyed while suspended */
            cp->resumes++;
            coro_yield();
        }
    __asm__ volatile("" : : "r"(frame) : "memory");
}

static void copy_loop(void *arg)
{
    struct coro_pingpong *cp = arg;
    if (cp->depth) {
        park_deep(cp, cp->depth);
        return;
    }
    while (!cp->stop) { /* depth 0: only the frames the runtime itself needs are copied */
        cp->resumes++;
        coro_yield();
    }
}

static int stackless_loop(struct stackless *s)
{
    struct stackless_counter *sc = (struct stackless_counter *)s;
    STACKLESS_BEGIN(s);
    for (;;) {
        (*sc->resumes)++;
        STACKLESS_YIELD(s);
    }
    STACKLESS_END(s);
}

#if MUX_CORO_HAVE_ASM && !CTX_ASAN
static void raw_loop(void *arg)
{
    struct coro_pingpong *cp = arg;
    for (;;) {
        cp->resumes++;
        coro_switch(&cp->raw_ctx, &cp->main_ctx);
    }
}
#endif

static void coro_teardown(struct bench_case *c)
{
    struct coro_pingpong *cp = c->ctx;
    if (cp->co)
        coro_destroy(cp->co); /* suspended in its loop: dropped without unwinding */
    cp->co = NULL;
    coro_copy_stack_destroy(cp->copy_stack);
    cp->copy_stack = NULL;
#if MUX_CORO_HAVE_ASM
    free(cp->raw_stack);
    cp->raw_stack = NULL;
#endif
    placement_unbind_self();
}

static int coro_setup(struct bench_case *c, char *msg, size_t len)
{
    struct coro_pingpong *cp = c->ctx;
    char why[256];
    enum placement_id id = (enum placement_id)placement_lookup(c->id.v[COL_PLACEMENT]);
    if (placement_resolve(id, &cp->pl, why, sizeof why) != 0) {
        snprintf(msg, len, "placement %s: %s", c->id.v[COL_PLACEMENT], why);
        return BENCH_SKIP;
    }
    cp->resumes = 0;
    if (cp->variant == V_CORO_STACKLESS) {
        stackless_init(&cp->stackless.base, stackless_loop);
        cp->stackless.resumes = &cp->resumes;
    } else if (cp->variant == V_CORO_COPY) {
        if (coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why) != 0) {
            snprintf(msg, len, "coro-copy needs the assembly switch: %s", why);
            return BENCH_SKIP;
        }
        /* The run stack: the depth plus room for the frames around it and a signal. */
        size_t run = cp->depth + 64 * 1024 + coro_signal_stack_min();
        struct coro_attr attr;
        coro_attr_init(&attr);
        attr.stack_kind = CORO_STACK_COPY;
        attr.stack_size = 0;
        int rc = coro_copy_stack_create(&cp->copy_stack, run);
        if (rc == 0) {
            attr.copy_stack = cp->copy_stack;
            rc = coro_create(&cp->co, &attr, copy_loop, cp);
        }
        if (rc == 0 && coro_resume(cp->co) != 0) /* down to its depth, untimed */
            rc = -EPROTO;
        if (rc < 0) {
            snprintf(msg, len, "a coroutine on a copy stack: %s", strerror(-rc));
            coro_teardown(c);
            return BENCH_ERROR;
        }
    } else if (cp->variant == V_CORO_RAW) {
#if MUX_CORO_HAVE_ASM && !CTX_ASAN
        cp->raw_stack = malloc(RAW_STACK_BYTES);
        if (!cp->raw_stack) {
            snprintf(msg, len, "out of memory for a %d-byte stack", RAW_STACK_BYTES);
            return BENCH_ERROR;
        }
        uintptr_t top = ((uintptr_t)cp->raw_stack + RAW_STACK_BYTES) & ~(uintptr_t)15;
        coro_ctx_make(&cp->raw_ctx, (void *)top, raw_loop, cp);
#elif MUX_CORO_HAVE_ASM
        snprintf(msg, len, "coro-raw switches stacks without AddressSanitizer's fiber "
                           "annotations; it runs in builds without ASan");
        return BENCH_SKIP;
#else
        coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why);
        snprintf(msg, len, "coro-raw: %s", why);
        return BENCH_SKIP;
#endif
    } else {
        enum coro_switch_kind kind =
            cp->variant == V_CORO_ASM ? CORO_SWITCH_ASM : CORO_SWITCH_UCONTEXT;
        if (coro_switch_probe(kind, why, sizeof why) != 0) {
            snprintf(msg, len, "%s: %s", coro_switch_name(kind), why);
            return BENCH_SKIP;
        }
        struct coro_attr attr;
        coro_attr_init(&attr);
        attr.switch_kind = kind;
        int rc = coro_create(&cp->co, &attr, coroutine_loop, cp);
        if (rc < 0) {
            snprintf(msg, len, "coro_create: %s", strerror(-rc));
            return BENCH_ERROR;
        }
    }
    int cpu;
    int rc = placement_bind_self(&cp->pl, 0, &cpu);
    if (rc) {
        snprintf(msg, len, "binding to cpu %d: %s", cp->pl.cpu[0], strerror(-rc));
        coro_teardown(c);
        return BENCH_ERROR;
    }
    snprintf(c->note, sizeof c->note, "one thread, %s cpu %d",
             cp->pl.cpu[0] >= 0 ? "bound to" : "unpinned, started on", cpu);
    if (cp->variant == V_CORO_COPY) {
        struct coro_stack_info info;
        coro_stack_info(cp->co, &info);
        snprintf(c->note + strlen(c->note), sizeof c->note - strlen(c->note),
                 "; %zu bytes copied out and back per round trip", info.saved_bytes);
    }
    return BENCH_OK;
}

static void coro_run_start(struct bench_case *c, struct bench_state *st)
{
    struct coro_pingpong *cp = c->ctx;
    (void)st;
    cp->round_trips = 0;
    cp->resumes_before = cp->resumes;
    cp->kernel_before = switch_count_self_voluntary();
}

static double coro_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct coro_pingpong *cp = c->ctx;
    int64_t start = bench_now_ns();
    if (cp->variant == V_CORO_STACKLESS) {
        for (uint64_t i = 0; i < iters; i++)
            if (stackless_resume(&cp->stackless.base) != STACKLESS_YIELDED) {
                bench_fail(st, "the stackless coroutine did not yield back");
                return 0;
            }
    } else
#if MUX_CORO_HAVE_ASM
    if (cp->variant == V_CORO_RAW) {
        for (uint64_t i = 0; i < iters; i++)
            coro_switch(&cp->main_ctx, &cp->raw_ctx);
    } else
#endif
    {
        for (uint64_t i = 0; i < iters; i++) {
            if (coro_resume(cp->co) != 0) {
                bench_fail(st, "the coroutine did not yield back");
                return 0;
            }
        }
    }
    int64_t end = bench_now_ns();
    cp->round_trips += iters;
    return (double)(end - start);
}

static void coro_run_end(struct bench_case *c, struct bench_state *st)
{
    struct coro_pingpong *cp = c->ctx;
    /* Counted by the coroutine: every resume it saw is one switch in and one out. No ratio is
     * reported: it is 1 whenever the run is not an error. */
    uint64_t counted = cp->resumes - cp->resumes_before;
    if (counted != cp->round_trips) {
        bench_fail(st, "the coroutine counted %llu resumptions, %llu were made",
                   (unsigned long long)counted, (unsigned long long)cp->round_trips);
        return;
    }
    /* A user-mode switch must not be a kernel one: a coroutine switch that slept in the kernel
     * would show as the thread's voluntary switches. Preemptions (involuntary) are the load of
     * the machine, and a busy one preempts an unpinned thread often: they are not counted. */
    long kernel = switch_count_self_voluntary() - cp->kernel_before;
    if (cp->round_trips > 1000 && (double)kernel > 0.01 * 2.0 * (double)cp->round_trips)
        bench_fail(st, "%ld voluntary kernel context switches (sleeps) during %llu coroutine "
                   "round trips", kernel,
                   (unsigned long long)cp->round_trips);
}

/* Derived: coro-asm against the bare switch, both medians from this run. */
struct overhead_ctx {
    struct bench_case *asm_case, *raw_case;
};

static int overhead_derive(struct bench_case *c, struct bench_derived *out, char *msg,
                           size_t len)
{
    struct overhead_ctx *oc = c->ctx;
    if (!oc->asm_case->result.ran || !oc->raw_case->result.ran) {
        snprintf(msg, len, "needs coro-asm and coro-raw measured in this run");
        return BENCH_SKIP;
    }
    char note[200];
    snprintf(note, sizeof note, "coro-asm %.3g ns / coro-raw %.3g ns per switch (medians)",
             oc->asm_case->result.median, oc->raw_case->result.median);
    bench_derived_row(out, "coro_overhead_ratio",
                      oc->asm_case->result.median / oc->raw_case->result.median, "ratio", note);
    return BENCH_OK;
}

static const struct param_use params[] = {
    {.key = "variant",
     .defaults = "futex,pipe,yield,coro-asm,coro-ucontext,coro-raw,coro-copy,coro-stackless",
     .choices = variant_names},
    {.key = "placement", .defaults = "same-pu,smt-sibling,same-l3,cross-l3,cross-numa,unpinned"},
    {.key = "touch_bytes", .defaults = "0,1k,4k,16k", .quick = "0,4k"},
    {0},
};

static struct bench_case *add_case(struct plan *plan, const struct workload *w,
                                   const char *variant, const char *placement)
{
    struct bench_case *c = plan_add(plan, w, NULL);
    if (!c)
        return NULL;
    param_row_set(&c->id, COL_VARIANT, variant);
    param_row_set(&c->id, COL_PLACEMENT, placement);
    /* A thread handoff is a context switch only when both threads share one cpu; elsewhere
     * it is a wake-up of an idle cpu (or a spin), and is named so. */
    int vi = 0;
    while (variant_names[vi] && strcmp(variant_names[vi], variant) != 0)
        vi++;
    c->metric = is_coroutine((enum variant)vi) || strcmp(placement, "same-pu") == 0
                    ? "switch_ns"
                    : "wake_ns";
    c->metric_scale = 0.5; /* a round trip is two switches */
    c->free_ctx = free;
    return c;
}

static int ctxswitch_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                          const struct poller_ops *poller, char *msg, size_t len)
{
    (void)poller;
    struct param_set variants, placements;
    run_values(o, w, "variant", &variants);
    run_values(o, w, "placement", &placements);
    long long depths[PARAM_MAX_VALUES];
    int ndepths = run_numbers(o, w, "touch_bytes", depths, PARAM_MAX_VALUES);
    struct bench_case *asm_case = NULL, *raw_case = NULL;
    for (int v = 0; v < variants.count; v++) {
        int vi = 0;
        while (variant_names[vi] && strcmp(variant_names[vi], variants.values[v]) != 0)
            vi++;
        for (int p = 0; p < placements.count; p++) {
            const char *where = placements.values[p];
            if (is_coroutine((enum variant)vi) && strcmp(where, "same-pu") != 0 &&
                strcmp(where, "unpinned") != 0)
                continue; /* one thread: other placements do not apply */
            for (int d = 0; d < (vi == V_CORO_COPY ? ndepths : 1); d++) {
            struct bench_case *c = add_case(plan, w, variants.values[v], where);
            if (!c)
                goto oom;
            if (vi == V_CORO_COPY)
                param_row_setn(&c->id, COL_TOUCH_BYTES, depths[d]);
            if (is_coroutine((enum variant)vi)) {
                struct coro_pingpong *cp = calloc(1, sizeof *cp);
                if (!(c->ctx = cp))
                    goto oom;
                cp->variant = (enum variant)vi;
                cp->depth = vi == V_CORO_COPY ? (size_t)depths[d] : 0;
                c->batch = 1024;
                c->setup = coro_setup;
                c->run_start = coro_run_start;
                c->body = coro_body;
                c->run_end = coro_run_end;
                c->teardown = coro_teardown;
                if (strcmp(where, "same-pu") == 0 && vi == V_CORO_ASM)
                    asm_case = c;
                if (strcmp(where, "same-pu") == 0 && vi == V_CORO_RAW)
                    raw_case = c;
            } else {
                struct pingpong *pp = calloc(1, sizeof *pp);
                if (!(c->ctx = pp))
                    goto oom;
                pp->variant = (enum variant)vi;
                c->batch = 64;
                c->setup = thread_setup;
                c->run_start = thread_run_start;
                c->body = thread_body;
                c->run_end = thread_run_end;
                c->teardown = thread_teardown;
            }
            bench_case_name(c);
            }
        }
    }
    if (asm_case && raw_case) {
        struct bench_case *c = add_case(plan, w, "coro-asm", "same-pu");
        struct overhead_ctx *oc = calloc(1, sizeof *oc);
        if (!c || !(c->ctx = oc)) {
            free(oc);
            goto oom;
        }
        oc->asm_case = asm_case;
        oc->raw_case = raw_case;
        c->metric = "coro_overhead_ratio";
        c->derive = overhead_derive;
        bench_case_name(c);
        snprintf(c->name + strlen(c->name), sizeof c->name - strlen(c->name), "/vs:coro-raw");
    }
    return 0;
oom:
    snprintf(msg, len, "out of memory");
    return 1;
}

const struct workload ctxswitch_workload = {
    .name = "ctxswitch",
    .summary = "one switch: futex, pipe and sched_yield ping-pong between two threads on one "
               "cpu (switch_ns) and across cpus (wake_ns), and coroutine switches (asm, "
               "ucontext, raw, copy stacks by depth, stackless)",
    .params = params,
    .plan = ctxswitch_plan,
};
