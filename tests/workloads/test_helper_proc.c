/*
 * test_helper_proc.c - the helper processes workloads fork (workloads/support/helper_proc.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/util/testutil.h"
#include "workloads/support/helper_proc.h"

static int no_children(void) { return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD; }

/* Helpers: echo one int back, then wait for the channel to close. */
static int echo_once(int ctl, void *arg)
{
    (void)arg;
    int v;
    if (helper_recv(ctl, &v, sizeof v, 10000) < 0)
        return 2;
    v += 1;
    if (helper_send(ctl, &v, sizeof v) < 0)
        return 3;
    return helper_recv(ctl, &v, sizeof v, 10000) == -EPIPE ? 0 : 4;
}

/* Never returns on its own: every signal is blocked, so only SIGKILL ends it. */
static int stuck(int ctl, void *arg)
{
    (void)ctl;
    (void)arg;
    for (;;)
        pause();
    return 0; /* not reached */
}

/* Says it is running (PDEATHSIG armed by then), then waits for SIGKILL. */
static int ready_then_stuck(int ctl, void *arg)
{
    int v = 1;
    helper_send(ctl, &v, sizeof v);
    return stuck(ctl, arg);
}

static int exit_seven(int ctl, void *arg)
{
    (void)ctl;
    (void)arg;
    return 7;
}

/* Sends the highest fd open in the helper. */
static int highest_fd(int ctl, void *arg)
{
    (void)arg;
    int high = -1;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            high = fd;
    helper_send(ctl, &high, sizeof high);
    int v;
    helper_recv(ctl, &v, sizeof v, 10000);
    return 0;
}

static void t_start_stop_reaps(void)
{
    int fds0 = t_count_fds();
    char msg[256];
    struct helper h = HELPER_NONE;
    CHECK_EQ(helper_start(&h, "t-echo", echo_once, NULL, msg, sizeof msg), 0);
    CHECK(h.pid > 0 && h.ctl >= 0);
    CHECK_EQ(helper_live_count(), 1);
    int v = 41;
    CHECK_EQ(helper_send(h.ctl, &v, sizeof v), 0);
    CHECK_EQ(helper_recv(h.ctl, &v, sizeof v, 10000), 0);
    CHECK_EQ(v, 42);
    pid_t pid = h.pid;
    helper_stop(&h, 10000); /* it exits on end of file, well before the grace period */
    CHECK_EQ(h.pid, 0);
    CHECK_EQ(h.ctl, -1);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH); /* reaped: not even a zombie */
    CHECK(no_children());
    CHECK_EQ(helper_live_count(), 0);
    CHECK_EQ(t_count_fds(), fds0);
    helper_stop(&h, 0); /* twice is harmless */
}

static void t_stop_kills_a_stuck_helper(void)
{
    char msg[256];
    struct helper h = HELPER_NONE;
    CHECK_EQ(helper_start(&h, "t-stuck", stuck, NULL, msg, sizeof msg), 0);
    pid_t pid = h.pid;
    helper_stop(&h, 50);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    CHECK(no_children());
    CHECK_EQ(helper_live_count(), 0);
}

static void t_exited_reports_status(void)
{
    char msg[256];
    struct helper h = HELPER_NONE;
    CHECK_EQ(helper_start(&h, "t-seven", exit_seven, NULL, msg, sizeof msg), 0);
    int status = 0, done = 0;
    for (int i = 0; i < 10000 && !done; i++) {
        done = helper_exited(&h, &status);
        if (!done)
            usleep(1000);
    }
    CHECK(done);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    CHECK_EQ(h.pid, 0);
    CHECK(no_children());
    CHECK_EQ(helper_exited(&h, &status), 0); /* once */
    helper_stop(&h, 0);                       /* closes the channel */
    CHECK_EQ(h.ctl, -1);
}

static void t_only_the_channel_is_inherited(void)
{
    /* Above the channel's number, without FD_CLOEXEC: a fork keeps it unless the helper
     * closes it. */
    int extra = fcntl(2, F_DUPFD, HELPER_CTL_FD + 8);
    CHECK(extra > HELPER_CTL_FD);
    char msg[256];
    struct helper h = HELPER_NONE;
    CHECK_EQ(helper_start(&h, "t-fds", highest_fd, NULL, msg, sizeof msg), 0);
    int high = -1;
    CHECK_EQ(helper_recv(h.ctl, &high, sizeof high, 10000), 0);
    CHECK_EQ(high, HELPER_CTL_FD);
    helper_stop(&h, 10000);
    close(extra);
    CHECK(no_children());
}

/* The parent dies before its helper: PR_SET_PDEATHSIG kills the helper. We are the subreaper
 * of that family, so the orphaned helper comes to us and we see how it ended. (A parent that
 * dies before the helper armed PDEATHSIG makes it exit with status 1: the getppid() check.) */
static void t_helper_dies_with_its_parent(void)
{
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    pid_t mid = fork();
    CHECK(mid >= 0);
    if (mid == 0) {
        char msg[256];
        struct helper h = HELPER_NONE;
        int v;
        if (helper_start(&h, "t-orphan", ready_then_stuck, NULL, msg, sizeof msg) < 0 ||
            helper_recv(h.ctl, &v, sizeof v, 10000) < 0)
            _exit(1);
        if (write(p[1], &h.pid, sizeof h.pid) != sizeof h.pid)
            _exit(1);
        _exit(0); /* without stopping the helper */
    }
    close(p[1]);
    pid_t helper = 0;
    CHECK_EQ(read(p[0], &helper, sizeof helper), (long)sizeof helper);
    close(p[0]);
    int status = 0;
    CHECK_EQ(waitpid(mid, &status, 0), mid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(waitpid(helper, &status, 0), helper); /* reparented to us, then killed */
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(no_children());
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* helper_kill_all() ends the process's helpers for good: in a child, so this process can still
 * start helpers afterwards. */
static void t_kill_all_reaps_and_refuses(void)
{
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        char msg[256];
        struct helper a = HELPER_NONE, b = HELPER_NONE;
        if (helper_start(&a, "t-a", stuck, NULL, msg, sizeof msg) < 0 ||
            helper_start(&b, "t-b", echo_once, NULL, msg, sizeof msg) < 0)
            _exit(10);
        helper_kill_all();
        if (kill(a.pid, 0) == 0 || kill(b.pid, 0) == 0)
            _exit(11); /* alive, or a zombie: not reaped */
        if (!no_children() || helper_live_count() != 0)
            _exit(12);
        struct helper c = HELPER_NONE;
        if (helper_start(&c, "t-c", stuck, NULL, msg, sizeof msg) != -EINTR || c.pid != 0)
            _exit(13);
        helper_stop(&a, 0); /* the owner's stop after a kill: nothing left to do, no error */
        helper_stop(&b, 0);
        _exit(0);
    }
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

static void t_channel_errors(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    int v = 1;
    long long big = 2;
    CHECK_EQ(helper_recv(sv[0], &v, sizeof v, 10), -ETIMEDOUT);
    CHECK_EQ(helper_send(sv[1], &big, sizeof big), 0);
    CHECK_EQ(helper_recv(sv[0], &v, sizeof v, 1000), -EPROTO); /* another size */
    close(sv[1]);
    CHECK_EQ(helper_recv(sv[0], &v, sizeof v, 1000), -EPIPE);
    CHECK_EQ(helper_send(sv[0], &v, sizeof v), -EPIPE);
    close(sv[0]);
}

static const struct t_test tests[] = {
    {"start_stop_reaps", t_start_stop_reaps},
    {"stop_kills_a_stuck_helper", t_stop_kills_a_stuck_helper},
    {"exited_reports_status", t_exited_reports_status},
    {"only_the_channel_is_inherited", t_only_the_channel_is_inherited},
    {"helper_dies_with_its_parent", t_helper_dies_with_its_parent},
    {"kill_all_reaps_and_refuses", t_kill_all_reaps_and_refuses},
    {"channel_errors", t_channel_errors},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "helper_proc.", tests, sizeof tests / sizeof tests[0]);
}
