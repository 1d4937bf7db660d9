/*
 * workload.h - what a workload gives the harness: its name, the parameters it takes, and a
 * planner that turns the run's options into cases (bench.h). The harness knows every workload
 * through the list in workload_list.c; a workload knows the poller API, this small C API and
 * the planner's helpers (planner.h), never Google Benchmark's types.
 */
#ifndef MUX_WORKLOAD_H
#define MUX_WORKLOAD_H

#include <stddef.h>

#include "harness/bench.h"
#include "harness/exit_codes.h"
#include "harness/params.h"
#include "pollers/poller.h"

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
     * exit status (MUX_EXIT_USAGE, MUX_EXIT_ENV) with the message in msg. */
    int (*plan)(struct plan *plan, const struct run_opts *o, const struct workload *w,
                const struct poller_ops *poller, char *msg, size_t msg_len);
    /* Once the workload's last case in the run has ended (before the next workload's first):
     * release what it kept across cases (a pool of sockets, a helper process), so the next
     * workload starts with the fds and memory it would have alone. NULL: nothing kept. */
    void (*finish)(void);
    /* On SIGINT/SIGTERM/SIGHUP, from the harness's signal thread, and from the crash handler
     * (any thread, in a signal handler), just before the process exits while a case may still
     * be running in the main thread: kill and reap the child processes the workload started.
     * Async-signal-safe: kill, waitpid, atomics; nothing that takes a lock or allocates
     * (helper_kill_all() in workloads/support/helper_proc.h does it). NULL: none. */
    void (*interrupted)(void);
};

/* The list of every workload, in the order a run executes them (workload_list.c). */
size_t workload_count(void);
const struct workload *workload_at(size_t i);
const struct workload *workload_find(const char *name);
void workload_names(char *buf, size_t len);

#endif
