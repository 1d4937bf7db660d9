/*
 * test_fanin.c - the fanin workload's own properties, in-process:
 *
 *   helper_cleanup          after finish(), the fds, threads and mappings of the process are as
 *                           before the cases ran, and no child process is left
 *   helper_death_reaped     a helper killed under the pool is noticed, reaped, and replaced
 *   dropped_event_fails     a poller wrapper that loses an event makes the case fail with an
 *                           `error` row (events delivered must equal fds made ready); the loss
 *                           comes after setup's calibration (3 + 16 waits), in the measured waits
 *   duplicate_event_fails   one that reports an fd twice for one write fails it too
 *
 *   test_fanin <test>       exit 0 pass, 1 fail, 77 skip
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/support/fanin_pool.h"
#include "harness/run.h"
#include "tests/util/testutil.h"
#include "harness/planner.h"

extern const struct workload fanin_workload;

/* Plans fanin for one poller with --set values, and runs every case's setup and teardown (the
 * setup makes the pool, registers the fds and runs the calibration waves through the helper). */
static int run_setups(const struct poller_ops *ops, const char *const *sets)
{
    struct run_opts o = {.quick = 1};
    char msg[1024];
    for (int i = 0; sets[i]; i++)
        if (param_parse_set(&o.set, sets[i], msg, sizeof msg) < 0) {
            fprintf(stderr, "%s\n", msg);
            return -1;
        }
    struct plan plan = {0};
    int st = fanin_workload.plan(&plan, &o, &fanin_workload, ops, msg, sizeof msg);
    int rc = st ? -1 : 0;
    for (int i = 0; rc == 0 && i < plan.count; i++) {
        struct bench_case *c = plan.cases[i];
        if (!c->setup)
            continue; /* the fit */
        msg[0] = '\0';
        if (c->setup(c, msg, sizeof msg) != BENCH_OK) {
            fprintf(stderr, "%s: setup: %s\n", c->name, msg);
            rc = -1;
            break;
        }
        if (pool_helper_pid() <= 0) {
            fprintf(stderr, "%s: no helper after setup\n", c->name);
            rc = -1;
        }
        c->teardown(c);
    }
    plan_free(&plan);
    return rc;
}

static int no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static void t_helper_cleanup(void)
{
    CHECK(t_raise_nofile() > 2000);
    const struct poller_ops *epoll = poller_find("epoll");
    CHECK(epoll);
    static const char *const unix_sets[] = {"fds=16,512,1500", "active=4", NULL};
    static const char *const tcp_sets[] = {"fds=100", "transport=tcp", "timeout=zero", NULL};
    /* A warm-up run of the same cases: the allocator (ASan's by size class) and the libraries
     * map what they keep on first use; the baseline is taken after it. */
    CHECK_EQ(run_setups(epoll, unix_sets), 0);
    CHECK_EQ(run_setups(epoll, tcp_sets), 0);
    fanin_workload.finish();
    int fds0 = t_count_fds(), maps0 = t_count_maps(), threads0 = t_count_threads();
    CHECK_EQ(run_setups(epoll, unix_sets), 0);
    pid_t helper = pool_helper_pid();
    CHECK(helper > 0);
    CHECK(t_count_fds() > fds0 + 1500); /* the pool stays between cases */
    CHECK_EQ(run_setups(epoll, tcp_sets), 0); /* another transport: the pool is rebuilt */
    CHECK_EQ(pool_helper_pid(), helper);      /* by the same helper */
    fanin_workload.finish();
    CHECK_EQ(pool_helper_pid(), 0);
    CHECK(kill(helper, 0) == -1 && errno == ESRCH); /* gone, and reaped: not even a zombie */
    CHECK(no_children());
    CHECK_EQ(t_count_fds(), fds0);
    CHECK_EQ(t_count_maps(), maps0);
    CHECK_EQ(t_count_threads(), threads0);
}

static void t_helper_death_reaped(void)
{
    char msg[512];
    CHECK_EQ(pool_ensure(POOL_UNIX, 32, msg, sizeof msg), 0);
    pid_t helper = pool_helper_pid();
    CHECK(helper > 0);
    int idx[2] = {0, 31};
    CHECK_EQ(pool_set_active(idx, 2, msg, sizeof msg), 0);
    CHECK_EQ(pool_wave(0, 2, msg, sizeof msg), 0);
    CHECK(kill(helper, SIGKILL) == 0); /* as a crash would */
    CHECK_EQ(pool_wave(0, 2, msg, sizeof msg), -EPIPE);
    CHECK(strstr(msg, "helper"));
    CHECK_EQ(pool_helper_pid(), 0);
    CHECK(no_children()); /* reaped when it was found dead */
    CHECK_EQ(pool_ensure(POOL_UNIX, 32, msg, sizeof msg), 0); /* a new helper, a new pool */
    CHECK(pool_helper_pid() > 0 && pool_helper_pid() != helper);
    CHECK_EQ(pool_set_active(idx, 2, msg, sizeof msg), 0);
    CHECK_EQ(pool_wave(0, 2, msg, sizeof msg), 0);
    char c;
    CHECK_EQ(read(pool_get()->fds[31], &c, 1), 1);
    CHECK_EQ(read(pool_get()->fds[0], &c, 1), 1);
    pool_destroy();
    CHECK(no_children());
}

/* ---- broken wrappers: epoll-et, with one event lost or repeated in the 40th wait ----------- */

enum { DROP, DUPLICATE };
static int g_fault;
static int g_nonempty_waits;
static struct poller_ops g_broken;
static int (*g_real_wait)(struct poller *, struct mux_event *, int, int64_t);

static int broken_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    int n = g_real_wait(p, out, max, timeout_ns);
    if (n > 0 && ++g_nonempty_waits == 40) {
        if (g_fault == DROP)
            return n - 1; /* edge-triggered: the lost fd is never reported again */
        if (n < max)
            n++;
        out[n - 1] = out[0]; /* the first fd again, for the same single write */
    }
    return n;
}

/* Runs fanin through the whole harness with the broken wrapper; returns the exit status and
 * the CSV in csv[]. */
static int run_broken(int fault, char *csv, size_t csv_len)
{
    const struct poller_ops *et = poller_find("epoll-et");
    if (!et)
        return -1;
    g_broken = *et;
    g_broken.name = fault == DROP ? "epoll-et-drop" : "epoll-et-dup";
    g_broken.features |= MUX_F_TEST_ONLY;
    g_real_wait = et->wait;
    g_broken.wait = broken_wait;
    g_fault = fault;
    g_nonempty_waits = 0;

    static struct run_config rc;
    memset(&rc, 0, sizeof rc);
    rc.workloads[0] = &fanin_workload;
    rc.nworkloads = 1;
    rc.opts.pollers[0] = &g_broken;
    rc.opts.npollers = 1;
    rc.opts.quick = 0; /* 0.2 s of waits: far more than 40 even on a loaded machine */
    char err[512];
    if (param_parse_set(&rc.opts.set, "fds=64", err, sizeof err) < 0 ||
        param_parse_set(&rc.opts.set, "active=4", err, sizeof err) < 0)
        return -1;
    rc.shim.repetitions = 1;
    rc.shim.min_time_s = 0.01;
    char dir[] = "/tmp/muxbench-fanin-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    snprintf(rc.out_path, sizeof rc.out_path, "%s/broken.csv", dir);
    char *argv[] = {"test_fanin", NULL};
    int argc = 1;
    if (shim_init(&argc, argv, err, sizeof err) < 0)
        return -1;
    int status = run_execute(&rc, 1, argv);
    csv[0] = '\0';
    int fd = open(rc.out_path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, csv, csv_len - 1);
        csv[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    char path[PATH_MAX + 32];
    const char *const leftovers[] = {"broken.csv", "broken.gbench.json"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, leftovers[i]);
        unlink(path);
    }
    rmdir(dir);
    return status;
}

static void check_error_row(int fault, const char *expect)
{
    static char csv[1 << 20];
    int status = run_broken(fault, csv, sizeof csv);
    CHECK_EQ(status, MUX_EXIT_FAIL); /* a case failed */
    const char *row = strstr(csv, ",wait_ns,,,,,,error,");
    CHECK(row);
    CHECK(strstr(row, expect));
    CHECK(no_children()); /* finish() reaped the helper */
}

static void t_dropped_event_fails(void) { check_error_row(DROP, "events lost"); }

static void t_duplicate_event_fails(void) { check_error_row(DUPLICATE, "reported twice"); }

static const struct t_test tests[] = {
    /* CMake reads the names from these lines: keep one entry per line, in this form. */
    {"helper_cleanup", t_helper_cleanup},
    {"helper_death_reaped", t_helper_death_reaped},
    {"dropped_event_fails", t_dropped_event_fails},
    {"duplicate_event_fails", t_duplicate_event_fails},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "", tests, sizeof tests / sizeof tests[0]);
}
