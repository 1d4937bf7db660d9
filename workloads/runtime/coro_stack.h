/*
 * coro_stack.h - the stack allocators underneath coro.c (coro_stack.c), for coro.c only: the
 * public API of pools and copy stacks is in coro.h. This header gives coro.c the layouts of a
 * pool and a copy stack, the guarded mapping, and the pool's free-list fast path as inline
 * functions, so that a create+destroy from the free list (what the spawn workload times, ~27 ns)
 * makes no call into another translation unit; only mapping a new chunk is out of line.
 *
 * The limit accounting (coro_last_limit) stays in coro.c, which resets it at every create;
 * an allocator that fails records its cause through coro_limit_set().
 */
#ifndef MUX_CORO_STACK_H
#define MUX_CORO_STACK_H

#include <stddef.h>

#include "workloads/runtime/coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifndef CORO_ASAN
#define CORO_ASAN 0
#endif
#if CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

struct coro_pool {
    size_t stack_size, per_chunk, chunk_bytes;
    char **chunks;
    size_t nchunks, chunks_cap;
    char *bump, *bump_end; /* uncarved space in the newest chunk */
    void *free_list;       /* link stored in the top word of each free stack */
    size_t nfree, in_use;
};

struct coro_copy_stack {
    char *lo;      /* lowest usable byte (a guard page below) */
    size_t size;
    size_t users;  /* coroutines made on it that are not destroyed */
};

/* Records why the current create failed, for coro_last_limit() (defined in coro.c). */
void coro_limit_set(enum coro_limit limit);

/* A stack of `size` bytes (page-rounded) above one PROT_NONE guard page: *lo is its lowest
 * usable byte. 0, or -errno with the limit recorded. */
int coro_guard_stack_map(size_t size, char **lo);
/* Unmaps a stack from coro_guard_stack_map, its guard page included. */
void coro_guard_stack_unmap(char *lo, size_t size);

/* Maps the pool's next chunk once the current one is carved up. 0, or -ENOMEM with the limit
 * recorded. */
int coro_pool_grow(struct coro_pool *p);

static inline void **coro_pool_link(struct coro_pool *p, char *stack)
{
    return (void **)(void *)(stack + p->stack_size - sizeof(void *));
}

/* A stack from the pool: the free list first, then uncarved space, then a new chunk. */
static inline int coro_pool_take(struct coro_pool *p, char **lo)
{
    if (p->free_list) {
        char *s = p->free_list;
        p->free_list = *coro_pool_link(p, s);
        p->nfree--;
        p->in_use++;
        *lo = s;
        return 0;
    }
    if (p->bump == p->bump_end) {
        int rc = coro_pool_grow(p);
        if (rc < 0)
            return rc;
    }
    *lo = p->bump;
    p->bump += p->stack_size;
    p->in_use++;
    return 0;
}

/* A stack back to the pool's free list (LIFO); its pages stay resident. */
static inline void coro_pool_give(struct coro_pool *p, char *stack)
{
    void **link = coro_pool_link(p, stack);
#if CORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(link, sizeof *link);
#endif
    *link = p->free_list;
    p->free_list = stack;
    p->in_use--;
    p->nfree++;
}

#endif
