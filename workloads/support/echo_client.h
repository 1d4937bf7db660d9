/*
 * echo_client.h - echo's load generator: `units` connections to the server's address, driven
 * over the control protocol (echo_proto.h) by the measuring side.
 *
 * One thread, epoll, nonblocking sockets, one request in flight per connection. A window of
 * RUN count=r trim=t: every connection makes t + r requests of 64 bytes, each echo compared with
 * its request; the first t of each connection are not measured (warm-up: in a closed loop the
 * first round is a burst of `units` simultaneous sends).
 *
 *   closed loop (rate_per_s 0): each connection sends its next request at its echo; a latency
 *     runs from the send to the echo's last byte. A stalled server holds back the requests that
 *     would have waited (coordinated omission): latencies are of the requests that were sent.
 *   open loop (rate_per_s q): request j of the window (connection j % units) is due at
 *     start + j / q and is sent then, or at its connection's previous echo if that is later; a
 *     latency runs from the time the request was due (what wrk2 does), so a stall shows in every
 *     request that should have been sent during it. A timerfd wakes the loop at the next due
 *     time.
 *
 * The window, for the throughput, runs from the first measured request (its send, or its due
 * time) to the last echo, and counts every echo completed in it. The figures go back in one
 * RESULT message.
 *
 * It needs nothing of the measuring process but the configuration and the channel, so it runs
 * as a forked helper (echo_client_main as helper_proc.h's function) or in any other process that
 * holds a control channel.
 */
#ifndef MUX_ECHO_CLIENT_H
#define MUX_ECHO_CLIENT_H

#include <sys/socket.h>

#include "harness/placement.h"

struct echo_client_cfg {
    struct sockaddr_storage addr; /* the server's listening address */
    socklen_t addrlen;
    int tcp;   /* TCP_NODELAY on each connection, and an abortive close (SO_LINGER 0) */
    long units; /* connections */
    int batch;  /* connections per CONNECTED message (the server's accept backlog) */
    int bind;   /* bind to pl.cpu[1] first (and say so in READY) */
    struct placement pl;
    int histogram; /* after each RESULT, send the window's latencies as an echo_hist (agents) */
};

/* Runs the client on the control channel `ctl` with the configuration at `cfg` (a struct
 * echo_client_cfg) until the measuring side closes the channel; then closes every connection.
 * Returns 0, or 1 when it could not get ready (ERROR was sent when the channel allowed). */
int echo_client_main(int ctl, void *cfg);

#endif
