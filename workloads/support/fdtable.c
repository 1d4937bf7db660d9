/*
 * fdtable.c - counting the threads that share the calling thread's fd table, and the idle
 * thread that fdtable=shared adds (fdtable.h).
 *
 * Kernel quirks: kcmp(KCMP_FILES) compares two tasks' fd tables by identity and needs no
 * privilege for threads of one's own process (same credentials, PTRACE_MODE_READ). A thread
 * listed in /proc/self/task may exit before kcmp reaches it (ESRCH): it no longer shares
 * anything and is not counted.
 */
#define _GNU_SOURCE
#include "workloads/support/fdtable.h"

#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

int fdtable_sharers(void)
{
    pid_t self = (pid_t)syscall(SYS_gettid);
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -errno;
    int count = 0, err = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self)
            continue;
        long r = syscall(SYS_kcmp, self, tid, KCMP_FILES, 0, 0);
        if (r == 0)
            count++;
        else if (r < 0 && errno != ESRCH)
            err = errno;
    }
    closedir(d);
    return err ? -err : count;
}

struct fdtable_sharer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop, started;
};

static void *sharer_main(void *arg)
{
    struct fdtable_sharer *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop)
        pthread_cond_wait(&s->wake, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

void fdtable_sharer_stop(struct fdtable_sharer *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int fdtable_sharer_start(struct fdtable_sharer **out)
{
    *out = NULL;
    struct fdtable_sharer *s = calloc(1, sizeof *s);
    if (!s)
        return ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    int rc = pthread_create(&s->thread, NULL, sharer_main, s);
    if (rc) {
        fdtable_sharer_stop(s);
        return rc;
    }
    s->started = 1;
    *out = s;
    return 0;
}
