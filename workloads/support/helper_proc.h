/*
 * helper_proc.h - helper processes a workload forks (echo's client, fanin's socket holder) and
 * the control channel it talks to them over.
 *
 * A helper is forked from the thread that calls helper_start(). In the child, before the
 * helper's own code runs: every signal is blocked and its handler reset (only SIGKILL, the
 * parent's death or the channel closing end it; Ctrl-C is the parent's business; a fault kills
 * the helper, never runs the parent's crash handler), PR_SET_PDEATHSIG = SIGKILL is
 * armed and then the parent is checked to be still the same (it may have died before the
 * prctl, and then no signal would ever come), the process is named, its end of the control
 * channel is moved to fd 3 and every other inherited fd (the CSV, the parent's sockets) is
 * closed. The helper's function gets fd 3; what it returns is the helper's exit status, taken
 * with _exit() so that no atexit handler of the parent runs a second time in the child.
 *
 * The control channel is a SOCK_SEQPACKET socketpair: message boundaries are kept, so one
 * send is one request and one receive one reply.
 *
 * Every live helper is in a small table that helper_kill_all() reads from a signal handler or
 * the harness's signal thread: it SIGKILLs and reaps them all, and no helper can be started
 * afterwards. Owner and killer hand a helper over with compare-and-swap on its slot, so a pid
 * is signalled and reaped exactly once and never after someone else reaped it (no pid reuse).
 * No mutex is taken anywhere, so the kill is async-signal-safe.
 */
#ifndef MUX_HELPER_PROC_H
#define MUX_HELPER_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define HELPER_CTL_FD 3 /* the helper's end of the control channel, in the helper */

struct helper {
    pid_t pid; /* 0: none */
    int ctl;   /* our end of the control channel, -1: none */
    int slot;  /* in the table of live helpers, -1: none */
};
#define HELPER_NONE {.pid = 0, .ctl = -1, .slot = -1}

/* Runs in the forked child with the control channel on HELPER_CTL_FD; returns the exit status. */
typedef int (*helper_fn)(int ctl, void *arg);

/* Forks a helper named `name` (at most 15 characters show in ps) running fn(ctl, arg).
 * 0, or -errno with msg: -EAGAIN/-ENOMEM from fork (a machine limit), -EINTR when the run is
 * being interrupted (helper_kill_all() ran), -EMFILE from the socketpair. */
int helper_start(struct helper *h, const char *name, helper_fn fn, void *arg, char *msg,
                 size_t len);

/* One message on the control channel; 0 or -errno (-EPIPE: the peer is gone). */
int helper_send(int ctl, const void *m, size_t n);
/* Waits up to timeout_ms (negative: for ever) for one message of exactly n bytes. 0,
 * -ETIMEDOUT, -EPIPE (the peer closed the channel or died), -EPROTO (another size) or
 * -errno. */
int helper_recv(int ctl, void *m, size_t n, int timeout_ms);

/* Whether the helper has ended on its own: 1 (reaped; *status as from waitpid), 0 alive or
 * none. The control channel stays open until helper_stop(). */
int helper_exited(struct helper *h, int *status);
/* Closes our end of the channel (a helper waiting on it reads end of file and exits), waits up
 * to grace_ms for it to exit, then SIGKILLs it, and reaps it. Safe on a helper that is not
 * running, and twice. */
void helper_stop(struct helper *h, int grace_ms);

/* Async-signal-safe: SIGKILL and reap every live helper of the process, and refuse to start
 * any more. For interruption (a workload's interrupted() hook) and the crash handler. */
void helper_kill_all(void);
/* For the tests: helpers alive in the table. */
int helper_live_count(void);

/* Closes every fd from lowfd up (close_range, else one by one to RLIMIT_NOFILE). */
void helper_close_from(int lowfd);

#endif
