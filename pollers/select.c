/*
 * select.c - select(2): `select`, level-triggered only, with fd sets sized at run time.
 *
 * One wait copies the master read and write bitmaps (max fd + 1 bits each) into scratch sets,
 * calls select(max_fd + 1, ...), then scans the returned bitmaps word by word. Both the copy,
 * the kernel's walk and our scan grow with the highest registered fd: the O(n) of claim C1,
 * here in the fd *number* rather than the fd count.
 *
 * Kernel and libc quirks handled:
 *  a) fd_set is a fixed 1024-bit array, and glibc built with _FORTIFY_SOURCE aborts the
 *     process on FD_SET(fd >= FD_SETSIZE) (the check Debian's libevent select backend dies
 *     on). The kernel itself takes any nfds up to the fd table size, so we keep our own
 *     bitmaps of unsigned long words and never use the FD_* macros.
 *  b) nfds is the highest fd + 1, not the number of fds (lmbench's lat_select passes the
 *     count, measuring less than it claims). We track the highest fd and recompute it on del.
 *  c) select has no hang-up or error bits: a peer's close or a pending socket error makes
 *     the fd readable and/or writable, and we report exactly that (no MUX_F_HUPERR).
 *  d) One fd closed while registered fails the whole call with EBADF. We then find the bad
 *     fds with fcntl() and report them as MUX_ERR, so the caller can del() them.
 *  e) The timeout is a timeval in microseconds; we round nanoseconds up.
 *  f) When more fds are ready than `max`, the next wait resumes the scan where this one
 *     stopped (see poll.c, quirk d).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "pollers/backends.h"
#include "pollers/fdtab.h"

#define WORD_BITS ((int)(sizeof(unsigned long) * CHAR_BIT))

struct select_poller {
    struct poller base;
    unsigned long *want_read, *want_write; /* master sets */
    unsigned long *got_read, *got_write;   /* scratch sets handed to the kernel */
    int words;                             /* allocated length of each set */
    int max_fd;                            /* -1 when nothing is registered */
    int registered;
    int cursor_fd; /* where the next scan starts (quirk f) */
    struct fdtab fds;
};

static inline void bit_set(unsigned long *set, int fd)
{
    set[fd / WORD_BITS] |= 1UL << (fd % WORD_BITS);
}
static inline void bit_clear(unsigned long *set, int fd)
{
    set[fd / WORD_BITS] &= ~(1UL << (fd % WORD_BITS));
}

static int grow_sets(struct select_poller *p, int fd)
{
    int need = fd / WORD_BITS + 1;
    if (need <= p->words)
        return 0;
    int words = p->words ? p->words : 16;
    while (words < need)
        words *= 2;
    unsigned long **sets[] = {&p->want_read, &p->want_write, &p->got_read, &p->got_write};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        unsigned long *n = realloc(*sets[i], (size_t)words * sizeof **sets[i]);
        if (!n)
            return -ENOMEM; /* sets already grown keep their larger size; harmless */
        memset(n + p->words, 0, (size_t)(words - p->words) * sizeof *n);
        *sets[i] = n;
    }
    p->words = words;
    return 0;
}

static int select_create_poller(struct poller **out, const struct poller_cfg *cfg)
{
    struct select_poller *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->max_fd = -1;
    if (grow_sets(p, cfg->expected_fds > 0 ? cfg->expected_fds : 0) < 0) {
        free(p->want_read);
        free(p->want_write);
        free(p->got_read);
        free(p->got_write);
        free(p);
        return -ENOMEM;
    }
    *out = &p->base;
    return 0;
}

static void select_destroy(struct poller *base)
{
    struct select_poller *p = (struct select_poller *)base;
    free(p->want_read);
    free(p->want_write);
    free(p->got_read);
    free(p->got_write);
    fdtab_free(&p->fds);
    free(p);
}

static void set_interest(struct select_poller *p, int fd, uint32_t events)
{
    if (events & MUX_IN)
        bit_set(p->want_read, fd);
    else
        bit_clear(p->want_read, fd);
    if (events & MUX_OUT)
        bit_set(p->want_write, fd);
    else
        bit_clear(p->want_write, fd);
}

static int select_add(struct poller *base, int fd, uint32_t events, void *data)
{
    struct select_poller *p = (struct select_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_add_prologue(&p->fds, base, fd, events, 1, &s);
    if (rc < 0 || (rc = grow_sets(p, fd)) < 0)
        return rc;
    s->events = events;
    s->data = data;
    set_interest(p, fd, events);
    if (fd > p->max_fd)
        p->max_fd = fd;
    p->registered++;
    return 0;
}

static int select_mod(struct poller *base, int fd, uint32_t events, void *data)
{
    struct select_poller *p = (struct select_poller *)base;
    struct fd_slot *s;
    int rc = fdtab_mod_prologue(&p->fds, base, fd, events, &s);
    if (rc < 0)
        return rc;
    s->events = events;
    s->data = data;
    set_interest(p, fd, events);
    return 0;
}

static int select_del(struct poller *base, int fd)
{
    struct select_poller *p = (struct select_poller *)base;
    struct fd_slot *s = fdtab_registered(&p->fds, fd);
    if (!s)
        return -ENOENT;
    s->events = 0;
    s->data = NULL;
    bit_clear(p->want_read, fd);
    bit_clear(p->want_write, fd);
    p->registered--;
    while (p->max_fd >= 0 && !fdtab_registered(&p->fds, p->max_fd))
        p->max_fd--; /* quirk b: amortised, each fd number is passed at most once per add */
    return 0;
}

/* Quirk d: select refused the whole set; name the fds that went bad. */
static int report_bad_fds(struct select_poller *p, struct mux_event *out, int max)
{
    int got = 0;
    for (int fd = 0; fd <= p->max_fd && got < max; fd++) {
        const struct fd_slot *s = fdtab_registered(&p->fds, fd);
        if (s && fd_check_open(fd) < 0)
            out[got++] = (struct mux_event){.fd = fd, .ready = MUX_ERR, .data = s->data};
    }
    return got ? got : -EBADF;
}

static int select_wait_poller(struct poller *base, struct mux_event *out, int max,
                              int64_t timeout_ns)
{
    struct select_poller *p = (struct select_poller *)base;
    if (max <= 0)
        return -EINVAL;
    int words = p->max_fd / WORD_BITS + 1;
    if (p->max_fd < 0)
        words = 0;
    size_t bytes = (size_t)words * sizeof(unsigned long);
    if (words) {
        memcpy(p->got_read, p->want_read, bytes);
        memcpy(p->got_write, p->want_write, bytes);
    }
    struct timeval tv, *tvp = NULL;
    if (timeout_ns >= 0) {
        int64_t us = (timeout_ns + 999) / 1000;
        tv.tv_sec = us / 1000000;
        tv.tv_usec = us % 1000000;
        tvp = &tv;
    }
    /* The kernel reads nfds bits from each set; our sets are at least that long. The casts
     * are what select() takes: fd_set is only a view of an array of longs. */
    int n = select(p->max_fd + 1, words ? (fd_set *)(void *)p->got_read : NULL,
                   words ? (fd_set *)(void *)p->got_write : NULL, NULL, tvp);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return errno == EBADF ? report_bad_fds(p, out, max) : -errno;
    }
    if (n == 0)
        return 0;
    /* Scan from the cursor fd to the end, then wrap to the bits below it (quirk f): the first
     * pass takes the cursor word's high bits, the last pass the same word's low bits. */
    int got = 0;
    int start = p->cursor_fd <= p->max_fd ? p->cursor_fd : 0;
    int sw = start / WORD_BITS;
    unsigned long high = ~0UL << (start % WORD_BITS);
    for (int k = 0; k <= words; k++) {
        int w = (sw + k) % words;
        unsigned long bits = (p->got_read[w] | p->got_write[w]) &
                             (k == 0 ? high : k == words ? ~high : ~0UL);
        while (bits) {
            int fd = w * WORD_BITS + __builtin_ctzl(bits);
            if (got == max) {
                p->cursor_fd = fd; /* the first one not delivered goes first next time */
                return got;
            }
            unsigned long mask = bits & -bits;
            bits &= bits - 1;
            uint32_t ready = ((p->got_read[w] & mask) ? MUX_IN : 0u) |
                             ((p->got_write[w] & mask) ? MUX_OUT : 0u);
            out[got++] = (struct mux_event){
                .fd = fd, .ready = ready, .data = fdtab_get(&p->fds, fd)->data};
        }
    }
    return got;
}

const struct poller_ops select_ops = {
    .name = "select",
    .summary = "select(2) with run-time sized bitmaps (fds above FD_SETSIZE work)",
    .features = MUX_F_LEVEL,
    .create = select_create_poller,
    .destroy = select_destroy,
    .add = select_add,
    .mod = select_mod,
    .del = select_del,
    .wait = select_wait_poller,
};
