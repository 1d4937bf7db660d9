/*
 * echo.c - many connections, each served by its own blocking thread or by its own coroutine
 * over one poller: requests/s, latency and the server's resident memory from 10 to 10,000
 * connections (docs/design.md; seed 002 sections 4 and 5: "threads vs async for many
 * connections", "1,000 threads = 8 GB", "async wins for high concurrency").
 *
 * One op is one request: the client sends a 64-byte message on one connection and waits for
 * the same 64 bytes to come back.
 *
 *   client process (the load generator:             muxbench process (the server, measured)
 *   1 thread, epoll, `units` connections)
 *
 *   t0 = clock_gettime(MONOTONIC)
 *   send(64 B) ──── loopback tcp or unix socket ───►  variant thread: that connection's thread
 *        |                                              wakes in its blocking read()
 *        |        one op = one request                variant coroutine: poller_wait() reports
 *        |                                              the fd, its coroutine is resumed, read()
 *   read() <───────────────────────────────────────   send() of the same 64 bytes
 *   t1 = clock_gettime(MONOTONIC); latency = t1 - t0; the 64 bytes are compared with those sent
 *   next request on this connection at once: a closed loop, one request in flight per connection
 *
 * Variants (the CSV's `variant`):
 *   thread     one thread per connection (pthread, `stack_bytes` stacks: by default the C
 *              library's default, i.e. RLIMIT_STACK, 8 MiB here), blocking read and send. No
 *              poller is involved, so these rows have an empty `poller` column; they are planned
 *              once per run, with the first available backend of --poller (a run whose every
 *              selected backend is unavailable has no thread rows).
 *   coroutine  one coroutine per connection (guarded coro-asm stacks of `stack_bytes`, 64 KiB
 *              by default) on the cosched scheduler over the case's poller, all on one server
 *              thread. A coroutine parks until its fd is readable, reads once (one message in
 *              flight fits the 1 KiB buffer, so one read drains the socket; a full buffer is
 *              read again before parking), sends the echo and parks again: the loop of a
 *              level-triggered event loop, with no read per request that returns EAGAIN. The
 *              scheduler's registration policy (workloads/runtime/sched.h: per-wait on level backends, i.e. two
 *              epoll_ctl per park on epoll) is named in each row's note.
 *   Both run the same serve() loop with the same 1 KiB buffer on their stack.
 *
 * One repetition: every connection makes exactly `rounds` requests back to back; the window is
 * from the client's first send to its last completed echo (the client's clock; both processes
 * read the same CLOCK_MONOTONIC). rounds is chosen once per case, after an untimed warm-up of
 * 2 rounds, so that a window lasts about 0.25 s (0.05 s with --quick) and at least 5 rounds (3)
 * with at most 1,000,000 requests: the `iterations` column is units x rounds, the requests of
 * one repetition. Connections, threads and coroutines persist across repetitions (setup).
 *
 * Metrics (one value per repetition, then the usual statistics over repetitions):
 *   req_per_s         requests completed / window (all units x rounds must complete, each echo
 *                     byte-identical to its request, or the case is an error)
 *   p50_us, p99_us    percentiles of the window's per-request latencies, computed in the client
 *   rss_bytes         Rss of the muxbench process from /proc/self/smaps_rollup, read right after
 *                     the window with every connection open and every thread or coroutine
 *                     alive: the server's threads or coroutines and their stacks, the
 *                     connection records, plus the harness itself (its size before the case's
 *                     connections is in the note, and so is the virtual size with them: the
 *                     "8 MB per thread" is there). Not the client's memory, and not the
 *                     kernel's (socket buffers, kernel stacks of threads: see `memory`).
 *   server_cpu_ratio  CPU time of the muxbench process during the window / window (getrusage)
 *   client_cpu_ratio  the same for the client process: near 1 means the client was saturated
 *                     and the figure is the client's limit, not the server's
 * What a latency includes: the client's send system call (on loopback it delivers the bytes and
 * wakes the server), the server's wake-up (a thread scheduled / a poller wait returning and a
 * coroutine switch), the server's read and send, and the time the echo waits until the client's
 * epoll loop gets to it. With every connection busy, latency ~ units / throughput (Little's
 * law): at many connections p50 measures the queue of the closed loop more than one request's
 * service time; the spread (p99 / p50) shows how fairly connections are served.
 *
 * Placement (`placement`, pairs of cpus as in ctxswitch): the server side (the main thread and
 * every server thread, which inherit its binding) on the pair's first cpu, the client on the
 * second; both bindings are checked. Default same-l3: two different cores, so the server gets
 * one core and the client the other. On a 2-core machine that is everything: the client
 * competes with nothing, and a threaded server is held to one core like the single-threaded
 * coroutine server (a threaded server could otherwise spread over cores the coroutine server
 * cannot use). `unpinned` lets the scheduler decide (and lets client and server compete).
 *
 * Limits are data (methodology.md): before connecting, the case checks the fd limit (each side
 * needs units fds plus a few; the soft RLIMIT_NOFILE is raised to the hard one for the case and
 * restored), the memory available (MemAvailable and the cgroup's room, against a generous
 * per-connection estimate plus a 256 MiB reserve; re-checked every 512 threads or coroutines)
 * and, for threads, kernel.threads-max. Any of them, or EAGAIN from pthread_create or fork, or
 * EMFILE/EADDRNOTAVAIL while connecting, ends the case as a `limit` row (units_reached: how
 * many threads/coroutines/connections existed) and skips the rest of the sweep. units above
 * 1,048,576 (2^20, the kernel's default fs.nr_open: no process may hold that many fds without
 * reconfiguring the kernel) is refused as bad usage (exit 2), as are stacks below 16 KiB.
 *
 * Clean-up, on every path: closing the control socket tells the client to close its sockets
 * (tcp: with SO_LINGER 0, an abortive close, so 10,000 connections leave no TIME_WAIT behind
 * to exhaust the ephemeral ports of the next case) and exit; it is reaped with waitpid (killed
 * after 5 s), and dies with PR_SET_PDEATHSIG if muxbench does. The server fds are then shut
 * down (waking any server still blocked), every thread joined, every fd closed.
 *
 * What it does not measure: a real network (loopback skips the NIC, interrupts and the wire);
 * request parsing or any work per request; more than one request in flight per connection
 * (pipelining); a thread pool, or a multi-threaded event loop; connection set-up and tear-down
 * (untimed); servers with more cores than the client has; the kernel memory per connection.
 *
 * Quirks handled:
 *  a) The client connects in batches of at most 256 (and at most net.core.somaxconn) and waits
 *     for the server to accept each batch: a full tcp accept queue drops SYNs, which costs a
 *     1 s retransmission per connection.
 *  b) The client is a fork of muxbench: it closes every inherited fd but its control socket,
 *     keeps the signal mask (Ctrl-C goes to muxbench's signal thread) and leaves with _exit()
 *     so no atexit handler of the harness runs twice.
 *  c) send() with MSG_NOSIGNAL on both sides: a peer reset during clean-up is an error code,
 *     not a SIGPIPE.
 *  d) TCP_NODELAY on every tcp socket (small request/response messages and Nagle's algorithm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/runtime/sched.h"
#include "harness/placement.h"
#include "harness/stats.h"
#include "harness/sysinfo.h"
#include "harness/planner.h"

#define ECHO_MSG_BYTES 64
#define ECHO_BUF_BYTES 1024
#define ECHO_UNITS_MAX 1048576L
#define ECHO_STACK_MIN ((size_t)16 * 1024)
#define ECHO_FD_RESERVE 32          /* fds a side needs besides its connections */
#define ECHO_BATCH_MAX 256          /* connections per connect/accept batch (quirk a) */
#define ECHO_MAX_EVENTS 256         /* events per wait, client and scheduler */
#define ECHO_REQUESTS_MAX 1000000   /* per window */
#define ECHO_STALL_NS (10 * 1000000000LL) /* client: no echo for this long is an error */
#define ECHO_CTL_TIMEOUT_MS (600 * 1000)  /* parent: a backstop against a stopped client */
#define ECHO_MEM_RESERVE (256LL << 20)
#define ECHO_MEM_CHECK_EVERY 512
/* Generous estimates of what one connection costs, for the memory check before a step: both
 * sockets and their files, the touched stack and, for a thread, its kernel stack and task. */
#define ECHO_EST_THREAD (96LL << 10)
#define ECHO_EST_COROUTINE (48LL << 10)
#define ECHO_EXIT_USAGE 2 /* a planner's "bad usage" status (workload.h) */

enum echo_variant { V_THREAD, V_COROUTINE };
static const char *const variant_names[] = {"thread", "coroutine", NULL};

/* ---- the control protocol: one struct per SOCK_SEQPACKET message ------------------------- */

enum ctl_op {
    CTL_CONNECTED = 1, /* client: `count` more connections made; the server accepts them */
    CTL_ACK,           /* server: accepted */
    CTL_READY,         /* client: all connected, bound to `cpu` */
    CTL_RUN,           /* server: every connection makes `count` requests */
    CTL_RESULT,        /* client: the window's figures (err != 0: it failed, text says how) */
    CTL_ERROR,         /* client: connecting failed after `count` connections */
};

struct ctl_msg {
    uint32_t op;
    int32_t err;
    uint64_t count;
    int64_t window_ns, p50_ns, p99_ns, cpu_ns;
    uint64_t mismatches;
    int32_t cpu;
    char text[180];
};

static int ctl_send(int fd, const struct ctl_msg *m)
{
    ssize_t n;
    do
        n = send(fd, m, sizeof *m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *m ? 0 : -(n < 0 ? errno : EPROTO);
}

/* 0, -ETIMEDOUT, -EPIPE (the peer is gone) or another -errno. */
static int ctl_recv(int fd, struct ctl_msg *m, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return -ETIMEDOUT;
    if (rc < 0)
        return -errno;
    ssize_t n;
    do
        n = recv(fd, m, sizeof *m, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return -EPIPE;
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof *m ? 0 : -EPROTO;
}

/* ---- one case ----------------------------------------------------------------------------- */

struct echo;

struct conn {
    struct echo *e;
    int fd;
};

struct echo {
    /* what the planner chose */
    enum echo_variant variant;
    const struct poller_ops *ops; /* coroutine */
    int tcp;
    long units;
    size_t stack_bytes;
    int quick;
    char group[192];

    /* the case, from setup to teardown */
    struct placement pl;
    int bound;
    int server_cpu, client_cpu;
    struct rlimit nofile_saved;
    int nofile_raised;
    int listen_fd, ctl;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pid_t client;
    struct conn *conns;
    long nconns;
    pthread_t *threads; /* thread: one per connection */
    long nthreads;
    pthread_t server; /* coroutine: the scheduler's thread */
    int server_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sync_init;
    int server_state; /* 0 starting, 1 serving, -1 failed (server_rc, server_msg) */
    int server_rc;
    long server_reached;
    char server_msg[200];
    char policy[16];
    const char *switch_name; /* coro-asm or coro-ucontext */
    atomic_int serve_err;    /* first unexpected errno in a serve loop */
    atomic_int serve_err_op; /* 1 read, 2 send, 3 wait */
    uint64_t rounds;
    long rss_base;

    /* one repetition */
    struct ctl_msg res;
    double server_cpu_ns;
};

static atomic_uint listener_seq;

static int64_t cpu_ns(const struct rusage *ru)
{
    return ((int64_t)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000LL +
           ((int64_t)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000LL;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- the client process -------------------------------------------------------------------- */

struct cconn {
    int fd;
    uint32_t seq, got;
    uint64_t done;
    int64_t t0;
    unsigned char sbuf[ECHO_MSG_BYTES], rbuf[ECHO_MSG_BYTES];
};

struct client {
    struct echo *e;
    int ctl, ep;
    struct cconn *c;
    long n, made; /* connections, and how many are open */
    double *samples;
    size_t cap;
};

/* Message `seq` of connection i: its index and number, then a pattern of both. */
static void fill_msg(unsigned char *m, uint32_t i, uint32_t seq)
{
    memcpy(m, &i, 4);
    memcpy(m + 4, &seq, 4);
    for (int k = 8; k < ECHO_MSG_BYTES; k++)
        m[k] = (unsigned char)(i * 7u + seq * 13u + (unsigned)k);
}

static int client_send(struct client *cl, long i)
{
    struct cconn *cc = &cl->c[i];
    fill_msg(cc->sbuf, (uint32_t)i, cc->seq);
    cc->got = 0;
    cc->t0 = bench_now_ns();
    ssize_t n = send(cc->fd, cc->sbuf, ECHO_MSG_BYTES, MSG_NOSIGNAL);
    if (n == ECHO_MSG_BYTES)
        return 0;
    return n < 0 ? -errno : -EMSGSIZE; /* one message in flight always fits the buffer */
}

static int client_fail(struct ctl_msg *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int client_fail(struct ctl_msg *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->text, sizeof res->text, fmt, ap);
    va_end(ap);
    res->err = err ? err : EPROTO;
    return -1;
}

/* One window: every connection makes `rounds` requests. Fills res; -1 on failure. */
static int client_window(struct client *cl, uint64_t rounds, struct ctl_msg *res)
{
    memset(res, 0, sizeof *res);
    res->op = CTL_RESULT;
    size_t need = (size_t)cl->n * rounds;
    if (need > cl->cap) {
        double *s = realloc(cl->samples, need * sizeof *s);
        if (!s)
            return client_fail(res, ENOMEM, "client: no memory for %zu latency samples", need);
        cl->samples = s;
        cl->cap = need;
    }
    size_t ns = 0;
    long remaining = cl->n;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t start = bench_now_ns(), end = start;
    for (long i = 0; i < cl->n; i++) {
        cl->c[i].done = 0;
        int rc = client_send(cl, i);
        if (rc < 0)
            return client_fail(res, -rc, "client: send on connection %ld: %s", i, strerror(-rc));
    }
    int64_t progress = start;
    struct epoll_event ev[ECHO_MAX_EVENTS];
    while (remaining > 0) {
        int k = epoll_wait(cl->ep, ev, ECHO_MAX_EVENTS, 1000);
        if (k < 0 && errno != EINTR)
            return client_fail(res, errno, "client: epoll_wait: %s", strerror(errno));
        if (k <= 0) {
            if (bench_now_ns() - progress > ECHO_STALL_NS)
                return client_fail(res, ETIMEDOUT,
                                   "client: no echo for 10 s; %ld of %ld connections unfinished",
                                   remaining, cl->n);
            continue;
        }
        for (int j = 0; j < k; j++) {
            long i = (long)ev[j].data.u32;
            struct cconn *cc = &cl->c[i];
            if (cc->done == rounds) {
                unsigned char extra[ECHO_MSG_BYTES];
                ssize_t n = read(cc->fd, extra, sizeof extra);
                if (n > 0)
                    return client_fail(res, EPROTO, "connection %ld: %zd bytes after its last echo",
                                       i, n);
                if (n == 0)
                    return client_fail(res, ECONNRESET, "connection %ld: the server closed it", i);
                continue;
            }
            ssize_t n = read(cc->fd, cc->rbuf + cc->got, ECHO_MSG_BYTES - cc->got);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                return client_fail(res, errno, "client: read on connection %ld: %s", i,
                                   strerror(errno));
            }
            if (n == 0)
                return client_fail(res, ECONNRESET,
                                   "connection %ld: the server closed it mid-request", i);
            cc->got += (uint32_t)n;
            if (cc->got < ECHO_MSG_BYTES)
                continue;
            int64_t t1 = bench_now_ns();
            cl->samples[ns++] = (double)(t1 - cc->t0);
            if (memcmp(cc->rbuf, cc->sbuf, ECHO_MSG_BYTES) != 0)
                res->mismatches++;
            progress = t1;
            cc->seq++;
            if (++cc->done < rounds) {
                int rc = client_send(cl, i);
                if (rc < 0)
                    return client_fail(res, -rc, "client: send on connection %ld: %s", i,
                                       strerror(-rc));
            } else {
                remaining--;
                end = t1;
            }
        }
    }
    getrusage(RUSAGE_SELF, &ru1);
    res->count = ns;
    res->window_ns = end - start;
    res->cpu_ns = cpu_ns(&ru1) - cpu_ns(&ru0);
    res->p99_ns = (int64_t)stats_percentile(cl->samples, (int)ns, 0.99);
    res->p50_ns = (int64_t)stats_percentile(cl->samples, (int)ns, 0.50);
    return 0;
}

static int client_connect_one(const struct echo *e)
{
    int fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&e->addr, e->addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (e->tcp)
        set_nodelay(fd);
    return fd;
}

/* Connects every connection, in batches the server accepts (quirk a). 0 or -1 (told). */
static int client_connect_all(struct client *cl, int batch)
{
    struct ctl_msg m;
    for (long made = 0; made < cl->n;) {
        long b = cl->n - made < batch ? cl->n - made : batch;
        for (long k = 0; k < b; k++) {
            int fd = client_connect_one(cl->e);
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(made + k)};
            if (fd >= 0 && epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int err = errno;
                close(fd);
                fd = -err;
            }
            if (fd < 0) {
                memset(&m, 0, sizeof m);
                m.op = CTL_ERROR;
                m.err = -fd;
                m.count = (uint64_t)(made + k);
                snprintf(m.text, sizeof m.text, "client: connection %ld: %s", made + k,
                         strerror(-fd));
                ctl_send(cl->ctl, &m);
                return -1;
            }
            cl->c[made + k].fd = fd;
            cl->made++;
        }
        made += b;
        memset(&m, 0, sizeof m);
        m.op = CTL_CONNECTED;
        m.count = (uint64_t)b;
        if (ctl_send(cl->ctl, &m) < 0 || ctl_recv(cl->ctl, &m, ECHO_CTL_TIMEOUT_MS) < 0 ||
            m.op != CTL_ACK)
            return -1;
    }
    return 0;
}

static void close_inherited(int keep)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
    for (long fd = 3; fd < max; fd++)
        if (fd != keep)
            close((int)fd);
}

static void __attribute__((noreturn)) client_main(struct echo *e, int ctl, pid_t parent, int batch)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    prctl(PR_SET_NAME, "muxbench-client");
    close_inherited(ctl);
    struct client cl = {.e = e, .ctl = ctl, .n = e->units};
    struct ctl_msg m;
    memset(&m, 0, sizeof m);
    int cpu = placement_current_cpu();
    if (e->bound && placement_bind_self(&e->pl, 1, &cpu) != 0) {
        m.op = CTL_ERROR;
        m.err = EINVAL;
        snprintf(m.text, sizeof m.text, "client: could not bind to cpu %d", e->pl.cpu[1]);
        ctl_send(ctl, &m);
        _exit(1);
    }
    cl.ep = epoll_create1(EPOLL_CLOEXEC);
    cl.c = calloc((size_t)cl.n, sizeof *cl.c);
    if (cl.ep < 0 || !cl.c) {
        m.op = CTL_ERROR;
        m.err = cl.ep < 0 ? errno : ENOMEM;
        snprintf(m.text, sizeof m.text, "client: %s", strerror(m.err));
        ctl_send(ctl, &m);
        _exit(1);
    }
    if (client_connect_all(&cl, batch) == 0) {
        memset(&m, 0, sizeof m);
        m.op = CTL_READY;
        m.cpu = cpu;
        if (ctl_send(ctl, &m) == 0) {
            while (ctl_recv(ctl, &m, -1) == 0 && m.op == CTL_RUN) {
                client_window(&cl, m.count, &m);
                if (ctl_send(ctl, &m) < 0)
                    break;
            }
        }
    } else {
        ctl_recv(ctl, &m, ECHO_CTL_TIMEOUT_MS); /* wait for the server to hang up */
    }
    /* Quirk: an abortive close leaves no TIME_WAIT (see the header). */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (long i = 0; i < cl.made; i++) {
        if (e->tcp)
            setsockopt(cl.c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(cl.c[i].fd);
    }
    _exit(0);
}

/* ---- the server: the same loop in a thread or a coroutine ---------------------------------- */

static void serve_error(struct echo *e, int err, int op)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&e->serve_err, &zero, err))
        atomic_store(&e->serve_err_op, op);
}

/* Sends all n bytes; a coroutine parks when the socket is full. 0, or -1 when the connection
 * is gone. */
static int serve_send(struct conn *cn, const char *buf, size_t n, int coroutine)
{
    while (n > 0) {
        ssize_t w = send(cn->fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN && coroutine) {
            int r = cosched_wait_fd(cn->fd, MUX_OUT, -1);
            if (r < 0) {
                serve_error(cn->e, -r, 3);
                return -1;
            }
        } else if (w < 0 && errno != EINTR) {
            if (errno != EPIPE && errno != ECONNRESET)
                serve_error(cn->e, errno, 2);
            return -1;
        }
    }
    return 0;
}

/* Echoes until the client closes the connection (end of file or reset). */
static void serve(struct conn *cn, int coroutine)
{
    char buf[ECHO_BUF_BYTES];
    int drained = 1; /* the last read emptied the socket: park before the next one */
    for (;;) {
        if (coroutine && drained) {
            int r = cosched_wait_fd(cn->fd, MUX_IN, -1);
            if (r < 0) {
                serve_error(cn->e, -r, 3);
                return;
            }
        }
        ssize_t n = read(cn->fd, buf, sizeof buf);
        if (n > 0) {
            drained = n < (ssize_t)sizeof buf;
            if (serve_send(cn, buf, (size_t)n, coroutine) < 0)
                return;
            continue;
        }
        if (n == 0)
            return;
        drained = 1;
        if (errno == EAGAIN || errno == EINTR)
            continue; /* a spurious wake-up: park again */
        if (errno != ECONNRESET)
            serve_error(cn->e, errno, 1);
        return;
    }
}

static void *conn_thread(void *arg)
{
    serve(arg, 0);
    return NULL;
}

static void conn_coroutine(void *arg) { serve(arg, 1); }

static void server_report(struct echo *e, int state, int rc, long reached, const char *msg)
{
    pthread_mutex_lock(&e->mu);
    e->server_state = state;
    e->server_rc = rc;
    e->server_reached = reached;
    snprintf(e->server_msg, sizeof e->server_msg, "%s", msg ? msg : "");
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Room for `more` units: the memory available stays above the reserve. */
static int memory_room(long long need, long long *avail)
{
    *avail = sys_mem_available();
    return *avail < 0 || *avail >= need + ECHO_MEM_RESERVE;
}

/* The coroutine server: a scheduler over the case's poller, one coroutine per connection,
 * until every connection has ended. */
static void *scheduler_thread(void *arg)
{
    struct echo *e = arg;
    struct poller *p = NULL;
    struct cosched *s = NULL;
    char msg[200];
    struct poller_cfg pcfg = {.expected_fds = (int)e->units + ECHO_FD_RESERVE};
    int rc = poller_create(e->ops, &p, &pcfg);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "poller_create(%s): %s", e->ops->name, strerror(-rc));
        server_report(e, -1, rc == -EMFILE || rc == -ENOMEM ? BENCH_LIMIT : BENCH_ERROR, 0, msg);
        return NULL;
    }
    struct cosched_cfg cfg = {.poller = p, .max_events = ECHO_MAX_EVENTS};
    coro_attr_init(&cfg.attr);
    cfg.attr.stack_size = e->stack_bytes;
    cfg.attr.stack_kind = CORO_STACK_GUARD;
    e->switch_name = coro_switch_name(cfg.attr.switch_kind);
    rc = cosched_create(&s, &cfg);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "cosched_create over %s: %s", e->ops->name, strerror(-rc));
        server_report(e, -1, BENCH_ERROR, 0, msg);
        poller_destroy(p);
        return NULL;
    }
    snprintf(e->policy, sizeof e->policy, "%s", cosched_reg_name(cosched_reg_used(s)));
    for (long i = 0; i < e->nconns; i++) {
        long long avail;
        if (i % ECHO_MEM_CHECK_EVERY == 0 && !memory_room(0, &avail)) {
            snprintf(msg, sizeof msg, "memory: %lld MiB available after %ld coroutines, below "
                     "the %lld MiB reserve", avail >> 20, i, ECHO_MEM_RESERVE >> 20);
            server_report(e, -1, BENCH_LIMIT, i, msg);
            goto out;
        }
        rc = cosched_spawn(s, conn_coroutine, &e->conns[i]);
        if (rc < 0) {
            snprintf(msg, sizeof msg, "coroutine %ld: %s (%s)", i, strerror(-rc),
                     coro_limit_name(coro_last_limit()));
            server_report(e, -1, rc == -ENOMEM || rc == -EAGAIN ? BENCH_LIMIT : BENCH_ERROR, i,
                          msg);
            goto out;
        }
    }
    server_report(e, 1, 0, e->nconns, NULL);
    rc = cosched_run(s);
    if (rc < 0)
        serve_error(e, -rc, 3);
out:
    cosched_destroy(s);
    poller_destroy(p);
    return NULL;
}

/* ---- the case ------------------------------------------------------------------------------- */

static int fail_setup(struct bench_case *c, int rc, double reached, char *msg, size_t len,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void echo_cleanup(struct echo *e);

static int fail_setup(struct bench_case *c, int rc, double reached, char *msg, size_t len,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    c->limit_reached = reached;
    echo_cleanup(c->ctx);
    return rc;
}

static void reap_client(struct echo *e)
{
    if (e->client <= 0)
        return;
    int status;
    for (int i = 0; i < 5000; i++) { /* 5 s for an orderly exit */
        pid_t r = waitpid(e->client, &status, WNOHANG);
        if (r == e->client || (r < 0 && errno == ECHILD)) {
            e->client = 0;
            return;
        }
        usleep(1000);
    }
    kill(e->client, SIGKILL);
    while (waitpid(e->client, &status, 0) < 0 && errno == EINTR)
        ;
    e->client = 0;
}

/* Undoes whatever setup did, in order; safe to call at any point and twice. */
static void echo_cleanup(struct echo *e)
{
    if (e->ctl >= 0) {
        close(e->ctl); /* the client closes its connections and exits */
        e->ctl = -1;
    }
    reap_client(e);
    for (long i = 0; i < e->nconns; i++)
        shutdown(e->conns[i].fd, SHUT_RDWR); /* wakes any server still in a read */
    for (long i = 0; i < e->nthreads; i++)
        pthread_join(e->threads[i], NULL);
    e->nthreads = 0;
    if (e->server_started) {
        pthread_join(e->server, NULL);
        e->server_started = 0;
    }
    for (long i = 0; i < e->nconns; i++)
        close(e->conns[i].fd);
    e->nconns = 0;
    free(e->conns);
    e->conns = NULL;
    free(e->threads);
    e->threads = NULL;
    if (e->listen_fd >= 0) {
        close(e->listen_fd);
        e->listen_fd = -1;
    }
    if (e->bound) {
        placement_unbind_self();
        e->bound = 0;
    }
    if (e->nofile_raised) {
        setrlimit(RLIMIT_NOFILE, &e->nofile_saved);
        e->nofile_raised = 0;
    }
    if (e->sync_init) {
        pthread_cond_destroy(&e->cv);
        pthread_mutex_destroy(&e->mu);
        e->sync_init = 0;
    }
}

static int make_listener(struct echo *e)
{
    memset(&e->addr, 0, sizeof e->addr);
    int fd;
    if (e->tcp) {
        struct sockaddr_in *in = (struct sockaddr_in *)&e->addr;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        e->addrlen = sizeof *in;
    } else { /* an abstract unix address: nothing in the file system to remove */
        struct sockaddr_un *un = (struct sockaddr_un *)&e->addr;
        un->sun_family = AF_UNIX;
        int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "muxbench-echo-%d-%u",
                         (int)getpid(), atomic_fetch_add(&listener_seq, 1));
        e->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    }
    fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&e->addr, e->addrlen) < 0 ||
        listen(fd, ECHO_BATCH_MAX) < 0 ||
        (e->tcp && getsockname(fd, (struct sockaddr *)&e->addr, &e->addrlen) < 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    e->listen_fd = fd;
    return 0;
}

/* The client's window of `rounds` requests per connection; 0, or -1 with msg. */
static int run_window(struct echo *e, uint64_t rounds, char *msg, size_t len)
{
    struct ctl_msg m = {.op = CTL_RUN, .count = rounds};
    int rc = ctl_send(e->ctl, &m);
    if (rc == 0)
        rc = ctl_recv(e->ctl, &e->res, ECHO_CTL_TIMEOUT_MS);
    if (rc < 0) {
        snprintf(msg, len, "the client process %s",
                 rc == -ETIMEDOUT ? "sent no result in 600 s" : "is gone");
        return -1;
    }
    const struct ctl_msg *r = &e->res;
    int err = atomic_load(&e->serve_err);
    if (err) {
        static const char *const ops[] = {"?", "read", "send", "wait for readiness"};
        snprintf(msg, len, "server: %s failed: %s", ops[atomic_load(&e->serve_err_op) & 3],
                 strerror(err));
        return -1;
    }
    if (r->op != CTL_RESULT || r->err) {
        snprintf(msg, len, "%s", r->op == CTL_RESULT ? r->text : "the client broke the protocol");
        return -1;
    }
    if (r->count != rounds * (uint64_t)e->nconns || r->mismatches) {
        snprintf(msg, len, "%llu of %llu requests completed, %llu echoes differed from their "
                 "request", (unsigned long long)r->count,
                 (unsigned long long)(rounds * (uint64_t)e->nconns),
                 (unsigned long long)r->mismatches);
        return -1;
    }
    return 0;
}

static int start_threads(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    e->threads = calloc((size_t)e->nconns, sizeof *e->threads);
    if (!e->threads)
        return fail_setup(c, BENCH_LIMIT, 0, msg, len, "no memory for %ld thread ids", e->nconns);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int rc = pthread_attr_setstacksize(&attr, e->stack_bytes);
    for (long i = 0; rc == 0 && i < e->nconns; i++) {
        long long avail;
        if (i % ECHO_MEM_CHECK_EVERY == 0 && !memory_room(0, &avail)) {
            pthread_attr_destroy(&attr);
            return fail_setup(c, BENCH_LIMIT, (double)i, msg, len,
                              "memory: %lld MiB available after %ld threads, below the %lld MiB "
                              "reserve", avail >> 20, i, ECHO_MEM_RESERVE >> 20);
        }
        rc = pthread_create(&e->threads[i], &attr, conn_thread, &e->conns[i]);
        if (rc == 0)
            e->nthreads++;
    }
    pthread_attr_destroy(&attr);
    if (rc == EAGAIN) {
        struct rlimit np = {0, 0};
        getrlimit(RLIMIT_NPROC, &np);
        return fail_setup(c, BENCH_LIMIT, (double)e->nthreads, msg, len,
                          "pthread_create: EAGAIN after %ld threads (RLIMIT_NPROC %lld for "
                          "the user, kernel.threads-max %ld, the cgroup's pids.max, or memory)",
                          e->nthreads,
                          np.rlim_cur == RLIM_INFINITY ? -1LL : (long long)np.rlim_cur,
                          sys_long("/proc/sys/kernel/threads-max", -1));
    }
    if (rc)
        return fail_setup(c, BENCH_ERROR, (double)e->nthreads, msg, len,
                          "pthread_create (stack %zu bytes): %s", e->stack_bytes, strerror(rc));
    return BENCH_OK;
}

static int start_scheduler(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    int rc = pthread_create(&e->server, NULL, scheduler_thread, e);
    if (rc)
        return fail_setup(c, rc == EAGAIN ? BENCH_LIMIT : BENCH_ERROR, 0, msg, len,
                          "pthread_create (the scheduler's thread): %s", strerror(rc));
    e->server_started = 1;
    pthread_mutex_lock(&e->mu);
    while (e->server_state == 0)
        pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    if (e->server_state < 0)
        return fail_setup(c, e->server_rc, (double)e->server_reached, msg, len, "%s",
                          e->server_msg);
    return BENCH_OK;
}

/* Accepts the client's connections batch by batch; BENCH_OK or a failure (cleaned up). */
static int accept_all(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    e->conns = calloc((size_t)e->units, sizeof *e->conns);
    if (!e->conns)
        return fail_setup(c, BENCH_LIMIT, 0, msg, len, "no memory for %ld connections", e->units);
    int flags = SOCK_CLOEXEC | (e->variant == V_COROUTINE ? SOCK_NONBLOCK : 0);
    struct ctl_msg m;
    while (e->nconns < e->units) {
        int rc = ctl_recv(e->ctl, &m, ECHO_CTL_TIMEOUT_MS);
        if (rc < 0)
            return fail_setup(c, BENCH_ERROR, (double)e->nconns, msg, len,
                              "the client process died while connecting (%s)", strerror(-rc));
        if (m.op == CTL_ERROR) {
            int limit = m.err == EMFILE || m.err == ENFILE || m.err == EADDRNOTAVAIL ||
                        m.err == ENOMEM || m.err == ENOBUFS || m.err == EAGAIN;
            return fail_setup(c, limit ? BENCH_LIMIT : BENCH_ERROR, (double)m.count, msg, len,
                              "%s", m.text);
        }
        if (m.op != CTL_CONNECTED || m.count > (uint64_t)(e->units - e->nconns))
            return fail_setup(c, BENCH_ERROR, (double)e->nconns, msg, len,
                              "the client broke the protocol while connecting");
        for (uint64_t k = 0; k < m.count; k++) {
            int fd;
            do
                fd = accept4(e->listen_fd, NULL, NULL, flags);
            while (fd < 0 && errno == EINTR);
            if (fd < 0)
                return fail_setup(c,
                                  errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
                                          errno == ENOBUFS
                                      ? BENCH_LIMIT
                                      : BENCH_ERROR,
                                  (double)e->nconns, msg, len, "accept after %ld connections: %s",
                                  e->nconns, strerror(errno));
            if (e->tcp)
                set_nodelay(fd);
            e->conns[e->nconns].e = e;
            e->conns[e->nconns++].fd = fd;
        }
        m.op = CTL_ACK;
        if (ctl_send(e->ctl, &m) < 0)
            return fail_setup(c, BENCH_ERROR, (double)e->nconns, msg, len,
                              "the client process died while connecting");
    }
    if (ctl_recv(e->ctl, &m, ECHO_CTL_TIMEOUT_MS) < 0 || m.op != CTL_READY)
        return fail_setup(c, BENCH_ERROR, (double)e->nconns, msg, len,
                          "the client process did not get ready%s%s",
                          m.op == CTL_ERROR ? ": " : "", m.op == CTL_ERROR ? m.text : "");
    e->client_cpu = m.cpu;
    return BENCH_OK;
}

/* The machine's limits, checked before anything is made. BENCH_OK or a failure. */
static int check_limits(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        e->nofile_saved = rl;
        rl.rlim_cur = rl.rlim_max;
        e->nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long open = sys_count_fds();
        long room = (long)rl.rlim_cur - open - ECHO_FD_RESERVE;
        if (e->units > room)
            return fail_setup(c, BENCH_LIMIT, 0, msg, len,
                              "RLIMIT_NOFILE %ld (the hard limit) leaves room for %ld "
                              "connections per process, not %ld; raise it (ulimit -Hn, "
                              "limits.conf) or lower units",
                              (long)rl.rlim_cur, room, e->units);
    }
    /* A backend with a fixed fd set (libevent-select: FD_SETSIZE) cannot watch the fd numbers
     * this many connections take: the numbers run from the lowest free one upwards. */
    if (e->variant == V_COROUTINE && e->ops->fd_limit > 0) {
        long highest = sys_count_fds() + e->units + ECHO_FD_RESERVE;
        if (highest >= e->ops->fd_limit)
            return fail_setup(c, BENCH_SKIP, 0, msg, len,
                              "%s refuses fds >= %d (FD_SETSIZE); %ld connections need fd "
                              "numbers up to about %ld", e->ops->name, e->ops->fd_limit,
                              e->units, highest);
    }
    if (e->variant == V_THREAD) {
        long max = sys_long("/proc/sys/kernel/threads-max", -1), now = sys_threads_total();
        if (max > 0 && now > 0 && e->units > max - now - 256)
            return fail_setup(c, BENCH_LIMIT, 0, msg, len,
                              "kernel.threads-max %ld with %ld threads running leaves room for "
                              "%ld, not %ld threads", max, now, max - now - 256, e->units);
    }
    long long per = e->variant == V_THREAD ? ECHO_EST_THREAD : ECHO_EST_COROUTINE, avail;
    if (!memory_room(per * e->units, &avail))
        return fail_setup(c, BENCH_LIMIT, 0, msg, len,
                          "memory: %lld MiB available, %ld connections need about %lld MiB "
                          "(%lld KiB each) plus a %lld MiB reserve", avail >> 20, e->units,
                          (per * e->units) >> 20, per >> 10, ECHO_MEM_RESERVE >> 20);
    return BENCH_OK;
}

static int echo_setup(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    e->listen_fd = e->ctl = -1;
    e->client = 0;
    e->nconns = e->nthreads = 0;
    e->server_started = e->bound = e->nofile_raised = 0;
    e->server_state = 0;
    e->policy[0] = '\0';
    atomic_store(&e->serve_err, 0);
    atomic_store(&e->serve_err_op, 0);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->sync_init = 1;
    e->rss_base = sys_rss_bytes();

    char why[256];
    int pl = placement_lookup(c->id.v[COL_PLACEMENT]);
    if (placement_resolve((enum placement_id)pl, &e->pl, why, sizeof why) != 0)
        return fail_setup(c, BENCH_SKIP, 0, msg, len, "placement %s: %s",
                          c->id.v[COL_PLACEMENT], why);
    int rc = check_limits(c, msg, len);
    if (rc != BENCH_OK)
        return rc;
    e->server_cpu = placement_current_cpu();
    if (e->pl.cpu[0] >= 0) {
        rc = placement_bind_self(&e->pl, 0, &e->server_cpu);
        if (rc)
            return fail_setup(c, BENCH_ERROR, 0, msg, len, "binding the server to cpu %d: %s",
                              e->pl.cpu[0], strerror(-rc));
        e->bound = 1;
    }
    rc = make_listener(e);
    if (rc < 0)
        return fail_setup(c, rc == -EMFILE ? BENCH_LIMIT : BENCH_ERROR, 0, msg, len,
                          "listening socket: %s", strerror(-rc));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return fail_setup(c, BENCH_ERROR, 0, msg, len, "socketpair: %s", strerror(errno));
    long somaxconn = sys_long("/proc/sys/net/core/somaxconn", ECHO_BATCH_MAX);
    int batch = somaxconn < ECHO_BATCH_MAX ? (int)(somaxconn > 0 ? somaxconn : 1) : ECHO_BATCH_MAX;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        client_main(e, sv[1], parent, batch);
    int fork_err = errno;
    close(sv[1]);
    e->ctl = sv[0];
    if (pid < 0)
        return fail_setup(c, fork_err == EAGAIN || fork_err == ENOMEM ? BENCH_LIMIT : BENCH_ERROR,
                          0, msg, len, "fork (the client process): %s", strerror(fork_err));
    e->client = pid;

    rc = accept_all(c, msg, len);
    if (rc != BENCH_OK)
        return rc;
    rc = e->variant == V_THREAD ? start_threads(c, msg, len) : start_scheduler(c, msg, len);
    if (rc != BENCH_OK)
        return rc;

    /* Warm-up (untimed): 2 rounds fault in every stack and registration and size the window. */
    char why2[256];
    if (run_window(e, 2, why2, sizeof why2) < 0)
        return fail_setup(c, BENCH_ERROR, (double)e->units, msg, len, "warm-up: %s", why2);
    double rate = 2.0 * (double)e->units / ((double)e->res.window_ns / 1e9);
    uint64_t rounds = (uint64_t)ceil((e->quick ? 0.05 : 0.25) * rate / (double)e->units);
    uint64_t lo = e->quick ? 3 : 5, hi = (uint64_t)(ECHO_REQUESTS_MAX / e->units);
    if (rounds < lo)
        rounds = lo;
    if (rounds > hi)
        rounds = hi > 0 ? hi : 1;
    e->rounds = rounds;
    c->iterations = (int64_t)(rounds * (uint64_t)e->units);
    c->batch = (uint64_t)c->iterations;

    char where[96];
    if (e->bound)
        snprintf(where, sizeof where, "server on cpu %d, client on cpu %d (verified)",
                 e->server_cpu, e->client_cpu);
    else
        snprintf(where, sizeof where, "unpinned");
    char how[64] = "";
    if (e->variant == V_COROUTINE)
        snprintf(how, sizeof how, "; cosched %s, %s", e->policy, e->switch_name);
    snprintf(c->note, sizeof c->note,
             "%s%s; %d-byte messages; %lu rounds; muxbench RSS before the connections %ld KiB, "
             "virtual size with them %lld MiB", where, how, ECHO_MSG_BYTES,
             (unsigned long)rounds, e->rss_base >> 10, sys_vsz_bytes() >> 20);
    return BENCH_OK;
}

static void echo_teardown(struct bench_case *c) { echo_cleanup(c->ctx); }

static double echo_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct echo *e = c->ctx;
    if (iters != e->rounds * (uint64_t)e->nconns) {
        bench_fail(st, "asked for %llu requests, planned %llu", (unsigned long long)iters,
                   (unsigned long long)(e->rounds * (uint64_t)e->nconns));
        return 0;
    }
    struct rusage ru0, ru1;
    char msg[256];
    getrusage(RUSAGE_SELF, &ru0);
    int rc = run_window(e, e->rounds, msg, sizeof msg);
    getrusage(RUSAGE_SELF, &ru1);
    if (rc < 0) {
        bench_fail(st, "%s", msg);
        return 0;
    }
    e->server_cpu_ns = (double)(cpu_ns(&ru1) - cpu_ns(&ru0));
    return (double)e->res.window_ns;
}

static void echo_run_end(struct bench_case *c, struct bench_state *st)
{
    struct echo *e = c->ctx;
    const struct ctl_msg *r = &e->res;
    double window_s = (double)r->window_ns / 1e9;
    bench_counter(st, "req_per_s", (double)r->count / window_s, "per_s");
    bench_counter(st, "p50_us", (double)r->p50_ns / 1e3, "us");
    bench_counter(st, "p99_us", (double)r->p99_ns / 1e3, "us");
    bench_counter(st, "rss_bytes", (double)sys_rss_bytes(), "bytes");
    bench_counter(st, "server_cpu_ratio", e->server_cpu_ns / (double)r->window_ns, "ratio");
    bench_counter(st, "client_cpu_ratio", (double)r->cpu_ns / (double)r->window_ns, "ratio");
}

/* ---- the planner ---------------------------------------------------------------------------- */

static const struct param_use params[] = {
    {.key = "variant", .defaults = "thread,coroutine", .choices = variant_names},
    {.key = "units", .defaults = "10,100,1000,10000", .quick = "10,100,1000"},
    {.key = "transport", .defaults = "tcp"},
    {.key = "placement", .defaults = "same-l3"},
    {.key = "stack_bytes", .defaults = "auto"},
    {0},
};

/* The C library's default thread stack (RLIMIT_STACK, as pthread_attr_init gives it). */
static size_t default_thread_stack(void)
{
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &size);
        pthread_attr_destroy(&attr);
    }
    return size ? size : (size_t)8 << 20;
}

/* The thread variant runs once per run: with the first backend that can run. */
static const struct poller_ops *first_available(const struct run_opts *o)
{
    char why[256];
    for (int i = 0; i < o->npollers; i++)
        if (poller_probe(o->pollers[i], why, sizeof why) == 0)
            return o->pollers[i];
    return NULL;
}

/* The stack a unit of `variant` gets for the user's stack_bytes value ("auto": the C library's
 * default for threads, CORO_STACK_DEFAULT for coroutines), page-rounded; 0 when out of range. */
static size_t stack_for(enum echo_variant variant, const char *value)
{
    size_t stack = strcmp(value, "auto") != 0  ? (size_t)param_number(value)
                   : variant == V_THREAD        ? default_thread_stack()
                                                : CORO_STACK_DEFAULT;
    long tmin = sysconf(_SC_THREAD_STACK_MIN);
    if (stack < ECHO_STACK_MIN || coro_stack_round(stack, &stack) < 0 ||
        (variant == V_THREAD && tmin > 0 && stack < (size_t)tmin))
        return 0;
    return stack;
}

/* One sweep over units: a case per value, sharing a group (a limit ends the sweep). proto
 * holds everything but the units; 0, or 1 when out of memory. */
static int add_sweep(struct plan *plan, const struct workload *w, const struct echo *proto,
                     const char *transport, const char *placement, const long long *units,
                     int nunits)
{
    for (int u = 0; u < nunits; u++) {
        const struct poller_ops *poller = proto->variant == V_THREAD ? NULL : proto->ops;
        struct bench_case *c = plan_add(plan, w, poller);
        struct echo *e = malloc(sizeof *e);
        if (!c || !e) {
            free(e);
            return 1;
        }
        *e = *proto;
        e->units = (long)units[u];
        c->ctx = e;
        c->free_ctx = free;
        param_row_set(&c->id, COL_VARIANT, variant_names[e->variant]);
        param_row_set(&c->id, COL_TRANSPORT, transport);
        param_row_set(&c->id, COL_PLACEMENT, placement);
        param_row_setn(&c->id, COL_UNITS, units[u]);
        param_row_setn(&c->id, COL_STACK_BYTES, (long long)e->stack_bytes);
        param_row_set(&c->id, COL_STACK_ALLOC, e->variant == V_THREAD
                                                   ? "pthread"
                                                   : coro_stack_kind_name(CORO_STACK_GUARD));
        snprintf(e->group, sizeof e->group, "echo/%s/%s/%s/%s/%zu", poller ? poller->name : "-",
                 variant_names[e->variant], transport, placement, e->stack_bytes);
        c->group = e->group;
        c->headline = "req_per_s";
        c->timing = BENCH_TIME_MANUAL;
        c->setup = echo_setup; /* which also sets iterations and batch: units x rounds */
        c->body = echo_body;
        c->run_end = echo_run_end;
        c->teardown = echo_teardown;
        bench_case_name(c);
    }
    return 0;
}

static int echo_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                     const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants, transports, placements, stacks;
    long long units[PARAM_MAX_VALUES];
    run_values(o, w, "variant", &variants);
    run_values(o, w, "transport", &transports);
    run_values(o, w, "placement", &placements);
    run_values(o, w, "stack_bytes", &stacks);
    int nunits = run_numbers(o, w, "units", units, PARAM_MAX_VALUES);
    for (int u = 0; u < nunits; u++)
        if (units[u] < 1 || units[u] > ECHO_UNITS_MAX) {
            snprintf(msg, len, "echo: units=%lld: connections go from 1 to %ld (each is an fd "
                     "on each side, and the kernel's default fs.nr_open caps a process at "
                     "%ld fds)", units[u], ECHO_UNITS_MAX, ECHO_UNITS_MAX);
            return ECHO_EXIT_USAGE;
        }
    const int thread_here = poller == first_available(o);
    for (int v = 0; v < variants.count; v++) {
        struct echo proto = {.variant = strcmp(variants.values[v], "thread") == 0 ? V_THREAD
                                                                                  : V_COROUTINE,
                             .ops = poller, .quick = o->quick};
        if (proto.variant == V_THREAD && !thread_here)
            continue;
        for (int s = 0; s < stacks.count; s++) {
            proto.stack_bytes = stack_for(proto.variant, stacks.values[s]);
            if (!proto.stack_bytes) {
                snprintf(msg, len, "echo: stack_bytes=%s: out of range for a %s (at least %zu "
                         "bytes: the serve loop keeps a %d-byte buffer on its stack; threads: "
                         "at least %ld here)", stacks.values[s], variants.values[v],
                         ECHO_STACK_MIN, ECHO_BUF_BYTES, sysconf(_SC_THREAD_STACK_MIN));
                return ECHO_EXIT_USAGE;
            }
            for (int t = 0; t < transports.count; t++) {
                proto.tcp = strcmp(transports.values[t], "tcp") == 0;
                for (int p = 0; p < placements.count; p++)
                    if (add_sweep(plan, w, &proto, transports.values[t], placements.values[p],
                                  units, nunits)) {
                        snprintf(msg, len, "out of memory");
                        return 1;
                    }
            }
        }
    }
    return 0;
}

const struct workload echo_workload = {
    .name = "echo",
    .summary = "connection-per-thread (blocking) against connection-per-coroutine over each "
               "poller: requests/s, p50/p99 latency and RSS from 10 to 10,000 connections",
    .params = params,
    .per_poller = 1,
    .plan = echo_plan,
};
