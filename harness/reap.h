/*
 * reap.h - the last line of the rule "nothing the run started outlives it": every child
 * process of this process (whichever thread forked it, alive or a zombie) is killed and reaped.
 *
 * Workloads stop their own helpers first (workload->interrupted, finish); this catches what a
 * path could not reach - a crash handler cannot take the locks a workload's cleanup needs, and
 * a child's PR_SET_PDEATHSIG kills it but leaves it unreaped, a zombie under a PID 1 that does
 * not reap (a container without an init). Async-signal-safe: raw system calls only, no
 * allocation, no stdio, no locks; safe from a signal handler on any thread.
 */
#ifndef MUX_REAP_H
#define MUX_REAP_H

/* Kills (SIGKILL) and reaps every child of this process; returns how many it reaped. */
int reap_all_children(void);

#endif
