/*
 * fanin_pool.c - see fanin_pool.h.
 *
 * The control channel is a SOCK_SEQPACKET socketpair: one message per request, one reply per
 * message. Requests (struct hmsg, then a payload of uint32 indices for H_ACTIVE):
 *
 *   H_MAKE      a = count (<= PASS_BATCH), b = transport: the helper creates `count` connected
 *               pairs, keeps one end of each and sends us the other ends with the reply
 *               (SCM_RIGHTS), so ours arrive in the lowest free fd numbers, densely
 *   H_ACTIVE    a = offset, b = count, c = total: part of the list of indices a wave writes
 *   H_WAVE      a = start, b = count: one byte to each of the next `count` active peers
 *   H_TRUNCATE  a = keep: close the peers from index `keep` on
 *   H_PIN       a = cpu + 1, or 0: bind the helper to that cpu, or let it run anywhere
 *   H_PEERS     a = count (<= PASS_BATCH), then `count` uint32 indices: the helper sends copies
 *               of those peers (SCM_RIGHTS) with the reply, for a workload that writes itself
 *
 * The reply is {err, value}: 0 or an errno, and the count the request is about. The parent
 * blocks on the reply with SO_RCVTIMEO of 10 s: a helper that is dead (EOF, EPIPE) or stuck
 * (timeout) is killed and reaped at once and the pool marked broken; the next pool_ensure()
 * rebuilds it. The helper is started, stopped and killed on interruption by helper_proc.h. It
 * runs no library code that takes a lock: it was forked from a multi-threaded process, so it
 * uses system calls only, and mmap for its tables.
 *
 * TCP pairs are loopback connections to the helper's listener on 127.0.0.1, with TCP_NODELAY
 * (a 1-byte write leaves at once) and SO_LINGER 0 (closing them leaves no TIME_WAIT).
 */
#define _GNU_SOURCE
#include "workloads/support/fanin_pool.h"
#include "workloads/support/helper_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASS_BATCH 128     /* pairs per H_MAKE (SCM_RIGHTS passes up to 253 fds) */
#define ACTIVE_CHUNK 4096  /* indices per H_ACTIVE */
#define REPLY_TIMEOUT_S 10 /* a helper that does not answer in this time is declared stuck */
#define SPIN_NS 2000000LL  /* how long the parent polls for a reply before it blocks */

enum { H_MAKE = 1, H_ACTIVE, H_WAVE, H_TRUNCATE, H_PIN, H_PEERS };

struct hmsg {
    uint32_t op, a, b, c;
};

struct hreply {
    int32_t err;
    uint32_t value;
};

static struct {
    struct pool pub;
    int cap;               /* of pub.fds */
    int ctl;               /* our end of the control channel, -1 without a helper */
    int broken;            /* the helper died: the pairs are half-closed */
    int spin;              /* poll for replies before blocking (pool_pin_helper) */
    struct helper helper;  /* its ctl is our end of the control channel (g.ctl) */
} g = {.pub = {.transport = -1}, .ctl = -1, .helper = HELPER_NONE};

/* ---- the helper process ------------------------------------------------------------------- */

static void tune_tcp(int fd)
{
    int one = 1;
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close with RST: no TIME_WAIT pile-up */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* a 1-byte write goes now */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* In the helper: one connected pair; *ours goes to the parent (nonblocking), *theirs stays.
 * Returns 0 or an errno. */
static int make_pair(int transport, int *listener, int *ours, int *theirs)
{
    if (transport == POOL_UNIX) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
            return errno;
        *ours = sv[0];
        *theirs = sv[1];
        return 0;
    }
    static struct sockaddr_in addr;
    if (*listener < 0) {
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof a;
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0 ||
            getsockname(l, (struct sockaddr *)&a, &alen) < 0) {
            int err = errno;
            if (l >= 0)
                close(l);
            return err;
        }
        *listener = l;
        addr = a;
    }
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c < 0)
        return errno;
    if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(c);
        return err;
    }
    int s = accept4(*listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) {
        int err = errno;
        close(c);
        return err;
    }
    tune_tcp(c);
    tune_tcp(s);
    *ours = s;
    *theirs = c;
    return 0;
}

/* In the helper: the reply r with fds[0, k) attached. Returns 0, or -1 when the parent is gone. */
static int send_with_fds(int ctl, const struct hreply *r, const int *fds, int k)
{
    static union {
        char buf[CMSG_SPACE(PASS_BATCH * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec riov = {.iov_base = (void *)r, .iov_len = sizeof *r};
    struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = cbuf.buf,
                         .msg_controllen = CMSG_SPACE((size_t)k * sizeof(int))};
    memset(cbuf.buf, 0, sizeof cbuf.buf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&rmh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)k * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, (size_t)k * sizeof(int));
    return sendmsg(ctl, &rmh, MSG_NOSIGNAL) == sizeof *r ? 0 : -1;
}

/* The helper: helper_proc.h has made ctl its only fd and blocked every signal. */
static int helper_main(int ctl, void *arg)
{
    const long cap = *(const long *)arg;
    int *peers = mmap(NULL, (size_t)cap * sizeof(int), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *active = mmap(NULL, (size_t)cap * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (peers == MAP_FAILED || active == MAP_FAILED)
        return 1;
    long npeers = 0, nactive = 0;
    int listener = -1;
    static uint32_t buf[4 + ACTIVE_CHUNK];
    for (;;) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(ctl, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)sizeof(struct hmsg))
            return 0; /* the parent closed the channel (or died) */
        const struct hmsg *m = (const struct hmsg *)buf;
        struct hreply r = {0, 0};
        switch (m->op) {
        case H_MAKE: {
            int ours[PASS_BATCH], k = 0;
            while (k < (int)m->a && k < PASS_BATCH) {
                int mine = -1, theirs = -1;
                if (npeers + 2 * (k + 1) + 8 > cap) { /* our ends wait here until sent */
                    r.err = k == 0 ? EMFILE : 0;
                    break;
                }
                if ((r.err = make_pair((int)m->b, &listener, &mine, &theirs)) != 0)
                    break;
                peers[npeers++] = theirs;
                ours[k++] = mine;
            }
            r.value = (uint32_t)k;
            if (k > 0) { /* the reply carries our ends */
                int sent = send_with_fds(ctl, &r, ours, k);
                for (int i = 0; i < k; i++)
                    close(ours[i]);
                if (sent < 0)
                    return 0;
                continue;
            }
            break;
        }
        case H_PEERS: {
            int give[PASS_BATCH];
            if (m->a == 0 || m->a > PASS_BATCH || (size_t)n < sizeof *m + m->a * sizeof(uint32_t)) {
                r.err = EINVAL;
                break;
            }
            for (uint32_t k = 0; k < m->a && !r.err; k++) {
                uint32_t idx = buf[4 + k];
                if ((long)idx >= npeers)
                    r.err = ERANGE;
                else
                    give[k] = peers[idx];
            }
            if (r.err)
                break;
            r.value = m->a;
            if (send_with_fds(ctl, &r, give, (int)m->a) < 0)
                return 0;
            continue;
        }
        case H_ACTIVE:
            if ((long)m->a + m->b > cap || (size_t)n < sizeof *m + m->b * sizeof(uint32_t)) {
                r.err = EINVAL;
                break;
            }
            memcpy(active + m->a, buf + 4, m->b * sizeof(uint32_t));
            nactive = m->c;
            break;
        case H_WAVE:
            for (uint32_t k = 0; k < m->b && nactive > 0; k++) {
                uint32_t idx = active[(m->a + k) % (uint32_t)nactive];
                if ((long)idx >= npeers || write(peers[idx], "x", 1) != 1) {
                    r.err = (long)idx >= npeers ? ERANGE : errno;
                    break;
                }
                r.value++;
            }
            break;
        case H_TRUNCATE:
            while (npeers > (long)m->a)
                close(peers[--npeers]);
            if (npeers == 0 && listener >= 0) { /* a new transport may follow */
                close(listener);
                listener = -1;
            }
            r.value = (uint32_t)npeers;
            break;
        case H_PIN: {
            cpu_set_t set;
            CPU_ZERO(&set);
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (m->a == 0 || c == (int)m->a - 1)
                    CPU_SET(c, &set);
            if (sched_setaffinity(0, sizeof set, &set) < 0)
                r.err = errno;
            break;
        }
        default:
            r.err = EINVAL;
        }
        if (send(ctl, &r, sizeof r, MSG_NOSIGNAL) != sizeof r)
            return 0;
    }
}

/* ---- the parent's side --------------------------------------------------------------------- */

/* Kills and reaps the helper, if any (it holds nothing that needs a clean exit). */
static void reap_helper(void)
{
    helper_stop(&g.helper, 0);
    g.ctl = -1;
}

void pool_kill_helper(void) { helper_kill_all(); }

pid_t pool_helper_pid(void) { return g.helper.pid; }

int pool_check_helper(char *msg, size_t len)
{
    int status = 0;
    pid_t pid = g.helper.pid;
    if (!helper_exited(&g.helper, &status))
        return 0;
    if (WIFSIGNALED(status))
        snprintf(msg, len, "the fanin helper process (pid %d) died, killed by signal %d (%s); "
                 "it was reaped and its socket ends hung up", (int)pid, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(msg, len, "the fanin helper process (pid %d) exited with status %d; it was "
                 "reaped and its socket ends hung up", (int)pid, WEXITSTATUS(status));
    reap_helper();
    g.broken = 1;
    return -EPIPE;
}

static int helper_failed(int err, const char *what, char *msg, size_t len)
{
    snprintf(msg, len, "the fanin helper process (pid %d) %s: %s; it was killed and reaped",
             (int)pool_helper_pid(), what,
             err ? strerror(err) : "it closed the control channel (it died)");
    reap_helper();
    g.broken = 1;
    return -EPIPE;
}

static int helper_start_pool(char *msg, size_t len)
{
    long cap = pool_nofile_limit(NULL);
    int rc = helper_start(&g.helper, "muxbench-fanin", helper_main, &cap, msg, len);
    if (rc < 0)
        return rc;
    g.ctl = g.helper.ctl;
    struct timeval tv = {.tv_sec = REPLY_TIMEOUT_S};
    setsockopt(g.ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return 0;
}

/* One request and its reply; fds the reply carries go to got[0, *ngot) (up to PASS_BATCH). */
static int call(const void *req, size_t req_len, struct hreply *r, int *got, int *ngot,
                const char *what, char *msg, size_t len)
{
    union {
        char buf[CMSG_SPACE(PASS_BATCH * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    if (ngot)
        *ngot = 0;
    if (g.ctl < 0) {
        snprintf(msg, len, "the fanin helper process is gone (an earlier failure)");
        return -EPIPE;
    }
    ssize_t n;
    int sent = helper_send(g.ctl, req, req_len);
    if (sent < 0)
        return helper_failed(-sent, what, msg, len);
    struct iovec iov = {.iov_base = r, .iov_len = sizeof *r};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
                        .msg_controllen = sizeof cbuf.buf};
    /* With the helper on another cpu, poll for the reply first (SPIN_NS), then block: a
     * wave's waits then start on a thread that kept its cpu, as a busy event loop does, not on
     * one the idle governor (or, in a virtual machine, the hypervisor) just woke up. */
    int64_t until = 0;
    errno = EAGAIN;
    n = -1;
    while (g.spin) {
        n = recvmsg(g.ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n >= 0 || errno != EAGAIN)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (until == 0)
            until = now + SPIN_NS;
        else if (now > until)
            break;
    }
    while (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        n = recvmsg(g.ctl, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EAGAIN) /* SO_RCVTIMEO expired */
            break;
    }
    if (n != (ssize_t)sizeof *r)
        return helper_failed(n < 0 ? (errno == EAGAIN ? ETIMEDOUT : errno) : 0, what, msg, len);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (got && *ngot < PASS_BATCH)
                got[(*ngot)++] = fd;
            else
                close(fd);
        }
    }
    if (mh.msg_flags & MSG_CTRUNC) /* the kernel dropped fds that did not fit here: EMFILE */
        r->err = r->err ? r->err : EMFILE;
    return 0;
}

long pool_nofile_limit(int *hard_raisable)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    long nr_open = 1048576;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f) {
        if (fscanf(f, "%ld", &nr_open) != 1)
            nr_open = 1048576;
        fclose(f);
    }
    long hard = rl.rlim_max == RLIM_INFINITY ? nr_open : (long)rl.rlim_max;
    if (hard > nr_open)
        hard = nr_open;
    if ((long)rl.rlim_cur < hard) {
        rl.rlim_cur = (rlim_t)hard;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (hard_raisable) {
        /* Raising the hard limit needs CAP_SYS_RESOURCE; try, and put it back. */
        struct rlimit up = {.rlim_cur = (rlim_t)hard, .rlim_max = (rlim_t)hard + 1};
        *hard_raisable = hard < nr_open && setrlimit(RLIMIT_NOFILE, &up) == 0;
        if (*hard_raisable) {
            up.rlim_max = (rlim_t)hard;
            setrlimit(RLIMIT_NOFILE, &up);
        }
    }
    return hard;
}

long pool_max_pairs(void) { return pool_nofile_limit(NULL) - POOL_FD_RESERVE; }

int pool_is_limit(int err)
{
    return err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS ||
           err == -EADDRNOTAVAIL;
}

const struct pool *pool_get(void) { return &g.pub; }

static int remember(int ours, int index)
{
    if (ours >= g.pub.idx_cap) {
        int cap = g.pub.idx_cap ? g.pub.idx_cap : 1024;
        while (cap <= ours)
            cap *= 2;
        int *n = realloc(g.pub.idx_of_fd, (size_t)cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        for (int i = g.pub.idx_cap; i < cap; i++)
            n[i] = -1;
        g.pub.idx_of_fd = n;
        g.pub.idx_cap = cap;
    }
    g.pub.idx_of_fd[ours] = index;
    g.pub.fds[index] = ours;
    return 0;
}

static void close_pairs(void)
{
    for (int i = 0; i < g.pub.count; i++) {
        g.pub.idx_of_fd[g.pub.fds[i]] = -1;
        close(g.pub.fds[i]);
    }
    g.pub.count = 0;
}

void pool_destroy(void)
{
    reap_helper();
    close_pairs();
    free(g.pub.fds);
    free(g.pub.idx_of_fd);
    g.pub.fds = NULL;
    g.pub.idx_of_fd = NULL;
    g.pub.idx_cap = g.cap = 0;
    g.pub.transport = -1;
    g.broken = 0;
}

int pool_ensure(int transport, int n, char *msg, size_t len)
{
    if (g.broken)
        pool_destroy();
    if (g.pub.transport != transport && g.pub.count > 0) {
        struct hmsg m = {.op = H_TRUNCATE, .a = 0};
        struct hreply r;
        int rc = call(&m, sizeof m, &r, NULL, NULL, "did not drop its peers", msg, len);
        close_pairs();
        if (rc < 0)
            return rc;
    }
    g.pub.transport = transport;
    if (n <= g.pub.count)
        return 0;
    pool_nofile_limit(NULL); /* soft limit up to the hard one */
    if (n > g.cap) {
        int *fds = realloc(g.pub.fds, (size_t)n * sizeof *fds);
        if (!fds) {
            snprintf(msg, len, "out of memory for %d pool entries", n);
            return -ENOMEM;
        }
        g.pub.fds = fds;
        g.cap = n;
    }
    int rc;
    if (g.ctl < 0 && (rc = helper_start_pool(msg, len)) < 0)
        return rc;
    while (g.pub.count < n) {
        int want = n - g.pub.count < PASS_BATCH ? n - g.pub.count : PASS_BATCH;
        struct hmsg m = {.op = H_MAKE, .a = (uint32_t)want, .b = (uint32_t)transport};
        struct hreply r;
        int got[PASS_BATCH], ngot = 0;
        if ((rc = call(&m, sizeof m, &r, got, &ngot, "did not make socket pairs", msg, len)) < 0)
            return rc;
        for (int i = 0; i < ngot; i++) {
            if (remember(got[i], g.pub.count) < 0) {
                for (int j = i; j < ngot; j++)
                    close(got[j]);
                r.err = ENOMEM;
                break;
            }
            g.pub.count++;
        }
        if (r.err || ngot == 0) {
            int err = r.err ? (int)r.err : EMFILE;
            if (ngot != (int)r.value || r.err == ENOMEM) {
                /* We hold fewer ends than the helper made: it drops the peers of the rest. */
                struct hmsg t = {.op = H_TRUNCATE, .a = (uint32_t)g.pub.count};
                struct hreply tr;
                char why[256];
                if (call(&t, sizeof t, &tr, NULL, NULL, "did not drop peers", why, sizeof why) < 0)
                    g.broken = 1;
            }
            snprintf(msg, len, "creating %s pair %d of %d: %s (RLIMIT_NOFILE %ld)",
                     transport == POOL_TCP ? "a TCP loopback" : "a unix socket", g.pub.count + 1,
                     n, strerror(err), pool_nofile_limit(NULL));
            return -err;
        }
    }
    return 0;
}

int pool_set_active(const int *idx, int count, char *msg, size_t len)
{
    static uint32_t buf[4 + ACTIVE_CHUNK];
    for (int off = 0; off < count; off += ACTIVE_CHUNK) {
        int k = count - off < ACTIVE_CHUNK ? count - off : ACTIVE_CHUNK;
        struct hmsg m = {.op = H_ACTIVE, .a = (uint32_t)off, .b = (uint32_t)k, .c = (uint32_t)count};
        memcpy(buf, &m, sizeof m);
        for (int i = 0; i < k; i++)
            buf[4 + i] = (uint32_t)idx[off + i];
        struct hreply r;
        int rc = call(buf, sizeof m + (size_t)k * sizeof(uint32_t), &r, NULL, NULL,
                      "did not take the active list", msg, len);
        if (rc < 0)
            return rc;
        if (r.err) {
            snprintf(msg, len, "the fanin helper refused the active list: %s",
                     strerror((int)r.err));
            return -(int)r.err;
        }
    }
    return 0;
}

int pool_pin_helper(int cpu, int spin, char *msg, size_t len)
{
    g.spin = spin;
    struct hmsg m = {.op = H_PIN, .a = cpu < 0 ? 0 : (uint32_t)cpu + 1};
    struct hreply r;
    int rc = call(&m, sizeof m, &r, NULL, NULL, "was not bound to a cpu", msg, len);
    if (rc < 0)
        return rc;
    if (r.err) {
        snprintf(msg, len, "binding the fanin helper to cpu %d: %s", cpu, strerror((int)r.err));
        return -(int)r.err;
    }
    return 0;
}

int pool_peer_ends(const int *idx, int count, int *out, char *msg, size_t len)
{
    uint32_t buf[4 + PASS_BATCH];
    for (int off = 0; off < count; off += PASS_BATCH) {
        int k = count - off < PASS_BATCH ? count - off : PASS_BATCH;
        struct hmsg m = {.op = H_PEERS, .a = (uint32_t)k};
        memcpy(buf, &m, sizeof m);
        for (int i = 0; i < k; i++)
            buf[4 + i] = (uint32_t)idx[off + i];
        struct hreply r;
        int got[PASS_BATCH], ngot = 0;
        int rc = call(buf, sizeof m + (size_t)k * sizeof(uint32_t), &r, got, &ngot,
                      "did not send peer ends", msg, len);
        if (rc < 0)
            return rc;
        for (int i = 0; i < ngot; i++)
            out[off + i] = got[i];
        if (r.err || ngot != k) {
            int err = r.err ? (int)r.err : EMFILE;
            snprintf(msg, len, "the fanin helper's peer ends %d..%d: %s", off, off + k - 1,
                     strerror(err));
            return -err;
        }
    }
    return 0;
}

int pool_wave(int start, int count, char *msg, size_t len)
{
    struct hmsg m = {.op = H_WAVE, .a = (uint32_t)start, .b = (uint32_t)count};
    struct hreply r;
    int rc = call(&m, sizeof m, &r, NULL, NULL, "did not write a wave", msg, len);
    if (rc < 0)
        return rc;
    if (r.err) {
        snprintf(msg, len, "the fanin helper's write %u of %d failed: %s", r.value + 1, count,
                 strerror((int)r.err));
        return -(int)r.err;
    }
    return 0;
}
