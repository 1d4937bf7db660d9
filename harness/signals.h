/*
 * signals.h - what a run does when it is interrupted or crashes, so that it never leaves a
 * truncated CSV or a child process behind.
 *
 *   SIGINT, SIGTERM, SIGHUP  blocked in every thread (workload threads inherit the mask) and
 *                            taken by one thread: it calls each workload's interrupted() hook
 *                            (kill and reap its children), renames the finished cases' rows to
 *                            <out>.partial.csv, writes the partial JSON, exits 130.
 *   SIGSEGV, SIGBUS, SIGILL, the crashing thread calls each workload's interrupted() hook too
 *   SIGFPE, SIGABRT          (async-signal-safe: kill and reap), renames the temporary CSV to
 *                            the partial name, then the signal takes its default course.
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

/* Starts handling signals for a run writing csv (and, when interrupted, the partial JSON at
 * json_partial). workloads[0..n) get their interrupted() hook called. Returns 0 or an errno
 * (the thread could not be started; nothing is installed then). */
int signals_start(struct csv_out *csv, const struct workload *const *workloads, int n,
                  const char *json_partial);
/* One more case's rows are in the CSV (the count an interruption reports). */
void signals_case_done(void);
/* The CSV is complete and in place: an interruption from now on only says so. */
void signals_run_committed(void);

#endif
