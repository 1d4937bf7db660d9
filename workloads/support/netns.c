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
#include <sys/wait.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"
#define NETNS_PREFIX "muxbench-"

static const char *const ip_paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip",
                                       NULL};

/* The pair made by this process, for netns_remove_current() (a signal handler reads it). */
static char current_server[80], current_client[80];
static atomic_int current_made;
static atomic_int ip_running; /* the pid of an `ip` making the pair, for an interruption */

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

/* Unmounts and unlinks /run/netns/<name>: async-signal-safe. */
static void remove_name(const char *path)
{
    if (!path[0])
        return;
    umount2(path, MNT_DETACH);
    unlink(path);
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
            (pid == (long)getpid() ? atomic_load(&current_made)
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
    remove_stale();
    long pid = (long)getpid();
    char s[64], c[64], ifs[16], ifc[16];
    snprintf(s, sizeof s, NETNS_PREFIX "%ld-s", pid);
    snprintf(c, sizeof c, NETNS_PREFIX "%ld-c", pid);
    snprintf(ifs, sizeof ifs, "mbx%lds", pid);
    snprintf(ifc, sizeof ifc, "mbx%ldc", pid);
    snprintf(current_server, sizeof current_server, "%s/%s", NETNS_DIR, s);
    snprintf(current_client, sizeof current_client, "%s/%s", NETNS_DIR, c);
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
        if (run_ip(steps[i], why, len) < 0) {
            netns_pair_remove(p);
            return -1;
        }
    }
    return 0;
}

void netns_pair_remove(struct netns_pair *p)
{
    if (!p->server[0] && !p->client[0])
        return;
    atomic_store(&current_made, 0);
    remove_name(current_server);
    remove_name(current_client);
    p->server[0] = p->client[0] = '\0';
}

void netns_remove_current(void)
{
    /* An `ip` still making a name would make it after the removal: it goes first. */
    pid_t ip = (pid_t)atomic_exchange(&ip_running, 0);
    if (ip > 0) {
        kill(ip, SIGKILL);
        while (waitpid(ip, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (atomic_exchange(&current_made, 0)) {
        remove_name(current_server);
        remove_name(current_client);
    }
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
