/*
 * coro.h - the coroutine runtime the ctxswitch, memory, spawn and echo workloads share.
 *
 * A coroutine is a function running on its own stack that can suspend (coro_yield) and be
 * continued (coro_resume) by whoever resumed it. Stackful, asymmetric, single-threaded: a
 * coroutine runs on the thread that created it and is never moved.
 *
 * Two things are chosen per coroutine, and both go into the CSV's `variant`, so every row
 * says which it used:
 *
 *  switch kind                        one switch is ...
 *   coro-asm       CORO_SWITCH_ASM     coro_switch_<arch>.S: callee-saved registers, sp and the
 *                                      FP control words; no system call. x86_64 and aarch64.
 *   coro-ucontext  CORO_SWITCH_UCONTEXT  swapcontext(3): saves every register set and the
 *                                      *signal mask*, i.e. one rt_sigprocmask system call per
 *                                      switch. That syscall is most of its cost (and what it
 *                                      shows). Everywhere glibc has it.
 *
 *  stack kind                         one stack is ...
 *   guard          CORO_STACK_GUARD    its own mmap with a PROT_NONE guard page below it: an
 *                                      overflow faults instead of corrupting a neighbour. Two
 *                                      kernel map entries (VMAs) per stack (the RW part and the
 *                                      guard differ in protection), and vm.max_map_count
 *                                      (65,530 by default) caps a process near 32,000 guarded
 *                                      stacks, less whatever else it has mapped.
 *   pool           CORO_STACK_POOL     carved out of large mappings (chunks) owned by a
 *                                      struct coro_pool, freed to its free list, no guards: a
 *                                      chunk is one map entry for many stacks, which is how a
 *                                      million coroutines fit. An overflow silently corrupts the
 *                                      stack below.
 *   copy           CORO_STACK_COPY     no stack of its own: every copy coroutine of a struct
 *                                      coro_copy_stack runs on that one guarded run stack, and
 *                                      when it yields the resumer copies the part it used (from
 *                                      its saved sp to the top) into a heap buffer of the
 *                                      coroutine; the next resume copies it back. A parked
 *                                      coroutine costs its control block plus the depth it was
 *                                      suspended at, and each switch pays a copy of that depth.
 *                                      coro-asm only. A copy coroutine must not resume another
 *                                      of the same run stack (-EBUSY: their frames would
 *                                      overlap), and nothing may keep a pointer into a
 *                                      suspended copy coroutine's stack: its frames are moved.
 *
 * Stack sizes: a request is rounded up to whole pages; below CORO_STACK_MIN or above
 * CORO_STACK_MAX is -EINVAL. `stack_size` is the mapped stack excluding the guard page. The
 * coroutine's control block (struct coro; plus a ucontext_t for coro-ucontext; plus the
 * caller's user area) sits at the top of its stack, as glibc puts struct pthread at the top of
 * a thread stack: creating a coroutine allocates nothing else, and the block's page is the
 * first page a coroutine touches. coro_stack_info() tells how much is left below it. For
 * coro-ucontext the block holds a ucontext_t: 968 bytes on x86_64, 4,560 on aarch64 (its
 * mcontext reserves 4 KiB for FP/SIMD state), so there a 4 KiB coro-ucontext stack is -EINVAL.
 *
 * Small stacks have two hazards a workload must know (both measured on the planning machine):
 * a signal handled while a coroutine runs is delivered on the coroutine's stack, and its frame
 * needs AT_MINSIGSTKSZ bytes (11,952 there: the CPU has AMX; coro_signal_stack_min() reads it),
 * so below that a signal overflows the stack (guard: SIGSEGV; pool: silent corruption); and a
 * lazily bound library call runs the dynamic linker's resolver on the coroutine stack (it saves
 * the XSAVE state, ~2.7 KiB), which is why muxcoro links its users with -z now.
 *
 * Memory is only *reserved* by creation: pages become resident when touched. A coroutine that
 * never runs costs its control block's page; coro_stack_touch() lets the memory workload
 * choose a touched depth.
 *
 * Errors are -errno, never an abort: -EINVAL (bad size or attribute), -ENOSYS (coro-asm on an
 * architecture without the assembly switch), -ENOMEM (mmap or mprotect failed: address space,
 * overcommit, or vm.max_map_count; coro_last_limit() tells which), -EAGAIN (passed through from
 * the kernel). Under AddressSanitizer every switch is announced with the sanitizer's fiber
 * annotations, so ASan follows the stack changes (see coro.c).
 */
#ifndef MUX_CORO_H
#define MUX_CORO_H

#include <stddef.h>
#include <stdint.h>

enum coro_switch_kind {
    CORO_SWITCH_ASM = 0,      /* "coro-asm" */
    CORO_SWITCH_UCONTEXT = 1, /* "coro-ucontext" */
};
#define CORO_SWITCH_KINDS 2

enum coro_stack_kind {
    CORO_STACK_GUARD = 0, /* "guard" */
    CORO_STACK_POOL = 1,  /* "pool" */
    CORO_STACK_COPY = 2,  /* "copy" */
};
#define CORO_STACK_KINDS 3

/* Why the last failing allocation on this thread failed (memory workload: limits are data). */
enum coro_limit {
    CORO_LIMIT_NONE = 0,      /* nothing failed yet, or the failure was not an allocation */
    CORO_LIMIT_MAP_COUNT = 1, /* the process is at vm.max_map_count */
    CORO_LIMIT_MEMORY = 2,    /* ENOMEM below the map-count limit: address space, overcommit */
    CORO_LIMIT_OTHER = 3,     /* another errno from mmap/mprotect (EAGAIN, EPERM, ...) */
};

#define CORO_STACK_MIN ((size_t)4096)            /* one 4 KiB page; rounded up to the page */
#define CORO_STACK_MAX ((size_t)1 << 30)         /* 1 GiB: anything larger is a typo */
#define CORO_STACK_DEFAULT ((size_t)64 * 1024)   /* coro_attr_init's choice */

typedef void (*coro_fn)(void *arg);

struct coro;      /* lives at the top of its own stack */
struct coro_pool; /* stacks of one size, carved from chunks */
struct coro_copy_stack; /* the run stack copy coroutines share */

struct coro_attr {
    size_t stack_size;               /* bytes, rounded up to pages (pool: 0 or the pool's size) */
    enum coro_stack_kind stack_kind;
    enum coro_switch_kind switch_kind;
    struct coro_pool *pool;          /* required for CORO_STACK_POOL, ignored otherwise */
    size_t user_bytes;               /* a caller area in the control block (coro_user_area) */
    struct coro_copy_stack *copy_stack; /* required for CORO_STACK_COPY (stack_size: 0 or its
                                           size), ignored otherwise */
};

/* Defaults: CORO_STACK_DEFAULT, guard, coro-asm where available (else coro-ucontext). */
void coro_attr_init(struct coro_attr *attr);

/* Names as the CSV and the command line spell them; NULL for an unknown kind. */
const char *coro_switch_name(enum coro_switch_kind kind);   /* "coro-asm", "coro-ucontext" */
const char *coro_stack_kind_name(enum coro_stack_kind kind); /* "guard", "pool", "copy" */
const char *coro_limit_name(enum coro_limit limit);          /* "none", "max_map_count", ... */
/* Parses a switch name; 0 or -EINVAL. */
int coro_switch_from_name(const char *name, enum coro_switch_kind *kind);
/* 0 when the switch kind runs here, else -ENOSYS with the reason in why[]. */
int coro_switch_probe(enum coro_switch_kind kind, char *why, size_t why_len);

size_t coro_page_size(void);
/* The stack a signal frame needs here: getauxval(AT_MINSIGSTKSZ), else MINSIGSTKSZ. */
size_t coro_signal_stack_min(void);
/* The size a request becomes (page-rounded) in *actual; 0, or -EINVAL out of range. */
int coro_stack_round(size_t request, size_t *actual);

/* ---- stack pool ----
 * stacks_per_chunk: how many stacks one mmap holds (0: as many as fit in 64 MiB, at least 1).
 * Chunks are mapped as needed, never returned before coro_pool_destroy; freed stacks go to a
 * LIFO free list and keep their resident pages (as glibc's thread-stack cache does). Not
 * thread-safe: one pool per thread. */
int coro_pool_create(struct coro_pool **pool, size_t stack_size, size_t stacks_per_chunk);
/* -EBUSY (and nothing freed) while a stack is in use, else 0 and every chunk unmapped. */
int coro_pool_destroy(struct coro_pool *pool);

struct coro_pool_stats {
    size_t stack_size;       /* bytes per stack */
    size_t stacks_per_chunk;
    size_t chunks;           /* mmap calls made; adjacent chunks may merge into fewer VMAs */
    size_t mapped_bytes;     /* chunks * stacks_per_chunk * stack_size */
    size_t in_use;           /* stacks handed out */
    size_t free_listed;      /* returned stacks waiting for reuse */
    size_t never_used;       /* carved space left in the current chunk */
};
void coro_pool_get_stats(const struct coro_pool *pool, struct coro_pool_stats *st);

/* ---- copy stacks ----
 * One guarded run stack of stack_size bytes (page-rounded) for any number of copy coroutines
 * of this thread. 0 or -errno (-EINVAL size, -ENOMEM with coro_last_limit()). Destroy: -EBUSY
 * (nothing freed) while a coroutine made on it exists, else 0. */
int coro_copy_stack_create(struct coro_copy_stack **cs, size_t stack_size);
int coro_copy_stack_destroy(struct coro_copy_stack *cs);

/* ---- coroutines ---- */

/* Creates a suspended coroutine that will run fn(arg) at its first resume. 0 or -errno; on
 * failure *c is NULL and coro_last_limit() says which limit was hit, if any. */
int coro_create(struct coro **c, const struct coro_attr *attr, coro_fn fn, void *arg);
/* Frees the stack (a pool stack goes back to its free list). 0, or -EBUSY if c is running (it
 * or a coroutine it resumed is on the CPU). A suspended coroutine may be destroyed: its frames
 * are dropped without unwinding, like a thread that is cancelled asynchronously. */
int coro_destroy(struct coro *c);

/* Runs c until it yields or its function returns. Returns 0 when it yielded, 1 when it
 * finished during this resume, -EINVAL if it had already finished, -EBUSY if it is running
 * (resuming yourself or a coroutine up your resume chain) or if c is a copy coroutine and the
 * caller runs on c's run stack, -ENOMEM if a copy coroutine yielded but its frames could not be
 * saved (it is then finished: it can only be destroyed). */
int coro_resume(struct coro *c);
/* From inside a coroutine: suspend and continue its resumer. Returns at the next resume.
 * Outside any coroutine it does nothing. */
void coro_yield(void);
/* The running coroutine, or NULL on the thread's own stack. */
struct coro *coro_self(void);
int coro_is_finished(const struct coro *c);
/* The user area reserved by attr.user_bytes (16-aligned; NULL when 0 bytes). */
void *coro_user_area(const struct coro *c);
enum coro_switch_kind coro_switch_kind_of(const struct coro *c);

struct coro_stack_info {
    enum coro_stack_kind kind;
    void *lo;               /* lowest usable stack byte (just above the guard page) */
    size_t stack_size;      /* bytes from lo to the top: the page-rounded request */
    size_t usable;          /* bytes from lo to the control block: what frames can use */
    size_t control_bytes;   /* struct coro + ucontext_t + user area, at the top */
    size_t guard_bytes;     /* PROT_NONE bytes below lo (0 for the pool) */
    int map_entries;        /* kernel map entries (VMAs) this stack adds: 2 guard, 0 pool
                               (a pool stack shares its chunk's entry; see the pool's stats),
                               0 copy (the run stack's are shared) */
    size_t saved_bytes;     /* copy: the frames saved at its last yield (0 otherwise) */
};
void coro_stack_info(const struct coro *c, struct coro_stack_info *info);
/* Shorthands for the two facts every CSV row needs. */
enum coro_stack_kind coro_stack_kind_of(const struct coro *c);
int coro_stack_map_entries(const struct coro *c);

/* Uses at least `bytes` of stack below the caller's frame, writing every page of it once,
 * then returns (the memory workload's "touched depth": those pages are now resident). Call it
 * from inside the coroutine; the stack must have room for it. */
void coro_stack_touch(size_t bytes);
/* The same, but yields (coro_yield) at the bottom, `bytes` deep, and returns after the next
 * resume: the coroutine is suspended with that much stack in use (what a copy coroutine saves
 * and restores; a stackful one keeps the pages resident either way). */
void coro_stack_touch_yield(size_t bytes);

/* Why the last failing coro_create / coro_pool_create on this thread failed. */
enum coro_limit coro_last_limit(void);
/* The process's map entries (lines of /proc/self/maps, one more than the kernel counts for
 * [vsyscall]), read with read(2) into a stack buffer: no malloc, so it works at the limit.
 * -1 when /proc is not there. */
long coro_map_entries(void);

#endif
