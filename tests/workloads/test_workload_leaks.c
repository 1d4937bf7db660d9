/*
 * test_workload_leaks.c - every workload leaves the process as it found it.
 *
 *   test_workload_leaks <workload> [key=value ...]
 *
 * Plans the workload's --quick cases (every available poller for those that use one; the
 * key=value pairs are --set overrides that keep the cases small), then runs every case through
 * the real shim twice with one short repetition: setup, the measured body, teardown, and the
 * workload's finish(). The first pass is a warm-up (allocator arenas, glibc's cache of thread
 * stacks, lazily loaded libraries); after the second, the open fds, the threads, the mappings
 * and the child processes must be what they were after the first. Exit 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/shim.h"
#include "tests/util/testutil.h"
#include "harness/planner.h"

/* Children of this process, from /proc/<pid>/stat's ppid field. */
static int count_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f)) {
            char *rp = strrchr(buf, ')'); /* the command name may hold spaces */
            int ppid = 0;
            char state;
            if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self)
                n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

struct snapshot {
    int fds, threads, maps, children;
};

static struct snapshot snap(void)
{
    return (struct snapshot){t_count_fds(), t_count_threads(), t_count_maps(), count_children()};
}

static int run_all(const struct workload *w, struct run_opts *o, int *measured)
{
    struct plan plan = {0};
    char msg[512];
    int pollers = w->per_poller ? o->npollers : 1;
    for (int p = 0; p < pollers; p++) {
        const struct poller_ops *ops = w->per_poller ? o->pollers[p] : NULL;
        int st = w->plan(&plan, o, w, ops, msg, sizeof msg);
        if (st) {
            fprintf(stderr, "plan failed (%d): %s\n", st, msg);
            plan_free(&plan);
            return -1;
        }
    }
    struct shim_config cfg = {.repetitions = 1, .min_time_s = 0.002, .warmup_s = 0};
    for (int i = 0; i < plan.count; i++) {
        struct bench_case *c = plan.cases[i];
        if (c->derive)
            continue;
        char note[512] = "";
        int rc = c->setup ? c->setup(c, note, sizeof note) : BENCH_OK;
        if (rc != BENCH_OK) {
            printf("  %s: setup %d (%s)\n", c->name, rc, note);
            continue;
        }
        struct case_result res = {0};
        shim_run_case(c, &cfg, &res);
        if (res.outcome == CASE_ERROR) {
            fprintf(stderr, "  %s: failed: %s\n", c->name, res.message);
            t_failures++;
        }
        *measured += res.outcome == CASE_OK;
        case_result_free(&res);
        if (c->teardown)
            c->teardown(c);
    }
    if (w->finish)
        w->finish();
    plan_free(&plan);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <workload> [key=value ...]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct workload *w = workload_find(argv[1]);
    if (!w) {
        fprintf(stderr, "unknown workload %s\n", argv[1]);
        return 2;
    }
    char why[256];
    if (w->probe && w->probe(why, sizeof why) != 0) {
        printf("SKIP: %s unavailable: %s\n", w->name, why);
        return T_SKIP;
    }
    static struct run_opts o;
    o.quick = 1;
    o.repetitions = 1; /* as --repetitions 1: cases that choose their own count keep to one */
    for (int i = 2; i < argc; i++) {
        char err[512];
        if (param_parse_set(&o.set, argv[i], err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
    }
    for (size_t i = 0; i < poller_count() && o.npollers < RUN_MAX_POLLERS; i++) {
        const struct poller_ops *ops = poller_at(i);
        if (poller_probe(ops, why, sizeof why) == 0 && !(ops->features & MUX_F_TEST_ONLY))
            o.pollers[o.npollers++] = ops;
    }
    int gb_argc = 1;
    char *gb_argv[] = {argv[0], NULL};
    char err[256];
    if (shim_init(&gb_argc, gb_argv, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int measured = 0;
    if (run_all(w, &o, &measured) < 0)
        return 1;
    struct snapshot before = snap();
    if (run_all(w, &o, &measured) < 0)
        return 1;
    struct snapshot after = snap();
    printf("%s: %d cases measured; fds %d->%d threads %d->%d maps %d->%d children %d->%d\n",
           w->name, measured, before.fds, after.fds, before.threads, after.threads, before.maps,
           after.maps, before.children, after.children);
    if (measured == 0) {
        fprintf(stderr, "no case was measured: the test would prove nothing\n");
        t_failures++;
    }
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    /* The sanitizers map memory of their own as threads come and go: ThreadSanitizer shadow
     * and metadata per thread lifetime; AddressSanitizer its allocator's regions (grown while
     * its quarantine holds freed blocks) and the context of every thread that ever ran (seen:
     * echo's 17 threads per pass add a mapping every few passes; the memory workload 3 to 7 per
     * pass, never settling). The mapping count is checked in the plain build; LeakSanitizer
     * checks the heap here. */
    printf("sanitizer build: mappings not compared\n");
    after.maps = before.maps;
#endif
    if (before.fds != after.fds || before.threads != after.threads ||
        before.maps != after.maps || before.children != after.children) {
        fprintf(stderr, "the workload left something behind\n");
        t_failures++;
    }
    return t_failures ? 1 : 0;
}
