/*
 * stop_points.h - test-only pause points of a run.
 *
 * With MUXBENCH_TEST_STOP=<phase>:<n> in the environment, the run stops itself (SIGSTOP) the
 * n-th time it reaches <phase>, so a test can deliver a signal at exactly that point and then
 * let it go on (SIGCONT): the interrupt storm (tests/reliability/storm.py) uses it to reach the
 * CSV write and the final rename, which no timer hits. With <phase>:<n>:overflow the run
 * instead overflows a coroutine stack there (a ucontext on a small stack with a guard page,
 * recursing until it faults), so a test sees what a crash in a workload leaves behind. Without
 * the variable (every real run) a stop point costs one comparison. A malformed value is
 * ignored with a warning.
 *
 * Phases, in the order a case meets them:
 *   setup     before a case's setup
 *   body      after its setup, before the timed repetitions (or its derived rows)
 *   teardown  after the timed repetitions, before its teardown
 *   rows      after its rows are built, before they are written to the temporary file
 *   commit    after the last case, before the temporary file is renamed to the output
 */
#ifndef MUX_STOP_POINTS_H
#define MUX_STOP_POINTS_H

enum stop_phase { STOP_SETUP, STOP_BODY, STOP_TEARDOWN, STOP_ROWS, STOP_COMMIT, STOP_NPHASES };

/* Reads MUXBENCH_TEST_STOP once; call before the first stop point. */
void stop_points_init(void);
/* Stops the process if this is the chosen phase's chosen occurrence. */
void stop_point(enum stop_phase phase);

#endif
