/*
 * echo_server.c - see echo_server.h.
 */
#define _GNU_SOURCE
#include "workloads/support/echo_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness/bench.h"
#include "harness/sysinfo.h"
#include "workloads/runtime/sched.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/units.h"

static atomic_uint listener_seq;

/* ---- the same loop in a thread or a coroutine --------------------------------------------- */

static void serve_error(struct echo_server *s, int err, int op)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&s->serve_err, &zero, err))
        atomic_store(&s->serve_err_op, op);
}

/* Sends all n bytes; a coroutine parks when the socket is full. 0, or -1 when the connection
 * is gone. */
static int serve_send(struct echo_conn *cn, const char *buf, size_t n, int coroutine)
{
    while (n > 0) {
        ssize_t w = send(cn->fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN && coroutine) {
            int r = cosched_wait_fd(cn->fd, MUX_OUT, -1);
            if (r < 0) {
                serve_error(cn->s, -r, 3);
                return -1;
            }
        } else if (w < 0 && errno != EINTR) {
            if (errno != EPIPE && errno != ECONNRESET)
                serve_error(cn->s, errno, 2);
            return -1;
        }
    }
    return 0;
}

/* Echoes until the client closes the connection (end of file or reset). */
static void serve(struct echo_conn *cn, int coroutine)
{
    char buf[ECHO_BUF_BYTES];
    int drained = 1; /* the last read emptied the socket: park before the next one */
    for (;;) {
        if (coroutine && drained) {
            int r = cosched_wait_fd(cn->fd, MUX_IN, -1);
            if (r < 0) {
                serve_error(cn->s, -r, 3);
                return;
            }
        }
        ssize_t n = read(cn->fd, buf, sizeof buf);
        if (n > 0) {
            drained = n < (ssize_t)sizeof buf;
            if (serve_send(cn, buf, (size_t)n, coroutine) < 0)
                return;
            continue;
        }
        if (n == 0)
            return;
        drained = 1;
        if (errno == EAGAIN || errno == EINTR)
            continue; /* a spurious wake-up: park again */
        if (errno != ECONNRESET)
            serve_error(cn->s, errno, 1);
        return;
    }
}

static void *conn_thread(void *arg)
{
    serve(arg, 0);
    return NULL;
}

static void conn_coroutine(void *arg) { serve(arg, 1); }

static void server_report(struct echo_server *s, int state, int rc, long reached, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    s->state = state;
    s->start_rc = rc;
    s->reached = reached;
    snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "");
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Before thread or coroutine i: 0, or -1 with msg when memory is short (units.h's rule). */
static int memory_short(long i, const char *what, char *msg, size_t len)
{
    char why[400];
    if (i % ECHO_SERVER_MEM_CHECK_EVERY != 0 || units_memory_short(0, why, sizeof why) == 0)
        return 0;
    snprintf(msg, len, "after %ld %s: %s", i, what, why);
    return -1;
}

/* The coroutine server: a scheduler over the case's poller, one coroutine per connection,
 * until every connection has ended. */
static void *scheduler_thread(void *arg)
{
    struct echo_server *srv = arg;
    struct poller *p = NULL;
    struct cosched *sched = NULL;
    char msg[sizeof srv->msg];
    struct poller_cfg pcfg = {.expected_fds = (int)srv->units + ECHO_FD_RESERVE};
    int rc = poller_create(srv->ops, &p, &pcfg);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "poller_create(%s): %s", srv->ops->name, strerror(-rc));
        server_report(srv, -1, rc == -EMFILE || rc == -ENOMEM ? BENCH_LIMIT : BENCH_ERROR, 0, msg);
        return NULL;
    }
    struct cosched_cfg cfg = {.poller = p, .max_events = ECHO_MAX_EVENTS, .reg = srv->reg};
    coro_attr_init(&cfg.attr);
    cfg.attr.stack_size = srv->stack_bytes;
    cfg.attr.stack_kind = CORO_STACK_GUARD;
    srv->switch_name = coro_switch_name(cfg.attr.switch_kind);
    rc = cosched_create(&sched, &cfg);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "cosched_create over %s: %s", srv->ops->name, strerror(-rc));
        server_report(srv, -1, BENCH_ERROR, 0, msg);
        poller_destroy(p);
        return NULL;
    }
    snprintf(srv->policy, sizeof srv->policy, "%s", cosched_reg_name(cosched_reg_used(sched)));
    for (long i = 0; i < srv->nconns; i++) {
        if (memory_short(i, "coroutines", msg, sizeof msg)) {
            server_report(srv, -1, BENCH_LIMIT, i, msg);
            goto out;
        }
        rc = cosched_spawn(sched, conn_coroutine, &srv->conns[i]);
        if (rc < 0) {
            snprintf(msg, sizeof msg, "coroutine %ld: %s (%s)", i, strerror(-rc),
                     coro_limit_name(coro_last_limit()));
            server_report(srv, -1, rc == -ENOMEM || rc == -EAGAIN ? BENCH_LIMIT : BENCH_ERROR, i,
                          msg);
            goto out;
        }
    }
    server_report(srv, 1, 0, srv->nconns, NULL);
    rc = cosched_run(sched);
    if (rc < 0)
        serve_error(srv, -rc, 3);
out:
    cosched_destroy(sched);
    poller_destroy(p);
    return NULL;
}

void echo_server_init(struct echo_server *s)
{
    s->listen_fd = -1;
    s->addrlen = 0;
    s->conns = NULL;
    s->threads = NULL;
    s->nconns = s->nthreads = 0;
    s->sched_started = 0;
    s->state = 0;
    s->start_rc = 0;
    s->reached = 0;
    s->msg[0] = s->policy[0] = '\0';
    s->switch_name = NULL;
    atomic_store(&s->serve_err, 0);
    atomic_store(&s->serve_err_op, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->sync_init = 1;
}

int echo_server_listen(struct echo_server *s)
{
    memset(&s->addr, 0, sizeof s->addr);
    int fd;
    if (s->tcp && s->listen_on_len) {
        s->addr = s->listen_on;
        s->addrlen = s->listen_on_len;
        ((struct sockaddr_in *)&s->addr)->sin_port = 0; /* sin6_port is at the same offset */
    } else if (s->tcp) {
        struct sockaddr_in *in = (struct sockaddr_in *)&s->addr;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s->addrlen = sizeof *in;
    } else { /* an abstract unix address: nothing in the file system to remove */
        struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
        un->sun_family = AF_UNIX;
        int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "muxbench-echo-%d-%u",
                         (int)getpid(), atomic_fetch_add(&listener_seq, 1));
        s->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    }
    fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&s->addr, s->addrlen) < 0 ||
        listen(fd, ECHO_BATCH_MAX) < 0 ||
        (s->tcp && getsockname(fd, (struct sockaddr *)&s->addr, &s->addrlen) < 0)) {
        int err = errno;
        close(fd);
        return -err;
    }
    s->listen_fd = fd;
    return 0;
}

int echo_server_accept(struct echo_server *s, long count, char *msg, size_t len)
{
    if (!s->conns && !(s->conns = calloc((size_t)s->units, sizeof *s->conns))) {
        snprintf(msg, len, "no memory for %ld connections", s->units);
        return BENCH_LIMIT;
    }
    int flags = SOCK_CLOEXEC | (s->variant == ECHO_COROUTINE ? SOCK_NONBLOCK : 0);
    for (long k = 0; k < count && s->nconns < s->units; k++) {
        int fd;
        do
            fd = accept4(s->listen_fd, NULL, NULL, flags);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            int err = errno;
            snprintf(msg, len, "accept after %ld connections: %s", s->nconns, strerror(err));
            return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS
                       ? BENCH_LIMIT
                       : BENCH_ERROR;
        }
        if (s->tcp) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        s->conns[s->nconns].s = s;
        s->conns[s->nconns++].fd = fd;
    }
    return BENCH_OK;
}

static int start_threads(struct echo_server *s, long *reached, char *msg, size_t len)
{
    *reached = 0;
    s->threads = calloc((size_t)s->nconns, sizeof *s->threads);
    if (!s->threads) {
        snprintf(msg, len, "no memory for %ld thread ids", s->nconns);
        return BENCH_LIMIT;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int rc = pthread_attr_setstacksize(&attr, s->stack_bytes);
    for (long i = 0; rc == 0 && i < s->nconns; i++) {
        if (memory_short(i, "threads", msg, len)) {
            pthread_attr_destroy(&attr);
            *reached = i;
            return BENCH_LIMIT;
        }
        rc = pthread_create(&s->threads[i], &attr, conn_thread, &s->conns[i]);
        if (rc == 0)
            s->nthreads++;
    }
    pthread_attr_destroy(&attr);
    *reached = s->nthreads;
    if (rc == EAGAIN) {
        struct rlimit np = {0, 0};
        getrlimit(RLIMIT_NPROC, &np);
        snprintf(msg, len,
                 "pthread_create: EAGAIN after %ld threads (RLIMIT_NPROC %lld for the user, "
                 "kernel.threads-max %ld, the cgroup's pids.max, or memory)",
                 s->nthreads, np.rlim_cur == RLIM_INFINITY ? -1LL : (long long)np.rlim_cur,
                 sys_long("/proc/sys/kernel/threads-max", -1));
        return BENCH_LIMIT;
    }
    if (rc) {
        snprintf(msg, len, "pthread_create (stack %zu bytes): %s", s->stack_bytes, strerror(rc));
        return BENCH_ERROR;
    }
    return BENCH_OK;
}

static int start_scheduler(struct echo_server *s, long *reached, char *msg, size_t len)
{
    *reached = 0;
    int rc = pthread_create(&s->sched, NULL, scheduler_thread, s);
    if (rc) {
        snprintf(msg, len, "pthread_create (the scheduler's thread): %s", strerror(rc));
        return rc == EAGAIN ? BENCH_LIMIT : BENCH_ERROR;
    }
    s->sched_started = 1;
    pthread_mutex_lock(&s->mu);
    while (s->state == 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->state < 0) {
        *reached = s->reached;
        snprintf(msg, len, "%s", s->msg);
        return s->start_rc;
    }
    return BENCH_OK;
}

int echo_server_start(struct echo_server *s, long *reached, char *msg, size_t len)
{
    return s->variant == ECHO_THREAD ? start_threads(s, reached, msg, len)
                                     : start_scheduler(s, reached, msg, len);
}

int echo_server_check(struct echo_server *s, char *msg, size_t len)
{
    int err = atomic_load(&s->serve_err);
    if (!err)
        return 0;
    static const char *const ops[] = {"?", "read", "send", "wait for readiness"};
    snprintf(msg, len, "server: %s failed: %s", ops[atomic_load(&s->serve_err_op) & 3],
             strerror(err));
    return -1;
}

void echo_server_stop(struct echo_server *s)
{
    for (long i = 0; i < s->nconns; i++)
        shutdown(s->conns[i].fd, SHUT_RDWR); /* wakes any server still in a read */
    for (long i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    s->nthreads = 0;
    if (s->sched_started) {
        pthread_join(s->sched, NULL);
        s->sched_started = 0;
    }
    for (long i = 0; i < s->nconns; i++)
        close(s->conns[i].fd);
    s->nconns = 0;
    free(s->conns);
    s->conns = NULL;
    free(s->threads);
    s->threads = NULL;
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->sync_init) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        s->sync_init = 0;
    }
}

/* ---- room for the connections, before anything is made ------------------------------------ */

/* Generous estimates of what one connection costs, for the memory check before a step: both
 * sockets and their files, the touched stack and, for a thread, its kernel stack and task. */
#define ECHO_EST_THREAD (96LL << 10)
#define ECHO_EST_COROUTINE (48LL << 10)

int echo_server_room(const struct echo_server *s, struct rlimit *nofile_saved, int *nofile_raised,
                     char *msg, size_t len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        *nofile_saved = rl;
        rl.rlim_cur = rl.rlim_max;
        *nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long open = sys_count_fds();
        long room = (long)rl.rlim_cur - open - ECHO_FD_RESERVE;
        if (s->units > room) {
            snprintf(msg, len, "RLIMIT_NOFILE %ld (the hard limit) leaves room for %ld "
                     "connections per process, not %ld; raise it (ulimit -Hn, limits.conf) or "
                     "lower units", (long)rl.rlim_cur, room, s->units);
            return BENCH_LIMIT;
        }
    }
    /* A backend with a fixed fd set (libevent-select: FD_SETSIZE) cannot watch the fd numbers
     * this many connections take: the numbers run from the lowest free one upwards. */
    if (s->variant == ECHO_COROUTINE && s->ops->fd_limit > 0) {
        long highest = sys_count_fds() + s->units + ECHO_FD_RESERVE;
        if (highest >= s->ops->fd_limit) {
            snprintf(msg, len, "%s refuses fds >= %d (FD_SETSIZE); %ld connections need fd "
                     "numbers up to about %ld", s->ops->name, s->ops->fd_limit, s->units,
                     highest);
            return BENCH_SKIP;
        }
    }
    if (s->variant == ECHO_THREAD) {
        long max = sys_long("/proc/sys/kernel/threads-max", -1), now = sys_threads_total();
        if (max > 0 && now > 0 && s->units > max - now - 256) {
            snprintf(msg, len, "kernel.threads-max %ld with %ld threads running leaves room for "
                     "%ld, not %ld threads", max, now, max - now - 256, s->units);
            return BENCH_LIMIT;
        }
    }
    long long per = s->variant == ECHO_THREAD ? ECHO_EST_THREAD : ECHO_EST_COROUTINE;
    char why[400];
    if (units_memory_short(per * s->units, why, sizeof why) < 0) {
        snprintf(msg, len, "%ld connections (about %lld KiB each): %s", s->units, per >> 10, why);
        return BENCH_LIMIT;
    }
    return BENCH_OK;
}
