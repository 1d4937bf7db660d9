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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/bench.h"
#include "harness/stats.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/helper_proc.h"

struct cconn {
    int fd;
    uint32_t seq, got;
    uint64_t done;
    int64_t t0;
    unsigned char sbuf[ECHO_MSG_BYTES], rbuf[ECHO_MSG_BYTES];
};

struct client {
    const struct echo_client_cfg *cfg;
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

/* One window: every connection makes `rounds` requests. Fills res; -1 on failure. */
static int client_window(struct client *cl, uint64_t rounds, struct echo_ctl *res)
{
    memset(res, 0, sizeof *res);
    res->op = ECHO_CTL_RESULT;
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
        if (helper_send(cl->ctl, &m, sizeof m) < 0 || helper_recv(cl->ctl, &m, sizeof m, ECHO_CTL_TIMEOUT_MS) < 0 ||
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
    cl.c = calloc((size_t)cl.n, sizeof *cl.c);
    if (cl.ep < 0 || !cl.c) {
        m.op = ECHO_CTL_ERROR;
        m.err = cl.ep < 0 ? errno : ENOMEM;
        snprintf(m.text, sizeof m.text, "client: %s", strerror(m.err));
        helper_send(ctl, &m, sizeof m);
        if (cl.ep >= 0)
            close(cl.ep);
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
                client_window(&cl, m.count, &m);
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
    free(cl.c);
    free(cl.samples);
    return rc;
}

