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
    ECHO_CTL_HIST,          /* client: the window's latencies (struct echo_hist), after RESULT */
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

/* The latencies of a window as a histogram, for a client that runs on an agent (agent_proto.h):
 * the measuring side merges the agents' histograms into one set of percentiles. Values below
 * 2^ECHO_HIST_SUB_BITS ns have a bucket each; above, each power of two has 2^ECHO_HIST_SUB_BITS
 * buckets, so a bucket's midpoint is within 1/64 (1.6 %) of every value in it. Sent only when
 * echo_client_cfg.histogram is set, after every RESULT (empty when the window failed). */
#define ECHO_HIST_SUB_BITS 5
#define ECHO_HIST_TOP_BIT 40 /* 2^40 ns = 18 minutes: longer latencies land in the last bucket */
#define ECHO_HIST_BUCKETS ((ECHO_HIST_TOP_BIT - ECHO_HIST_SUB_BITS + 2) << ECHO_HIST_SUB_BITS)

struct echo_hist {
    uint32_t op; /* ECHO_CTL_HIST */
    uint32_t pad;
    uint64_t total;
    uint32_t counts[ECHO_HIST_BUCKETS];
};

static inline int echo_hist_bucket(int64_t ns)
{
    const int sub = 1 << ECHO_HIST_SUB_BITS;
    if (ns < sub)
        return ns < 0 ? 0 : (int)ns;
    int top = 63 - __builtin_clzll((unsigned long long)ns);
    if (top > ECHO_HIST_TOP_BIT)
        return ECHO_HIST_BUCKETS - 1;
    int idx = (top - ECHO_HIST_SUB_BITS + 1) * sub +
              (int)((ns >> (top - ECHO_HIST_SUB_BITS)) & (sub - 1));
    return idx < ECHO_HIST_BUCKETS ? idx : ECHO_HIST_BUCKETS - 1;
}

/* The middle of bucket i, in ns. */
static inline double echo_hist_mid(int i)
{
    const int sub = 1 << ECHO_HIST_SUB_BITS;
    if (i < sub)
        return (double)i;
    int top = i / sub - 1 + ECHO_HIST_SUB_BITS;
    double width = (double)(1ULL << (top - ECHO_HIST_SUB_BITS));
    return (double)(1ULL << top) + (double)(i % sub) * width + width / 2;
}

/* The value at quantile q (0..1) of a histogram: the middle of the bucket that holds the
 * sample of rank 1 + floor(q * (total - 1)); 0 for an empty one. */
static inline double echo_hist_quantile(const struct echo_hist *h, double q)
{
    if (!h->total)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)(h->total - 1)) + 1, seen = 0;
    for (int b = 0; b < ECHO_HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank)
            return echo_hist_mid(b);
    }
    return echo_hist_mid(ECHO_HIST_BUCKETS - 1);
}

/* User plus system time of a getrusage() result, in nanoseconds. */
static inline int64_t echo_cpu_ns(const struct rusage *ru)
{
    return ((int64_t)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000LL +
           ((int64_t)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000LL;
}

#endif
