/*
 * test_uring_overflow.c - a full CQ ring loses no event (io_uring quirks b and c).
 *
 * One eventfd takes 40,000 wakeups before any wait, one multishot CQE each: more than the CQ
 * ring holds at the default queue depth (16,384 entries), so the kernel ends the multishot
 * poll and parks CQEs in its overflow list. A second eventfd becomes ready only after the
 * ring is full, so its one CQE exists only in that list. Then:
 *   - waits report both fds, once each (the overflow list was flushed, the burst merged);
 *   - once both are drained, nothing more is reported (the re-arm did not re-report them);
 *   - a new write is reported (the ended multishot was re-armed).
 * Without IORING_SETUP_DEFER_TASKRUN the burst posts its CQEs as it happens, and the test checks
 * through poller_uring_overflows() that the ring did overflow before the first wait. With it
 * (Linux 6.1, used where the kernel has it) the wakeups of one fd coalesce into one pending
 * completion until a wait runs it, so that burst cannot overflow the ring: then only the
 * no-loss and re-arm properties above are checked.
 *
 * `test_uring_overflow io_uring many` (ctest uring_overflow_many): MANY_EXTRA more fds than the
 * CQ ring holds are made ready at once (one CQE each); every fd must be reported exactly once,
 * and the test is skipped (77), saying so, when the CQ never overflowed: a kernel that runs
 * deferred completions in bounded batches (6.18 here does) never fills the ring this way,
 * and a pass would then prove nothing about the overflow path. Needs RLIMIT_NOFILE above that
 * count (skip otherwise, the limit read at run time).
 * Only `io_uring` runs it: a single-shot poll posts one CQE per arm, so io_uring-oneshot
 * would need over 16,384 fds ready at once to fill the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pollers/poller.h"
#include "tests/util/testutil.h"

#define WAKEUPS 40000
#define SEC 1000000000LL
#define MS 1000000LL

static void bump(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) != (ssize_t)sizeof one) {
        perror("eventfd write");
        exit(1);
    }
}

static void drain(int efd)
{
    uint64_t v;
    while (read(efd, &v, sizeof v) == (ssize_t)sizeof v)
        ;
}

static void overflow_loses_nothing(const struct poller_ops *ops)
{
    struct poller *p = NULL;
    CHECK_EQ(poller_create(ops, &p, NULL), 0);
    int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(a >= 0 && b >= 0);
    CHECK_EQ(poller_add(p, a, MUX_IN, &a), 0);
    CHECK_EQ(poller_add(p, b, MUX_IN, &b), 0);
    for (int i = 0; i < WAKEUPS; i++)
        bump(a);
    bump(b);
    struct mux_event ev[8];
    int seen_a = 0, seen_b = 0;
    int64_t deadline = t_now_ns() + 2 * SEC;
    while ((!seen_a || !seen_b) && t_now_ns() < deadline) {
        int n = poller_wait(p, ev, 8, 100 * MS);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            CHECK(ev[i].fd == a || ev[i].fd == b);
            CHECK(ev[i].ready & MUX_IN);
            CHECK(ev[i].data == (ev[i].fd == a ? (void *)&a : (void *)&b));
            int *seen = ev[i].fd == a ? &seen_a : &seen_b;
            CHECK_EQ(*seen, 0); /* once: every CQE of the burst merged or dropped */
            *seen = 1;
        }
    }
    CHECK(seen_a && seen_b);
    if (strstr(poller_uring_setup_flags(), "no DEFER"))
        CHECK(poller_uring_overflows(p) >= 1); /* the burst did fill the ring */
    printf("%s: the burst of %d wakeups: CQ overflow seen in %ld reap(s)%s\n", ops->name,
           WAKEUPS, poller_uring_overflows(p),
           strstr(poller_uring_setup_flags(), "no DEFER") ? ""
                                                           : " (DEFER_TASKRUN: they coalesce)");
    drain(a);
    drain(b);
    CHECK_EQ(poller_wait(p, ev, 8, 30 * MS), 0);
    bump(a);
    int n = poller_wait(p, ev, 8, 2 * SEC);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].fd, a);
    drain(a);
    CHECK_EQ(poller_wait(p, ev, 8, 30 * MS), 0);
    CHECK_EQ(poller_del(p, a), 0);
    CHECK_EQ(poller_del(p, b), 0);
    close(a);
    close(b);
    poller_destroy(p);
}

#define CQ_ENTRIES 16384 /* the backend's CQ ring at the default queue depth (pollers/uring.c) */
#define MANY_EXTRA 1024

static int g_overflowed = -1; /* many_fds_overflow: whether the CQ overflowed */

static void many_fds_overflow(const struct poller_ops *ops)
{
    int want = CQ_ENTRIES + MANY_EXTRA;
    if (t_raise_nofile() < want + 64) {
        printf("SKIP %s/overflow_many: RLIMIT_NOFILE is below %d\n", ops->name, want + 64);
        return;
    }
    struct poller *p = NULL;
    struct poller_cfg cfg = {.expected_fds = want + 64};
    CHECK_EQ(poller_create(ops, &p, &cfg), 0);
    int *efd = calloc((size_t)want, sizeof *efd);
    char *seen = calloc((size_t)want + 64, 1);
    CHECK(efd && seen);
    int made = 0;
    for (; made < want; made++) {
        efd[made] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd[made] < 0 || efd[made] >= want + 64 ||
            poller_add(p, efd[made], MUX_IN, &efd[made]) != 0)
            break;
    }
    CHECK_EQ(made, want);
    for (int i = 0; i < want; i++)
        bump(efd[i]);
    struct mux_event ev[1024];
    int distinct = 0;
    int64_t deadline = t_now_ns() + 10 * SEC;
    while (distinct < want && t_now_ns() < deadline) {
        int n = poller_wait(p, ev, 1024, 100 * MS);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            CHECK(ev[i].fd >= 0 && ev[i].fd < want + 64);
            CHECK(ev[i].data && *(const int *)ev[i].data == ev[i].fd); /* its own data */
            CHECK_EQ(seen[ev[i].fd], 0); /* once */
            seen[ev[i].fd] = 1;
            distinct++;
        }
    }
    CHECK_EQ(distinct, want);
    g_overflowed = poller_uring_overflows(p) >= 1;
    printf("%s: %d fds ready at once, each reported once; CQ overflow seen in %ld reap(s)\n",
           ops->name, want, poller_uring_overflows(p));
    for (int i = 0; i < want; i++) {
        poller_del(p, efd[i]);
        close(efd[i]);
    }
    free(efd);
    free(seen);
    poller_destroy(p);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s <backend> [many]\n", argv[0]);
        return 2;
    }
    t_print_kernel(argv[0]);
    const struct poller_ops *ops = poller_find(argv[1]);
    if (!ops) {
        fprintf(stderr, "unknown backend '%s'\n", argv[1]);
        return 2;
    }
    char why[512];
    if (poller_probe(ops, why, sizeof why) != 0) {
        printf("SKIP %s/overflow: backend unavailable: %s\n", ops->name, why);
        return T_SKIP;
    }
    if (argc == 3 && strcmp(argv[2], "many") == 0) {
        many_fds_overflow(ops);
        if (!t_failures && g_overflowed != 1) {
            printf("SKIP %s/overflow_many: the CQ ring never overflowed (this kernel runs "
                   "deferred completions in bounded batches): the overflow path was not "
                   "exercised\n", ops->name);
            return T_SKIP;
        }
        printf("%s %s/overflow_many\n", t_failures ? "FAIL" : "PASS", ops->name);
        return t_failures ? 1 : 0;
    }
    overflow_loses_nothing(ops);
    printf("%s %s/overflow\n", t_failures ? "FAIL" : "PASS", ops->name);
    return t_failures ? 1 : 0;
}
