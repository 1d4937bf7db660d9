/*
 * placement.h - where a pair of threads runs, named the same on every machine.
 *
 *   same-pu      both on one hardware thread (every switch is a real context switch): the
 *                cpu that has taken the fewest interrupts
 *
 * Only cpus in the caller's affinity mask (before any binding) are chosen.
 *   smt-sibling  two hardware threads of one core
 *   same-l3      two cores that share an L3 cache
 *   cross-l3     two cores under different L3 caches
 *   cross-numa   two cores in different NUMA nodes
 *   unpinned     no binding: the scheduler decides
 *
 * The topology comes from hwloc, loaded once. Built without hwloc, it comes from sysfs and
 * binding uses sched_setaffinity; placement_backend() says which, and the CSV records it.
 * A placement the machine lacks resolves to -ENODEV with the reason (the case is skipped).
 */
#ifndef MUX_PLACEMENT_H
#define MUX_PLACEMENT_H

#include <stddef.h>

enum placement_id {
    PL_SAME_PU,
    PL_SMT_SIBLING,
    PL_SAME_L3,
    PL_CROSS_L3,
    PL_CROSS_NUMA,
    PL_UNPINNED,
    PL_COUNT
};

struct placement {
    enum placement_id id;
    int cpu[2]; /* OS cpu numbers of thread 0 and thread 1; -1 when unpinned */
};

const char *placement_name(enum placement_id id);
/* The id for a name, or -1. */
int placement_lookup(const char *name);
/* Fills *out; 0, or -ENODEV with why[] naming what the machine lacks. */
int placement_resolve(enum placement_id id, struct placement *out, char *why, size_t why_len);
/* Binds the calling thread to pl->cpu[which] and checks where it then runs. Returns 0 with
 * *ran_on set, or -errno (the binding failed, or the thread was seen on another cpu). */
int placement_bind_self(const struct placement *pl, int which, int *ran_on);
/* Puts back the affinity mask the calling thread had before its first placement_bind_self()
 * (a user's taskset survives); 0 when it was never bound. */
int placement_unbind_self(void);
/* same-pu's choice among cpus[0..n): the one with the smallest interrupt total in `interrupts`
 * (the text of /proc/interrupts), the first on a tie; -1 when n is 0. */
int placement_quietest_cpu(const char *interrupts, const int *cpus, int n);
/* The cpu the calling thread last ran on. */
int placement_current_cpu(void);

/* "1 package, 1 L3, 2 cores, 2 PUs, 1 NUMA node, no SMT" */
void placement_topology(char *buf, size_t len);
/* "same-pu, same-l3, unpinned": the placements this machine has */
void placement_available(char *buf, size_t len);
/* Physical cores and hardware threads (PUs) online. */
void placement_counts(int *cores, int *pus);
/* "hwloc 2.9.0" or "sysfs + sched_setaffinity (built without hwloc)" */
const char *placement_backend(void);

/* The sysfs resolver, compiled in every build (the fallback; tests compare it with hwloc). */
int placement_resolve_sysfs(enum placement_id id, struct placement *out, char *why,
                            size_t why_len);

#endif
