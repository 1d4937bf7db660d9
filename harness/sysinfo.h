/*
 * sysinfo.h - small readers of /proc and /sys that the harness, the workloads and the tests
 * share: a value from a file, the process's open fds and threads, its resident size, and the
 * memory the machine (or the cgroup) still has. Nothing here aborts: an unreadable file gives
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
/* The same from a file of /proc/loadavg's format. */
long sys_threads_total_at(const char *loadavg_path);
/* The value of a "Key:   123 kB" line of a file (/proc/self/status, smaps_rollup, meminfo) in
 * bytes; -1 when the key is absent or its figure is not a number of kB. */
long long sys_kb_field(const char *path, const char *key);
/* This process's resident size in bytes (Rss of /proc/self/smaps_rollup), -1 if unknown. */
long sys_rss_bytes(void);
/* This process's virtual size in bytes (VmSize of /proc/self/status), -1 if unknown. */
long long sys_vsz_bytes(void);
/* Bytes that can still be allocated without swapping or the OOM killer: MemAvailable, or
 * less when this process's memory cgroup (v2 memory.max, v1 memory.limit_in_bytes) leaves less
 * room. -1 if unknown. */
long long sys_mem_available(void);
/* Room left under the memory cgroup limit named by a /proc/<pid>/cgroup file, the cgroup file
 * systems mounted under cgroup_root (v1 at <root>/memory/<path>, v2 at <root>/<path>); -1 when
 * there is no limit or it cannot be read. sys_mem_available() reads /proc/self/cgroup and
 * /sys/fs/cgroup. */
long long sys_cgroup_room_at(const char *proc_cgroup, const char *cgroup_root);

#ifdef __cplusplus
}
#endif
#endif
