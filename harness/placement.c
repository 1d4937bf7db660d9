/*
 * placement.c - see placement.h.
 *
 * Quirks handled:
 *  a) A VM's topology is what the hypervisor presents: vCPUs may be "cores" with private L2s
 *     under one L3, or separate packages. We name what hwloc (or sysfs) reports, and the CSV
 *     records the topology string with every run so a reader can judge it.
 *  b) A binding can be refused (cpuset cgroups, offline cpus), and a thread is only known to
 *     run where it was bound once it has been scheduled there: after binding we yield and read
 *     the last cpu location, and report a mismatch as an error instead of a mislabelled row.
 *  c) Without an L3 object in the topology (some VMs hide caches) same-l3 and cross-l3 are
 *     reported as missing rather than guessed from packages.
 *  d) Only cpus the process may run on are chosen: the affinity mask the calling thread had
 *     before its first binding (a user's `taskset` narrows every placement). Binding saves
 *     that mask and placement_unbind_self() puts it back, so a run under taskset stays there.
 *  e) same-pu takes the allowed cpu that has handled the fewest interrupts since boot
 *     (/proc/interrupts): on a VM one vCPU often takes most device and timer interrupts, and
 *     a ping-pong on it would time their handlers too.
 */
#define _GNU_SOURCE
#include "harness/placement.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mux_config.h"

#if MUX_HAVE_HWLOC
#include <hwloc.h>
#endif

/* The calling thread's mask before its first binding (quirk d). */
static _Thread_local cpu_set_t tl_original;
static _Thread_local int tl_bound;

/* The cpus a placement may use: the mask before any binding of this thread. */
static void allowed_cpus(cpu_set_t *set)
{
    if (tl_bound) {
        *set = tl_original;
        return;
    }
    CPU_ZERO(set);
    if (pthread_getaffinity_np(pthread_self(), sizeof *set, set) != 0)
        for (int i = 0; i < CPU_SETSIZE; i++)
            CPU_SET(i, set);
}

static int cpu_allowed(int cpu)
{
    cpu_set_t set;
    allowed_cpus(&set);
    return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
}

int placement_quietest_cpu(const char *text, const int *cpus, int ncpus)
{
    enum { MAXCOL = 1024 };
    /* On the heap: thread-local arrays would grow every thread's static TLS, which small
     * thread stacks must hold. */
    int *col_cpu = malloc(MAXCOL * sizeof *col_cpu);
    unsigned long long *col_sum = malloc(MAXCOL * sizeof *col_sum);
    if (!col_cpu || !col_sum) {
        free(col_cpu);
        free(col_sum);
        return ncpus > 0 ? cpus[0] : -1;
    }
    int ncol = 0;
    const char *line = text;
    /* The header names the columns: "CPU0 CPU1 ..." (offline cpus have none). */
    while (line && *line && *line != '\n' && ncol < MAXCOL) {
        const char *p = strstr(line, "CPU");
        const char *eol = strchr(line, '\n');
        if (!p || (eol && p > eol))
            break;
        col_cpu[ncol] = atoi(p + 3);
        col_sum[ncol++] = 0;
        line = p + 3;
    }
    line = text ? strchr(text, '\n') : NULL;
    while (line && *++line) {
        const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');
        if (!colon || (eol && colon > eol)) {
            line = eol;
            continue;
        }
        const char *p = colon + 1;
        for (int c = 0; c < ncol; c++) {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p || (eol && end > eol))
                break; /* "ERR: 0" and the like have one column */
            col_sum[c] += v;
            p = end;
        }
        line = eol;
    }
    int best = -1;
    unsigned long long best_sum = 0;
    for (int i = 0; i < ncpus; i++) {
        unsigned long long sum = 0;
        for (int c = 0; c < ncol; c++)
            if (col_cpu[c] == cpus[i])
                sum = col_sum[c];
        if (best < 0 || sum < best_sum) {
            best = cpus[i];
            best_sum = sum;
        }
    }
    free(col_cpu);
    free(col_sum);
    return best;
}

/* same-pu (quirk e): the allowed online cpu with the fewest interrupts; -1 when none. */
static int quietest_allowed_cpu(const int *online, int n)
{
    enum { TEXT_MAX = 1 << 18 };
    int *cpus = malloc((size_t)(n > 0 ? n : 1) * sizeof *cpus);
    char *text = malloc(TEXT_MAX);
    int k = 0, best = -1;
    if (cpus && text) {
        for (int i = 0; i < n; i++)
            if (cpu_allowed(online[i]))
                cpus[k++] = online[i];
        FILE *f = fopen("/proc/interrupts", "r");
        size_t len = f ? fread(text, 1, TEXT_MAX - 1, f) : 0;
        if (f)
            fclose(f);
        text[len] = '\0';
        best = placement_quietest_cpu(text, cpus, k);
    }
    free(cpus);
    free(text);
    return best;
}

static const char *const names[PL_COUNT] = {
    [PL_SAME_PU] = "same-pu",   [PL_SMT_SIBLING] = "smt-sibling", [PL_SAME_L3] = "same-l3",
    [PL_CROSS_L3] = "cross-l3", [PL_CROSS_NUMA] = "cross-numa",   [PL_UNPINNED] = "unpinned",
};

const char *placement_name(enum placement_id id)
{
    return (unsigned)id < PL_COUNT ? names[id] : "?";
}

int placement_lookup(const char *name)
{
    for (int i = 0; i < PL_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static int set_why(char *why, size_t len, const char *text)
{
    if (why && len)
        snprintf(why, len, "%s", text);
    return -ENODEV;
}

/* ---- sysfs: the fallback, and a cross-check of hwloc in the tests ----------------------- */

static int read_int_file(const char *path, int *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%d", out) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

struct sys_cpu {
    int cpu, core, package, l3, node;
};

/* Lists online cpus with their core, package, L3 id (-1 unknown) and NUMA node. */
static int sysfs_cpus(struct sys_cpu *out, int max)
{
    int n = 0;
    for (int cpu = 0; cpu < 4096 && n < max; cpu++) {
        char path[160];
        struct sys_cpu c = {.cpu = cpu, .l3 = -1, .node = 0};
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        if (read_int_file(path, &c.core) < 0)
            continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
        int online = 1;
        read_int_file(path, &online); /* cpu0 often has no `online` file: it is online */
        if (!online)
            continue;
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        if (read_int_file(path, &c.package) < 0)
            c.package = 0;
        for (int idx = 0; idx < 8; idx++) {
            int level = 0;
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/level", cpu,
                     idx);
            if (read_int_file(path, &level) < 0)
                break;
            if (level == 3) {
                snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/id",
                         cpu, idx);
                if (read_int_file(path, &c.l3) < 0)
                    c.l3 = c.package; /* old kernels: no id file; one L3 per package */
            }
        }
        for (int node = 0; node < 64; node++) {
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/node%d", cpu, node);
            if (access(path, F_OK) == 0) {
                c.node = node;
                break;
            }
        }
        out[n++] = c;
    }
    return n;
}

int placement_resolve_sysfs(enum placement_id id, struct placement *out, char *why, size_t len)
{
    static struct sys_cpu cpus[4096];
    int n = sysfs_cpus(cpus, 4096);
    out->id = id;
    out->cpu[0] = out->cpu[1] = -1;
    if (id == PL_UNPINNED)
        return 0;
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (cpu_allowed(cpus[i].cpu))
            cpus[kept++] = cpus[i];
    n = kept;
    if (n == 0)
        return set_why(why, len, "no allowed cpu in the sysfs topology");
    if (id == PL_SAME_PU) {
        static int online[4096];
        for (int i = 0; i < n; i++)
            online[i] = cpus[i].cpu;
        out->cpu[0] = out->cpu[1] = quietest_allowed_cpu(online, n);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            const struct sys_cpu *a = &cpus[i], *b = &cpus[j];
            int same_core = a->package == b->package && a->core == b->core;
            int match = 0;
            switch (id) {
            case PL_SMT_SIBLING: match = same_core; break;
            case PL_SAME_L3: match = !same_core && a->l3 >= 0 && a->l3 == b->l3; break;
            case PL_CROSS_L3: match = a->l3 >= 0 && b->l3 >= 0 && a->l3 != b->l3; break;
            case PL_CROSS_NUMA: match = a->node != b->node; break;
            default: break;
            }
            if (match) {
                out->cpu[0] = a->cpu;
                out->cpu[1] = b->cpu;
                return 0;
            }
        }
    }
    switch (id) {
    case PL_SMT_SIBLING: return set_why(why, len, "no core has two hardware threads (no SMT)");
    case PL_SAME_L3: return set_why(why, len, "no two cores share an L3 cache the kernel reports");
    case PL_CROSS_L3: return set_why(why, len, "all cores share one L3 cache (or none is reported)");
    case PL_CROSS_NUMA: return set_why(why, len, "one NUMA node");
    default: return set_why(why, len, "unknown placement");
    }
}

/* ---- hwloc ------------------------------------------------------------------------------ */

#if MUX_HAVE_HWLOC
static hwloc_topology_t topo;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static int topo_ok;

static void topo_load(void)
{
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0)
        topo_ok = 1;
}

/* The first PU of obj the process may use (quirk d), or -1. */
static int first_pu(hwloc_obj_t obj)
{
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, obj->cpuset, HWLOC_OBJ_PU);
    for (int i = 0; i < n; i++) {
        hwloc_obj_t pu =
            hwloc_get_obj_inside_cpuset_by_type(topo, obj->cpuset, HWLOC_OBJ_PU, (unsigned)i);
        if (pu && cpu_allowed((int)pu->os_index))
            return (int)pu->os_index;
    }
    return -1;
}

/* Two objects of `type` for which pair_ok holds; their first PUs. */
static int pick_pair(hwloc_obj_type_t type, int (*pair_ok)(hwloc_obj_t, hwloc_obj_t), int cpu[2])
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            hwloc_obj_t a = hwloc_get_obj_by_type(topo, type, (unsigned)i);
            hwloc_obj_t b = hwloc_get_obj_by_type(topo, type, (unsigned)j);
            if (pair_ok(a, b) && first_pu(a) >= 0 && first_pu(b) >= 0) {
                cpu[0] = first_pu(a);
                cpu[1] = first_pu(b);
                return 0;
            }
        }
    return -1;
}

static hwloc_obj_t l3_of(hwloc_obj_t o)
{
    return hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_L3CACHE, o);
}
static int share_l3(hwloc_obj_t a, hwloc_obj_t b) { return l3_of(a) && l3_of(a) == l3_of(b); }
static int differ_l3(hwloc_obj_t a, hwloc_obj_t b)
{
    return l3_of(a) && l3_of(b) && l3_of(a) != l3_of(b);
}
static int differ_numa(hwloc_obj_t a, hwloc_obj_t b)
{
    return !hwloc_bitmap_intersects(a->nodeset, b->nodeset);
}
static int same_core(hwloc_obj_t a, hwloc_obj_t b)
{
    hwloc_obj_t ca = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, a);
    return ca && ca == hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, b);
}
#endif

int placement_resolve(enum placement_id id, struct placement *out, char *why, size_t len)
{
#if MUX_HAVE_HWLOC
    pthread_once(&topo_once, topo_load);
    if (!topo_ok)
        return placement_resolve_sysfs(id, out, why, len);
    out->id = id;
    out->cpu[0] = out->cpu[1] = -1;
    switch (id) {
    case PL_UNPINNED:
        return 0;
    case PL_SAME_PU: {
        static int online[4096];
        int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), k = 0;
        for (int i = 0; i < n && k < 4096; i++)
            online[k++] = (int)hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)i)->os_index;
        int cpu = quietest_allowed_cpu(online, k);
        if (cpu < 0)
            return set_why(why, len, "hwloc found no processing unit the process may use");
        out->cpu[0] = out->cpu[1] = cpu;
        return 0;
    }
    case PL_SMT_SIBLING:
        if (pick_pair(HWLOC_OBJ_PU, same_core, out->cpu) == 0)
            return 0;
        return set_why(why, len, "no core has two hardware threads (no SMT)");
    case PL_SAME_L3:
        if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE) == 0)
            return set_why(why, len, "the topology reports no L3 cache");
        if (pick_pair(HWLOC_OBJ_CORE, share_l3, out->cpu) == 0)
            return 0;
        return set_why(why, len, "no two cores share an L3 cache");
    case PL_CROSS_L3:
        if (pick_pair(HWLOC_OBJ_CORE, differ_l3, out->cpu) == 0)
            return 0;
        return set_why(why, len, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE) < 2
                                     ? "one L3 cache on this machine"
                                     : "no two cores under different L3 caches");
    case PL_CROSS_NUMA:
        if (pick_pair(HWLOC_OBJ_CORE, differ_numa, out->cpu) == 0)
            return 0;
        return set_why(why, len, "one NUMA node on this machine");
    default:
        return set_why(why, len, "unknown placement");
    }
#else
    return placement_resolve_sysfs(id, out, why, len);
#endif
}

int placement_current_cpu(void)
{
#if MUX_HAVE_HWLOC
    pthread_once(&topo_once, topo_load);
    if (topo_ok) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        int cpu = -1;
        if (set && hwloc_get_last_cpu_location(topo, set, HWLOC_CPUBIND_THREAD) == 0)
            cpu = hwloc_bitmap_first(set);
        hwloc_bitmap_free(set);
        return cpu;
    }
#endif
    return sched_getcpu();
}

int placement_bind_self(const struct placement *pl, int which, int *ran_on)
{
    int cpu = pl->cpu[which];
    *ran_on = -1;
    if (cpu < 0) {
        *ran_on = placement_current_cpu();
        return 0;
    }
    if (!tl_bound) { /* quirk d: what placement_unbind_self() puts back */
        CPU_ZERO(&tl_original);
        if (pthread_getaffinity_np(pthread_self(), sizeof tl_original, &tl_original) != 0)
            return -EPERM;
        tl_bound = 1;
    }
#if MUX_HAVE_HWLOC
    pthread_once(&topo_once, topo_load);
    if (topo_ok) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (!set)
            return -ENOMEM;
        hwloc_bitmap_only(set, (unsigned)cpu);
        int rc = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
        int err = errno;
        hwloc_bitmap_free(set);
        if (rc < 0)
            return -(err ? err : EINVAL);
        goto verify;
    }
#endif
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        if (rc)
            return -rc;
    }
#if MUX_HAVE_HWLOC
verify:
#endif
    sched_yield(); /* quirk b: be scheduled under the new mask before asking where we run */
    *ran_on = placement_current_cpu();
    return *ran_on == cpu ? 0 : -EXDEV;
}

int placement_unbind_self(void)
{
    if (!tl_bound)
        return 0; /* never bound: the mask is still the caller's */
    int rc = pthread_setaffinity_np(pthread_self(), sizeof tl_original, &tl_original);
    if (rc)
        return -rc;
    tl_bound = 0;
    return 0;
}

void placement_topology(char *buf, size_t len)
{
#if MUX_HAVE_HWLOC
    pthread_once(&topo_once, topo_load);
    if (topo_ok) {
        int packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
        int l3 = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE);
        int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        int nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
        snprintf(buf, len, "%d package%s, %d L3, %d core%s, %d PU%s, %d NUMA node%s, %s", packages,
                 packages == 1 ? "" : "s", l3, cores, cores == 1 ? "" : "s", pus,
                 pus == 1 ? "" : "s", nodes, nodes == 1 ? "" : "s",
                 pus > cores ? "SMT" : "no SMT");
        return;
    }
#endif
    static struct sys_cpu cpus[4096];
    int n = sysfs_cpus(cpus, 4096);
    snprintf(buf, len, "%d cpu%s online (sysfs)", n, n == 1 ? "" : "s");
}

void placement_counts(int *cores, int *pus)
{
#if MUX_HAVE_HWLOC
    pthread_once(&topo_once, topo_load);
    if (topo_ok) {
        *cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        *pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        return;
    }
#endif
    static struct sys_cpu cpus[4096];
    int n = sysfs_cpus(cpus, 4096), distinct = 0;
    for (int i = 0; i < n; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= !(cpus[j].core == cpus[i].core && cpus[j].package == cpus[i].package);
        distinct += first;
    }
    *cores = distinct;
    *pus = n;
}

void placement_available(char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < PL_COUNT; i++) {
        struct placement pl;
        if (placement_resolve((enum placement_id)i, &pl, NULL, 0) != 0)
            continue;
        int n = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? ", " : "",
                         names[i]);
        if (n > 0)
            used += (size_t)n;
    }
}

const char *placement_backend(void)
{
#if MUX_HAVE_HWLOC
    static char text[96];
    unsigned v = hwloc_get_api_version();
    snprintf(text, sizeof text, "hwloc %s (API %u.%u)", HWLOC_VERSION, v >> 16, (v >> 8) & 0xff);
    return text;
#else
    return "sysfs + sched_setaffinity (built without hwloc)";
#endif
}
