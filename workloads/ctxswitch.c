/*
 * ctxswitch.c - what one switch costs: claim C5 ("a kernel (thread) context switch costs
 * ~1-10 us, a user-mode (coroutine) switch ~100 ns").
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
 *                   of coro.h's bookkeeping: the fastest switch the suite can measure, the
 *                   floor the others are compared with (derived row coro_overhead_ratio =
 *                   coro-asm / coro-raw, from medians of the same run)
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
 * (voluntary + involuntary context switches: getrusage(RUSAGE_THREAD) for the timing thread,
 * the same counters read from /proc/self/task/<tid>/status for the partner) are summed;
 * switches_counted_ratio = counted / (2 x round trips). Near 1 on one cpu means every
 * handoff was a context switch; near 0 across cpus (yield above all) means the handoff did
 * not switch, and the time is a wake-up or a spin, not a switch. For coroutines the ratio is
 * the coroutine's own count of resumptions over the expected count, and the kernel count of
 * the thread during the run is checked to stay near zero.
 *
 * What it does not measure: the cache and TLB refill a real workload pays after a switch
 * (the two sides here touch almost nothing); scheduler behaviour with more runnable threads
 * than two; the cost of a switch between processes (different address spaces).
 *
 * Quirks handled:
 *  a) A futex wait can return at once (EAGAIN) when the word already changed, or spuriously;
 *     both sides re-check the word in a loop, so a lost race costs a retry, not a deadlock.
 *  b) Per-op samples for p99 cost one clock read (~35 ns) per round trip inside the timed
 *     region: thread variants take them (a switch costs microseconds), coroutine variants do
 *     not (a switch costs nanoseconds) and report batch means only.
 *  c) The partner thread is created once per case, bound, and parked between repetitions;
 *     it is joined in teardown, so thread counts return to where they were.
 *  d) coro-raw switches stacks behind AddressSanitizer's back (coro.c announces its switches
 *     as fibers; the bare switch cannot), so under ASan it is a skipped case.
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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "workloads/runtime/coro.h"
#include "workloads/runtime/coro_switch.h"
#include "harness/placement.h"
#include "harness/planner.h"

enum variant { V_FUTEX, V_PIPE, V_YIELD, V_CORO_ASM, V_CORO_UCONTEXT, V_CORO_RAW };

static const char *const variant_names[] = {"futex",         "pipe",     "yield", "coro-asm",
                                            "coro-ucontext", "coro-raw", NULL};

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
    long switches_before;
    uint64_t round_trips;   /* in this repetition */
};

static long futex(atomic_int *word, int op, int val)
{
    return syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

static void hand_over(struct pingpong *pp, int to)
{
    atomic_store_explicit(&pp->turn, to, memory_order_release);
    if (pp->variant == V_FUTEX)
        futex(&pp->turn, FUTEX_WAKE_PRIVATE, 1);
}

static void wait_turn(struct pingpong *pp, int mine)
{
    if (pp->variant == V_FUTEX) {
        int seen;
        while ((seen = atomic_load_explicit(&pp->turn, memory_order_acquire)) != mine &&
               seen != TURN_STOP)
            futex(&pp->turn, FUTEX_WAIT_PRIVATE, seen);
    } else { /* V_YIELD */
        int seen;
        while ((seen = atomic_load_explicit(&pp->turn, memory_order_acquire)) != mine &&
               seen != TURN_STOP)
            sched_yield();
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
            if (write(pp->b_to_a[1], &c, 1) != 1)
                return NULL;
        } else {
            wait_turn(pp, TURN_B);
            if (atomic_load(&pp->turn) == TURN_STOP)
                return NULL;
            hand_over(pp, TURN_A);
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
        return 0;
    }
    hand_over(pp, TURN_B);
    wait_turn(pp, TURN_A);
    return 0;
}

/* Voluntary + involuntary switches of one thread of this process, by tid. */
static long task_switches(int tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long total = 0;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
            total += v;
    }
    fclose(f);
    return total;
}

static long self_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
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
    atomic_store(&pp->turn, TURN_A);
    atomic_store(&pp->partner_cpu, -1);
    atomic_store(&pp->partner_tid, 0);
    atomic_store(&pp->partner_ready, 0);
    atomic_store(&pp->partner_error, 0);
    pp->a_to_b[0] = pp->a_to_b[1] = pp->b_to_a[0] = pp->b_to_a[1] = -1;
    if (pp->variant == V_PIPE &&
        (pipe2(pp->a_to_b, O_CLOEXEC) < 0 || pipe2(pp->b_to_a, O_CLOEXEC) < 0)) {
        snprintf(msg, len, "pipe2: %s", strerror(errno));
        close_pipes(pp);
        return errno == EMFILE || errno == ENFILE ? BENCH_LIMIT : BENCH_ERROR;
    }
    int cpu;
    int rc = placement_bind_self(&pp->pl, 0, &cpu);
    if (rc) {
        snprintf(msg, len, "binding the timing thread to cpu %d: %s", pp->pl.cpu[0],
                 strerror(-rc));
        close_pipes(pp);
        placement_unbind_self();
        return BENCH_ERROR;
    }
    rc = pthread_create(&pp->partner, NULL, partner_main, pp);
    if (rc) {
        snprintf(msg, len, "pthread_create: %s", strerror(rc));
        close_pipes(pp);
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
    pp->switches_before = self_switches() + task_switches(atomic_load(&pp->partner_tid));
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
        bench_sample(st, (double)(now - prev)); /* quirk b; scaled to one switch by the shim */
        prev = now;
    }
    pp->round_trips += iters;
    return (double)(prev - start);
}

static void thread_run_end(struct bench_case *c, struct bench_state *st)
{
    struct pingpong *pp = c->ctx;
    long after = self_switches() + task_switches(atomic_load(&pp->partner_tid));
    double expected = 2.0 * (double)pp->round_trips;
    double ratio = expected > 0 ? (double)(after - pp->switches_before) / expected : 0;
    bench_counter(st, "switches_counted_ratio", ratio, "ratio");
    /* The number stays (a cross-cpu handoff's cost is worth knowing), but its rows say what
     * it is: most handoffs did not switch, so switch_ns here is not a context switch. */
    static const char unswitched[] = "; most handoffs were not context switches";
    if (ratio < 0.5 && !strstr(c->note, unswitched))
        snprintf(c->note + strlen(c->note), sizeof c->note - strlen(c->note),
                 "%s (counted/expected %.2f): a handoff between running threads, not a switch",
                 unswitched, ratio);
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

struct coro_pingpong {
    enum variant variant;
    struct placement pl;
    struct coro *co;          /* coro-asm, coro-ucontext */
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
    if (cp->variant == V_CORO_RAW) {
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
    return BENCH_OK;
}

static void coro_run_start(struct bench_case *c, struct bench_state *st)
{
    struct coro_pingpong *cp = c->ctx;
    (void)st;
    cp->round_trips = 0;
    cp->resumes_before = cp->resumes;
    cp->kernel_before = self_switches();
}

static double coro_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct coro_pingpong *cp = c->ctx;
    int64_t start = bench_now_ns();
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
    /* Counted by the coroutine: every resume it saw is one switch in and one out. */
    uint64_t counted = cp->resumes - cp->resumes_before;
    if (counted != cp->round_trips) {
        bench_fail(st, "the coroutine counted %llu resumptions, %llu were made",
                   (unsigned long long)counted, (unsigned long long)cp->round_trips);
        return;
    }
    bench_counter(st, "switches_counted_ratio",
                  cp->round_trips ? (double)counted / (double)cp->round_trips : 0, "ratio");
    /* A user-mode switch must not be a kernel one: the thread's own kernel switches in the
     * repetition are timer preemptions, a vanishing fraction of the coroutine switches. */
    long kernel = self_switches() - cp->kernel_before;
    if (cp->round_trips > 1000 && (double)kernel > 0.01 * 2.0 * (double)cp->round_trips)
        bench_fail(st, "%ld kernel context switches during %llu coroutine round trips", kernel,
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
     .defaults = "futex,pipe,yield,coro-asm,coro-ucontext,coro-raw",
     .choices = variant_names},
    {.key = "placement", .defaults = "same-pu,smt-sibling,same-l3,cross-l3,cross-numa,unpinned"},
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
    c->metric = "switch_ns";
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
            struct bench_case *c = add_case(plan, w, variants.values[v], where);
            if (!c)
                goto oom;
            if (is_coroutine((enum variant)vi)) {
                struct coro_pingpong *cp = calloc(1, sizeof *cp);
                if (!(c->ctx = cp))
                    goto oom;
                cp->variant = (enum variant)vi;
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
    .summary = "one switch: futex, pipe and sched_yield ping-pong between two threads at each "
               "placement, and coroutine switches",
    .params = params,
    .plan = ctxswitch_plan,
};
