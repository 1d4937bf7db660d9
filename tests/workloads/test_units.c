/*
 * test_units.c - what the memory and spawn workloads stand on (workloads/support/units.c): the /proc
 * counters they read see the units they create, and the limits stop a sweep with the limit
 * named, before the machine is in danger.
 *
 *   test_units <test>       exit 0 pass, 1 fail, 77 skip
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/testutil.h"
#include "workloads/support/units.h"


static void t_field_parse(void)
{
    const char *text = "Name:\tx\nVmSize:\t  123456 kB\nVmPTE:\t      48 kB\nThreads:\t7\n"
                       "Uid:\t1000\t1000\t1000\t1000\n";
    CHECK_EQ(units_field(text, "VmSize:"), 123456LL * 1024);
    CHECK_EQ(units_field(text, "VmPTE:"), 48LL * 1024);
    CHECK_EQ(units_field(text, "Threads:"), 7);
    CHECK_EQ(units_field(text, "Uid:"), 1000);
    CHECK_EQ(units_field(text, "VmRSS:"), -1);
    CHECK_EQ(units_field(text, "Size:"), -1); /* keys match at the start of a line only */
}

static void *empty_thread(void *arg) { return arg; }

/* Parked threads are counted by the kernel, and their stacks show in VmSize. */
static void t_counters_see_threads(void)
{
    enum { N = 16 };
    struct unit_config cfg = {.kind = UNIT_THREAD_SMALL, .alloc = ALLOC_PTHREAD,
                              .stack_bytes = 256 * 1024, .touch_bytes = 8192};
    pthread_attr_t attr;
    CHECK_EQ(units_thread_attr(&cfg, &attr), 0);
    /* A first thread, joined: ThreadSanitizer starts a thread of its own at the first create. */
    pthread_t first;
    CHECK_EQ(pthread_create(&first, NULL, empty_thread, NULL), 0);
    pthread_join(first, NULL);
    struct unit_counters before, after;
    CHECK_EQ(units_counters(&before), 0);
    static struct units_park park;
    park = (struct units_park){.touch = cfg.touch_bytes};
    pthread_t tids[N];
    int err;
    char why[512];
    long n = units_threads_start(tids, N, &attr, units_parked_main, &park, NULL, &err, why,
                                 sizeof why);
    units_park_wait(&park, (int)n);
    int rc = units_counters(&after);
    units_park_release(&park);
    units_threads_join(tids, n);
    pthread_attr_destroy(&attr);
    CHECK_EQ(n, N);
    CHECK_EQ(rc, 0);
    CHECK_EQ(after.threads - before.threads, N);
    CHECK(after.vm_size - before.vm_size >= N * (long long)cfg.stack_bytes);
    CHECK(after.rss - before.rss >= N * (long long)cfg.touch_bytes);
}

static void coro_touch(void *arg)
{
    coro_stack_touch(*(size_t *)arg);
    coro_yield();
}

/* Pool coroutines resumed to a touched depth: exactly that much more is resident. */
static void t_counters_see_coroutines(void)
{
    char why[256];
    if (units_coro_unsupported(why, sizeof why) < 0) {
        printf("SKIP: %s\n", why);
        exit(T_SKIP);
    }
    enum { N = 200 };
    struct unit_config cfg = {.kind = UNIT_CORO, .alloc = ALLOC_POOL, .stack_bytes = 16384,
                              .touch_bytes = 8192};
    struct coro_pool *pool;
    CHECK_EQ(coro_pool_create(&pool, cfg.stack_bytes, N), 0);
    struct coro_attr a;
    units_coro_attr(&cfg, pool, &a);
    static struct coro *cos[N];
    struct unit_counters before, after;
    CHECK_EQ(units_counters(&before), 0);
    int created = 0;
    for (; created < N; created++)
        if (coro_create(&cos[created], &a, coro_touch, &cfg.touch_bytes) < 0 ||
            coro_resume(cos[created]) != 0)
            break;
    int rc = units_counters(&after);
    for (int i = 0; i < created; i++)
        coro_destroy(cos[i]);
    coro_pool_destroy(pool);
    CHECK_EQ(created, N);
    CHECK_EQ(rc, 0);
    /* One chunk of N stacks (a sanitizer's allocator may map a page of its own meanwhile). */
    CHECK(after.vm_size - before.vm_size >= N * 16384LL);
    CHECK(after.vm_size - before.vm_size < N * 16384LL + 65536);
    /* The control block's page and touch_bytes below it, on every stack. */
    CHECK(after.rss - before.rss >= N * (4096LL + 8192));
}

static void t_memory_room(void)
{
    struct units_memory m;
    CHECK_EQ(units_memory_room(&m), 0);
    CHECK(m.available > 0);
    CHECK(m.reserve >= 512LL << 20);
    CHECK(m.source != NULL);
}

/* A sweep stops before memory runs short: a guard whose next step would need more than the
 * machine has refuses it, naming memory. */
static void t_guard_stops_short_of_memory(void)
{
    struct unit_config cfg = {.kind = UNIT_CORO, .alloc = ALLOC_POOL, .stack_bytes = 16384};
    struct units_guard g;
    units_guard_init(&g, &cfg);
    char why[512] = "";
    CHECK_EQ(units_guard_check(&g, 0, why, sizeof why), 0);
    CHECK_EQ(units_guard_check(&g, 1, why, sizeof why), 0); /* between checks: no reading */
    g.per_unit = 1LL << 50; /* a petabyte per unit */
    CHECK_EQ(units_guard_check(&g, 0, why, sizeof why), -1);
    CHECK(strstr(why, "memory") && (strstr(why, "MemAvailable") || strstr(why, "cgroup")));
    CHECK(strstr(why, "threads_max") && strstr(why, "max_map_count"));
    CHECK_EQ(units_guard_fits(&g, 1, why, sizeof why), -1);
}

/* Threads stop a margin short of the machine's task limits, named. */
static void t_guard_stops_short_of_tasks(void)
{
    struct unit_config cfg = {.kind = UNIT_THREAD, .alloc = ALLOC_PTHREAD,
                              .stack_bytes = 8 << 20};
    struct units_guard g;
    units_guard_init(&g, &cfg);
    CHECK(g.task_room > 0);
    CHECK(g.task_room < g.tasks.threads_max && g.task_room < g.tasks.pid_max);
    char why[512] = "";
    CHECK_EQ(units_guard_check(&g, g.task_room - 1, why, sizeof why), 0);
    CHECK_EQ(units_guard_check(&g, g.task_room, why, sizeof why), -1);
    CHECK(strstr(why, "kernel.pid_max") || strstr(why, "kernel.threads-max") ||
          strstr(why, "RLIMIT_NPROC"));
}

/* Guarded stacks run into vm.max_map_count, and the note says so. */
static void t_coro_limit_names_map_count(void)
{
    char why[512];
    if (units_coro_unsupported(why, sizeof why) < 0) {
        printf("SKIP: %s\n", why);
        exit(T_SKIP);
    }
    struct unit_config cfg = {.kind = UNIT_CORO, .alloc = ALLOC_GUARD, .stack_bytes = 16384};
    struct coro_attr a;
    units_coro_attr(&cfg, NULL, &a);
    /* Two map entries per stack: half of the running kernel's vm.max_map_count, and a margin
     * past it (65,530 here on many kernels, 1,048,576 on others). */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long max_maps = 0;
    if (!f || fscanf(f, "%ld", &max_maps) != 1)
        max_maps = 0;
    if (f)
        fclose(f);
    CHECK(max_maps > 0);
    long max = max_maps / 2 + (max_maps / 20 > 2000 ? max_maps / 20 : 2000);
    struct units_memory room;
    if (units_memory_room(&room) == 0 && (long long)max * 8192 > room.available / 2) {
        printf("SKIP: %ld guarded stacks (vm.max_map_count %ld) would need more than half of "
               "the memory available\n", max, max_maps);
        exit(T_SKIP);
    }
    struct coro **cos = calloc((size_t)max, sizeof *cos);
    CHECK(cos != NULL);
    long n = 0;
    int rc = 0;
    while (n < max && (rc = coro_create(&cos[n], &a, coro_touch, &cfg.touch_bytes)) == 0)
        n++;
    units_coro_limit(rc, why, sizeof why);
    for (long i = 0; i < n; i++)
        coro_destroy(cos[i]);
    free(cos);
    printf("%ld guarded stacks: %s\n", n, why);
    CHECK(n < max);
    CHECK(strncmp(why, "vm.max_map_count", 16) == 0);
}

static void t_thread_limit_note(void)
{
    char why[512];
    units_thread_limit(EAGAIN, why, sizeof why);
    printf("%s\n", why);
    CHECK(strstr(why, "pthread_create") && strstr(why, "threads_max") &&
          strstr(why, "max_map_count"));
}

static const struct t_test tests[] = {
    {"field_parse", t_field_parse},
    {"counters_see_threads", t_counters_see_threads},
    {"counters_see_coroutines", t_counters_see_coroutines},
    {"memory_room", t_memory_room},
    {"guard_stops_short_of_memory", t_guard_stops_short_of_memory},
    {"guard_stops_short_of_tasks", t_guard_stops_short_of_tasks},
    {"coro_limit_names_map_count", t_coro_limit_names_map_count},
    {"thread_limit_note", t_thread_limit_note},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "units.", tests, sizeof tests / sizeof tests[0]);
}
