/* sysinfo.c - see sysinfo.h. */
#define _GNU_SOURCE
#include "harness/sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sys_read_line(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

long sys_long(const char *path, long fallback)
{
    char buf[64];
    sys_read_line(path, buf, sizeof buf);
    char *end;
    long v = strtol(buf, &end, 10);
    return (buf[0] && end != buf) ? v : fallback;
}

int sys_count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int sys_count_fds(void) { return sys_count_dir("/proc/self/fd") - 1; /* minus the DIR's own fd */ }

/* PF_EXITING of include/linux/sched.h: set by do_exit() before the exiting thread clears its
 * CLONE_CHILD_CLEARTID word, so pthread_join() can return while the thread is still listed. */
#define TASK_PF_EXITING 0x4UL

int sys_stat_exiting(const char *stat)
{
    const char *p = strrchr(stat, ')'); /* the comm field may hold ')' and spaces */
    unsigned long flags;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return -1;
    return (flags & TASK_PF_EXITING) != 0;
}

int sys_count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    char path[64], stat[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        sys_read_line(path, stat, sizeof stat);
        /* Unreadable: gone since readdir. Unparseable: counted, so a leak is never hidden. */
        if (stat[0] != '\0' && sys_stat_exiting(stat) != 1)
            n++;
    }
    closedir(d);
    return n;
}

long sys_threads_total_at(const char *loadavg_path)
{
    char buf[128];
    long running, total;
    sys_read_line(loadavg_path, buf, sizeof buf);
    return sscanf(buf, "%*f %*f %*f %ld/%ld", &running, &total) == 2 && total >= 0 ? total : -1;
}

long sys_threads_total(void) { return sys_threads_total_at("/proc/loadavg"); }

long long sys_kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(key);
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (n && strncmp(line, key, n) == 0 && line[n] == ':') {
            char *end;
            errno = 0;
            long long kb = strtoll(line + n + 1, &end, 10);
            /* "Key: garbage", a negative or an overflowing figure: unknown, not a number */
            if (end != line + n + 1 && errno == 0 && kb >= 0 && kb <= LLONG_MAX / 1024)
                v = kb * 1024;
            break;
        }
    fclose(f);
    return v;
}

long sys_rss_bytes(void) { return (long)sys_kb_field("/proc/self/smaps_rollup", "Rss"); }

long long sys_vsz_bytes(void) { return sys_kb_field("/proc/self/status", "VmSize"); }

