/* stop_points.c - see stop_points.h. */
#define _GNU_SOURCE
#include "harness/stop_points.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[STOP_NPHASES] = {
    [STOP_SETUP] = "setup", [STOP_BODY] = "body",     [STOP_TEARDOWN] = "teardown",
    [STOP_ROWS] = "rows",   [STOP_COMMIT] = "commit",
};

static int chosen_phase = -1; /* -1: no stop point is armed */
static long chosen_count;     /* stop at this occurrence (1 = the first) */
static long seen;

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
    for (int p = 0; p < STOP_NPHASES; p++)
        if (strlen(phase_names[p]) == n && strncmp(spec, phase_names[p], n) == 0 && count >= 1 &&
            (!colon || (end != colon + 1 && *end == '\0'))) {
            chosen_phase = p;
            chosen_count = count;
            return;
        }
    fprintf(stderr, "muxbench: warning: MUXBENCH_TEST_STOP=%s ignored (expected "
                    "setup|body|teardown|rows|commit[:n])\n", spec);
}

void stop_point(enum stop_phase phase)
{
    if ((int)phase != chosen_phase || ++seen != chosen_count)
        return;
    raise(SIGSTOP); /* the whole process stops; the test sends its signal, then SIGCONT */
}
