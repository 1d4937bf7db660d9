/*
 * agent.h - `muxbench agent`: a load generator for a measuring run on another machine (or in
 * another network namespace). It listens on the one address it is given, serves one measuring
 * run at a time (agent_proto.h), runs echo's client (echo_client.h) in a child process on the
 * run's request, relays the client's control messages and its latencies, and waits for the next
 * run. docs/agents.md.
 *
 *   muxbench agent --listen ADDR:PORT [--quiet] [--exit-with-fd N]
 *
 * Exit status: 0 stopped by SIGINT or SIGTERM (the client of a run in progress is killed and
 * reaped first) or, with --exit-with-fd, when fd N reaches end of file (transport=veth ties its
 * agents to the run that started them this way); 2 bad usage; 3 the address cannot be bound
 * (in use, not an address of this machine, no permission).
 */
#ifndef MUX_AGENT_H
#define MUX_AGENT_H

/* argv[1] is "agent". Returns the exit status. */
int agent_command(int argc, char **argv);

#endif
