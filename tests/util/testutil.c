/* testutil.c - see testutil.h. */
#define _GNU_SOURCE
#include "tests/util/testutil.h"

#include "harness/sysinfo.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int t_failures;

int t_count_fds(void) { return sys_count_fds(); }

int t_count_threads(void) { return sys_count_threads(); }

int t_count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int64_t t_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void t_socketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        exit(1);
    }
}

long t_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

void t_print_kernel(const char *prog)
{
    struct utsname u;
    if (uname(&u) == 0)
        fprintf(stderr, "%s: kernel %s %s\n", prog, u.release, u.machine);
}

void t_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(T_SKIP);
}

int t_main(int argc, char **argv, const char *prefix, const struct t_test *tests, size_t n)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s <test> | --list\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    t_print_kernel(argv[0]);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tests[i].name, argv[1]) != 0)
            continue;
        tests[i].fn();
        printf("%s %s%s\n", t_failures ? "FAIL" : "PASS", prefix, tests[i].name);
        return t_failures ? 1 : 0;
    }
    fprintf(stderr, "unknown test '%s'\n", argv[1]);
    return 2;
}

void t_run_leaving_nothing(void (*fn)(void))
{
    fn(); /* warm-up */
    int fds0 = t_count_fds(), maps0 = t_count_maps(), threads0 = t_count_threads();
    if (t_failures)
        return;
    fn();
    int fds = t_count_fds(), maps = t_count_maps(), threads = t_count_threads();
    if (fds != fds0 || maps != maps0 || threads != threads0) {
        fprintf(stderr, "left behind: fds %d -> %d, map entries %d -> %d, threads %d -> %d\n",
                fds0, fds, maps0, maps, threads0, threads);
        t_failures++;
    }
}
