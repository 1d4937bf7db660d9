/* planner.c - the helpers planners use (planner.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/planner.h"

struct bench_case *plan_add(struct plan *plan, const struct workload *w,
                            const struct poller_ops *poller)
{
    if (plan->count == plan->cap) {
        int cap = plan->cap ? plan->cap * 2 : 64;
        struct bench_case **n = realloc(plan->cases, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        plan->cases = n;
        plan->cap = cap;
    }
    struct bench_case *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    param_row_set(&c->id, COL_WORKLOAD, w->name);
    param_row_set(&c->id, COL_POLLER, poller ? poller->name : "");
    plan->cases[plan->count++] = c;
    return c;
}

void bench_case_name(struct bench_case *c)
{
    size_t used = (size_t)snprintf(c->name, sizeof c->name, "%s", c->id.v[COL_WORKLOAD]);
    if (c->id.v[COL_POLLER][0] && used < sizeof c->name)
        used += (size_t)snprintf(c->name + used, sizeof c->name - used, "/%s",
                                 c->id.v[COL_POLLER]);
    for (int col = COL_VARIANT; col < COL_COUNT && used < sizeof c->name; col++)
        if (c->id.v[col][0])
            used += (size_t)snprintf(c->name + used, sizeof c->name - used, "/%s:%s",
                                     param_col_name((enum param_col)col), c->id.v[col]);
}

void plan_free(struct plan *plan)
{
    for (int i = 0; i < plan->count; i++) {
        struct bench_case *c = plan->cases[i];
        if (c->free_ctx)
            c->free_ctx(c->ctx);
        free(c);
    }
    free(plan->cases);
    memset(plan, 0, sizeof *plan);
}

const struct param_use *workload_param(const struct workload *w, const char *key)
{
    for (const struct param_use *u = w->params; u && u->key; u++)
        if (strcmp(u->key, key) == 0)
            return u;
    return NULL;
}

int run_values(const struct run_opts *o, const struct workload *w, const char *key,
               struct param_set *out)
{
    const struct param_use *u = workload_param(w, key);
    memset(out, 0, sizeof *out);
    if (!u)
        return 0;
    out->key = u->key;
    const struct param_set *user = param_override(&o->set, key);
    if (user) {
        *out = *user;
        return out->count;
    }
    const char *list = (o->quick && u->quick) ? u->quick : u->defaults;
    while (list && *list && out->count < PARAM_MAX_VALUES) {
        size_t n = strcspn(list, ",");
        snprintf(out->values[out->count++], PARAM_VALUE_MAX, "%.*s", (int)n, list);
        list += n + (list[n] == ',');
    }
    return out->count;
}

int run_numbers(const struct run_opts *o, const struct workload *w, const char *key,
                long long *out, int max)
{
    struct param_set set;
    int n = run_values(o, w, key, &set);
    int k = 0;
    for (int i = 0; i < n && k < max; i++)
        out[k++] = param_value(param_find(key), set.values[i]);
    return k;
}

const struct poller_ops *run_first_poller(const struct run_opts *o)
{
    for (int i = 0; i < o->npollers; i++) {
        char why[256];
        if (poller_probe(o->pollers[i], why, sizeof why) == 0)
            return o->pollers[i];
    }
    return NULL;
}
