/*
 * sysinfo.h - small readers of /proc and /sys that the harness, the workloads and the tests
 * share: a value from a file, the process's open fds and threads, its resident and virtual
 * size. Nothing here aborts: an unreadable file gives
 * the fallback or -1.
 */
#ifndef MUX_SYSINFO_H
#define MUX_SYSINFO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The first line of a file, without its newline; "" when unreadable. */
void sys_read_line(const char *path, char *buf, size_t len);
/* The integer at the start of a file, or fallback. */
long sys_long(const char *path, long fallback);
/* Entries of a directory, "." and ".." excepted; -1 when unreadable. */
int sys_count_dir(const char *path);
/* Open fds of this process (the directory stream's own fd not counted). */
int sys_count_fds(void);
/* Threads of this process. */
int sys_count_threads(void);
/* Threads on the whole machine (the total of /proc/loadavg), -1 if unknown. */
long sys_threads_total(void);
/* This process's resident size in bytes (Rss of /proc/self/smaps_rollup), -1 if unknown. */
long sys_rss_bytes(void);
/* This process's virtual size in bytes (VmSize of /proc/self/status), -1 if unknown. */
long long sys_vsz_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
