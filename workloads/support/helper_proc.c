/*
 * helper_proc.c - see helper_proc.h.
 *
 * The table of live helpers: one atomic int per slot.
 *
 *   0            free
 *   SLOT_FORKING reserved by helper_start(), fork() under way
 *   pid > 0      a live helper, owned by whoever started it
 *   -pid         its owner is killing or reaping it (helper_stop, helper_exited)
 *
 * A killer (helper_kill_all) first sets `closing`, then takes every pid > 0 with a
 * compare-and-swap to 0 and kills and reaps it; it waits (bounded) for slots that are forking or
 * being reaped by their owner. helper_start() reserves its slot before it reads `closing`, so
 * either it sees `closing` and does not fork, or the killer sees the slot and waits for the pid.
 * An owner that loses the compare-and-swap leaves the pid to the killer.
 */
#define _GNU_SOURCE
#include "workloads/support/helper_proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8
#define SLOT_FORKING (-1)
#define KILL_WAIT_MS 2000 /* how long a killer waits for a slot in transition */

static atomic_int slots[SLOTS];
static atomic_int closing;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void reap(pid_t pid, int *status)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (status)
        *status = st;
}

void helper_close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
        return;
#endif
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (long)rl.rlim_cur
                   : 1048576;
    for (long fd = lowfd; fd < max; fd++)
        close((int)fd);
}

/* In the child, right after fork(): see the header. */
__attribute__((noreturn)) static void child_main(const char *name, int ctl, pid_t parent,
                                                  helper_fn fn, void *arg)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    /* The parent's handlers (its crash handler renames the parent's CSV) are not the helper's:
     * a fault in the helper kills only the helper. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before PDEATHSIG was armed */
        _exit(1);
    prctl(PR_SET_NAME, name);
    if (ctl != HELPER_CTL_FD && dup2(ctl, HELPER_CTL_FD) != HELPER_CTL_FD)
        _exit(1);
    helper_close_from(HELPER_CTL_FD + 1);
    _exit(fn(HELPER_CTL_FD, arg));
}

int helper_start(struct helper *h, const char *name, helper_fn fn, void *arg, char *msg,
                 size_t len)
{
    h->pid = 0;
    h->ctl = -1;
    h->slot = -1;
    int slot = -1;
    for (int i = 0; i < SLOTS && slot < 0; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&slots[i], &expected, SLOT_FORKING))
            slot = i;
    }
    if (slot < 0) {
        snprintf(msg, len, "%s: more than %d helper processes at once", name, SLOTS);
        return -EAGAIN;
    }
    if (atomic_load(&closing)) {
        atomic_store(&slots[slot], 0);
        snprintf(msg, len, "%s: not started, the run is being interrupted", name);
        return -EINTR;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        int err = errno;
        atomic_store(&slots[slot], 0);
        snprintf(msg, len, "socketpair for the control channel of %s: %s", name, strerror(err));
        return -err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        child_main(name, sv[1], parent, fn, arg);
    }
    int err = errno;
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        atomic_store(&slots[slot], 0);
        snprintf(msg, len, "fork (%s): %s", name, strerror(err));
        return -err;
    }
    atomic_store(&slots[slot], (int)pid);
    h->pid = pid;
    h->ctl = sv[0];
    h->slot = slot;
    return 0;
}

int helper_send(int ctl, const void *m, size_t n)
{
    ssize_t w;
    do
        w = send(ctl, m, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == ECONNRESET ? -EPIPE : -errno;
    return w == (ssize_t)n ? 0 : -EPROTO;
}

int helper_recv(int ctl, void *m, size_t n, int timeout_ms)
{
    struct pollfd p = {.fd = ctl, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return -ETIMEDOUT;
    if (rc < 0)
        return -errno;
    ssize_t got;
    do
        got = recv(ctl, m, n, MSG_TRUNC);
    while (got < 0 && errno == EINTR);
    if (got == 0)
        return -EPIPE;
    if (got < 0)
        return errno == ECONNRESET ? -EPIPE : -errno;
    return got == (ssize_t)n ? 0 : -EPROTO;
}

/* The owner takes its helper out of the table to kill or reap it: 1, or 0 when a killer
 * already took it (the killer reaps it). */
static int claim(struct helper *h)
{
    if (h->slot < 0)
        return 0;
    int expected = (int)h->pid;
    return atomic_compare_exchange_strong(&slots[h->slot], &expected, -(int)h->pid);
}

static void release(struct helper *h)
{
    if (h->slot >= 0) {
        int expected = -(int)h->pid;
        atomic_compare_exchange_strong(&slots[h->slot], &expected, 0);
    }
    h->pid = 0;
    h->slot = -1;
}

int helper_exited(struct helper *h, int *status)
{
    if (h->pid <= 0)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* WNOWAIT: look without reaping, so the pid stays ours until claimed. */
    if (waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
        si.si_pid != h->pid)
        return 0;
    if (claim(h))
        reap(h->pid, status);
    else if (status)
        *status = 0;
    release(h);
    return 1;
}

void helper_stop(struct helper *h, int grace_ms)
{
    if (h->ctl >= 0) {
        close(h->ctl);
        h->ctl = -1;
    }
    if (h->pid <= 0)
        return;
    for (int waited = 0; waited < grace_ms; waited++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid == h->pid)
            break;
        sleep_ms(1);
    }
    if (claim(h)) {
        kill(h->pid, SIGKILL); /* a no-op on one that already exited: it is not reaped yet */
        reap(h->pid, NULL);
    }
    release(h);
}

void helper_kill_all(void)
{
    atomic_store(&closing, 1);
    for (int i = 0; i < SLOTS; i++) {
        for (int waited = 0; waited < KILL_WAIT_MS; waited++) {
            int v = atomic_load(&slots[i]);
            if (v == 0)
                break;
            if (v > 0) {
                if (atomic_compare_exchange_strong(&slots[i], &v, 0)) {
                    kill((pid_t)v, SIGKILL);
                    reap((pid_t)v, NULL);
                    break;
                }
                continue; /* its owner claimed it meanwhile: wait for the owner */
            }
            sleep_ms(1); /* forking, or its owner is reaping it */
        }
    }
}

int helper_live_count(void)
{
    int n = 0;
    for (int i = 0; i < SLOTS; i++)
        n += atomic_load(&slots[i]) != 0;
    return n;
}
