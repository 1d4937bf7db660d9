/*
 * fanin_sweep.h - which cases fanin runs and what is fitted across them: every combination of
 * its parameters but fds is one configuration, swept over fds (the user's values, or 1, 2,
 * 4 ... up to the fd limit plus 1,000 and 10,000); each sweep gets a derived case with the
 * least-squares fit of wait_ns against fds and the order of growth, and each configuration
 * whose timeout=zero fdtable=private sweep is planned beside a blocking or a shared one gets
 * C1's decomposition of the per-fd cost (workloads/fanin.c says what each figure means).
 *
 * fanin.c owns what a case measures; this file hands it each planned point through a
 * callback and never sees the case's state.
 */
#ifndef MUX_FANIN_SWEEP_H
#define MUX_FANIN_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "harness/placement.h"
#include "harness/planner.h"

enum fanin_position { FANIN_POS_SPREAD, FANIN_POS_FIRST, FANIN_POS_LAST };

/* One configuration: every parameter of a case but fds, as planned. */
struct fanin_config {
    const struct poller_ops *ops;
    int active, writes;
    int position;                /* enum fanin_position */
    int transport;               /* enum pool_transport */
    int quick;                   /* --quick: the smaller calibration budget */
    enum placement_id placement; /* thread 0: the measuring one, thread 1: the helper */
    int64_t timeout_ns;          /* -1 blocking, 0 zero */
    int shared_fdtable;          /* fdtable=shared: an idle thread shares the fd table */
    int cycle;                   /* mode=cycle: the measuring thread writes, waits and reads */
    char group[200];             /* the sweep: a limit met at one fds ends the rest of it */
};

/* Makes c, a planned case, measure cfg at n fds (its ctx, callbacks, metric); -1 when out of
 * memory. */
typedef int (*fanin_point_fn)(struct bench_case *c, const struct fanin_config *cfg, int n);

/* The whole plan for one backend (a workload's plan()): MUX_EXIT_OK, or MUX_EXIT_USAGE (active
 * above fds, writes below active), MUX_EXIT_ENV (fds or active beyond RLIMIT_NOFILE, saying
 * what to change) or MUX_EXIT_FAIL (out of memory), with msg. */
int fanin_plan_sweeps(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, fanin_point_fn point, char *msg,
                      size_t len);

#endif
