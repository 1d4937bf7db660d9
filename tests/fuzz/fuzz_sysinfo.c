/*
 * fuzz_sysinfo.c - libFuzzer target: the /proc and /sys readers of harness/sysinfo.c fed with
 * odd files.
 *
 * The input is written as one file and read as a one-line value (sys_read_line, sys_long), a
 * "Key: N kB" file (sys_kb_field, as /proc/self/status, smaps_rollup and meminfo are read), a
 * /proc/loadavg (sys_threads_total_at) and a task's stat line (sys_stat_exiting). Properties:
 * no crash, no sanitizer report (a figure too large for bytes once overflowed here); a line read
 * is a terminated string within its buffer; a kB field is -1 or a byte count, never negative
 * otherwise; a stat line is exiting (1), not (0) or unparseable (-1).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/sysinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[96];

static void remove_file(void) { unlink(path); }

/* On a tmpfs when there is one: a file per input, thousands of inputs a second. */
static void choose_path(void)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/muxbench-fuzz-sysinfo.%ld", base, (long)getpid());
    atexit(remove_file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!path[0])
        choose_path();
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    char line[32];
    memset(line, 'x', sizeof line);
    sys_read_line(path, line, sizeof line);
    if (!memchr(line, '\0', sizeof line))
        abort();
    (void)sys_long(path, -7);
    if (sys_kb_field(path, "Rss") < -1 || sys_kb_field(path, "") != -1)
        abort();
    if (sys_threads_total_at(path) < -1)
        abort();
    char stat[512]; /* as sys_count_threads reads a task's stat line */
    sys_read_line(path, stat, sizeof stat);
    int exiting = sys_stat_exiting(stat);
    if (exiting < -1 || exiting > 1)
        abort();
    return 0;
}
