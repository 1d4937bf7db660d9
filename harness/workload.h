/*
 * workload.h - what a workload gives the harness: its name, the parameters it takes, and a
 * planner that turns the run's options into cases (bench.h). The harness knows every workload
 * through the table in registry.c; a workload knows the poller API and this small C API,
 * never Google Benchmark's types.
 */
#ifndef MUX_WORKLOAD_H
#define MUX_WORKLOAD_H

#include <stddef.h>

#include "bench.h"
#include "params.h"
#include "poller.h"

#define RUN_MAX_POLLERS 32

struct run_opts {
    int quick;
    int repetitions; /* --repetitions when given, else 0 (the run's default) */
    struct param_overrides set;
    const struct poller_ops *pollers[RUN_MAX_POLLERS]; /* what --poller selected */
    int npollers;
};

struct plan {
    struct bench_case **cases;
    int count, cap;
};

struct workload {
    const char *name;
    const char *summary;
    const struct param_use *params; /* ends with {NULL} */
    int per_poller; /* cases for each selected poller (fanin, echo); else once per run */
    /* 0 when it can run here, else -errno and the reason. NULL: always. */
    int (*probe)(char *why, size_t why_len);
    /* Appends this workload's cases for one poller (NULL when !per_poller). Returns 0, or an
     * exit status (2 bad usage, 3 an environment limit) with the message in msg. */
    int (*plan)(struct plan *plan, const struct run_opts *o, const struct workload *w,
                const struct poller_ops *poller, char *msg, size_t msg_len);
    /* Once the workload's last case in the run has ended (before the next workload's first):
     * release what it kept across cases (a pool of sockets, a helper process), so the next
     * workload starts with the fds and memory it would have alone. NULL: nothing kept. */
    void (*finish)(void);
    /* On SIGINT/SIGTERM/SIGHUP, from the harness's signal thread, just before the process
     * exits while a case may still be running in the main thread: kill and reap the child
     * processes the workload started (kill, waitpid; nothing that takes a lock the main
     * thread may hold). NULL: none. */
    void (*interrupted)(void);
};

/* The registry (registry.c). */
size_t workload_count(void);
const struct workload *workload_at(size_t i);
const struct workload *workload_find(const char *name);
void workload_names(char *buf, size_t len);

/* For planners. */

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
/* The same as numbers (INT or SIZE keys); returns the count. */
int run_numbers(const struct run_opts *o, const struct workload *w, const char *key,
                long long *out, int max);
/* The first poller of the run that is available here (NULL: none): the cases a per-poller
 * workload runs without a poller (its thread variants) are planned in that poller's plan()
 * call, so they run once per run. */
const struct poller_ops *run_first_poller(const struct run_opts *o);
/* The param_use of key in w, or NULL. */
const struct param_use *workload_param(const struct workload *w, const char *key);

#endif
