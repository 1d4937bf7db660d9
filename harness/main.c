/*
 * main.c - the muxbench command line.
 *
 *   muxbench list                                   backends, workloads, topology, placements
 *   muxbench run [--workload W[,W]] [--poller P[,P]|all] [--quick] [--out F.csv]
 *                [--set key=value[,value...]]... [--repetitions N] [--min-time S]
 *                [--list-cases] [-- Google Benchmark flags]
 *   muxbench help
 *
 * Exit status (harness/exit_codes.h, docs/design.md): 0 done; 1 an internal failure (a case failed its own
 * checks); 2 bad usage (an unknown name lists the valid ones); 3 an environment limit (an
 * unwritable output path, a machine that can run none of the cases) with what to change;
 * 130 interrupted (the finished cases are in <out>.partial.csv).
 * Progress goes to stderr; results to the CSV and a short table on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/placement.h"
#include "pollers/poller.h"
#include "harness/run.h"
#include "harness/planner.h"

static void print_usage(FILE *to)
{
    fprintf(to,
            "usage: muxbench list\n"
            "       muxbench run [--workload W[,W]] [--poller P[,P]|all] [--quick] [--out F.csv]\n"
            "                    [--set key=value[,value...]]... [--repetitions N] [--min-time S]\n"
            "                    [--list-cases] [-- Google Benchmark flags]\n"
            "       muxbench help\n");
}

static void print_help(void)
{
    print_usage(stdout);
    printf("\nOptions of run:\n"
           "  --workload W[,W]   workloads to run (default: every available one)\n"
           "  --poller P[,P]     backends for the workloads that use one; 'all' = every\n"
           "                     available backend (default: all)\n"
           "  --quick            fewer repetitions, shorter runs, shorter sweeps\n"
           "  --out F.csv        output (default results/<UTC time>-<host>-<pollers>.csv);\n"
           "                     Google Benchmark's JSON goes beside it as F.gbench.json\n"
           "  --set key=v[,v]    a parameter, or a sweep when several values are given; keys are\n"
           "                     CSV columns (below)\n"
           "  --repetitions N    repetitions per case (default 5, --quick 3; memory: 3, and\n"
           "                     one at a million units)\n"
           "  --min-time S       minimum measured seconds per repetition (default 0.2, quick 0.05)\n"
           "  --list-cases       print the case names the run would execute, and stop\n"
           "  -- FLAGS           passed to Google Benchmark (--benchmark_filter=REGEX, ...)\n");
    printf("\nWorkloads and their parameters (default / --quick):\n");
    for (size_t i = 0; i < workload_count(); i++) {
        const struct workload *w = workload_at(i);
        printf("  %-10s %s\n", w->name, w->summary);
        for (const struct param_use *u = w->params; u && u->key; u++) {
            printf("  %-10s   %-12s %s", "", u->key, u->defaults);
            if (u->quick && strcmp(u->quick, u->defaults) != 0)
                printf(" / %s", u->quick);
            if (u->choices) {
                printf("  (one of:");
                for (int k = 0; u->choices[k]; k++)
                    printf("%s %s", k ? "," : "", u->choices[k]);
                printf(")");
            }
            printf("\n");
        }
    }
    printf("\nPollers:");
    for (size_t i = 0; i < poller_count(); i++)
        printf("%s %s", i ? "," : "", poller_at(i)->name);
    printf("\n\nParameters (CSV columns):\n");
    const struct param_def *d;
    for (size_t i = 0; (d = param_def_at(i)) != NULL; i++) {
        printf("  %-14s %s", d->key, d->help);
        if (d->type == PARAM_INT)
            printf(" (%lld..%lld)", d->min, d->max);
        else if (d->type == PARAM_SIZE)
            printf(" (bytes, k/m/g suffixes; %lld..%lld)", d->min, d->max);
        else if (d->type == PARAM_DURATION)
            printf(" (ns; ns/us/ms/s suffixes, e.g. 100ms)");
        else if (d->choices) {
            printf(" (");
            for (int k = 0; d->choices[k]; k++)
                printf("%s%s", k ? ", " : "", d->choices[k]);
            printf(")");
        }
        printf("\n");
    }
    printf("\nExit status: 0 done, 1 a case failed, 2 bad usage, 3 an environment limit,\n"
           "130 interrupted (finished cases kept in <out>.partial.csv).\n");
}

static int cmd_list(void)
{
    printf("pollers:\n");
    for (size_t i = 0; i < poller_count(); i++) {
        const struct poller_ops *ops = poller_at(i);
        char why[256], feats[128];
        int rc = poller_probe(ops, why, sizeof why);
        poller_features_str(ops->features, feats, sizeof feats);
        printf("  %-18s %-11s %s\n", ops->name, rc == 0 ? "available" : "unavailable",
               ops->summary);
        printf("  %-18s %-11s features: %s\n", "", "", feats);
        if (rc != 0)
            printf("  %-18s %-11s reason: %s\n", "", "", why);
    }
    printf("workloads:\n");
    for (size_t i = 0; i < workload_count(); i++) {
        const struct workload *w = workload_at(i);
        char why[256] = "";
        int rc = w->probe ? w->probe(why, sizeof why) : 0;
        printf("  %-18s %-11s %s\n", w->name, rc == 0 ? "available" : "unavailable",
               w->summary);
        if (rc != 0)
            printf("  %-18s %-11s reason: %s\n", "", "", why);
    }
    char topo[256], avail[256];
    placement_topology(topo, sizeof topo);
    placement_available(avail, sizeof avail);
    printf("topology: %s (%s)\n", topo, placement_backend());
    printf("placements:\n");
    for (int i = 0; i < PL_COUNT; i++) {
        struct placement pl;
        char why[256] = "";
        int rc = placement_resolve((enum placement_id)i, &pl, why, sizeof why);
        if (rc == 0 && pl.cpu[0] >= 0)
            printf("  %-18s %-11s cpus %d and %d\n", placement_name((enum placement_id)i),
                   "available", pl.cpu[0], pl.cpu[1]);
        else if (rc == 0)
            printf("  %-18s %-11s the scheduler decides\n", placement_name((enum placement_id)i),
                   "available");
        else
            printf("  %-18s %-11s reason: %s\n", placement_name((enum placement_id)i),
                   "unavailable", why);
    }
    return MUX_EXIT_OK;
}

/* Splits a comma list into names; calls take() on each; stops at the first failure. */
static int each_name(const char *list, int (*take)(const char *, void *), void *arg)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (take(tok, arg) != 0)
            return -1;
    return 0;
}

static int take_workload(const char *name, void *arg)
{
    struct run_config *rc = arg;
    const struct workload *w = workload_find(name);
    if (!w) {
        char names[512];
        workload_names(names, sizeof names);
        fprintf(stderr, "muxbench: unknown workload '%s'; valid: %s\n", name, names);
        return -1;
    }
    for (int i = 0; i < rc->nworkloads; i++)
        if (rc->workloads[i] == w)
            return 0;
    if (rc->nworkloads == RUN_MAX_WORKLOADS)
        return -1;
    rc->workloads[rc->nworkloads++] = w;
    return 0;
}

static int take_poller(const char *name, void *arg)
{
    struct run_config *rc = arg;
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; i < poller_count(); i++) {
            const struct poller_ops *ops = poller_at(i);
            char why[256];
            if (!(ops->features & MUX_F_TEST_ONLY) && poller_probe(ops, why, sizeof why) == 0 &&
                take_poller(ops->name, rc) != 0)
                return -1;
        }
        return 0;
    }
    const struct poller_ops *ops = poller_find(name);
    if (!ops || (ops->features & MUX_F_TEST_ONLY)) {
        char names[1024];
        poller_names(names, sizeof names, 0);
        fprintf(stderr, "muxbench: unknown poller '%s'; valid: %s, all\n", name, names);
        return -1;
    }
    for (int i = 0; i < rc->opts.npollers; i++)
        if (rc->opts.pollers[i] == ops)
            return 0;
    if (rc->opts.npollers == RUN_MAX_POLLERS)
        return -1;
    rc->opts.pollers[rc->opts.npollers++] = ops;
    return 0;
}

/* Every --set key must be a parameter of a selected workload, and every value valid for each
 * selected workload that takes the key. */
static int check_sets(const struct run_config *rc)
{
    for (int s = 0; s < rc->opts.set.count; s++) {
        const struct param_set *set = &rc->opts.set.sets[s];
        const struct param_def *d = param_find(set->key);
        int takers = 0;
        for (int i = 0; i < rc->nworkloads; i++) {
            const struct param_use *u = workload_param(rc->workloads[i], set->key);
            if (!u)
                continue;
            takers++;
            for (int v = 0; v < set->count; v++) {
                char err[512];
                /* "auto" is a value only where the workload's default computes it, and it
                 * stands alone: it is a whole sweep. */
                if (strcmp(set->values[v], "auto") == 0 && set->count > 1) {
                    fprintf(stderr, "muxbench: --set %s: 'auto' is a whole sweep and cannot be "
                            "mixed with other values\n", set->key);
                    return -1;
                }
                if (strcmp(set->values[v], "auto") == 0 && !strstr(u->defaults, "auto")) {
                    fprintf(stderr, "muxbench: --set %s=auto: workload %s has no automatic "
                            "value for %s; give one\n", set->key, rc->workloads[i]->name,
                            set->key);
                    return -1;
                }
                if (strcmp(set->values[v], "auto") == 0)
                    continue;
                if (d->type == PARAM_CHOICE &&
                    param_check_value(d, u->choices, set->values[v], err, sizeof err) < 0) {
                    fprintf(stderr, "muxbench: %s (workload %s)\n", err, rc->workloads[i]->name);
                    return -1;
                }
            }
        }
        if (!takers) {
            fprintf(stderr, "muxbench: --set %s: no selected workload takes this parameter;",
                    set->key);
            for (int i = 0; i < rc->nworkloads; i++) {
                fprintf(stderr, " %s takes:", rc->workloads[i]->name);
                const struct param_use *u = rc->workloads[i]->params;
                for (int k = 0; u && u[k].key; k++)
                    fprintf(stderr, "%s %s", k ? "," : "", u[k].key);
                fprintf(stderr, u && u[0].key ? ";" : " nothing;");
            }
            fprintf(stderr, "\n");
            return -1;
        }
    }
    return 0;
}

static int parse_positive(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "muxbench: %s %s: expected a number in [%g, %g]\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static struct run_config rc;
    memset(&rc, 0, sizeof rc);
    const char *workloads = NULL, *pollers = NULL;
    double reps = 0, min_time = 0;
    int i;
    /* argv[1] is "run"; Google Benchmark's flags follow "--". */
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--quick") == 0) {
            rc.opts.quick = 1;
        } else if (strcmp(a, "--list-cases") == 0) {
            rc.list_cases = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help();
            return MUX_EXIT_OK;
        } else if (!val && (strcmp(a, "--workload") == 0 || strcmp(a, "--poller") == 0 ||
                            strcmp(a, "--out") == 0 || strcmp(a, "--set") == 0 ||
                            strcmp(a, "--repetitions") == 0 || strcmp(a, "--min-time") == 0)) {
            fprintf(stderr, "muxbench: %s needs a value\n", a);
            return MUX_EXIT_USAGE;
        } else if (strcmp(a, "--workload") == 0) {
            workloads = argv[++i];
        } else if (strcmp(a, "--poller") == 0) {
            pollers = argv[++i];
        } else if (strcmp(a, "--out") == 0) {
            if (!*val) {
                fprintf(stderr, "muxbench: --out needs a file name\n");
                return MUX_EXIT_USAGE;
            }
            snprintf(rc.out_path, sizeof rc.out_path, "%s", argv[++i]);
        } else if (strcmp(a, "--set") == 0) {
            char err[1024];
            if (param_parse_set(&rc.opts.set, argv[++i], err, sizeof err) < 0) {
                fprintf(stderr, "muxbench: %s\n", err);
                return MUX_EXIT_USAGE;
            }
        } else if (strcmp(a, "--repetitions") == 0) {
            if (parse_positive(a, argv[++i], 1, 1000, &reps) < 0 || reps != (int)reps) {
                if (reps != (int)reps)
                    fprintf(stderr, "muxbench: --repetitions takes a whole number\n");
                return MUX_EXIT_USAGE;
            }
        } else if (strcmp(a, "--min-time") == 0) {
            if (parse_positive(a, argv[++i], 0.001, 600, &min_time) < 0)
                return MUX_EXIT_USAGE;
        } else {
            fprintf(stderr, "muxbench: unknown option '%s' (Google Benchmark flags go after "
                            "'--'; see muxbench run --help)\n", a);
            return MUX_EXIT_USAGE;
        }
    }
    if (each_name(workloads ? workloads : "", take_workload, &rc) < 0 ||
        each_name(pollers ? pollers : "all", take_poller, &rc) < 0)
        return MUX_EXIT_USAGE;
    if (workloads && rc.nworkloads == 0) {
        char names[512];
        workload_names(names, sizeof names);
        fprintf(stderr, "muxbench: --workload '%s' names no workload; valid: %s\n", workloads,
                names);
        return MUX_EXIT_USAGE;
    }
    if (pollers && rc.opts.npollers == 0 && strcmp(pollers, "all") != 0) {
        char names[1024];
        poller_names(names, sizeof names, 0);
        fprintf(stderr, "muxbench: --poller '%s' names no poller; valid: %s, all\n", pollers,
                names);
        return MUX_EXIT_USAGE;
    }
    if (!workloads)
        for (size_t w = 0; w < workload_count(); w++)
            take_workload(workload_at(w)->name, &rc);
    if (check_sets(&rc) < 0)
        return MUX_EXIT_USAGE;
    rc.opts.repetitions = (int)reps;
    rc.shim.repetitions = reps > 0 ? (int)reps : rc.opts.quick ? 3 : 5;
    rc.shim.min_time_s = min_time > 0 ? min_time : rc.opts.quick ? 0.05 : 0.2;
    rc.shim.warmup_s = rc.opts.quick ? 0.01 : 0.05;

    /* Google Benchmark sees argv[0] plus whatever followed "--". */
    int gb_argc = 1 + (argc - i);
    char **gb_argv = calloc((size_t)gb_argc + 1, sizeof *gb_argv);
    if (!gb_argv)
        return MUX_EXIT_FAIL;
    gb_argv[0] = "muxbench";
    for (int k = i; k < argc; k++)
        gb_argv[1 + k - i] = argv[k];
    char err[512];
    if (shim_init(&gb_argc, gb_argv, err, sizeof err) < 0) {
        fprintf(stderr, "muxbench: %s\n", err);
        free(gb_argv);
        return MUX_EXIT_USAGE;
    }
    free(gb_argv);
    return run_execute(&rc, argc, argv);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return MUX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "list") == 0)
        return cmd_list();
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        print_help();
        return MUX_EXIT_OK;
    }
    fprintf(stderr, "muxbench: unknown command '%s'; valid commands: list, run, help\n",
            argv[1]);
    return MUX_EXIT_USAGE;
}
