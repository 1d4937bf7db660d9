/* loop.c - see loop.h. */
#define _GNU_SOURCE
#include "workloads/support/loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness/bench.h"
#include "harness/sysinfo.h"

int loop_open(struct loop *l, const struct poller_ops *ops, size_t stack_bytes, char *msg,
              size_t len)
{
    memset(l, 0, sizeof *l);
    struct cosched_cfg cfg = {0};
    coro_attr_init(&cfg.attr);
    if (coro_switch_probe(cfg.attr.switch_kind, msg, len) < 0)
        return BENCH_SKIP;
    cfg.attr.stack_size = stack_bytes;
    int rc = poller_create(ops, &l->poller, NULL);
    if (rc < 0) {
        snprintf(msg, len, "poller %s: %s", ops->name, strerror(-rc));
        l->poller = NULL;
        return BENCH_ERROR;
    }
    cfg.poller = l->poller;
    if ((rc = cosched_create(&l->sched, &cfg)) < 0) {
        snprintf(msg, len, "cosched_create over %s: %s", ops->name, strerror(-rc));
        poller_destroy(l->poller);
        memset(l, 0, sizeof *l);
        return BENCH_ERROR;
    }
    return BENCH_OK;
}

void loop_close(struct loop *l)
{
    cosched_destroy(l->sched);
    if (l->poller)
        poller_destroy(l->poller);
    memset(l, 0, sizeof *l);
}

void loop_describe(const struct loop *l, char *buf, size_t len)
{
    struct coro_attr attr;
    coro_attr_init(&attr);
    snprintf(buf, len, "cosched %s, %s", cosched_reg_name(cosched_reg_used(l->sched)),
             coro_switch_name(attr.switch_kind));
}

static long open_fds(void)
{
    long n = sys_count_dir("/proc/self/fd");
    return n > 0 ? n : 0;
}

int loop_nofile_room(long need, struct rlimit *saved, int *raised, char *msg, size_t len)
{
    *raised = 0;
    if (getrlimit(RLIMIT_NOFILE, saved) < 0) {
        snprintf(msg, len, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return BENCH_ERROR;
    }
    const long reserve = 64; /* stdio, the CSV, the poller's own fds */
    long want = open_fds() + need + reserve;
    if (saved->rlim_cur != RLIM_INFINITY && (long)saved->rlim_cur >= want)
        return BENCH_OK;
    if (saved->rlim_max != RLIM_INFINITY && (long)saved->rlim_max < want) {
        snprintf(msg, len, "RLIMIT_NOFILE: the case needs %ld fds besides the %ld open, the "
                 "hard limit is %lu", need, open_fds(), (unsigned long)saved->rlim_max);
        return BENCH_LIMIT;
    }
    struct rlimit r = *saved;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0) {
        snprintf(msg, len, "raising RLIMIT_NOFILE to %lu: %s", (unsigned long)r.rlim_max,
                 strerror(errno));
        return BENCH_LIMIT;
    }
    *raised = 1;
    return BENCH_OK;
}

void loop_nofile_restore(const struct rlimit *saved, int *raised)
{
    if (*raised)
        setrlimit(RLIMIT_NOFILE, saved);
    *raised = 0;
}

long loop_threads_start(pthread_t *tids, long n, size_t stack_bytes, void *(*fn)(void *),
                        void *args, size_t arg_size, int *err)
{
    pthread_attr_t attr;
    *err = pthread_attr_init(&attr);
    if (*err)
        return 0;
    if (stack_bytes && (*err = pthread_attr_setstacksize(&attr, stack_bytes)) != 0) {
        pthread_attr_destroy(&attr);
        return 0;
    }
    long i = 0;
    for (; i < n; i++)
        if ((*err = pthread_create(&tids[i], &attr, fn, (char *)args + (size_t)i * arg_size)))
            break;
    pthread_attr_destroy(&attr);
    return i;
}

void loop_threads_join(pthread_t *tids, long n)
{
    for (long i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}
