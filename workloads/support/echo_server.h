/*
 * echo_server.h - echo's measured side: a listening socket, the connections accepted from the
 * client, and the server that echoes on them, either one blocking thread per connection or one
 * coroutine per connection on the coroutine scheduler over a poller, all on one thread.
 *
 * Both variants run the same serve() loop with the same 1 KiB buffer on their stack. A
 * coroutine parks until its fd is readable, reads once (one message in flight fits the buffer,
 * so one read drains the socket; a full buffer is read again before parking), sends the echo and
 * parks again: the loop of a level-triggered event loop, with no read per request that returns
 * EAGAIN. Sends use MSG_NOSIGNAL: a peer reset during clean-up is an error code, not SIGPIPE.
 *
 * Before anything is made, echo_server_room() checks that the process and the machine have room
 * for the connections (fds, fd numbers, threads, memory at a generous estimate), so that a case
 * too large for this machine is a limit row at once rather than a failure half way. Memory is
 * then checked again every ECHO_SERVER_MEM_CHECK_EVERY threads or coroutines against the rule
 * of units_memory_room() (units.h): a start that would come within its reserve is a limit.
 */
#ifndef MUX_ECHO_SERVER_H
#define MUX_ECHO_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "pollers/poller.h"
#include "workloads/runtime/sched.h"

#define ECHO_BUF_BYTES 1024 /* the serve loop's buffer, on the thread's or coroutine's stack */
#define ECHO_SERVER_MEM_CHECK_EVERY 512
#define ECHO_FD_RESERVE 32 /* fds a side needs besides its connections (a poller's own too) */

enum echo_variant { ECHO_THREAD, ECHO_COROUTINE };

struct echo_server;

struct echo_conn {
    struct echo_server *s;
    int fd;
};

struct echo_server {
    /* the configuration: set before echo_server_listen() */
    enum echo_variant variant;
    const struct poller_ops *ops; /* coroutine */
    int tcp;
    long units;
    size_t stack_bytes;
    enum cosched_reg reg; /* coroutine: the scheduler's registration policy */
    /* tcp: the address to listen on (its port is ignored: an ephemeral one), for clients on
     * agents; listen_on_len 0: loopback */
    struct sockaddr_storage listen_on;
    socklen_t listen_on_len;

    /* what it made; echo_server_stop() undoes it */
    int listen_fd;
    struct sockaddr_storage addr; /* where the client connects */
    socklen_t addrlen;
    struct echo_conn *conns;
    long nconns;
    pthread_t *threads; /* thread: one per connection */
    long nthreads;
    pthread_t sched; /* coroutine: the scheduler's thread */
    int sched_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sync_init;
    int state; /* 0 starting, 1 serving, -1 failed (start_rc, reached, msg) */
    int start_rc;
    long reached;
    char msg[512];
    char policy[16];         /* coroutine: the scheduler's registration policy */
    const char *switch_name; /* coroutine: coro-asm or coro-ucontext */
    atomic_int serve_err;    /* first unexpected errno in a serve loop */
    atomic_int serve_err_op; /* 1 read, 2 send, 3 wait */
};

/* Before anything is made: whether this process and machine have room for `units`
 * connections: fds under RLIMIT_NOFILE (its soft limit is raised to the hard one first; the old
 * limit goes to *nofile_saved and *nofile_raised says whether the caller must restore it), fd
 * numbers a backend with a fixed fd set can watch, kernel.threads-max for the thread variant,
 * and memory at a generous estimate per connection (units_memory_short). BENCH_OK, or
 * BENCH_LIMIT / BENCH_SKIP (the backend cannot) with msg. */
int echo_server_room(const struct echo_server *s, struct rlimit *nofile_saved, int *nofile_raised,
                     char *msg, size_t len);
/* Clears what it made (the configuration stays). */
void echo_server_init(struct echo_server *s);
/* A listening socket on loopback (tcp, an ephemeral port) or an abstract unix address. 0 or
 * -errno. */
int echo_server_listen(struct echo_server *s);
/* Accepts `count` more connections (up to units). BENCH_OK, or BENCH_LIMIT/BENCH_ERROR with
 * msg. */
int echo_server_accept(struct echo_server *s, long count, char *msg, size_t len);
/* Starts serving every connection accepted: a thread each, or the scheduler's thread with a
 * coroutine each. BENCH_OK, or BENCH_LIMIT/BENCH_ERROR with msg and *reached (how many threads
 * or coroutines existed). */
int echo_server_start(struct echo_server *s, long *reached, char *msg, size_t len);
/* 0, or -1 with msg when a serve loop met an unexpected error. */
int echo_server_check(struct echo_server *s, char *msg, size_t len);
/* Shuts every connection down (waking a server blocked in read), joins the threads, closes
 * every fd. Safe at any point, and twice. */
void echo_server_stop(struct echo_server *s);

#endif
