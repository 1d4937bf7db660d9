/*
 * echo_remote.c - see echo_remote.h.
 */
#define _GNU_SOURCE
#include "workloads/support/echo_remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/bench.h"
#include "harness/env.h"
#include "harness/exit_codes.h"

#define VETH_AGENT_GRACE_MS 5000

/* ---- planning ------------------------------------------------------------------------------ */

/* The agents greeted so far in this run (a planner runs once per poller). */
static char greeted[AGENT_MAX][64];
static int ngreeted;

static int already_greeted(const char *text)
{
    for (int i = 0; i < ngreeted; i++)
        if (strcmp(greeted[i], text) == 0)
            return 1;
    return 0;
}

static void note_agent(int index, const struct agent_info *info)
{
    char key[48], num[32];
    const struct {
        const char *field, *value;
    } items[] = {{"addr", info->addr},      {"host", info->host},
                 {"kernel", info->kernel},  {"cpu", info->cpu},
                 {"version", info->version}};
    for (size_t k = 0; k < sizeof items / sizeof items[0]; k++) {
        snprintf(key, sizeof key, "agent%d.%s", index + 1, items[k].field);
        env_note(key, items[k].value);
    }
    snprintf(key, sizeof key, "agent%d.cpus", index + 1);
    snprintf(num, sizeof num, "%ld", info->cpus);
    env_note(key, num);
}

void echo_agents_plan_veth(int n)
{
    struct agent_info info;
    agent_local_info(&info);
    for (int i = 0; i < n && i < ECHO_VETH_AGENTS_MAX; i++) {
        char text[24];
        snprintf(text, sizeof text, "%s:%d", NETNS_CLIENT_ADDR, ECHO_VETH_PORT + i);
        if (already_greeted(text))
            continue;
        snprintf(info.addr, sizeof info.addr, "%s (transport=veth, on this machine)", text);
        note_agent(ngreeted, &info);
        snprintf(greeted[ngreeted++], sizeof greeted[0], "%s", text);
    }
}

int echo_agents_plan(const struct param_set *clients, struct echo_agents_spec *spec, char *msg,
                     size_t len)
{
    memset(spec, 0, sizeof *spec);
    if (clients->count == 1 && strcmp(clients->values[0], "local") == 0)
        return 0;
    if (clients->count > AGENT_MAX) {
        snprintf(msg, len, "echo: clients= names %d agents; at most %d", clients->count,
                 AGENT_MAX);
        return MUX_EXIT_USAGE;
    }
    for (int i = 0; i < clients->count; i++) {
        const char *text = clients->values[i];
        char why[256];
        if (agent_parse_addr(text, 0, &spec->addr[i], &spec->addrlen[i], why, sizeof why) < 0) {
            snprintf(msg, len, "echo: clients=%s: %s; or 'local' alone for the forked client",
                     text, why);
            return MUX_EXIT_USAGE;
        }
        for (int k = 0; k < i; k++)
            if (strcmp(spec->text[k], text) == 0) {
                snprintf(msg, len, "echo: clients= names agent %s twice", text);
                return MUX_EXIT_USAGE;
            }
        snprintf(spec->text[i], sizeof spec->text[i], "%s", text);
    }
    spec->n = clients->count;
    for (int i = 0; i < spec->n; i++) {
        if (already_greeted(spec->text[i]) || ngreeted == AGENT_MAX)
            continue;
        int fd = agent_connect(&spec->addr[i], spec->addrlen[i], 0);
        if (fd < 0) {
            snprintf(msg, len, "echo: agent %s is unreachable: %s (is `muxbench agent --listen "
                     "%s` running there?)", spec->text[i], strerror(-fd), spec->text[i]);
            return MUX_EXIT_ENV;
        }
        struct agent_info info;
        char why[512];
        int rc = agent_hello(fd, spec->text[i], &info, why, sizeof why);
        close(fd);
        if (rc < 0) {
            snprintf(msg, len, "echo: %s", why);
            return MUX_EXIT_ENV;
        }
        note_agent(ngreeted, &info);
        snprintf(greeted[ngreeted++], sizeof greeted[0], "%s", spec->text[i]);
    }
    return 0;
}

/* ---- a case -------------------------------------------------------------------------------- */

struct veth_agent_arg {
    const char *ns;
    char listen[64];
};

/* The veth agent's helper: into the client namespace, then the muxbench binary as an agent that
 * exits when the run closes the channel (fd 3). */
static int veth_agent_main(int ctl, void *arg)
{
    const struct veth_agent_arg *a = arg;
    int saved = netns_enter(a->ns);
    if (saved < 0)
        return 3;
    close(saved);
    if (fcntl(ctl, F_SETFD, 0) < 0)
        return 3;
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", ctl);
    char *argv[] = {"muxbench", "agent", "--listen", (char *)a->listen, "--exit-with-fd",
                    fd_text, "--quiet", NULL};
    execv("/proc/self/exe", argv);
    return 127;
}

static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *msg, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return rc;
}

/* The local address the route to `to` leaves from (a UDP connect sends nothing). 0 or -errno. */
static int route_source(const struct sockaddr_storage *to, socklen_t tolen,
                        struct sockaddr_storage *src, socklen_t *srclen)
{
    int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    *srclen = sizeof *src;
    int rc = connect(fd, (const struct sockaddr *)to, tolen) < 0 ||
                     getsockname(fd, (struct sockaddr *)src, srclen) < 0
                 ? -errno
                 : 0;
    close(fd);
    return rc;
}

/* In the server namespace (veth) or this one: the sessions, then the listening socket. */
static int open_sessions(struct echo_agents *ag, struct echo_server *srv, char *msg, size_t len)
{
    struct echo_agents_spec *sp = &ag->spec;
    for (int i = 0; i < sp->n; i++) {
        int fd = agent_connect(&sp->addr[i], sp->addrlen[i], sp->veth);
        if (fd < 0)
            return fail(msg, len, BENCH_ERROR, "agent %s is unreachable: %s", sp->text[i],
                        strerror(-fd));
        ag->a[i].fd = fd;
        struct agent_info info;
        char why[512];
        if (agent_hello(fd, sp->text[i], &info, why, sizeof why) < 0)
            return fail(msg, len, BENCH_ERROR, "%s", why);
    }
    int rc = route_source(&sp->addr[0], sp->addrlen[0], &srv->listen_on, &srv->listen_on_len);
    if (rc < 0)
        return fail(msg, len, BENCH_ERROR, "no route to agent %s: %s", sp->text[0],
                    strerror(-rc));
    rc = echo_server_listen(srv);
    if (rc < 0)
        return fail(msg, len, rc == -EMFILE ? BENCH_LIMIT : BENCH_ERROR,
                    "listening socket: %s", strerror(-rc));
    return BENCH_OK;
}

void echo_agents_init(struct echo_agents *ag)
{
    for (int i = 0; i < AGENT_MAX; i++) {
        ag->a[i].fd = -1;
        ag->a[i].proc = (struct helper)HELPER_NONE;
        ag->cpu_ratio[i] = 0;
    }
    memset(&ag->ns, 0, sizeof ag->ns);
    ag->hist = ag->merged = NULL;
}

int echo_agents_open(struct echo_agents *ag, struct echo_server *srv, int batch, char *msg,
                     size_t len)
{
    struct echo_agents_spec *sp = &ag->spec;
    ag->hist = calloc(1, sizeof *ag->hist);
    ag->merged = calloc(1, sizeof *ag->merged);
    if (!ag->hist || !ag->merged)
        return fail(msg, len, BENCH_LIMIT, "no memory for the latency histograms");
    if (srv->units < sp->n)
        return fail(msg, len, BENCH_SKIP, "%ld connections cannot be spread over %d agents",
                    srv->units, sp->n);
    for (int i = 0; i < sp->n; i++)
        ag->a[i].units = srv->units / sp->n + (i < srv->units % sp->n);

    int saved = -1;
    if (sp->veth) {
        char why[512];
        if (netns_available(why, sizeof why) < 0)
            return fail(msg, len, BENCH_SKIP, "%s", why);
        if (netns_pair_create(&ag->ns, why, sizeof why) < 0)
            return fail(msg, len, BENCH_ERROR, "network namespaces: %s", why);
        for (int i = 0; i < sp->n; i++) {
            struct veth_agent_arg arg = {.ns = ag->ns.client};
            snprintf(arg.listen, sizeof arg.listen, "%s:%d", NETNS_CLIENT_ADDR,
                     ECHO_VETH_PORT + i);
            snprintf(sp->text[i], sizeof sp->text[i], "%s", arg.listen);
            agent_parse_addr(arg.listen, 0, &sp->addr[i], &sp->addrlen[i], why, sizeof why);
            int rc = helper_start(&ag->a[i].proc, "muxbench-agent", veth_agent_main, &arg, why,
                                  sizeof why);
            if (rc < 0)
                return fail(msg, len, rc == -EAGAIN ? BENCH_LIMIT : BENCH_ERROR,
                            "the agent process: %s", why);
        }
        saved = netns_enter(ag->ns.server);
        if (saved < 0)
            return fail(msg, len, BENCH_ERROR, "entering the server namespace: %s",
                        strerror(-saved));
    }
    int rc = open_sessions(ag, srv, msg, len);
    netns_leave(saved);
    if (rc != BENCH_OK)
        return rc;
    return echo_agents_start(ag, srv, 0, batch, msg, len) < 0 ? BENCH_ERROR : BENCH_OK;
}

int echo_agents_start(struct echo_agents *ag, const struct echo_server *srv, int i, int batch,
                      char *msg, size_t len)
{
    struct agent_start st;
    memset(&st, 0, sizeof st);
    st.op = AGENT_START_OP;
    st.tcp = 1;
    st.units = ag->a[i].units;
    st.batch = batch;
    st.addr = srv->addr;
    st.addrlen = srv->addrlen;
    if (agent_send_frame(ag->a[i].fd, &st, sizeof st) < 0) {
        snprintf(msg, len, "agent %s closed the connection", ag->spec.text[i]);
        return -1;
    }
    return 0;
}

int echo_agents_send(struct echo_agents *ag, int i, const void *m, size_t n)
{
    return agent_send_frame(ag->a[i].fd, m, n);
}

int echo_agents_recv(struct echo_agents *ag, int i, void *m, size_t n, int timeout_ms)
{
    int got = agent_recv_frame(ag->a[i].fd, m, n, timeout_ms);
    if (got < 0)
        return got;
    return got == (int)n ? 0 : -EPROTO;
}

int echo_agents_window(struct echo_agents *ag, const struct echo_ctl *run, struct echo_ctl *sum,
                       char *msg, size_t len)
{
    struct echo_agents_spec *sp = &ag->spec;
    long units = 0;
    for (int i = 0; i < sp->n; i++)
        units += ag->a[i].units;
    for (int i = 0; i < sp->n; i++) {
        struct echo_ctl mine = *run;
        /* open loop: each agent sends its connections' share of the rate */
        if (run->rate_per_s) {
            mine.rate_per_s = run->rate_per_s * (uint64_t)ag->a[i].units / (uint64_t)units;
            if (!mine.rate_per_s)
                mine.rate_per_s = 1;
        }
        if (echo_agents_send(ag, i, &mine, sizeof mine) < 0) {
            snprintf(msg, len, "agent %s is gone (the connection closed)", sp->text[i]);
            return -1;
        }
    }
    memset(sum, 0, sizeof *sum);
    memset(ag->merged, 0, sizeof *ag->merged);
    sum->op = ECHO_CTL_RESULT;
    ag->rate = ag->cpu_ratio_max = 0;
    for (int i = 0; i < sp->n; i++) {
        struct echo_ctl *r = &ag->a[i].res;
        int rc = echo_agents_recv(ag, i, r, sizeof *r, ECHO_CTL_TIMEOUT_MS);
        if (rc == 0)
            rc = echo_agents_recv(ag, i, ag->hist, sizeof *ag->hist, ECHO_CTL_TIMEOUT_MS);
        if (rc < 0) {
            snprintf(msg, len, "agent %s %s", sp->text[i],
                     rc == -ETIMEDOUT ? "sent no result in 600 s"
                                      : "is gone (the connection closed mid-window)");
            return -1;
        }
        if (r->op != ECHO_CTL_RESULT || ag->hist->op != ECHO_CTL_HIST) {
            snprintf(msg, len, "agent %s broke the protocol", sp->text[i]);
            return -1;
        }
        if (r->err) {
            snprintf(msg, len, "agent %s: %s", sp->text[i], r->text);
            return -1;
        }
        sum->count += r->count;
        sum->measured += r->measured;
        sum->mismatches += r->mismatches;
        if (r->window_ns > sum->window_ns)
            sum->window_ns = r->window_ns;
        sum->cpu_ns += r->cpu_ns;
        if (r->window_ns > 0) {
            ag->rate += (double)r->measured / ((double)r->window_ns / 1e9);
            ag->cpu_ratio[i] = (double)r->cpu_ns / (double)r->window_ns;
            if (ag->cpu_ratio[i] > ag->cpu_ratio_max)
                ag->cpu_ratio_max = ag->cpu_ratio[i];
        }
        for (int b = 0; b < ECHO_HIST_BUCKETS; b++)
            ag->merged->counts[b] += ag->hist->counts[b];
        ag->merged->total += ag->hist->total;
    }
    sum->p50_ns = (int64_t)echo_hist_quantile(ag->merged, 0.50);
    sum->p99_ns = (int64_t)echo_hist_quantile(ag->merged, 0.99);
    return 0;
}

void echo_agents_close(struct echo_agents *ag)
{
    for (int i = 0; i < AGENT_MAX; i++) {
        if (ag->a[i].fd >= 0)
            close(ag->a[i].fd); /* the agent stops its client */
        ag->a[i].fd = -1;
    }
    for (int i = 0; i < AGENT_MAX; i++)
        helper_stop(&ag->a[i].proc, VETH_AGENT_GRACE_MS);
    netns_pair_remove(&ag->ns);
    free(ag->hist);
    free(ag->merged);
    ag->hist = ag->merged = NULL;
}

void echo_agents_interrupted(void) { netns_remove_current(); }
