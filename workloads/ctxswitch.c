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
 *   coro-asm        two coroutines on one thread, switched by the assembly coro_switch
 *   coro-ucontext   the same through swapcontext(), which adds an rt_sigprocmask system call
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

#include "placement.h"
#include "workload.h"

enum variant { V_FUTEX, V_PIPE, V_YIELD, V_COUNT_THREADS };

static const char *const variant_names[] = {"futex", "pipe", "yield", NULL};

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
    bench_counter(st, "switches_counted_ratio",
                  expected > 0 ? (double)(after - pp->switches_before) / expected : 0, "ratio");
}

static const struct param_use params[] = {
    {.key = "variant", .defaults = "futex,pipe,yield", .choices = variant_names},
    {.key = "placement", .defaults = "same-pu,smt-sibling,same-l3,cross-l3,cross-numa,unpinned"},
    {0},
};

static int ctxswitch_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                          const struct poller_ops *poller, char *msg, size_t len)
{
    (void)poller;
    struct param_set variants, placements;
    run_values(o, w, "variant", &variants);
    run_values(o, w, "placement", &placements);
    for (int v = 0; v < variants.count; v++) {
        int vi = 0;
        while (variant_names[vi] && strcmp(variant_names[vi], variants.values[v]) != 0)
            vi++;
        for (int p = 0; p < placements.count; p++) {
            struct bench_case *c = plan_add(plan, w, NULL);
            struct pingpong *pp = calloc(1, sizeof *pp);
            if (!c || !pp) {
                free(pp);
                snprintf(msg, len, "out of memory");
                return 1;
            }
            pp->variant = (enum variant)vi;
            c->ctx = pp;
            c->free_ctx = free;
            param_row_set(&c->id, COL_VARIANT, variants.values[v]);
            param_row_set(&c->id, COL_PLACEMENT, placements.values[p]);
            c->metric = "switch_ns";
            c->metric_scale = 0.5; /* a round trip is two switches */
            c->batch = 64;
            c->setup = thread_setup;
            c->run_start = thread_run_start;
            c->body = thread_body;
            c->run_end = thread_run_end;
            c->teardown = thread_teardown;
            bench_case_name(c);
        }
    }
    return 0;
}

const struct workload ctxswitch_workload = {
    .name = "ctxswitch",
    .summary = "one switch: futex, pipe and sched_yield ping-pong between two threads at each "
               "placement, and coroutine switches",
    .params = params,
    .plan = ctxswitch_plan,
};
