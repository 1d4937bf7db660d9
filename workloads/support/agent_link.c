/*
 * agent_link.c - see agent_proto.h: addresses, the connect, the handshake's measuring half and
 * the framing both sides use.
 */
#define _GNU_SOURCE
#include "workloads/support/agent_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "harness/env.h"
#include "mux_git.h"

const char *agent_version(void) { return MUX_GIT_REVISION[0] ? MUX_GIT_REVISION : "unknown"; }

const char *agent_arch(void)
{
    static char arch[64];
    if (!arch[0]) {
        struct utsname u;
        const uint16_t one = 1;
        const int little = *(const unsigned char *)&one == 1;
        snprintf(arch, sizeof arch, "%.40s-%s-%zu", uname(&u) == 0 ? u.machine : "unknown",
                 little ? "le" : "be", sizeof(void *) * 8);
    }
    return arch;
}

void agent_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    }
}

void agent_local_info(struct agent_info *info)
{
    memset(info, 0, sizeof *info);
    struct utsname u;
    snprintf(info->kernel, sizeof info->kernel, "%s", uname(&u) == 0 ? u.release : "unknown");
    if (gethostname(info->host, sizeof info->host - 1) != 0)
        snprintf(info->host, sizeof info->host, "unknown");
    env_cpu_model(info->cpu, sizeof info->cpu);
    for (char *p = info->cpu; *p; p++) /* the handshake's fields are tab-separated */
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    snprintf(info->version, sizeof info->version, "%s", agent_version());
    snprintf(info->arch, sizeof info->arch, "%s", agent_arch());
    info->cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

int agent_parse_addr(const char *text, int port0_ok, struct sockaddr_storage *ss,
                     socklen_t *len, char *msg, size_t msg_len)
{
    char host[64];
    const char *port;
    memset(ss, 0, sizeof *ss);
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host)
            goto bad;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || colon == text || (size_t)(colon - text) >= sizeof host)
            goto bad;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < (port0_ok ? 0 : 1) || p > 65535)
        goto bad;
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)p);
        *len = sizeof *in;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        *len = sizeof *in6;
        return 0;
    }
bad:
    snprintf(msg, msg_len, "'%s' is not ADDR:PORT (a numeric IPv4 address, or [IPv6], and a "
             "port %d..65535)", text, port0_ok ? 0 : 1);
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for `events` until the deadline (negative: none). 0 or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            timeout = (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int k = poll(&p, 1, timeout);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k > 0)
            return 0;
    }
}

int agent_connect(const struct sockaddr_storage *ss, socklen_t len, int retry_refused)
{
    int64_t deadline = now_ms() + AGENT_CONNECT_MS;
    for (;;) {
        int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return -errno;
        int err = 0;
        if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
            err = errno;
            if (err == EINPROGRESS) {
                err = wait_fd(fd, POLLOUT, deadline);
                socklen_t el = sizeof err;
                if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                    err = errno;
                err = err < 0 ? -err : err;
            }
        }
        if (err == 0)
            return fd; /* nonblocking: every read and write below polls first */
        close(fd);
        if (!(retry_refused && err == ECONNREFUSED) || now_ms() >= deadline)
            return -err;
        struct timespec pause = {.tv_nsec = 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

int agent_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EAGAIN) {
            int rc = wait_fd(fd, POLLOUT, now_ms() + AGENT_HANDSHAKE_MS);
            if (rc < 0)
                return rc;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == ECONNRESET ? -EPIPE : -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Exactly n bytes before the deadline (negative: none); 0, -EPIPE at end of file, or -errno. */
static int read_exact(int fd, void *buf, size_t n, int64_t deadline)
{
    char *p = buf;
    while (n > 0) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k < 0)
            return errno == ECONNRESET ? -EPIPE : -errno;
        if (k == 0)
            return -EPIPE;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int agent_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t n = 0;
    for (;;) {
        char ch;
        int rc = read_exact(fd, &ch, 1, deadline);
        if (rc < 0)
            return rc;
        if (ch == '\n')
            break;
        if (n + 1 >= len)
            return -EMSGSIZE;
        buf[n++] = ch;
    }
    buf[n] = '\0';
    return (int)n;
}

int agent_send_frame(int fd, const void *m, size_t n)
{
    uint32_t be = htonl((uint32_t)n);
    int rc = agent_write_all(fd, &be, sizeof be);
    return rc < 0 ? rc : agent_write_all(fd, m, n);
}

int agent_recv_frame(int fd, void *buf, size_t cap, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    uint32_t be;
    int rc = read_exact(fd, &be, sizeof be, deadline);
    if (rc < 0)
        return rc;
    size_t n = ntohl(be);
    if (n > cap)
        return -EPROTO;
    rc = read_exact(fd, buf, n, deadline);
    return rc < 0 ? rc : (int)n;
}

/* Splits s at the first `sep` into *field; advances s. */
static char *next_field(char **s, int sep)
{
    char *f = *s;
    if (!f)
        return (char *)"";
    char *at = strchr(f, sep);
    if (at) {
        *at = '\0';
        *s = at + 1;
    } else {
        *s = NULL;
    }
    return f;
}

int agent_hello(int fd, const char *addr_text, struct agent_info *info, char *msg, size_t len)
{
    char line[AGENT_LINE_MAX];
    memset(info, 0, sizeof *info);
    snprintf(info->addr, sizeof info->addr, "%s", addr_text);
    snprintf(line, sizeof line, "%s %d %s %s\n", AGENT_MAGIC, AGENT_PROTO_VERSION,
             agent_version(), agent_arch());
    int rc = agent_write_all(fd, line, strlen(line));
    if (rc == 0)
        rc = agent_read_line(fd, line, sizeof line, AGENT_HANDSHAKE_MS);
    if (rc < 0) {
        snprintf(msg, len, "agent %s: no handshake (%s)", addr_text,
                 rc == -EPIPE       ? "it closed the connection"
                 : rc == -ETIMEDOUT ? "no answer in 10 s: busy with another run?"
                                    : strerror(-rc));
        return -1;
    }
    if (strncmp(line, "REFUSED ", 8) == 0) {
        snprintf(msg, len, "agent %s refused the run: %s", addr_text, line + 8);
        return -1;
    }
    int proto = 0;
    char version[64] = "", arch[64] = "";
    char *rest = NULL;
    if (strncmp(line, "OK ", 3) == 0 && sscanf(line + 3, "%d %63s %63[^\t]", &proto, version,
                                                 arch) == 3)
        rest = strchr(line, '\t');
    if (!rest) {
        snprintf(msg, len, "agent %s: not a muxbench agent (it answered '%.80s')", addr_text,
                 line);
        return -1;
    }
    if (proto != AGENT_PROTO_VERSION || strcmp(version, agent_version()) != 0 ||
        strcmp(arch, agent_arch()) != 0) {
        snprintf(msg, len, "agent %s is muxbench %s (protocol %d, %s), this run is muxbench %s "
                 "(protocol %d, %s): run the same build on both sides", addr_text, version,
                 proto, arch, agent_version(), AGENT_PROTO_VERSION, agent_arch());
        return -1;
    }
    rest++;
    snprintf(info->version, sizeof info->version, "%s", version);
    snprintf(info->arch, sizeof info->arch, "%s", arch);
    snprintf(info->host, sizeof info->host, "%s", next_field(&rest, '\t'));
    snprintf(info->kernel, sizeof info->kernel, "%s", next_field(&rest, '\t'));
    snprintf(info->cpu, sizeof info->cpu, "%s", next_field(&rest, '\t'));
    info->cpus = strtol(next_field(&rest, '\t'), NULL, 10);
    return 0;
}
