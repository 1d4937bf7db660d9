/*
 * selfbench.c - the `harness` workload: what the measuring costs, so it can be subtracted in
 * one's head and never mistaken for the kernel's work.
 *
 *   variant c-shim   one empty C body call per iteration through the shim (an indirect call
 *                    across the C/C++ boundary per batch of 1), Google Benchmark's wall clock
 *   variant native   the same empty loop written natively in C++ (`for (auto _ : state)`)
 *   variant clock    one bench_now_ns() (clock_gettime(CLOCK_MONOTONIC) through the vDSO):
 *                    the floor below which a manually timed operation cannot be resolved
 *
 * One op is one loop iteration. What it does not measure: cache or branch-predictor effects
 * of a real body; the shim's per-case setup, which happens outside every timed region.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "harness/planner.h"

static double empty_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    (void)c;
    (void)st;
    (void)iters;
    return 0;
}

static double clock_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    (void)c;
    (void)st;
    int64_t t0 = bench_now_ns(), t = t0;
    for (uint64_t i = 0; i < iters; i++)
        t = bench_now_ns();
    return (double)(t - t0);
}

static const char *const variants[] = {"c-shim", "native", "clock", NULL};

static const struct param_use params[] = {
    {.key = "variant", .defaults = "c-shim,native,clock", .choices = variants},
    {0},
};

static int harness_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                        const struct poller_ops *poller, char *msg, size_t len)
{
    (void)poller;
    struct param_set vs;
    run_values(o, w, "variant", &vs);
    for (int i = 0; i < vs.count; i++) {
        struct bench_case *c = plan_add(plan, w, NULL);
        if (!c) {
            snprintf(msg, len, "out of memory");
            return 1;
        }
        param_row_set(&c->id, COL_VARIANT, vs.values[i]);
        if (strcmp(vs.values[i], "clock") == 0) {
            c->metric = "clock_read_ns";
            c->timing = BENCH_TIME_MANUAL;
            c->batch = 1000;
            c->body = clock_body;
        } else {
            c->metric = "iteration_ns";
            c->timing = BENCH_TIME_REAL;
            c->batch = 1;
            c->body = empty_body;
            c->native_empty = strcmp(vs.values[i], "native") == 0;
        }
        bench_case_name(c);
    }
    return 0;
}

const struct workload harness_workload = {
    .name = "harness",
    .summary = "the harness's own cost: an empty iteration through the C shim and natively, "
               "and one clock read",
    .params = params,
    .plan = harness_plan,
};
