/*
 * echo_remote.h - echo's clients on agents (agent.h): `--set clients=ADDR:PORT,...` (agents
 * the user started, on this or other machines) and transport=veth (agents this run starts in a
 * client network namespace, the server in a server namespace: netns.h). docs/agents.md.
 *
 * The case's connections are spread over the agents (units / n each, the first units % n one
 * more). Each agent gets its START only when the one before it is READY, so one accept queue
 * sees one agent's batches at a time (echo's quirk a). A window is RUN to every agent, then
 * every agent's RESULT and HIST: the agents run their windows at the same time, each timed on
 * its own clock.
 *
 * What the measuring side makes of the agents' answers (never a difference of two clocks):
 *   requests/s        the sum over agents of (measured requests / that agent's window)
 *   window            the longest agent window (the case's manual time)
 *   p50, p99          from the agents' histograms merged (echo_proto.h: within 1.6 %)
 *   client cpu share  per agent: its client's CPU time / its window; the case's
 *                     client_cpu_ratio is the highest (the most loaded load generator)
 */
#ifndef MUX_ECHO_REMOTE_H
#define MUX_ECHO_REMOTE_H

#include <stddef.h>
#include <sys/socket.h>

#include "harness/params.h"
#include "workloads/support/agent_proto.h"
#include "workloads/support/echo_proto.h"
#include "workloads/support/echo_server.h"
#include "workloads/support/helper_proc.h"
#include "workloads/support/netns.h"

#define ECHO_VETH_AGENTS_MAX 4 /* agents a veth case starts (helper processes at once) */
#define ECHO_VETH_PORT 7100    /* the first veth agent's port, in the client namespace */

/* Where a case's load comes from, as planned. */
struct echo_agents_spec {
    int veth;  /* start `n` agents in a client namespace */
    int n;     /* agents (0: the local forked client) */
    struct sockaddr_storage addr[AGENT_MAX];
    socklen_t addrlen[AGENT_MAX];
    char text[AGENT_MAX][64];
};

struct echo_agent {
    int fd; /* the session; -1 none */
    long units;
    struct helper proc; /* veth: the agent process */
    struct echo_ctl res;
};

struct echo_agents {
    struct echo_agents_spec spec;
    struct echo_agent a[AGENT_MAX];
    struct netns_pair ns;
    struct echo_hist *hist, *merged;
    /* the last window, combined */
    double rate;         /* requests/s: the sum of the agents' own rates */
    double cpu_ratio[AGENT_MAX];
    double cpu_ratio_max;
};

/* Parses the clients= values (the whole list is one set of agents, not a sweep; "local" alone is
 * the forked client) and, the first time a run names them, greets every agent: its host, kernel
 * and CPU become environment rows (agent<N>.addr, .host, .kernel, .cpu, .cpus, .version).
 * 0; MUX_EXIT_USAGE for a malformed list; MUX_EXIT_ENV with the address named when an agent
 * is unreachable or refuses. */
int echo_agents_plan(const struct param_set *clients, struct echo_agents_spec *spec, char *msg,
                     size_t len);

/* For transport=veth with n agents: their environment rows (this machine's). */
void echo_agents_plan_veth(int n);
/* Clears ag's state (not its spec) so that echo_agents_close() is safe. */
void echo_agents_init(struct echo_agents *ag);
/* The case's set-up: (veth: makes the namespaces and starts the agents;) greets each agent, makes
 * the server listen on an address the agents reach, and sends the first agent its START.
 * BENCH_OK, or BENCH_SKIP/BENCH_ERROR/BENCH_LIMIT with msg; echo_agents_close() undoes it. */
int echo_agents_open(struct echo_agents *ag, struct echo_server *srv, int batch, char *msg,
                     size_t len);
/* Sends agent i+1 its START (after agent i is READY). 0 or -1 with msg. */
int echo_agents_start(struct echo_agents *ag, const struct echo_server *srv, int i, int batch,
                      char *msg, size_t len);
/* An echo_ctl-sized message to or from agent i; as helper_send/helper_recv. */
int echo_agents_send(struct echo_agents *ag, int i, const void *m, size_t n);
int echo_agents_recv(struct echo_agents *ag, int i, void *m, size_t n, int timeout_ms);
/* One window (`run`: RUN with its rounds, trim and rate; an open loop's rate is split over the
 * agents by their connections) on every agent; fills *sum (samples, measured requests,
 * mismatches, the longest window, merged percentiles) and the rates. 0, or -1 with msg naming
 * the agent. */
int echo_agents_window(struct echo_agents *ag, const struct echo_ctl *run, struct echo_ctl *sum,
                       char *msg, size_t len);
/* Closes the sessions (each agent stops its client), stops the agents this case started and
 * removes the namespaces. Safe at any point and twice. */
void echo_agents_close(struct echo_agents *ag);
/* Async-signal-safe, for echo's interrupted() hook: removes the namespaces of this process. */
void echo_agents_interrupted(void);

#endif
