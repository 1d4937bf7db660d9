/*
 * agent.c - see agent.h and agent_proto.h.
 *
 * One thread. SIGINT and SIGTERM are blocked and read from a signalfd, so a signal is noticed
 * in the same poll() as the listener, the session and the client's channel, never between a
 * check and a wait. The echo client runs as a helper process (helper_proc.h): it dies with the
 * agent, and a session's end (the run closed the connection, or the client exited) stops and
 * reaps it before the next session is accepted.
 */
#define _GNU_SOURCE
#include "workloads/support/agent.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "workloads/support/agent_proto.h"
#include "workloads/support/echo_client.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/helper_proc.h"

#define AGENT_CLIENT_GRACE_MS 5000

_Static_assert(sizeof(struct echo_hist) <= AGENT_FRAME_MAX && sizeof(struct echo_ctl) <= AGENT_FRAME_MAX,
               "the client's messages fit the relay's frames");
#define AGENT_UNITS_MAX 1048576L

struct agent {
    int listen_fd, sig_fd, exit_fd;
    char listen_text[80];
    int stop; /* a signal or the end of exit_fd */
    int quiet; /* errors only */
};

static void usage(void)
{
    fprintf(stderr, "usage: muxbench agent --listen ADDR:PORT [--quiet] [--exit-with-fd N]\n"
                    "  ADDR is one numeric address of this machine (IPv4, or [IPv6]); port 0 "
                    "picks a free one\n"
                    "  --quiet: errors only; --exit-with-fd N: exit when fd N reaches end of "
                    "file\n");
}

/* Whether the agent was told to stop (a signal or the end of exit_fd) in pfd[1..2]. */
static void check_stop(struct agent *a, const struct pollfd *sig, const struct pollfd *ex)
{
    if (sig->revents & POLLIN) {
        struct signalfd_siginfo si;
        if (read(a->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
            fprintf(stderr, "muxbench agent: %s, stopping\n", strsignal((int)si.ssi_signo));
        a->stop = 1;
    }
    if (ex->fd >= 0 && ex->revents) {
        char b;
        if (recv(ex->fd, &b, 1, MSG_DONTWAIT) <= 0)
            a->stop = 1;
    }
}

/* Reads the run's handshake line and answers it: 0 accepted, -1 refused or gone. */
static int handshake(int fd, const char *peer)
{
    char line[AGENT_LINE_MAX], reply[AGENT_LINE_MAX + 256];
    int rc = agent_read_line(fd, line, sizeof line, AGENT_HANDSHAKE_MS);
    if (rc < 0) {
        if (rc != -EPIPE)
            fprintf(stderr, "muxbench agent: %s sent no handshake (%s)\n", peer, strerror(-rc));
        return -1;
    }
    int proto = 0;
    char magic[32] = "", version[64] = "", arch[64] = "";
    int n = sscanf(line, "%31s %d %63s %63s", magic, &proto, version, arch);
    if (n != 4 || strcmp(magic, AGENT_MAGIC) != 0) {
        snprintf(reply, sizeof reply, "REFUSED this is a muxbench agent; a run starts with "
                 "'%s <protocol> <version> <arch>'\n", AGENT_MAGIC);
        agent_write_all(fd, reply, strlen(reply));
        fprintf(stderr, "muxbench agent: refused %s: not a muxbench run\n", peer);
        return -1;
    }
    if (proto != AGENT_PROTO_VERSION || strcmp(version, agent_version()) != 0 ||
        strcmp(arch, agent_arch()) != 0) {
        char why[400];
        snprintf(why, sizeof why, "this agent is muxbench %s (protocol %d, %s), the run is "
                 "muxbench %s (protocol %d, %s): run the same build on both sides",
                 agent_version(), AGENT_PROTO_VERSION, agent_arch(), version, proto, arch);
        snprintf(reply, sizeof reply, "REFUSED %s\n", why);
        agent_write_all(fd, reply, strlen(reply));
        fprintf(stderr, "muxbench agent: refused %s: %s\n", peer, why);
        return -1;
    }
    struct agent_info me;
    agent_local_info(&me);
    snprintf(reply, sizeof reply, "OK %d %s %s\t%s\t%s\t%s\t%ld\n", AGENT_PROTO_VERSION,
             me.version, me.arch, me.host, me.kernel, me.cpu, me.cpus);
    return agent_write_all(fd, reply, strlen(reply)) < 0 ? -1 : 0;
}

/* Checks a START frame of n bytes; 0 with cfg filled, or -1 with why. */
static int read_start(const struct agent_start *st, int n, struct echo_client_cfg *cfg,
                      char *why, size_t len)
{
    if (n != (int)sizeof *st || st->op != AGENT_START_OP) {
        snprintf(why, len, "expected a START frame");
        return -1;
    }
    if ((st->addr.ss_family != AF_INET && st->addr.ss_family != AF_INET6) ||
        st->addrlen > sizeof st->addr || st->units < 1 || st->units > AGENT_UNITS_MAX ||
        st->batch < 1 || st->batch > ECHO_BATCH_MAX) {
        snprintf(why, len, "a START frame out of range");
        return -1;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = st->addr;
    cfg->addrlen = st->addrlen;
    cfg->tcp = st->tcp != 0;
    cfg->units = (long)st->units;
    cfg->batch = st->batch;
    cfg->histogram = 1;
    return 0;
}

/* Relays frames from the run to the client and the client's messages to the run, until either
 * ends or the agent is told to stop. */
static void relay(struct agent *a, int fd, struct helper *client)
{
    static unsigned char buf[AGENT_FRAME_MAX];
    for (;;) {
        struct pollfd p[4] = {{.fd = fd, .events = POLLIN},
                              {.fd = client->ctl, .events = POLLIN},
                              {.fd = a->sig_fd, .events = POLLIN},
                              {.fd = a->exit_fd, .events = POLLIN}};
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        check_stop(a, &p[2], &p[3]);
        if (a->stop)
            return;
        if (p[0].revents) {
            int n = agent_recv_frame(fd, buf, sizeof buf, AGENT_HANDSHAKE_MS);
            if (n < 0 || helper_send(client->ctl, buf, (size_t)n) < 0)
                return;
        }
        if (p[1].revents) {
            ssize_t n = recv(client->ctl, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0 || agent_send_frame(fd, buf, (size_t)n) < 0)
                return;
        }
    }
}

/* One measuring run, from its handshake to its close. */
static void session(struct agent *a, int fd, const char *peer)
{
    if (handshake(fd, peer) < 0)
        return;
    struct agent_start st;
    struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
                          {.fd = a->sig_fd, .events = POLLIN},
                          {.fd = a->exit_fd, .events = POLLIN}};
    while (poll(p, 3, -1) < 0)
        if (errno != EINTR)
            return;
    check_stop(a, &p[1], &p[2]);
    if (a->stop)
        return;
    int n = agent_recv_frame(fd, &st, sizeof st, AGENT_HANDSHAKE_MS);
    if (n == -EPIPE)
        return; /* a run that only asked who we are (its planner does) */
    struct echo_client_cfg cfg;
    char why[256];
    if (n < 0 || read_start(&st, n, &cfg, why, sizeof why) < 0) {
        fprintf(stderr, "muxbench agent: %s: %s\n", peer, n < 0 ? strerror(-n) : why);
        return;
    }
    char server[80];
    agent_format_addr(&cfg.addr, server, sizeof server);
    if (!a->quiet)
        fprintf(stderr, "muxbench agent: run from %s: %ld connections to %s\n", peer,
                cfg.units, server);
    struct helper client = HELPER_NONE;
    if (helper_start(&client, "muxbench-client", echo_client_main, &cfg, why, sizeof why) < 0) {
        struct echo_ctl m = {.op = ECHO_CTL_ERROR, .err = EAGAIN};
        snprintf(m.text, sizeof m.text, "agent %s: the client process: %.100s", a->listen_text,
                 why);
        agent_send_frame(fd, &m, sizeof m);
        return;
    }
    relay(a, fd, &client);
    helper_stop(&client, AGENT_CLIENT_GRACE_MS);
}

static int serve(struct agent *a)
{
    while (!a->stop) {
        struct pollfd p[3] = {{.fd = a->listen_fd, .events = POLLIN},
                              {.fd = a->sig_fd, .events = POLLIN},
                              {.fd = a->exit_fd, .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "muxbench agent: poll: %s\n", strerror(errno));
            return MUX_EXIT_FAIL;
        }
        check_stop(a, &p[1], &p[2]);
        if (a->stop || !(p[0].revents & POLLIN))
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        int fd = accept4(a->listen_fd, (struct sockaddr *)&from, &fl,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue; /* the peer gave up (ECONNABORTED), or a momentary shortage */
        char peer[80];
        agent_format_addr(&from, peer, sizeof peer);
        session(a, fd, peer);
        close(fd);
    }
    return MUX_EXIT_OK;
}

int agent_command(int argc, char **argv)
{
    const char *listen_at = NULL;
    int exit_fd = -1, quiet = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return MUX_EXIT_OK;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "muxbench agent: %s: unknown, or without its value\n", argv[i]);
            usage();
            return MUX_EXIT_USAGE;
        }
        if (strcmp(argv[i], "--listen") == 0) {
            listen_at = argv[++i];
        } else if (strcmp(argv[i], "--exit-with-fd") == 0) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 1 << 20) {
                fprintf(stderr, "muxbench agent: --exit-with-fd %s: not an fd\n", argv[i]);
                return MUX_EXIT_USAGE;
            }
            exit_fd = (int)v;
        } else {
            fprintf(stderr, "muxbench agent: unknown option '%s'\n", argv[i]);
            usage();
            return MUX_EXIT_USAGE;
        }
    }
    if (!listen_at) {
        fprintf(stderr, "muxbench agent: --listen ADDR:PORT is required\n");
        usage();
        return MUX_EXIT_USAGE;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    char msg[256];
    if (agent_parse_addr(listen_at, 1, &ss, &len, msg, sizeof msg) < 0) {
        fprintf(stderr, "muxbench agent: --listen %s\n", msg);
        return MUX_EXIT_USAGE;
    }
    struct agent a = {.listen_fd = -1, .sig_fd = -1, .exit_fd = exit_fd, .quiet = quiet};
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, &old);
    signal(SIGPIPE, SIG_IGN);
    a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    a.listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (a.listen_fd >= 0)
        setsockopt(a.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.sig_fd < 0 || a.listen_fd < 0 || bind(a.listen_fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(a.listen_fd, 16) < 0 ||
        getsockname(a.listen_fd, (struct sockaddr *)&ss, &len) < 0) {
        int err = errno;
        fprintf(stderr, "muxbench agent: cannot listen on %s: %s\n", listen_at, strerror(err));
        if (a.listen_fd >= 0)
            close(a.listen_fd);
        if (a.sig_fd >= 0)
            close(a.sig_fd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return err == EINVAL || err == EBADF ? MUX_EXIT_FAIL : MUX_EXIT_ENV;
    }
    agent_format_addr(&ss, a.listen_text, sizeof a.listen_text);
    if (!quiet)
        fprintf(stderr, "muxbench agent: listening on %s (muxbench %s, protocol %d, %s)\n",
                a.listen_text, agent_version(), AGENT_PROTO_VERSION, agent_arch());
    int status = serve(&a);
    close(a.listen_fd);
    close(a.sig_fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return status;
}
