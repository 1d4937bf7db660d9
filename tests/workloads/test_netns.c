/*
 * test_netns.c - echo's transport=veth namespaces (workloads/support/netns.h) against an
 * interruption that comes while the run's thread is making or removing the pair.
 *
 * The property: when netns_remove_current() returns (the signal thread or the crash handler
 * then exits the process), no namespace of this process is left, whatever the run's thread was
 * doing, and the run's thread makes none afterwards. Each trial runs in a child process of its
 * own (the names carry the pid, and an interruption is for good). Root and iproute2 are needed;
 * otherwise the tests skip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/util/testutil.h"
#include "workloads/support/netns.h"

#define TRIALS 40

static void need_netns(void)
{
    char why[256];
    if (netns_available(why, sizeof why) < 0)
        t_skip("%s", why);
}

/* Whether the namespace of process pid's side ('s' server, 'c' client) exists. */
static int name_exists(pid_t pid, char side)
{
    char path[128];
    snprintf(path, sizeof path, "/run/netns/muxbench-%ld-%c", (long)pid, side);
    return access(path, F_OK) == 0;
}

/* How many of this process's two names exist under /run/netns. */
static int names_left(void)
{
    return name_exists(getpid(), 's') + name_exists(getpid(), 'c');
}

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

struct race {
    struct netns_pair pair;
    pthread_barrier_t go;
    long delay_ns; /* how long after the barrier the run's thread starts */
    int create;    /* 1: the run's thread makes a pair; 0: it removes the one made */
    int created;   /* what netns_pair_create returned */
};

static void *run_thread(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(&r->go);
    sleep_ns(r->delay_ns);
    if (r->create) {
        char why[512];
        r->created = netns_pair_create(&r->pair, why, sizeof why);
        if (r->created == 0)
            return NULL; /* the pair stays: the interruption must remove it */
    } else {
        netns_pair_remove(&r->pair);
    }
    return NULL;
}

/* One trial in a child: exit 0 when the property held; 1 names left when the interruption
 * returned, 2 names left (made) after it, 3 a set-up failure. */
static int trial(int create, long run_delay_ns, long interrupt_delay_ns)
{
    struct race r = {.create = create, .delay_ns = run_delay_ns};
    if (!create) {
        char why[512];
        if (netns_pair_create(&r.pair, why, sizeof why) < 0) {
            fprintf(stderr, "netns_pair_create: %s\n", why);
            return 3;
        }
    }
    pthread_barrier_init(&r.go, NULL, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, run_thread, &r) != 0)
        return 3;
    pthread_barrier_wait(&r.go);
    sleep_ns(interrupt_delay_ns);
    netns_remove_current();
    int at_return = names_left(); /* the moment the process would _exit */
    pthread_join(t, NULL);
    int after = names_left();
    pthread_barrier_destroy(&r.go);
    netns_pair_remove(&r.pair); /* leave the machine clean whatever happened */
    return at_return ? 1 : after ? 2 : 0;
}

static void run_trials(int create, long spread_ns)
{
    int failed[4] = {0};
    for (int i = 0; i < TRIALS; i++) {
        /* Spread the interruption over the run's thread's work: before it, in it, after it. */
        long run_delay = (i % 2) ? 0 : spread_ns / 4;
        long interrupt_delay = spread_ns * (i % 8) / 8;
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            _exit(trial(create, run_delay, interrupt_delay));
        int st = 0;
        CHECK_EQ(waitpid(pid, &st, 0), pid);
        CHECK(WIFEXITED(st));
        int code = WEXITSTATUS(st);
        CHECK(code <= 3);
        failed[code]++;
        for (const char *side = "sc"; *side; side++) { /* a failed trial's, so none outlive us */
            if (name_exists(pid, *side)) {
                char cmd[192];
                snprintf(cmd, sizeof cmd, "ip netns del muxbench-%ld-%c", (long)pid, *side);
                if (system(cmd) != 0)
                    fprintf(stderr, "could not run: %s\n", cmd);
            }
        }
    }
    fprintf(stderr, "%d trials: %d held, %d left a name at the interruption's return, %d made "
                    "one after it, %d could not set up\n",
            TRIALS, failed[0], failed[1], failed[2], failed[3]);
    CHECK_EQ(failed[3], 0);
    CHECK_EQ(failed[1], 0);
    CHECK_EQ(failed[2], 0);
}

/* The run's thread is removing the pair (the end of a case, or its error path after the
 * interruption killed the agents) when the interruption comes. */
static void t_interrupt_during_remove(void)
{
    need_netns();
    run_trials(0, 200000);
}

/* The run's thread is making the pair (nine `ip` calls) when the interruption comes. */
static void t_interrupt_during_create(void)
{
    need_netns();
    int64_t t0 = t_now_ns();
    struct netns_pair p;
    char why[512];
    CHECK(netns_pair_create(&p, why, sizeof why) == 0);
    int64_t took = t_now_ns() - t0;
    netns_pair_remove(&p);
    CHECK_EQ(names_left(), 0);
    run_trials(1, (long)took);
}

static const struct t_test tests[] = {
    {"interrupt_during_remove", t_interrupt_during_remove},
    {"interrupt_during_create", t_interrupt_during_create},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "netns.", tests, sizeof tests / sizeof tests[0]);
}
