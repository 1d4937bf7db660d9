/*
 * switch_count.h - the kernel's count of a thread's context switches, read before and after a
 * repetition so that ctxswitch reports the switches that happened rather than assumes them:
 * getrusage(RUSAGE_THREAD) for the calling thread, /proc/self/task/<tid>/status for another
 * thread of this process (getrusage cannot name one).
 *
 * Voluntary switches are the times a thread blocked in the kernel (a futex wait, a read that
 * had to sleep); involuntary ones are preemptions, the machine's load rather than the mechanism
 * measured. A thread that sleeps on an otherwise idle cpu is switched to the idle task, so a
 * cross-cpu wake-up counts as a voluntary switch too.
 */
#ifndef MUX_SWITCH_COUNT_H
#define MUX_SWITCH_COUNT_H

/* Voluntary and involuntary switches of one thread of this process, by tid; -1 (and both 0)
 * when its status cannot be read. */
int switch_count_task(int tid, long *vol, long *invol);

/* The calling thread's voluntary switches: the times it slept in the kernel. */
long switch_count_self_voluntary(void);

/* The calling thread's switches (getrusage) plus those of thread partner_tid (/proc). */
void switch_count_pair(int partner_tid, long *vol, long *invol);

#endif
