/*
 * nwait.c - N requests that each wait D: claim C6 (seed 002 §4.2: 20 requests to a server that
 * answers after 1 s: "Sync ~22s", "Async ~1.3s", "17x"; §4.4: "Sync: total wait time = N × IO
 * latency; Async: total wait time = max(IO latency)").
 *
 * The server is real: a helper process (forked, dies with muxbench) that accepts connections on
 * loopback TCP and on a unix socket and answers each request after exactly D, measured from the
 * moment it read the request: a timerfd armed for the oldest request's due time (absolute,
 * CLOCK_MONOTONIC, timer slack 1 ns), never a sleep loop. Requests carry their id and their
 * delay; the answer carries the id and the nanoseconds the server held the request.
 *
 * One op (one repetition, iterations = 1) is all N requests answered:
 *
 *   sequential   one connection; request 1, wait for its answer, request 2, ... (blocking reads)
 *   threads      one thread per request, created inside the window (pthread_create, default
 *                attributes), each on its own connection with a blocking read; then all joined
 *   coroutines   one coroutine per request, spawned inside the window on the cosched scheduler
 *                over the case's poller, each on its own nonblocking connection: send, then
 *                park in cosched_wait_fd until the answer is readable
 *
 *   t0 ─► every request sent and answered, every thread joined / coroutine finished ─► t1
 *   total_ns    = t1 - t0
 *   overhead_ns = total_ns - N×D (sequential) or total_ns - D (threads, coroutines): what the
 *                 client, the loopback round trips and the server's timer added
 *   speedup     = `derived`: median total_ns of sequential / of the concurrent variant
 *
 * Connections are opened in setup (untimed) and each makes one request with D = 0 there, so the
 * server has accepted them all and the path is warm before anything is timed.
 *
 * Counted, not assumed: every answer is checked (its id is the request's, the server held it at
 * least D); a repetition ends only when all N ids have been answered exactly once, or it is an
 * error row. The server's own hold times go to the note (the largest over D).
 *
 * What it does not measure: a real network, TLS or HTTP (the seed's httpbin requests had all
 * three: its extra 2 s over 20 s sequential and 0.3 s over 1 s concurrent are what they cost
 * there); connection set-up (untimed here; the seed's clients may have reconnected); a server
 * that does work per request.
 *
 * Quirks handled:
 *  a) The server is a helper process (workloads/support/helper_proc.h): every inherited fd but
 *     its control channel closed, signals blocked, PR_SET_PDEATHSIG; it creates its listeners
 *     and sends their addresses back over the channel, and leaves when the channel closes
 *     (teardown: helper_stop, killed after 1 s). The interrupted() hook and the crash handler
 *     kill and reap it (helper_kill_all). Being a fork of a multi-threaded process, it makes
 *     system calls only, on memory allocated before the fork.
 *  b) TCP_NODELAY on both ends: a request is 16 bytes, an answer 24.
 *  c) Client reads have a timeout of D + 10 s (SO_RCVTIMEO, or the park's timeout): a server
 *     that died makes an error row, never a hang.

 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "harness/planner.h"
#include "harness/workload.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/helper_proc.h"
#include "workloads/support/loop.h"

#define NWAIT_MAGIC 0x6e776169u /* "nwai" */
#define NWAIT_UNITS_MAX 10000
#define NWAIT_STACK (64 * 1024)
#define NWAIT_GRACE_NS 10000000000LL /* a read's timeout beyond D */
#define NWAIT_HELLO_MS 10000           /* the server says where it listens within this */
#define NWAIT_STOP_MS 1000             /* it leaves when its channel closes; else killed */

enum nwait_variant { V_SEQUENTIAL, V_THREADS, V_COROUTINES };
static const char *const variant_names[] = {"sequential", "threads", "coroutines", NULL};

struct request {
    uint32_t magic, id;
    uint64_t delay_ns;
};

struct answer {
    uint32_t magic, id;
    uint64_t delay_ns; /* as asked */
    uint64_t held_ns;  /* from the server's read of the request to its write of the answer */
};

struct nwait;

struct slot { /* one request of the window */
    struct nwait *n;
    long id;
    int fd;
    int err;           /* 0, or the errno that ended it */
    uint64_t held_ns;  /* the server's hold, from the answer */
};

struct nwait {
    enum nwait_variant variant;
    const struct poller_ops *ops;
    long units;
    int64_t delay_ns;
    int tcp;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct helper server;        /* the delay server */
    long nconns;
    int *conns;
    struct slot *slots;
    pthread_t *tids;
    struct loop loop;
    struct rlimit nofile;
    int nofile_raised;
    atomic_long answered;
    uint64_t max_held_ns;
    struct bench_case *seq; /* the derived case: the sequential case it divides by */
    struct bench_case *conc;
    char group[96];
};

/* ---- the delay server (helper process) ---------------------------------------------------- */

struct pending {
    int fd;
    uint32_t id;
    uint64_t delay_ns;
    int64_t read_at, due;
};

/* What the helper gets (memory allocated before the fork) and what it answers first. */
struct server_args {
    struct pending *q;
    long cap; /* room in q: one request in flight per connection */
    int backlog;
};

struct server_hello {
    int32_t err;        /* 0, or the errno that stopped the server from listening */
    uint16_t port;      /* its tcp listener on 127.0.0.1 (network order) */
    char unix_name[64]; /* its unix listener, in the abstract namespace (after a NUL byte) */
};

static int server_listen(int backlog, struct server_hello *h, int *lt, int *lu)
{
    *lt = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    *lu = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*lt < 0 || *lu < 0)
        return errno;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t inlen = sizeof in;
    if (bind(*lt, (struct sockaddr *)&in, sizeof in) < 0 || listen(*lt, backlog) < 0 ||
        getsockname(*lt, (struct sockaddr *)&in, &inlen) < 0)
        return errno;
    h->port = in.sin_port;
    /* The abstract namespace: nothing on disk to clean up. Named after this process (the
     * helper's own pid), so two runs never collide. No snprintf: a forked child of a threaded
     * process calls nothing that may take a lock. */
    static const char prefix[] = "muxbench-nwait-";
    size_t len = sizeof prefix - 1;
    memcpy(h->unix_name, prefix, len);
    char digits[16];
    int nd = 0;
    for (unsigned v = (unsigned)getpid(); v || !nd; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        h->unix_name[len++] = digits[--nd];
    h->unix_name[len] = '\0';
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path + 1, h->unix_name, len);
    socklen_t unlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    if (bind(*lu, (struct sockaddr *)&un, unlen) < 0 || listen(*lu, backlog) < 0)
        return errno;
    return 0;
}

/* The helper: listens, says where, then answers requests until its control channel closes.
 * Requests wait in `q` (a ring, in arrival order: every request's due time is its read time
 * plus its delay, and one delay per case keeps them sorted; a shorter delay behind a longer
 * one would be answered late, which its hold time would show). */
static int server_main(int ctl, void *arg)
{
    const struct server_args *a = arg;
    struct pending *q = a->q;
    const long cap = a->cap;
    prctl(PR_SET_TIMERSLACK, 1UL); /* the timer fires at the due time, not up to 50 us later */
    struct server_hello hello;
    memset(&hello, 0, sizeof hello);
    int lt = -1, lu = -1;
    hello.err = server_listen(a->backlog, &hello, &lt, &lu);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!hello.err && (ep < 0 || tfd < 0))
        hello.err = errno;
    if (helper_send(ctl, &hello, sizeof hello) < 0 || hello.err)
        return 1;
    const int watched[] = {lt, lu, tfd, ctl};
    for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = watched[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, watched[i], &ev);
    }
    long head = 0, len = 0;
    int64_t armed = 0;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0)
            continue;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ctl) {
                return 0; /* the case is over: helper_stop closed the channel */
            } else if (fd == lt || fd == lu) {
                int c;
                while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                    int one = 1;
                    if (fd == lt)
                        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
            } else if (fd == tfd) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0) { /* EAGAIN: already handled */
                }
                armed = 0;
            } else {
                struct request r;
                /* One request in flight per connection, 16 bytes: it arrives whole. */
                ssize_t got = recv(fd, &r, sizeof r, MSG_DONTWAIT);
                if (got == (ssize_t)sizeof r && r.magic == NWAIT_MAGIC && len < cap) {
                    int64_t now = bench_now_ns();
                    struct pending *p = &q[(head + len++) % cap];
                    *p = (struct pending){fd, r.id, r.delay_ns, now, now + (int64_t)r.delay_ns};
                } else if (got == 0 || (got < 0 && errno != EAGAIN) ||
                           (got > 0 && got != (ssize_t)sizeof r)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                }
            }
        }
        /* Answer everything due, then arm the timer for the next. */
        int64_t now = bench_now_ns();
        while (len > 0 && q[head].due <= now) {
            struct pending *p = &q[head];
            struct answer ans = {NWAIT_MAGIC, p->id, p->delay_ns, 0};
            ans.held_ns = (uint64_t)(bench_now_ns() - p->read_at);
            if (send(p->fd, &ans, sizeof ans, MSG_NOSIGNAL) < 0) { /* the client is gone */
            }
            head = (head + 1) % cap;
            len--;
            now = bench_now_ns();
        }
        if (len > 0 && armed != q[head].due) {
            struct itimerspec its = {0};
            its.it_value.tv_sec = q[head].due / 1000000000;
            its.it_value.tv_nsec = q[head].due % 1000000000;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = q[head].due;
        }
    }
}

/* The delay server is the only helper this workload starts. */
static void nwait_interrupted(void) { helper_kill_all(); }

static int server_start(struct nwait *n, struct pending *q, char *msg, size_t len)
{
    struct server_args args = {q, n->units + 1, n->units < 4096 ? (int)n->units + 16 : 4096};
    int rc = helper_start(&n->server, "muxbench-delay", server_main, &args, msg, len);
    if (rc < 0)
        return rc == -EAGAIN || rc == -ENOMEM || rc == -EMFILE ? BENCH_LIMIT : BENCH_ERROR;
    struct server_hello hello;
    rc = helper_recv(n->server.ctl, &hello, sizeof hello, NWAIT_HELLO_MS);
    if (rc < 0 || hello.err) {
        snprintf(msg, len, "the delay server did not start listening: %s",
                 strerror(rc < 0 ? -rc : hello.err));
        return BENCH_ERROR;
    }
    memset(&n->addr, 0, sizeof n->addr);
    if (n->tcp) {
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = hello.port,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        memcpy(&n->addr, &in, sizeof in);
        n->addr_len = sizeof in;
    } else {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        size_t name = strnlen(hello.unix_name, sizeof hello.unix_name);
        memcpy(un.sun_path + 1, hello.unix_name, name);
        memcpy(&n->addr, &un, sizeof un);
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name);
    }
    return BENCH_OK;
}

/* ---- the client: one request ------------------------------------------------------------- */

static int send_request(int fd, long id, int64_t delay_ns)
{
    struct request r = {NWAIT_MAGIC, (uint32_t)id, (uint64_t)delay_ns};
    ssize_t w;
    while ((w = send(fd, &r, sizeof r, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (w == (ssize_t)sizeof r)
        return 0;
    return w < 0 ? errno : EIO;
}

/* Checks an answer; 0, or an errno. */
static int check_answer(const struct answer *a, ssize_t got, long id, int64_t delay_ns,
                        uint64_t *held)
{
    if (got == 0)
        return EPIPE; /* the server closed: it died */
    if (got != (ssize_t)sizeof *a || a->magic != NWAIT_MAGIC || a->id != (uint32_t)id ||
        a->delay_ns != (uint64_t)delay_ns)
        return EPROTO;
    if (a->held_ns < (uint64_t)delay_ns)
        return ETIME; /* answered early: the server's timer is wrong */
    *held = a->held_ns;
    return 0;
}

/* Blocking: send, then read the answer (SO_RCVTIMEO bounds the wait). */
static int request_blocking(int fd, long id, int64_t delay_ns, uint64_t *held)
{
    int err = send_request(fd, id, delay_ns);
    if (err)
        return err;
    struct answer a;
    size_t have = 0;
    while (have < sizeof a) { /* a signal to this thread may cut the wait short: go on */
        ssize_t got = recv(fd, (char *)&a + have, sizeof a - have, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno == EAGAIN ? ETIMEDOUT : errno;
        if (got == 0)
            break;
        have += (size_t)got;
    }
    return check_answer(&a, (ssize_t)have, id, delay_ns, held);
}

/* In a coroutine: send, park until readable, read. */
static int request_parked(int fd, long id, int64_t delay_ns, uint64_t *held)
{
    int err = send_request(fd, id, delay_ns);
    if (err)
        return err;
    for (;;) {
        struct answer a;
        ssize_t got = recv(fd, &a, sizeof a, MSG_DONTWAIT);
        if (got >= 0)
            return check_answer(&a, got, id, delay_ns, held);
        if (errno != EAGAIN)
            return errno;
        int r = cosched_wait_fd(fd, MUX_IN, delay_ns + NWAIT_GRACE_NS);
        if (r < 0)
            return -r;
    }
}

static void slot_done(struct slot *s, int err, uint64_t held)
{
    s->err = err;
    s->held_ns = held;
    if (!err)
        atomic_fetch_add_explicit(&s->n->answered, 1, memory_order_relaxed);
}

static void *request_thread(void *arg)
{
    struct slot *s = arg;
    uint64_t held = 0;
    int err = request_blocking(s->fd, s->id, s->n->delay_ns, &held);
    slot_done(s, err, held);
    return NULL;
}

static void request_coroutine(void *arg)
{
    struct slot *s = arg;
    uint64_t held = 0;
    int err = request_parked(s->fd, s->id, s->n->delay_ns, &held);
    slot_done(s, err, held);
}

/* ---- the case ---------------------------------------------------------------------------- */

static void nwait_cleanup(struct nwait *n)
{
    for (long i = 0; i < n->nconns; i++) {
        if (n->loop.sched)
            cosched_forget_fd(n->loop.sched, n->conns[i]);
        close(n->conns[i]);
    }
    n->nconns = 0;
    loop_close(&n->loop);
    helper_stop(&n->server, NWAIT_STOP_MS);
    loop_nofile_restore(&n->nofile, &n->nofile_raised);
    free(n->conns);
    free(n->slots);
    free(n->tids);
    n->conns = NULL;
    n->slots = NULL;
    n->tids = NULL;
}

static int connect_one(struct nwait *n, int *out)
{
    int fd = socket(n->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (connect(fd, (struct sockaddr *)&n->addr, n->addr_len) < 0) {
        int err = errno;
        close(fd);
        return err;
    }
    int one = 1;
    if (n->tcp)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int64_t t = n->delay_ns + NWAIT_GRACE_NS;
    struct timeval tv = {.tv_sec = t / 1000000000, .tv_usec = (t % 1000000000) / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    *out = fd;
    return 0;
}

/* Setup failed with rc (msg already says why): undo what it did. */
static int fail(struct bench_case *c, int rc)
{
    nwait_cleanup(c->ctx);
    return rc;
}

static int nwait_setup(struct bench_case *c, char *msg, size_t len)
{
    struct nwait *n = c->ctx;
    atomic_store(&n->answered, 0);
    long nconns = n->variant == V_SEQUENTIAL ? 1 : n->units;
    int rc = loop_nofile_room(nconns + 4, &n->nofile, &n->nofile_raised, msg, len);
    if (rc != BENCH_OK)
        return fail(c, rc);
    n->conns = calloc((size_t)nconns, sizeof *n->conns);
    n->slots = calloc((size_t)n->units, sizeof *n->slots);
    n->tids = calloc((size_t)n->units, sizeof *n->tids);
    struct pending *q = calloc((size_t)n->units + 1, sizeof *q); /* the server's copy */
    if (!n->conns || !n->slots || !n->tids || !q) {
        free(q);
        snprintf(msg, len, "memory for %ld requests", n->units);
        return fail(c, BENCH_LIMIT);
    }
    rc = server_start(n, q, msg, len);
    free(q); /* the server has its own copy now */
    if (rc != BENCH_OK)
        return fail(c, rc);
    for (long i = 0; i < nconns; i++) {
        int err = connect_one(n, &n->conns[i]);
        if (err) {
            snprintf(msg, len, "connection %ld of %ld to the delay server: %s", i + 1, nconns,
                     strerror(err));
            c->limit_reached = (double)i;
            return fail(c, err == EMFILE || err == ENFILE || err == EADDRNOTAVAIL ? BENCH_LIMIT
                                                                                 : BENCH_ERROR);
        }
        n->nconns++;
        uint64_t held;
        if ((err = request_blocking(n->conns[i], i, 0, &held)) != 0) { /* warm-up, D = 0 */
            snprintf(msg, len, "warm-up request on connection %ld: %s", i + 1, strerror(err));
            return fail(c, BENCH_ERROR);
        }
        if (n->variant == V_COROUTINES)
            fcntl(n->conns[i], F_SETFL, fcntl(n->conns[i], F_GETFL) | O_NONBLOCK);
    }
    char how[96] = "blocking reads";
    if (n->variant == V_COROUTINES) {
        if ((rc = loop_open(&n->loop, n->ops, NWAIT_STACK, msg, len)) != BENCH_OK)
            return fail(c, rc);
        loop_describe(&n->loop, how, sizeof how);
    }
    snprintf(c->note, sizeof c->note, "%s; %s delay server, timerfd; %ld connection%s opened "
             "and warmed before timing", how, n->tcp ? "tcp" : "unix", nconns,
             nconns == 1 ? "" : "s");
    return BENCH_OK;
}

static void nwait_teardown(struct bench_case *c) { nwait_cleanup(c->ctx); }

static void nwait_run_start(struct bench_case *c, struct bench_state *st)
{
    struct nwait *n = c->ctx;
    (void)st;
    atomic_store(&n->answered, 0);
    for (long i = 0; i < n->units; i++)
        n->slots[i] = (struct slot){.n = n, .id = i,
                                    .fd = n->conns[n->variant == V_SEQUENTIAL ? 0 : i],
                                    .err = -1};
}

static double nwait_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct nwait *n = c->ctx;
    (void)iters; /* iterations = 1: one window of N requests */
    long started = n->units;
    int err = 0;
    int64_t t0 = bench_now_ns();
    switch (n->variant) {
    case V_SEQUENTIAL:
        for (long i = 0; i < n->units; i++) {
            uint64_t held = 0;
            int rerr = request_blocking(n->slots[i].fd, i, n->delay_ns, &held);
            slot_done(&n->slots[i], rerr, held);
        }
        break;
    case V_THREADS:
        started = loop_threads_start(n->tids, n->units, 0, request_thread, n->slots,
                                     sizeof *n->slots, &err);
        loop_threads_join(n->tids, started);
        break;
    case V_COROUTINES:
        for (long i = 0; i < n->units && !err; i++)
            if ((err = -cosched_spawn(n->loop.sched, request_coroutine, &n->slots[i])) != 0)
                started = i;
        int rc = cosched_run(n->loop.sched);
        if (rc < 0 && !err)
            err = -rc;
        break;
    }
    int64_t t1 = bench_now_ns();
    if (started < n->units) {
        bench_limit(st, (double)started, "%s %ld of %ld: %s",
                    n->variant == V_THREADS ? "pthread_create" : "cosched_spawn", started + 1,
                    n->units, strerror(err));
        return 0;
    }
    if (err) {
        bench_fail(st, "cosched_run: %s", strerror(err));
        return 0;
    }
    return (double)(t1 - t0);
}

static void nwait_run_end(struct bench_case *c, struct bench_state *st)
{
    struct nwait *n = c->ctx;
    long answered = atomic_load(&n->answered);
    for (long i = 0; i < n->units; i++)
        if (n->slots[i].err) {
            bench_fail(st, "request %ld of %ld: %s (%ld answered)", i + 1, n->units,
                       n->slots[i].err < 0 ? "never finished" : strerror(n->slots[i].err),
                       answered);
            return;
        }
    if (answered != n->units) {
        bench_fail(st, "%ld requests but %ld answers", n->units, answered);
        return;
    }
    uint64_t max_held = 0;
    for (long i = 0; i < n->units; i++)
        if (n->slots[i].held_ns > max_held)
            max_held = n->slots[i].held_ns;
    if (max_held > n->max_held_ns)
        n->max_held_ns = max_held;
}

/* total_ns is the primary metric; overhead_ns comes from it in a second pass: the harness
 * hands run_end no time, so body() keeps the last window's length. */
static double overhead_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct nwait *n = c->ctx;
    double total = nwait_body(c, st, iters);
    if (!bench_failed(st) && total > 0) {
        double ideal = (double)n->delay_ns * (n->variant == V_SEQUENTIAL ? (double)n->units : 1);
        bench_counter(st, "overhead_ns", total - ideal, "ns");
    }
    return total;
}

static void nwait_note_end(struct bench_case *c, struct bench_state *st)
{
    struct nwait *n = c->ctx;
    nwait_run_end(c, st);
    if (bench_failed(st))
        return;
    size_t used = strlen(c->note);
    char *held = strstr(c->note, "; server held");
    if (held)
        used = (size_t)(held - c->note);
    snprintf(c->note + used, sizeof c->note - used, "; server held each request %.3f ms at "
             "most (D %.3f ms); %ld of %ld answered (counted)", (double)n->max_held_ns / 1e6,
             (double)n->delay_ns / 1e6, (long)atomic_load(&n->answered), n->units);
}

static int speedup_derive(struct bench_case *c, struct bench_derived *out, char *msg, size_t len)
{
    struct nwait *n = c->ctx;
    if (!n->seq || !n->seq->result.ran || !n->conc->result.ran || n->conc->result.median <= 0) {
        snprintf(msg, len, "needs sequential and %s measured in this run",
                 variant_names[n->variant]);
        return BENCH_SKIP;
    }
    char note[200];
    snprintf(note, sizeof note, "sequential %.4g ms / %s %.4g ms (medians of total_ns)",
             n->seq->result.median / 1e6, variant_names[n->variant],
             n->conc->result.median / 1e6);
    bench_derived_row(out, "speedup", n->seq->result.median / n->conc->result.median, "ratio",
                      note);
    return BENCH_OK;
}

/* ---- planning ---------------------------------------------------------------------------- */

static const struct param_use params[] = {
    {.key = "variant", .defaults = "sequential,threads,coroutines", .choices = variant_names},
    {.key = "units", .defaults = "20"},
    {.key = "delay_ns", .defaults = "100ms", .quick = "10ms"},
    {.key = "transport", .defaults = "tcp"},
    {0},
};

static void set_id(struct bench_case *c, const struct nwait *n, const char *transport)
{
    param_row_set(&c->id, COL_VARIANT, variant_names[n->variant]);
    param_row_set(&c->id, COL_TRANSPORT, transport);
    param_row_setn(&c->id, COL_UNITS, n->units);
    param_row_setn(&c->id, COL_DELAY_NS, n->delay_ns);
}

/* The sequential case of the same units, delay and transport, planned earlier in this run. */
static struct bench_case *find_sequential(const struct plan *plan, const struct bench_case *like)
{
    for (int i = 0; i < plan->count; i++) {
        const struct bench_case *c = plan->cases[i];
        if (!c->derive && strcmp(c->id.v[COL_WORKLOAD], "nwait") == 0 &&
            strcmp(c->id.v[COL_VARIANT], "sequential") == 0 &&
            strcmp(c->id.v[COL_UNITS], like->id.v[COL_UNITS]) == 0 &&
            strcmp(c->id.v[COL_DELAY_NS], like->id.v[COL_DELAY_NS]) == 0 &&
            strcmp(c->id.v[COL_TRANSPORT], like->id.v[COL_TRANSPORT]) == 0)
            return plan->cases[i];
    }
    return NULL;
}

static int add_case(struct plan *plan, const struct workload *w, const struct nwait *proto,
                    const char *transport)
{
    const struct poller_ops *poller = proto->variant == V_COROUTINES ? proto->ops : NULL;
    struct bench_case *c = plan_add(plan, w, poller);
    struct nwait *n = malloc(sizeof *n);
    if (!c || !n) {
        free(n);
        return 1;
    }
    *n = *proto;
    c->ctx = n;
    c->free_ctx = free;
    set_id(c, n, transport);
    c->metric = "total_ns";
    c->iterations = 1;
    c->setup = nwait_setup;
    c->run_start = nwait_run_start;
    c->body = overhead_body;
    c->run_end = nwait_note_end;
    c->teardown = nwait_teardown;
    bench_case_name(c);
    if (n->variant == V_SEQUENTIAL)
        return 0;
    /* speedup: after the concurrent case, against the sequential one (when planned). */
    struct bench_case *d = plan_add(plan, w, poller);
    struct nwait *dn = malloc(sizeof *dn);
    if (!d || !dn) {
        free(dn);
        return 1;
    }
    *dn = *proto;
    dn->conc = c;
    dn->seq = find_sequential(plan, c);
    d->ctx = dn;
    d->free_ctx = free;
    set_id(d, dn, transport);
    d->derive = speedup_derive;
    bench_case_name(d);
    snprintf(d->name + strlen(d->name), sizeof d->name - strlen(d->name), "/vs:sequential");
    return 0;
}

static int nwait_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants, transports;
    long long units[PARAM_MAX_VALUES], delays[PARAM_MAX_VALUES];
    run_values(o, w, "variant", &variants);
    run_values(o, w, "transport", &transports);
    int nunits = run_numbers(o, w, "units", units, PARAM_MAX_VALUES);
    int ndelays = run_numbers(o, w, "delay_ns", delays, PARAM_MAX_VALUES);
    for (int u = 0; u < nunits; u++)
        if (units[u] > NWAIT_UNITS_MAX) {
            snprintf(msg, len, "nwait: units=%lld: at most %d requests (a connection, and a "
                     "thread or coroutine, each)", units[u], NWAIT_UNITS_MAX);
            return MUX_EXIT_USAGE;
        }
    const int once_here = poller == run_first_poller(o);
    /* Sequential first: the derived speedups look it up. */
    for (int pass = 0; pass < 2; pass++)
        for (int v = 0; v < variants.count; v++) {
            struct nwait proto = {.ops = poller, .server = HELPER_NONE};
            for (int k = 0; variant_names[k]; k++)
                if (strcmp(variants.values[v], variant_names[k]) == 0)
                    proto.variant = (enum nwait_variant)k;
            if ((pass == 0) != (proto.variant == V_SEQUENTIAL))
                continue;
            if (proto.variant != V_COROUTINES && !once_here)
                continue;
            for (int t = 0; t < transports.count; t++)
                for (int u = 0; u < nunits; u++)
                    for (int d = 0; d < ndelays; d++) {
                        proto.units = (long)units[u];
                        proto.delay_ns = delays[d];
                        proto.tcp = strcmp(transports.values[t], "tcp") == 0;
                        if (add_case(plan, w, &proto, transports.values[t])) {
                            snprintf(msg, len, "out of memory");
                            return MUX_EXIT_FAIL;
                        }
                    }
        }
    return 0;
}

const struct workload nwait_workload = {
    .name = "nwait",
    .summary = "N requests to a delay server that answers each after D: sequential, a thread "
               "per request, a coroutine per request over each poller (total, overhead, speedup)",
    .params = params,
    .per_poller = 1,
    .plan = nwait_plan,
    .interrupted = nwait_interrupted,
};
