/* test_backends.c - see test_backends.h. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/util/test_backends.h"
#include "tests/util/testutil.h"

#ifdef MUX_TEST_KQUEUE_EMUL /* set by tests/CMakeLists.txt only */
extern const struct poller_ops kqueue_emul_ops; /* tests/pollers/kqueue_emul/ */
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

static const char *name_at(const void *table, size_t stride, size_t i)
{
    return *(const char *const *)(const void *)((const char *)table + i * stride);
}

long t_backend_main(int argc, char **argv, const void *table, size_t stride, size_t n,
                    const struct poller_ops **ops, int *status)
{
    *status = 0;
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", name_at(table, stride, i));
        return -1;
    }
    *status = 2;
    if (argc != 3) {
        fprintf(stderr, "usage: %s <backend> <test> | --list\n", argv[0]);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    t_print_kernel(argv[0]);
    *ops = test_backend_find(argv[1]);
    if (!*ops) {
        fprintf(stderr, "unknown backend '%s'\n", argv[1]);
        return -1;
    }
    long found = -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(name_at(table, stride, i), argv[2]) == 0)
            found = (long)i;
    if (found < 0) {
        fprintf(stderr, "unknown test '%s'\n", argv[2]);
        return -1;
    }
    char why[256];
    if (poller_probe(*ops, why, sizeof why) != 0) {
        printf("SKIP %s/%s: backend unavailable: %s\n", (*ops)->name, argv[2], why);
        *status = T_SKIP;
        return -1;
    }
    *status = 0;
    return found;
}
