/*
 * test_agent_link.c - what the agents' figures and connection stand on: the latency histogram
 * (echo_proto.h) against exact percentiles of known values, the agents' address parsing, the
 * framing and the measuring side's handshake (agent_proto.h) against a scripted peer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/util/testutil.h"
#include "workloads/support/agent_proto.h"
#include "workloads/support/echo_proto.h"

/* Every value lands in a bucket whose middle is within 1/64 of it. */
static void t_hist_bucket_bound(void)
{
    for (int64_t v = 1; v < (1LL << 38); v = v * 17 / 16 + 1) {
        int b = echo_hist_bucket(v);
        CHECK(b >= 0 && b < ECHO_HIST_BUCKETS);
        double mid = echo_hist_mid(b);
        CHECK(fabs(mid - (double)v) <= (double)v / 64 + 0.5);
        CHECK(b == 0 || echo_hist_bucket(v) >= echo_hist_bucket(v - 1)); /* monotonic */
    }
    CHECK_EQ(echo_hist_bucket(-5), 0);
    CHECK_EQ(echo_hist_bucket(INT64_MAX), ECHO_HIST_BUCKETS - 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Two agents' histograms merged give the percentiles of all their samples together (a known
 * spread: 10 us to 2 ms), within the buckets' bound. */
static void t_hist_merge_percentiles(void)
{
    enum { N = 20000 };
    static struct echo_hist a, b, merged;
    static double all[2 * N];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&merged, 0, sizeof merged);
    srand(7);
    for (int i = 0; i < 2 * N; i++) {
        /* the first agent fast, the second slow: the merge must not average them */
        double v = i < N ? 10000 + rand() % 40000 : 500000 + rand() % 1500000;
        all[i] = v;
        struct echo_hist *h = i < N ? &a : &b;
        h->counts[echo_hist_bucket((int64_t)v)]++;
        h->total++;
    }
    for (int k = 0; k < ECHO_HIST_BUCKETS; k++)
        merged.counts[k] = a.counts[k] + b.counts[k];
    merged.total = a.total + b.total;
    qsort(all, 2 * N, sizeof all[0], cmp_double);
    const double qs[] = {0.25, 0.5, 0.75, 0.99};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double exact = all[(size_t)(qs[i] * (2 * N - 1))];
        double got = echo_hist_quantile(&merged, qs[i]);
        CHECK(fabs(got - exact) <= exact / 64 + 1);
    }
    struct echo_hist empty;
    memset(&empty, 0, sizeof empty);
    CHECK(echo_hist_quantile(&empty, 0.5) == 0);
}

static void t_parse_addr(void)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char msg[256];
    CHECK_EQ(agent_parse_addr("10.1.2.3:7100", 0, &ss, &len, msg, sizeof msg), 0);
    CHECK_EQ(ss.ss_family, AF_INET);
    CHECK_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7100);
    char text[80];
    agent_format_addr(&ss, text, sizeof text);
    CHECK(strcmp(text, "10.1.2.3:7100") == 0);
    CHECK_EQ(agent_parse_addr("[::1]:9", 0, &ss, &len, msg, sizeof msg), 0);
    CHECK_EQ(ss.ss_family, AF_INET6);
    agent_format_addr(&ss, text, sizeof text);
    CHECK(strcmp(text, "[::1]:9") == 0);
    CHECK_EQ(agent_parse_addr("127.0.0.1:0", 1, &ss, &len, msg, sizeof msg), 0);
    const char *bad[] = {"127.0.0.1:0", "127.0.0.1", ":80", "host:80", "1.2.3.4:65536",
                         "1.2.3.4:8x", "[::1]80", "[::1]", "", "1.2.3.4:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        CHECK_EQ(agent_parse_addr(bad[i], 0, &ss, &len, msg, sizeof msg), -1);
        CHECK(strstr(msg, "ADDR:PORT") != NULL);
    }
}

static void t_frames(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char big[3000], got[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    CHECK_EQ(agent_send_frame(sv[0], big, sizeof big), 0);
    CHECK_EQ(agent_recv_frame(sv[1], got, sizeof got, 1000), (int)sizeof big);
    CHECK(memcmp(big, got, sizeof big) == 0);
    CHECK_EQ(agent_recv_frame(sv[1], got, sizeof got, 10), -ETIMEDOUT);
    CHECK_EQ(agent_send_frame(sv[0], big, sizeof big), 0);
    /* longer than the buffer: the stream is out of step, the caller drops the connection */
    CHECK_EQ(agent_recv_frame(sv[1], got, 100, 1000), -EPROTO);
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(agent_send_frame(sv[0], big, 10), 0);
    CHECK_EQ(shutdown(sv[0], SHUT_WR), 0);
    CHECK_EQ(agent_recv_frame(sv[1], got, sizeof got, 1000), 10);
    CHECK_EQ(agent_recv_frame(sv[1], got, sizeof got, 1000), -EPIPE); /* closed */
    close(sv[0]);
    close(sv[1]);
}

/* A scripted agent on the other end of a socketpair: reads the hello, writes `reply`. */
struct script {
    int fd;
    const char *reply;
    char hello[AGENT_LINE_MAX];
};

static void *scripted(void *arg)
{
    struct script *s = arg;
    agent_read_line(s->fd, s->hello, sizeof s->hello, 5000);
    agent_write_all(s->fd, s->reply, strlen(s->reply));
    shutdown(s->fd, SHUT_WR); /* the agent hangs up after its answer */
    return NULL;
}

static int hello_with(const char *reply, struct agent_info *info, char *msg, size_t len,
                      char *hello)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -2;
    struct script s = {.fd = sv[1], .reply = reply};
    pthread_t t;
    pthread_create(&t, NULL, scripted, &s);
    int rc = agent_hello(sv[0], "10.0.0.9:7100", info, msg, len);
    pthread_join(t, NULL);
    if (hello)
        snprintf(hello, AGENT_LINE_MAX, "%s", s.hello);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static void t_hello(void)
{
    struct agent_info info;
    char msg[512], hello[AGENT_LINE_MAX], reply[AGENT_LINE_MAX];
    snprintf(reply, sizeof reply, "OK %d %s %s\thost-b\t6.1.0\tSome CPU\t8\n",
             AGENT_PROTO_VERSION, agent_version(), agent_arch());
    CHECK_EQ(hello_with(reply, &info, msg, sizeof msg, hello), 0);
    char want[AGENT_LINE_MAX];
    snprintf(want, sizeof want, "%s %d %s %s", AGENT_MAGIC, AGENT_PROTO_VERSION, agent_version(),
             agent_arch());
    CHECK(strcmp(hello, want) == 0);
    CHECK(strcmp(info.host, "host-b") == 0 && strcmp(info.kernel, "6.1.0") == 0);
    CHECK(strcmp(info.cpu, "Some CPU") == 0 && info.cpus == 8);
    CHECK(strcmp(info.addr, "10.0.0.9:7100") == 0);

    snprintf(reply, sizeof reply, "OK %d 0123456789ab %s\th\tk\tc\t1\n", AGENT_PROTO_VERSION,
             agent_arch());
    CHECK_EQ(hello_with(reply, &info, msg, sizeof msg, NULL), -1);
    CHECK(strstr(msg, "0123456789ab") && strstr(msg, agent_version()) &&
          strstr(msg, "10.0.0.9:7100"));
    CHECK_EQ(hello_with("REFUSED not today\n", &info, msg, sizeof msg, NULL), -1);
    CHECK(strstr(msg, "refused") && strstr(msg, "not today"));
    CHECK_EQ(hello_with("HTTP/1.0 400 Bad Request\n", &info, msg, sizeof msg, NULL), -1);
    CHECK(strstr(msg, "not a muxbench agent"));
    CHECK_EQ(hello_with("", &info, msg, sizeof msg, NULL), -1); /* closed without a word */
    CHECK(strstr(msg, "no handshake"));
}

static const struct t_test tests[] = {
    {"hist_bucket_bound", t_hist_bucket_bound},
    {"hist_merge_percentiles", t_hist_merge_percentiles},
    {"parse_addr", t_parse_addr},
    {"frames", t_frames},
    {"hello", t_hello},
};

int main(int argc, char **argv)
{
    return t_main(argc, argv, "agent_link.", tests, sizeof tests / sizeof tests[0]);
}
