/*
 * conformance.c - the poller conformance matrix: the same test bodies against every backend.
 *
 *   conformance <backend> <test>     run one test; exit 0 pass, 1 fail, 77 skip
 *   conformance --list               the test names (CMake registers backend x test)
 *
 * Each test checks one rule of the contract in pollers/poller.h. A backend that cannot run
 * here (kqueue on Linux, io_uring when the kernel disables it) is a skip, never a pass; so is
 * a test of a mode the backend does not claim (modes_match_features checks the refusal).
 *
 * Waits use finite timeouts wherever an event is expected, so a broken backend fails the
 * test instead of hanging it; CTest adds a timeout per test on top.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pollers/poller.h"
#include "tests/util/test_backends.h"
#include "tests/util/testutil.h"

#define SEC 1000000000LL
#define MS 1000000LL

static char tokens[65536]; /* distinct data pointers: &tokens[i] */
#define TOKEN(i) ((void *)&tokens[(i) % (int)sizeof tokens])

static struct poller *make_poller(const struct poller_ops *ops)
{
    struct poller *p = NULL;
    int rc = poller_create(ops, &p, NULL);
    if (rc < 0) {
        fprintf(stderr, "create(%s) failed: %s\n", ops->name, strerror(-rc));
        return NULL;
    }
    return p;
}

static void put_byte(int fd)
{
    if (write(fd, "x", 1) != 1) {
        perror("write");
        exit(1);
    }
}

static void drain(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

/* Whether any fd appears twice in one wait's output. */
static int has_duplicates(const struct mux_event *out, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (out[i].fd == out[j].fd)
                return 1;
    return 0;
}

/* Waits until some event arrives or the timeout passes; returns the first wait's count. */
static int wait_some(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    int64_t deadline = t_now_ns() + timeout_ns;
    for (;;) {
        int64_t left = deadline - t_now_ns();
        int n = poller_wait(p, out, max, left > 0 ? left : 0);
        if (n != 0 || left <= 0)
            return n;
    }
}

/* ---------------------------------------------------------------------------------------- */

static void t_create_destroy_no_leak(const struct poller_ops *ops)
{
    /* Round 0 is a warm-up: the allocator (ASan's above all) maps its arenas on first use;
     * the baseline is taken after it, so only what a poller itself leaks is counted. */
    int fds0 = 0, maps0 = 0, threads0 = 0;
    for (int round = 0; round <= 50; round++) {
        if (round == 1) {
            fds0 = t_count_fds();
            maps0 = t_count_maps();
            threads0 = t_count_threads();
        }
        struct poller *p = make_poller(ops);
        CHECK(p);
        int sv[2];
        t_socketpair(sv);
        CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
        put_byte(sv[1]);
        struct mux_event ev[4];
        CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
        CHECK_EQ(poller_del(p, sv[0]), 0);
        close(sv[0]);
        close(sv[1]);
        poller_destroy(p);
    }
    CHECK_EQ(t_count_fds(), fds0);
    CHECK_EQ(t_count_maps(), maps0);
    CHECK_EQ(t_count_threads(), threads0);
}

static void t_zero_timeout_idle(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(0)), 0);
    struct mux_event ev[4];
    int64_t t0 = t_now_ns();
    for (int i = 0; i < 100; i++)
        CHECK_EQ(poller_wait(p, ev, 4, 0), 0);
    /* Not a speed test: 100 zero-timeout waits that blocked even briefly would take seconds. */
    CHECK(t_now_ns() - t0 < 2 * SEC);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_finite_timeout_idle(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(0)), 0);
    struct mux_event ev[4];
    int64_t t0 = t_now_ns();
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    int64_t took = t_now_ns() - t0;
    CHECK(took >= 29 * MS);  /* a timeout is never cut short (1 ms for clock granularity) */
    CHECK(took < 3 * SEC);   /* ... and does return */
    /* A sub-millisecond timeout must not become a zero (busy) poll or an infinite one. */
    t0 = t_now_ns();
    CHECK_EQ(poller_wait(p, ev, 4, 200000), 0);
    took = t_now_ns() - t0;
    CHECK(took >= 150000);
    CHECK(took < 3 * SEC);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_empty_poller_timeout(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    struct mux_event ev[4];
    int64_t t0 = t_now_ns();
    CHECK_EQ(poller_wait(p, ev, 4, 10 * MS), 0);
    CHECK(t_now_ns() - t0 >= 9 * MS);
    CHECK_EQ(poller_wait(p, ev, 4, 0), 0);
    poller_destroy(p);
}

static void t_readable_reported(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(7)), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 0), 0); /* not readable yet */
    put_byte(sv[1]);
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK(ev[0].ready & MUX_IN);
    CHECK(!(ev[0].ready & (MUX_OUT | MUX_HUP | MUX_ERR)));
    CHECK(ev[0].data == TOKEN(7));
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_writable_reported(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_OUT, TOKEN(3)), 0);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK(ev[0].ready & MUX_OUT);
    CHECK(!(ev[0].ready & (MUX_IN | MUX_HUP | MUX_ERR)));
    CHECK(ev[0].data == TOKEN(3));
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_in_out_merged(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    put_byte(sv[1]); /* readable and writable before registration */
    CHECK_EQ(poller_add(p, sv[0], MUX_IN | MUX_OUT, TOKEN(5)), 0);
    struct mux_event ev[8];
    int n = wait_some(p, ev, 8, 2 * SEC);
    CHECK_EQ(n, 1); /* one event for the fd, both bits in it */
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK_EQ(ev[0].ready & (MUX_IN | MUX_OUT), MUX_IN | MUX_OUT);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_only_ready_fds(const struct poller_ops *ops)
{
    enum { N = 64 };
    static const int ready_idx[] = {0, 5, 17, 31, 32, 50, 63};
    enum { R = sizeof ready_idx / sizeof ready_idx[0] };
    int sv[N][2];
    struct poller *p = make_poller(ops);
    CHECK(p);
    for (int i = 0; i < N; i++) {
        t_socketpair(sv[i]);
        CHECK_EQ(poller_add(p, sv[i][0], MUX_IN, TOKEN(i)), 0);
    }
    for (int k = 0; k < R; k++)
        put_byte(sv[ready_idx[k]][1]);
    int seen[N] = {0}, distinct = 0;
    int64_t deadline = t_now_ns() + 2 * SEC;
    struct mux_event ev[N];
    while (distinct < R && t_now_ns() < deadline) {
        int n = poller_wait(p, ev, N, 100 * MS);
        CHECK(n >= 0);
        CHECK(!has_duplicates(ev, n));
        for (int i = 0; i < n; i++) {
            int idx = -1;
            for (int j = 0; j < N; j++)
                if (sv[j][0] == ev[i].fd)
                    idx = j;
            CHECK(idx >= 0);
            int expected = 0;
            for (int k = 0; k < R; k++)
                expected |= ready_idx[k] == idx;
            CHECK(expected);          /* only ready fds */
            CHECK(ev[i].data == TOKEN(idx));
            CHECK(ev[i].ready & MUX_IN);
            if (!seen[idx]++)
                distinct++;
        }
    }
    CHECK_EQ(distinct, R);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(poller_del(p, sv[i][0]), 0);
        close(sv[i][0]);
        close(sv[i][1]);
    }
    poller_destroy(p);
}

/* Registers `count` socketpair ends, makes all ready, and drains them through waits of at most
 * `max` events: every fd must be reported, once. Covers fd numbers far above 1023. */
static void all_fire(const struct poller_ops *ops, int count, int max)
{
    int(*sv)[2] = calloc((size_t)count, sizeof *sv);
    char *seen = calloc((size_t)count, 1);
    int *idx_of_fd = NULL, max_fd = 0;
    struct mux_event *ev = calloc((size_t)max, sizeof *ev);
    struct poller *p = make_poller(ops);
    if (!sv || !seen || !ev || !p) {
        free(sv);
        free(seen);
        free(ev);
        CHECK(!"allocation or create failed");
    }
    for (int i = 0; i < count; i++) {
        t_socketpair(sv[i]);
        if (sv[i][0] > max_fd)
            max_fd = sv[i][0];
        if (poller_add(p, sv[i][0], MUX_IN, TOKEN(i)) != 0) {
            fprintf(stderr, "add of fd %d failed\n", sv[i][0]);
            t_failures++;
            goto out;
        }
    }
    idx_of_fd = malloc(((size_t)max_fd + 1) * sizeof *idx_of_fd);
    if (!idx_of_fd) {
        fprintf(stderr, "out of memory\n");
        t_failures++;
        goto out;
    }
    for (int fd = 0; fd <= max_fd; fd++) /* an fd that is not ours maps to no index */
        idx_of_fd[fd] = -1;
    for (int i = 0; i < count; i++)
        idx_of_fd[sv[i][0]] = i;
    for (int i = 0; i < count; i++)
        put_byte(sv[i][1]);
    int distinct = 0;
    int64_t deadline = t_now_ns() + 10 * SEC;
    while (distinct < count && t_now_ns() < deadline) {
        int n = poller_wait(p, ev, max, 200 * MS);
        if (n < 0 || has_duplicates(ev, n)) {
            fprintf(stderr, "wait returned %d or a duplicate\n", n);
            t_failures++;
            goto out;
        }
        for (int i = 0; i < n; i++) {
            int fd = ev[i].fd;
            int idx = (fd >= 0 && fd <= max_fd) ? idx_of_fd[fd] : -1;
            if (idx < 0 || sv[idx][0] != fd || ev[i].data != TOKEN(idx) || seen[idx]) {
                fprintf(stderr, "fd %d: unexpected, wrong data, or reported after drain\n", fd);
                t_failures++;
                goto out;
            }
            seen[idx] = 1;
            distinct++;
            drain(fd);
        }
    }
    if (distinct != count) {
        fprintf(stderr, "%d of %d fds reported\n", distinct, count);
        t_failures++;
    }
    if (max_fd < 1024) {
        fprintf(stderr, "the test never reached fd 1024 (max %d)\n", max_fd);
        t_failures++;
    }
out:
    for (int i = 0; i < count; i++) {
        if (sv[i][0] > 0) {
            poller_del(p, sv[i][0]);
            close(sv[i][0]);
            close(sv[i][1]);
        }
    }
    poller_destroy(p);
    free(idx_of_fd);
    free(sv);
    free(seen);
    free(ev);
}

/* The high-fd tests cannot run on a backend that refuses fds >= its fd_limit (libevent-select):
 * fd_limit_refused checks the refusal instead. */
static void skip_if_fd_limit(const struct poller_ops *ops, int needs)
{
    if (ops->fd_limit > 0 && ops->fd_limit <= needs)
        t_skip("%s refuses fds >= %d (fd_limit; fd_limit_refused checks that), and this test "
               "needs fds up to %d", ops->name, ops->fd_limit, needs);
}

static void t_many_fds_all_fire(const struct poller_ops *ops)
{
    skip_if_fd_limit(ops, 8000);
    if (t_raise_nofile() < 9000) {
        fprintf(stderr, "RLIMIT_NOFILE below 9000; cannot hold 4000 socketpairs\n");
        t_failures++;
        return;
    }
    all_fire(ops, 4000, 512);
}

static void t_high_fd_numbers(const struct poller_ops *ops)
{
    skip_if_fd_limit(ops, 5000);
    long lim = t_raise_nofile();
    CHECK(lim > 1100);
    int targets[] = {1023, 1024, 1500, (int)(lim > 5001 ? 5000 : lim - 2)};
    enum { K = sizeof targets / sizeof targets[0] };
    int peer[K];
    struct poller *p = make_poller(ops);
    CHECK(p);
    for (int k = 0; k < K; k++) {
        int sv[2];
        t_socketpair(sv);
        CHECK(dup3(sv[0], targets[k], O_CLOEXEC) == targets[k]);
        close(sv[0]);
        peer[k] = sv[1];
        CHECK_EQ(poller_add(p, targets[k], MUX_IN, TOKEN(k)), 0);
    }
    struct mux_event ev[8];
    for (int k = 0; k < K; k++) {
        put_byte(peer[k]);
        CHECK_EQ(wait_some(p, ev, 8, 2 * SEC), 1);
        CHECK_EQ(ev[0].fd, targets[k]);
        CHECK(ev[0].data == TOKEN(k));
        drain(targets[k]);
    }
    for (int k = 0; k < K; k++) {
        CHECK_EQ(poller_del(p, targets[k]), 0);
        close(targets[k]);
        close(peer[k]);
    }
    poller_destroy(p);
}

/* A backend with an fd_limit refuses the fd at the limit with -ERANGE, leaves nothing of it
 * registered, and still serves the fd just below. */
static void t_fd_limit_refused(const struct poller_ops *ops)
{
    if (ops->fd_limit <= 0)
        t_skip("%s has no fd limit (high_fd_numbers covers fds above 1023)", ops->name);
    CHECK(t_raise_nofile() > ops->fd_limit + 1);
    struct poller *p = make_poller(ops);
    CHECK(p);
    int at = ops->fd_limit, below = ops->fd_limit - 1, sv[2], bv[2];
    t_socketpair(sv);
    t_socketpair(bv);
    CHECK(dup3(sv[0], at, O_CLOEXEC) == at);
    CHECK(dup3(bv[0], below, O_CLOEXEC) == below);
    close(sv[0]);
    close(bv[0]);
    CHECK_EQ(poller_add(p, at, MUX_IN, TOKEN(1)), -ERANGE);
    CHECK_EQ(poller_add(p, below, MUX_IN, TOKEN(2)), 0);
    put_byte(sv[1]);
    put_byte(bv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, below);
    CHECK(ev[0].data == TOKEN(2));
    CHECK_EQ(poller_del(p, at), -ENOENT); /* the refused fd was never registered */
    CHECK_EQ(poller_del(p, below), 0);
    poller_destroy(p);
    close(at);
    close(below);
    close(sv[1]);
    close(bv[1]);
}

static void t_level_repeats(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    put_byte(sv[1]);
    struct mux_event ev[4];
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
        CHECK_EQ(ev[0].fd, sv[0]);
    }
    drain(sv[0]);
    CHECK_EQ(poller_wait(p, ev, 4, 20 * MS), 0);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_edge_once(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN | MUX_EDGE, TOKEN(1)), 0);
    put_byte(sv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0); /* still readable, no new edge */
    put_byte(sv[1]);                             /* new data: a new edge */
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_oneshot_disarms(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN | MUX_ONESHOT, TOKEN(1)), 0);
    put_byte(sv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    put_byte(sv[1]);
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0); /* disarmed, whatever happens */
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN | MUX_ONESHOT, TOKEN(2)), 0);
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1); /* re-armed, and still readable */
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK(ev[0].data == TOKEN(2));
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_mod_changes_interest(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv); /* writable, not readable */
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 20 * MS), 0);
    CHECK_EQ(poller_mod(p, sv[0], MUX_OUT, TOKEN(1)), 0);
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    CHECK(ev[0].ready & MUX_OUT);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN, TOKEN(1)), 0);
    CHECK_EQ(poller_wait(p, ev, 4, 20 * MS), 0); /* writable no longer asked for */
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_mod_changes_data(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN, TOKEN(9)), 0);
    put_byte(sv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK(ev[0].data == TOKEN(9));
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_del_stops_events(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    put_byte(sv[1]);
    CHECK_EQ(poller_del(p, sv[0]), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(2)), 0); /* and it can come back */
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK(ev[0].data == TOKEN(2));
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

/* An event queued for a registration that was removed must not surface for a new fd that
 * got the same number (io_uring's completion ring can hold one; kqueue coalescing too). */
static void t_no_stale_after_reuse(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    int fd = sv[0];
    CHECK_EQ(poller_add(p, fd, MUX_IN | MUX_OUT, TOKEN(1)), 0);
    put_byte(sv[1]);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 0) >= 0, 1); /* let any completion be posted */
    put_byte(sv[1]);
    CHECK_EQ(poller_del(p, fd), 0);
    close(sv[0]);
    close(sv[1]);
    int nv[2];
    t_socketpair(nv);
    if (nv[0] != fd) { /* take the old number back for the new idle socket */
        CHECK(dup3(nv[0], fd, O_CLOEXEC) == fd);
        close(nv[0]);
        nv[0] = fd;
    }
    CHECK_EQ(poller_add(p, fd, MUX_IN, TOKEN(2)), 0);
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    put_byte(nv[1]);
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK(ev[0].data == TOKEN(2));
    poller_del(p, fd);
    poller_destroy(p);
    close(nv[0]);
    close(nv[1]);
}

static void t_hangup_reported(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2], pfd[2];
    t_socketpair(sv);
    CHECK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    CHECK_EQ(poller_add(p, pfd[0], MUX_IN, TOKEN(2)), 0);
    close(sv[1]);
    close(pfd[1]);
    struct mux_event ev[4];
    int got = 0;
    int64_t deadline = t_now_ns() + 2 * SEC;
    while (got != 3 && t_now_ns() < deadline) {
        int n = poller_wait(p, ev, 4, 100 * MS);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            int which = ev[i].fd == sv[0] ? 1 : ev[i].fd == pfd[0] ? 2 : 0;
            CHECK(which);
            if (ops->features & MUX_F_HUPERR)
                CHECK(ev[i].ready & MUX_HUP);
            else
                CHECK(ev[i].ready & MUX_IN);
            char c;
            CHECK_EQ(read(ev[i].fd, &c, 1), 0); /* end of file, as the event said */
            got |= which;
        }
    }
    CHECK_EQ(got, 3);
    poller_del(p, sv[0]);
    poller_del(p, pfd[0]);
    poller_destroy(p);
    close(sv[0]);
    close(pfd[0]);
}

static void t_error_reported(const struct poller_ops *ops)
{
    /* A port with nothing listening: bind to get one, then close without listen(). */
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(probe >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    CHECK(bind(probe, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(getsockname(probe, (struct sockaddr *)&addr, &len) == 0);
    close(probe);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(s >= 0);
    int rc = connect(s, (struct sockaddr *)&addr, sizeof addr);
    CHECK(rc < 0 && (errno == EINPROGRESS || errno == ECONNREFUSED));
    struct poller *p = make_poller(ops);
    CHECK(p);
    CHECK_EQ(poller_add(p, s, MUX_IN | MUX_OUT, TOKEN(4)), 0);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, s);
    if (ops->features & MUX_F_HUPERR)
        CHECK(ev[0].ready & MUX_ERR);
    else
        CHECK(ev[0].ready & (MUX_IN | MUX_OUT));
    int err = 0;
    len = sizeof err;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK_EQ(err, ECONNREFUSED); /* the backend did not swallow the error */
    poller_del(p, s);
    poller_destroy(p);
    close(s);
}

static int unused_fd(void)
{
    for (int fd = 900; fd < 1020; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            return fd;
    return -1;
}

static void t_bad_fd_refused(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    close(sv[1]);
    int closed = sv[1];
    CHECK_EQ(poller_add(p, closed, MUX_IN, TOKEN(0)), -EBADF);
    int never = unused_fd();
    CHECK(never > 0);
    CHECK_EQ(poller_add(p, never, MUX_IN, TOKEN(0)), -EBADF);
    CHECK_EQ(poller_add(p, -1, MUX_IN, TOKEN(0)), -EBADF);
    /* The refused fds left nothing behind: a healthy fd still works alone. */
    int nv[2];
    t_socketpair(nv);
    CHECK_EQ(poller_add(p, nv[0], MUX_IN, TOKEN(1)), 0);
    put_byte(nv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1);
    CHECK_EQ(ev[0].fd, nv[0]);
    poller_del(p, nv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(nv[0]);
    close(nv[1]);
}

static void t_double_add_refused(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(2)), -EEXIST);
    put_byte(sv[1]);
    struct mux_event ev[4];
    CHECK_EQ(wait_some(p, ev, 4, 2 * SEC), 1); /* the first registration stands */
    CHECK(ev[0].data == TOKEN(1));
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_del_unregistered_refused(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_del(p, sv[0]), -ENOENT);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN, TOKEN(0)), -ENOENT);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(0)), 0);
    CHECK_EQ(poller_del(p, sv[0]), 0);
    CHECK_EQ(poller_del(p, sv[0]), -ENOENT);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN, TOKEN(0)), -ENOENT);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_bad_arguments_refused(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    struct mux_event ev[1];
    CHECK_EQ(poller_wait(p, ev, 0, 0), -EINVAL);
    CHECK_EQ(poller_wait(p, ev, -1, 0), -EINVAL);
    CHECK_EQ(ops->add(p, sv[0], 0, TOKEN(0)), -EINVAL);              /* nothing asked for */
    CHECK_EQ(ops->add(p, sv[0], MUX_IN | (1u << 20), TOKEN(0)), -EINVAL); /* unknown bit */
    CHECK_EQ(ops->add(p, sv[0], MUX_IN | MUX_HUP, TOKEN(0)), -EINVAL); /* reported-only bit */
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(0)), 0);
    CHECK_EQ(ops->mod(p, sv[0], 0, TOKEN(0)), -EINVAL);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_modes_match_features(const struct poller_ops *ops)
{
    static const struct {
        uint32_t mode;
        unsigned feature;
    } modes[] = {{0, MUX_F_LEVEL}, {MUX_EDGE, MUX_F_EDGE}, {MUX_ONESHOT, MUX_F_ONESHOT}};
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        /* ops->add directly: the variant's forced mode is not ORed in here. */
        int rc = ops->add(p, sv[0], MUX_IN | modes[i].mode, TOKEN(0));
        if (ops->features & modes[i].feature) {
            CHECK_EQ(rc, 0);
            CHECK_EQ(poller_del(p, sv[0]), 0);
        } else {
            CHECK_EQ(rc, -EOPNOTSUPP);
        }
    }
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

struct delayed {
    int fd;
    int signo;
    pthread_t target;
    atomic_int stop;
};

static void *write_later(void *arg)
{
    struct delayed *d = arg;
    usleep(20000);
    put_byte(d->fd);
    return NULL;
}

static void t_infinite_wait_wakes(const struct poller_ops *ops)
{
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    struct delayed d = {.fd = sv[1]};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, write_later, &d) == 0);
    struct mux_event ev[4];
    int n;
    do
        n = poller_wait(p, ev, 4, -1);
    while (n == 0); /* an EINTR is zero events; keep waiting */
    pthread_join(th, NULL);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].fd, sv[0]);
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void on_signal(int sig) { (void)sig; }

static void *signal_until_stopped(void *arg)
{
    struct delayed *d = arg;
    while (!atomic_load(&d->stop)) {
        usleep(20000);
        pthread_kill(d->target, d->signo);
    }
    return NULL;
}

static void t_eintr_is_zero(const struct poller_ops *ops)
{
    if (ops->features & MUX_F_EINTR_RESTART)
        t_skip("%s restarts a wait a signal interrupted (MUX_F_EINTR_RESTART: the library's own "
               "loop retries epoll_wait/poll/select on EINTR); a signal cannot end its wait",
               ops->name);
    struct sigaction sa = {.sa_handler = on_signal}, old;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0); /* no SA_RESTART: the wait sees EINTR */
    struct poller *p = make_poller(ops);
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, TOKEN(1)), 0);
    struct delayed d = {.signo = SIGUSR1, .target = pthread_self()};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, signal_until_stopped, &d) == 0);
    struct mux_event ev[4];
    int64_t t0 = t_now_ns();
    int n = poller_wait(p, ev, 4, 10 * SEC);
    int64_t took = t_now_ns() - t0;
    atomic_store(&d.stop, 1);
    pthread_join(th, NULL);
    sigaction(SIGUSR1, &old, NULL);
    CHECK_EQ(n, 0);
    CHECK(took < 8 * SEC); /* it was the signal that ended the wait, not the timeout */
    poller_del(p, sv[0]);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_max_smaller_than_ready(const struct poller_ops *ops)
{
    enum { N = 10, MAX = 3 };
    int sv[N][2];
    struct poller *p = make_poller(ops);
    CHECK(p);
    for (int i = 0; i < N; i++) {
        t_socketpair(sv[i]);
        CHECK_EQ(poller_add(p, sv[i][0], MUX_IN, TOKEN(i)), 0);
        put_byte(sv[i][1]);
    }
    int seen[N] = {0}, distinct = 0;
    struct mux_event ev[MAX];
    int64_t deadline = t_now_ns() + 2 * SEC;
    for (int call = 0; distinct < N && t_now_ns() < deadline; call++) {
        int n = poller_wait(p, ev, MAX, 100 * MS);
        CHECK(n >= 0 && n <= MAX);
        CHECK(!has_duplicates(ev, n));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < N; j++)
                if (sv[j][0] == ev[i].fd && !seen[j]++)
                    distinct++;
        /* Nothing is drained: a level backend that always rescans from the start would hand
         * back the same three forever. Four full calls are enough to cover ten. */
        if (call == (N + MAX - 1) / MAX - 1 && n == MAX)
            CHECK_EQ(distinct, N);
    }
    CHECK_EQ(distinct, N);
    for (int i = 0; i < N; i++) {
        poller_del(p, sv[i][0]);
        close(sv[i][0]);
        close(sv[i][1]);
    }
    poller_destroy(p);
}

/* ---------------------------------------------------------------------------------------- */

struct test_case {
    const char *name;
    void (*fn)(const struct poller_ops *);
    unsigned needs; /* MUX_F_* the backend must claim, else the test is a skip */
};

/* CMake reads the names from these lines: keep one entry per line, in this form. */
static const struct test_case tests[] = {
    {"create_destroy_no_leak", t_create_destroy_no_leak, 0},
    {"zero_timeout_idle", t_zero_timeout_idle, 0},
    {"finite_timeout_idle", t_finite_timeout_idle, 0},
    {"empty_poller_timeout", t_empty_poller_timeout, 0},
    {"readable_reported", t_readable_reported, 0},
    {"writable_reported", t_writable_reported, 0},
    {"in_out_merged", t_in_out_merged, 0},
    {"only_ready_fds", t_only_ready_fds, 0},
    {"many_fds_all_fire", t_many_fds_all_fire, 0},
    {"high_fd_numbers", t_high_fd_numbers, 0},
    {"fd_limit_refused", t_fd_limit_refused, 0},
    {"level_repeats", t_level_repeats, MUX_F_LEVEL},
    {"edge_once", t_edge_once, MUX_F_EDGE},
    {"oneshot_disarms", t_oneshot_disarms, MUX_F_ONESHOT},
    {"mod_changes_interest", t_mod_changes_interest, 0},
    {"mod_changes_data", t_mod_changes_data, 0},
    {"del_stops_events", t_del_stops_events, 0},
    {"no_stale_after_reuse", t_no_stale_after_reuse, 0},
    {"hangup_reported", t_hangup_reported, 0},
    {"error_reported", t_error_reported, 0},
    {"bad_fd_refused", t_bad_fd_refused, 0},
    {"double_add_refused", t_double_add_refused, 0},
    {"del_unregistered_refused", t_del_unregistered_refused, 0},
    {"bad_arguments_refused", t_bad_arguments_refused, 0},
    {"modes_match_features", t_modes_match_features, 0},
    {"infinite_wait_wakes", t_infinite_wait_wakes, 0},
    {"eintr_is_zero", t_eintr_is_zero, 0},
    {"max_smaller_than_ready", t_max_smaller_than_ready, 0},
};

int main(int argc, char **argv)
{
    int status;
    const struct poller_ops *ops;
    long k = t_backend_main(argc, argv, tests, sizeof tests[0], sizeof tests / sizeof tests[0],
                            &ops, &status);
    if (k < 0)
        return status;
    const struct test_case *tc = &tests[k];
    if ((ops->features & tc->needs) != tc->needs) {
        printf("SKIP %s/%s: backend does not claim this mode (modes_match_features checks "
               "that it refuses it)\n", ops->name, tc->name);
        return T_SKIP;
    }
    tc->fn(ops);
    printf("%s %s/%s\n", t_failures ? "FAIL" : "PASS", ops->name, tc->name);
    return t_failures ? 1 : 0;
}
