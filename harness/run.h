/*
 * run.h - a run: plan the cases, open the CSV, run each case through the shim, write its rows
 * as soon as it ends, and on SIGINT/SIGTERM leave a partial file of the finished cases.
 */
#ifndef MUX_RUN_H
#define MUX_RUN_H

#include <limits.h>

#include "harness/env.h"
#include "harness/shim.h"
#include "harness/planner.h"

#define RUN_MAX_WORKLOADS 16

#include "harness/exit_codes.h"

struct run_config {
    struct run_opts opts;
    const struct workload *workloads[RUN_MAX_WORKLOADS];
    int nworkloads;
    char out_path[PATH_MAX]; /* "" = results/<UTC>-<host>-<pollers>.csv */
    struct shim_config shim;
    int list_cases; /* print the planned case names and exit */
};

/* Builds the plan; returns an exit status with msg on a usage or environment error. */
int run_plan(const struct run_config *rc, struct plan *plan, char *msg, size_t msg_len);
/* Everything: returns the process exit status. */
int run_execute(struct run_config *rc, int argc, char **argv);

#endif
