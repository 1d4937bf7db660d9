/* test_backends.c - see test_backends.h. */
#include <string.h>

#include "test_backends.h"

#ifdef MUX_TEST_KQUEUE_EMUL /* set by tests/CMakeLists.txt only */
extern const struct poller_ops kqueue_emul_ops; /* tests/kqueue_emul/ */
#endif

static const struct poller_ops *const test_only[] = {
#ifdef MUX_TEST_KQUEUE_EMUL
    &kqueue_emul_ops,
#endif
    NULL, /* keeps the array non-empty when no emulation is built */
};

const struct poller_ops *test_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof test_only / sizeof test_only[0]; i++)
        if (test_only[i] && strcmp(test_only[i]->name, name) == 0)
            return test_only[i];
    return poller_find(name);
}
