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
 * Only `io_uring` runs it: a single-shot poll posts one CQE per arm, so io_uring-oneshot
 * would need over 16,384 fds ready at once to fill the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <backend>\n", argv[0]);
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
    overflow_loses_nothing(ops);
    printf("%s %s/overflow\n", t_failures ? "FAIL" : "PASS", ops->name);
    return t_failures ? 1 : 0;
}
