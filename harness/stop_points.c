/* stop_points.c - see stop_points.h. */
#define _GNU_SOURCE
#include "harness/stop_points.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static const char *const phase_names[STOP_NPHASES] = {
    [STOP_SETUP] = "setup", [STOP_BODY] = "body",     [STOP_TEARDOWN] = "teardown",
    [STOP_ROWS] = "rows",   [STOP_COMMIT] = "commit",
};

static int chosen_phase = -1; /* -1: no stop point is armed */
static long chosen_count;     /* stop at this occurrence (1 = the first) */
static long seen;
static int overflow; /* crash there instead of stopping */

void stop_points_init(void)
{
    const char *spec = getenv("MUXBENCH_TEST_STOP");
    chosen_phase = -1;
    seen = 0;
    if (!spec || !*spec)
        return;
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    char *end = NULL;
    long count = colon ? strtol(colon + 1, &end, 10) : 1;
    overflow = end && strcmp(end, ":overflow") == 0;
    for (int p = 0; p < STOP_NPHASES; p++)
        if (strlen(phase_names[p]) == n && strncmp(spec, phase_names[p], n) == 0 && count >= 1 &&
            (!colon || (end != colon + 1 && (*end == '\0' || overflow)))) {
            chosen_phase = p;
            chosen_count = count;
            return;
        }
    fprintf(stderr, "muxbench: warning: MUXBENCH_TEST_STOP=%s ignored (expected "
                    "setup|body|teardown|rows|commit[:n[:overflow]])\n", spec);
}

/* Each frame keeps a live array the compiler cannot drop, and uses it after the call, so the
 * recursion is neither a loop nor a tail call. The depth bound is never reached: 1 KiB frames
 * fill the 64 KiB stack after about 60 calls. */
__attribute__((noinline)) static int recurse(volatile char *below, long depth)
{
    volatile char frame[1024];
    frame[0] = (char)(below ? below[0] + 1 : 0);
    if (depth > (1L << 30))
        return frame[0];
    return recurse(frame, depth + 1) + frame[0];
}

static void overflow_entry(void) { recurse(NULL, 0); }

static void overflow_coroutine_stack(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t size = 64 * 1024;
    char *base = mmap(NULL, size + (size_t)page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base, (size_t)page, PROT_NONE) != 0)
        abort(); /* a crash all the same, by another road */
    static ucontext_t caller, coroutine;
    getcontext(&coroutine);
    coroutine.uc_stack.ss_sp = base + page;
    coroutine.uc_stack.ss_size = size;
    coroutine.uc_link = &caller;
    makecontext(&coroutine, overflow_entry, 0);
    swapcontext(&caller, &coroutine); /* never returns: the guard page faults */
    abort();
}

void stop_point(enum stop_phase phase)
{
    if ((int)phase != chosen_phase || ++seen != chosen_count)
        return;
    if (overflow)
        overflow_coroutine_stack();
    raise(SIGSTOP); /* the whole process stops; the test sends its signal, then SIGCONT */
}
