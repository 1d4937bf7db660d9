/* reap.c - see reap.h. The children are read from /proc/self/task/<tid>/children (one list per
 * thread that forked), through getdents64 and read: no opendir (it allocates). */
#define _GNU_SOURCE
#include "harness/reap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct dirent64_raw {
    unsigned long long ino;
    long long off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* "/proc/self/task/" + tid + "/children" without snprintf (not async-signal-safe). */
static void children_path(const char *tid, char *out, size_t len)
{
    static const char head[] = "/proc/self/task/", tail[] = "/children";
    size_t n = 0;
    for (const char *p = head; *p && n + 1 < len; p++)
        out[n++] = *p;
    for (const char *p = tid; *p && n + 1 < len; p++)
        out[n++] = *p;
    for (const char *p = tail; *p && n + 1 < len; p++)
        out[n++] = *p;
    out[n] = '\0';
}

static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
}

/* Kills and reaps the pids listed (space separated) in one children file. */
static int reap_listed(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int reaped = 0;
    pid_t pid = 0;
    for (ssize_t i = 0; i <= n && n > 0; i++) {
        char ch = i < n ? buf[i] : ' ';
        if (ch >= '0' && ch <= '9') {
            pid = pid * 10 + (ch - '0');
        } else if (pid > 0) {
            kill_and_reap(pid);
            reaped++;
            pid = 0;
        }
    }
    return reaped;
}

int reap_all_children(void)
{
    int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    int reaped = 0;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            const struct dirent64_raw *d = (const struct dirent64_raw *)(buf + off);
            off += d->reclen;
            if (d->name[0] < '0' || d->name[0] > '9')
                continue;
            char path[96];
            children_path(d->name, path, sizeof path);
            reaped += reap_listed(path);
        }
    }
    close(dir);
    return reaped;
}
