/* units.c - see units.h. */
#define _GNU_SOURCE
#include "workloads/support/units.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KIB 1024LL
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)
/* The most tasks a Linux kernel can have (PID_MAX_LIMIT on 64-bit): more threads are absurd. */
#define THREADS_ABSURD 4194304LL
/* A user address space of 47 bits (x86_64, aarch64 with 4 KiB pages and 48-bit VA). */
#define ADDRESS_SPACE (128LL << 40)

const char *unit_kind_name(enum unit_kind k)
{
    return k == UNIT_THREAD ? "thread" : k == UNIT_THREAD_SMALL ? "thread-small" : "coroutine";
}

const char *unit_alloc_name(enum unit_alloc a)
{
    return a == ALLOC_PTHREAD ? "pthread"
           : a == ALLOC_GUARD ? "guard"
           : a == ALLOC_POOL  ? "pool"
           : a == ALLOC_COPY  ? "copy"
                              : "stackless";
}

void units_bytes_str(double bytes, char *buf, size_t len)
{
    static const char *const suffix[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024 && i < 4) {
        bytes /= 1024;
        i++;
    }
    snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", bytes, suffix[i]);
}

/* ---- configurations ---------------------------------------------------------------------- */

size_t units_default_thread_stack(void)
{
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &size);
        pthread_attr_destroy(&attr);
    }
    return size ? size : (size_t)8 << 20; /* glibc's own default when it cannot say */
}

/* Splits "a,b,c" into numbers. */
static int parse_list(const char *list, long long *out, int max)
{
    int n = 0;
    while (list && *list && n < max) {
        char v[PARAM_VALUE_MAX];
        size_t k = strcspn(list, ",");
        snprintf(v, sizeof v, "%.*s", (int)k, list);
        out[n++] = param_number(v);
        list += k + (list[k] == ',');
    }
    return n;
}

/* The numbers for key: the user's, else `fallback` (when the param_use says "auto"), else the
 * workload's own defaults. */
static int numbers_or(const struct run_opts *o, const struct workload *w, const char *key,
                      const char *fallback, long long *out, int max)
{
    const struct param_set *user = param_override(&o->set, key);
    if (!user && fallback)
        return parse_list(fallback, out, max);
    return run_numbers(o, w, key, out, max);
}

/* Stack bytes left for frames: what a touched depth must fit in. The thread's is what glibc
 * puts at the top (struct pthread, static TLS) and the start frames; the coroutine's its
 * control block. Frames of coro_stack_touch are 1 KiB buffers plus their overhead (more under
 * AddressSanitizer's redzones): a quarter on top covers it. */
static int touch_fits(const struct unit_config *c)
{
    size_t fixed = c->kind == UNIT_CORO ? 4096 : 12288;
    return c->touch_bytes + c->touch_bytes / 4 + fixed <= c->stack_bytes;
}

int units_configs(const struct run_opts *o, const struct workload *w,
                  const struct unit_defaults *d, struct unit_config *out, int max, char *msg,
                  size_t len)
{
    struct param_set variants, allocs;
    run_values(o, w, "variant", &variants);
    run_values(o, w, "stack_alloc", &allocs);
    int user_stack = param_override(&o->set, "stack_bytes") != NULL;
    int user_touch = param_override(&o->set, "touch_bytes") != NULL;
    int takes_touch = workload_param(w, "touch_bytes") != NULL;
    long long touches[UNITS_MAX_VALUES] = {0};
    int ntouch = takes_touch ? run_numbers(o, w, "touch_bytes", touches, UNITS_MAX_VALUES) : 1;
    int n = 0;
    char dropped[256] = "";
    for (int v = 0; v < variants.count; v++) {
        const char *vn = variants.values[v];
        enum unit_kind kind = strcmp(vn, "thread") == 0         ? UNIT_THREAD
                              : strcmp(vn, "thread-small") == 0 ? UNIT_THREAD_SMALL
                                                                : UNIT_CORO;
        for (int a = 0; a < allocs.count; a++) {
            const char *an = allocs.values[a];
            int isauto = strcmp(an, "auto") == 0;
            enum unit_alloc alloc[4];
            int nalloc = 0;
            if (kind != UNIT_CORO && (isauto || strcmp(an, "pthread") == 0))
                alloc[nalloc++] = ALLOC_PTHREAD;
            if (kind == UNIT_CORO && (isauto || strcmp(an, "pool") == 0))
                alloc[nalloc++] = ALLOC_POOL;
            if (kind == UNIT_CORO && (isauto || strcmp(an, "guard") == 0))
                alloc[nalloc++] = ALLOC_GUARD;
            if (kind == UNIT_CORO && (isauto || strcmp(an, "copy") == 0))
                alloc[nalloc++] = ALLOC_COPY;
            if (kind == UNIT_CORO && (isauto || strcmp(an, "stackless") == 0))
                alloc[nalloc++] = ALLOC_STACKLESS;
            if (!nalloc)
                snprintf(dropped, sizeof dropped, "variant %s does not take stack_alloc=%s "
                         "(threads: pthread; coroutines: guard, pool, copy, stackless)", vn,
                         an);
            if (kind == UNIT_THREAD && user_stack) {
                snprintf(dropped, sizeof dropped, "variant thread uses the default attributes "
                         "(a %zu-byte stack here); for a chosen stack_bytes use thread-small",
                         units_default_thread_stack());
                nalloc = 0;
            }
            for (int k = 0; k < nalloc; k++) {
                long long stacks[UNITS_MAX_VALUES];
                int nstack;
                if (kind == UNIT_THREAD) {
                    stacks[0] = (long long)units_default_thread_stack();
                    nstack = 1;
                } else if (alloc[k] == ALLOC_STACKLESS) {
                    stacks[0] = 0; /* no stack: its frame is all it has */
                    nstack = 1;
                } else if (alloc[k] == ALLOC_COPY && !user_stack) {
                    stacks[0] = 64 * 1024; /* one run stack for all: its size barely counts */
                    nstack = 1;
                } else {
                    const char *def = kind == UNIT_CORO
                                          ? (o->quick ? d->coro_stack_quick : d->coro_stack)
                                          : (o->quick ? d->small_stack_quick : d->small_stack);
                    nstack = numbers_or(o, w, "stack_bytes", def, stacks, UNITS_MAX_VALUES);
                }
                for (int s = 0; s < nstack; s++) {
                    struct unit_config c = {.kind = kind, .alloc = alloc[k],
                                            .stack_bytes = (size_t)stacks[s]};
                    long tmin = sysconf(_SC_THREAD_STACK_MIN);
                    if (kind == UNIT_THREAD_SMALL && tmin > 0 && c.stack_bytes < (size_t)tmin) {
                        snprintf(msg, len, "stack_bytes=%zu: a thread stack must be at least "
                                 "%ld bytes here (PTHREAD_STACK_MIN)", c.stack_bytes, tmin);
                        return -1;
                    }
                    if (kind == UNIT_CORO && alloc[k] != ALLOC_STACKLESS &&
                        coro_stack_round(c.stack_bytes, &c.stack_bytes)) {
                        snprintf(msg, len, "stack_bytes=%lld: not a coroutine stack size",
                                 stacks[s]);
                        return -1;
                    }
                    for (int t = 0; t < ntouch; t++) {
                        c.touch_bytes = (size_t)touches[t];
                        if (alloc[k] == ALLOC_STACKLESS) {
                            if (t > 0)
                                break; /* touch_bytes does not apply: one configuration */
                            c.touch_bytes = 0;
                        } else if (!touch_fits(&c)) {
                            if (!user_touch)
                                continue; /* a default depth this stack cannot hold */
                            snprintf(msg, len, "touch_bytes=%zu does not fit a %zu-byte %s "
                                     "stack (at most %zu bytes: frames need room beyond it)",
                                     c.touch_bytes, c.stack_bytes, vn,
                                     (c.stack_bytes - (kind == UNIT_CORO ? 4096 : 12288)) * 4 /
                                         5);
                            return -1;
                        }
                        if (n == max) {
                            snprintf(msg, len, "more than %d configurations: sweep fewer "
                                     "values", max);
                            return -1;
                        }
                        out[n++] = c;
                    }
                }
            }
        }
    }
    if (n == 0) {
        snprintf(msg, len, "no case to run: %s", dropped[0] ? dropped : "no touched depth fits");
        return -1;
    }
    return n;
}

int units_values(const struct run_opts *o, const struct workload *w,
                 const struct unit_defaults *d, const struct unit_config *cfg, long long *out,
                 int max, char *msg, size_t len)
{
    const char *def = cfg->kind == UNIT_CORO ? (o->quick ? d->coro_units_quick : d->coro_units)
                                             : (o->quick ? d->thread_units_quick
                                                         : d->thread_units);
    int n = numbers_or(o, w, "units", def, out, max);
    for (int i = 0; i < n; i++) {
        if (cfg->kind != UNIT_CORO && out[i] > THREADS_ABSURD) {
            snprintf(msg, len, "units=%lld: more threads than any Linux system can have "
                     "(PID_MAX_LIMIT is %lld)", out[i], THREADS_ABSURD);
            return -1;
        }
        if ((cfg->alloc == ALLOC_GUARD || cfg->alloc == ALLOC_POOL) &&
            (double)out[i] * (double)cfg->stack_bytes > (double)ADDRESS_SPACE) {
            snprintf(msg, len, "units=%lld of %zu-byte stacks: more than a 128 TiB address "
                     "space can map", out[i], cfg->stack_bytes);
            return -1;
        }
    }
    return n;
}

const char *const unit_variant_names[] = {"thread", "thread-small", "coroutine", NULL};

int units_plan(const struct run_opts *o, const struct workload *w, const struct unit_defaults *d,
               int (*add)(void *arg, const struct unit_config *cfg, long long units), void *arg,
               char *msg, size_t len)
{
    static struct unit_config cfgs[UNITS_MAX_CONFIGS];
    int ncfg = units_configs(o, w, d, cfgs, UNITS_MAX_CONFIGS, msg, len);
    if (ncfg < 0)
        return MUX_EXIT_USAGE;
    for (int k = 0; k < ncfg; k++) {
        long long units[UNITS_MAX_VALUES];
        int nunits = units_values(o, w, d, &cfgs[k], units, UNITS_MAX_VALUES, msg, len);
        if (nunits < 0)
            return MUX_EXIT_USAGE;
        for (int u = 0; u < nunits; u++) {
            int rc = add(arg, &cfgs[k], units[u]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

struct bench_case *units_case(struct plan *plan, const struct workload *w,
                              const struct poller_ops *ops, const struct unit_config *cfg,
                              long long units, size_t ctx_size, const char *tag, char *msg,
                              size_t len)
{
    struct bench_case *c = plan_add(plan, w, ops);
    struct unit_case *u = calloc(1, ctx_size);
    if (!c || !u) {
        free(u);
        snprintf(msg, len, "out of memory");
        return NULL;
    }
    u->cfg = *cfg;
    u->units = (long)units;
    snprintf(u->group, sizeof u->group, "%s/%s/%s/%s/%s/%zu/%zu", w->name, tag,
             ops ? ops->name : "-", unit_kind_name(cfg->kind), unit_alloc_name(cfg->alloc),
             cfg->stack_bytes, cfg->touch_bytes);
    c->ctx = u;
    c->free_ctx = free;
    c->group = u->group;
    param_row_set(&c->id, COL_VARIANT, unit_kind_name(cfg->kind));
    param_row_setn(&c->id, COL_UNITS, units);
    if (cfg->alloc != ALLOC_STACKLESS) /* no stack: the columns do not apply */
        param_row_setn(&c->id, COL_STACK_BYTES, (long long)cfg->stack_bytes);
    param_row_set(&c->id, COL_STACK_ALLOC, unit_alloc_name(cfg->alloc));
    if (workload_param(w, "touch_bytes") && cfg->alloc != ALLOC_STACKLESS)
        param_row_setn(&c->id, COL_TOUCH_BYTES, (long long)cfg->touch_bytes);
    return c;
}

int units_thread_attr(const struct unit_config *cfg, pthread_attr_t *attr)
{
    int rc = pthread_attr_init(attr);
    if (rc == 0 && cfg->kind == UNIT_THREAD_SMALL &&
        (rc = pthread_attr_setstacksize(attr, cfg->stack_bytes)) != 0)
        pthread_attr_destroy(attr);
    return rc;
}

#if defined(__SANITIZE_THREAD__)
#define UNITS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNITS_TSAN 1
#endif
#endif

int units_coro_unsupported(char *why, size_t len)
{
#ifdef UNITS_TSAN
    snprintf(why, len, "coroutines are not run under ThreadSanitizer: coro.c does not announce "
             "its stack switches to it, and its shadow call stack overflows");
    return -1;
#else
    (void)why;
    (void)len;
    return 0;
#endif
}

void units_coro_attr(const struct unit_config *cfg, struct coro_pool *pool, struct coro_attr *a)
{
    coro_attr_init(a);
    a->stack_size = cfg->stack_bytes;
    a->stack_kind = cfg->alloc == ALLOC_POOL   ? CORO_STACK_POOL
                    : cfg->alloc == ALLOC_COPY ? CORO_STACK_COPY
                                               : CORO_STACK_GUARD;
    a->pool = pool;
    if (cfg->alloc == ALLOC_COPY) {
        a->stack_size = 0; /* the run stack's (set a->copy_stack) */
        a->switch_kind = CORO_SWITCH_ASM;
    }
}

/* ---- counters ---------------------------------------------------------------------------- */

/* Reads a whole small file into buf (NUL-terminated) with read(2): no stdio, no malloc, so it
 * works at a limit where malloc may fail. Returns the length or -errno. */
static long read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
        used += (size_t)n;
    int err = n < 0 ? errno : 0;
    close(fd);
    buf[used] = '\0';
    return err ? -err : (long)used;
}

static long long read_number(const char *path)
{
    char buf[64];
    if (read_text(path, buf, sizeof buf) <= 0)
        return -1;
    if (strncmp(buf, "max", 3) == 0)
        return LLONG_MAX;
    return strtoll(buf, NULL, 10);
}

long long units_field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0)
            continue;
        char *end;
        long long v = strtoll(p + klen, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        return strncmp(end, "kB", 2) == 0 ? v * KIB : v;
    }
    return -1;
}

int units_stat_refresh(void)
{
    int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, "1", 1);
    int err = n < 0 ? errno : 0;
    close(fd);
    return -err;
}

int units_counters(struct unit_counters *c)
{
    char buf[8192];
    long n;
    if ((n = read_text("/proc/self/status", buf, sizeof buf)) < 0)
        return (int)n;
    c->vm_size = units_field(buf, "VmSize:");
    c->vm_pte = units_field(buf, "VmPTE:");
    c->threads = units_field(buf, "Threads:");
    if ((n = read_text("/proc/self/smaps_rollup", buf, sizeof buf)) < 0)
        return (int)n;
    c->rss = units_field(buf, "Rss:");
    c->anon = units_field(buf, "Anonymous:");
    c->anon_huge = units_field(buf, "AnonHugePages:");
    c->refreshed = units_stat_refresh() == 0;
    if ((n = read_text("/proc/meminfo", buf, sizeof buf)) < 0)
        return (int)n;
    c->kernel_stack = units_field(buf, "KernelStack:");
    c->slab = units_field(buf, "SReclaimable:") + units_field(buf, "SUnreclaim:");
    c->page_tables_all = units_field(buf, "PageTables:");
    if (c->vm_size < 0 || c->vm_pte < 0 || c->threads < 0 || c->rss < 0 ||
        c->kernel_stack < 0 || c->slab < 0)
        return -ENODATA;
    return 0;
}

/* ---- limits ------------------------------------------------------------------------------ */

/* The memory cgroup's room (limit - usage) from /proc/self/cgroup, or LLONG_MAX: none. */
static long long cgroup_room(void)
{
    char buf[4096], path[PATH_MAX];
    if (read_text("/proc/self/cgroup", buf, sizeof buf) <= 0)
        return LLONG_MAX;
    long long room = LLONG_MAX;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        long long limit = -1, usage = -1;
        if (strncmp(line, "0::", 3) == 0) { /* cgroup v2 */
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", c2 + 1);
            limit = read_number(path);
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", c2 + 1);
            usage = read_number(path);
        } else if (strstr(c1, "memory")) { /* cgroup v1 */
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", c2 + 1);
            limit = read_number(path);
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", c2 + 1);
            usage = read_number(path);
        }
        if (limit > 0 && limit < (1LL << 60) && usage >= 0 && limit - usage < room)
            room = limit - usage;
    }
    return room;
}

int units_memory_room(struct units_memory *m)
{
    char buf[8192];
    if (read_text("/proc/meminfo", buf, sizeof buf) < 0)
        return -EIO;
    long long total = units_field(buf, "MemTotal:");
    m->available = units_field(buf, "MemAvailable:");
    if (total < 0 || m->available < 0)
        return -ENODATA;
    m->reserve = total / 10 > 512 * MIB ? total / 10 : 512 * MIB;
    m->source = "MemAvailable";
    long long cg = cgroup_room();
    if (cg < m->available) {
        m->available = cg;
        m->source = "cgroup memory limit";
    }
    return 0;
}

/* Threads of processes whose real uid is ours (what RLIMIT_NPROC counts). */
static long user_tasks(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    long n = 0;
    uid_t me = getuid();
    struct dirent *e;
    char path[300], buf[4096];
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        if (read_text(path, buf, sizeof buf) <= 0)
            continue;
        if (units_field(buf, "Uid:") == (long long)me)
            n += (long)units_field(buf, "Threads:");
    }
    closedir(d);
    return n;
}

int units_task_room(struct units_tasks *t)
{
    char buf[256];
    t->threads_max = (long)read_number("/proc/sys/kernel/threads-max");
    t->pid_max = (long)read_number("/proc/sys/kernel/pid_max");
    t->tasks = -1;
    if (read_text("/proc/loadavg", buf, sizeof buf) > 0) {
        char *slash = strchr(buf, '/');
        if (slash)
            t->tasks = strtol(slash + 1, NULL, 10);
    }
    if (t->threads_max <= 0 || t->pid_max <= 0 || t->tasks < 0)
        return -ENODATA;
    struct rlimit rl;
    t->nproc = -1;
    t->user_tasks = -1;
    /* The kernel does not hold root to RLIMIT_NPROC. */
    if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        t->nproc = (long)rl.rlim_cur;
        t->user_tasks = user_tasks();
    }
    /* Pids below 300 are reserved for the boot; the margin leaves room for everyone else. */
    long cap = t->threads_max < t->pid_max - 300 ? t->threads_max : t->pid_max - 300;
    long margin = cap / 20 > 256 ? cap / 20 : 256;
    t->room = cap - t->tasks - margin;
    if (t->nproc >= 0 && t->user_tasks >= 0 && t->nproc - t->user_tasks - 16 < t->room)
        t->room = t->nproc - t->user_tasks - 16;
    if (t->room < 0)
        t->room = 0;
    return 0;
}

/* The numbers every limit note carries. */
static void limit_numbers(char *buf, size_t len)
{
    struct units_tasks t = {0};
    struct units_memory m = {0};
    units_task_room(&t);
    units_memory_room(&m);
    char avail[32];
    units_bytes_str((double)m.available, avail, sizeof avail);
    snprintf(buf, len, "threads_max %ld, pid_max %ld, tasks %ld, max_map_count %lld, maps %ld, "
             "%s %s", t.threads_max, t.pid_max, t.tasks,
             read_number("/proc/sys/vm/max_map_count"), coro_map_entries(),
             m.source ? m.source : "MemAvailable", avail);
}

/* Which memory limit refused an allocation: RLIMIT_AS, strict overcommit, or memory itself. */
static const char *memory_limit_name(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        return "RLIMIT_AS";
    if (read_number("/proc/sys/vm/overcommit_memory") == 2)
        return "vm.overcommit_memory=2 (CommitLimit)";
    return "memory";
}

/* pthread_create says EAGAIN both when clone() hits a task limit and when glibc could not map
 * the stack: a mapping of a thread stack's size, made just after, tells the two apart. */
static int stack_mappable(void)
{
    size_t size = units_default_thread_stack();
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0);
    if (p == MAP_FAILED)
        return 0;
    munmap(p, size);
    return 1;
}

void units_thread_limit(int err, char *buf, size_t len)
{
    struct units_tasks t = {0};
    units_task_room(&t);
    long maps = coro_map_entries();
    long long max_maps = read_number("/proc/sys/vm/max_map_count");
    const char *name;
    if (max_maps > 0 && maps + 8 >= max_maps)
        name = "vm.max_map_count";
    else if (t.tasks + 8 >= t.threads_max)
        name = "kernel.threads-max";
    else if (t.tasks + 300 + 8 >= t.pid_max)
        name = "kernel.pid_max";
    /* The user's count is read after the failure, when the threads that made it reach the
     * limit may have ended: with RLIMIT_NPROC set and memory to spare, it is the limit. */
    else if (t.nproc >= 0 && (t.user_tasks + 8 >= t.nproc || (err == EAGAIN && stack_mappable())))
        name = "RLIMIT_NPROC";
    else
        name = memory_limit_name();
    char numbers[256];
    limit_numbers(numbers, sizeof numbers);
    snprintf(buf, len, "%s (pthread_create: %s; %s)", name, strerror(err), numbers);
}

void units_coro_limit(int neg_err, char *buf, size_t len)
{
    enum coro_limit lim = coro_last_limit();
    const char *name = lim == CORO_LIMIT_MAP_COUNT ? "vm.max_map_count"
                       : lim == CORO_LIMIT_MEMORY  ? memory_limit_name()
                                                   : coro_limit_name(lim);
    char numbers[256];
    limit_numbers(numbers, sizeof numbers);
    snprintf(buf, len, "%s (coro_create: %s; %s)", name, strerror(-neg_err), numbers);
}

void units_guard_init(struct units_guard *g, const struct unit_config *cfg)
{
    memset(g, 0, sizeof *g);
    /* Generous: a thread's kernel stack (16 KiB), task struct and friends in slab (~16 KiB),
     * page tables and its touched stack pages; a coroutine's control page, frames, tables. */
    g->per_unit = (long long)cfg->touch_bytes + (cfg->kind == UNIT_CORO ? 12 * KIB : 96 * KIB);
    g->every = (long)(64 * MIB / g->per_unit);
    g->every = g->every < 16 ? 16 : g->every > 4096 ? 4096 : g->every;
    g->task_room = -1;
    if (cfg->kind != UNIT_CORO && units_task_room(&g->tasks) == 0)
        g->task_room = g->tasks.room;
}

int units_memory_short(long long need, char *why, size_t len)
{
    struct units_memory m;
    if (units_memory_room(&m) < 0 || m.available - m.reserve >= need)
        return 0; /* no /proc/meminfo: nothing to go by */
    char reserve[32], needed[32], numbers[256];
    units_bytes_str((double)m.reserve, reserve, sizeof reserve);
    units_bytes_str((double)need, needed, sizeof needed);
    limit_numbers(numbers, sizeof numbers);
    snprintf(why, len, "memory: %s more would come within %s of %s; stopped before the OOM "
             "killer (%s)", needed, reserve, m.source, numbers);
    return -1;
}

int units_guard_check(struct units_guard *g, long i, char *why, size_t len)
{
    if (g->task_room >= 0 && i >= g->task_room) {
        const struct units_tasks *t = &g->tasks;
        const char *name = t->nproc >= 0 && t->nproc - t->user_tasks - 16 <= t->room
                               ? "RLIMIT_NPROC"
                           : t->pid_max - 300 < t->threads_max ? "kernel.pid_max"
                                                               : "kernel.threads-max";
        char numbers[256];
        limit_numbers(numbers, sizeof numbers);
        snprintf(why, len, "%s, less a margin for the rest of the machine, allows %ld more "
                 "threads (%s)", name, t->room, numbers);
        return -1;
    }
    return i % g->every ? 0 : units_memory_short(g->every * g->per_unit, why, len);
}

int units_guard_fits(const struct units_guard *g, long n, char *why, size_t len)
{
    return units_memory_short(n * g->per_unit, why, len);
}

/* ---- parked threads ---------------------------------------------------------------------- */

static long futex(atomic_int *word, int op, int val)
{
    return syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

void *units_parked_main(void *arg)
{
    struct units_park *p = arg;
    coro_stack_touch(p->touch);
    /* The same call chain as the real wait, returning at once (the word is not 1): its frames
     * are touched before the thread says it is parked, so nothing grows after measuring. */
    futex(&p->release, FUTEX_WAIT_PRIVATE, 1);
    atomic_fetch_add(&p->ready, 1);
    futex(&p->ready, FUTEX_WAKE_PRIVATE, 1);
    while (atomic_load(&p->release) == 0)
        futex(&p->release, FUTEX_WAIT_PRIVATE, 0);
    return NULL;
}

void units_park_wait(struct units_park *p, int n)
{
    int seen;
    while ((seen = atomic_load(&p->ready)) < n)
        futex(&p->ready, FUTEX_WAIT_PRIVATE, seen);
}

void units_park_release(struct units_park *p)
{
    atomic_store(&p->release, 1);
    futex(&p->release, FUTEX_WAKE_PRIVATE, INT_MAX);
}

long units_threads_start(pthread_t *tids, long n, const pthread_attr_t *attr,
                         void *(*fn)(void *), void *arg, struct units_guard *g, int *err,
                         char *why, size_t len)
{
    *err = 0;
    for (long i = 0; i < n; i++) {
        if (g && units_guard_check(g, i, why, len) < 0) {
            *err = -1;
            return i;
        }
        int rc = pthread_create(&tids[i], attr, fn, arg);
        if (rc) {
            *err = rc;
            units_thread_limit(rc, why, len);
            return i;
        }
    }
    return n;
}

void *units_touched_array(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p)
        memset(p, 0, (n ? n : 1) * size);
    return p;
}

void units_threads_join(pthread_t *tids, long n)
{
    for (long i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}
