/* test_backends.h - finds a backend by name for the tests: the registry's, plus the test-only
 * emulations that are linked into test binaries and never into muxbench. */
#ifndef MUX_TEST_BACKENDS_H
#define MUX_TEST_BACKENDS_H

#include "poller.h"

const struct poller_ops *test_backend_find(const char *name);

#endif
