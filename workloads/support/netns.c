/*
 * netns.c - see netns.h.
 */
#define _GNU_SOURCE
#include "workloads/support/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"
#define NETNS_PREFIX "muxbench-"

static const char *const ip_paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip",
                                       NULL};

/* The pair made by this process, for netns_remove_current() (a signal handler reads it). The
 * names carry only the pid: written before this process makes its first pair, then only read.
 * A child forked later inherits them, and a parent's names are never a child's to remove. */
static char current_server[80], current_client[80];
static atomic_int names_pid; /* the process the names are of */
static atomic_int current_made; /* set before the first `ip`, cleared after both names are gone */
static atomic_int ip_running;   /* the pid of an `ip` making the pair, for an interruption */
/* The run's thread making or removing a pair (its tid), and an interruption that has begun.
 * Each side sets its own flag before it reads the other's (sequentially consistent atomics, as
 * Dekker's algorithm), so either the run's thread sees the interruption and makes nothing more,
 * or the interruption sees the run's thread at work and waits for it. Without the wait the run
 * could exit between the two unlinks of a removal, or while an `ip` it had just started made a
 * name the interruption had already removed: a namespace left behind (CI saw the first). */
static atomic_int busy_tid;
static atomic_int stopping;
#define NETNS_INTERRUPT_WAIT_MS 5000 /* for a run's thread that never comes back (a crash) */

static int own_tid(void) { return (int)syscall(SYS_gettid); } /* async-signal-safe */

static const char *ip_path(void)
{
    for (int i = 0; ip_paths[i]; i++)
        if (access(ip_paths[i], X_OK) == 0)
            return ip_paths[i];
    return NULL;
}

int netns_available(char *why, size_t len)
{
    if (geteuid() != 0) {
        snprintf(why, len, "transport=veth makes two network namespaces and a veth pair, which "
                 "needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)");
        return -1;
    }
    if (!ip_path()) {
        snprintf(why, len, "transport=veth needs iproute2's `ip` (tools/deps.sh installs it)");
        return -1;
    }
    return 0;
}

/* Runs `ip` with argv (argv[0] is replaced); 0, or -1 with its stderr in why. */
static int run_ip(char *const argv[], char *why, size_t len)
{
    const char *ip = ip_path();
    int pipefd[2];
    if (atomic_load(&stopping)) {
        snprintf(why, len, "the run is being interrupted");
        return -1;
    }
    if (!ip || pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(why, len, "ip: %s", ip ? strerror(errno) : "not found");
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0)
            dup2(devnull, 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(ip, argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (pid > 0)
        atomic_store(&ip_running, (int)pid);
    if (pid < 0) {
        close(pipefd[0]);
        snprintf(why, len, "fork (ip): %s", strerror(errno));
        return -1;
    }
    char out[256];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof out - 1 && (k = read(pipefd[0], out + n, sizeof out - 1 - n)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    close(pipefd[0]);
    int st = 0;
    int mine = atomic_exchange(&ip_running, 0) == (int)pid; /* else an interruption reaped it */
    while (mine && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (mine && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    size_t used = (size_t)snprintf(why, len, "ip");
    for (int i = 1; argv[i] && used < len; i++)
        used += (size_t)snprintf(why + used, len - used, " %s", argv[i]);
    if (used < len)
        snprintf(why + used, len - used, ": %s", n ? out : "failed");
    return -1;
}

/* Unmounts and unlinks /run/netns/<name>: async-signal-safe, and harmless when it is gone. */
static void remove_name(const char *path)
{
    if (!path[0])
        return;
    umount2(path, MNT_DETACH);
    unlink(path);
}

static void remove_names(void)
{
    remove_name(current_server);
    remove_name(current_client);
    atomic_store(&current_made, 0); /* only now: an interruption before this removes them too */
}

/* Removes the pairs of runs that are gone (their pid no longer exists, or it is ours but we
 * made no pair: a pid reused after a run was killed), naming them. */
static void remove_stale(void)
{
    DIR *d = opendir(NETNS_DIR);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid;
        char side;
        if (sscanf(de->d_name, NETNS_PREFIX "%ld-%c", &pid, &side) != 2 || pid <= 0 ||
            (pid == (long)getpid() ? atomic_load(&current_made) &&
                                         atomic_load(&names_pid) == (int)pid
                                   : kill((pid_t)pid, 0) < 0 ? errno != ESRCH : 1))
            continue;
        char path[sizeof NETNS_DIR + 256];
        snprintf(path, sizeof path, "%s/%s", NETNS_DIR, de->d_name);
        fprintf(stderr, "muxbench: removing network namespace %s, left by run %ld that is "
                        "gone\n", de->d_name, pid);
        remove_name(path);
    }
    closedir(d);
}

int netns_pair_create(struct netns_pair *p, char *why, size_t len)
{
    memset(p, 0, sizeof *p);
    if (netns_available(why, len) < 0)
        return -1;
    atomic_store(&busy_tid, own_tid());
    if (atomic_load(&stopping)) {
        atomic_store(&busy_tid, 0);
        snprintf(why, len, "the run is being interrupted");
        return -1;
    }
    remove_stale();
    long pid = (long)getpid();
    char s[64], c[64], ifs[16], ifc[16];
    snprintf(s, sizeof s, NETNS_PREFIX "%ld-s", pid);
    snprintf(c, sizeof c, NETNS_PREFIX "%ld-c", pid);
    snprintf(ifs, sizeof ifs, "mbx%lds", pid);
    snprintf(ifc, sizeof ifc, "mbx%ldc", pid);
    if (atomic_load(&names_pid) != (int)pid) { /* once per process: no reader sees them torn */
        snprintf(current_server, sizeof current_server, "%s/%s", NETNS_DIR, s);
        snprintf(current_client, sizeof current_client, "%s/%s", NETNS_DIR, c);
        atomic_store(&names_pid, (int)pid);
    }
    atomic_store(&current_made, 1); /* from here on an interruption removes what exists */
    snprintf(p->server, sizeof p->server, "%s", s);
    snprintf(p->client, sizeof p->client, "%s", c);
    char sa[32], ca[32];
    snprintf(sa, sizeof sa, "%s/24", NETNS_SERVER_ADDR);
    snprintf(ca, sizeof ca, "%s/24", NETNS_CLIENT_ADDR);
    char *const steps[][15] = {
        {"ip", "netns", "add", s, NULL},
        {"ip", "netns", "add", c, NULL},
        {"ip", "link", "add", ifs, "netns", s, "type", "veth", "peer", "name", ifc, "netns", c,
         NULL},
        {"ip", "-n", s, "addr", "add", sa, "dev", ifs, NULL},
        {"ip", "-n", c, "addr", "add", ca, "dev", ifc, NULL},
        {"ip", "-n", s, "link", "set", "lo", "up", NULL},
        {"ip", "-n", c, "link", "set", "lo", "up", NULL},
        {"ip", "-n", s, "link", "set", ifs, "up", NULL},
        {"ip", "-n", c, "link", "set", ifc, "up", NULL},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (run_ip(steps[i], why, len) < 0) { /* run_ip refuses once an interruption began */
            remove_names();
            p->server[0] = p->client[0] = '\0';
            atomic_store(&busy_tid, 0);
            return -1;
        }
    }
    atomic_store(&busy_tid, 0);
    return 0;
}

void netns_pair_remove(struct netns_pair *p)
{
    if (!p->server[0] && !p->client[0])
        return;
    atomic_store(&busy_tid, own_tid());
    remove_names();
    p->server[0] = p->client[0] = '\0';
    atomic_store(&busy_tid, 0);
}

void netns_remove_current(void)
{
    atomic_store(&stopping, 1); /* the run's thread starts no `ip` and no pair after this */
    /* An `ip` still making a name would make it after the removal: it goes first. */
    pid_t ip = (pid_t)atomic_exchange(&ip_running, 0);
    if (ip > 0) {
        kill(ip, SIGKILL);
        while (waitpid(ip, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    /* A pair half made or half removed is finished by the run's thread first (it sees the
     * interruption at its next step); a crash on that very thread does not wait for itself. */
    const struct timespec ms = {0, 1000000};
    for (int waited = 0; waited < NETNS_INTERRUPT_WAIT_MS; waited++) {
        int tid = atomic_load(&busy_tid);
        if (tid == 0 || tid == own_tid())
            break;
        nanosleep(&ms, NULL);
    }
    if (atomic_load(&current_made) && atomic_load(&names_pid) == (int)getpid())
        remove_names();
}

int netns_enter(const char *name)
{
    char path[sizeof NETNS_DIR + 80];
    snprintf(path, sizeof path, "%s/%s", NETNS_DIR, name);
    int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0)
        return -errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        close(saved);
        return -err;
    }
    close(fd);
    return saved;
}

void netns_leave(int saved)
{
    if (saved < 0)
        return;
    if (setns(saved, CLONE_NEWNET) < 0)
        abort(); /* a thread stuck in the wrong namespace would measure the wrong thing */
    close(saved);
}
