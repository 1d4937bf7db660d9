/* test_backends.h - finds a backend by name for the tests: the registry's, plus the test-only
 * emulations that are linked into test binaries and never into muxbench. */
#ifndef MUX_TEST_BACKENDS_H
#define MUX_TEST_BACKENDS_H

#include "pollers/poller.h"

const struct poller_ops *test_backend_find(const char *name);

/* The command line of a per-backend test program: "<prog> <backend> <test>" or "--list".
 * `table` is an array of n entries of `stride` bytes whose first member is the test's name.
 * Returns the index of the test to run with *ops set; or -1 with *status the exit status to
 * return at once (0 after --list, 2 for bad usage or an unknown name, 77 when the backend
 * cannot run here, with the reason printed). */
long t_backend_main(int argc, char **argv, const void *table, size_t stride, size_t n,
                    const struct poller_ops **ops, int *status);

#endif
