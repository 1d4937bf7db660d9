/*
 * kqueue_emul.c - TEST-ONLY: kqueue() and kevent() over Linux epoll, just enough of them for
 * pollers/kqueue.c. The backend is compiled a second time against this (kqueue_emul_backend.c)
 * as "kqueue-emul" with MUX_F_TEST_ONLY, so its own logic - merging an fd's two filters,
 * disarming the other filter of a oneshot fd, the fd table, EV_EOF/fflags mapping, receipts -
 * runs through the whole conformance matrix on Linux. It measures nothing about kqueue, and is
 * linked into test binaries only, never into muxbench or libmuxpollers.
 *
 * Design:
 *  - A kqueue is an epoll instance; the fd kqueue() returns is the epoll fd.
 *  - A knote is one (ident, filter) pair with its own EV_CLEAR/EV_ONESHOT and its own udata,
 *    independent of the fd's other filter. epoll keys a registration by (open file, fd number),
 *    so EVFILT_READ is registered through the caller's fd and EVFILT_WRITE through a dup() the
 *    adapter owns: two epoll items on one file. epoll_event.data points at the knote.
 *  - EVFILT_READ watches EPOLLIN|EPOLLRDHUP, EVFILT_WRITE EPOLLOUT. EV_CLEAR is EPOLLET.
 *    EV_ONESHOT: the knote is deleted as its event is copied out, as kqueue deletes it.
 *  - EV_ADD on an existing knote sets its udata and re-evaluates readiness (EPOLL_CTL_MOD) but
 *    keeps its EV_CLEAR/EV_ONESHOT, as FreeBSD does, so a backend that relied on EV_ADD to change
 *    a mode would fail here as it would there.
 *  - Changes are applied in order before anything is collected. A failed change, or any change
 *    with EV_RECEIPT, is answered in the eventlist as EV_ERROR with the errno in data while there
 *    is room (then no event is collected); with no room, kevent() fails at that change (FreeBSD).
 *    changelist and eventlist may be the same array.
 *  - Lifetime: test binaries that link this are linked with -Wl,--wrap=close. __wrap_close()
 *    frees a kqueue's knotes, dups and memory when its fd is closed, and drops the knotes of a
 *    registered fd that is closed (a real kqueue's knotes die with their fd), before the real
 *    close(). A kqueue() that gets back the number of one closed behind the wrapper's back frees
 *    the stale state first.
 *
 * Known divergences from real kqueue:
 *  a) The error in fflags. kqueue reports a socket's pending error (so_error) in fflags with
 *     EV_EOF and leaves it pending. Linux can only read SO_ERROR by clearing it, so on EPOLLERR
 *     the adapter sets EV_EOF with fflags = KQEMUL_PENDING_ERROR (EIO), a stand-in that says an
 *     error is pending, not which; the real one stays in SO_ERROR for the caller. A pipe whose
 *     reader is gone gets the stand-in too (epoll says EPOLLERR; FreeBSD says EV_EOF alone).
 *  b) EV_EOF is set from EPOLLHUP, EPOLLRDHUP or EPOLLERR, a close approximation of kqueue's
 *     "cannot receive / send more". `data` is always 0: no byte counts, no buffer space.
 *  c) Each EVFILT_WRITE knote holds a dup: one more fd per write-watched fd (EMFILE comes
 *     sooner). If a registered fd goes away where the wrapper cannot see it (dup2/dup3 over it,
 *     close_range, a close inside libc), its knotes are not dropped: the dup keeps the file open
 *     and both epoll items keep firing under the old number.
 *  d) Only EVFILT_READ and EVFILT_WRITE, on what epoll accepts: a regular file is EPERM (kqueue
 *     takes it, always readable). Only the flags in kqueue_emul.h; others are EINVAL.
 *  e) Fairness and ordering are epoll's (its ready list rotates level items to the tail, as
 *     kqueue requeues level knotes); the two filters of one fd may come back in either order.
 *  f) One thread per kqueue: a mutex guards the adapter's state, the wait itself runs unlocked,
 *     and closing a kqueue while another thread waits on it is not supported.
 *  g) Timeouts: epoll_pwait2() takes the timespec as is; before Linux 5.11 it is rounded up to
 *     whole milliseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tests/pollers/kqueue_emul/kqueue_emul.h"

int __real_close(int fd);
int __wrap_close(int fd);

struct knote {
    int ident;             /* the caller's fd */
    int efd;               /* what epoll watches: ident (EVFILT_READ) or our dup (EVFILT_WRITE) */
    short filter;
    unsigned short flags;  /* EV_CLEAR | EV_ONESHOT, fixed at creation */
    void *udata;
};

struct kq {
    int epfd;                  /* the fd kqueue() returned */
    struct kq *next;
    struct knote *(*notes)[2]; /* by ident: [0] EVFILT_READ, [1] EVFILT_WRITE */
    int cap;
    struct epoll_event *evs;
    int evs_cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kq *all; /* every open emulated kqueue */

static struct kq **find(int epfd)
{
    struct kq **pp = &all;
    while (*pp && (*pp)->epfd != epfd)
        pp = &(*pp)->next;
    return pp;
}

static void knote_drop(struct kq *q, struct knote *kn)
{
    epoll_ctl(q->epfd, EPOLL_CTL_DEL, kn->efd, NULL); /* before closing a dup (epoll's quirk) */
    if (kn->efd != kn->ident)
        __real_close(kn->efd);
    q->notes[kn->ident][kn->filter == EVFILT_READ ? 0 : 1] = NULL;
    free(kn);
}

static void drop_fd(struct kq *q, int fd)
{
    for (int f = 0; f < 2 && fd < q->cap; f++)
        if (q->notes[fd][f])
            knote_drop(q, q->notes[fd][f]);
}

/* Unlinks *pp and frees it with its knotes and dups; the caller closes the epoll fd. */
static void kq_free(struct kq **pp)
{
    struct kq *q = *pp;
    *pp = q->next;
    for (int fd = 0; fd < q->cap; fd++)
        drop_fd(q, fd);
    free(q->notes);
    free(q->evs);
    free(q);
}

int __wrap_close(int fd)
{
    if (fd >= 0) {
        pthread_mutex_lock(&lock);
        for (struct kq **pp = &all; *pp;) {
            if ((*pp)->epfd == fd) {
                kq_free(pp);
                continue;
            }
            drop_fd(*pp, fd);
            pp = &(*pp)->next;
        }
        pthread_mutex_unlock(&lock);
    }
    return __real_close(fd);
}

int kqemul_kqueue(void)
{
    struct kq *q = calloc(1, sizeof *q);
    if (!q) {
        errno = ENOMEM;
        return -1;
    }
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (q->epfd < 0) {
        int err = errno;
        free(q);
        errno = err;
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct kq **stale = find(q->epfd); /* the number was closed behind the wrapper's back */
    if (*stale)
        kq_free(stale);
    q->next = all;
    all = q;
    pthread_mutex_unlock(&lock);
    return q->epfd;
}

static int reserve(struct kq *q, int fd)
{
    if (fd < q->cap)
        return 0;
    int cap = q->cap ? q->cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct knote *(*n)[2] = realloc(q->notes, (size_t)cap * sizeof *n);
    if (!n)
        return ENOMEM;
    memset(n + q->cap, 0, (size_t)(cap - q->cap) * sizeof *n);
    q->notes = n;
    q->cap = cap;
    return 0;
}

/* One change; returns 0 or an errno. */
static int apply(struct kq *q, const struct kevent *c)
{
    int f = c->filter == EVFILT_READ ? 0 : c->filter == EVFILT_WRITE ? 1 : -1;
    if (f < 0 || (c->flags & ~(EV_ADD | EV_DELETE | EV_CLEAR | EV_ONESHOT | EV_RECEIPT)) ||
        (c->flags & (EV_ADD | EV_DELETE)) == (EV_ADD | EV_DELETE))
        return EINVAL;
    if (c->ident > INT_MAX || fcntl((int)c->ident, F_GETFD) < 0)
        return EBADF;
    int fd = (int)c->ident;
    struct knote *kn = fd < q->cap ? q->notes[fd][f] : NULL;
    if (c->flags & EV_DELETE) {
        if (!kn)
            return ENOENT;
        knote_drop(q, kn);
        return 0;
    }
    if (!(c->flags & EV_ADD))
        return kn ? 0 : ENOENT;
    uint32_t want = f == 0 ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
    if (kn) { /* modify: udata, and a fresh look at readiness; the mode stays */
        struct epoll_event ev = {.events = want | ((kn->flags & EV_CLEAR) ? EPOLLET : 0),
                                 .data.ptr = kn};
        if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, kn->efd, &ev) < 0)
            return errno;
        kn->udata = c->udata;
        return 0;
    }
    int err = reserve(q, fd);
    if (err)
        return err;
    if (!(kn = calloc(1, sizeof *kn)))
        return ENOMEM;
    *kn = (struct knote){.ident = fd, .efd = fd, .filter = c->filter,
                         .flags = c->flags & (EV_CLEAR | EV_ONESHOT), .udata = c->udata};
    if (f == 1 && (kn->efd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        err = errno;
        free(kn);
        return err;
    }
    struct epoll_event ev = {.events = want | ((kn->flags & EV_CLEAR) ? EPOLLET : 0),
                             .data.ptr = kn};
    if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, kn->efd, &ev) < 0) {
        err = errno;
        if (kn->efd != fd)
            __real_close(kn->efd);
        free(kn);
        return err;
    }
    q->notes[fd][f] = kn;
    return 0;
}

static int wait_epoll(int epfd, struct epoll_event *evs, int n, const struct timespec *ts)
{
    if (!ts)
        return epoll_wait(epfd, evs, n, -1);
    if (ts->tv_sec == 0 && ts->tv_nsec == 0)
        return epoll_wait(epfd, evs, n, 0);
    int r = epoll_pwait2(epfd, evs, n, ts, NULL);
    if (r >= 0 || errno != ENOSYS)
        return r;
    long long ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
    return epoll_wait(epfd, evs, n, ms > INT_MAX ? INT_MAX : (int)ms);
}

int kqemul_kevent(int kqfd, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
                  int nevents, const struct timespec *timeout)
{
    if (nchanges < 0 || nevents < 0) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct kq *q = kqfd >= 0 ? *find(kqfd) : NULL;
    if (!q) {
        pthread_mutex_unlock(&lock);
        errno = EBADF;
        return -1;
    }
    int answered = 0;
    for (int i = 0; i < nchanges; i++) {
        struct kevent c = changelist[i]; /* copied first: eventlist may be the same array */
        int err = apply(q, &c);
        if (!err && !(c.flags & EV_RECEIPT))
            continue;
        if (nevents == 0) { /* no room for an answer: a receipt is dropped, an error fails */
            if (!err)
                continue;
            pthread_mutex_unlock(&lock);
            errno = err;
            return -1;
        }
        c.flags = EV_ERROR;
        c.data = err;
        eventlist[answered++] = c;
        nevents--;
    }
    if (answered || nevents == 0) {
        pthread_mutex_unlock(&lock);
        return answered;
    }
    if (nevents > q->evs_cap) {
        struct epoll_event *evs = realloc(q->evs, (size_t)nevents * sizeof *evs);
        if (!evs) {
            pthread_mutex_unlock(&lock);
            errno = ENOMEM;
            return -1;
        }
        q->evs = evs;
        q->evs_cap = nevents;
    }
    struct epoll_event *evs = q->evs;
    pthread_mutex_unlock(&lock);

    int n = wait_epoll(kqfd, evs, nevents, timeout);
    if (n <= 0)
        return n; /* errno set by epoll (EINTR passes through, as kevent's does) */

    pthread_mutex_lock(&lock);
    for (int i = 0; i < n; i++) {
        struct knote *kn = evs[i].data.ptr;
        uint32_t e = evs[i].events;
        eventlist[i] = (struct kevent){.ident = (uintptr_t)kn->ident, .filter = kn->filter,
                                       .flags = kn->flags, .udata = kn->udata};
        if (e & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
            eventlist[i].flags |= EV_EOF;
        if (e & EPOLLERR)
            eventlist[i].fflags = KQEMUL_PENDING_ERROR; /* divergence a */
        if (kn->flags & EV_ONESHOT)
            knote_drop(q, kn);
    }
    pthread_mutex_unlock(&lock);
    return n;
}
