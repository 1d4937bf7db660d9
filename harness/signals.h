/*
 * signals.h - what a run does when it is interrupted or crashes, so that it never leaves a
 * truncated CSV or a child process behind.
 *
 *   SIGINT, SIGTERM, SIGHUP  blocked in every thread (workload threads inherit the mask) and
 *                            taken by one thread: it calls each workload's interrupted() hook
 *                            (kill and reap its children), renames the finished cases' rows to
 *                            <out>.partial.csv, writes the partial JSON, exits 130.
 *   SIGSEGV, SIGBUS, SIGILL, the crashing thread renames the temporary CSV to the partial name
 *   SIGFPE, SIGABRT          (async-signal-safe), calls each workload's interrupted() hook and
 *                            kills and reaps every child process left, then the signal takes
 *                            its default course. The handler runs on an alternate
 *                            stack, so a stack overflow (a coroutine's guard page) reaches it.
 *   SIGPIPE                  ignored: a closed socket is an error return, not a death.
 *
 * The signal thread leaves the fd table it would share with the measuring thread
 * (unshare(CLONE_FILES), keeping stdio and the CSV's fd) before signals_start returns: a
 * shared table taxes every per-fd cost the kernel's poll and select pay (docs/methodology.md,
 * "The fd table").
 */
#ifndef MUX_SIGNALS_H
#define MUX_SIGNALS_H

#include "harness/csv.h"
#include "harness/workload.h"

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts) and
 * ignores SIGPIPE: called before the temporary CSV exists, so a signal that comes before the
 * signal thread starts waits for it instead of killing the run with the file half made. */
void signals_block(void);
/* Starts handling signals for a run writing csv (and, when interrupted, the partial JSON at
 * json_partial). workloads[0..n) get their interrupted() hook called. Returns 0 or an errno
 * (the thread could not be started; nothing is installed then). */
int signals_start(struct csv_out *csv, const struct workload *const *workloads, int n,
                  const char *json_partial);
/* One more case's rows are in the CSV (the count an interruption reports). */
void signals_case_done(void);
/* The CSV is complete and in place: an interruption from now on only says so. */
void signals_run_committed(void);
/* Called by the thread running the cases before it writes a case's rows and before it commits:
 * once the signal thread is ending the run, it waits here (holding no workload's lock) for that
 * thread's _exit, so a case cut short by the interruption (its helper killed under it) is not
 * written as an error row and the run is not committed under the signal thread. */
void signals_yield_to_interrupt(void);
/* Every workload's interrupted() hook, then every child process killed and reaped: before any
 * early exit, so nothing the run started outlives it. */
void signals_stop_children(void);

#endif
