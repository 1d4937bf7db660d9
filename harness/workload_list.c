/* workload_list.c - every workload muxbench knows, in the order a run executes them. Part of
 * the muxbench executable, so the harness library does not depend on the workloads. */
#include <stdio.h>
#include <string.h>

#include "harness/workload.h"

extern const struct workload harness_workload;
extern const struct workload fanin_workload;
extern const struct workload ctxswitch_workload;
extern const struct workload memory_workload;
extern const struct workload spawn_workload;
extern const struct workload echo_workload;
extern const struct workload nwait_workload;
extern const struct workload iobound_workload;
extern const struct workload cancel_workload;
extern const struct workload checkpoint_workload;

static const struct workload *const table[] = {
    &harness_workload,
    &fanin_workload,
    &ctxswitch_workload,
    &memory_workload,
    &spawn_workload,
    &echo_workload,
    &nwait_workload,
    &iobound_workload,
    &cancel_workload,
    &checkpoint_workload,
};

size_t workload_count(void) { return sizeof table / sizeof table[0]; }

const struct workload *workload_at(size_t i) { return i < workload_count() ? table[i] : NULL; }

const struct workload *workload_find(const char *name)
{
    for (size_t i = 0; i < workload_count(); i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

static const char *table_name(size_t i, const void *arg)
{
    (void)arg;
    return table[i]->name;
}

void workload_names(char *buf, size_t len)
{
    mux_join_names(buf, len, workload_count(), table_name, NULL);
}
