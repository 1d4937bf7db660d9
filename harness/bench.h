/*
 * bench.h - the C API workloads use to be measured. Implemented over Google Benchmark in one
 * C++ file (bench_shim.cc); C never sees a C++ type.
 *
 * A workload describes each case as a `struct bench_case`: its identity (the CSV columns), and
 * callbacks. The harness runs the cases one at a time:
 *
 *      setup()                                   untimed, once per case
 *      warm-up, then for each repetition:        (Google Benchmark decides the iterations)
 *          run_start()                           untimed
 *          body(iters) ... body(iters)           in batches of `batch` iterations
 *          run_end()                             untimed: set counters, verify counts
 *      teardown()                                untimed, once per case
 *
 * Timing: with BENCH_TIME_MANUAL (the default, and the only choice for anything that blocks)
 * body() times itself with bench_now_ns() and returns the nanoseconds its `iters` operations
 * took; with BENCH_TIME_REAL, Google Benchmark's wall clock runs around the batch loop (only
 * the harness's own overhead case uses it). CPU time is never used.
 *
 * What becomes CSV rows: the primary metric (the timed nanoseconds per iteration, times
 * `metric_scale`) and each counter the case sets, each with median, mean, min, max, stddev and
 * cv over the repetitions; and where body() recorded per-operation samples, the p50 and p99 of
 * those samples pooled over the repetitions.
 */
#ifndef MUX_BENCH_H
#define MUX_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "harness/params.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bench_state;   /* opaque: one Google Benchmark run (one repetition) */
struct bench_derived; /* opaque: where a derived case's rows go */

enum bench_timing { BENCH_TIME_MANUAL = 0, BENCH_TIME_REAL = 1 };

/* What setup() returns besides 0. The message goes into the CSV's note column. */
enum bench_setup_result {
    BENCH_OK = 0,
    BENCH_SKIP = 1,  /* not applicable here (an unavailable backend, a missing placement) */
    BENCH_LIMIT = 2, /* a machine limit: the case's group (sweep) stops here */
    BENCH_ERROR = 3, /* the case failed */
};

struct bench_case {
    char name[256];           /* workload/poller/key:value/..., filled by bench_case_name() */
    struct param_row id;      /* the CSV identity columns */
    const char *group;        /* cases of one sweep; a LIMIT skips the rest of the group */

    const char *metric;       /* primary metric name ("wait_ns"), or NULL: counters only */
    const char *headline;     /* with metric NULL: the counter that stands for the case in the
                                 summary table and in `result` (NULL: the first reported) */
    const char *metric_unit;  /* "ns" unless set */
    double metric_scale;      /* metric = ns per iteration * scale (0 means 1) */
    enum bench_timing timing;
    uint64_t batch;           /* iterations per body() call (0 means 1) */
    int64_t iterations;       /* fixed iterations per repetition (0: Google Benchmark picks) */
    int repetitions;          /* 0: the run's default */
    double min_time_s;        /* 0: the run's default */
    int native_empty;         /* the harness's own reference: a C++ empty loop, no body */

    /* Returns BENCH_OK, or another result with msg[] saying why, having undone itself:
     * teardown() runs only after a setup() that returned BENCH_OK. */
    int (*setup)(struct bench_case *c, char *msg, size_t msg_len);
    void (*run_start)(struct bench_case *c, struct bench_state *st);
    /* Runs `iters` operations; returns the nanoseconds they took (MANUAL timing). */
    double (*body)(struct bench_case *c, struct bench_state *st, uint64_t iters);
    void (*run_end)(struct bench_case *c, struct bench_state *st);
    void (*teardown)(struct bench_case *c);
    void *ctx;                /* the workload's */
    void (*free_ctx)(void *ctx);

    /* A derived case runs nothing: after the cases before it have run, derive() computes
     * rows from their results (a fit over a sweep, a ratio of two cases) and adds them with
     * bench_derived_row(). Returns BENCH_OK, or BENCH_SKIP/BENCH_ERROR with msg[]. */
    int (*derive)(struct bench_case *c, struct bench_derived *out, char *msg, size_t msg_len);

    /* Filled by the harness once the case has run: the primary metric's statistics over the
     * repetitions (ran = 0 when it was skipped, failed or filtered out). */
    struct bench_result {
        int ran;
        double median, mean, min, max, stddev, cv;
        int repetitions;
        double p50, p99; /* of the per-op samples pooled over the repetitions, if any */
        int samples;     /* how many: 0 when the case took none (p50, p99 NAN) */
    } result;

    char note[256];           /* appended to every row's note (placement verified, ...) */
    double limit_reached;     /* with BENCH_LIMIT: how far the sweep got (units_reached) */
};

/* Monotonic nanoseconds (CLOCK_MONOTONIC through the vDSO). */
int64_t bench_now_ns(void);

/* A counter for this repetition: becomes its own metric in the CSV, with `value` as given.
 * A name ending in "@p50", "@p95" or "@p99" is a percentile the workload computed over its own
 * per-operation samples: the row is the metric without the suffix, with that stat. */
void bench_counter(struct bench_state *st, const char *metric, double value, const char *unit);

enum bench_counter_kind {
    BENCH_COUNT_VALUE = 0, /* as given */
    BENCH_COUNT_RATE = 1,  /* value / measured seconds of the repetition (manual or real time,
                              never CPU time): events per second */
    BENCH_COUNT_AVG = 2,   /* value / iterations of the repetition: per operation */
};
/* Adds `value` to a counter of this repetition; the total is turned into a rate or an
 * average when the repetition ends. Call it as often as convenient (per batch, per op). */
void bench_counter_add(struct bench_state *st, const char *metric, double value,
                       const char *unit, enum bench_counter_kind kind);
/* One per-operation latency sample for the primary metric's p50 and p99, pooled over the
 * repetitions (after metric_scale). */
void bench_sample(struct bench_state *st, double ns);
/* Ends the case as failed (a count that did not verify, a syscall that failed). The harness
 * writes an `error` row with the message; later repetitions are not run. */
void bench_fail(struct bench_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends the case because a machine limit was reached (EAGAIN from pthread_create, the map
 * count, the memory available): a `limit` row with how far it got, and the rest of the case's
 * group (its sweep) is not run. */
void bench_limit(struct bench_state *st, double reached, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One row of a derived case (status `derived`, stat `median`: derived from medians). */
void bench_derived_row(struct bench_derived *out, const char *metric, double value,
                       const char *unit, const char *note);
/* The same with another stat: `se`, the standard error of the row of the same metric. */
void bench_derived_stat(struct bench_derived *out, const char *metric, const char *stat,
                        double value, const char *unit, const char *note);
/* Pause / resume the clock of BENCH_TIME_REAL cases (manual cases simply do not count). */
void bench_pause(struct bench_state *st);
void bench_resume(struct bench_state *st);
/* Whether the case has been failed in this repetition. */
int bench_failed(const struct bench_state *st);

#ifdef __cplusplus
}
#endif
#endif
