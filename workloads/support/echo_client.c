/*
 * echo_client.c - see echo_client.h.
 *
 * Quirks handled:
 *  a) Connections are made in batches of cfg->batch (at most net.core.somaxconn), and the client
 *     waits for the server to accept each batch: a full tcp accept queue drops SYNs, which costs
 *     a 1 s retransmission per connection.
 *  b) send() with MSG_NOSIGNAL: a peer reset is an error code, not a SIGPIPE.
 *  c) TCP_NODELAY on every tcp socket (small request/response messages and Nagle's algorithm),
 *     and SO_LINGER 0 before the close: 10,000 connections leave no TIME_WAIT behind to exhaust
 *     the ephemeral ports of the next case.
 */
#define _GNU_SOURCE
#include "workloads/support/echo_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/bench.h"
#include "harness/stats.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/helper_proc.h"

struct cconn {
    int fd;
    uint32_t seq, got;
    uint64_t sent, done; /* requests of this window sent, and echoed */
    uint64_t due;        /* open loop: requests whose intended send time has come */
    int64_t t0;          /* what the request in flight's latency is taken from */
    unsigned char sbuf[ECHO_MSG_BYTES], rbuf[ECHO_MSG_BYTES];
};

struct client {
    const struct echo_client_cfg *cfg;
    int ctl, ep, timer;
    struct cconn *c;
    long n, made; /* connections, and how many are open */
    double *samples;
    size_t cap;
};

/* One window's schedule. Closed loop (rate 0): every connection sends at the start, then at each
 * echo. Open loop: request j of the window (connection j % n, its (j / n)-th) is due at
 * start + j / rate, and is sent then, or at its connection's previous echo if that comes later
 * (one request in flight per connection); its latency runs from the time it was due. */
struct window {
    uint64_t rounds, trim; /* per connection: all requests, and the first ones not measured */
    uint64_t rate;         /* per second over all connections; 0: closed loop */
    int64_t start;
    uint64_t next;         /* open loop: the next request to come due */
    uint64_t total;        /* n * rounds */
};

static int64_t due_ns(const struct window *w, uint64_t j)
{
    return w->start + (int64_t)((double)j * 1e9 / (double)w->rate);
}

/* Message `seq` of connection i: its index and number, then a pattern of both. */
static void fill_msg(unsigned char *m, uint32_t i, uint32_t seq)
{
    memcpy(m, &i, 4);
    memcpy(m + 4, &seq, 4);
    for (int k = 8; k < ECHO_MSG_BYTES; k++)
        m[k] = (unsigned char)(i * 7u + seq * 13u + (unsigned)k);
}

static int client_send(struct client *cl, const struct window *w, long i)
{
    struct cconn *cc = &cl->c[i];
    fill_msg(cc->sbuf, (uint32_t)i, cc->seq);
    cc->got = 0;
    int64_t now = bench_now_ns();
    cc->t0 = w->rate ? due_ns(w, cc->sent * (uint64_t)cl->n + (uint64_t)i) : now;
    cc->sent++;
    ssize_t n = send(cc->fd, cc->sbuf, ECHO_MSG_BYTES, MSG_NOSIGNAL);
    if (n == ECHO_MSG_BYTES)
        return 0;
    return n < 0 ? -errno : -EMSGSIZE; /* one message in flight always fits the buffer */
}

static int client_fail(struct echo_ctl *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int client_fail(struct echo_ctl *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->text, sizeof res->text, fmt, ap);
    va_end(ap);
    res->err = err ? err : EPROTO;
    return -1;
}

/* Open loop: marks the requests whose time has come as due and sends those whose connection
 * is idle; arms the timer for the next one. 0 or -errno with the connection in *which. */
static int release_due(struct client *cl, struct window *w, long *which)
{
    int64_t now = bench_now_ns();
    while (w->next < w->total && due_ns(w, w->next) <= now) {
        long i = (long)(w->next % (uint64_t)cl->n);
        struct cconn *cc = &cl->c[i];
        cc->due++;
        w->next++;
        if (cc->sent == cc->done) {
            int rc = client_send(cl, w, i);
            if (rc < 0) {
                *which = i;
                return rc;
            }
        }
    }
    if (w->next < w->total) {
        int64_t at = due_ns(w, w->next);
        struct itimerspec its = {
            .it_value = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000}};
        if (timerfd_settime(cl->timer, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
            *which = -1;
            return -errno;
        }
    }
    return 0;
}

/* One window as RUN asked (count measured rounds per connection after `trim` more, at `rate`
 * or closed-loop). Fills res; -1 on failure. */
static int client_window(struct client *cl, const struct echo_ctl *run, struct echo_ctl *res)
{
    struct window w = {.rounds = run->count + run->trim, .trim = run->trim,
                       .rate = run->rate_per_s};
    w.total = w.rounds * (uint64_t)cl->n;
    memset(res, 0, sizeof *res);
    res->op = ECHO_CTL_RESULT;
    size_t need = (size_t)cl->n * run->count;
    if (need > cl->cap) {
        double *s = realloc(cl->samples, need * sizeof *s);
        if (!s)
            return client_fail(res, ENOMEM, "client: no memory for %zu latency samples", need);
        cl->samples = s;
        cl->cap = need;
    }
    size_t ns = 0;
    uint64_t in_window = 0;
    long remaining = cl->n;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (long i = 0; i < cl->n; i++)
        cl->c[i].sent = cl->c[i].done = cl->c[i].due = 0;
    w.start = bench_now_ns();
    int64_t end = w.start;
    /* Where the measured part starts: the first measured request's send (closed loop) or due
     * time (open loop); every echo from then on counts towards the throughput. */
    int64_t measure_from = w.trim == 0 ? w.start : INT64_MAX;
    if (w.rate) {
        if (w.trim > 0)
            measure_from = due_ns(&w, w.trim * (uint64_t)cl->n);
        long i;
        int rc = release_due(cl, &w, &i);
        if (rc < 0)
            return client_fail(res, -rc, "client: starting the schedule: %s", strerror(-rc));
    } else {
        for (long i = 0; i < cl->n; i++) {
            int rc = client_send(cl, &w, i);
            if (rc < 0)
                return client_fail(res, -rc, "client: send on connection %ld: %s", i,
                                   strerror(-rc));
        }
    }
    int64_t progress = w.start;
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
            if (ev[j].data.u32 == UINT32_MAX) { /* the open loop's timer */
                uint64_t ticks;
                if (read(cl->timer, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                    return client_fail(res, errno, "client: timerfd: %s", strerror(errno));
                long which;
                int rc = release_due(cl, &w, &which);
                if (rc < 0)
                    return client_fail(res, -rc, "client: send on connection %ld: %s", which,
                                       strerror(-rc));
                continue;
            }
            long i = (long)ev[j].data.u32;
            struct cconn *cc = &cl->c[i];
            if (cc->sent == cc->done) { /* nothing in flight: only an error can be there */
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
            if (cc->done >= w.trim)
                cl->samples[ns++] = (double)(t1 - cc->t0);
            if (t1 >= measure_from)
                in_window++;
            if (memcmp(cc->rbuf, cc->sbuf, ECHO_MSG_BYTES) != 0)
                res->mismatches++;
            progress = t1;
            cc->seq++;
            cc->done++;
            /* Closed loop: the first measured request's send starts the measured part. */
            int next = w.rate ? cc->sent < cc->due : cc->done < w.rounds;
            if (!w.rate && cc->done == w.trim && t1 < measure_from)
                measure_from = t1;
            if (next) {
                int rc = client_send(cl, &w, i);
                if (rc < 0)
                    return client_fail(res, -rc, "client: send on connection %ld: %s", i,
                                       strerror(-rc));
            } else if (cc->done == w.rounds) {
                remaining--;
                end = t1;
            }
        }
    }
    getrusage(RUSAGE_SELF, &ru1);
    res->count = ns;
    res->measured = in_window;
    res->window_ns = end - (measure_from == INT64_MAX ? w.start : measure_from);
    res->cpu_ns = echo_cpu_ns(&ru1) - echo_cpu_ns(&ru0);
    res->p99_ns = (int64_t)stats_percentile(cl->samples, (int)ns, 0.99);
    res->p50_ns = (int64_t)stats_percentile(cl->samples, (int)ns, 0.50);
    return 0;
}

/* The latencies of the last window (res->count samples) as a histogram (echo_proto.h). */
static int client_send_hist(const struct client *cl, const struct echo_ctl *res)
{
    struct echo_hist *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->op = ECHO_CTL_HIST;
    for (uint64_t i = 0; res->err == 0 && i < res->count; i++) {
        h->counts[echo_hist_bucket((int64_t)cl->samples[i])]++;
        h->total++;
    }
    int rc = helper_send(cl->ctl, h, sizeof *h);
    free(h);
    return rc;
}

static int client_connect_one(const struct echo_client_cfg *cfg)
{
    int fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (cfg->tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* Connects every connection, in batches the server accepts (quirk a). 0 or -1 (told). */
static int client_connect_all(struct client *cl)
{
    const long batch = cl->cfg->batch;
    struct echo_ctl m;
    for (long made = 0; made < cl->n;) {
        long b = cl->n - made < batch ? cl->n - made : batch;
        for (long k = 0; k < b; k++) {
            int fd = client_connect_one(cl->cfg);
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(made + k)};
            if (fd >= 0 && epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int err = errno;
                close(fd);
                fd = -err;
            }
            if (fd < 0) {
                memset(&m, 0, sizeof m);
                m.op = ECHO_CTL_ERROR;
                m.err = -fd;
                m.count = (uint64_t)(made + k);
                snprintf(m.text, sizeof m.text, "client: connection %ld: %s", made + k,
                         strerror(-fd));
                helper_send(cl->ctl, &m, sizeof m);
                return -1;
            }
            cl->c[made + k].fd = fd;
            cl->made++;
        }
        made += b;
        memset(&m, 0, sizeof m);
        m.op = ECHO_CTL_CONNECTED;
        m.count = (uint64_t)b;
        if (helper_send(cl->ctl, &m, sizeof m) < 0 ||
            helper_recv(cl->ctl, &m, sizeof m, ECHO_CTL_TIMEOUT_MS) < 0 ||
            m.op != ECHO_CTL_ACK)
            return -1;
    }
    return 0;
}

int echo_client_main(int ctl, void *arg)
{
    const struct echo_client_cfg *cfg = arg;
    struct client cl = {.cfg = cfg, .ctl = ctl, .n = cfg->units};
    struct echo_ctl m;
    memset(&m, 0, sizeof m);
    int cpu = placement_current_cpu();
    if (cfg->bind && placement_bind_self(&cfg->pl, 1, &cpu) != 0) {
        m.op = ECHO_CTL_ERROR;
        m.err = EINVAL;
        snprintf(m.text, sizeof m.text, "client: could not bind to cpu %d", cfg->pl.cpu[1]);
        helper_send(ctl, &m, sizeof m);
        return 1;
    }
    cl.ep = epoll_create1(EPOLL_CLOEXEC);
    cl.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    cl.c = calloc((size_t)cl.n, sizeof *cl.c);
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    if (cl.ep < 0 || cl.timer < 0 || !cl.c ||
        epoll_ctl(cl.ep, EPOLL_CTL_ADD, cl.timer, &tev) < 0) {
        m.op = ECHO_CTL_ERROR;
        m.err = cl.c ? errno : ENOMEM;
        snprintf(m.text, sizeof m.text, "client: %s", strerror(m.err));
        helper_send(ctl, &m, sizeof m);
        if (cl.ep >= 0)
            close(cl.ep);
        if (cl.timer >= 0)
            close(cl.timer);
        free(cl.c);
        return 1;
    }
    int rc = 0;
    if (client_connect_all(&cl) == 0) {
        memset(&m, 0, sizeof m);
        m.op = ECHO_CTL_READY;
        m.cpu = cpu;
        if (helper_send(ctl, &m, sizeof m) == 0) {
            while (helper_recv(ctl, &m, sizeof m, -1) == 0 && m.op == ECHO_CTL_RUN) {
                struct echo_ctl run = m;
                client_window(&cl, &run, &m);
                if (helper_send(ctl, &m, sizeof m) < 0 ||
                    (cfg->histogram && client_send_hist(&cl, &m) < 0))
                    break;
            }
        }
    } else {
        rc = 1;
        helper_recv(ctl, &m, sizeof m, ECHO_CTL_TIMEOUT_MS); /* wait for the server to hang up */
    }
    /* Quirk: an abortive close leaves no TIME_WAIT (see the header). */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (long i = 0; i < cl.made; i++) {
        if (cfg->tcp)
            setsockopt(cl.c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(cl.c[i].fd);
    }
    close(cl.ep);
    close(cl.timer);
    free(cl.c);
    free(cl.samples);
    return rc;
}

