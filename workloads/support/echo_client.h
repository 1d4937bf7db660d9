/*
 * echo_client.h - echo's load generator: `units` connections to the server's address, driven
 * over the control protocol (echo_proto.h) by the measuring side.
 *
 * One thread, epoll, nonblocking sockets. A window of RUN count=r: every connection sends a
 * 64-byte request and waits for its echo, r times, one request in flight per connection (a
 * closed loop); each latency is taken from the request's send to its echo's last byte, and every
 * echo is compared with its request. The figures go back in one RESULT message.
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
