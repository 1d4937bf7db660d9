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

int sys_count_threads(void) { return sys_count_dir("/proc/self/task"); }

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

/* A whole number file (memory.max, memory.current, ...): the value, or -1 when unreadable,
 * "max", negative or not a number. */
static long long cgroup_number(const char *path)
{
    char buf[64];
    sys_read_line(path, buf, sizeof buf);
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    return end != buf && errno == 0 && v >= 0 ? v : -1;
}

long long sys_cgroup_room_at(const char *proc_cgroup, const char *cgroup_root)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (!f)
        return -1;
    char line[512], path[640], v2[512] = "", v1[512] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "0::", 3) == 0)
            snprintf(v2, sizeof v2, "%s", line + 3);
        char *m = strstr(line, ":memory:");
        if (m)
            snprintf(v1, sizeof v1, "%s", m + 8);
    }
    fclose(f);
    long long limit = -1, usage = -1;
    if (v1[0]) {
        snprintf(path, sizeof path, "%s/memory%s/memory.limit_in_bytes", cgroup_root, v1);
        limit = cgroup_number(path);
        snprintf(path, sizeof path, "%s/memory%s/memory.usage_in_bytes", cgroup_root, v1);
        usage = cgroup_number(path);
    } else if (v2[0]) {
        snprintf(path, sizeof path, "%s%s/memory.max", cgroup_root, v2);
        limit = cgroup_number(path); /* "max": no limit */
        snprintf(path, sizeof path, "%s%s/memory.current", cgroup_root, v2);
        usage = cgroup_number(path);
    }
    /* v1 reports "no limit" as a huge page-aligned number */
    if (limit <= 0 || usage < 0 || limit >= (1LL << 60))
        return -1;
    return limit > usage ? limit - usage : 0;
}

long long sys_mem_available(void)
{
    long long avail = sys_kb_field("/proc/meminfo", "MemAvailable");
    long long room = sys_cgroup_room_at("/proc/self/cgroup", "/sys/fs/cgroup");
    if (room >= 0 && (avail < 0 || room < avail))
        return room;
    return avail;
}
