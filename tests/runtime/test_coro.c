/*
 * test_coro.c - the coroutine runtime (workloads/runtime/coro.c), one property per test:
 *
 *   test_coro <asm|ucontext|any> <test>     exit 0 pass, 1 fail, 77 skip
 *   test_coro --list                        "<test> <kinds>" lines (CMake reads the table)
 *
 * Tests marked BOTH run once per switch kind (coro-asm, coro-ucontext); ANY tests are about
 * stacks or names and run once. Every test body runs twice: the first run is a warm-up (the
 * allocator, ASan's above all, maps its arenas lazily), then the number of open fds, threads
 * and map entries is taken, the body runs again, and the counts must be as found.
 *
 * Tests that must crash or exhaust a process limit (guard page overflow, vm.max_map_count) do
 * so in a forked child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <unwind.h>

#include "tests/util/testutil.h"
#include "workloads/runtime/coro.h"
#include "workloads/runtime/coro_switch.h"
#include "workloads/runtime/stackless.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* The assembly helpers of tests/regs_<arch>.S, where built. */
#if MUX_TEST_HAVE_REGS
typedef void (*regs_fn)(void *, void *);
void regs_call(regs_fn fn, void *a, void *b, const uint64_t *in, uint64_t *out);
uintptr_t regs_sp_at_call(void);
#if defined(__x86_64__)
#define NREGS 6 /* rbx rbp r12 r13 r14 r15 */
#elif defined(__aarch64__)
#define NREGS 19 /* x19-x29, d8-d15 */
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#if TEST_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

static enum coro_switch_kind kind; /* the switch kind under test */
static const size_t KiB = 1024;

static struct coro_attr attr_of(enum coro_stack_kind sk, size_t size, struct coro_pool *pool)
{
    struct coro_attr a;
    coro_attr_init(&a);
    a.switch_kind = kind;
    a.stack_kind = sk;
    a.stack_size = size;
    a.pool = pool;
    return a;
}

/* Resident pages in [lo, lo + len), by mincore. -1 on error. */
static long resident_pages(void *lo, size_t len)
{
    size_t page = coro_page_size();
    size_t n = (len + page - 1) / page;
    unsigned char *vec = malloc(n);
    if (!vec)
        return -1;
    long r = -1;
    if (mincore(lo, len, vec) == 0) {
        r = 0;
        for (size_t i = 0; i < n; i++)
            r += vec[i] & 1;
    }
    free(vec);
    return r;
}

/* ---------------------------------------------------------------------------------------- */
/* callee-saved registers */

#if MUX_TEST_HAVE_REGS
#define ROUNDS 8

static void fill(uint64_t *v, uint64_t seed, int round)
{
    for (int i = 0; i < NREGS; i++)
        v[i] = seed ^ ((uint64_t)(i + 1) * 0x0101010101010101ull) ^ ((uint64_t)round << 44);
}

static int regs_differ(const uint64_t *in, const uint64_t *out, const char *who, int round)
{
    int bad = 0;
    for (int i = 0; i < NREGS; i++) {
        if (in[i] != out[i]) {
            fprintf(stderr, "%s round %d: register #%d is %#llx, expected %#llx\n", who, round,
                    i, (unsigned long long)out[i], (unsigned long long)in[i]);
            bad = 1;
        }
    }
    return bad;
}

/* Level 1: the raw switch (coro_switch, or swapcontext) called straight from regs_call. Under
 * ASan the switches are announced with the fiber API as coro.c does (outside regs_call, so
 * no C call sits between the patterns and the switch). */
struct raw {
    struct coro_ctx main, co;
    ucontext_t umain, uco;
    int fails;
    char *stack;
    size_t size;
#if TEST_ASAN
    void *fake_main, *fake_co;
    const void *main_bottom;
    size_t main_size;
#endif
};
static struct raw *raw_state;

static void raw_leave_main(struct raw *r)
{
#if TEST_ASAN
    __sanitizer_start_switch_fiber(&r->fake_main, r->stack, r->size);
#else
    (void)r;
#endif
}
static void raw_back_in_main(struct raw *r)
{
#if TEST_ASAN
    __sanitizer_finish_switch_fiber(r->fake_main, NULL, NULL);
#else
    (void)r;
#endif
}
static void raw_leave_co(struct raw *r, int final)
{
#if TEST_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &r->fake_co, r->main_bottom, r->main_size);
#else
    (void)r;
    (void)final;
#endif
}
static void raw_back_in_co(struct raw *r, int first)
{
#if TEST_ASAN
    __sanitizer_finish_switch_fiber(first ? NULL : r->fake_co, &r->main_bottom, &r->main_size);
#else
    (void)r;
    (void)first;
#endif
}

static regs_fn raw_fn(void)
{
#if MUX_CORO_HAVE_ASM
    if (kind == CORO_SWITCH_ASM)
        return (regs_fn)(void (*)(void))coro_switch;
#endif
    return (regs_fn)(void (*)(void))swapcontext;
}

static void raw_co_body(void)
{
    struct raw *r = raw_state;
    int asm_kind = kind == CORO_SWITCH_ASM;
    void *self = asm_kind ? (void *)&r->co : (void *)&r->uco;
    void *peer = asm_kind ? (void *)&r->main : (void *)&r->umain;
    raw_back_in_co(r, 1);
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t in[NREGS], out[NREGS];
        fill(in, 0xc0c0c0c0c0c0c0c0ull, i);
        raw_leave_co(r, 0);
        regs_call(raw_fn(), self, peer, in, out);
        raw_back_in_co(r, 0);
        r->fails += regs_differ(in, out, "coroutine (raw)", i);
    }
    raw_leave_co(r, 1);
    regs_call(raw_fn(), self, peer, (uint64_t[NREGS]){0}, (uint64_t[NREGS]){0});
    abort(); /* never resumed again */
}

#if MUX_CORO_HAVE_ASM
static void raw_co_entry_asm(void *arg)
{
    (void)arg;
    raw_co_body();
}
#endif

static void t_callee_saved_regs_raw(void)
{
    size_t size = 256 * KiB;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(stack != MAP_FAILED);
#if TEST_ASAN
    ASAN_UNPOISON_MEMORY_REGION(stack, size); /* the range may hold an earlier stack's redzones */
#endif
    struct raw *r = calloc(1, sizeof *r);
    CHECK(r);
    raw_state = r;
    r->stack = stack;
    r->size = size;
    void *self, *peer;
    if (kind == CORO_SWITCH_ASM) {
#if MUX_CORO_HAVE_ASM
        coro_ctx_make(&r->co, stack + size, raw_co_entry_asm, NULL);
#endif
        self = &r->main;
        peer = &r->co;
    } else {
        CHECK_EQ(getcontext(&r->uco), 0);
        r->uco.uc_stack.ss_sp = stack;
        r->uco.uc_stack.ss_size = size;
        r->uco.uc_link = NULL;
        makecontext(&r->uco, raw_co_body, 0);
        self = &r->umain;
        peer = &r->uco;
    }
    int fails = 0;
    for (int i = 0; i <= ROUNDS; i++) {
        uint64_t in[NREGS], out[NREGS];
        fill(in, 0x5a5a5a5a5a5a5a5aull, i);
        raw_leave_main(r);
        regs_call(raw_fn(), self, peer, in, out);
        raw_back_in_main(r);
        fails += regs_differ(in, out, "main (raw)", i);
    }
    fails += r->fails;
    free(r);
    munmap(stack, size);
    CHECK_EQ(fails, 0);
}

/* Level 2: the public API, coro_resume / coro_yield, called from regs_call. */
static void api_resume(void *c, void *unused)
{
    (void)unused;
    coro_resume(c);
}
static void api_yield(void *a, void *b)
{
    (void)a;
    (void)b;
    coro_yield();
}

static void api_co(void *arg)
{
    int *fails = arg;
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t in[NREGS], out[NREGS];
        fill(in, 0x3c3c3c3c3c3c3c3cull, i);
        regs_call(api_yield, NULL, NULL, in, out);
        *fails += regs_differ(in, out, "coroutine (api)", i);
    }
}

static void t_callee_saved_regs_api(enum coro_stack_kind sk)
{
    struct coro_pool *pool = NULL;
    if (sk == CORO_STACK_POOL)
        CHECK_EQ(coro_pool_create(&pool, 64 * KiB, 4), 0);
    struct coro_attr a = attr_of(sk, 64 * KiB, pool);
    struct coro *c;
    int co_fails = 0, fails = 0;
    CHECK_EQ(coro_create(&c, &a, api_co, &co_fails), 0);
    for (int i = 0; i <= ROUNDS; i++) {
        uint64_t in[NREGS], out[NREGS];
        fill(in, 0xa5a5a5a5a5a5a5a5ull, i);
        regs_call(api_resume, c, NULL, in, out);
        fails += regs_differ(in, out, "main (api)", i);
    }
    CHECK(coro_is_finished(c));
    CHECK_EQ(coro_destroy(c), 0);
    CHECK_EQ(coro_pool_destroy(pool), 0);
    CHECK_EQ(fails + co_fails, 0);
}

static void t_callee_saved_regs(void)
{
    t_callee_saved_regs_raw();
    t_callee_saved_regs_api(CORO_STACK_GUARD);
    t_callee_saved_regs_api(CORO_STACK_POOL);
}
#else
static void t_callee_saved_regs(void) { printf("SKIP: no register helper for this arch\n"); exit(T_SKIP); }
#endif

/* ---------------------------------------------------------------------------------------- */
/* 16-byte stack alignment at coroutine entry */

static uintptr_t entry_sp;

static void align_co(void *arg)
{
    (void)arg;
#if MUX_TEST_HAVE_REGS
    /* The sp at this call has the same alignment as at this function's entry (minus the
     * return address): the compiler keeps frames a multiple of 16. */
    entry_sp = regs_sp_at_call();
#else
    entry_sp = (uintptr_t)__builtin_frame_address(0);
#endif
#if defined(__x86_64__)
    /* An aligned SSE store to a stack slot faults (movaps) if the frame is misaligned: only
     * tried once the check above passed, so a failure is reported rather than a crash. */
    if (entry_sp % 16 == 0) {
        volatile __m128 v = _mm_set1_ps(1.0f);
        v = _mm_add_ps(v, v);
        (void)v;
    }
#endif
}

static void t_stack_alignment(void)
{
#if TEST_ASAN
    /* Sanitized frames and ASan's own calls at a switch do not fit a 4 KiB stack. */
    static const size_t sizes[] = {16384, 16385, 64 * 1024, 1024 * 1024 + 100};
#else
    static const size_t sizes[] = {4096, 5000, 64 * 1024, 1024 * 1024 + 100};
#endif
    static const size_t users[] = {0, 8, 24, 40, 100};
    for (int sk = 0; sk < CORO_STACK_KINDS; sk++) {
        if (sk == CORO_STACK_COPY)
            continue; /* copy_stack_frames_survive checks its alignment */
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (size_t u = 0; u < sizeof users / sizeof users[0]; u++) {
                struct coro_pool *pool = NULL;
                if (sk == CORO_STACK_POOL)
                    CHECK_EQ(coro_pool_create(&pool, sizes[i], 2), 0);
                struct coro_attr a = attr_of((enum coro_stack_kind)sk, sizes[i], pool);
                a.user_bytes = users[u];
                struct coro *c;
                int rc = coro_create(&c, &a, align_co, NULL);
                size_t rounded = 0;
                coro_stack_round(sizes[i], &rounded);
                if (rc == -EINVAL && kind == CORO_SWITCH_UCONTEXT &&
                    sizeof(ucontext_t) + users[u] + 512 > rounded) {
                    /* aarch64's ucontext_t is 4.5 KiB: it cannot sit in a 4 KiB stack */
                    CHECK_EQ(rc, -EINVAL);
                    CHECK_EQ(coro_pool_destroy(pool), 0);
                    continue;
                }
                CHECK_EQ(rc, 0);
                entry_sp = 1;
                CHECK_EQ(coro_resume(c), 1);
                if (entry_sp % 16 != 0)
                    fprintf(stderr, "stack %zu (%s), user %zu: sp %#lx at entry\n", sizes[i],
                            coro_stack_kind_name((enum coro_stack_kind)sk), users[u],
                            (unsigned long)entry_sp);
                CHECK_EQ(entry_sp % 16, 0);
                if (users[u])
                    CHECK_EQ((uintptr_t)coro_user_area(c) % 16, 0);
                CHECK_EQ(coro_destroy(c), 0);
                CHECK_EQ(coro_pool_destroy(pool), 0);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* floating-point control state (MXCSR + x87 CW on x86_64, FPCR on aarch64) per coroutine */

#if defined(__x86_64__)
static unsigned get_mxcsr(void) { return _mm_getcsr(); }
static void set_mxcsr(unsigned v) { _mm_setcsr(v); }
static unsigned get_x87cw(void)
{
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}
static void set_x87cw(unsigned v)
{
    unsigned short cw = (unsigned short)v;
    __asm__ volatile("fldcw %0" : : "m"(cw));
}
#define MXCSR_CONTROL 0xffc0u /* everything but the six sticky status flags */
#define MXCSR_FTZ 0x8000u
#define X87_PC_MASK 0x0300u
#define X87_PC_53 0x0200u
#elif defined(__aarch64__)
static unsigned long get_fpcr(void)
{
    unsigned long v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    return v;
}
static void set_fpcr(unsigned long v) { __asm__ volatile("msr fpcr, %0" : : "r"(v)); }
#define FPCR_FZ (1ul << 24)
#endif

struct fpstate {
    int round;
    unsigned long ctl; /* MXCSR control bits, or FPCR */
    unsigned long x87; /* x87 CW (x86_64) */
};

static void fp_read(struct fpstate *s)
{
    memset(s, 0, sizeof *s);
    s->round = fegetround();
#if defined(__x86_64__)
    s->ctl = get_mxcsr() & MXCSR_CONTROL;
    s->x87 = get_x87cw();
#elif defined(__aarch64__)
    s->ctl = get_fpcr();
#endif
}

static double third(void)
{
    volatile double one = 1.0, three = 3.0;
    return one / three;
}

struct fp_co {
    int mode;  /* FE_UPWARD, ... */
    int extra; /* also set FTZ (x86: + x87 precision 53-bit) */
    struct fpstate want;
    double value;
    int fails;
    int inherited_round; /* fegetround() at entry, before setting anything */
};

static void fp_co_fn(void *arg)
{
    struct fp_co *f = arg;
    f->inherited_round = fegetround();
    fesetround(f->mode);
    if (f->extra) {
#if defined(__x86_64__)
        set_mxcsr(get_mxcsr() | MXCSR_FTZ);
        set_x87cw((get_x87cw() & ~X87_PC_MASK) | X87_PC_53);
#elif defined(__aarch64__)
        set_fpcr(get_fpcr() | FPCR_FZ);
#endif
    }
    fp_read(&f->want);
    f->value = third();
    for (int i = 0; i < 20; i++) {
        coro_yield();
        struct fpstate now;
        fp_read(&now);
        if (memcmp(&now, &f->want, sizeof now) != 0 || third() != f->value) {
            fprintf(stderr, "coroutine (mode %#x) round %d: round %#x ctl %#lx x87 %#lx, "
                    "expected round %#x ctl %#lx x87 %#lx\n", (unsigned)f->mode, i,
                    (unsigned)now.round, now.ctl, now.x87, (unsigned)f->want.round,
                    f->want.ctl, f->want.x87);
            f->fails++;
        }
    }
}

static void t_fp_control_state(void)
{
    fesetround(FE_TONEAREST);
    struct fpstate main_want;
    fp_read(&main_want);
    double main_value = third();

    struct fp_co up = {.mode = FE_UPWARD, .extra = 1};
    struct fp_co down = {.mode = FE_DOWNWARD};
    struct coro *a, *b, *z;
    struct coro_attr at = attr_of(CORO_STACK_GUARD, 64 * KiB, NULL);
    CHECK_EQ(coro_create(&a, &at, fp_co_fn, &up), 0);
    CHECK_EQ(coro_create(&b, &at, fp_co_fn, &down), 0);
    int fails = 0;
    for (int i = 0; i <= 20; i++) {
        CHECK(coro_resume(a) >= 0);
        struct fpstate now;
        fp_read(&now);
        fails += memcmp(&now, &main_want, sizeof now) != 0 || third() != main_value;
        CHECK(coro_resume(b) >= 0);
        fp_read(&now);
        fails += memcmp(&now, &main_want, sizeof now) != 0 || third() != main_value;
    }
    CHECK(coro_is_finished(a) && coro_is_finished(b));
    CHECK_EQ(fails, 0);
    CHECK_EQ(up.fails + down.fails, 0);
    CHECK(up.value > down.value); /* the modes really were different */
    CHECK_EQ(up.inherited_round, FE_TONEAREST);

    /* A new coroutine starts with its creator's control state. */
    struct fp_co tz = {.mode = FE_TOWARDZERO};
    fesetround(FE_DOWNWARD);
    CHECK_EQ(coro_create(&z, &at, fp_co_fn, &tz), 0);
    fesetround(FE_TONEAREST);
    while (coro_resume(z) == 0)
        ;
    CHECK_EQ(tz.inherited_round, FE_DOWNWARD);
    CHECK_EQ(tz.fails, 0);
    CHECK_EQ(fegetround(), FE_TONEAREST);
    coro_destroy(a);
    coro_destroy(b);
    coro_destroy(z);
}

/* ---------------------------------------------------------------------------------------- */
/* many coroutines */

static long many_counter;

static void many_co(void *arg)
{
    (void)arg;
    many_counter++;
    coro_yield();
    many_counter++;
}

static void t_many_pool(void)
{
    const size_t n = 100000, per_chunk = 4096;
    struct coro **cs = calloc(n, sizeof *cs);
    CHECK(cs);
    struct coro_pool *pool;
    CHECK_EQ(coro_pool_create(&pool, 16 * KiB, per_chunk), 0);
    struct coro_attr a = attr_of(CORO_STACK_POOL, 0, pool);
    many_counter = 0;
    int64_t t0 = t_now_ns();
    for (size_t i = 0; i < n; i++) {
        int rc = coro_create(&cs[i], &a, many_co, NULL);
        if (rc != 0) {
            fprintf(stderr, "create #%zu: %s (limit: %s)\n", i, strerror(-rc),
                    coro_limit_name(coro_last_limit()));
            CHECK_EQ(rc, 0);
        }
    }
    int64_t t1 = t_now_ns();
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(coro_resume(cs[i]), 0); /* all alive at once, each parked in its yield */
    struct coro_pool_stats st;
    coro_pool_get_stats(pool, &st);
    CHECK_EQ(st.in_use, n);
    CHECK_EQ(st.chunks, (n + per_chunk - 1) / per_chunk);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(coro_resume(cs[i]), 1);
    CHECK_EQ(many_counter, 2 * (long)n);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(coro_destroy(cs[i]), 0);
    coro_pool_get_stats(pool, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.free_listed, n);
    printf("%zu pool coroutines (%s, 16 KiB): %.0f ns per create, %zu chunks of %zu\n", n,
           coro_switch_name(kind), (double)(t1 - t0) / (double)n, st.chunks, per_chunk);
    CHECK_EQ(coro_pool_destroy(pool), 0);
    free(cs);
}

static void t_many_guard(void)
{
    const size_t n = 3000;
    struct coro **cs = calloc(n, sizeof *cs);
    CHECK(cs);
    struct coro_attr a = attr_of(CORO_STACK_GUARD, 16 * KiB, NULL);
    many_counter = 0;
    int maps0 = t_count_maps();
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(coro_create(&cs[i], &a, many_co, NULL), 0);
        CHECK_EQ(coro_stack_map_entries(cs[i]), 2);
    }
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(coro_resume(cs[i]), 0);
    int grown = t_count_maps() - maps0;
    printf("%zu guarded coroutines: +%d map entries\n", n, grown);
    int resumed = 0, destroyed = 0;
    for (size_t i = 0; i < n; i++) {
        resumed += coro_resume(cs[i]) == 1;
        destroyed += coro_destroy(cs[i]) == 0;
    }
    free(cs);
    CHECK_EQ(resumed, (int)n);
    CHECK_EQ(destroyed, (int)n);
    CHECK_EQ(many_counter, 2 * (long)n);
    /* Two entries per stack, each stack's own counted exactly above (coro_stack_map_entries).
     * The process-wide count also moves with the allocator (a new arena, or under
     * AddressSanitizer its regions mapped and released while the coroutine structs are
     * allocated, and a new mapping that merges with an old neighbour): a slack both ways, far
     * below the one entry per coroutine that a hidden extra mapping would add. */
    if (grown < 2 * (int)n - 16 || grown > 2 * (int)n + 64)
        fprintf(stderr, "%zu guarded coroutines grew the map by %d entries, not ~%zu\n", n,
                grown, 2 * n);
    CHECK(grown >= 2 * (int)n - 16 && grown <= 2 * (int)n + 64);
}

/* ---------------------------------------------------------------------------------------- */
/* a coroutine that finishes; its stack is freed */

static void finish_co(void *arg)
{
    int *steps = arg;
    (*steps)++;
    coro_yield();
    (*steps)++;
    coro_yield();
    (*steps)++;
}

static void t_finish_frees_stack(void)
{
    /* Guarded: the two map entries go away, the range is unmapped. One round first, so that
     * whatever a sanitizer maps lazily on the first switch is not counted. */
    struct coro_attr a = attr_of(CORO_STACK_GUARD, 32 * KiB, NULL);
    struct coro *c;
    int steps = 0;
    CHECK_EQ(coro_create(&c, &a, finish_co, &steps), 0);
    while (coro_resume(c) == 0)
        ;
    CHECK_EQ(coro_destroy(c), 0);
    steps = 0;
    int maps0 = t_count_maps();
    CHECK_EQ(coro_create(&c, &a, finish_co, &steps), 0);
    CHECK_EQ(t_count_maps(), maps0 + 2);
    struct coro_stack_info info;
    coro_stack_info(c, &info);
    CHECK_EQ(info.kind, CORO_STACK_GUARD);
    CHECK_EQ(info.stack_size, 32 * KiB);
    CHECK_EQ(info.guard_bytes, coro_page_size());
    CHECK_EQ(info.map_entries, 2);
    CHECK(info.usable + info.control_bytes == info.stack_size);
    CHECK_EQ(coro_resume(c), 0);
    CHECK_EQ(coro_resume(c), 0);
    CHECK(!coro_is_finished(c));
    CHECK_EQ(coro_resume(c), 1); /* the function returned: back to its resumer */
    CHECK_EQ(steps, 3);
    CHECK(coro_is_finished(c));
    CHECK_EQ(coro_resume(c), -EINVAL);
    CHECK_EQ(coro_destroy(c), 0);
    CHECK_EQ(t_count_maps(), maps0);
    unsigned char v;
    CHECK(mincore(info.lo, coro_page_size(), &v) < 0 && errno == ENOMEM); /* unmapped */

    /* Pooled: the stack returns to the free list and is handed out again. */
    struct coro_pool *pool;
    CHECK_EQ(coro_pool_create(&pool, 32 * KiB, 8), 0);
    a = attr_of(CORO_STACK_POOL, 32 * KiB, pool);
    steps = 0;
    CHECK_EQ(coro_create(&c, &a, finish_co, &steps), 0);
    coro_stack_info(c, &info);
    CHECK_EQ(info.kind, CORO_STACK_POOL);
    CHECK_EQ(info.map_entries, 0);
    CHECK_EQ(info.guard_bytes, 0);
    void *lo = info.lo;
    while (coro_resume(c) == 0)
        ;
    CHECK_EQ(steps, 3);
    CHECK_EQ(coro_pool_destroy(pool), -EBUSY); /* c still holds its stack */
    CHECK_EQ(coro_destroy(c), 0);
    struct coro_pool_stats st;
    coro_pool_get_stats(pool, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.free_listed, 1);
    CHECK_EQ(st.never_used, 7);
    CHECK_EQ(coro_create(&c, &a, finish_co, &steps), 0);
    coro_stack_info(c, &info);
    CHECK(info.lo == lo); /* LIFO reuse */
    /* Destroying a coroutine that never ran, and one suspended mid-way, is fine too. */
    struct coro *d;
    CHECK_EQ(coro_create(&d, &a, finish_co, &steps), 0);
    CHECK_EQ(coro_resume(d), 0);
    CHECK_EQ(coro_destroy(d), 0);
    CHECK_EQ(coro_destroy(c), 0);
    CHECK_EQ(coro_pool_destroy(pool), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* the guard page catches an overflow */

static void overflow_co(void *arg)
{
    coro_stack_touch(*(size_t *)arg); /* deeper than the stack */
}

static void t_guard_catches_overflow(void)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL); /* also over a sanitizer's handler */
        signal(SIGBUS, SIG_DFL);
        struct coro_attr a = attr_of(CORO_STACK_GUARD, 32 * KiB, NULL);
        struct coro *c;
        size_t depth = 256 * KiB;
        if (coro_create(&c, &a, overflow_co, &depth) != 0)
            _exit(3);
        coro_resume(c);
        _exit(4); /* not reached if the guard page did its job */
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        fprintf(stderr, "child exited with %d instead of dying of SIGSEGV\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGSEGV);
}

/* ---------------------------------------------------------------------------------------- */
/* stack size validation and bad attributes */

static void nop_co(void *arg) { (void)arg; }

static void t_stack_size_validation(void)
{
    size_t page = coro_page_size(), r = 0;
    CHECK_EQ(coro_stack_round(0, &r), -EINVAL);
    CHECK_EQ(coro_stack_round(CORO_STACK_MIN - 1, &r), -EINVAL);
    CHECK_EQ(coro_stack_round(CORO_STACK_MIN, &r), 0);
    CHECK_EQ(r, (CORO_STACK_MIN + page - 1) / page * page);
    CHECK_EQ(coro_stack_round(page + 1, &r), 0);
    CHECK_EQ(r, 2 * page);
    CHECK_EQ(coro_stack_round(CORO_STACK_MAX, &r), 0);
    CHECK_EQ(r, CORO_STACK_MAX);
    CHECK_EQ(coro_stack_round(CORO_STACK_MAX + 1, &r), -EINVAL);
    CHECK_EQ(coro_stack_round(SIZE_MAX, &r), -EINVAL);

    int maps0 = t_count_maps();
    struct coro_attr a;
    coro_attr_init(&a);
    struct coro *c = (struct coro *)&a;
    a.stack_size = 0;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    CHECK(c == NULL);
    a.stack_size = 100;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.stack_size = CORO_STACK_MAX + 1;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.stack_size = SIZE_MAX;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.stack_size = 64 * KiB;
    CHECK_EQ(coro_create(&c, &a, NULL, NULL), -EINVAL);
    CHECK_EQ(coro_create(NULL, &a, nop_co, NULL), -EINVAL);
    CHECK_EQ(coro_create(&c, NULL, nop_co, NULL), -EINVAL);
    a.user_bytes = 64 * KiB; /* leaves no room for frames */
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.user_bytes = 0;
    a.switch_kind = (enum coro_switch_kind)7;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    coro_attr_init(&a);
    a.stack_kind = (enum coro_stack_kind)9;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.stack_kind = CORO_STACK_POOL; /* without a pool */
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    CHECK_EQ(t_count_maps(), maps0); /* nothing was mapped by a refusal */

    struct coro_pool *pool = (struct coro_pool *)&a;
    CHECK_EQ(coro_pool_create(&pool, 0, 1), -EINVAL);
    CHECK(pool == NULL);
    CHECK_EQ(coro_pool_create(&pool, CORO_STACK_MAX + 1, 1), -EINVAL);
    CHECK_EQ(coro_pool_create(&pool, CORO_STACK_MAX, SIZE_MAX / 2), -EINVAL); /* overflow */
    CHECK_EQ(coro_pool_create(&pool, 5000, 4), 0);
    a.pool = pool;
    a.stack_size = 64 * KiB; /* not the pool's size */
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), -EINVAL);
    a.stack_size = 5000; /* rounds to the pool's size: fine */
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), 0);
    struct coro_stack_info info;
    coro_stack_info(c, &info);
    CHECK_EQ(info.stack_size, 2 * page);
    CHECK_EQ(coro_resume(c), 1);
    CHECK_EQ(coro_destroy(c), 0);
    CHECK_EQ(coro_pool_destroy(pool), 0);

    /* A page-rounded odd size actually maps that much. */
    coro_attr_init(&a);
    a.switch_kind = kind;
    a.stack_size = 3 * page + 1;
    CHECK_EQ(coro_create(&c, &a, nop_co, NULL), 0);
    coro_stack_info(c, &info);
    CHECK_EQ(info.stack_size, 4 * page);
    CHECK_EQ(coro_destroy(c), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* vm.max_map_count: guarded stacks run out cleanly */

static void t_map_count_limit(void)
{
    if (getenv("MUX_TEST_EMULATED")) {
        /* qemu-user maps its own memory in the same process: at the limit the emulator dies. */
        printf("SKIP: under an emulator (qemu-user cannot survive vm.max_map_count)\n");
        exit(T_SKIP);
    }
    long max = -1;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1)
            max = -1;
        fclose(f);
    }
    if (max <= 0 || max > 1000000) {
        printf("SKIP: vm.max_map_count is %ld: too large to exhaust in a test\n", max);
        exit(T_SKIP);
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        size_t cap = (size_t)max; /* two entries per stack: we fail long before the cap */
        struct coro **cs = calloc(cap, sizeof *cs);
        if (!cs)
            _exit(10);
        struct coro_attr a = attr_of(CORO_STACK_GUARD, CORO_STACK_MIN, NULL);
        size_t n = 0;
        int rc = 0;
        while (n < cap && (rc = coro_create(&cs[n], &a, nop_co, NULL)) == 0)
            n++;
        enum coro_limit why = coro_last_limit();
        /* Give some back before anything else needs a mapping. */
        for (size_t i = 0; i < 16 && n > 0; i++)
            coro_destroy(cs[--n]);
        fprintf(stderr, "guarded stacks until failure: %zu (+16 given back), rc %d (%s), "
                "limit %s, vm.max_map_count %ld\n", n + 16, rc, strerror(-rc),
                coro_limit_name(why), max);
        if (rc != -ENOMEM)
            _exit(11);
        if (why != CORO_LIMIT_MAP_COUNT)
            _exit(12);
        if ((long)(n + 16) < max / 2 - 2000)
            _exit(13); /* a guarded stack costs two entries, not more */
        /* After giving some back, creating works again, and so does running one. */
        struct coro *c;
        if (coro_create(&c, &a, nop_co, NULL) != 0 || coro_resume(c) != 1 || coro_destroy(c))
            _exit(14);
        for (size_t i = 0; i < n; i++)
            coro_destroy(cs[i]);
        free(cs);
        _exit(0);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "child died of signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* touched depth: coro_stack_touch makes exactly that much stack resident */

struct touch_arg {
    size_t bytes;
};

static void touch_co(void *arg)
{
    struct touch_arg *t = arg;
    coro_stack_touch(t->bytes);
}

static void t_stack_touch(void)
{
    size_t page = coro_page_size();
    for (int sk = 0; sk < CORO_STACK_KINDS; sk++) {
        struct coro_pool *pool = NULL;
        if (sk == CORO_STACK_COPY)
            continue; /* no stack of its own to touch; copy_stack_frames_survive */
        if (sk == CORO_STACK_POOL)
            CHECK_EQ(coro_pool_create(&pool, 512 * KiB, 1), 0);
        struct coro_attr a = attr_of((enum coro_stack_kind)sk, 512 * KiB, pool);
        struct touch_arg arg = {.bytes = 128 * KiB};
        struct coro *c;
        CHECK_EQ(coro_create(&c, &a, touch_co, &arg), 0);
        struct coro_stack_info info;
        coro_stack_info(c, &info);
        long before = resident_pages(info.lo, info.stack_size);
        CHECK(before >= 1 && before <= 2); /* the control block's page */
        CHECK_EQ(coro_resume(c), 1);
        long after = resident_pages(info.lo, info.stack_size);
        long want = (long)(arg.bytes / page);
        printf("%s stack, touch %zu KiB: %ld pages resident before, %ld after\n",
               coro_stack_kind_name((enum coro_stack_kind)sk), arg.bytes / KiB, before, after);
        CHECK(after >= want);
        CHECK(after <= want * 3 / 2 + 8); /* frames of a sanitized build are larger */
        CHECK_EQ(coro_destroy(c), 0);
        CHECK_EQ(coro_pool_destroy(pool), 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* nested resumes, coro_self, refusing to resume a running coroutine; kinds mixed */

struct nest {
    struct coro *a, *b;
    int fails;
    int b_steps;
};

static void nest_b(void *arg)
{
    struct nest *n = arg;
    n->fails += coro_self() != n->b;
    n->b_steps++;
    coro_yield(); /* back to a, its first resumer */
    n->fails += coro_self() != n->b;
    n->b_steps++;
}

static void nest_a(void *arg)
{
    struct nest *n = arg;
    n->fails += coro_self() != n->a;
    n->fails += coro_resume(n->b) != 0;
    n->fails += coro_self() != n->a;
    n->fails += coro_resume(n->a) != -EBUSY; /* itself */
    coro_yield();
    n->fails += coro_self() != n->a;
}

static void t_nested_resume(void)
{
    struct nest n = {0};
    struct coro_attr a = attr_of(CORO_STACK_GUARD, 64 * KiB, NULL);
    struct coro_attr b = a;
    /* b uses the other switch kind when both exist: mixing kinds must work */
    enum coro_switch_kind other =
        kind == CORO_SWITCH_ASM ? CORO_SWITCH_UCONTEXT : CORO_SWITCH_ASM;
    if (coro_switch_probe(other, NULL, 0) == 0)
        b.switch_kind = other;
    CHECK_EQ(coro_create(&n.a, &a, nest_a, &n), 0);
    CHECK_EQ(coro_create(&n.b, &b, nest_b, &n), 0);
    CHECK(coro_self() == NULL);
    CHECK_EQ(coro_resume(n.a), 0);
    CHECK(coro_self() == NULL);
    CHECK_EQ(n.b_steps, 1);
    CHECK_EQ(coro_resume(n.b), 1); /* resumed from here now */
    CHECK_EQ(n.b_steps, 2);
    CHECK_EQ(coro_resume(n.a), 1);
    CHECK_EQ(n.fails, 0);
    CHECK_EQ(coro_switch_kind_of(n.a), kind);
    CHECK_EQ(coro_destroy(n.a), 0);
    CHECK_EQ(coro_destroy(n.b), 0);
    coro_yield(); /* outside any coroutine: nothing happens */
}

/* ---------------------------------------------------------------------------------------- */
/* names, probes, defaults */

static void t_names_and_probe(void)
{
    char why[200];
    CHECK(strcmp(coro_switch_name(CORO_SWITCH_ASM), "coro-asm") == 0);
    CHECK(strcmp(coro_switch_name(CORO_SWITCH_UCONTEXT), "coro-ucontext") == 0);
    CHECK(strcmp(coro_stack_kind_name(CORO_STACK_GUARD), "guard") == 0);
    CHECK(strcmp(coro_stack_kind_name(CORO_STACK_POOL), "pool") == 0);
    CHECK(strcmp(coro_limit_name(CORO_LIMIT_MAP_COUNT), "max_map_count") == 0);
    enum coro_switch_kind k;
    CHECK_EQ(coro_switch_from_name("coro-ucontext", &k), 0);
    CHECK_EQ(k, CORO_SWITCH_UCONTEXT);
    CHECK_EQ(coro_switch_from_name("coro-fast", &k), -EINVAL);
    CHECK_EQ(coro_switch_probe(CORO_SWITCH_UCONTEXT, why, sizeof why), 0);
    int rc = coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why);
#if MUX_CORO_HAVE_ASM
    CHECK_EQ(rc, 0);
#else
    CHECK_EQ(rc, -ENOSYS);
    CHECK(why[0] != '\0');
    printf("coro-asm unavailable: %s\n", why);
#endif
    size_t sigmin = coro_signal_stack_min();
    printf("a signal frame needs %zu bytes of stack here (AT_MINSIGSTKSZ)\n", sigmin);
    CHECK(sigmin >= 1024 && sigmin < CORO_STACK_DEFAULT);
    struct coro_attr a;
    coro_attr_init(&a);
    CHECK_EQ(a.stack_size, CORO_STACK_DEFAULT);
    CHECK_EQ(a.stack_kind, CORO_STACK_GUARD);
    CHECK_EQ(a.switch_kind, rc == 0 ? CORO_SWITCH_ASM : CORO_SWITCH_UCONTEXT);
}

/* ---------------------------------------------------------------------------------------- */

enum { ANY = 0, BOTH = 1 };
struct test_case {
    const char *name;
    void (*fn)(void);
    int kinds;
};

/* ---------------------------------------------------------------------------------------- */
/* copy stacks */

struct copy_arg {
    int id, rounds, seen;
    size_t depth;
    uintptr_t entry_sp;
    int fails;
};

/* Keeps a pattern in a local across yields at a chosen depth: the frames are moved off the run
 * stack while the others run on it, and must come back intact. */
__attribute__((noinline)) static void copy_deep(struct copy_arg *a, size_t left)
{
    volatile unsigned char buf[1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(a->id * 31 + i + left);
    if (left > sizeof buf) {
        copy_deep(a, left - sizeof buf);
    } else {
        for (int r = 0; r < a->rounds; r++) {
            coro_yield();
            a->seen++;
        }
    }
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != (unsigned char)(a->id * 31 + i + left))
            a->fails++;
}

static void copy_co(void *arg)
{
    struct copy_arg *a = arg;
    a->entry_sp = (uintptr_t)__builtin_frame_address(0);
    copy_deep(a, a->depth);
}

static struct coro_attr copy_attr(struct coro_copy_stack *cs)
{
    struct coro_attr a;
    coro_attr_init(&a);
    a.stack_kind = CORO_STACK_COPY;
    a.switch_kind = CORO_SWITCH_ASM;
    a.stack_size = 0;
    a.copy_stack = cs;
    return a;
}

static void need_asm(void)
{
    char why[200];
    if (coro_switch_probe(CORO_SWITCH_ASM, why, sizeof why) != 0) {
        printf("SKIP: copy stacks need the assembly switch: %s\n", why);
        exit(T_SKIP);
    }
}

/* Three coroutines on one run stack, interleaved, each suspended 8-24 KiB deep: every local
 * survives, the saved size follows the depth, and each finishes. */
static void t_copy_stack_frames_survive(void)
{
    need_asm();
    struct coro_copy_stack *cs;
    CHECK_EQ(coro_copy_stack_create(&cs, 128 * KiB), 0);
    struct coro_attr a = copy_attr(cs);
    struct copy_arg args[3];
    struct coro *co[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct copy_arg){.id = i + 1, .rounds = 4, .depth = (size_t)(i + 1) * 8 * KiB};
        CHECK_EQ(coro_create(&co[i], &a, copy_co, &args[i]), 0);
    }
    for (int r = 0; r < 4; r++) {
        for (int i = 0; i < 3; i++) {
            CHECK_EQ(coro_resume(co[i]), 0);
            struct coro_stack_info info;
            coro_stack_info(co[i], &info);
            CHECK_EQ(info.kind, CORO_STACK_COPY);
            CHECK_EQ(info.map_entries, 0);
            CHECK(info.saved_bytes >= args[i].depth);
            /* 1 KiB frames plus their overhead; AddressSanitizer's redzones make them larger. */
            CHECK(info.saved_bytes <= (TEST_ASAN ? 2 : 1) * args[i].depth + 8 * KiB);
        }
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(coro_resume(co[i]), 1);
        CHECK_EQ(args[i].seen, 4);
        CHECK_EQ(args[i].fails, 0);
        CHECK_EQ(args[i].entry_sp % 16, 0);
    }
    CHECK_EQ(coro_copy_stack_destroy(cs), -EBUSY); /* coroutines made on it still exist */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(coro_destroy(co[i]), 0);
    CHECK_EQ(coro_copy_stack_destroy(cs), 0);
}

struct copy_nest {
    struct coro *other;
    int rc;
};

static void copy_nest_co(void *arg)
{
    struct copy_nest *n = arg;
    n->rc = coro_resume(n->other);
}

static void copy_idle_co(void *arg) { (void)arg; }

/* A copy coroutine resuming another of its run stack would overwrite its own frames: -EBUSY.
 * One on another run stack, or a guarded one, is fine. */
static void t_copy_stack_refuses_sibling(void)
{
    need_asm();
    struct coro_copy_stack *cs, *cs2;
    CHECK_EQ(coro_copy_stack_create(&cs, 32 * KiB), 0);
    CHECK_EQ(coro_copy_stack_create(&cs2, 32 * KiB), 0);
    struct coro_attr a = copy_attr(cs), a2 = copy_attr(cs2);
    struct copy_nest n = {0};
    struct coro *outer, *sibling, *elsewhere;
    CHECK_EQ(coro_create(&outer, &a, copy_nest_co, &n), 0);
    CHECK_EQ(coro_create(&sibling, &a, copy_idle_co, NULL), 0);
    CHECK_EQ(coro_create(&elsewhere, &a2, copy_idle_co, NULL), 0);
    n.other = sibling;
    CHECK_EQ(coro_resume(outer), 1);
    CHECK_EQ(n.rc, -EBUSY);
    CHECK_EQ(coro_destroy(outer), 0);
    CHECK_EQ(coro_create(&outer, &a, copy_nest_co, &n), 0);
    n.other = elsewhere;
    CHECK_EQ(coro_resume(outer), 1);
    CHECK_EQ(n.rc, 1);
    CHECK_EQ(coro_destroy(outer), 0);
    CHECK_EQ(coro_destroy(sibling), 0);
    CHECK_EQ(coro_destroy(elsewhere), 0);
    CHECK_EQ(coro_copy_stack_destroy(cs), 0);
    CHECK_EQ(coro_copy_stack_destroy(cs2), 0);
}

/* Bad attributes: no run stack, the ucontext switch (it saves no sp to copy from), a size
 * that is not the run stack's, a run stack of a bad size. */
static void t_copy_stack_validation(void)
{
    need_asm();
    struct coro_copy_stack *cs;
    CHECK_EQ(coro_copy_stack_create(&cs, 100), -EINVAL);
    CHECK(cs == NULL);
    CHECK_EQ(coro_copy_stack_create(&cs, 16 * KiB), 0);
    struct coro *c;
    struct coro_attr a = copy_attr(NULL);
    CHECK_EQ(coro_create(&c, &a, copy_idle_co, NULL), -EINVAL);
    a = copy_attr(cs);
    a.switch_kind = CORO_SWITCH_UCONTEXT;
    CHECK_EQ(coro_create(&c, &a, copy_idle_co, NULL), -EINVAL);
    a = copy_attr(cs);
    a.stack_size = 32 * KiB;
    CHECK_EQ(coro_create(&c, &a, copy_idle_co, NULL), -EINVAL);
    a.stack_size = 16 * KiB;
    CHECK_EQ(coro_create(&c, &a, copy_idle_co, NULL), 0);
    CHECK_EQ(coro_destroy(c), 0);
    CHECK_EQ(coro_copy_stack_destroy(cs), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* stackless coroutines */

struct counter_frame {
    struct stackless base;
    int n, limit;
};

static int counter_step(struct stackless *s)
{
    struct counter_frame *f = (struct counter_frame *)s;
    STACKLESS_BEGIN(s);
    for (f->n = 0; f->n < f->limit; f->n++)
        STACKLESS_YIELD(s);
    STACKLESS_END(s);
}

/* A frame's fields carry the state across suspensions; it ends after `limit` yields and then
 * refuses to run. */
static void t_stackless_resume(void)
{
    struct counter_frame f = {.limit = 3};
    stackless_init(&f.base, counter_step);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(stackless_resume(&f.base), STACKLESS_YIELDED);
        CHECK_EQ(f.n, i);
    }
    CHECK_EQ(stackless_resume(&f.base), STACKLESS_FINISHED);
    CHECK_EQ(f.n, 3);
    CHECK_EQ(stackless_resume(&f.base), -1);
}

/* ---------------------------------------------------------------------------------------- */
/* unwinding through the switch */

struct unwind_walk {
    int frames;
};

static _Unwind_Reason_Code unwind_count(struct _Unwind_Context *ctx, void *arg)
{
    (void)ctx;
    ((struct unwind_walk *)arg)->frames++;
    return _URC_NO_REASON;
}

static int unwind_end;
static int unwind_frames;

__attribute__((noinline)) static void unwind_inner(void)
{
    struct unwind_walk w = {0};
    unwind_end = _Unwind_Backtrace(unwind_count, &w);
    unwind_frames = w.frames;
    __asm__ volatile("" ::: "memory");
}

static void unwind_co(void *arg)
{
    (void)arg;
    unwind_inner();
}

/* From inside a coroutine the unwinder reaches the coroutine's first frame and stops there
 * cleanly (end of stack), instead of running off into the stack's garbage. */
static void t_backtrace_inside_coroutine(void)
{
    struct coro_attr a = attr_of(CORO_STACK_GUARD, 64 * KiB, NULL);
    struct coro *c;
    CHECK_EQ(coro_create(&c, &a, unwind_co, NULL), 0);
    unwind_end = -1;
    CHECK_EQ(coro_resume(c), 1);
    if (unwind_end != _URC_END_OF_STACK)
        fprintf(stderr, "_Unwind_Backtrace ended with %d after %d frames\n", unwind_end,
                unwind_frames);
    CHECK_EQ(unwind_end, _URC_END_OF_STACK);
    CHECK(unwind_frames >= 3 && unwind_frames <= 12);
    CHECK_EQ(coro_destroy(c), 0);
}

/* What gdb runs (test_coro asm --unwind-target): a coroutine resumed twice, suspended in a
 * named function between. */
__attribute__((noinline)) static void gdb_parked_here(void)
{
    coro_yield();
    __asm__ volatile("" ::: "memory");
}

static void gdb_co(void *arg)
{
    (void)arg;
    gdb_parked_here();
}

__attribute__((noinline)) static int unwind_target(void)
{
    struct coro_attr a = attr_of(CORO_STACK_GUARD, 64 * KiB, NULL);
    struct coro *c;
    if (coro_create(&c, &a, gdb_co, NULL) != 0)
        return 1;
    int rc = coro_resume(c) == 0 && coro_resume(c) == 1 ? 0 : 1;
    coro_destroy(c);
    return rc;
}

static char self_path[4096];

/* gdb, stopped at the third coro_switch (the second resume) at each instruction of the
 * switch: before the stack changes, `bt` reaches main and frame 1's saved registers are
 * known; after it, `bt` shows the coroutine's frames down to gdb_parked_here and gdb_co. */
static void t_unwind_through_switch(void)
{
    need_asm();
    if (system("gdb --version >/dev/null 2>&1") != 0) {
        printf("SKIP: gdb is not installed\n");
        exit(T_SKIP);
    }
#if defined(__x86_64__)
    const int after_load = 11, in_pops = 14;
#elif defined(__aarch64__)
    const int after_load = 18, in_pops = 25;
#else
    printf("SKIP: no instruction counts for this architecture\n");
    exit(T_SKIP);
#endif
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "gdb -batch -nx -ex 'set startup-with-shell off' -ex 'break *coro_switch' "
             "-ex run -ex continue -ex continue -ex 'stepi 7' -ex 'echo @@before\\n' -ex bt "
             "-ex 'frame 1' -ex 'info frame' -ex 'stepi %d' -ex 'echo @@after\\n' -ex bt "
             "-ex 'stepi %d' -ex 'echo @@pops\\n' -ex bt -ex kill "
             "--args '%s' asm --unwind-target 2>&1",
             after_load - 7, in_pops - after_load, self_path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p)
        return;
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    char *before = strstr(out, "@@before"), *after = before ? strstr(before, "@@after") : NULL;
    char *pops = after ? strstr(after, "@@pops") : NULL;
    if (!pops) {
        if (strstr(out, "ptrace")) {
            printf("SKIP: gdb cannot trace here: %.300s\n", out);
            exit(T_SKIP);
        }
        fprintf(stderr, "gdb said:\n%s\n", out);
        CHECK(pops != NULL);
        return;
    }
    *after = '\0';
    *pops = '\0';
    /* Frame 1's saved registers come from the switch's unwind rules. */
    int ok_before = strstr(before, "coro_resume") &&
                    strstr(before, "main") && strstr(before, "rbx at 0x") != NULL;
#if defined(__aarch64__)
    ok_before = strstr(before, "coro_resume") && strstr(before, "main") &&
                strstr(before, "x19 at 0x") != NULL;
#endif
    /* gdb_co tail-calls gdb_parked_here: the coroutine's frames end at coro_entry. */
    int ok_after = strstr(after + 1, "gdb_parked_here") && strstr(after + 1, "coro_entry") &&
                   !strstr(after + 1, "unwind_target");
    int ok_pops = strstr(pops + 1, "gdb_parked_here") && strstr(pops + 1, "coro_entry") &&
                  !strstr(pops + 1, "unwind_target");
    if (!ok_before || !ok_after || !ok_pops)
        fprintf(stderr, "before the switch:\n%s\nafter the load:\n%s\nin the pops:\n%s\n",
                before, after + 1, pops + 1);
    CHECK(ok_before);
    CHECK(ok_after);
    CHECK(ok_pops);
}

/* ---------------------------------------------------------------------------------------- */
/* a frame larger than the guard page */

#define CLASH_FRAME (48 * 1024)

/* A frame of 48 KiB whose lowest byte is written first: without stack-clash probing the write
 * lands 48 KiB below the frame, far past a 4 KiB guard page. */
__attribute__((noinline)) static void clash_big_frame(void)
{
    volatile char big[CLASH_FRAME];
    big[0] = 1;
    __asm__ volatile("" : : "r"(big) : "memory");
}

static void clash_co(void *arg)
{
    (void)arg;
    clash_big_frame();
}

static char *clash_guard_lo, *clash_guard_hi;

static void clash_on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char *at = si->si_addr;
    _exit(at >= clash_guard_lo && at < clash_guard_hi ? 0 : 3);
}

/* Coroutine code is built with -fstack-clash-protection: a 48 KiB frame on a 16 KiB guarded
 * stack faults on the guard page itself (the probes walk down page by page), whatever lies
 * below it. Without probing the first write lands 32 KiB past the guard: no fault, or a fault
 * elsewhere. */
static void t_stack_clash_hits_guard(void)
{
    size_t page = coro_page_size();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct coro_attr a = attr_of(CORO_STACK_GUARD, 16 * KiB, NULL);
        struct coro *c;
        if (coro_create(&c, &a, clash_co, NULL) != 0)
            _exit(4);
        struct coro_stack_info info;
        coro_stack_info(c, &info);
        clash_guard_hi = info.lo;
        clash_guard_lo = (char *)info.lo - page;
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
        struct sigaction sa = {.sa_sigaction = clash_on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
        if (sigaltstack(&ss, NULL) < 0 || sigaction(SIGSEGV, &sa, NULL) < 0)
            _exit(4);
        coro_resume(c);
        _exit(2); /* nothing faulted */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child: %s %d (2: no fault, 3: a fault outside the guard page)\n",
                WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* CMake reads the names from these lines: keep one entry per line, in this form. */
static const struct test_case tests[] = {
    {"callee_saved_regs", t_callee_saved_regs, BOTH},
    {"stack_alignment", t_stack_alignment, BOTH},
    {"fp_control_state", t_fp_control_state, BOTH},
    {"many_pool", t_many_pool, BOTH},
    {"many_guard", t_many_guard, BOTH},
    {"finish_frees_stack", t_finish_frees_stack, BOTH},
    {"guard_catches_overflow", t_guard_catches_overflow, BOTH},
    {"stack_touch", t_stack_touch, BOTH},
    {"nested_resume", t_nested_resume, BOTH},
    {"stack_size_validation", t_stack_size_validation, ANY},
    {"map_count_limit", t_map_count_limit, ANY},
    {"names_and_probe", t_names_and_probe, ANY},
    {"copy_stack_frames_survive", t_copy_stack_frames_survive, ANY},
    {"copy_stack_refuses_sibling", t_copy_stack_refuses_sibling, ANY},
    {"copy_stack_validation", t_copy_stack_validation, ANY},
    {"stackless_resume", t_stackless_resume, ANY},
    {"backtrace_inside_coroutine", t_backtrace_inside_coroutine, BOTH},
    {"unwind_through_switch", t_unwind_through_switch, ANY},
    {"stack_clash_hits_guard", t_stack_clash_hits_guard, ANY},
};

int main(int argc, char **argv)
{
    size_t ntests = sizeof tests / sizeof tests[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < ntests; i++)
            printf("%s %s\n", tests[i].name, tests[i].kinds == BOTH ? "asm,ucontext" : "any");
        return 0;
    }
    if (argc == 3 && strcmp(argv[2], "--unwind-target") == 0)
        return unwind_target();
    if (readlink("/proc/self/exe", self_path, sizeof self_path - 1) < 0)
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
    if (argc != 3) {
        fprintf(stderr, "usage: %s <asm|ucontext|any> <test> | --list\n", argv[0]);
        return 2;
    }
    t_print_kernel(argv[0]);
    const struct test_case *tc = NULL;
    for (size_t i = 0; i < ntests; i++)
        if (strcmp(tests[i].name, argv[2]) == 0)
            tc = &tests[i];
    if (!tc) {
        fprintf(stderr, "unknown test '%s'\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "any") == 0) {
        struct coro_attr d;
        coro_attr_init(&d);
        kind = d.switch_kind;
    } else if (strcmp(argv[1], "asm") == 0) {
        kind = CORO_SWITCH_ASM;
    } else if (strcmp(argv[1], "ucontext") == 0) {
        kind = CORO_SWITCH_UCONTEXT;
    } else {
        fprintf(stderr, "unknown switch kind '%s'\n", argv[1]);
        return 2;
    }
    char why[200];
    if (coro_switch_probe(kind, why, sizeof why) != 0) {
        printf("SKIP %s/%s: %s\n", coro_switch_name(kind), tc->name, why);
        return T_SKIP;
    }

    t_run_leaving_nothing(tc->fn);
    printf("%s %s/%s\n", t_failures ? "FAIL" : "PASS", coro_switch_name(kind), tc->name);
    return t_failures ? 1 : 0;
}
