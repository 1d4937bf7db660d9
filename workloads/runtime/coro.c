/*
 * coro.c - coroutines: creation on a guarded, pooled or copied stack, resume/yield over the
 * assembly switch or swapcontext, destruction. The API and its terms are in coro.h; the stacks
 * themselves (guard pages, the pool, copy stacks' run stack, why a mapping failed) are
 * allocated in coro_stack.c.
 *
 * One op, as the workloads count it:
 *   switch  one transfer of control: coro_resume() into a coroutine, or coro_yield() out of it.
 *           A resume+yield round trip is two switches. It includes this file's bookkeeping (a
 *           state byte, the thread-local "current" pointer) and, for coro-ucontext, the
 *           rt_sigprocmask system call swapcontext makes every time.
 *   spawn   coro_create() + coro_destroy(): one stack from the kernel (guard: mmap + mprotect +
 *           munmap, three system calls) or from the pool's free list (no system call once the
 *           chunk exists), the control block written at the stack's top, the first frame built;
 *           coro-ucontext adds getcontext's rt_sigprocmask call.
 * Not measured by either: page faults of the first touch of a new stack page (a spawn touches
 * only the control block's page; the memory workload chooses a depth), nor any scheduling
 * (that is sched.c).
 *
 * Quirks handled:
 *  a) swapcontext saves and restores the signal mask with rt_sigprocmask: one system call per
 *     switch. It is kept as the coro-ucontext variant precisely to show that cost; nothing here
 *     tries to avoid it.
 *  b) MXCSR and the x87 control word (aarch64: FPCR) are callee-saved by the ABI, so the asm
 *     switch carries them: each coroutine keeps its own rounding mode. A new coroutine inherits
 *     its creator's, as a new thread does. swapcontext carries the whole FP environment.
 *  c) The ABI's 16-byte stack alignment at function entry: coro_ctx_make and makecontext both
 *     provide it; the control block sizes are multiples of 16 so the frames start aligned.
 *  d) A guarded stack's two map entries and vm.max_map_count: coro_stack.c (its quirk a).
 *  e) Transparent huge pages on stacks: coro_stack.c (its quirk b).
 *  f) AddressSanitizer does not follow stack switches by itself. When built with it, every
 *     switch is bracketed by __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber,
 *     the last switch out of a finished coroutine passes NULL so ASan frees its fake stack, and a
 *     stack's shadow is unpoisoned when it is handed out (a pool stack may hold the redzones of
 *     a coroutine destroyed while suspended). ASan's swapcontext interceptor clears the target
 *     stack's shadow and reads uc_stack of the context it switches to, so the resumer's
 *     ucontext_t is zeroed under ASan. None of this is compiled into a normal build.
 *  g) The pool has no guard pages: coro_stack.c (its quirk c).
 *  h) Copy stacks: all copying happens on the resumer's stack, never on the run stack being
 *     overwritten. A resume restores the coroutine's saved frames to the addresses they had
 *     (the run stack is at one address for its life, so pointers into those frames stay valid
 *     while the coroutine runs) and switches; when control comes back, the coroutine's saved
 *     sp says how deep it is, and [sp, top) is copied out to its buffer (grown as needed, never
 *     shrunk). A new coroutine's first frame is built at the run stack's top by its first
 *     resume. Under AddressSanitizer the copies skip the shadow checks (the frames hold
 *     redzones) and the restored range is unpoisoned.
 */
#define _GNU_SOURCE
#include "workloads/runtime/coro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#include <ucontext.h>
#include <unistd.h>

#include "workloads/runtime/coro_stack.h"
#include "workloads/runtime/coro_switch.h"

#ifndef MUX_CORO_ASM_WHY
#define MUX_CORO_ASM_WHY "no assembly switch in this build"
#endif

enum coro_state { CORO_NEW, CORO_SUSPENDED, CORO_RUNNING, CORO_FINISHED };

#define ROUND16(n) (((n) + 15) & ~(size_t)15)
#define MIN_FRAMES 256 /* bytes that must remain for frames below the control block */

struct coro {
    struct coro_ctx ctx;  /* asm: this coroutine's saved sp while it is not running */
    struct coro_ctx back; /* asm: the resumer's saved sp while this coroutine runs */
    ucontext_t *uc;       /* ucontext: this coroutine's context, in the control block */
    ucontext_t *back_uc;  /* ucontext: the resumer's, on the resumer's stack */
    coro_fn fn;
    void *arg;
    struct coro *resumer;
    void *user;
    char *lo;             /* lowest usable byte */
    size_t stack_size;    /* lo .. top */
    size_t control_bytes;
    struct coro_pool *pool;
    struct coro_copy_stack *copy; /* copy: the run stack; the block is malloc'ed */
    char *saved;                  /* copy: the frames saved at the last yield */
    size_t saved_len, saved_cap;
    unsigned char state, switch_kind, stack_kind;
#if CORO_ASAN
    void *fake_stack;         /* ASan's fake stack of this coroutine while it is suspended */
    const void *back_bottom;  /* the resumer's stack, as ASan reported it */
    size_t back_size;
#endif
};

static _Thread_local struct coro *tl_current;
static _Thread_local enum coro_limit tl_limit;

/* ---- names and probes ---- */

const char *coro_switch_name(enum coro_switch_kind kind)
{
    switch (kind) {
    case CORO_SWITCH_ASM:
        return "coro-asm";
    case CORO_SWITCH_UCONTEXT:
        return "coro-ucontext";
    }
    return NULL;
}

const char *coro_stack_kind_name(enum coro_stack_kind kind)
{
    switch (kind) {
    case CORO_STACK_GUARD:
        return "guard";
    case CORO_STACK_POOL:
        return "pool";
    case CORO_STACK_COPY:
        return "copy";
    }
    return NULL;
}

const char *coro_limit_name(enum coro_limit limit)
{
    switch (limit) {
    case CORO_LIMIT_NONE:
        return "none";
    case CORO_LIMIT_MAP_COUNT:
        return "max_map_count";
    case CORO_LIMIT_MEMORY:
        return "memory";
    case CORO_LIMIT_OTHER:
        return "other";
    }
    return NULL;
}

int coro_switch_from_name(const char *name, enum coro_switch_kind *kind)
{
    for (int k = 0; k < CORO_SWITCH_KINDS; k++) {
        if (name && strcmp(name, coro_switch_name((enum coro_switch_kind)k)) == 0) {
            *kind = (enum coro_switch_kind)k;
            return 0;
        }
    }
    return -EINVAL;
}

int coro_switch_probe(enum coro_switch_kind kind, char *why, size_t why_len)
{
    if (why && why_len)
        why[0] = '\0';
    switch (kind) {
    case CORO_SWITCH_ASM:
#if MUX_CORO_HAVE_ASM
        return 0;
#else
        if (why)
            snprintf(why, why_len, "%s; coro-ucontext works here", MUX_CORO_ASM_WHY);
        return -ENOSYS;
#endif
    case CORO_SWITCH_UCONTEXT:
        return 0;
    }
    if (why)
        snprintf(why, why_len, "unknown switch kind %d", (int)kind);
    return -EINVAL;
}

void coro_attr_init(struct coro_attr *attr)
{
    memset(attr, 0, sizeof *attr);
    attr->stack_size = CORO_STACK_DEFAULT;
    attr->stack_kind = CORO_STACK_GUARD;
    attr->switch_kind = coro_switch_probe(CORO_SWITCH_ASM, NULL, 0) == 0 ? CORO_SWITCH_ASM
                                                                          : CORO_SWITCH_UCONTEXT;
}

size_t coro_page_size(void)
{
    static size_t page;
    if (!page) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
    }
    return page;
}

size_t coro_signal_stack_min(void)
{
#if defined(__linux__) && defined(AT_MINSIGSTKSZ)
    unsigned long v = getauxval(AT_MINSIGSTKSZ);
    if (v)
        return (size_t)v;
#endif
    return MINSIGSTKSZ;
}

int coro_stack_round(size_t request, size_t *actual)
{
    size_t page = coro_page_size();
    if (request < CORO_STACK_MIN || request > CORO_STACK_MAX)
        return -EINVAL;
    size_t r = (request + page - 1) / page * page; /* no overflow: request <= 1 GiB */
    if (r > CORO_STACK_MAX)
        return -EINVAL;
    if (actual)
        *actual = r;
    return 0;
}

enum coro_limit coro_last_limit(void) { return tl_limit; }

void coro_limit_set(enum coro_limit limit) { tl_limit = limit; }

/* ---- copy stacks ---- */

static void coro_entry(void *p);

/* Copies between the run stack and a buffer without ASan's checks: the frames being moved
 * hold redzones (quirk h). A plain memcpy elsewhere. */
#if CORO_ASAN
__attribute__((no_sanitize_address)) static void frames_copy(char *dst, const char *src,
                                                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}
#else
#define frames_copy memcpy
#endif

/* After a copy coroutine yielded: its frames from its saved sp to the run stack's top go to
 * its buffer. 0, or -ENOMEM when the buffer could not grow. */
static int copy_save(struct coro *c)
{
    char *top = c->copy->lo + c->copy->size;
    size_t len = (size_t)(top - (char *)c->ctx.sp);
    if (len > c->saved_cap) {
        size_t cap = c->saved_cap ? c->saved_cap : 256;
        while (cap < len)
            cap *= 2;
        char *grown = realloc(c->saved, cap);
        if (!grown) {
            tl_limit = CORO_LIMIT_MEMORY;
            return -ENOMEM;
        }
        c->saved = grown;
        c->saved_cap = cap;
    }
    frames_copy(c->saved, c->ctx.sp, len);
    c->saved_len = len;
    return 0;
}

/* Before a copy coroutine runs: its frames back where they were, or its first frame. */
static void copy_restore(struct coro *c)
{
    char *top = c->copy->lo + c->copy->size;
    if (c->state == CORO_NEW) {
#if MUX_CORO_HAVE_ASM
        coro_ctx_make(&c->ctx, top, coro_entry, c);
#endif
        return;
    }
#if CORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(c->ctx.sp, c->saved_len);
#endif
    frames_copy(c->ctx.sp, c->saved, c->saved_len);
    (void)top;
}

/* Whether the running code is on copy stack s (a copy coroutine of s is current). */
static int running_on(const struct coro_copy_stack *s)
{
    for (struct coro *r = tl_current; r; r = r->resumer)
        if (r->copy == s)
            return 1;
    return 0;
}

/* ---- switching ---- */

/* Leaves coroutine c for its resumer; `final` when c has finished and will never run again. */
static void switch_out(struct coro *c, int final)
{
#if CORO_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &c->fake_stack, c->back_bottom, c->back_size);
#else
    (void)final;
#endif
#if MUX_CORO_HAVE_ASM
    if (c->switch_kind == CORO_SWITCH_ASM)
        coro_switch(&c->ctx, &c->back);
    else
#endif
        swapcontext(c->uc, c->back_uc);
#if CORO_ASAN
    __sanitizer_finish_switch_fiber(c->fake_stack, &c->back_bottom, &c->back_size);
#endif
}

/* Every coroutine starts here, on its own stack. */
static void coro_entry(void *p)
{
    struct coro *c = p;
#if CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->back_bottom, &c->back_size);
#endif
    c->fn(c->arg);
    c->state = CORO_FINISHED;
    switch_out(c, 1);
    abort(); /* a finished coroutine is never resumed: coro_resume refuses it */
}

/* makecontext passes ints: the pointer travels in two halves where it is wider than int. */
#if UINTPTR_MAX > 0xffffffffu
static void coro_uc_entry(unsigned hi, unsigned lo)
{
    coro_entry((void *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#else
static void coro_uc_entry(unsigned ptr) { coro_entry((void *)(uintptr_t)ptr); }
#endif

/* Out of line so that the asm path of coro_resume does not carry a ucontext_t (~1 KiB) in
 * its frame: the hot path stays a few instructions and a small stack footprint. */
static __attribute__((noinline)) void resume_ucontext(struct coro *c)
{
    ucontext_t back;
#if CORO_ASAN
    memset(&back, 0, sizeof back); /* quirk f: ASan's interceptor reads back.uc_stack */
#endif
    c->back_uc = &back;
    swapcontext(&back, c->uc);
}

int coro_resume(struct coro *c)
{
    if (!c)
        return -EINVAL;
    if (c->state == CORO_FINISHED)
        return -EINVAL;
    if (c->state == CORO_RUNNING)
        return -EBUSY;
    if (c->copy) {
        if (running_on(c->copy))
            return -EBUSY;
        copy_restore(c);
    }
    struct coro *prev = tl_current;
    c->resumer = prev;
    c->state = CORO_RUNNING;
    tl_current = c;
#if CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, c->lo, c->stack_size - c->control_bytes);
#endif
#if MUX_CORO_HAVE_ASM
    if (c->switch_kind == CORO_SWITCH_ASM)
        coro_switch(&c->back, &c->ctx);
    else
#endif
        resume_ucontext(c);
#if CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    tl_current = prev;
    if (c->state == CORO_FINISHED)
        return 1;
    if (c->copy && copy_save(c) < 0) {
        c->state = CORO_FINISHED; /* its frames are lost: it can only be destroyed */
        return -ENOMEM;
    }
    return 0;
}

void coro_yield(void)
{
    struct coro *c = tl_current;
    if (!c)
        return;
    c->state = CORO_SUSPENDED;
    switch_out(c, 0);
}

struct coro *coro_self(void) { return tl_current; }

int coro_is_finished(const struct coro *c) { return c->state == CORO_FINISHED; }

void *coro_user_area(const struct coro *c) { return c->user; }

enum coro_switch_kind coro_switch_kind_of(const struct coro *c)
{
    return (enum coro_switch_kind)c->switch_kind;
}

/* ---- creation ---- */

/* getcontext returns twice as far as the compiler knows: kept out of coro_create so no local
 * there can be "clobbered". Returns 0 or an errno value. */
__attribute__((noinline)) static int uc_prepare(struct coro *c, char *lo, size_t size)
{
    if (getcontext(c->uc) < 0)
        return errno;
    c->uc->uc_stack.ss_sp = lo;
    c->uc->uc_stack.ss_size = size;
    c->uc->uc_link = NULL;
#if UINTPTR_MAX > 0xffffffffu
    makecontext(c->uc, (void (*)(void))coro_uc_entry, 2, (unsigned)((uintptr_t)c >> 32),
                (unsigned)(uintptr_t)c);
#else
    makecontext(c->uc, (void (*)(void))coro_uc_entry, 1, (unsigned)(uintptr_t)c);
#endif
    return 0;
}

/* A copy coroutine: its control block and user area on the heap, its frames on the run
 * stack only while it runs (quirk h). */
static int copy_create(struct coro **out, const struct coro_attr *attr, coro_fn fn, void *arg)
{
    struct coro_copy_stack *s = attr->copy_stack;
    if (attr->user_bytes > s->size)
        return -EINVAL;
    size_t block = ROUND16(sizeof(struct coro)) + ROUND16(attr->user_bytes);
    struct coro *c = aligned_alloc(16, block);
    if (!c) {
        tl_limit = CORO_LIMIT_MEMORY;
        return -ENOMEM;
    }
    memset(c, 0, sizeof *c);
    c->user = NULL;
    if (attr->user_bytes) {
        c->user = (char *)c + ROUND16(sizeof(struct coro));
        memset(c->user, 0, attr->user_bytes);
    }
    c->fn = fn;
    c->arg = arg;
    c->lo = s->lo;
    c->stack_size = s->size;
    c->control_bytes = 0; /* none of it on the run stack */
    c->copy = s;
    c->state = CORO_NEW;
    c->switch_kind = CORO_SWITCH_ASM;
    c->stack_kind = CORO_STACK_COPY;
    s->users++;
    *out = c;
    return 0;
}

int coro_create(struct coro **out, const struct coro_attr *attr, coro_fn fn, void *arg)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    tl_limit = CORO_LIMIT_NONE;
    if (!attr || !fn)
        return -EINVAL;

    int uc;
    switch (attr->switch_kind) {
    case CORO_SWITCH_ASM:
#if !MUX_CORO_HAVE_ASM
        return -ENOSYS;
#endif
        uc = 0;
        break;
    case CORO_SWITCH_UCONTEXT:
        uc = 1;
        break;
    default:
        return -EINVAL;
    }

    size_t size;
    switch (attr->stack_kind) {
    case CORO_STACK_GUARD:
        if (coro_stack_round(attr->stack_size, &size) < 0)
            return -EINVAL;
        break;
    case CORO_STACK_POOL:
        if (!attr->pool)
            return -EINVAL;
        size = attr->pool->stack_size;
        if (attr->stack_size) {
            size_t want;
            if (coro_stack_round(attr->stack_size, &want) < 0 || want != size)
                return -EINVAL;
        }
        break;
    case CORO_STACK_COPY:
        if (!attr->copy_stack || uc)
            return -EINVAL; /* the saved sp says what to copy: the asm switch only */
        size = attr->copy_stack->size;
        if (attr->stack_size) {
            size_t want;
            if (coro_stack_round(attr->stack_size, &want) < 0 || want != size)
                return -EINVAL;
        }
        return copy_create(out, attr, fn, arg);
    default:
        return -EINVAL;
    }

    if (attr->user_bytes > size)
        return -EINVAL;
    size_t control = ROUND16(sizeof(struct coro)) + (uc ? ROUND16(sizeof(ucontext_t)) : 0) +
                     ROUND16(attr->user_bytes);
    if (control + MIN_FRAMES > size)
        return -EINVAL;

    char *lo = NULL;
    int rc = attr->stack_kind == CORO_STACK_GUARD ? coro_guard_stack_map(size, &lo)
                                                   : coro_pool_take(attr->pool, &lo);
    if (rc < 0)
        return rc;
#if CORO_ASAN
    ASAN_UNPOISON_MEMORY_REGION(lo, size);
#endif

    /* The control block, from the top down: struct coro, ucontext_t, the user area. */
    char *top = lo + size;
    /* Every field is stored one by one, no memset: GCC turns a memset of this size into
     * `rep stos`, and reading the fields back right after that string store cost ~170 ns per
     * create on the planning machine (a create+destroy from the pool's free list went from
     * ~200 ns to ~27 ns without it). */
    struct coro *c = (struct coro *)(void *)(top - ROUND16(sizeof(struct coro)));
    char *below = (char *)c;
    c->uc = NULL;
    if (uc) {
        below -= ROUND16(sizeof(ucontext_t));
        c->uc = (ucontext_t *)(void *)below;
    }
    c->user = NULL;
    if (attr->user_bytes) {
        below -= ROUND16(attr->user_bytes);
        c->user = below;
        memset(below, 0, attr->user_bytes);
    }
    c->ctx.sp = NULL;
    c->back.sp = NULL;
    c->back_uc = NULL;
    c->resumer = NULL;
#if CORO_ASAN
    c->fake_stack = NULL;
    c->back_bottom = NULL;
    c->back_size = 0;
#endif
    c->fn = fn;
    c->arg = arg;
    c->lo = lo;
    c->stack_size = size;
    c->control_bytes = control;
    c->pool = attr->stack_kind == CORO_STACK_POOL ? attr->pool : NULL;
    c->copy = NULL;
    c->saved = NULL;
    c->saved_len = c->saved_cap = 0;
    c->state = CORO_NEW;
    c->switch_kind = (unsigned char)attr->switch_kind;
    c->stack_kind = (unsigned char)attr->stack_kind;

    if (uc) {
        int err = uc_prepare(c, lo, (size_t)(below - lo));
        if (err) {
            coro_destroy(c);
            tl_limit = CORO_LIMIT_OTHER;
            return -err;
        }
    }
#if MUX_CORO_HAVE_ASM
    else {
        coro_ctx_make(&c->ctx, below, coro_entry, c);
    }
#endif
    *out = c;
    return 0;
}

int coro_destroy(struct coro *c)
{
    if (!c)
        return 0;
    if (c->state == CORO_RUNNING)
        return -EBUSY;
    if (c->copy) {
        c->copy->users--;
        free(c->saved);
        free(c);
        return 0;
    }
    /* c lives on the stack being freed: read what we need first. */
    char *lo = c->lo;
    size_t size = c->stack_size;
    struct coro_pool *pool = c->pool;
    if (pool)
        coro_pool_give(pool, lo);
    else
        coro_guard_stack_unmap(lo, size);
    return 0;
}

/* ---- introspection ---- */

void coro_stack_info(const struct coro *c, struct coro_stack_info *info)
{
    memset(info, 0, sizeof *info);
    info->kind = (enum coro_stack_kind)c->stack_kind;
    info->lo = c->lo;
    info->stack_size = c->stack_size;
    info->control_bytes = c->control_bytes;
    info->usable = c->stack_size - c->control_bytes;
    info->guard_bytes = c->pool ? 0 : coro_page_size();
    info->map_entries = c->pool || c->copy ? 0 : 2;
    info->saved_bytes = c->copy ? c->saved_len : 0;
}

enum coro_stack_kind coro_stack_kind_of(const struct coro *c)
{
    return (enum coro_stack_kind)c->stack_kind;
}

int coro_stack_map_entries(const struct coro *c) { return c->pool || c->copy ? 0 : 2; }

/* Each level writes both ends of a 1 KiB buffer, so no page in the range is skipped; the asm
 * barrier after the recursive call keeps the frame alive (no tail call, no loop). */
#define TOUCH_FRAME 1024
__attribute__((noinline)) static size_t touch_down(size_t left)
{
    volatile char buf[TOUCH_FRAME];
    buf[0] = (char)left;
    buf[TOUCH_FRAME - 1] = (char)left;
    size_t r = 0;
    if (left > TOUCH_FRAME)
        r = touch_down(left - TOUCH_FRAME);
    __asm__ volatile("" : : "r"(buf) : "memory");
    return r + (size_t)buf[0];
}

void coro_stack_touch(size_t bytes)
{
    if (bytes)
        (void)touch_down(bytes);
}

/* touch_down with a yield at the bottom (coro_stack_touch_yield). */
__attribute__((noinline)) static size_t touch_down_yield(size_t left)
{
    volatile char buf[TOUCH_FRAME];
    buf[0] = (char)left;
    buf[TOUCH_FRAME - 1] = (char)left;
    size_t r = 0;
    if (left > TOUCH_FRAME)
        r = touch_down_yield(left - TOUCH_FRAME);
    else
        coro_yield();
    __asm__ volatile("" : : "r"(buf) : "memory");
    return r + (size_t)buf[0];
}

void coro_stack_touch_yield(size_t bytes)
{
    if (bytes)
        (void)touch_down_yield(bytes);
    else
        coro_yield();
}
