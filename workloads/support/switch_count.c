/*
 * switch_count.c - a thread's voluntary and involuntary context switches as the kernel counts
 * them: what ctxswitch reads around each repetition to check that a handoff was the switch it
 * claims to time (switch_count.h).
 *
 * Kernel quirks: getrusage() can only name the calling thread (RUSAGE_THREAD), so another
 * thread's counts come from /proc/self/task/<tid>/status (voluntary_ctxt_switches,
 * nonvoluntary_ctxt_switches), read with stdio outside any timed region.
 */
#define _GNU_SOURCE
#include "workloads/support/switch_count.h"

#include <stdio.h>
#include <sys/resource.h>

/* Voluntary and involuntary switches of one thread of this process, by tid; -1 when its
 * status cannot be read. */
int switch_count_task(int tid, long *vol, long *invol)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    *vol = *invol = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "voluntary_ctxt_switches: %ld", vol);
        sscanf(line, "nonvoluntary_ctxt_switches: %ld", invol);
    }
    fclose(f);
    return 0;
}

/* The calling thread's voluntary switches: the times it slept in the kernel. Involuntary ones
 * (preemptions) are left out: they are the machine's load, not the mechanism measured. */
long switch_count_self_voluntary(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

/* Both threads' switches: the timing thread's from getrusage, the partner's from /proc. */
void switch_count_pair(int partner_tid, long *vol, long *invol)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    long pv, pi;
    switch_count_task(partner_tid, &pv, &pi);
    *vol = ru.ru_nvcsw + pv;
    *invol = ru.ru_nivcsw + pi;
}
