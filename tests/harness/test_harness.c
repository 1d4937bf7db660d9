/*
 * test_harness.c - unit tests of the harness's C parts: statistics, CSV quoting and files,
 * parameter parsing, case names, placement, the thread count.
 *
 *   test_harness <test>      exit 0 pass, 1 fail, 77 skip
 *   test_harness --list
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/csv.h"
#include "harness/params.h"
#include "harness/placement.h"
#include "harness/shim.h"
#include "harness/stats.h"
#include "harness/sysinfo.h"
#include "tests/util/testutil.h"
#include "harness/planner.h"

static int near(double a, double b) { return fabs(a - b) < 1e-9 * (fabs(b) + 1); }

static void t_stats_known_values(void)
{
    const double v[] = {4, 1, 3, 2, 5};
    struct stats s;
    stats_compute(v, 5, &s);
    CHECK_EQ(s.n, 5);
    CHECK(near(s.median, 3));
    CHECK(near(s.mean, 3));
    CHECK(near(s.min, 1));
    CHECK(near(s.max, 5));
    CHECK(near(s.stddev, sqrt(2.5))); /* sample stddev: sum of squares 10 over n-1 = 4 */
    CHECK(near(s.cv, sqrt(2.5) / 3));
    CHECK(v[0] == 4 && v[4] == 5); /* the input is not reordered */
    const double even[] = {10, 20, 30, 40};
    stats_compute(even, 4, &s);
    CHECK(near(s.median, 25));
    const double one[] = {7};
    stats_compute(one, 1, &s);
    CHECK(near(s.median, 7) && isnan(s.stddev) && isnan(s.cv)); /* no spread, not zero */
    const double zeros[] = {0, 0};
    stats_compute(zeros, 2, &s);
    CHECK(isnan(s.cv)); /* cv of a zero mean is undefined, not 0 */
    stats_compute(v, 0, &s);
    CHECK(isnan(s.median));
}

static void t_stats_percentile(void)
{
    double v[101];
    for (int i = 0; i <= 100; i++)
        v[i] = 100 - i; /* 100..0, unsorted on purpose */
    CHECK(near(stats_percentile(v, 101, 0.99), 99));
    CHECK(near(stats_percentile(v, 101, 0.5), 50));
    CHECK(near(stats_percentile(v, 101, 0), 0));
    CHECK(near(stats_percentile(v, 101, 1), 100));
    double two[] = {1, 3};
    CHECK(near(stats_percentile(two, 2, 0.5), 2));
    CHECK(isnan(stats_percentile(two, 0, 0.5)));
}

/* fanin's fit (derived rows wait_ns_per_fd, wait_ns_fixed, wait_fit_r2) on synthetic data. */
static void t_fit_known_line(void)
{
    double x[24], y[24];
    int n = 0;
    for (double v = 1; v <= 16384; v *= 2)
        x[n++] = v;
    x[n++] = 1000;
    x[n++] = 10000;
    x[n++] = 19900;
    for (int i = 0; i < n; i++)
        y[i] = 117.5 + 3.25 * x[i];
    struct stats_fit f;
    CHECK_EQ(stats_fit_line(x, y, n, &f), 0);
    CHECK_EQ(f.n, n);
    CHECK(fabs(f.slope - 3.25) < 1e-9);
    CHECK(fabs(f.intercept - 117.5) < 1e-9);
    CHECK(fabs(f.r2 - 1) < 1e-12); /* a perfect line */
    for (int i = 0; i < n; i++) /* an O(1) backend: flat, with a large fixed cost */
        y[i] = 1e6 - 0.001 * x[i];
    CHECK_EQ(stats_fit_line(x, y, n, &f), 0);
    CHECK(fabs(f.slope + 0.001) < 1e-9);
    CHECK(fabs(f.intercept - 1e6) < 1e-9 * 1e6);
    CHECK(fabs(f.r2 - 1) < 1e-9);
}

static void t_fit_residuals(void)
{
    const double x[] = {1, 2, 3}, y[] = {1, 2, 4};
    struct stats_fit f;
    CHECK_EQ(stats_fit_line(x, y, 3, &f), 0);
    CHECK(near(f.slope, 1.5));
    CHECK(near(f.intercept, -2.0 / 3));
    CHECK(near(f.r2, 27.0 / 28)); /* SS_res 1/6 over SS_tot 14/3 */
    CHECK(near(f.slope_se, sqrt(1.0 / 12))); /* sqrt(SS_res / (n - 2) / Sxx), Sxx = 2 */
    CHECK_EQ(stats_fit_line(x, y, 2, &f), 0);
    CHECK(isnan(f.slope_se)); /* two points: no residual to estimate an error from */
    const double flat[] = {5, 5, 5};
    CHECK_EQ(stats_fit_line(x, flat, 3, &f), 0);
    CHECK(near(f.slope, 0) && near(f.intercept, 5) && near(f.r2, 1));
    const double same_x[] = {7, 7, 7};
    CHECK_EQ(stats_fit_line(same_x, y, 3, &f), -1); /* no line through one abscissa */
    CHECK_EQ(stats_fit_line(x, y, 1, &f), -1);
    CHECK(isnan(f.slope));
}

static void t_csv_quote(void)
{
    char out[128];
    csv_quote("plain", out, sizeof out);
    CHECK(strcmp(out, "plain") == 0);
    csv_quote("a,b", out, sizeof out);
    CHECK(strcmp(out, "\"a,b\"") == 0);
    csv_quote("say \"hi\"", out, sizeof out);
    CHECK(strcmp(out, "\"say \"\"hi\"\"\"") == 0);
    csv_quote("two\nlines", out, sizeof out);
    CHECK(strcmp(out, "\"two\nlines\"") == 0);
    csv_quote(NULL, out, sizeof out);
    CHECK(out[0] == '\0');
    char tiny[4];
    csv_quote("a,bcdefgh", tiny, sizeof tiny); /* truncated, still terminated */
    CHECK(strlen(tiny) < sizeof tiny);
}

static void t_csv_sibling_names(void)
{
    char out[256];
    csv_sibling("results/x.csv", ".partial.csv", out, sizeof out);
    CHECK(strcmp(out, "results/x.partial.csv") == 0);
    csv_sibling("x", ".gbench.json", out, sizeof out);
    CHECK(strcmp(out, "x.gbench.json") == 0);
}

static void read_file(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

static void t_csv_file_lifecycle(void)
{
    char dir[] = "/tmp/muxbench-csv-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[512], partial[512];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(partial, sizeof partial, "%s/out.partial.csv", dir);
    struct csv_meta meta = {.run_id = "r1", .host = "h", .kernel = "k", .cpu_model = "c,pu"};
    struct csv_out o;
    char err[256];
    CHECK_EQ(csv_open(&o, path, &meta, err, sizeof err), 0);
    CHECK(access(path, F_OK) != 0); /* nothing at the target until commit */
    CHECK(access(o.tmp_path, F_OK) == 0);
    struct param_row id;
    memset(&id, 0, sizeof id);
    param_row_set(&id, COL_WORKLOAD, "fanin");
    param_row_setn(&id, COL_FDS, 1000);
    csv_row(&o, &id, "wait_ns", "median", 12.5, "ns", 5, 100, "ok", "a note, with a comma");
    csv_row(&o, &id, "wait_ns", "", NAN, "", 0, 0, "skipped", "why");
    CHECK_EQ(csv_flush(&o), 0);
    CHECK_EQ(csv_commit(&o), 0);
    CHECK(access(o.tmp_path, F_OK) != 0);
    char text[4096];
    read_file(path, text, sizeof text);
    CHECK(strncmp(text, "run_id,timestamp,host,kernel,cpu_model,workload,poller,", 55) == 0);
    CHECK(strstr(text, ",\"c,pu\",fanin,,,,1000,"));
    CHECK(strstr(text, ",wait_ns,median,12.5,ns,5,100,ok,\"a note, with a comma\"\n"));
    CHECK(strstr(text, ",wait_ns,,,,,,skipped,why\n"));

    /* An interrupted run: the complete file stays, the partial one appears beside it. */
    CHECK_EQ(csv_open(&o, path, &meta, err, sizeof err), 0);
    csv_row(&o, &id, "wait_ns", "median", 1, "ns", 1, 1, "ok", "");
    CHECK_EQ(csv_flush(&o), 0);
    csv_row(&o, &id, "wait_ns", "mean", 2, "ns", 1, 1, "ok", ""); /* buffered, never flushed */
    CHECK_EQ(csv_abort_partial(&o), 0);
    pthread_mutex_unlock(&o.lock);
    close(o.fd);
    free(o.buf);
    char again[4096];
    read_file(path, again, sizeof again);
    CHECK(strcmp(text, again) == 0);
    read_file(partial, again, sizeof again);
    CHECK(strstr(again, ",wait_ns,median,1,ns,"));
    CHECK(!strstr(again, ",wait_ns,mean,")); /* only what was flushed */

    /* A directory, and a directory that does not exist, are refused with a message. */
    CHECK(csv_open(&o, dir, &meta, err, sizeof err) == -EISDIR);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.csv", dir);
    CHECK(csv_open(&o, missing, &meta, err, sizeof err) == -ENOENT);
    CHECK(strstr(err, "cannot write"));
    unlink(path);
    unlink(partial);
    rmdir(dir);
}

static void t_params_parse(void)
{
    struct param_overrides o = {0};
    char err[512];
    CHECK_EQ(param_parse_set(&o, "fds=1,10,100", err, sizeof err), 0);
    const struct param_set *s = param_override(&o, "fds");
    CHECK(s && s->count == 3 && strcmp(s->values[2], "100") == 0);
    CHECK_EQ(param_parse_set(&o, "fds=5", err, sizeof err), 0); /* replaces */
    CHECK(param_override(&o, "fds")->count == 1);
    CHECK_EQ(param_parse_set(&o, "stack_bytes=16k,8M", err, sizeof err), 0);
    CHECK_EQ(param_number("16k"), 16384);
    CHECK_EQ(param_number("8M"), 8 << 20);
    CHECK_EQ(param_parse_set(&o, "placement=same-pu", err, sizeof err), 0);
    CHECK_EQ(param_parse_set(&o, "variant=anything", err, sizeof err), 0); /* checked later */

    static const char *const bad[] = {
        "fds=12x", "fds=-3", "fds=0",     "fds=", "fds=1,,2", "fds", "=3", "nosuch=1",
        "fds=99999999999999999999", "stack_bytes=1k", "stack_bytes=2q", "placement=moon",
        "fds=1.5", "active= 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (param_parse_set(&o, bad[i], err, sizeof err) != -1 || !err[0]) {
            fprintf(stderr, "accepted or silent: %s\n", bad[i]);
            t_failures++;
            return;
        }
    }
    CHECK(param_parse_set(&o, "nosuch=1", err, sizeof err) == -1 && strstr(err, "valid: "));
    CHECK(param_parse_set(&o, "placement=moon", err, sizeof err) == -1 && strstr(err, "same-pu"));
    CHECK(param_parse_set(&o, "fds=0", err, sizeof err) == -1 && strstr(err, "out of range"));
}

/* Durations: digits with ns, us, ms or s (none: ns), in nanoseconds; anything else refused. */
static void t_params_duration(void)
{
    struct param_overrides o = {0};
    char err[512];
    const struct param_def *d = param_find("delay_ns");
    CHECK(d && d->type == PARAM_DURATION);
    CHECK_EQ(param_parse_set(&o, "delay_ns=1s,100ms,5ms,500us,250ns,42", err, sizeof err), 0);
    const struct param_set *s = param_override(&o, "delay_ns");
    CHECK(s && s->count == 6);
    static const long long want[] = {1000000000LL, 100000000, 5000000, 500000, 250, 42};
    for (int i = 0; i < 6; i++)
        CHECK_EQ(param_value(d, s->values[i]), want[i]);
    CHECK_EQ(param_value(d, "0"), 0);
    /* A size keeps its k/m/g meaning: 1m is a mebibyte there, never a millisecond. */
    CHECK_EQ(param_value(param_find("stack_bytes"), "1m"), 1 << 20);
    static const char *const bad[] = {
        "delay_ns=1m",  "delay_ns=1.5s", "delay_ns=ms",  "delay_ns=5 ms", "delay_ns=-1s",
        "delay_ns=1sec", "delay_ns=2h",  "delay_ns=1S",  "delay_ns=3601s",
        "delay_ns=99999999999999999999s", "busy_ns=10ns", "mean_ns=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (param_parse_set(&o, bad[i], err, sizeof err) != -1 || !err[0]) {
            fprintf(stderr, "accepted or silent: %s\n", bad[i]);
            t_failures++;
            return;
        }
    }
    CHECK(param_parse_set(&o, "delay_ns=1m", err, sizeof err) == -1 &&
          strstr(err, "not a duration"));
    CHECK(param_parse_set(&o, "delay_ns=3601s", err, sizeof err) == -1 &&
          strstr(err, "out of range"));
}

static void t_case_names(void)
{
    static const struct workload w = {.name = "fanin"};
    struct plan plan = {0};
    struct bench_case *c = plan_add(&plan, &w, NULL);
    CHECK(c);
    param_row_setn(&c->id, COL_FDS, 1000);
    param_row_set(&c->id, COL_POSITION, "spread");
    bench_case_name(c);
    CHECK(strcmp(c->name, "fanin/fds:1000/position:spread") == 0);
    param_row_set(&c->id, COL_POLLER, "epoll");
    bench_case_name(c);
    CHECK(strcmp(c->name, "fanin/epoll/fds:1000/position:spread") == 0);
    plan_free(&plan);
}

static void t_placement_resolves(void)
{
    char why[256];
    struct placement pl;
    CHECK_EQ(placement_resolve(PL_UNPINNED, &pl, why, sizeof why), 0);
    CHECK(pl.cpu[0] == -1 && pl.cpu[1] == -1);
    CHECK_EQ(placement_resolve(PL_SAME_PU, &pl, why, sizeof why), 0);
    CHECK(pl.cpu[0] >= 0 && pl.cpu[0] == pl.cpu[1]);
    CHECK_EQ(placement_lookup("same-l3"), PL_SAME_L3);
    CHECK_EQ(placement_lookup("nowhere"), -1);
    /* hwloc and the sysfs fallback agree on what exists here, and say why when it does not. */
    for (int i = 0; i < PL_COUNT; i++) {
        struct placement a, b;
        char wa[256] = "", wb[256] = "";
        int ra = placement_resolve((enum placement_id)i, &a, wa, sizeof wa);
        int rb = placement_resolve_sysfs((enum placement_id)i, &b, wb, sizeof wb);
        if ((ra == 0) != (rb == 0)) {
            fprintf(stderr, "%s: hwloc %d (%s), sysfs %d (%s)\n",
                    placement_name((enum placement_id)i), ra, wa, rb, wb);
            t_failures++;
            return;
        }
        if (ra != 0)
            CHECK(ra == -ENODEV && wa[0] && wb[0]);
        else
            CHECK((a.cpu[0] == a.cpu[1]) == (b.cpu[0] == b.cpu[1]));
    }
}

/* same-pu's choice: the cpu whose column of /proc/interrupts sums lowest, among those given;
 * columns follow the header (an offline cpu has none), one-column lines count for the first. */
static void t_placement_quietest_cpu(void)
{
    static const char text[] =
        "           CPU0       CPU1       CPU3\n"
        "  0:        100          5          7   IO-APIC   2-edge      timer\n"
        "LOC:        900         10          3   Local timer interrupts\n"
        "ERR:          0\n";
    int all[] = {0, 1, 3}, two[] = {0, 1}, none_listed[] = {2, 0};
    CHECK_EQ(placement_quietest_cpu(text, all, 3), 3);  /* 10 against 15 and 1000 */
    CHECK_EQ(placement_quietest_cpu(text, two, 2), 1);
    CHECK_EQ(placement_quietest_cpu(text, none_listed, 2), 2); /* no column: no interrupts */
    CHECK_EQ(placement_quietest_cpu(text, all, 0), -1);
}

/* A caller's affinity mask (taskset) narrows every placement and survives bind + unbind. */
static void t_placement_keeps_caller_mask(void)
{
    cpu_set_t orig, narrow, now;
    CHECK_EQ(pthread_getaffinity_np(pthread_self(), sizeof orig, &orig), 0);
    int last = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &orig))
            last = i;
    CHECK(last >= 0);
    CPU_ZERO(&narrow);
    CPU_SET(last, &narrow);
    CHECK_EQ(pthread_setaffinity_np(pthread_self(), sizeof narrow, &narrow), 0);
    struct placement pl;
    CHECK_EQ(placement_resolve(PL_SAME_PU, &pl, NULL, 0), 0);
    CHECK_EQ(pl.cpu[0], last);
    /* Two cpus cannot come out of a one-cpu mask. */
    for (int i = PL_SMT_SIBLING; i <= PL_CROSS_NUMA; i++)
        CHECK(placement_resolve((enum placement_id)i, &pl, NULL, 0) == -ENODEV);
    CHECK_EQ(placement_resolve(PL_SAME_PU, &pl, NULL, 0), 0);
    int cpu;
    CHECK_EQ(placement_bind_self(&pl, 0, &cpu), 0);
    CHECK_EQ(placement_unbind_self(), 0);
    CHECK_EQ(pthread_getaffinity_np(pthread_self(), sizeof now, &now), 0);
    CHECK(CPU_EQUAL(&now, &narrow));
    CHECK_EQ(pthread_setaffinity_np(pthread_self(), sizeof orig, &orig), 0);
}

static void t_placement_binds_and_verifies(void)
{
    int cpu = -1;
    for (int i = 0; i < PL_COUNT; i++) {
        struct placement pl;
        if (placement_resolve((enum placement_id)i, &pl, NULL, 0) != 0)
            continue;
        for (int which = 0; which < 2; which++) {
            CHECK_EQ(placement_bind_self(&pl, which, &cpu), 0);
            if (pl.cpu[which] >= 0)
                CHECK_EQ(cpu, pl.cpu[which]);
        }
    }
    CHECK_EQ(placement_unbind_self(), 0);
    struct placement nowhere = {.id = PL_SAME_PU, .cpu = {100000, 100000}};
    CHECK(placement_bind_self(&nowhere, 0, &cpu) < 0); /* a cpu that does not exist */
    CHECK_EQ(placement_unbind_self(), 0);
    char text[256];
    placement_topology(text, sizeof text);
    CHECK(text[0]);
    placement_available(text, sizeof text);
    CHECK(strstr(text, "same-pu") && strstr(text, "unpinned"));
}

/* ---- the shim, with a synthetic body: time is what the body says, so the numbers are exact */

struct synthetic {
    int fail_after;  /* calls before bench_fail (0: never) */
    int limit_after; /* calls before bench_limit (0: never) */
    int calls;
};

static double synthetic_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct synthetic *sy = c->ctx;
    sy->calls++;
    if (sy->fail_after && sy->calls >= sy->fail_after) {
        bench_fail(st, "synthetic failure after %d calls", sy->calls);
        return 0;
    }
    if (sy->limit_after && sy->calls >= sy->limit_after) {
        bench_limit(st, 42, "synthetic limit");
        return 0;
    }
    for (uint64_t i = 0; i < iters; i++)
        bench_sample(st, (i % 50 == 49) ? 5000 : 1000); /* 2% slow ops */
    bench_counter_add(st, "events", (double)iters, "per_s", BENCH_COUNT_RATE);
    bench_counter_add(st, "per_op", 2.0 * (double)iters, "count", BENCH_COUNT_AVG);
    return 1000.0 * (double)iters; /* 1 us per iteration */
}

static void synthetic_run_end(struct bench_case *c, struct bench_state *st)
{
    (void)c;
    bench_counter(st, "fixed", 7, "count");
}

static int shim_ready(void)
{
    static int done;
    if (!done) {
        int argc = 1;
        char *argv[] = {"test_harness", NULL};
        char err[128];
        if (shim_init(&argc, argv, err, sizeof err) < 0)
            return -1;
        done = 1;
    }
    return 0;
}

static double value_of(const struct case_result *r, int rep, const char *metric)
{
    for (int k = 0; k < r->reps[rep].nvalues; k++)
        if (strcmp(r->reps[rep].values[k].metric, metric) == 0)
            return r->reps[rep].values[k].value;
    return NAN;
}

/* Weighted least squares and the standard errors, against values computed independently
 * (the closed forms in Python): unweighted, then weighted by 1/y^2. */
static void t_fit_weighted_se(void)
{
    const double x[] = {1, 10, 100, 1000}, y[] = {12, 19, 112, 1009};
    double w[4];
    for (int i = 0; i < 4; i++)
        w[i] = 1 / (y[i] * y[i]);
    struct stats_fit f;
    CHECK_EQ(stats_fit_weighted(x, y, NULL, 4, &f), 0);
    CHECK(fabs(f.slope - 0.9984508654947127) < 1e-12);
    CHECK(fabs(f.intercept - 10.680272108843553) < 1e-9);
    CHECK(fabs(f.slope_se - 0.001900280996789371) < 1e-12);
    CHECK(fabs(f.intercept_se - 0.9549271259212578) < 1e-9);
    CHECK_EQ(stats_fit_weighted(x, y, w, 4, &f), 0);
    CHECK(fabs(f.slope - 0.986583092690918) < 1e-12);
    CHECK(fabs(f.intercept - 10.50205948502819) < 1e-9);
    CHECK(fabs(f.slope_se - 0.04562146995417785) < 1e-12);
    CHECK(fabs(f.intercept_se - 0.6621437624665653) < 1e-9);
    CHECK(f.r2 < 1.0 && f.r2 > 0.99);
    CHECK_EQ(stats_fit_weighted(x, y, NULL, 2, &f), 0); /* two points: a line, no error */
    CHECK(isnan(f.slope_se) && isnan(f.intercept_se));
    const double zero_w[] = {0, 0, 0, 0};
    CHECK_EQ(stats_fit_weighted(x, y, zero_w, 4, &f), -1);
}

static void t_shim_counters_and_time(void)
{
    CHECK_EQ(shim_ready(), 0);
    struct synthetic sy = {0};
    struct bench_case c = {.metric = "op_ns", .metric_scale = 0.5, .batch = 100,
                           .iterations = 1000, .body = synthetic_body,
                           .run_end = synthetic_run_end, .ctx = &sy};
    snprintf(c.name, sizeof c.name, "test/synthetic");
    struct shim_config cfg = {.repetitions = 3, .min_time_s = 0.001};
    struct case_result res = {0};
    shim_run_case(&c, &cfg, &res);
    CHECK_EQ(res.outcome, CASE_OK);
    CHECK_EQ(res.nreps, 3);
    for (int r = 0; r < res.nreps; r++) {
        CHECK_EQ(res.reps[r].iterations, 1000);
        CHECK(near(value_of(&res, r, "op_ns"), 500));      /* 1 us x scale 0.5 */
        CHECK(near(value_of(&res, r, "events"), 1e6));     /* 1000 in 1 ms */
        CHECK(near(value_of(&res, r, "per_op"), 2));
        CHECK(near(value_of(&res, r, "fixed"), 7));
        CHECK(isnan(value_of(&res, r, "@call"))); /* the shim's own counter is not a value */
    }
    /* The samples of exactly the 3 reported calls, pooled: 3 x 1000, scaled. */
    CHECK_EQ(res.sample_reps, 3);
    CHECK_EQ(res.nsamples, 3000);
    int slow = 0;
    for (int i = 0; i < res.nsamples; i++)
        slow += res.samples[i] == 2500;
    CHECK_EQ(slow, 60); /* the slow 2% of each repetition */
    CHECK(near(stats_percentile(res.samples, res.nsamples, 0.99), 2500));
    CHECK(near(stats_percentile(res.samples, res.nsamples, 0.5), 500));
    case_result_free(&res);
    CHECK(res.samples == NULL && res.nsamples == 0);
}

/* Google Benchmark's own iteration-count estimate (no fixed iterations) calls the body more
 * often than it reports: only the reported calls' samples are pooled. */
static int g_run_starts;

static void count_run_start(struct bench_case *c, struct bench_state *st)
{
    (void)c;
    (void)st;
    g_run_starts++;
}

static void t_shim_pools_reported_calls_only(void)
{
    CHECK_EQ(shim_ready(), 0);
    struct synthetic sy = {0};
    struct bench_case c = {.metric = "op_ns", .batch = 100, .body = synthetic_body, .ctx = &sy,
                           .run_start = count_run_start};
    g_run_starts = 0;
    snprintf(c.name, sizeof c.name, "test/estimated");
    struct shim_config cfg = {.repetitions = 2, .min_time_s = 0.01};
    struct case_result res = {0};
    shim_run_case(&c, &cfg, &res);
    CHECK_EQ(res.outcome, CASE_OK);
    CHECK_EQ(res.nreps, 2);
    CHECK_EQ(res.sample_reps, 2);
    CHECK_EQ((uint64_t)res.nsamples, res.reps[0].iterations + res.reps[1].iterations);
    CHECK(g_run_starts > 2); /* the estimate did call the case's function more often */
    case_result_free(&res);
}

static void t_shim_fail_and_limit(void)
{
    CHECK_EQ(shim_ready(), 0);
    struct synthetic sy = {.fail_after = 3};
    struct bench_case c = {.metric = "op_ns", .batch = 10, .iterations = 100,
                           .body = synthetic_body, .ctx = &sy};
    snprintf(c.name, sizeof c.name, "test/failing");
    struct shim_config cfg = {.repetitions = 2, .min_time_s = 0.001};
    struct case_result res = {0};
    shim_run_case(&c, &cfg, &res);
    CHECK_EQ(res.outcome, CASE_ERROR);
    CHECK(strstr(res.message, "synthetic failure after 3 calls"));
    case_result_free(&res);

    struct synthetic lim = {.limit_after = 2};
    c.ctx = &lim;
    snprintf(c.name, sizeof c.name, "test/limited");
    shim_run_case(&c, &cfg, &res);
    CHECK_EQ(res.outcome, CASE_LIMIT);
    CHECK(near(res.limit_reached, 42));
    CHECK(strstr(res.message, "synthetic limit"));
    case_result_free(&res);
}

/* A thread in do_exit() (PF_EXITING, 0x4, in field 9) is not a live thread; the comm field may
 * hold ") " and digits, so the flags are read after the last ')'. */
static void t_sysinfo_stat_exiting(void)
{
    CHECK_EQ(sys_stat_exiting("1234 (cc1) S 1 1234 1234 0 -1 4194560 88 0 0 0"), 0);
    CHECK_EQ(sys_stat_exiting("1234 (cc1) R 1 1234 1234 0 -1 4194564 88 0 0 0"), 1);
    CHECK_EQ(sys_stat_exiting("77 (a) S 9 9 9 0 -1 4 (b) S 1 77 77 0 -1 4194560 1 0"), 0);
    CHECK_EQ(sys_stat_exiting("77 (x) S 1 2 3 0 -1 0) S 1 77 77 0 -1 4 1 0"), 1);
    CHECK_EQ(sys_stat_exiting("1234 (cc1) S 1 1234"), -1);
    CHECK_EQ(sys_stat_exiting("no parenthesis 1 2 3 4 5 6 7"), -1);
    CHECK_EQ(sys_stat_exiting(""), -1);
}

static void *park_until_released(void *arg)
{
    pthread_barrier_t *b = arg;
    pthread_barrier_wait(b); /* started */
    pthread_barrier_wait(b); /* released */
    return NULL;
}

/* The count follows a thread's life: one more while it runs, back to the start as soon as
 * pthread_join() returns, whatever /proc/self/task still lists of it. */
static void t_sysinfo_threads_counted(void)
{
    int before = sys_count_threads();
    CHECK(before >= 1);
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 2);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, park_until_released, &b), 0);
    pthread_barrier_wait(&b);
    CHECK_EQ(sys_count_threads(), before + 1);
    pthread_barrier_wait(&b);
    pthread_join(t, NULL);
    CHECK_EQ(sys_count_threads(), before);
    pthread_barrier_destroy(&b);
}

static const struct t_test tests[] = {
    /* CMake reads the names from these lines: keep one entry per line, in this form. */
    {"stats_known_values", t_stats_known_values},
    {"stats_percentile", t_stats_percentile},
    {"fit_known_line", t_fit_known_line},
    {"fit_residuals", t_fit_residuals},
    {"csv_quote", t_csv_quote},
    {"csv_sibling_names", t_csv_sibling_names},
    {"csv_file_lifecycle", t_csv_file_lifecycle},
    {"params_parse", t_params_parse},
    {"params_duration", t_params_duration},
    {"case_names", t_case_names},
    {"placement_resolves", t_placement_resolves},
    {"placement_quietest_cpu", t_placement_quietest_cpu},
    {"placement_keeps_caller_mask", t_placement_keeps_caller_mask},
    {"placement_binds_and_verifies", t_placement_binds_and_verifies},
    {"fit_weighted_se", t_fit_weighted_se},
    {"shim_counters_and_time", t_shim_counters_and_time},
    {"shim_pools_reported_calls_only", t_shim_pools_reported_calls_only},
    {"shim_fail_and_limit", t_shim_fail_and_limit},
    {"sysinfo_stat_exiting", t_sysinfo_stat_exiting},
    {"sysinfo_threads_counted", t_sysinfo_threads_counted},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "harness.", tests, sizeof tests / sizeof tests[0]);
}
