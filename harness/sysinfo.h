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
/* Live threads of this process: a thread already in do_exit() (a joined thread can linger in
 * /proc/self/task for a moment) is not counted. */
int sys_count_threads(void);
/* 1 when a /proc/<pid>/task/<tid>/stat line has PF_EXITING in its flags, 0 when not, -1 when the
 * line cannot be parsed. */
int sys_stat_exiting(const char *stat);
/* Threads on the whole machine (the total of /proc/loadavg), -1 if unknown. */
long sys_threads_total(void);
/* The same from a file of /proc/loadavg's format. */
long sys_threads_total_at(const char *loadavg_path);
/* The value of a "Key:   123 kB" line of a file (/proc/self/status, smaps_rollup, meminfo) in
 * bytes; -1 when the key is absent or its figure is not a number of kB. */
long long sys_kb_field(const char *path, const char *key);
/* This process's resident size in bytes (Rss of /proc/self/smaps_rollup), -1 if unknown. */
long sys_rss_bytes(void);
/* This process's virtual size in bytes (VmSize of /proc/self/status), -1 if unknown. */
long long sys_vsz_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
