/*
 * planner.h - the helpers a workload's planner uses to turn the run's options into cases
 * (planner.c): add a case, name it from its columns, read a key's values (the user's --set, else
 * the workload's defaults or --quick values).
 */
#ifndef MUX_PLANNER_H
#define MUX_PLANNER_H

#include "harness/workload.h"

/* A new case in the plan with workload and poller columns set (poller may be NULL); NULL when
 * out of memory. Fill in the rest, then call bench_case_name(). */
struct bench_case *plan_add(struct plan *plan, const struct workload *w,
                            const struct poller_ops *poller);
/* Builds c->name from its columns: workload/poller/key:value/... */
void bench_case_name(struct bench_case *c);
void plan_free(struct plan *plan);

/* The values for key: the user's --set values, else the workload's defaults (or --quick
 * values). Returns the count (0 when the workload does not take the key). */
int run_values(const struct run_opts *o, const struct workload *w, const char *key,
               struct param_set *out);
/* The same as numbers (INT, SIZE or DURATION keys: bytes, nanoseconds); returns the count. */
int run_numbers(const struct run_opts *o, const struct workload *w, const char *key,
                long long *out, int max);
/* The first poller of the run that is available here (NULL: none): the cases a per-poller
 * workload runs without a poller (its thread variants) are planned in that poller's plan()
 * call, so they run once per run. */
const struct poller_ops *run_first_poller(const struct run_opts *o);
/* The param_use of key in w, or NULL. */
const struct param_use *workload_param(const struct workload *w, const char *key);

#endif
