/*
 * agent_proto.h - the control connection between a measuring run (echo with
 * `--set clients=ADDR:PORT,...` or transport=veth) and a load-generating agent
 * (`muxbench agent --listen ADDR:PORT`, agent.c). docs/agents.md describes it for users.
 *
 * One TCP connection per session, opened by the measuring side:
 *
 *   measuring side                                   agent
 *   "MUXBENCH-AGENT <proto> <version> <arch>\n"  ─►
 *                                                ◄─  "OK <proto> <version> <arch>\t<host>\t
 *                                                     <kernel>\t<cpu model>\t<cpus>\n"
 *                                                    or "REFUSED <why>\n" and the close
 *   START frame (the server's address, units,    ─►  the agent forks its echo client
 *   batch, tcp)                                      (echo_client.h) with these
 *   echo_ctl frames both ways (echo_proto.h:     ◄─► relayed between the connection and the
 *   CONNECTED/ACK, READY, RUN, RESULT + HIST)        client's control channel
 *   the close                                    ─►  the client closes its connections and
 *                                                    exits; the agent waits for the next session
 *
 * The handshake is text so that a peer of another version, or a stray connection, gets a
 * readable refusal. Both sides refuse unless <proto>, <version> (muxbench's git revision) and
 * <arch> (the machine and byte order: the frames are the build's own structs) are equal.
 * A frame is a 4-byte length in network order and that many bytes.
 *
 * Clocks: every time in a frame is the agent's (its client's CLOCK_MONOTONIC); the measuring
 * side only divides an agent's counts by that agent's own durations.
 */
#ifndef MUX_AGENT_PROTO_H
#define MUX_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define AGENT_PROTO_VERSION 1
#define AGENT_MAGIC "MUXBENCH-AGENT"
#define AGENT_LINE_MAX 1024
#define AGENT_FRAME_MAX 8192
#define AGENT_HANDSHAKE_MS 10000 /* a peer that says nothing for this long is not one */
#define AGENT_CONNECT_MS 5000    /* an agent that does not answer a connect in 5 s is unreachable */
#define AGENT_MAX 8              /* agents of one run (clients=) */
#define AGENT_START_OP 0x53545254u /* "STRT" */

struct agent_start {
    uint32_t op;         /* AGENT_START_OP */
    int32_t tcp;         /* TCP_NODELAY and the abortive close on each connection */
    int64_t units;       /* connections this agent makes */
    int32_t batch;       /* connections per CONNECTED */
    uint32_t addrlen;    /* of addr */
    struct sockaddr_storage addr; /* the server's listening address */
};

/* What an agent said about itself in the handshake (the CSV's environment rows). */
struct agent_info {
    char addr[64]; /* ADDR:PORT as given */
    char version[64], arch[64], host[128], kernel[128], cpu[160];
    long cpus;
};

/* This machine's side of the handshake (addr left empty). */
void agent_local_info(struct agent_info *info);
/* This build's version and architecture strings (the handshake's <version> and <arch>). */
const char *agent_version(void);
const char *agent_arch(void);

/* Parses "ADDR:PORT" or "[ADDR6]:PORT" (numeric only: no name is looked up; port 0 only when
 * port0_ok, for a listener). 0, or -1 with msg. */
int agent_parse_addr(const char *text, int port0_ok, struct sockaddr_storage *ss,
                     socklen_t *len, char *msg, size_t msg_len);
/* "ADDR:PORT" (or "[ADDR6]:PORT") of a socket address. */
void agent_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len);

/* Connects to an agent within AGENT_CONNECT_MS (retrying a refused connect until then when
 * retry_refused: an agent that is starting). The fd, or -errno. */
int agent_connect(const struct sockaddr_storage *ss, socklen_t len, int retry_refused);
/* The measuring side's half of the handshake: 0 with *info filled, or -1 with msg (the agent's
 * refusal, a version that differs, or a peer that is not an agent). */
int agent_hello(int fd, const char *addr_text, struct agent_info *info, char *msg, size_t len);

/* One line (without its '\n') within timeout_ms. Its length, or -errno (-EPIPE: closed). */
int agent_read_line(int fd, char *buf, size_t len, int timeout_ms);
/* The whole buffer, or -errno. */
int agent_write_all(int fd, const void *buf, size_t n);
/* A frame of n bytes; 0 or -errno. */
int agent_send_frame(int fd, const void *m, size_t n);
/* One frame into buf (at most cap bytes) within timeout_ms (negative: for ever). Its length,
 * -ETIMEDOUT, -EPIPE (closed), -EPROTO (longer than cap) or -errno. */
int agent_recv_frame(int fd, void *buf, size_t cap, int timeout_ms);

#endif
