/*
 * fuzz_sysinfo.c - libFuzzer target: the /proc and /sys readers (harness/sysinfo.c) fed with
 * odd files.
 *
 * The input is split at NUL bytes into up to three parts, written as files in a private
 * directory:
 *   part 0  a /proc/self/cgroup          (read by the cgroup memory limit reader)
 *   part 1  memory.max / memory.limit_in_bytes of the cgroup "/x" (v2 and v1 layouts)
 *   part 2  memory.current / memory.usage_in_bytes of "/x"
 * and the whole input as one file read as a one-line value (sys_read_line, sys_long), a
 * "Key: N kB" file (sys_kb_field) and a /proc/loadavg (sys_threads_total_at). Properties: no
 * crash, no sanitizer report; a line read is a string no longer than its buffer; the room
 * left under a limit is -1 (no limit) or not negative.
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

static char dir[64];

static void put(const char *name, const void *bytes, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(bytes, 1, n, f) != n)
        abort();
    fclose(f);
}

static const char *const files[] = {"whole", "cgroup", "fs/x/memory.max",
                                    "fs/memory/x/memory.limit_in_bytes", "fs/x/memory.current",
                                    "fs/memory/x/memory.usage_in_bytes"};
static const char *const dirs[] = {"", "/fs", "/fs/x", "/fs/memory", "/fs/memory/x"};

static void remove_tree(void)
{
    char path[160];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    for (size_t i = sizeof dirs / sizeof dirs[0]; i-- > 0;) {
        snprintf(path, sizeof path, "%s%s", dir, dirs[i]);
        rmdir(path);
    }
}

/* On a tmpfs when there is one: six small files per input, thousands of inputs a second. */
static void make_tree(void)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/muxbench-fuzz-sysinfo.%ld", base, (long)getpid());
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", dir, dirs[i]);
        mkdir(path, 0700);
    }
    atexit(remove_tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!dir[0])
        make_tree();
    const uint8_t *part[3] = {data, NULL, NULL};
    size_t len[3] = {size, 0, 0};
    for (int p = 0; p < 2 && part[p]; p++) {
        const uint8_t *nul = memchr(part[p], '\0', len[p]);
        if (!nul)
            break;
        part[p + 1] = nul + 1;
        len[p + 1] = len[p] - (size_t)(nul + 1 - part[p]);
        len[p] = (size_t)(nul - part[p]);
    }
    put(files[0], data, size);
    put(files[1], part[0], len[0]);
    put(files[2], part[1], len[1]);
    put(files[3], part[1], len[1]);
    put(files[4], part[2], len[2]);
    put(files[5], part[2], len[2]);

    char path[160], line[32], cg[160], root[160];
    snprintf(path, sizeof path, "%s/whole", dir);
    memset(line, 'x', sizeof line);
    sys_read_line(path, line, sizeof line);
    if (!memchr(line, '\0', sizeof line))
        abort();
    (void)sys_long(path, -7);
    (void)sys_kb_field(path, "Rss");
    (void)sys_kb_field(path, "");
    (void)sys_threads_total_at(path);
    snprintf(cg, sizeof cg, "%s/cgroup", dir);
    snprintf(root, sizeof root, "%s/fs", dir);
    long long room = sys_cgroup_room_at(cg, root);
    if (room < -1)
        abort();
    return 0;
}
