/*
 * env.h - the environment recorded with every run (docs/csv.md, "Environment rows"), and the
 * warnings about it that a reader of the numbers needs: a CPU governor that is not
 * `performance`, turbo/boost on, a clock source without a fast path.
 */
#ifndef MUX_ENV_H
#define MUX_ENV_H

#include <stdio.h>

#include "harness/csv.h"

#define ENV_MAX_ITEMS 160

struct env_item {
    char key[96];
    int numeric;
    double value;
    char text[512];
};

struct env {
    int count;
    struct env_item items[ENV_MAX_ITEMS];
    struct csv_meta meta;
};

#define ENV_MAX_NOTES 48

void env_collect(struct env *e, int argc, char **argv);
/* An environment item a workload learns while planning (an agent's host, kernel and CPU):
 * every later env_collect() records it. A key given again replaces its text. */
void env_note(const char *key, const char *text);
/* The CPU's model name from /proc/cpuinfo ("unknown" without one). */
void env_cpu_model(char *buf, size_t len);
const struct env_item *env_get(const struct env *e, const char *key);
void env_write_rows(const struct env *e, struct csv_out *o);
/* Prints one line per condition that makes numbers less stable; returns how many. */
int env_warnings(const struct env *e, FILE *to);

#endif
