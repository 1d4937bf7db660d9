/*
 * fanin_pool.h - the sockets fanin registers, and the helper process that holds their peers.
 *
 * The pool is a list of connected pairs: our end of each stays in this process (pool.fds[i],
 * nonblocking), the other end lives in a helper process, so this process can hold nearly
 * RLIMIT_NOFILE registrable fds. The helper writes one byte to the peers the workload names
 * and answers when every byte is written: that makes our ends readable. It is forked from the
 * thread that creates the pool, closes every fd but its control socket, blocks every signal,
 * and dies with its parent (PR_SET_PDEATHSIG = SIGKILL); the parent reaps it in
 * pool_destroy(), when it stops answering, and from the signal thread on interruption
 * (pool_kill_helper()).
 *
 * The pool is kept across cases (fanin's finish() hook ends it), grows on demand in creation
 * order (so the first n pairs are the lowest fd numbers it holds) and is rebuilt when a case
 * asks for another transport.
 */
#ifndef MUX_FANIN_POOL_H
#define MUX_FANIN_POOL_H

#include <stddef.h>
#include <sys/types.h>

/* fds the run keeps for itself out of RLIMIT_NOFILE: stdio, the CSV, the control socket, a
 * backend's own fds (epoll, io_uring, libuv's signal pipe), a TCP listener, and the peer ends
 * a batch holds before they are passed to the helper. */
#define POOL_FD_RESERVE 100

enum pool_transport { POOL_UNIX = 0, POOL_TCP = 1 };

struct pool {
    int transport;  /* -1 before the first pair */
    int count;      /* pairs; our ends are fds[0, count) */
    int *fds;
    int *idx_of_fd; /* fd number -> index in fds, -1 when not ours; idx_cap entries */
    int idx_cap;
};

/* RLIMIT_NOFILE's hard limit (the soft one is raised to it), and whether this process could
 * raise the hard limit itself. */
long pool_nofile_limit(int *hard_raisable);
/* The largest pool this process can hold: the hard limit minus POOL_FD_RESERVE. */
long pool_max_pairs(void);

/* Grows the pool to at least n pairs of `transport`, starting the helper on first use.
 * Returns 0, or -errno with msg. -EMFILE, -ENFILE, -ENOMEM, -ENOBUFS and -EADDRNOTAVAIL are
 * machine limits (pool_is_limit); the pool then keeps the pairs it made. */
int pool_ensure(int transport, int n, char *msg, size_t len);
int pool_is_limit(int err);
const struct pool *pool_get(void);

/* Tells the helper which pool indices a wave may write, in order (count entries). */
int pool_set_active(const int *idx, int count, char *msg, size_t len);
/* Binds the helper to one cpu (cpu < 0: lets it run anywhere). 0, or -errno with msg.
 * `spin`: wait for the helper's answers by polling for up to 2 ms before blocking, so the
 * caller keeps its cpu; only sensible when the helper runs on another cpu. */
int pool_pin_helper(int cpu, int spin, char *msg, size_t len);
/* Copies of the helper's peer ends of pool indices idx[0, count) into out[] (the caller closes
 * them; entries it did not get stay as they were). 0, or -errno with msg (-EMFILE: no room). */
int pool_peer_ends(const int *idx, int count, int *out, char *msg, size_t len);
/* The helper writes one byte to the peers of active[(start + k) % active count], k < count,
 * and answers once all are written. 0, or -errno with msg (-EPIPE: the helper is gone). */
int pool_wave(int start, int count, char *msg, size_t len);

/* 0 while the helper lives; when it has died, reaps it, marks the pool broken and returns
 * -EPIPE with msg saying how it ended (a case's fds then hang up all at once). */
int pool_check_helper(char *msg, size_t len);
/* Closes every pair, stops and reaps the helper. The pool can be built again afterwards. */
void pool_destroy(void);
/* From another thread, when the process is about to exit: SIGKILL the helper and reap it. */
void pool_kill_helper(void);
/* The helper's pid, 0 when there is none. */
pid_t pool_helper_pid(void);

#endif
