/* sysinfo.c - see sysinfo.h. */
#define _GNU_SOURCE
#include "harness/sysinfo.h"

#include <dirent.h>
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

long sys_threads_total(void)
{
    char buf[128];
    long running, total;
    sys_read_line("/proc/loadavg", buf, sizeof buf);
    return sscanf(buf, "%*f %*f %*f %ld/%ld", &running, &total) == 2 ? total : -1;
}

/* The value of a "Key:   123 kB" line, in bytes; -1 if absent. */
static long long kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(key);
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtoll(line + n + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

long sys_rss_bytes(void) { return (long)kb_field("/proc/self/smaps_rollup", "Rss"); }

long long sys_vsz_bytes(void) { return kb_field("/proc/self/status", "VmSize"); }

