/*
 * fanin_refs.c - the reference figures beside fanin's waits (fanin_refs.h): the timing
 * bracket, a bare poll(), add, del and idle waits.
 *
 * What they do not measure: bracket_ns is the clock's own cost, not what it perturbs (cache,
 * pipeline); bare_poll_ns is poll() with the wave already written, never a sleeping poll; the
 * registration figures are batches over n fds divided by n (the clock would dominate one add),
 * so a backend whose first add costs more than its later ones shows the mean.
 *
 * Quirks: libev and libuv defer the system call of an add or a del to their next loop run, so
 * the first wait after a batch pays it ("flush"): add_ns and del_ns include that wait minus an
 * idle one. libev keeps a deleted fd in its epoll set, so adds are timed on a fresh poller,
 * where each is a first registration.
 */
#define _GNU_SOURCE
#include "workloads/support/fanin_refs.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/bench.h"
#include "harness/stats.h"

double fanin_bracket_ns(void)
{
    enum { K = 1001 };
    double d[K];
    for (int i = 0; i < K; i++) {
        int64_t t0 = bench_now_ns();
        d[i] = (double)(bench_now_ns() - t0);
    }
    return stats_percentile(d, K, 0.5); /* K odd: the middle one */
}

int fanin_bare_poll_ns(const int *fds, int n, int timeout_ms, int expected, double *out_ns,
                       char *err, size_t len)
{
    *out_ns = 0;
    struct pollfd *pfd = malloc((size_t)n * sizeof *pfd);
    if (!pfd) {
        snprintf(err, len, "out of memory for the bare poll reference");
        return -1;
    }
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    int k = 200000 / n, rc = 0;
    k = k < 8 ? 8 : k > 256 ? 256 : k;
    double total = 0;
    for (int i = 0; rc == 0 && i < k; i++) {
        int64_t t0 = bench_now_ns();
        int got = poll(pfd, (nfds_t)n, timeout_ms);
        total += (double)(bench_now_ns() - t0);
        if (got != expected) {
            snprintf(err, len, "a bare poll() over the %d fds returned %d, not the %d written", n,
                     got, expected);
            rc = -1;
        }
    }
    free(pfd);
    *out_ns = total / k;
    return rc;
}

int fanin_register(struct poller *p, const int *fds, int from, int to, uint32_t mode,
                   int *failed_at)
{
    for (int i = from; i < to; i++) {
        int rc = poller_add(p, fds[i], MUX_IN | mode, FANIN_TOKEN(i));
        if (rc < 0) {
            *failed_at = i;
            return rc;
        }
    }
    return 0;
}

/* k zero-timeout waits on p timed as one region; each must return nothing (`registered` idle
 * fds). */
static int zero_waits(const struct fanin_watch *w, struct poller *p, int k, int registered,
                      int64_t *ns, char *err, size_t len)
{
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (int i = 0; i < k; i++)
        bad |= poller_wait(p, w->out, w->out_max, 0) != 0;
    *ns = bench_now_ns() - t0;
    if (bad) {
        snprintf(err, len, "a zero-timeout wait over %d idle fds returned events or failed",
                 registered);
        return -1;
    }
    return 0;
}

int fanin_registration(const struct fanin_watch *w, struct fanin_reg_figures *f, char *err,
                       size_t len)
{
    int n = w->n, k = 100000 / n;
    k = k < 8 ? 8 : k > 256 ? 256 : k;
    int64_t idle = 0, add, del, flush1 = 0, idle1 = 0, flush0 = 0, idle0 = 0;
    if (zero_waits(w, w->p, k, n, &idle, err, len) < 0)
        return -1;
    struct poller *q = NULL;
    struct poller_cfg cfg = {.expected_fds = w->expected_fds};
    int rc = poller_create(w->ops, &q, &cfg), at = 0;
    if (rc < 0) {
        snprintf(err, len, "a second %s poller (for add_ns, del_ns): %s", w->ops->name,
                 strerror(-rc));
        return -1;
    }
    int64_t t0 = bench_now_ns();
    rc = fanin_register(q, w->fds, 0, n, w->mode, &at);
    add = bench_now_ns() - t0;
    if (rc < 0) {
        snprintf(err, len, "add of fd %d failed: %s", w->fds[at], strerror(-rc));
        for (int i = 0; i < at; i++)
            poller_del(q, w->fds[i]);
        poller_destroy(q);
        return -1;
    }
    rc = zero_waits(w, q, 1, n, &flush1, err, len);
    if (rc == 0)
        rc = zero_waits(w, q, k, n, &idle1, err, len);
    t0 = bench_now_ns();
    for (int i = 0; i < n; i++)
        if (poller_del(q, w->fds[i]) < 0 && rc == 0) {
            snprintf(err, len, "del of fd %d failed", w->fds[i]);
            rc = -1;
        }
    del = bench_now_ns() - t0;
    if (rc == 0)
        rc = zero_waits(w, q, 1, 0, &flush0, err, len);
    if (rc == 0)
        rc = zero_waits(w, q, k, 0, &idle0, err, len);
    poller_destroy(q);
    if (rc < 0)
        return -1;
    f->idle_ns = (double)idle / k;
    f->add_ns = ((double)add + (double)flush1 - (double)idle1 / k) / n;
    f->del_ns = ((double)del + (double)flush0 - (double)idle0 / k) / n;
    return 0;
}
