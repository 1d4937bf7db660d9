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
 *   spurious_fd_fails       one that reports a registered fd nothing was written to fails it
 *   wrong_data_fails        one that hands back another fd's data pointer fails it
 *   missing_in_fails        one that reports an fd without MUX_IN fails it
 *   fdtable_private         setup with fdtable=private: no other thread shares this thread's fd
 *                           table (kcmp, counted here independently of fanin's own check)
 *   fdtable_shared          fdtable=shared: exactly one thread (fanin's idle one) shares it
 *                           during the case, and teardown ends it (threads as before)
 *   fdtable_refuses_a_lie   fdtable=private while a thread of ours shares the table: the case
 *                           is skipped with the reason, never measured under a wrong label
 *   signal_thread_detached  after a whole run (run_execute), the harness's signal thread does
 *                           not share this thread's fd table and holds at most stdio and the
 *                           CSV's fd in its own, so it keeps nothing of the run open
 *   cycle_mode_delivers     mode=cycle (this thread writes, waits and reads): setup's calibration
 *                           runs whole waves through it on epoll-oneshot (re-armed) and on
 *                           poll, every event checked; the peer ends it took are closed again
 *   known_cost_recovered    a backend of known cost (epoll whose wait first spins KNOWN_NS per
 *                           registered fd): the fitted wait_ns_per_fd is KNOWN_NS within 5%, and
 *                           the p50 of wait_ns at the largest fds is KNOWN_NS * fds within 5%
 *                           (plus the epoll wait's own ~1 us; the p50, as the fit uses, because
 *                           a mean on a loaded machine carries its preemptions). ctest also runs
 *                           it against a copy of fanin whose timing is sabotaged
 *                           (FANIN_SABOTAGE_TIMING), where it must fail
 *
 *   test_fanin <test>       exit 0 pass, 1 fail, 77 skip
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <math.h>
#include <stdint.h>
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

/* ---- broken wrappers: epoll-et, with one event lost or repeated in the 20th wait ----------- */

/* Setup's calibration makes at most 3 + 16 waits, and a repetition at least 10: the 20th
 * non-empty wait is a measured one, and with 3 repetitions it always comes. */
#define FAULT_AT 20

enum { DROP, DUPLICATE, SPURIOUS, WRONG_DATA, NO_IN };
static int g_fault;
static int g_nonempty_waits;
static struct poller_ops g_broken;
static int (*g_real_wait)(struct poller *, struct mux_event *, int, int64_t);

static int broken_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    int n = g_real_wait(p, out, max, timeout_ns);
    if (n > 0 && ++g_nonempty_waits == FAULT_AT) {
        switch (g_fault) {
        case DROP:
            return n - 1; /* edge-triggered: the lost fd is never reported again */
        case DUPLICATE:
            if (n < max)
                n++;
            out[n - 1] = out[0]; /* the first fd again, for the same single write */
            break;
        case SPURIOUS: { /* a registered fd (the pool's first or second) nothing was written to */
            const struct pool *pl = pool_get();
            int other = pl->fds[0] == out[0].fd ? pl->fds[1] : pl->fds[0];
            out[0].fd = other;
            out[0].data = (void *)(uintptr_t)(pl->idx_of_fd[other] + 1);
            break;
        }
        case WRONG_DATA:
            out[0].data = (char *)out[0].data + 1;
            break;
        case NO_IN:
            out[0].ready = MUX_OUT;
            break;
        }
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
    g_broken.name = "epoll-et-broken";
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
        param_parse_set(&rc.opts.set, "active=4", err, sizeof err) < 0 ||
        param_parse_set(&rc.opts.set, "timeout=blocking", err, sizeof err) < 0 ||
        param_parse_set(&rc.opts.set, "fdtable=private", err, sizeof err) < 0)
        return -1;
    rc.shim.repetitions = 3;
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

static void t_spurious_fd_fails(void) { check_error_row(SPURIOUS, "nothing was written to it"); }

static void t_wrong_data_fails(void) { check_error_row(WRONG_DATA, "another fd's data pointer"); }

static void t_missing_in_fails(void) { check_error_row(NO_IN, "without MUX_IN"); }

/* ---- the fd table ------------------------------------------------------------------------- */

/* Other tasks of this process whose fd table is this thread's (kcmp KCMP_FILES). */
static int sharing_tasks(void)
{
    pid_t self = (pid_t)syscall(SYS_gettid);
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid > 0 && tid != self && syscall(SYS_kcmp, self, tid, KCMP_FILES, 0, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void *nothing(void *arg) { return arg; }

/* The sharers this process has anyway: 0, or 1 in a ThreadSanitizer build, whose own thread
 * (started by the first pthread_create, which this makes sure of) shares every table. */
static int base_sharers(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
        pthread_join(t, NULL);
    return sharing_tasks();
}

/* Plans fanin on epoll with `table` and runs the first case's setup; *c gets it. */
static int setup_first(struct plan *plan, const char *table, struct bench_case **out, char *msg,
                       size_t len)
{
    struct run_opts o = {.quick = 1};
    char set[64];
    snprintf(set, sizeof set, "fdtable=%s", table);
    const char *const sets[] = {"fds=64", "timeout=zero", set, NULL};
    for (int i = 0; sets[i]; i++)
        if (param_parse_set(&o.set, sets[i], msg, len) < 0)
            return -1;
    if (fanin_workload.plan(plan, &o, &fanin_workload, poller_find("epoll"), msg, len) != 0)
        return -1;
    *out = plan->cases[0];
    return (*out)->setup(*out, msg, len);
}

static void t_fdtable_private(void)
{
    struct plan plan = {0};
    struct bench_case *c = NULL;
    char msg[512] = "";
    int base = base_sharers();
    if (base > 1)
        t_skip("%d threads already share this test's fd table", base);
    CHECK_EQ(setup_first(&plan, "private", &c, msg, sizeof msg), BENCH_OK);
    CHECK_EQ(sharing_tasks(), base);
    CHECK(strstr(c->note, "fd table private"));
    c->teardown(c);
    plan_free(&plan);
    fanin_workload.finish();
}

static void t_fdtable_shared(void)
{
    struct plan plan = {0};
    struct bench_case *c = NULL;
    char msg[512] = "";
    int base = base_sharers();
    if (base > 1)
        t_skip("%d threads already share this test's fd table", base);
    int threads0 = t_count_threads();
    CHECK_EQ(setup_first(&plan, "shared", &c, msg, sizeof msg), BENCH_OK);
    CHECK_EQ(sharing_tasks(), base + 1);
    CHECK_EQ(t_count_threads(), threads0 + 1);
    CHECK(strstr(c->note, "shared with one idle thread"));
    c->teardown(c);
    CHECK_EQ(sharing_tasks(), base);
    CHECK_EQ(t_count_threads(), threads0);
    plan_free(&plan);
    fanin_workload.finish();
}

static void *block_until_released(void *arg)
{
    pthread_mutex_t *m = arg;
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
    return NULL;
}

static void t_fdtable_refuses_a_lie(void)
{
    static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
    pthread_t t;
    pthread_mutex_lock(&hold);
    CHECK_EQ(pthread_create(&t, NULL, block_until_released, &hold), 0);
    struct plan plan = {0};
    struct bench_case *c = NULL;
    char msg[512] = "";
    int rc = setup_first(&plan, "private", &c, msg, sizeof msg);
    pthread_mutex_unlock(&hold);
    pthread_join(t, NULL);
    plan_free(&plan);
    fanin_workload.finish();
    CHECK_EQ(rc, BENCH_SKIP);
    CHECK(strstr(msg, "fdtable=private") && strstr(msg, "share"));
    CHECK(no_children());
}

static void t_signal_thread_detached(void)
{
    static char csv[1 << 20];
    int base = base_sharers();
    int status = run_broken(-1, csv, sizeof csv); /* -1: no fault, a plain run */
    CHECK_EQ(status, MUX_EXIT_OK);
    char want[64];
    snprintf(want, sizeof want, ",fdtable_sharers,median,%d,", base);
    CHECK(strstr(csv, want));
    CHECK_EQ(sharing_tasks(), base); /* the signal thread lives on, in its own table */
    DIR *d = opendir("/proc/self/task");
    CHECK(d);
    pid_t self = (pid_t)syscall(SYS_gettid);
    int others = 0, worst = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self || syscall(SYS_kcmp, self, tid, KCMP_FILES, 0, 0) == 0)
            continue; /* ours, or sharing ours (counted above) */
        others++;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/fd", (int)tid);
        DIR *f = opendir(path);
        int n = 0; /* (this opendir's fd is in our table, not in the one listed) */
        for (struct dirent *x; f && (x = readdir(f)) != NULL;)
            n += x->d_name[0] != '.';
        if (f)
            closedir(f);
        worst = n > worst ? n : worst;
    }
    closedir(d);
    CHECK(others >= 1);  /* the signal thread */
    CHECK(worst <= 4);   /* stdio and the CSV's fd, nothing of the run */
}

static void t_cycle_mode_delivers(void)
{
    const char *const sets[] = {"fds=16,200", "active=4", "mode=cycle", "timeout=zero",
                                "fdtable=private", NULL};
    CHECK_EQ(run_setups(poller_find("epoll-oneshot"), sets), 0); /* warm-up: pool, helper */
    int fds0 = t_count_fds();
    CHECK_EQ(run_setups(poller_find("epoll-oneshot"), sets), 0);
    CHECK_EQ(run_setups(poller_find("poll"), sets), 0);
    CHECK_EQ(t_count_fds(), fds0); /* the writers (peer ends) were closed with each case */
    fanin_workload.finish();
    CHECK(no_children());
}

/* ---- a backend of known cost -------------------------------------------------------------- */

#define KNOWN_NS 100 /* spun per registered fd inside each wait */

static struct poller_ops g_known;
static const struct poller_ops *g_epoll;
static struct {
    struct poller *p;
    int registered;
} g_reg[8];

static int *registered_of(struct poller *p)
{
    for (int i = 0; i < 8; i++)
        if (g_reg[i].p == p)
            return &g_reg[i].registered;
    for (int i = 0; i < 8; i++)
        if (!g_reg[i].p) {
            g_reg[i].p = p;
            g_reg[i].registered = 0;
            return &g_reg[i].registered;
        }
    abort(); /* more than 8 live pollers: fanin holds two */
}

static int known_add(struct poller *p, int fd, uint32_t events, void *data)
{
    int rc = g_epoll->add(p, fd, events, data);
    *registered_of(p) += rc == 0;
    return rc;
}

static int known_del(struct poller *p, int fd)
{
    int rc = g_epoll->del(p, fd);
    *registered_of(p) -= rc == 0;
    return rc;
}

static void known_destroy(struct poller *p)
{
    for (int i = 0; i < 8; i++)
        if (g_reg[i].p == p)
            g_reg[i].p = NULL;
    g_epoll->destroy(p);
}

static int known_wait(struct poller *p, struct mux_event *out, int max, int64_t timeout_ns)
{
    int64_t until = t_now_ns() + (int64_t)KNOWN_NS * *registered_of(p);
    while (t_now_ns() < until)
        ;
    return g_epoll->wait(p, out, max, timeout_ns);
}

/* Field k (0-based) of a CSV line, unquoted (the fields before `note` never need quotes). */
static void field(const char *line, int k, char *out, size_t len)
{
    for (; k > 0 && *line && *line != '\n'; line++)
        k -= *line == ',';
    size_t n = 0;
    while (line[n] && line[n] != ',' && line[n] != '\n' && n + 1 < len)
        n++;
    memcpy(out, line, n);
    out[n] = '\0';
}

/* The header's index of a column, or -1. */
static int column(const char *csv, const char *name)
{
    char f[64];
    for (int k = 0; k < 64; k++) {
        field(csv, k, f, sizeof f);
        if (strcmp(f, name) == 0)
            return k;
    }
    return -1;
}

/* The value of the first row with this metric and stat (and fds, unless NULL), or NAN. */
static double csv_value(const char *csv, const char *fds, const char *metric, const char *stat)
{
    int cf = column(csv, "fds"), cm = column(csv, "metric"), cs = column(csv, "stat"),
        cv = column(csv, "value");
    if (cf < 0 || cm < 0 || cs < 0 || cv < 0)
        return NAN;
    for (const char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char a[64], b[64], c[64], v[64];
        field(line + 1, cf, a, sizeof a);
        field(line + 1, cm, b, sizeof b);
        field(line + 1, cs, c, sizeof c);
        if ((!fds || strcmp(a, fds) == 0) && strcmp(b, metric) == 0 && strcmp(c, stat) == 0) {
            field(line + 1, cv, v, sizeof v);
            return strtod(v, NULL);
        }
    }
    return NAN;
}

static void t_known_cost_recovered(void)
{
    g_epoll = poller_find("epoll");
    CHECK(g_epoll);
    g_known = *g_epoll;
    g_known.name = "known-cost";
    g_known.features |= MUX_F_TEST_ONLY;
    g_known.add = known_add;
    g_known.del = known_del;
    g_known.destroy = known_destroy;
    g_known.wait = known_wait;
    static struct run_config rc;
    memset(&rc, 0, sizeof rc);
    rc.workloads[0] = &fanin_workload;
    rc.nworkloads = 1;
    rc.opts.pollers[0] = &g_known;
    rc.opts.npollers = 1;
    rc.opts.quick = 1;
    char err[512];
    static const char *const sets[] = {"fds=100,300,1000,3000", "active=1", "timeout=zero",
                                       "fdtable=private", "position=first", NULL};
    for (int i = 0; sets[i]; i++)
        CHECK_EQ(param_parse_set(&rc.opts.set, sets[i], err, sizeof err), 0);
    rc.shim.repetitions = 3;
    rc.shim.min_time_s = 0.01;
    char dir[] = "/tmp/muxbench-known-XXXXXX";
    CHECK(mkdtemp(dir));
    snprintf(rc.out_path, sizeof rc.out_path, "%s/known.csv", dir);
    char *argv[] = {"test_fanin", NULL};
    int argc = 1;
    CHECK_EQ(shim_init(&argc, argv, err, sizeof err), 0);
    int status = run_execute(&rc, 1, argv);
    static char csv[1 << 20];
    csv[0] = '\0';
    int fd = open(rc.out_path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, csv, sizeof csv - 1);
        csv[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    char path[PATH_MAX + 32];
    const char *const leftovers[] = {"known.csv", "known.gbench.json"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, leftovers[i]);
        unlink(path);
    }
    rmdir(dir);
    CHECK_EQ(status, MUX_EXIT_OK);
    double slope = csv_value(csv, NULL, "wait_ns_per_fd", "median");
    double top = csv_value(csv, "3000", "wait_ns", "p50");
    printf("known cost %d ns/fd: fitted %.2f ns/fd, wait_ns at 3000 fds %.0f ns (%.0f spun)\n",
           KNOWN_NS, slope, top, 3000.0 * KNOWN_NS);
    if (!(fabs(slope / KNOWN_NS - 1) <= 0.05))
        fprintf(stderr, "the fitted slope %.2f is not the known cost %d ns/fd\n", slope, KNOWN_NS);
    CHECK(fabs(slope / KNOWN_NS - 1) <= 0.05);
    if (!(top >= 0.98 * 3000 * KNOWN_NS && top <= 1.05 * 3000 * KNOWN_NS + 2000))
        fprintf(stderr, "wait_ns %.0f at 3000 fds is not the known cost %d\n", top,
                3000 * KNOWN_NS);
    CHECK(top >= 0.98 * 3000 * KNOWN_NS && top <= 1.05 * 3000 * KNOWN_NS + 2000);
}

static const struct t_test tests[] = {
    /* CMake reads the names from these lines: keep one entry per line, in this form. */
    {"helper_cleanup", t_helper_cleanup},
    {"helper_death_reaped", t_helper_death_reaped},
    {"dropped_event_fails", t_dropped_event_fails},
    {"duplicate_event_fails", t_duplicate_event_fails},
    {"spurious_fd_fails", t_spurious_fd_fails},
    {"wrong_data_fails", t_wrong_data_fails},
    {"missing_in_fails", t_missing_in_fails},
    {"fdtable_private", t_fdtable_private},
    {"fdtable_shared", t_fdtable_shared},
    {"fdtable_refuses_a_lie", t_fdtable_refuses_a_lie},
    {"signal_thread_detached", t_signal_thread_detached},
    {"cycle_mode_delivers", t_cycle_mode_delivers},
    {"known_cost_recovered", t_known_cost_recovered},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "", tests, sizeof tests / sizeof tests[0]);
}
