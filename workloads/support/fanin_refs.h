/*
 * fanin_refs.h - the figures fanin sets beside each wait it times, so that a reader can tell
 * what the wait's figure carries and what a loop pays outside it: the cost of the timing
 * bracket itself, a bare poll() over the same fds, registering and removing an fd, and a wait
 * over idle fds.
 */
#ifndef MUX_FANIN_REFS_H
#define MUX_FANIN_REFS_H

#include <stddef.h>
#include <stdint.h>

#include "pollers/poller.h"

/* The user data fanin registers fd index idx with: never NULL, so a zeroed event is caught. */
#define FANIN_TOKEN(idx) ((void *)(uintptr_t)((idx) + 1))

/* bracket_ns: the median of 1,001 empty timing brackets (two clock reads, as around a wait). */
double fanin_bracket_ns(void);

/* bare_poll_ns: the mean of k poll() calls (k from n: 8 to 256) over fds[0, n), made directly,
 * no backend, each timed as a wait is; each must return `expected` (the wave the caller wrote,
 * which level-triggered poll() leaves unconsumed). timeout_ms is poll()'s. 0, or -1 with err. */
int fanin_bare_poll_ns(const int *fds, int n, int timeout_ms, int expected, double *out_ns,
                       char *err, size_t len);

/* Adds fds[from, to) to p for MUX_IN | mode with FANIN_TOKEN(i); on failure, the backend's
 * -errno with *failed_at the index that failed (the ones before it stay registered). */
int fanin_register(struct poller *p, const int *fds, int from, int to, uint32_t mode,
                   int *failed_at);

/* The fds a case watches and its poller, as the registration figures need them. */
struct fanin_watch {
    const struct poller_ops *ops;
    struct poller *p;      /* the case's poller: fds[0, n) registered, none ready */
    const int *fds;
    int n;
    uint32_t mode;         /* as registered: MUX_EDGE, MUX_ONESHOT or 0 */
    struct mux_event *out; /* room for out_max events */
    int out_max;
    int expected_fds;      /* the poller_cfg hint for a fresh poller */
};

struct fanin_reg_figures {
    double add_ns, del_ns, idle_ns;
};

/* idle_wait_ns: k zero-timeout waits on the case's poller, timed as one region, over k; add_ns
 * and del_ns: the n adds (dels) on a fresh poller of the same backend, so that every add is a
 * first registration and the case's poller is never disturbed, plus the first zero-timeout
 * wait after them minus an idle one (the "flush" a library that defers its system calls pays
 * there), over n. 0, or -1 with err (a wait over idle fds that returned anything, a failed add
 * or del). */
int fanin_registration(const struct fanin_watch *w, struct fanin_reg_figures *f, char *err,
                       size_t len);

#endif
