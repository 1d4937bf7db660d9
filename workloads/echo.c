/*
 * echo.c - many connections, each served by its own blocking thread or by its own coroutine
 * over one poller: requests/s, latency and the server's resident memory from 10 to 10,000
 * connections (docs/design.md; seed 002 sections 4 and 5: "threads vs async for many
 * connections", "1,000 threads = 8 GB", "async wins for high concurrency").
 *
 * One op is one request: the client sends a 64-byte message on one connection and waits for
 * the same 64 bytes to come back.
 *
 * This file is the workload: the case (setup, the timed window, clean-up) and the planner. The
 * machinery is in workloads/support/: the client (echo_client.c, the load generator, callable
 * in any process that holds a control channel), the server (echo_server.c, threads or
 * coroutines), the control protocol between them (echo_proto.h), and the helper process the
 * client runs in (helper_proc.c, shared with fanin).
 *
 *   client process (the load generator:             muxbench process (the server, measured)
 *   1 thread, epoll, `units` connections)
 *
 *   t0 = clock_gettime(MONOTONIC)
 *   send(64 B) ──── loopback tcp or unix socket ───►  variant thread: that connection's thread
 *        |                                              wakes in its blocking read()
 *        |        one op = one request                variant coroutine: poller_wait() reports
 *        |                                              the fd, its coroutine is resumed, read()
 *   read() <───────────────────────────────────────   send() of the same 64 bytes
 *   t1 = clock_gettime(MONOTONIC); latency = t1 - t0; the 64 bytes are compared with those sent
 *   loop=closed: the next request on this connection at once, one in flight per connection
 *   loop=open:   the next request when it is due at `rate` (t0 = the time it was due, below)
 *
 * Variants (the CSV's `variant`):
 *   thread     one thread per connection (pthread, `stack_bytes` stacks: by default the C
 *              library's default, i.e. RLIMIT_STACK, 8 MiB here), blocking read and send. No
 *              poller is involved, so these rows have an empty `poller` column; they are planned
 *              once per run, with the first available backend of --poller (a run whose every
 *              selected backend is unavailable has no thread rows).
 *   coroutine  one coroutine per connection (guarded coro-asm stacks of `stack_bytes`, 64 KiB
 *              by default) on the cosched scheduler over the case's poller, all on one server
 *              thread. A coroutine parks until its fd is readable, reads once (one message in
 *              flight fits the 1 KiB buffer, so one read drains the socket; a full buffer is
 *              read again before parking), sends the echo and parks again: the loop of a
 *              level-triggered event loop, with no read per request that returns EAGAIN. The
 *              scheduler's registration policy is the `reg` column (workloads/runtime/sched.h):
 *              reg=auto is `keep` on level backends (select, poll, epoll, the level peers:
 *              registered once and kept while the coroutine answers, 0 epoll_ctl per request,
 *              what a level event loop does) and the scheduler's own choice on edge- or
 *              oneshot-forced ones (edge: 0 calls, oneshot: 1 mod per request). reg=per-wait
 *              is the old default (an add and a del per request: two epoll_ctl on epoll),
 *              kept as a choice to show what it costs; a policy a backend cannot do is a
 *              skipped row.
 *   Both run the same serve() loop with the same 1 KiB buffer on their stack.
 *
 * Load (the CSV's `loop` and `rate`; the client is workloads/support/echo_client.c):
 *   closed  each connection sends its next request when the echo of the last one arrives. A
 *           stalled server stops the requests that would have waited (coordinated omission),
 *           so the latency figures understate queueing; the throughput is the server's
 *           capacity with `units` requests in flight.
 *   open    requests are due at a set rate over all connections (request j at start + j / rate,
 *           on connection j % units), sent when due, or at the connection's previous echo if that
 *           is later (one in flight per connection); each latency is taken from the time the
 *           request was due, as wrk2 does, so a stall counts in every request due during it.
 *           rate=auto (the default) is half the closed-loop rate of the case's warm-up, written
 *           in the row's `rate`; a rate above the server's capacity shows as a throughput below
 *           `rate` and latencies that grow with the window.
 *   Both trim the first request of every connection (ECHO_TRIM_ROUNDS): in a closed loop the
 *   first round is a burst of `units` simultaneous sends. Trimmed requests are made but not in
 *   the latency samples, and the window starts at the first measured request.
 *
 * One repetition: every connection makes exactly 1 + `rounds` requests (the first trimmed); the
 * window is from the first measured request (its send, closed loop; its due time, open loop) to
 * the last completed echo (the client's clock; both processes read the same CLOCK_MONOTONIC).
 * rounds is chosen once per case, after an untimed closed-loop warm-up of 2 rounds, so that a
 * window lasts about 0.25 s (0.05 s with --quick) at the warm-up's rate (closed) or at `rate`
 * (open), and at least 5 rounds (3) with at most 1,000,000 requests: the `iterations` column is
 * units x rounds, the measured requests of one repetition. Connections, threads and coroutines
 * persist across repetitions (setup).
 *
 * Metrics (one value per repetition, then the usual statistics over repetitions):
 *   req_per_s         echoes completed within the window / window (all units x (1 + rounds)
 *                     must complete, each echo byte-identical to its request, or the case is an
 *                     error)
 *   p50_us, p99_us    percentiles of the measured requests' latencies, computed in the client
 *   rss_bytes         Rss of the muxbench process from /proc/self/smaps_rollup, read right after
 *                     the window with every connection open and every thread or coroutine
 *                     alive: the server's threads or coroutines and their stacks, the
 *                     connection records, plus the harness itself (its size before the case's
 *                     connections is in the note, and so is the virtual size with them: the
 *                     "8 MB per thread" is there). Not the client's memory, and not the
 *                     kernel's (socket buffers, kernel stacks of threads: see `memory`).
 *   server_cpu_ratio  CPU time of the muxbench process during the window / window (getrusage)
 *   client_cpu_ratio  the same for the client process: near 1 means the client was saturated
 *                     and the figure is the client's limit, not the server's
 * What a latency includes: the client's send system call (on loopback it delivers the bytes and
 * wakes the server), the server's wake-up (a thread scheduled / a poller wait returning and a
 * coroutine switch), the server's read and send, and the time the echo waits until the client's
 * epoll loop gets to it. With every connection busy, latency ~ units / throughput (Little's
 * law): at many connections p50 measures the queue of the closed loop more than one request's
 * service time; the spread (p99 / p50) shows how fairly connections are served.
 *
 * Placement (`placement`, pairs of cpus as in ctxswitch): the server side (the main thread and
 * every server thread, which inherit its binding) on the pair's first cpu, the client on the
 * second; both bindings are checked. Default same-l3: two different cores, so the server gets
 * one core and the client the other. On a 2-core machine that is everything: the client
 * competes with nothing, and a threaded server is held to one core like the single-threaded
 * coroutine server (a threaded server could otherwise spread over cores the coroutine server
 * cannot use). `unpinned` lets the scheduler decide (and lets client and server compete).
 *
 * Limits are data (methodology.md): before connecting, the case checks (echo_server_room(),
 * support/echo_server.c) the fd limit (each side needs units fds plus a few; the soft
 * RLIMIT_NOFILE is raised to the hard one for the case and restored), the memory available
 * (units_memory_room()'s rule, shared with memory and spawn: MemAvailable or the cgroup's room,
 * less a reserve of max(512 MiB, MemTotal / 10), against a generous per-connection estimate;
 * re-checked every 512 threads or coroutines) and, for threads, kernel.threads-max. Any of
 * them, or EAGAIN from pthread_create or fork, or EMFILE/EADDRNOTAVAIL while connecting, ends
 * the case as a `limit` row (units_reached: how many threads/coroutines/connections existed)
 * and skips the rest of the sweep. units above 1,048,576 (2^20, the kernel's default
 * fs.nr_open: no process may hold that many fds without reconfiguring the kernel) is refused
 * as bad usage (exit 2), as are stacks below 16 KiB.
 *
 * Clean-up, on every path: closing the control socket tells the client to close its sockets
 * (tcp: with SO_LINGER 0, an abortive close, so 10,000 connections leave no TIME_WAIT behind
 * to exhaust the ephemeral ports of the next case) and exit; it is reaped with waitpid (killed
 * after 5 s), and dies with PR_SET_PDEATHSIG if muxbench does. The server fds are then shut
 * down (waking any server still blocked), every thread joined, every fd closed.
 *
 * Clients elsewhere (docs/agents.md, workloads/support/echo_remote.h): with `clients=ADDR:PORT,...`
 * the same client runs on `muxbench agent`s (other machines), with transport=veth on agents
 * this run starts in a network namespace of its own (the server's socket in another, a veth
 * pair between them). The connections are spread over the agents; each agent times its own
 * requests on its own clock and sends its counts and a latency histogram; req_per_s is the sum
 * of the agents' own rates, p50/p99 come from the merged histograms (within 1.6 %), the window
 * is the longest agent's, and no two machines' clocks are ever subtracted. The agents' clients
 * are not pinned; the server's placement still applies. client_cpu_ratio is the most loaded
 * agent's, agent<N>_client_cpu_ratio each one's. The columns `clients` and `agents` say which.
 *
 * What it does not measure: a real network (loopback skips the NIC, interrupts and the wire;
 * agents on other machines add them, transport=veth adds a network device only);
 * request parsing or any work per request; more than one request in flight per connection
 * (pipelining); a thread pool, or a multi-threaded event loop; connection set-up and tear-down
 * (untimed); servers with more cores than the client has; the kernel memory per connection.
 *
 * Quirks handled:
 *  a) The client connects in batches of at most 256 (and at most net.core.somaxconn) and waits
 *     for the server to accept each batch: a full tcp accept queue drops SYNs, which costs a
 *     1 s retransmission per connection.
 *  b) The client is a fork of muxbench (helper_proc.h): it closes every inherited fd but its
 *     control socket, blocks every signal (Ctrl-C goes to muxbench's signal thread) and leaves
 *     with _exit() so no atexit handler of the harness runs twice.
 *  c) send() with MSG_NOSIGNAL on both sides: a peer reset during clean-up is an error code,
 *     not a SIGPIPE.
 *  d) TCP_NODELAY on every tcp socket (small request/response messages and Nagle's algorithm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "harness/placement.h"
#include "harness/planner.h"
#include "harness/sysinfo.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/echo_client.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/echo_remote.h"
#include "workloads/support/echo_server.h"
#include "workloads/support/helper_proc.h"
#include "workloads/support/units.h"

#define ECHO_UNITS_MAX 1048576L
#define ECHO_STACK_MIN ((size_t)16 * 1024)
#define ECHO_REQUESTS_MAX 1000000 /* per window */
#define ECHO_CLIENT_GRACE_MS 5000 /* for the client's orderly exit before SIGKILL */
#define ECHO_TRIM_ROUNDS 1        /* requests per connection before the measured ones */
#define ECHO_RATE_MAX 100000000   /* the `rate` parameter's ceiling (params.def) */

static const char *const variant_names[] = {"thread", "coroutine", NULL};

/* ---- one case ----------------------------------------------------------------------------- */

struct echo {
    /* what the planner chose (srv's configuration too) */
    struct echo_server srv;
    int quick;
    int open;      /* loop=open: requests at `rate`, latency from each one's due time */
    uint64_t rate; /* open loop, per second; 0: auto (half the warm-up's closed-loop rate) */
    char group[192];

    /* the case, from setup to teardown */
    struct placement pl;
    int bound;
    int server_cpu, client_cpu;
    struct rlimit nofile_saved;
    int nofile_raised;
    struct echo_client_cfg ccfg;
    struct helper client;
    struct echo_agents ag; /* the clients on agents (ag.spec.n > 0), else `client` */
    uint64_t rounds;
    long rss_base;

    /* one repetition */
    struct echo_ctl res;
    double server_cpu_ns;
};

static int fail_setup(struct bench_case *c, int rc, double reached, char *msg, size_t len,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void echo_cleanup(struct echo *e);

static int fail_setup(struct bench_case *c, int rc, double reached, char *msg, size_t len,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    c->limit_reached = reached;
    echo_cleanup(c->ctx);
    return rc;
}

/* Undoes whatever setup did, in order; safe to call at any point and twice. */
static void echo_cleanup(struct echo *e)
{
    /* Closing the channel tells the client to close its connections and exit. */
    helper_stop(&e->client, ECHO_CLIENT_GRACE_MS);
    echo_agents_close(&e->ag);
    echo_server_stop(&e->srv);
    if (e->bound) {
        placement_unbind_self();
        e->bound = 0;
    }
    if (e->nofile_raised) {
        setrlimit(RLIMIT_NOFILE, &e->nofile_saved);
        e->nofile_raised = 0;
    }
}

static int check_window(struct echo *e, uint64_t rounds, char *msg, size_t len);

/* The client's window of `rounds` measured requests per connection after `trim` more, at
 * `rate` per second (0: closed loop); 0, or -1 with msg. */
static int run_window(struct echo *e, uint64_t rounds, uint32_t trim, uint64_t rate, char *msg,
                      size_t len)
{
    struct echo_ctl m = {.op = ECHO_CTL_RUN, .count = rounds, .trim = trim, .rate_per_s = rate};
    if (e->ag.spec.n) {
        if (echo_agents_window(&e->ag, &m, &e->res, msg, len) < 0)
            return -1;
        return check_window(e, rounds, msg, len);
    }
    int rc = helper_send(e->client.ctl, &m, sizeof m);
    if (rc == 0)
        rc = helper_recv(e->client.ctl, &e->res, sizeof e->res, ECHO_CTL_TIMEOUT_MS);
    if (rc < 0) {
        snprintf(msg, len, "the client process %s",
                 rc == -ETIMEDOUT ? "sent no result in 600 s" : "is gone");
        return -1;
    }
    const struct echo_ctl *r = &e->res;
    if (echo_server_check(&e->srv, msg, len) < 0)
        return -1;
    if (r->op != ECHO_CTL_RESULT || r->err) {
        snprintf(msg, len, "%s",
                 r->op == ECHO_CTL_RESULT ? r->text : "the client broke the protocol");
        return -1;
    }
    return check_window(e, rounds, msg, len);
}

/* The checks of a window's (combined) result: the server's serve loops, every request done,
 * every echo equal to its request. 0, or -1 with msg. */
static int check_window(struct echo *e, uint64_t rounds, char *msg, size_t len)
{
    const struct echo_ctl *r = &e->res;
    if (echo_server_check(&e->srv, msg, len) < 0)
        return -1;
    if (r->count != rounds * (uint64_t)e->srv.nconns || r->mismatches) {
        snprintf(msg, len, "%llu of %llu requests completed, %llu echoes differed from their "
                 "request", (unsigned long long)r->count,
                 (unsigned long long)(rounds * (uint64_t)e->srv.nconns),
                 (unsigned long long)r->mismatches);
        return -1;
    }
    return 0;
}

/* The control channel of load generator i: the local client's, or agent i's session. */
static int peer_send(struct echo *e, int i, const void *m, size_t n)
{
    return e->ag.spec.n ? echo_agents_send(&e->ag, i, m, n) : helper_send(e->client.ctl, m, n);
}

static int peer_recv(struct echo *e, int i, void *m, size_t n)
{
    return e->ag.spec.n ? echo_agents_recv(&e->ag, i, m, n, ECHO_CTL_TIMEOUT_MS)
                        : helper_recv(e->client.ctl, m, n, ECHO_CTL_TIMEOUT_MS);
}

/* Accepts the client's connections batch by batch (with agents: each agent's in turn, the next
 * one started when the one before is ready); BENCH_OK or a failure (cleaned up). */
static int accept_all(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    struct echo_server *s = &e->srv;
    struct echo_ctl m;
    const int npeers = e->ag.spec.n ? e->ag.spec.n : 1;
    for (int p = 0; p < npeers; p++) {
        char who[96] = "the client process", why[256];
        long target = s->units;
        if (e->ag.spec.n) {
            snprintf(who, sizeof who, "agent %s", e->ag.spec.text[p]);
            target = s->nconns + e->ag.a[p].units;
            if (p > 0 && echo_agents_start(&e->ag, s, p, e->ccfg.batch, why, sizeof why) < 0)
                return fail_setup(c, BENCH_ERROR, (double)s->nconns, msg, len, "%s", why);
        }
        while (s->nconns < target) {
            int rc = peer_recv(e, p, &m, sizeof m);
            if (rc < 0)
                return fail_setup(c, BENCH_ERROR, (double)s->nconns, msg, len,
                                  "%s died while connecting (%s)", who, strerror(-rc));
            if (m.op == ECHO_CTL_ERROR) {
                int limit = m.err == EMFILE || m.err == ENFILE || m.err == EADDRNOTAVAIL ||
                            m.err == ENOMEM || m.err == ENOBUFS || m.err == EAGAIN;
                return fail_setup(c, limit ? BENCH_LIMIT : BENCH_ERROR, (double)m.count, msg,
                                  len, "%s", m.text);
            }
            if (m.op != ECHO_CTL_CONNECTED || m.count > (uint64_t)(target - s->nconns))
                return fail_setup(c, BENCH_ERROR, (double)s->nconns, msg, len,
                                  "%s broke the protocol while connecting", who);
            rc = echo_server_accept(s, (long)m.count, why, sizeof why);
            if (rc != BENCH_OK)
                return fail_setup(c, rc, (double)s->nconns, msg, len, "%s", why);
            m.op = ECHO_CTL_ACK;
            if (peer_send(e, p, &m, sizeof m) < 0)
                return fail_setup(c, BENCH_ERROR, (double)s->nconns, msg, len,
                                  "%s died while connecting", who);
        }
        if (peer_recv(e, p, &m, sizeof m) < 0 || m.op != ECHO_CTL_READY)
            return fail_setup(c, BENCH_ERROR, (double)s->nconns, msg, len,
                              "%s did not get ready%s%s", who, m.op == ECHO_CTL_ERROR ? ": " : "",
                              m.op == ECHO_CTL_ERROR ? m.text : "");
        e->client_cpu = m.cpu;
    }
    return BENCH_OK;
}

static int start_and_size(struct bench_case *c, char *msg, size_t len);

static int echo_setup(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    struct echo_server *s = &e->srv;
    e->client = (struct helper)HELPER_NONE;
    echo_agents_init(&e->ag);
    e->bound = e->nofile_raised = 0;
    echo_server_init(s);
    e->rss_base = sys_rss_bytes();

    char why[512];
    int pl = placement_lookup(c->id.v[COL_PLACEMENT]);
    if (placement_resolve((enum placement_id)pl, &e->pl, why, sizeof why) != 0)
        return fail_setup(c, BENCH_SKIP, 0, msg, len, "placement %s: %s",
                          c->id.v[COL_PLACEMENT], why);
    if (s->variant == ECHO_COROUTINE && cosched_reg_resolve(s->ops, s->reg) < 0)
        return fail_setup(c, BENCH_SKIP, 0, msg, len, "%s cannot do the %s registration policy",
                          s->ops->name, cosched_reg_name(s->reg));
    int rc = echo_server_room(s, &e->nofile_saved, &e->nofile_raised, why, sizeof why);
    if (rc != BENCH_OK)
        return fail_setup(c, rc, 0, msg, len, "%s", why);
    e->server_cpu = placement_current_cpu();
    if (e->pl.cpu[0] >= 0) {
        rc = placement_bind_self(&e->pl, 0, &e->server_cpu);
        if (rc)
            return fail_setup(c, BENCH_ERROR, 0, msg, len, "binding the server to cpu %d: %s",
                              e->pl.cpu[0], strerror(-rc));
        e->bound = 1;
    }
    long somaxconn = sys_long("/proc/sys/net/core/somaxconn", ECHO_BATCH_MAX);
    const int batch = somaxconn < ECHO_BATCH_MAX ? (int)(somaxconn > 0 ? somaxconn : 1)
                                                 : ECHO_BATCH_MAX;
    if (e->ag.spec.n) { /* agents: the server listens where they reach it */
        e->ccfg.batch = batch;
        rc = echo_agents_open(&e->ag, s, batch, why, sizeof why);
        if (rc != BENCH_OK)
            return fail_setup(c, rc, 0, msg, len, "%s", why);
        rc = accept_all(c, msg, len);
        return rc != BENCH_OK ? rc : start_and_size(c, msg, len);
    }
    rc = echo_server_listen(s);
    if (rc < 0)
        return fail_setup(c, rc == -EMFILE ? BENCH_LIMIT : BENCH_ERROR, 0, msg, len,
                          "listening socket: %s", strerror(-rc));
    e->ccfg = (struct echo_client_cfg){
        .addr = s->addr,
        .addrlen = s->addrlen,
        .tcp = s->tcp,
        .units = s->units,
        .batch = batch,
        .bind = e->bound,
        .pl = e->pl,
    };
    char hmsg[256];
    rc = helper_start(&e->client, "muxbench-client", echo_client_main, &e->ccfg, hmsg,
                      sizeof hmsg);
    if (rc < 0)
        return fail_setup(c, rc == -EAGAIN || rc == -ENOMEM || rc == -EMFILE ? BENCH_LIMIT
                                                                             : BENCH_ERROR,
                          0, msg, len, "the client process: %s", hmsg);

    rc = accept_all(c, msg, len);
    return rc != BENCH_OK ? rc : start_and_size(c, msg, len);
}

/* With every connection accepted: starts the server, warms up, sizes the window, writes the
 * note. BENCH_OK or a failure (cleaned up). */
static int start_and_size(struct bench_case *c, char *msg, size_t len)
{
    struct echo *e = c->ctx;
    struct echo_server *s = &e->srv;
    char why[512];
    long reached = 0;
    int rc = echo_server_start(s, &reached, why, sizeof why);
    if (rc != BENCH_OK)
        return fail_setup(c, rc, (double)reached, msg, len, "%s", why);

    /* Warm-up (untimed): 2 rounds fault in every stack and registration and size the window. */
    char why2[256];
    if (run_window(e, 2, 0, 0, why2, sizeof why2) < 0)
        return fail_setup(c, BENCH_ERROR, (double)s->units, msg, len, "warm-up: %s", why2);
    double rate = 2.0 * (double)s->units / ((double)e->res.window_ns / 1e9);
    if (e->open) {
        if (!e->rate) { /* auto: half what the closed loop did, below saturation */
            e->rate = (uint64_t)(rate / 2) > 0 ? (uint64_t)(rate / 2) : 1;
            param_row_setn(&c->id, COL_RATE, (long long)e->rate);
        }
        rate = (double)e->rate;
    }
    uint64_t rounds = (uint64_t)ceil((e->quick ? 0.05 : 0.25) * rate / (double)s->units);
    uint64_t lo = e->quick ? 3 : 5, hi = (uint64_t)(ECHO_REQUESTS_MAX / s->units);
    if (rounds < lo)
        rounds = lo;
    if (rounds > hi)
        rounds = hi > 0 ? hi : 1;
    e->rounds = rounds;
    c->iterations = (int64_t)(rounds * (uint64_t)s->units);
    c->batch = (uint64_t)c->iterations;

    char where[96];
    if (e->ag.spec.n)
        snprintf(where, sizeof where, "server %s; clients on %d %sagent%s (histogram latencies)",
                 e->bound ? "on its cpu (verified)" : "unpinned", e->ag.spec.n,
                 e->ag.spec.veth ? "veth " : "", e->ag.spec.n == 1 ? "" : "s");
    else if (e->bound)
        snprintf(where, sizeof where, "server on cpu %d, client on cpu %d (verified)",
                 e->server_cpu, e->client_cpu);
    else
        snprintf(where, sizeof where, "unpinned");
    char how[64] = "";
    if (s->variant == ECHO_COROUTINE)
        snprintf(how, sizeof how, "; cosched %s, %s", s->policy, s->switch_name);
    char loop[48] = "closed loop";
    if (e->open)
        snprintf(loop, sizeof loop, "open loop at %llu/s", (unsigned long long)e->rate);
    /* A note longer than the row's note is cut (the columns carry the same facts). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
    snprintf(c->note, sizeof c->note,
             "%s%s; %s; %d-byte messages; %lu rounds (+%d trimmed); muxbench RSS before the "
             "connections %ld KiB, virtual size with them %lld MiB", where, how, loop,
             ECHO_MSG_BYTES, (unsigned long)rounds, ECHO_TRIM_ROUNDS, e->rss_base >> 10,
             sys_vsz_bytes() >> 20);
#pragma GCC diagnostic pop
    return BENCH_OK;
}

static void echo_teardown(struct bench_case *c) { echo_cleanup(c->ctx); }

static double echo_body(struct bench_case *c, struct bench_state *st, uint64_t iters)
{
    struct echo *e = c->ctx;
    if (iters != e->rounds * (uint64_t)e->srv.nconns) {
        bench_fail(st, "asked for %llu requests, planned %llu", (unsigned long long)iters,
                   (unsigned long long)(e->rounds * (uint64_t)e->srv.nconns));
        return 0;
    }
    struct rusage ru0, ru1;
    char msg[256];
    getrusage(RUSAGE_SELF, &ru0);
    int rc = run_window(e, e->rounds, ECHO_TRIM_ROUNDS, e->open ? e->rate : 0, msg, sizeof msg);
    getrusage(RUSAGE_SELF, &ru1);
    if (rc < 0) {
        bench_fail(st, "%s", msg);
        return 0;
    }
    e->server_cpu_ns = (double)(echo_cpu_ns(&ru1) - echo_cpu_ns(&ru0));
    return (double)e->res.window_ns;
}

static void echo_run_end(struct bench_case *c, struct bench_state *st)
{
    struct echo *e = c->ctx;
    const struct echo_ctl *r = &e->res;
    double window_s = (double)r->window_ns / 1e9;
    /* With agents: the sum of each agent's requests / its own window (echo_remote.h). */
    bench_counter(st, "req_per_s", e->ag.spec.n ? e->ag.rate : (double)r->measured / window_s,
                  "per_s");
    bench_counter(st, "p50_us", (double)r->p50_ns / 1e3, "us");
    bench_counter(st, "p99_us", (double)r->p99_ns / 1e3, "us");
    bench_counter(st, "rss_bytes", (double)sys_rss_bytes(), "bytes");
    bench_counter(st, "server_cpu_ratio", e->server_cpu_ns / (double)r->window_ns, "ratio");
    if (!e->ag.spec.n) {
        bench_counter(st, "client_cpu_ratio", (double)r->cpu_ns / (double)r->window_ns, "ratio");
        return;
    }
    bench_counter(st, "client_cpu_ratio", e->ag.cpu_ratio_max, "ratio");
    for (int i = 0; i < e->ag.spec.n; i++) {
        char name[40];
        snprintf(name, sizeof name, "agent%d_client_cpu_ratio", i + 1);
        bench_counter(st, name, e->ag.cpu_ratio[i], "ratio");
    }
}

/* ---- the planner ---------------------------------------------------------------------------- */

/* The client dies with the run, reaped (helper_proc.h): no zombie for a PID 1 that does not
 * reap orphans. */
static void echo_interrupted(void)
{
    helper_kill_all();
    echo_agents_interrupted(); /* transport=veth: the namespaces */
}

static const struct param_use params[] = {
    {.key = "variant", .defaults = "thread,coroutine", .choices = variant_names},
    {.key = "units", .defaults = "10,100,1000,10000", .quick = "10,100,1000"},
    {.key = "transport", .defaults = "tcp"},
    {.key = "placement", .defaults = "same-l3"},
    {.key = "stack_bytes", .defaults = "auto"},
    {.key = "reg", .defaults = "auto"},
    {.key = "loop", .defaults = "closed"},
    {.key = "rate", .defaults = "auto"},
    {.key = "clients", .defaults = "local"},
    {.key = "agents", .defaults = "1"},
    {0},
};

/* The stack a unit of `variant` gets for the user's stack_bytes value ("auto": the C library's
 * default for threads, CORO_STACK_DEFAULT for coroutines), page-rounded; 0 when out of range. */
static size_t stack_for(enum echo_variant variant, const char *value)
{
    size_t stack = strcmp(value, "auto") != 0  ? (size_t)param_number(value)
                   : variant == ECHO_THREAD        ? units_default_thread_stack()
                                                : CORO_STACK_DEFAULT;
    long tmin = sysconf(_SC_THREAD_STACK_MIN);
    if (stack < ECHO_STACK_MIN || coro_stack_round(stack, &stack) < 0 ||
        (variant == ECHO_THREAD && tmin > 0 && stack < (size_t)tmin))
        return 0;
    return stack;
}

/* One sweep over units: a case per value, sharing a group (a limit ends the sweep). proto
 * holds everything but the units; 0, or 1 when out of memory. */
static int add_sweep(struct plan *plan, const struct workload *w, const struct echo *proto,
                     const char *transport, const char *placement, const long long *units,
                     int nunits)
{
    char rate[24] = "";
    if (proto->open && proto->rate)
        snprintf(rate, sizeof rate, "%llu", (unsigned long long)proto->rate);
    /* clients: "local", or the agents ("a+b", or "n agents" when that does not fit) */
    char clients[PARAM_VALUE_MAX] = "local", agents[16] = "";
    const struct echo_agents_spec *sp = &proto->ag.spec;
    if (sp->veth)
        snprintf(clients, sizeof clients, "netns");
    for (int i = 0; !sp->veth && i < sp->n; i++) {
        size_t used = i ? strlen(clients) : 0;
        if (used + 1 + strlen(sp->text[i]) >= sizeof clients) {
            snprintf(clients, sizeof clients, "%d agents", sp->n);
            break;
        }
        snprintf(clients + used, sizeof clients - used, "%s%s", i ? "+" : "", sp->text[i]);
    }
    if (sp->n)
        snprintf(agents, sizeof agents, "%d", sp->n);
    for (int u = 0; u < nunits; u++) {
        const struct poller_ops *poller = proto->srv.variant == ECHO_THREAD ? NULL : proto->srv.ops;
        struct bench_case *c = plan_add(plan, w, poller);
        struct echo *e = malloc(sizeof *e);
        if (!c || !e) {
            free(e);
            return 1;
        }
        *e = *proto;
        e->srv.units = (long)units[u];
        c->ctx = e;
        c->free_ctx = free;
        param_row_set(&c->id, COL_VARIANT, variant_names[e->srv.variant]);
        param_row_set(&c->id, COL_TRANSPORT, transport);
        param_row_set(&c->id, COL_PLACEMENT, placement);
        param_row_setn(&c->id, COL_UNITS, units[u]);
        param_row_setn(&c->id, COL_STACK_BYTES, (long long)e->srv.stack_bytes);
        param_row_set(&c->id, COL_STACK_ALLOC, e->srv.variant == ECHO_THREAD
                                                   ? "pthread"
                                                   : coro_stack_kind_name(CORO_STACK_GUARD));
        param_row_set(&c->id, COL_REG,
                      e->srv.variant == ECHO_THREAD ? "" : cosched_reg_name(e->srv.reg));
        param_row_set(&c->id, COL_LOOP, e->open ? "open" : "closed");
        param_row_set(&c->id, COL_RATE, rate); /* auto: the rate chosen, set by the setup */
        param_row_set(&c->id, COL_CLIENTS, clients);
        param_row_set(&c->id, COL_AGENTS, agents);
        snprintf(e->group, sizeof e->group, "echo/%s/%s/%s/%s/%zu/%s/%s/%s/%s/%s",
                 poller ? poller->name : "-", variant_names[e->srv.variant], transport, placement,
                 e->srv.stack_bytes, cosched_reg_name(e->srv.reg), e->open ? "open" : "closed",
                 proto->open ? (proto->rate ? rate : "auto") : "-", clients, agents);
        c->group = e->group;
        c->headline = "req_per_s";
        c->timing = BENCH_TIME_MANUAL;
        c->setup = echo_setup; /* which also sets iterations and batch: units x rounds */
        c->body = echo_body;
        c->run_end = echo_run_end;
        c->teardown = echo_teardown;
        bench_case_name(c);
    }
    return 0;
}

/* The registration policy a coroutine server runs for the user's value: `auto` is keep on a
 * level backend (what a level-triggered event loop does, 0 registration calls per request) and
 * the scheduler's own choice elsewhere (edge, oneshot). */
static enum cosched_reg reg_for(const struct poller_ops *ops, const char *value)
{
    for (int r = COSCHED_REG_PER_WAIT; r <= COSCHED_REG_KEEP; r++)
        if (strcmp(value, cosched_reg_name((enum cosched_reg)r)) == 0)
            return (enum cosched_reg)r;
    int automatic = ops ? cosched_reg_resolve(ops, COSCHED_REG_AUTO) : COSCHED_REG_PER_WAIT;
    return automatic == COSCHED_REG_PER_WAIT ? COSCHED_REG_KEEP : (enum cosched_reg)automatic;
}

/* The sweeps of one configuration for every registration policy (coroutines), loop and rate
 * (open loop). 0, or an exit status with msg. */
static int plan_loads(struct plan *plan, const struct run_opts *o, const struct workload *w,
                      struct echo *proto, const struct param_set *regs,
                      const struct param_set *loops, const struct param_set *rates,
                      const char *transport, const char *placement, const long long *units,
                      int nunits, char *msg, size_t len)
{
    long long rate_values[PARAM_MAX_VALUES];
    int nrates = 0, rate_auto = 0;
    for (int r = 0; r < rates->count; r++) {
        if (strcmp(rates->values[r], "auto") == 0) {
            rate_auto = 1;
            continue;
        }
        rate_values[nrates] = param_number(rates->values[r]);
        if (rate_values[nrates] < 1 || rate_values[nrates] > ECHO_RATE_MAX) {
            snprintf(msg, len, "echo: rate=%s: requests per second from 1 to %d, or auto",
                     rates->values[r], ECHO_RATE_MAX);
            return MUX_EXIT_USAGE;
        }
        nrates++;
    }
    (void)o;
    const int nregs = proto->srv.variant == ECHO_THREAD ? 1 : regs->count;
    for (int g = 0; g < nregs; g++) {
        proto->srv.reg = proto->srv.variant == ECHO_THREAD
                             ? COSCHED_REG_AUTO
                             : reg_for(proto->srv.ops, regs->values[g]);
        for (int l = 0; l < loops->count; l++) {
            proto->open = strcmp(loops->values[l], "open") == 0;
            int n = proto->open ? nrates + rate_auto : 1;
            for (int r = 0; r < n; r++) {
                proto->rate = proto->open && r < nrates ? (uint64_t)rate_values[r] : 0;
                if (add_sweep(plan, w, proto, transport, placement, units, nunits)) {
                    snprintf(msg, len, "out of memory");
                    return 1;
                }
            }
        }
    }
    return 0;
}

static int echo_plan(struct plan *plan, const struct run_opts *o, const struct workload *w,
                     const struct poller_ops *poller, char *msg, size_t len)
{
    struct param_set variants, transports, placements, stacks, regs, loops, rates, clients;
    long long units[PARAM_MAX_VALUES], agents[PARAM_MAX_VALUES];
    run_values(o, w, "reg", &regs);
    run_values(o, w, "loop", &loops);
    run_values(o, w, "rate", &rates);
    run_values(o, w, "variant", &variants);
    run_values(o, w, "transport", &transports);
    run_values(o, w, "placement", &placements);
    run_values(o, w, "stack_bytes", &stacks);
    int nunits = run_numbers(o, w, "units", units, PARAM_MAX_VALUES);
    int nagents = run_numbers(o, w, "agents", agents, PARAM_MAX_VALUES);
    run_values(o, w, "clients", &clients);
    const int named = clients.count != 1 || strcmp(clients.values[0], "local") != 0;
    for (int t = 0; t < transports.count; t++) {
        if (named && strcmp(transports.values[t], "tcp") != 0) {
            snprintf(msg, len, "echo: clients= (agents) needs transport=tcp; transport=veth "
                     "starts its own agents (--set agents=N)");
            return MUX_EXIT_USAGE;
        }
        char why[256];
        if (strcmp(transports.values[t], "veth") == 0 && netns_available(why, sizeof why) == 0)
            for (int a = 0; a < nagents; a++)
                echo_agents_plan_veth((int)agents[a]);
    }
    for (int u = 0; u < nunits; u++)
        if (units[u] < 1 || units[u] > ECHO_UNITS_MAX) {
            snprintf(msg, len, "echo: units=%lld: connections go from 1 to %ld (each is an fd "
                     "on each side, and the kernel's default fs.nr_open caps a process at "
                     "%ld fds)", units[u], ECHO_UNITS_MAX, ECHO_UNITS_MAX);
            return MUX_EXIT_USAGE;
        }
    struct echo_agents_spec remote; /* checked and greeted once the options are known good */
    int st = echo_agents_plan(&clients, &remote, msg, len);
    if (st)
        return st;
    const int thread_here = poller == run_first_poller(o);
    for (int v = 0; v < variants.count; v++) {
        struct echo proto = {.srv = {.variant = strcmp(variants.values[v], "thread") == 0
                                                    ? ECHO_THREAD
                                                    : ECHO_COROUTINE,
                                     .ops = poller},
                             .quick = o->quick};
        if (proto.srv.variant == ECHO_THREAD && !thread_here)
            continue;
        for (int s = 0; s < stacks.count; s++) {
            proto.srv.stack_bytes = stack_for(proto.srv.variant, stacks.values[s]);
            if (!proto.srv.stack_bytes) {
                snprintf(msg, len, "echo: stack_bytes=%s: out of range for a %s (at least %zu "
                         "bytes: the serve loop keeps a %d-byte buffer on its stack; threads: "
                         "at least %ld here)", stacks.values[s], variants.values[v],
                         ECHO_STACK_MIN, ECHO_BUF_BYTES, sysconf(_SC_THREAD_STACK_MIN));
                return MUX_EXIT_USAGE;
            }
            for (int t = 0; t < transports.count; t++) {
                const int veth = strcmp(transports.values[t], "veth") == 0;
                proto.srv.tcp = veth || strcmp(transports.values[t], "tcp") == 0;
                /* veth sweeps the agents it starts; the others plan once */
                for (int a = 0; a < (veth ? nagents : 1); a++) {
                    proto.ag.spec = remote;
                    if (veth)
                        proto.ag.spec = (struct echo_agents_spec){.veth = 1, .n = (int)agents[a]};
                    for (int p = 0; p < placements.count; p++) {
                        int rc = plan_loads(plan, o, w, &proto, &regs, &loops, &rates,
                                            transports.values[t], placements.values[p], units,
                                            nunits, msg, len);
                        if (rc)
                            return rc;
                    }
                }
            }
        }
    }
    return 0;
}

const struct workload echo_workload = {
    .name = "echo",
    .summary = "connection-per-thread (blocking) against connection-per-coroutine over each "
               "poller: requests/s, p50/p99 latency and RSS from 10 to 10,000 connections",
    .params = params,
    .per_poller = 1,
    .plan = echo_plan,
    .interrupted = echo_interrupted,
};
