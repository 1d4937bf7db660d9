/*
 * main.c - the muxbench command line.
 *
 *   muxbench list                                   backends, workloads, topology, placements
 *   muxbench run [--workload W[,W]] [--poller P[,P]|all] [--quick] [--out F.csv]
 *                [--set key=value[,value...]]... [--repetitions N] [--min-time S]
 *                [--list-cases] [-- Google Benchmark flags]
 *   muxbench compare BASE.csv[,...] NEW.csv[,...] [--alpha A] [--threshold T] [--out F]
 *   muxbench agent --listen ADDR:PORT                a load generator for runs elsewhere
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

#include "harness/compare_cmd.h"
#include "harness/placement.h"
#include "pollers/poller.h"
#include "harness/run.h"
#include "harness/planner.h"
#include "workloads/support/agent.h"

static void print_run_options(void);

static void print_usage(FILE *to)
{
    fprintf(to,
            "usage: muxbench list\n"
            "       muxbench run [--workload W[,W]] [--poller P[,P]|all] [--quick] [--out F.csv]\n"
            "                    [--set key=value[,value...]]... [--repetitions N] [--min-time S]\n"
            "                    [--list-cases] [-- Google Benchmark flags]\n"
            "       muxbench compare BASE.csv[,...] NEW.csv[,...] [--alpha A] [--threshold T]\n"
            "                    [--metric M[,M]] [--min-effect E] [--out F.md|F.csv]\n"
            "       muxbench agent --listen ADDR:PORT   (a load generator; docs/agents.md)\n"
            "       muxbench help\n");
}

static void print_help(void)
{
    print_usage(stdout);
    printf("\nOptions of run:\n");
    print_run_options();
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
    printf("\ncompare: two runs case by case, a Mann-Whitney U test on the repetitions\n"
           "(docs/compare.md; `muxbench compare --help`). Exit 0, 1 a case slower beyond\n"
           "--threshold, 2 bad usage, 3 an unreadable or incompatible file.\n");
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

/* The options of `muxbench run`: one table drives the parsing and the help text. */
struct run_args {
    struct run_config *rc;
    const char *workloads, *pollers;
    double reps, min_time;
};

struct run_option {
    const char *name;
    const char *arg; /* the value's shape in the help text; NULL: a flag without a value */
    const char *help;
    /* Takes the option (its value, or NULL for a flag); returns 0 or an exit status. */
    int (*take)(struct run_args *a, const char *value);
};

static int opt_workload(struct run_args *a, const char *v) { a->workloads = v; return 0; }
static int opt_poller(struct run_args *a, const char *v) { a->pollers = v; return 0; }
static int opt_quick(struct run_args *a, const char *v) { (void)v; a->rc->opts.quick = 1; return 0; }
static int opt_list_cases(struct run_args *a, const char *v)
{
    (void)v;
    a->rc->list_cases = 1;
    return 0;
}

static int opt_out(struct run_args *a, const char *v)
{
    if (!*v) {
        fprintf(stderr, "muxbench: --out needs a file name\n");
        return MUX_EXIT_USAGE;
    }
    snprintf(a->rc->out_path, sizeof a->rc->out_path, "%s", v);
    return 0;
}

static int opt_set(struct run_args *a, const char *v)
{
    char err[1024];
    if (param_parse_set(&a->rc->opts.set, v, err, sizeof err) < 0) {
        fprintf(stderr, "muxbench: %s\n", err);
        return MUX_EXIT_USAGE;
    }
    return 0;
}

static int opt_repetitions(struct run_args *a, const char *v)
{
    if (parse_positive("--repetitions", v, 1, 1000, &a->reps) < 0)
        return MUX_EXIT_USAGE;
    if (a->reps != (int)a->reps) {
        fprintf(stderr, "muxbench: --repetitions takes a whole number\n");
        return MUX_EXIT_USAGE;
    }
    return 0;
}

static int opt_min_time(struct run_args *a, const char *v)
{
    return parse_positive("--min-time", v, 0.001, 600, &a->min_time) < 0 ? MUX_EXIT_USAGE : 0;
}

static const struct run_option run_options[] = {
    {"--workload", "W[,W]", "workloads to run (default: every available one)", opt_workload},
    {"--poller", "P[,P]", "backends for the workloads that use one; 'all' = every available "
     "backend (default: all)", opt_poller},
    {"--quick", NULL, "fewer repetitions, shorter runs, shorter sweeps", opt_quick},
    {"--out", "F.csv", "output (default results/<UTC time>-<host>-<pollers>.csv); Google "
     "Benchmark's JSON goes beside it as F.gbench.json", opt_out},
    {"--set", "key=v[,v]", "a parameter, or a sweep when several values are given; keys are "
     "CSV columns (below)", opt_set},
    {"--repetitions", "N", "repetitions per case (default 5, --quick 3; memory: 3, and one at "
     "a million units)", opt_repetitions},
    {"--min-time", "S", "minimum measured seconds per repetition (default 0.2, quick 0.05)",
     opt_min_time},
    {"--list-cases", NULL, "print the case names the run would execute, and stop",
     opt_list_cases},
};
#define N_RUN_OPTIONS (sizeof run_options / sizeof run_options[0])

/* The options' help, wrapped at 92 columns after a 21-column left side. */
static void print_run_options(void)
{
    for (size_t i = 0; i < N_RUN_OPTIONS; i++) {
        const struct run_option *o = &run_options[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-19s", left);
        const char *text = o->help;
        int col = 21;
        while (*text) {
            size_t word = strcspn(text, " ");
            if (col + 1 + (int)word > 92) {
                printf("\n%21s", "");
                col = 21;
            }
            printf(" %.*s", (int)word, text);
            col += 1 + (int)word;
            text += word;
            text += strspn(text, " ");
        }
        printf("\n");
    }
    printf("  %-19s passed to Google Benchmark (--benchmark_filter=REGEX, ...)\n", "-- FLAGS");
}

static const struct run_option *find_run_option(const char *name)
{
    for (size_t i = 0; i < N_RUN_OPTIONS; i++)
        if (strcmp(run_options[i].name, name) == 0)
            return &run_options[i];
    return NULL;
}

static int cmd_run(int argc, char **argv)
{
    static struct run_config rc; /* large (paths, overrides); it lives as long as the run */
    memset(&rc, 0, sizeof rc);
    struct run_args args = {.rc = &rc};
    int i;
    /* argv[1] is "run"; Google Benchmark's flags follow "--". */
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help();
            return MUX_EXIT_OK;
        }
        const struct run_option *o = find_run_option(a);
        if (!o) {
            fprintf(stderr, "muxbench: unknown option '%s' (Google Benchmark flags go after "
                            "'--'; see muxbench run --help)\n", a);
            return MUX_EXIT_USAGE;
        }
        const char *value = NULL;
        if (o->arg) {
            if (i + 1 >= argc) {
                fprintf(stderr, "muxbench: %s needs a value\n", a);
                return MUX_EXIT_USAGE;
            }
            value = argv[++i];
        }
        int st = o->take(&args, value);
        if (st)
            return st;
    }
    const char *workloads = args.workloads, *pollers = args.pollers;
    double reps = args.reps, min_time = args.min_time;
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

static int cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    print_help();
    return MUX_EXIT_OK;
}

static int cmd_list_args(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cmd_list();
}

/* The subcommands, as perf's builtin table: a name and the function that takes argv. */
static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"list", cmd_list_args},
    {"run", cmd_run},
    {"compare", cmd_compare},
    {"agent", agent_command},
    {"help", cmd_help},
    {"--help", cmd_help},
    {"-h", cmd_help},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char *command_name(size_t i, const void *arg)
{
    (void)arg;
    return commands[i].name[0] == '-' ? NULL : commands[i].name;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return MUX_EXIT_USAGE;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc, argv);
    char names[256];
    mux_join_names(names, sizeof names, N_COMMANDS, command_name, NULL);
    fprintf(stderr, "muxbench: unknown command '%s'; valid commands: %s\n", argv[1], names);
    return MUX_EXIT_USAGE;
}
