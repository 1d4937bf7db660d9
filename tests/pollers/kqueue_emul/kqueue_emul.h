/*
 * kqueue_emul.h - TEST-ONLY. The subset of BSD <sys/event.h> that pollers/kqueue.c uses, served
 * by kqueue_emul.c over Linux epoll so that the kqueue backend's logic runs through the
 * conformance matrix on Linux (as "kqueue-emul"). This is not kqueue: kqueue_emul.c lists
 * where it differs. Never included by, or linked into, muxbench or libmuxpollers.
 *
 * Constants and the struct layout follow FreeBSD. kqueue() and kevent() are renamed to
 * kqemul_*() so a test binary can never be mistaken for one using a real kqueue.
 */
#ifndef KQUEUE_EMUL_H
#define KQUEUE_EMUL_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

struct kevent {
    uintptr_t ident;       /* the fd */
    short filter;          /* EVFILT_READ or EVFILT_WRITE */
    unsigned short flags;  /* EV_* */
    unsigned int fflags;   /* with EV_EOF: non-zero when a socket error is pending (a stand-in) */
    intptr_t data;         /* EV_ERROR: the errno; otherwise always 0 here */
    void *udata;
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

#define EV_ADD 0x0001     /* add the knote, or modify its udata if it exists */
#define EV_DELETE 0x0002
#define EV_ONESHOT 0x0010 /* deleted once its event is returned */
#define EV_CLEAR 0x0020   /* edge: reported when the condition is renewed */
#define EV_RECEIPT 0x0040 /* answer this change in the eventlist even when it succeeds */
#define EV_ERROR 0x4000   /* returned: data holds the errno of a change */
#define EV_EOF 0x8000     /* returned: end of file / hang-up; fflags may hold an error */

#define EV_SET(kevp, a, b, c, d, e, f)                                                         \
    do {                                                                                       \
        struct kevent *kev_ = (kevp);                                                          \
        kev_->ident = (a);                                                                     \
        kev_->filter = (b);                                                                    \
        kev_->flags = (c);                                                                     \
        kev_->fflags = (d);                                                                    \
        kev_->data = (e);                                                                      \
        kev_->udata = (f);                                                                     \
    } while (0)

int kqemul_kqueue(void);
int kqemul_kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
                  int nevents, const struct timespec *timeout);

#define kqueue() kqemul_kqueue()
#define kevent(...) kqemul_kevent(__VA_ARGS__)

/* The fflags value the adapter reports with EV_EOF when epoll says EPOLLERR (see kqueue_emul.c,
 * divergence a): "an error is pending", not which one. */
#define KQEMUL_PENDING_ERROR EIO

#endif
