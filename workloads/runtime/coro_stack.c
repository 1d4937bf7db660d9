/*
 * coro_stack.c - the stacks coroutines run on: guarded stacks (one mapping each), the pool
 * (stacks carved from large chunks, reused through a free list) and copy stacks (one guarded
 * run stack shared by copy coroutines), and the accounting that tells a failed mapping's cause:
 * vm.max_map_count or memory. Kept apart from coro.c, which switches between coroutines and
 * builds their first frames on these stacks; coro_stack.h gives coro.c the pool's fast path
 * inline. The API is in coro.h.
 *
 * Quirks handled:
 *  a) A guarded stack is one mmap (RW) plus one mprotect(PROT_NONE) of its lowest page: two
 *     map entries (VMAs), because the two parts differ in protection. vm.max_map_count (65,530
 *     by default, not changeable without root) caps a process near 32k of them; mmap and
 *     mprotect then fail with ENOMEM, which comes back as -ENOMEM with coro_last_limit() ==
 *     CORO_LIMIT_MAP_COUNT (told apart from other ENOMEMs by counting /proc/self/maps, only on
 *     that error path, with read(2) and a stack buffer: at the limit even malloc may fail).
 *  b) Stacks are mapped with MAP_STACK, which on Linux 6.7+ also disables transparent huge
 *     pages for them; pool chunks (large, so eligible) also get madvise(MADV_NOHUGEPAGE) on older
 *     kernels, so a coroutine's first touch faults in 4 KiB, not 2 MiB.
 *  c) The pool has no guard pages: an overflow runs into the stack below. Use guard stacks to
 *     find the depth a workload needs, the pool to fit a million.
 */
#define _GNU_SOURCE
#include "workloads/runtime/coro_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define POOL_CHUNK_TARGET ((size_t)64 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

/* ---- limits: why a mapping failed ---- */

/* Reads a small decimal file with read(2): no stdio, no malloc. -1 on failure. */
static long read_long_file(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

long coro_map_entries(void)
{
    char buf[4096];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

/* Records why an mmap/mprotect failed and returns -err. */
static int fail_limit(int err)
{
    if (err != ENOMEM) {
        coro_limit_set(CORO_LIMIT_OTHER);
        return -err;
    }
    long max = read_long_file("/proc/sys/vm/max_map_count");
    long n = coro_map_entries();
    /* The kernel refuses a new entry once map_count reaches the limit; /proc/self/maps also
     * lists [vsyscall], which is not counted. A small margin covers both. */
    coro_limit_set(max > 0 && n >= 0 && n + 3 >= max ? CORO_LIMIT_MAP_COUNT : CORO_LIMIT_MEMORY);
    return -ENOMEM;
}

/* ---- guard stacks ---- */

int coro_guard_stack_map(size_t size, char **lo)
{
    size_t page = coro_page_size();
    char *base = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return fail_limit(errno);
    if (mprotect(base, page, PROT_NONE) < 0) {
        int err = errno;
        munmap(base, size + page);
        return fail_limit(err);
    }
    if (size >= HUGE_PAGE)
        madvise(base + page, size, MADV_NOHUGEPAGE); /* advice only: errors do not matter */
    *lo = base + page;
    return 0;
}

void coro_guard_stack_unmap(char *lo, size_t size)
{
    size_t page = coro_page_size();
    munmap(lo - page, size + page);
}

/* ---- the pool ---- */

int coro_pool_create(struct coro_pool **pool, size_t stack_size, size_t stacks_per_chunk)
{
    if (!pool)
        return -EINVAL;
    *pool = NULL;
    size_t size;
    if (coro_stack_round(stack_size, &size) < 0)
        return -EINVAL;
    if (stacks_per_chunk == 0) {
        stacks_per_chunk = POOL_CHUNK_TARGET / size;
        if (stacks_per_chunk == 0)
            stacks_per_chunk = 1;
    }
    if (stacks_per_chunk > SIZE_MAX / size)
        return -EINVAL;
    struct coro_pool *p = calloc(1, sizeof *p);
    if (!p) {
        coro_limit_set(CORO_LIMIT_MEMORY);
        return -ENOMEM;
    }
    p->stack_size = size;
    p->per_chunk = stacks_per_chunk;
    p->chunk_bytes = size * stacks_per_chunk;
    *pool = p;
    return 0;
}

int coro_pool_destroy(struct coro_pool *p)
{
    if (!p)
        return 0;
    if (p->in_use)
        return -EBUSY;
    for (size_t i = 0; i < p->nchunks; i++)
        munmap(p->chunks[i], p->chunk_bytes);
    free(p->chunks);
    free(p);
    return 0;
}

void coro_pool_get_stats(const struct coro_pool *p, struct coro_pool_stats *st)
{
    memset(st, 0, sizeof *st);
    st->stack_size = p->stack_size;
    st->stacks_per_chunk = p->per_chunk;
    st->chunks = p->nchunks;
    st->mapped_bytes = p->nchunks * p->chunk_bytes;
    st->in_use = p->in_use;
    st->free_listed = p->nfree;
    st->never_used = (size_t)(p->bump_end - p->bump) / p->stack_size;
}

int coro_pool_grow(struct coro_pool *p)
{
    if (p->nchunks == p->chunks_cap) {
        size_t cap = p->chunks_cap ? p->chunks_cap * 2 : 16;
        char **c = realloc(p->chunks, cap * sizeof *c);
        if (!c) {
            coro_limit_set(CORO_LIMIT_MEMORY);
            return -ENOMEM;
        }
        p->chunks = c;
        p->chunks_cap = cap;
    }
    char *chunk = mmap(NULL, p->chunk_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (chunk == MAP_FAILED)
        return fail_limit(errno);
    if (p->chunk_bytes >= HUGE_PAGE)
        madvise(chunk, p->chunk_bytes, MADV_NOHUGEPAGE);
    p->chunks[p->nchunks++] = chunk;
    p->bump = chunk;
    p->bump_end = chunk + p->chunk_bytes;
    return 0;
}

/* ---- copy stacks ---- */

int coro_copy_stack_create(struct coro_copy_stack **cs, size_t stack_size)
{
    if (!cs)
        return -EINVAL;
    *cs = NULL;
    size_t size;
    if (coro_stack_round(stack_size, &size) < 0)
        return -EINVAL;
    struct coro_copy_stack *s = calloc(1, sizeof *s);
    if (!s) {
        coro_limit_set(CORO_LIMIT_MEMORY);
        return -ENOMEM;
    }
    int rc = coro_guard_stack_map(size, &s->lo);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->size = size;
    *cs = s;
    return 0;
}

int coro_copy_stack_destroy(struct coro_copy_stack *s)
{
    if (!s)
        return 0;
    if (s->users)
        return -EBUSY;
    coro_guard_stack_unmap(s->lo, s->size);
    free(s);
    return 0;
}
