/*
 * pollmask.h - the readiness API's bits to and from poll(2)'s mask, which poll.c hands to the
 * kernel in a pollfd and uring.c in a poll SQE (io_uring reports the same mask in its CQE).
 * POLLRDHUP is always asked for: a TCP peer's close raises it, not POLLHUP.
 */
#ifndef MUX_POLLMASK_H
#define MUX_POLLMASK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP */
#endif
#include <poll.h>
#include <stdint.h>

#include "pollers/poller.h"

static inline unsigned mux_to_pollmask(uint32_t events)
{
    unsigned e = POLLRDHUP;
    if (events & MUX_IN)
        e |= POLLIN;
    if (events & MUX_OUT)
        e |= POLLOUT;
    return e;
}

static inline uint32_t mux_from_pollmask(unsigned e)
{
    uint32_t r = 0;
    if (e & (POLLIN | POLLPRI))
        r |= MUX_IN;
    if (e & POLLOUT)
        r |= MUX_OUT;
    if (e & (POLLHUP | POLLRDHUP))
        r |= MUX_HUP;
    if (e & (POLLERR | POLLNVAL))
        r |= MUX_ERR;
    return r;
}

#endif
