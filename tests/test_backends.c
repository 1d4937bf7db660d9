/* test_backends.c - see test_backends.h. */
#include <string.h>

#include "test_backends.h"

static const struct poller_ops *const test_only[] = {
    NULL, /* keeps the array non-empty when no emulation is built */
};

const struct poller_ops *test_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof test_only / sizeof test_only[0]; i++)
        if (test_only[i] && strcmp(test_only[i]->name, name) == 0)
            return test_only[i];
    return poller_find(name);
}
