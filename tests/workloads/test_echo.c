/*
 * test_echo.c - echo's parts in one process: the client (workloads/support/echo_client.h) in a
 * thread, driven over the control protocol (echo_proto.h) the way the workload drives it,
 * against echo's server (echo_server.h) or a test server that stalls on purpose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness/bench.h"
#include "tests/util/testutil.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/echo_client.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/echo_server.h"
#include "workloads/support/helper_proc.h"
#include "workloads/support/units.h"

/* ---- the client in a thread, and the measuring side's half of the protocol ---------------- */

struct client_run {
    struct echo_client_cfg cfg;
    int ctl[2]; /* [0] ours, [1] the client's */
    pthread_t thread;
    int rc;
};

static void *client_thread(void *arg)
{
    struct client_run *r = arg;
    r->rc = echo_client_main(r->ctl[1], &r->cfg);
    return NULL;
}

/* Starts the client against addr; accept(count) is called for each CONNECTED batch. Returns 0
 * when the client is READY. */
static int client_start(struct client_run *r, const struct sockaddr_storage *addr,
                        socklen_t addrlen, long units,
                        int (*accept_batch)(void *arg, long count), void *arg)
{
    memset(r, 0, sizeof *r);
    r->cfg.addr = *addr;
    r->cfg.addrlen = addrlen;
    r->cfg.units = units;
    r->cfg.batch = 2;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->ctl) < 0 ||
        pthread_create(&r->thread, NULL, client_thread, r) != 0)
        return -1;
    struct echo_ctl m;
    for (long made = 0; made < units; made += (long)m.count) {
        if (helper_recv(r->ctl[0], &m, sizeof m, 10000) < 0 || m.op != ECHO_CTL_CONNECTED ||
            accept_batch(arg, (long)m.count) < 0)
            return -1;
        m.op = ECHO_CTL_ACK;
        if (helper_send(r->ctl[0], &m, sizeof m) < 0)
            return -1;
    }
    return helper_recv(r->ctl[0], &m, sizeof m, 10000) == 0 && m.op == ECHO_CTL_READY ? 0 : -1;
}

/* One window; the RESULT in *res. */
static int client_window(struct client_run *r, uint64_t count, uint32_t trim, uint64_t rate,
                         struct echo_ctl *res)
{
    struct echo_ctl m = {.op = ECHO_CTL_RUN, .count = count, .trim = trim, .rate_per_s = rate};
    if (helper_send(r->ctl[0], &m, sizeof m) < 0 ||
        helper_recv(r->ctl[0], res, sizeof *res, 60000) < 0)
        return -1;
    if (res->op != ECHO_CTL_RESULT || res->err) {
        fprintf(stderr, "client: %s\n", res->text);
        return -1;
    }
    return 0;
}

/* Closes the channel: the client closes its connections and returns. Its exit status. */
static int client_stop(struct client_run *r)
{
    close(r->ctl[0]);
    pthread_join(r->thread, NULL);
    close(r->ctl[1]);
    return r->rc;
}

static int server_accept(void *arg, long count)
{
    char msg[256];
    int rc = echo_server_accept(arg, count, msg, sizeof msg);
    if (rc != BENCH_OK)
        fprintf(stderr, "accept: %s\n", msg);
    return rc == BENCH_OK ? 0 : -1;
}

/* Starts server s (its configuration set) and a client of s.units connections to it: 0 when
 * both serve, -1 (told) otherwise. */
static int start_pair(struct echo_server *s, struct client_run *r)
{
    echo_server_init(s);
    long reached = 0;
    char msg[256] = "";
    if (echo_server_listen(s) < 0 ||
        client_start(r, &s->addr, s->addrlen, s->units, server_accept, s) < 0 ||
        echo_server_start(s, &reached, msg, sizeof msg) != BENCH_OK) {
        fprintf(stderr, "starting the server and its client failed %s\n", msg);
        return -1;
    }
    return 0;
}

/* ---- the client needs no fork ----------------------------------------------------------- */

static void *nothing(void *arg) { return arg; }

static void t_client_runs_without_fork(void)
{
    /* A first thread, so that what a runtime starts with it (ThreadSanitizer's background
     * thread) is in the baseline. */
    pthread_t first;
    CHECK_EQ(pthread_create(&first, NULL, nothing, NULL), 0);
    CHECK_EQ(pthread_join(first, NULL), 0);
    int fds0 = t_count_fds(), threads0 = t_count_threads();
    struct echo_server s = {.variant = ECHO_THREAD, .units = 5, .stack_bytes = 64 * 1024};
    struct client_run r;
    CHECK_EQ(start_pair(&s, &r), 0);
    char msg[256];
    struct echo_ctl res;
    CHECK_EQ(client_window(&r, 3, 1, 0, &res), 0);
    CHECK_EQ(res.count, 15);    /* 5 connections x 3 measured requests: the trimmed one not */
    CHECK_EQ(res.mismatches, 0);
    CHECK(res.measured >= 15 && res.measured <= 20); /* echoes in the window, trimmed ones late */
    CHECK(res.window_ns > 0 && res.p50_ns > 0 && res.p99_ns >= res.p50_ns);
    CHECK_EQ(echo_server_check(&s, msg, sizeof msg), 0);
    CHECK_EQ(client_stop(&r), 0);
    echo_server_stop(&s);
    CHECK_EQ(t_count_fds(), fds0);
    CHECK_EQ(t_count_threads(), threads0);
}

/* ---- the open loop: a server stall is in the latency of every request due during it ------- */

#define STALL_NS (100 * 1000000LL)
#define STALL_AFTER 50 /* requests echoed before the stall */

struct stall_server {
    int listen_fd, fd;
    pthread_t thread;
    int stalled;
};

static int stall_accept(void *arg, long count)
{
    struct stall_server *ss = arg;
    if (count != 1)
        return -1;
    ss->fd = accept4(ss->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    return ss->fd >= 0 ? 0 : -1;
}

/* Echoes 64-byte messages on one connection; after STALL_AFTER of them, sleeps STALL_NS once. */
static void *stall_main(void *arg)
{
    struct stall_server *ss = arg;
    unsigned char buf[ECHO_MSG_BYTES];
    long echoed = 0;
    for (;;) {
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t n = read(ss->fd, buf + got, sizeof buf - got);
            if (n <= 0)
                return NULL;
            got += (size_t)n;
        }
        if (++echoed == STALL_AFTER + 1 && !ss->stalled) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = STALL_NS};
            nanosleep(&ts, NULL);
            ss->stalled = 1;
        }
        if (send(ss->fd, buf, sizeof buf, MSG_NOSIGNAL) != (ssize_t)sizeof buf)
            return NULL;
    }
}

/* One window of 300 requests on one connection at 1,000/s (closed: as fast as it goes) against
 * a server that stalls 100 ms once. */
static void stalled_window(uint64_t rate, struct echo_ctl *res)
{
    struct stall_server ss = {.fd = -1};
    ss.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ss.listen_fd >= 0);
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    struct sockaddr_un *un = (struct sockaddr_un *)&addr;
    un->sun_family = AF_UNIX;
    int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "muxbench-test-stall-%d-%llu",
                     (int)getpid(), (unsigned long long)rate);
    socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    CHECK_EQ(bind(ss.listen_fd, (struct sockaddr *)&addr, addrlen), 0);
    CHECK_EQ(listen(ss.listen_fd, 4), 0);
    struct client_run r;
    CHECK_EQ(client_start(&r, &addr, addrlen, 1, stall_accept, &ss), 0);
    CHECK_EQ(pthread_create(&ss.thread, NULL, stall_main, &ss), 0);
    CHECK_EQ(client_window(&r, 300, 0, rate, res), 0);
    CHECK_EQ(res->count, 300);
    CHECK_EQ(res->mismatches, 0);
    CHECK(ss.stalled);
    CHECK_EQ(client_stop(&r), 0);
    pthread_join(ss.thread, NULL);
    close(ss.fd);
    close(ss.listen_fd);
}

static void t_open_loop_counts_a_stall(void)
{
    struct echo_ctl open, closed;
    stalled_window(1000, &open);
    stalled_window(0, &closed);
    printf("open loop: p50 %.1f ms, p99 %.1f ms, %.0f ms window; closed loop: p50 %.3f ms, "
           "p99 %.1f ms\n", (double)open.p50_ns / 1e6, (double)open.p99_ns / 1e6,
           (double)open.window_ns / 1e6, (double)closed.p50_ns / 1e6,
           (double)closed.p99_ns / 1e6);
    /* At 1,000/s, 100 requests come due during the stall; the first of them waits it all, the
     * 20th still 80 ms: well above the 3 largest of 300 (the p99) whatever the machine does. */
    CHECK(open.p99_ns >= STALL_NS * 8 / 10);
    /* The schedule alone takes 299 ms: the window cannot be shorter. */
    CHECK(open.window_ns >= 299 * 1000000LL);
    /* The closed loop held the other requests back: one request saw the stall, the median
     * did not. */
    CHECK(closed.p50_ns < open.p99_ns);
}

/* ---- keep: no registration call per request -------------------------------------------- */

static struct poller_ops g_counting;
static const struct poller_ops *g_real;
static atomic_long g_calls;

static int counting_add(struct poller *p, int fd, uint32_t events, void *data)
{
    atomic_fetch_add(&g_calls, 1);
    return g_real->add(p, fd, events, data);
}

static int counting_mod(struct poller *p, int fd, uint32_t events, void *data)
{
    atomic_fetch_add(&g_calls, 1);
    return g_real->mod(p, fd, events, data);
}

static int counting_del(struct poller *p, int fd)
{
    atomic_fetch_add(&g_calls, 1);
    return g_real->del(p, fd);
}

/* Registration calls made during one window of `rounds` requests per connection over epoll,
 * into *calls (-1 until measured). */
static void calls_in_window(enum cosched_reg reg, long units, uint64_t rounds, long *calls)
{
    *calls = -1;
    char why[256];
    if (units_coro_unsupported(why, sizeof why) < 0)
        t_skip("%s", why);
    g_real = poller_find("epoll");
    if (!g_real)
        t_skip("no epoll here");
    if (poller_probe(g_real, why, sizeof why) != 0)
        t_skip("epoll: %s", why);
    g_counting = *g_real;
    g_counting.add = counting_add;
    g_counting.mod = counting_mod;
    g_counting.del = counting_del;
    struct echo_server s = {.variant = ECHO_COROUTINE, .ops = &g_counting, .units = units,
                            .stack_bytes = 64 * 1024, .reg = reg};
    struct client_run r;
    CHECK_EQ(start_pair(&s, &r), 0);
    char msg[256];
    CHECK_EQ(strcmp(s.policy, cosched_reg_name(reg)), 0);
    struct echo_ctl res;
    CHECK_EQ(client_window(&r, 2, 0, 0, &res), 0); /* warm-up: the first registrations */
    long before = atomic_load(&g_calls);
    CHECK_EQ(client_window(&r, rounds, 0, 0, &res), 0);
    long made = atomic_load(&g_calls) - before;
    CHECK_EQ(res.count, (uint64_t)units * rounds);
    CHECK_EQ(echo_server_check(&s, msg, sizeof msg), 0);
    CHECK_EQ(client_stop(&r), 0);
    echo_server_stop(&s);
    *calls = made;
}

static void t_keep_makes_no_calls_per_request(void)
{
    const long units = 4;
    const uint64_t rounds = 50;
    long per_wait, keep;
    calls_in_window(COSCHED_REG_PER_WAIT, units, rounds, &per_wait);
    calls_in_window(COSCHED_REG_KEEP, units, rounds, &keep);
    printf("registration calls for %ld requests: per-wait %ld, keep %ld\n",
           units * (long)rounds, per_wait, keep);
    /* An add (park) and a del (wake) for every request; each coroutine's park at either edge
     * of the window may fall on the other side of the count. */
    CHECK(per_wait >= 2 * units * (long)rounds - units);
    CHECK_EQ(keep, 0); /* each coroutine parks again before the next wait: nothing to do */
}

static const struct t_test tests[] = {
    {"client_runs_without_fork", t_client_runs_without_fork},
    {"open_loop_counts_a_stall", t_open_loop_counts_a_stall},
    {"keep_makes_no_calls_per_request", t_keep_makes_no_calls_per_request},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "echo.", tests, sizeof tests / sizeof tests[0]);
}
