/*
 * echo_proto.h - the control protocol between the echo workload (the measuring side, which
 * runs the server) and its client (the load generator, echo_client.h): one struct echo_ctl per
 * SOCK_SEQPACKET message (helper_proc.h's channel), in this order:
 *
 *   client                                    server
 *   CONNECTED count=b  (b connections made) ─►
 *                                          ◄─ ACK               (the b accepted)
 *   ... until every connection is made, then
 *   READY cpu=c        (bound to cpu c)     ─►
 *                                          ◄─ RUN count=r trim=t rate_per_s=q
 *                                             (t + r requests per connection, the first t of
 *                                             each not measured; q > 0: open loop at q/s)
 *   RESULT (window, percentiles, cpu time)  ─►   ... RUN / RESULT again, once per window
 *                                          ◄─ (the channel closes: close every connection, exit)
 *   ERROR count=k      (connecting failed after k connections, text says why) instead of
 *                       CONNECTED or READY; RESULT with err != 0 when a window failed.
 *
 * Both sides run on one machine and read one CLOCK_MONOTONIC; every time in a message is the
 * client's.
 */
#ifndef MUX_ECHO_PROTO_H
#define MUX_ECHO_PROTO_H

#include <stdint.h>
#include <sys/resource.h>

#define ECHO_MSG_BYTES 64                 /* one request, and its echo */
#define ECHO_MAX_EVENTS 256               /* events per wait, client and scheduler */
#define ECHO_BATCH_MAX 256                /* connections per connect/accept batch */
#define ECHO_STALL_NS (10 * 1000000000LL) /* client: no echo for this long is an error */
#define ECHO_CTL_TIMEOUT_MS (600 * 1000)  /* either side: a backstop against a stopped peer */

enum echo_ctl_op {
    ECHO_CTL_CONNECTED = 1, /* client: `count` more connections made; the server accepts them */
    ECHO_CTL_ACK,           /* server: accepted */
    ECHO_CTL_READY,         /* client: all connected, bound to `cpu` */
    ECHO_CTL_RUN,           /* server: every connection makes `count` requests */
    ECHO_CTL_RESULT,        /* client: the window's figures (err != 0: it failed, text says how) */
    ECHO_CTL_ERROR,         /* client: connecting failed after `count` connections */
};

struct echo_ctl {
    uint32_t op;
    int32_t err;
    uint64_t count;      /* RUN: measured requests per connection; RESULT: latency samples */
    uint32_t trim;       /* RUN: requests per connection before the measured ones */
    uint64_t rate_per_s; /* RUN: open loop at this rate, all connections; 0: closed loop */
    uint64_t measured;   /* RESULT: echoes completed within the window (for the throughput) */
    int64_t window_ns, p50_ns, p99_ns, cpu_ns;
    uint64_t mismatches;
    int32_t cpu;
    char text[180];
};

/* User plus system time of a getrusage() result, in nanoseconds. */
static inline int64_t echo_cpu_ns(const struct rusage *ru)
{
    return ((int64_t)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000LL +
           ((int64_t)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000LL;
}

#endif
