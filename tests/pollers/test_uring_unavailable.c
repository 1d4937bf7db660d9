/*
 * test_uring_unavailable.c - io_uring refused by the kernel is a clean "unavailable", never a
 * crash. In a forked child a seccomp filter makes io_uring_setup fail, first with EPERM (what
 * Docker's default profile does), then in another child with ENOSYS (an old kernel, or a
 * filter that hides the call). Both io_uring backends' probe() and poller_create() must
 * return that -errno, probe() with a non-empty reason, and the child must exit normally.
 *
 * No libseccomp: a classic BPF program installed with prctl(PR_SET_SECCOMP).
 * A third child installs a filter that kills the process on io_uring_setup (SECCOMP_RET_KILL):
 * probe() must survive it (the ring is set up in a child of its own) and say so.
 * Exit 77 (skip) when io_uring cannot run here anyway, or on an architecture whose audit id
 * this file does not know.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pollers/poller.h"
#include "tests/util/testutil.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425 /* one number on every architecture since 5.1 */
#endif

static const char *const backends[] = {"io_uring", "io_uring-oneshot"};
#define NBACKENDS (sizeof backends / sizeof backends[0])

#ifdef NATIVE_ARCH
/* Makes io_uring_setup fail with `err` (0: kill the process instead); everything else is
 * allowed. */
static int deny_io_uring_setup(int err)
{
    unsigned deny = err ? SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)
                        : SECCOMP_RET_KILL_PROCESS;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, deny),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}

/* The child's checks; failures counted in t_failures. */
static void refused_cleanly(int err, int expect_seccomp_hint)
{
    CHECK_EQ(deny_io_uring_setup(err), 0);
    /* The filter is in force: the raw system call now fails as configured. */
    errno = 0;
    CHECK_EQ(syscall(__NR_io_uring_setup, 1, NULL), -1);
    CHECK_EQ(errno, err);
    for (size_t i = 0; i < NBACKENDS; i++) {
        const struct poller_ops *ops = poller_find(backends[i]);
        CHECK(ops);
        char why[512];
        memset(why, 0, sizeof why);
        int rc = poller_probe(ops, why, sizeof why);
        fprintf(stderr, "  %s: probe %d (%s): %s\n", ops->name, rc, strerror(-rc), why);
        CHECK_EQ(rc, -err);
        CHECK(why[0] != '\0');
        if (expect_seccomp_hint)
            CHECK(strstr(why, "seccomp") != NULL);
        struct poller *p = (struct poller *)&p; /* poisoned: create must clear it */
        CHECK_EQ(poller_create(ops, &p, NULL), -err);
        CHECK(p == NULL);
        struct poller_cfg cfg = {.expected_fds = 100, .queue_depth = 8};
        CHECK_EQ(poller_create(ops, &p, &cfg), -err);
        CHECK(p == NULL);
    }
}

/* The child's checks when io_uring_setup kills: the probe survives and says why. */
static void killer_survived(void)
{
    CHECK_EQ(deny_io_uring_setup(0), 0);
    for (size_t i = 0; i < NBACKENDS; i++) {
        const struct poller_ops *ops = poller_find(backends[i]);
        CHECK(ops);
        char why[512] = "";
        int rc = poller_probe(ops, why, sizeof why);
        fprintf(stderr, "  %s: probe %d: %s\n", ops->name, rc, why);
        CHECK(rc < 0);
        CHECK(strstr(why, "killed by signal") && strstr(why, "seccomp"));
    }
}

static void run_child(int err, int expect_seccomp_hint)
{
    fprintf(stderr, "io_uring_setup %s%s:\n", err ? "denied with " : "kills",
            err ? strerror(err) : "");
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (err)
            refused_cleanly(err, expect_seccomp_hint);
        else
            killer_survived();
        exit(t_failures ? 1 : 0); /* exit, not _exit: a sanitizer's leak check runs here */
    }
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

static int read_io_uring_disabled(void)
{
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    int v = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%d", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}
#endif

int main(int argc, char **argv)
{
    (void)argc;
    t_print_kernel(argv[0]);
#ifndef NATIVE_ARCH
    printf("SKIP: no seccomp audit architecture known for this build\n");
    return T_SKIP;
#else
    for (size_t i = 0; i < NBACKENDS; i++) {
        const struct poller_ops *ops = poller_find(backends[i]);
        char why[512];
        if (!ops) {
            fprintf(stderr, "backend %s is not registered\n", backends[i]);
            return 1;
        }
        if (poller_probe(ops, why, sizeof why) != 0) {
            printf("SKIP: %s is unavailable before any filter: %s\n", ops->name, why);
            return T_SKIP;
        }
    }
    /* With the sysctl at 0 nothing but the filter can refuse: the reason must say seccomp. */
    run_child(EPERM, read_io_uring_disabled() == 0);
    run_child(ENOSYS, 0);
    run_child(0, 0);
    printf("%s uring_unavailable\n", t_failures ? "FAIL" : "PASS");
    return t_failures ? 1 : 0;
#endif
}
