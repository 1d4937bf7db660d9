/*
 * kqemul_quirks.c - TEST-ONLY: what the conformance matrix does not reach.
 *
 *   kqemul_quirks <test>      run one test; exit 0 pass, 1 fail
 *   kqemul_quirks --list      the test names (CMake registers kqueue_emul.<test>)
 *
 * adapter_*: the kevent-over-epoll adapter keeps the kqueue behaviours the backend relies on
 *            (per-filter independence, oneshot knotes deleted, EV_ADD keeping the mode,
 *            receipts, knotes dying with their fd, state freed with the kqueue, the stand-in
 *            error in fflags).
 * backend_*: pollers/kqueue.c properties the matrix does not exercise: the other filter of a
 *            oneshot fd, a mode change in mod(), del() of an fd closed behind its back.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/pollers/kqueue_emul/kqueue_emul.h"
#include "pollers/poller.h"
#include "tests/util/test_backends.h"
#include "tests/util/testutil.h"

#define MS 1000000LL

static const struct timespec zero_ts = {0, 0};
static char tok[4];

static void put_byte(int fd)
{
    if (write(fd, "x", 1) != 1) {
        perror("write");
        exit(1);
    }
}

/* Applies one change; returns 0 or the errno. */
static int change(int kq, int fd, short filter, unsigned short flags, void *udata)
{
    struct kevent ch;
    EV_SET(&ch, fd, filter, flags, 0, 0, udata);
    return kevent(kq, &ch, 1, NULL, 0, NULL) < 0 ? errno : 0;
}

static int collect(int kq, struct kevent *ev, int max)
{
    return kevent(kq, NULL, 0, ev, max, &zero_ts);
}

/* A nonblocking TCP socket whose connect() is refused (nothing listens on the port). */
static int refused_socket(void)
{
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (probe < 0 || bind(probe, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(probe, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    close(probe);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS &&
        errno != ECONNREFUSED) {
        close(s);
        return -1;
    }
    return s;
}

/* ---------------------------------------------------------------------------------------- */

static void t_adapter_filters_independent(void)
{
    int kq = kqueue(), sv[2];
    CHECK(kq >= 0);
    t_socketpair(sv);
    put_byte(sv[1]); /* readable and writable */
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_ADD, &tok[0]), 0);            /* level */
    CHECK_EQ(change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, &tok[1]), 0); /* edge */
    struct kevent ev[4];
    CHECK_EQ(collect(kq, ev, 4), 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(ev[i].ident, sv[0]);
        CHECK(ev[i].udata == (ev[i].filter == EVFILT_READ ? &tok[0] : &tok[1]));
    }
    CHECK(ev[0].filter != ev[1].filter);
    for (int round = 0; round < 2; round++) { /* read repeats, write does not */
        CHECK_EQ(collect(kq, ev, 4), 1);
        CHECK_EQ(ev[0].filter, EVFILT_READ);
    }
    close(kq);
    close(sv[0]);
    close(sv[1]);
}

static void t_adapter_oneshot_knote_deleted(void)
{
    int kq = kqueue(), sv[2];
    CHECK(kq >= 0);
    t_socketpair(sv);
    put_byte(sv[1]);
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_ADD | EV_ONESHOT, NULL), 0);
    struct kevent ev[4];
    CHECK_EQ(collect(kq, ev, 4), 1);
    CHECK(ev[0].flags & EV_ONESHOT);
    CHECK_EQ(collect(kq, ev, 4), 0);
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_DELETE, NULL), ENOENT); /* gone, as in kqueue */
    close(kq);
    close(sv[0]);
    close(sv[1]);
}

static void t_adapter_add_keeps_mode(void)
{
    int kq = kqueue(), sv[2];
    CHECK(kq >= 0);
    t_socketpair(sv);
    put_byte(sv[1]);
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_ADD, &tok[0]), 0);
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, &tok[1]), 0); /* udata only */
    struct kevent ev[4];
    for (int round = 0; round < 3; round++) { /* still level-triggered */
        CHECK_EQ(collect(kq, ev, 4), 1);
        CHECK(ev[0].udata == &tok[1]);
        CHECK(!(ev[0].flags & EV_CLEAR));
    }
    close(kq);
    close(sv[0]);
    close(sv[1]);
}

static void t_adapter_receipts(void)
{
    int kq = kqueue(), sv[2], dead[2];
    CHECK(kq >= 0);
    t_socketpair(sv);
    t_socketpair(dead);
    close(dead[0]);
    close(dead[1]);
    put_byte(sv[1]); /* sv[0] is ready: a receipt batch must still not collect it */
    struct kevent ch[3];
    EV_SET(&ch[0], sv[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, NULL);
    EV_SET(&ch[1], sv[0], EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 0, 0, NULL);
    EV_SET(&ch[2], dead[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, NULL);
    CHECK_EQ(kevent(kq, ch, 3, ch, 3, &zero_ts), 3); /* one array for changes and receipts */
    static const int want[] = {0, ENOENT, EBADF};
    for (int i = 0; i < 3; i++) {
        CHECK(ch[i].flags & EV_ERROR);
        CHECK_EQ(ch[i].data, want[i]);
    }
    struct kevent ev[4];
    CHECK_EQ(collect(kq, ev, 4), 1); /* the change before the failures was applied */
    CHECK_EQ(ev[0].ident, sv[0]);
    /* No room for an answer: the failing change fails the call. */
    CHECK_EQ(change(kq, dead[0], EVFILT_READ, EV_ADD, NULL), EBADF);
    close(kq);
    close(sv[0]);
    close(sv[1]);
}

static void t_adapter_close_frees_state(void)
{
    int sv[2];
    t_socketpair(sv);
    int fds0 = t_count_fds();
    int kq = kqueue();
    CHECK(kq >= 0);
    CHECK_EQ(change(kq, sv[0], EVFILT_READ, EV_ADD, NULL), 0);
    CHECK_EQ(change(kq, sv[0], EVFILT_WRITE, EV_ADD, NULL), 0);
    CHECK_EQ(t_count_fds(), fds0 + 2); /* the kqueue and the write filter's dup */
    close(kq);
    CHECK_EQ(t_count_fds(), fds0);
    struct kevent ev[1];
    CHECK_EQ(kevent(kq, NULL, 0, ev, 1, &zero_ts), -1);
    CHECK_EQ(errno, EBADF);
    close(sv[0]);
    close(sv[1]);
}

static void t_adapter_close_drops_knotes(void)
{
    int kq = kqueue(), sv[2];
    CHECK(kq >= 0);
    t_socketpair(sv);
    int fd = sv[0], fds0 = t_count_fds();
    CHECK_EQ(change(kq, fd, EVFILT_READ, EV_ADD, NULL), 0);
    CHECK_EQ(change(kq, fd, EVFILT_WRITE, EV_ADD, NULL), 0);
    close(fd); /* no EV_DELETE: kqueue drops the knotes with the fd */
    CHECK_EQ(t_count_fds(), fds0 - 1); /* and the dup went with them */
    CHECK_EQ(change(kq, fd, EVFILT_WRITE, EV_DELETE, NULL), EBADF);
    int nv[2];
    t_socketpair(nv); /* writable; takes the old number back */
    if (nv[0] != fd) {
        CHECK(dup3(nv[0], fd, O_CLOEXEC) == fd);
        close(nv[0]);
    }
    struct kevent ev[4];
    CHECK_EQ(collect(kq, ev, 4), 0);
    CHECK_EQ(change(kq, fd, EVFILT_WRITE, EV_DELETE, NULL), ENOENT);
    close(kq);
    close(fd);
    close(nv[1]);
    close(sv[1]);
}

static void t_adapter_error_stand_in(void)
{
    int s = refused_socket();
    CHECK(s >= 0);
    int kq = kqueue();
    CHECK(kq >= 0);
    CHECK_EQ(change(kq, s, EVFILT_READ, EV_ADD, NULL), 0);
    CHECK_EQ(change(kq, s, EVFILT_WRITE, EV_ADD, NULL), 0);
    struct kevent ev[4];
    struct timespec two_s = {2, 0};
    int n = kevent(kq, NULL, 0, ev, 4, &two_s);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        CHECK(ev[i].flags & EV_EOF);
        CHECK_EQ(ev[i].fflags, KQEMUL_PENDING_ERROR); /* a stand-in, not ECONNREFUSED */
    }
    int err = 0;
    socklen_t len = sizeof err;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK_EQ(err, ECONNREFUSED); /* still pending: the adapter did not read it */
    close(kq);
    close(s);
}

/* ---------------------------------------------------------------------------------------- */

static struct poller *emul_poller(void)
{
    const struct poller_ops *ops = test_backend_find("kqueue-emul");
    struct poller *p = NULL;
    if (!ops || poller_create(ops, &p, NULL) < 0)
        return NULL;
    return p;
}

static void t_backend_oneshot_other_filter(void)
{
    struct poller *p = emul_poller();
    CHECK(p);
    int sv[2];
    t_socketpair(sv); /* writable, not readable */
    CHECK_EQ(poller_add(p, sv[0], MUX_IN | MUX_OUT | MUX_ONESHOT, &tok[0]), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);
    CHECK_EQ(ev[0].ready, MUX_OUT);
    put_byte(sv[1]); /* the read filter would fire now, were it still armed */
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN | MUX_OUT | MUX_ONESHOT, &tok[1]), 0);
    CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);
    CHECK_EQ(ev[0].ready, MUX_IN | MUX_OUT); /* both filters in one batch: merged */
    CHECK(ev[0].data == &tok[1]);
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    /* max 1: the batch stops after one filter; the other is disarmed all the same. */
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN | MUX_OUT | MUX_ONESHOT, &tok[2]), 0);
    CHECK_EQ(poller_wait(p, ev, 1, 2000 * MS), 1);
    CHECK(ev[0].ready == MUX_IN || ev[0].ready == MUX_OUT);
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0);
    CHECK_EQ(poller_del(p, sv[0]), 0);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_backend_mod_changes_mode(void)
{
    struct poller *p = emul_poller();
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    put_byte(sv[1]);
    CHECK_EQ(poller_add(p, sv[0], MUX_IN, &tok[0]), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN | MUX_EDGE, &tok[0]), 0); /* level -> edge */
    CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);                 /* still readable: reported */
    CHECK_EQ(poller_wait(p, ev, 4, 30 * MS), 0); /* ... once: EV_ADD alone would keep it level */
    CHECK_EQ(poller_mod(p, sv[0], MUX_IN, &tok[0]), 0); /* edge -> level */
    for (int round = 0; round < 3; round++)
        CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);
    CHECK_EQ(poller_del(p, sv[0]), 0);
    poller_destroy(p);
    close(sv[0]);
    close(sv[1]);
}

static void t_backend_del_after_close(void)
{
    struct poller *p = emul_poller();
    CHECK(p);
    int sv[2];
    t_socketpair(sv);
    int fd = sv[0];
    CHECK_EQ(poller_add(p, fd, MUX_IN | MUX_OUT, &tok[0]), 0);
    close(fd); /* against the API's rule 5, which the backend survives */
    CHECK_EQ(poller_del(p, fd), -EBADF);
    CHECK_EQ(poller_del(p, fd), -ENOENT); /* the registration is gone all the same */
    int nv[2];
    t_socketpair(nv);
    if (nv[0] != fd) {
        CHECK(dup3(nv[0], fd, O_CLOEXEC) == fd);
        close(nv[0]);
    }
    CHECK_EQ(poller_add(p, fd, MUX_OUT, &tok[1]), 0);
    struct mux_event ev[4];
    CHECK_EQ(poller_wait(p, ev, 4, 2000 * MS), 1);
    CHECK(ev[0].data == &tok[1]);
    CHECK_EQ(poller_del(p, fd), 0);
    poller_destroy(p);
    close(fd);
    close(nv[1]);
    close(sv[1]);
}

/* ---------------------------------------------------------------------------------------- */

/* CMake reads the names from these lines: keep one entry per line, in this form. */
static const struct t_test tests[] = {
    {"adapter_filters_independent", t_adapter_filters_independent},
    {"adapter_oneshot_knote_deleted", t_adapter_oneshot_knote_deleted},
    {"adapter_add_keeps_mode", t_adapter_add_keeps_mode},
    {"adapter_receipts", t_adapter_receipts},
    {"adapter_close_frees_state", t_adapter_close_frees_state},
    {"adapter_close_drops_knotes", t_adapter_close_drops_knotes},
    {"adapter_error_stand_in", t_adapter_error_stand_in},
    {"backend_oneshot_other_filter", t_backend_oneshot_other_filter},
    {"backend_mod_changes_mode", t_backend_mod_changes_mode},
    {"backend_del_after_close", t_backend_del_after_close},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "kqueue_emul/", tests, sizeof tests / sizeof tests[0]);
}
