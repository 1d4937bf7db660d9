/*
 * testutil.h - the little the C tests share: checks that say what they expected, resource
 * counts for leak checks, and liburing's exit-status convention (77 = skipped, never a pass).
 */
#ifndef MUX_TESTUTIL_H
#define MUX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T_SKIP 77

extern int t_failures;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            t_failures++;                                                                      \
            return;                                                                            \
        }                                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                                         \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_) {                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__,       \
                    __LINE__, #a, #b, a_, b_);                                                 \
            t_failures++;                                                                      \
            return;                                                                            \
        }                                                                                      \
    } while (0)

/* The number of open fds, of mappings, and of threads of this process. */
int t_count_fds(void);
int t_count_maps(void);
int t_count_threads(void);
/* Runs fn once to warm up, then again; a failure is counted when the second run left fds, map
 * entries or threads behind (what the warm-up allocated for good is not counted). */
void t_run_leaving_nothing(void (*fn)(void));
int64_t t_now_ns(void);
/* A nonblocking unix stream socketpair; aborts the test run on failure (no fds = no test). */
void t_socketpair(int sv[2]);
/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit. */
long t_raise_nofile(void);
/* Prints the kernel release once, as liburing's tests do. */
void t_print_kernel(const char *prog);
/* A test program's table and main(): `prog <test>` runs one test (exit 0 pass, 1 fail, 77 skip,
 * 2 unknown), `prog --list` names them. SIGPIPE is ignored; the kernel release is printed. */
struct t_test {
    const char *name;
    void (*fn)(void);
};
int t_main(int argc, char **argv, const char *prefix, const struct t_test *tests, size_t n);
/* Ends the test as skipped (exit 77) with the reason on stdout. */
void t_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
