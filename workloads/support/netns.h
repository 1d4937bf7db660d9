/*
 * netns.h - the two network namespaces of echo's transport=veth: a server namespace and a
 * client namespace joined by a veth pair, made with iproute2's `ip` (root required).
 *
 *   server namespace  muxbench-<pid>-s  interface mbx<pid>s  NETNS_SERVER_ADDR/24
 *   client namespace  muxbench-<pid>-c  interface mbx<pid>c  NETNS_CLIENT_ADDR/24
 *
 * The addresses (10.199.0.0/24) exist only inside the two namespaces: no route of the machine's
 * own namespace knows them, so no traffic of a run leaves the pair. The names carry the run's
 * pid, so runs at the same time do not collide; a pair left by a run that died by SIGKILL (the
 * only way out with no clean-up) is removed by the next run that makes a pair, and named on
 * stderr.
 *
 * Removal is an unmount and an unlink of each name (what `ip netns del` does): async-signal-safe,
 * so the workload's interrupted() hook and the crash handler can call netns_remove_current().
 * A namespace lives on until its last socket and process are gone; the veth pair goes with it.
 */
#ifndef MUX_NETNS_H
#define MUX_NETNS_H

#include <stddef.h>

#define NETNS_SERVER_ADDR "10.199.0.1"
#define NETNS_CLIENT_ADDR "10.199.0.2"

struct netns_pair {
    char server[64], client[64]; /* names under /run/netns; "" when not made */
};

/* Whether this process can make the pair: 0, or -1 with why (not root, no `ip`). */
int netns_available(char *why, size_t len);
/* Makes both namespaces, the veth pair, the addresses, and brings the links up. 0, or -1 with
 * why (and nothing left behind). */
int netns_pair_create(struct netns_pair *p, char *why, size_t len);
/* Removes both namespaces (safe when not made, and twice). */
void netns_pair_remove(struct netns_pair *p);
/* Async-signal-safe: removes the pair this process has made, if any. It first waits (at most
 * 5 s) for the run's thread to finish a pair it is making or removing, so nothing is left when
 * it returns; after it, netns_pair_create refuses (the run is ending). */
void netns_remove_current(void);

/* Moves the calling thread into namespace `name` (under /run/netns). Returns an fd of the
 * namespace it was in (for netns_leave), or -errno. */
int netns_enter(const char *name);
/* Moves the calling thread back into the namespace of `saved` and closes it. */
void netns_leave(int saved);

#endif
