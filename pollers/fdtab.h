/*
 * fdtab.h - a per-fd table shared by the backends: what is registered for each fd, the
 * caller's data pointer, and a generation number that lets a backend recognise a stale event
 * (one queued for an earlier registration of the same fd number, as io_uring's completion
 * ring and a coalesced kevent list can hold).
 *
 * Indexed directly by fd: fds are small dense integers, the table grows to the largest fd
 * registered and never shrinks while the poller lives. Growing happens in add(), not in wait().
 */
#ifndef MUX_FDTAB_H
#define MUX_FDTAB_H

#include <stdint.h>

#include "pollers/poller.h"

struct fd_slot {
    uint32_t events; /* the caller's interest and mode bits; 0 = not registered */
    uint32_t gen;    /* bumped at every add and del of this fd */
    void *data;
    int index;       /* backend-defined: position in a dense array, or -1 */
    uint32_t state;  /* backend-defined flags (armed, reported in this wait, ...) */
    uint32_t mark;   /* backend-defined: the wait call that last reported this fd */
};

struct fdtab {
    struct fd_slot *slots;
    int cap;
};

/* Makes slots[fd] addressable; returns 0 or -ENOMEM. fd must be >= 0. */
int fdtab_reserve(struct fdtab *t, int fd);
static inline struct fd_slot *fdtab_get(const struct fdtab *t, int fd)
{
    return (fd >= 0 && fd < t->cap) ? &t->slots[fd] : (struct fd_slot *)0;
}
/* The slot if the fd is registered, else NULL. */
static inline struct fd_slot *fdtab_registered(const struct fdtab *t, int fd)
{
    struct fd_slot *s = fdtab_get(t, fd);
    return (s && s->events) ? s : (struct fd_slot *)0;
}
void fdtab_free(struct fdtab *t);

/* The checks every add() starts with, in the contract's order: events valid for the backend
 * (-EINVAL, -EOPNOTSUPP), the fd (-EBADF: negative, or not open when check_open), not yet
 * registered (-EEXIST); then the slot made addressable. 0 with *slot set, or -errno. */
int fdtab_add_prologue(struct fdtab *t, const struct poller *p, int fd, uint32_t events,
                       int check_open, struct fd_slot **slot);
/* The checks every mod() starts with: events valid, fd registered (-ENOENT). */
int fdtab_mod_prologue(struct fdtab *t, const struct poller *p, int fd, uint32_t events,
                       struct fd_slot **slot);

/* 0 if fd names an open file, else -EBADF. One fcntl(F_GETFD): select and poll use it in
 * add() because their system calls only notice a bad fd at the next wait. */
int fd_check_open(int fd);

#endif
