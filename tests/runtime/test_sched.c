/*
 * test_sched.c - the coroutine scheduler over each readiness backend (workloads/runtime/sched.c).
 *
 *   test_sched <backend> <test>     exit 0 pass, 1 fail, 77 skip (backend unavailable here)
 *
 * Each test runs under every registration policy the backend allows (auto, per-wait, and edge
 * and oneshot where the backend has them), so level, edge-forced and oneshot-forced semantics
 * all get the same checks. The body runs twice: a warm-up, then with the number of open fds,
 * threads and map entries compared before and after.
 *
 * Every wait that expects an event has a finite timeout, so a lost wake-up fails the test
 * instead of hanging it; CTest adds a timeout on top.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workloads/runtime/sched.h"
#include "tests/util/test_backends.h"
#include "tests/util/testutil.h"

#define SEC 1000000000LL
#define MS 1000000LL

static const struct poller_ops *ops;

/* coro-asm where this build has it, else coro-ucontext. */
static enum coro_switch_kind default_kind(void)
{
    return coro_switch_probe(CORO_SWITCH_ASM, NULL, 0) == 0 ? CORO_SWITCH_ASM
                                                             : CORO_SWITCH_UCONTEXT;
}

/* ---- helpers ---- */

static struct poller *make_poller(void)
{
    struct poller *p = NULL;
    int rc = poller_create(ops, &p, NULL);
    if (rc < 0) {
        fprintf(stderr, "create(%s): %s\n", ops->name, strerror(-rc));
        return NULL;
    }
    return p;
}

/* The policies this backend can run (auto first). */
static int policies(enum cosched_reg out[5])
{
    int n = 0;
    out[n++] = COSCHED_REG_AUTO;
    out[n++] = COSCHED_REG_PER_WAIT;
    if (cosched_reg_resolve(ops, COSCHED_REG_KEEP) == COSCHED_REG_KEEP)
        out[n++] = COSCHED_REG_KEEP;
    if ((ops->features & MUX_F_EDGE) && !(ops->forced_mode & MUX_ONESHOT))
        out[n++] = COSCHED_REG_EDGE;
    if (ops->features & MUX_F_ONESHOT)
        out[n++] = COSCHED_REG_ONESHOT;
    return n;
}

struct env {
    struct poller *p;
    struct cosched *s;
};

static int env_open(struct env *e, enum cosched_reg reg, enum coro_switch_kind sw,
                    struct coro_pool *pool, int max_events)
{
    memset(e, 0, sizeof *e);
    e->p = make_poller();
    if (!e->p)
        return -1;
    struct cosched_cfg cfg = {.poller = e->p, .reg = reg, .max_events = max_events};
    coro_attr_init(&cfg.attr);
    cfg.attr.switch_kind = sw;
    cfg.attr.stack_size = 64 * 1024;
    if (pool) {
        cfg.attr.stack_kind = CORO_STACK_POOL;
        cfg.attr.pool = pool;
        cfg.attr.stack_size = 0;
    }
    int rc = cosched_create(&e->s, &cfg);
    if (rc < 0) {
        fprintf(stderr, "cosched_create(%s, %s): %s\n", ops->name, cosched_reg_name(reg),
                strerror(-rc));
        poller_destroy(e->p);
        return -1;
    }
    return 0;
}

static void env_close(struct env *e)
{
    cosched_destroy(e->s);
    poller_destroy(e->p);
}

/* Reads one byte, parking on EAGAIN: the byte, or -errno / -ETIMEDOUT / -EPIPE at EOF. */
static int recv_byte(int fd, int64_t timeout)
{
    for (;;) {
        unsigned char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1)
            return c;
        if (n == 0)
            return -EPIPE;
        if (errno != EAGAIN)
            return -errno;
        int r = cosched_wait_fd(fd, MUX_IN, timeout);
        if (r < 0)
            return r;
    }
}

/* Writes one byte, parking on EAGAIN: 0 or -errno. */
static int send_byte(int fd, unsigned char c, int64_t timeout)
{
    for (;;) {
        ssize_t n = write(fd, &c, 1);
        if (n == 1)
            return 0;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        int r = cosched_wait_fd(fd, MUX_OUT, timeout);
        if (r < 0)
            return r;
    }
}

static void close_pair(struct cosched *s, int sv[2])
{
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0) {
            cosched_forget_fd(s, sv[i]);
            close(sv[i]);
            sv[i] = -1;
        }
    }
}

#define FOR_EACH_POLICY(reg)                                                                   \
    enum cosched_reg regs_[5];                                                                 \
    int nregs_ = policies(regs_);                                                              \
    for (int ri_ = 0; ri_ < nregs_ && ((reg) = regs_[ri_], 1); ri_++)

/* ---------------------------------------------------------------------------------------- */
/* a coroutine that waits for an fd parks; the poller wakes it */

struct park {
    int sv[2];
    int written; /* set by the writer just before it writes */
    int got, byte, woke_early;
};

static void park_waiter(void *arg)
{
    struct park *k = arg;
    char c;
    if (read(k->sv[0], &c, 1) != -1 || errno != EAGAIN) {
        k->got = -1000;
        return;
    }
    k->got = cosched_wait_fd(k->sv[0], MUX_IN, 5 * SEC);
    k->woke_early = !k->written;
    k->byte = recv_byte(k->sv[0], 5 * SEC);
}

static void park_writer(void *arg)
{
    struct park *k = arg;
    for (int i = 0; i < 3; i++)
        cosched_yield(); /* the waiter is parked by now */
    k->written = 1;
    if (write(k->sv[1], "k", 1) != 1)
        k->written = -1;
}

static void t_park_wake(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        for (int sw = 0; sw < CORO_SWITCH_KINDS; sw++) {
            if (coro_switch_probe((enum coro_switch_kind)sw, NULL, 0) != 0)
                continue;
            struct env e;
            CHECK_EQ(env_open(&e, reg, (enum coro_switch_kind)sw, NULL, 0), 0);
            struct park k = {0};
            t_socketpair(k.sv);
            CHECK_EQ(cosched_spawn(e.s, park_waiter, &k), 0);
            CHECK_EQ(cosched_spawn(e.s, park_writer, &k), 0);
            CHECK_EQ(cosched_run(e.s), 0);
            struct cosched_stats st;
            cosched_get_stats(e.s, &st);
            if (!(k.got > 0 && (k.got & MUX_IN)) || k.woke_early || k.byte != 'k')
                fprintf(stderr, "%s/%s/%s: got %d, early %d, byte %d\n", ops->name,
                        cosched_reg_name(cosched_reg_used(e.s)),
                        coro_switch_name((enum coro_switch_kind)sw), k.got, k.woke_early,
                        k.byte);
            CHECK(k.got > 0 && (k.got & MUX_IN));
            CHECK_EQ(k.woke_early, 0);
            CHECK_EQ(k.byte, 'k');
            CHECK(st.parks_fd >= 1 && st.wakes_fd >= 1);
            CHECK_EQ(st.finished, 2);
            CHECK_EQ(st.live, 0);
            if (cosched_reg_used(e.s) == COSCHED_REG_PER_WAIT)
                CHECK_EQ(st.reg_add, st.reg_del); /* nothing left registered */
            close_pair(e.s, k.sv);
            env_close(&e);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* many pairs of coroutines exchanging bytes */

#define PAIRS 40
#define MSGS 100

struct pp {
    int sv[2];
    int fails;
    int done;
};

static void pp_client(void *arg)
{
    struct pp *x = arg;
    for (int i = 0; i < MSGS; i++) {
        if (send_byte(x->sv[0], (unsigned char)i, 5 * SEC) < 0 ||
            recv_byte(x->sv[0], 5 * SEC) != (unsigned char)(i + 1)) {
            x->fails++;
            return;
        }
    }
    x->done++;
}

static void pp_server(void *arg)
{
    struct pp *x = arg;
    for (int i = 0; i < MSGS; i++) {
        int c = recv_byte(x->sv[1], 5 * SEC);
        if (c != (unsigned char)i || send_byte(x->sv[1], (unsigned char)(c + 1), 5 * SEC) < 0) {
            x->fails++;
            return;
        }
    }
    x->done++;
}

static void t_ping_pong(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        for (int sw = 0; sw < CORO_SWITCH_KINDS; sw++) {
            if (coro_switch_probe((enum coro_switch_kind)sw, NULL, 0) != 0)
                continue;
            for (int use_pool = 0; use_pool < 2; use_pool++) {
                struct coro_pool *pool = NULL;
                if (use_pool)
                    CHECK_EQ(coro_pool_create(&pool, 32 * 1024, 16), 0);
                struct env e;
                CHECK_EQ(env_open(&e, reg, (enum coro_switch_kind)sw, pool, 8), 0);
                static struct pp x[PAIRS];
                memset(x, 0, sizeof x);
                for (int i = 0; i < PAIRS; i++) {
                    t_socketpair(x[i].sv);
                    CHECK_EQ(cosched_spawn(e.s, pp_server, &x[i]), 0);
                    CHECK_EQ(cosched_spawn(e.s, pp_client, &x[i]), 0);
                }
                CHECK_EQ(cosched_run(e.s), 0);
                int fails = 0, done = 0;
                for (int i = 0; i < PAIRS; i++) {
                    fails += x[i].fails;
                    done += x[i].done;
                    close_pair(e.s, x[i].sv);
                }
                struct cosched_stats st;
                cosched_get_stats(e.s, &st);
                if (fails || done != 2 * PAIRS)
                    fprintf(stderr, "%s/%s/%s/%s: %d failed, %d done\n", ops->name,
                            cosched_reg_name(cosched_reg_used(e.s)),
                            coro_switch_name((enum coro_switch_kind)sw),
                            use_pool ? "pool" : "guard", fails, done);
                printf("%s %-8s %-13s %-5s: %llu parks, %llu wakes, %llu immediate, "
                       "%llu add %llu mod %llu del, %llu poller waits\n",
                       ops->name, cosched_reg_name(cosched_reg_used(e.s)),
                       coro_switch_name((enum coro_switch_kind)sw), use_pool ? "pool" : "guard",
                       (unsigned long long)st.parks_fd, (unsigned long long)st.wakes_fd,
                       (unsigned long long)st.immediate, (unsigned long long)st.reg_add,
                       (unsigned long long)st.reg_mod, (unsigned long long)st.reg_del,
                       (unsigned long long)st.poller_waits);
                CHECK_EQ(fails, 0);
                CHECK_EQ(done, 2 * PAIRS);
                CHECK(st.parks_fd > 0);
                switch (cosched_reg_used(e.s)) {
                case COSCHED_REG_EDGE: /* one add per fd, kept until the forget at close */
                    CHECK(st.reg_add <= 2 * PAIRS);
                    CHECK_EQ(st.reg_mod, 0);
                    CHECK_EQ(st.reg_del, st.reg_add);
                    break;
                case COSCHED_REG_KEEP: /* one add per fd, kept while the loop runs */
                    CHECK(st.reg_add <= 2 * PAIRS);
                    CHECK_EQ(st.reg_mod, 0);
                    CHECK_EQ(st.reg_del, st.reg_add);
                    break;
                case COSCHED_REG_ONESHOT: /* one add per fd, then a mod per park */
                    CHECK(st.reg_add <= 2 * PAIRS);
                    CHECK(st.reg_mod + st.reg_add >= st.parks_fd);
                    break;
                default: /* an add and a del per park */
                    CHECK_EQ(st.reg_add, st.parks_fd);
                    CHECK_EQ(st.reg_del, st.parks_fd);
                    break;
                }
                CHECK_EQ(st.peak_live, 2 * PAIRS);
                env_close(&e);
                CHECK_EQ(coro_pool_destroy(pool), 0);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* timeouts: an idle fd times out, the fd still works afterwards; sleep sleeps */

struct tmo {
    int sv[2];
    int first, second, byte;
    int64_t waited, slept;
};

static void tmo_co(void *arg)
{
    struct tmo *t = arg;
    int64_t t0 = t_now_ns();
    t->first = cosched_wait_fd(t->sv[0], MUX_IN, 30 * MS);
    t->waited = t_now_ns() - t0;
    t0 = t_now_ns();
    cosched_sleep(20 * MS);
    t->slept = t_now_ns() - t0;
    if (write(t->sv[1], "z", 1) != 1)
        return;
    t->second = cosched_wait_fd(t->sv[0], MUX_IN, 5 * SEC);
    t->byte = recv_byte(t->sv[0], 5 * SEC);
}

static void t_timeout(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct tmo t = {0};
        t_socketpair(t.sv);
        CHECK_EQ(cosched_spawn(e.s, tmo_co, &t), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK_EQ(t.first, -ETIMEDOUT);
        CHECK(t.waited >= 29 * MS && t.waited < 3 * SEC);
        CHECK(t.slept >= 19 * MS && t.slept < 3 * SEC);
        CHECK(t.second > 0 && (t.second & MUX_IN));
        CHECK_EQ(t.byte, 'z');
        struct cosched_stats st;
        cosched_get_stats(e.s, &st);
        CHECK_EQ(st.timeouts, 1);
        close_pair(e.s, t.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* a full socket: the writer parks for MUX_OUT; a reader parks on the same fd for MUX_IN */

struct full {
    int sv[2];
    size_t filled;
    int out_got, in_got, drained, extra_sent, in_byte;
};

static void full_writer(void *arg)
{
    struct full *f = arg;
    char buf[4096];
    memset(buf, 'w', sizeof buf);
    for (;;) {
        ssize_t n = write(f->sv[0], buf, sizeof buf);
        if (n > 0) {
            f->filled += (size_t)n;
            continue;
        }
        break; /* EAGAIN: full */
    }
    f->out_got = cosched_wait_fd(f->sv[0], MUX_OUT, 5 * SEC);
}

static void full_in_waiter(void *arg)
{
    struct full *f = arg;
    f->in_got = cosched_wait_fd(f->sv[0], MUX_IN, 5 * SEC);
    f->in_byte = recv_byte(f->sv[0], 5 * SEC);
}

static void full_drainer(void *arg)
{
    struct full *f = arg;
    for (int i = 0; i < 3; i++)
        cosched_yield(); /* both waiters on sv[0] are parked now */
    char buf[4096];
    size_t got = 0;
    while (got < f->filled) {
        ssize_t n = read(f->sv[1], buf, sizeof buf);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN && cosched_wait_fd(f->sv[1], MUX_IN, 5 * SEC) > 0)
            continue;
        return;
    }
    f->drained = 1;
    /* Let the writer run, then wake the reader parked on the same fd. */
    for (int i = 0; i < 3; i++)
        cosched_yield();
    f->extra_sent = write(f->sv[1], "i", 1) == 1;
}

static void t_write_blocked(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct full f = {0};
        t_socketpair(f.sv);
        CHECK_EQ(cosched_spawn(e.s, full_writer, &f), 0);
        CHECK_EQ(cosched_spawn(e.s, full_in_waiter, &f), 0);
        CHECK_EQ(cosched_spawn(e.s, full_drainer, &f), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        if (!(f.out_got > 0 && (f.out_got & MUX_OUT)) || !(f.in_got > 0 && (f.in_got & MUX_IN)))
            fprintf(stderr, "%s/%s: filled %zu, out %d, in %d, drained %d\n", ops->name,
                    cosched_reg_name(cosched_reg_used(e.s)), f.filled, f.out_got, f.in_got,
                    f.drained);
        CHECK(f.filled > 0);
        CHECK_EQ(f.drained, 1);
        CHECK(f.out_got > 0 && (f.out_got & MUX_OUT));
        CHECK(f.in_got > 0 && (f.in_got & MUX_IN));
        CHECK_EQ(f.extra_sent, 1);
        CHECK_EQ(f.in_byte, 'i');
        close_pair(e.s, f.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* one coroutine waiting for either direction wakes for whichever comes */

struct either {
    int sv[2];
    int got_out, got_in;
};

static void either_co(void *arg)
{
    struct either *x = arg;
    x->got_out = cosched_wait_fd(x->sv[0], MUX_IN | MUX_OUT, 5 * SEC); /* writable: OUT */
    char buf[4096]; /* the coroutine's stack is 64 KiB */
    memset(buf, 'f', sizeof buf);
    while (write(x->sv[0], buf, sizeof buf) > 0)
        ; /* full: now only IN can come */
    x->got_in = cosched_wait_fd(x->sv[0], MUX_IN | MUX_OUT, 5 * SEC);
}

static void either_peer(void *arg)
{
    struct either *x = arg;
    for (int i = 0; i < 3; i++)
        cosched_yield();
    if (write(x->sv[1], "i", 1) != 1) /* IN for sv[0]; sv[0] stays full, so no OUT */
        x->got_in = -1000;
}

static void t_wait_either(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct either x = {0};
        t_socketpair(x.sv);
        CHECK_EQ(cosched_spawn(e.s, either_co, &x), 0);
        CHECK_EQ(cosched_spawn(e.s, either_peer, &x), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK(x.got_out > 0 && (x.got_out & MUX_OUT));
        CHECK(x.got_in > 0 && (x.got_in & MUX_IN));
        CHECK_EQ(x.got_in & MUX_OUT, 0);
        close_pair(e.s, x.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* readiness that holds before the first wait is not lost (edge add reports it) */

struct early {
    int sv[2];
    int got;
    int64_t took;
};

static void early_co(void *arg)
{
    struct early *x = arg;
    int64_t t0 = t_now_ns();
    x->got = cosched_wait_fd(x->sv[0], MUX_IN, 5 * SEC); /* no read first: data is there */
    x->took = t_now_ns() - t0;
}

static void t_ready_before_wait(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, CORO_SWITCH_UCONTEXT, NULL, 0), 0);
        struct early x = {0};
        t_socketpair(x.sv);
        CHECK_EQ(write(x.sv[1], "e", 1), 1);
        CHECK_EQ(cosched_spawn(e.s, early_co, &x), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK(x.got > 0 && (x.got & MUX_IN));
        CHECK(x.took < 2 * SEC);
        close_pair(e.s, x.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* readiness that arrives between two waits, while the coroutine is busy, is not lost (edge:
 * it is remembered and the next wait returns at once) */

struct between {
    int sv[2];
    int step, got1, got2, byte2;
};

static void between_reader(void *arg)
{
    struct between *b = arg;
    b->got1 = recv_byte(b->sv[0], 5 * SEC); /* parks: registers the fd */
    char c;
    if (read(b->sv[0], &c, 1) != -1 || errno != EAGAIN) /* drained: the edge rule is kept */
        return;
    b->step = 1;
    while (b->step != 2)
        cosched_yield(); /* busy: the second byte and its edge arrive now */
    b->got2 = cosched_wait_fd(b->sv[0], MUX_IN, 5 * SEC);
    b->byte2 = recv_byte(b->sv[0], 5 * SEC);
}

static void between_writer(void *arg)
{
    struct between *b = arg;
    cosched_yield();
    if (write(b->sv[1], "1", 1) != 1)
        return;
    while (b->step != 1)
        cosched_yield();
    if (write(b->sv[1], "2", 1) != 1)
        return;
    cosched_sleep(5 * MS); /* lets the scheduler poll and see the edge */
    b->step = 2;
}

/* Waits on another fd meanwhile, so the scheduler keeps polling while the reader is busy (with
 * no fd waiter at all it would not poll, and epoll would simply hold the edge until it does). */
static void between_bystander(void *arg)
{
    struct between *b = arg;
    int sv[2];
    t_socketpair(sv);
    while (b->step != 2)
        cosched_wait_fd(sv[0], MUX_IN, 2 * MS);
    cosched_forget_fd(NULL, sv[0]);
    close(sv[0]);
    close(sv[1]);
}

static void t_ready_between_waits(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct between b = {0};
        t_socketpair(b.sv);
        CHECK_EQ(cosched_spawn(e.s, between_reader, &b), 0);
        CHECK_EQ(cosched_spawn(e.s, between_writer, &b), 0);
        CHECK_EQ(cosched_spawn(e.s, between_bystander, &b), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        struct cosched_stats st;
        cosched_get_stats(e.s, &st);
        CHECK_EQ(b.got1, '1');
        CHECK(b.got2 > 0 && (b.got2 & MUX_IN));
        CHECK_EQ(b.byte2, '2');
        if (cosched_reg_used(e.s) == COSCHED_REG_EDGE)
            CHECK_EQ(st.immediate, 1); /* remembered, not parked for */
        close_pair(e.s, b.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* the peer closes: the waiter wakes (MUX_IN, and MUX_HUP where the backend reports it) */

struct hup {
    int sv[2];
    int got, rd;
};

static void hup_waiter(void *arg)
{
    struct hup *h = arg;
    h->got = cosched_wait_fd(h->sv[0], MUX_IN, 5 * SEC);
    h->rd = recv_byte(h->sv[0], 5 * SEC);
}

static void hup_closer(void *arg)
{
    struct hup *h = arg;
    cosched_yield();
    cosched_forget_fd(NULL, h->sv[1]);
    close(h->sv[1]);
    h->sv[1] = -1;
}

static void t_hangup(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, CORO_SWITCH_UCONTEXT, NULL, 0), 0);
        struct hup h = {0};
        t_socketpair(h.sv);
        CHECK_EQ(cosched_spawn(e.s, hup_waiter, &h), 0);
        CHECK_EQ(cosched_spawn(e.s, hup_closer, &h), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK(h.got > 0);
        CHECK(h.got & (MUX_IN | MUX_HUP));
        if (ops->features & MUX_F_HUPERR)
            CHECK(h.got & MUX_HUP);
        CHECK_EQ(h.rd, -EPIPE); /* EOF */
        close_pair(e.s, h.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* many parked coroutines, woken in one go, delivered in small batches */

#define MANY 300

struct many {
    int sv[MANY][2];
    int woke;
};
static struct many *mw;

static void many_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (recv_byte(mw->sv[i][0], 5 * SEC) == 'm')
        mw->woke++;
}

static void many_driver(void *arg)
{
    (void)arg;
    cosched_yield();
    for (int i = MANY - 1; i >= 0; i--)
        if (write(mw->sv[i][1], "m", 1) != 1)
            return;
}

static void t_many_waiters(void)
{
    t_raise_nofile();
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct coro_pool *pool;
        CHECK_EQ(coro_pool_create(&pool, 32 * 1024, 64), 0);
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), pool, 7), 0);
        mw = calloc(1, sizeof *mw);
        CHECK(mw);
        for (int i = 0; i < MANY; i++) {
            t_socketpair(mw->sv[i]);
            CHECK_EQ(cosched_spawn(e.s, many_waiter, (void *)(intptr_t)i), 0);
        }
        CHECK_EQ(cosched_spawn(e.s, many_driver, NULL), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK_EQ(mw->woke, MANY);
        struct cosched_stats st;
        cosched_get_stats(e.s, &st);
        CHECK(st.poller_waits >= MANY / 7); /* batches of at most max_events */
        for (int i = 0; i < MANY; i++)
            close_pair(e.s, mw->sv[i]);
        free(mw);
        env_close(&e);
        CHECK_EQ(coro_pool_destroy(pool), 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* errors come back as -errno */

struct errs {
    int sv[2];
    int closed_fd;
    int bad_fd, zero_events, bad_bits, closed, busy, regular;
    int regular_fd;
    int parked;
};

static void errs_first(void *arg)
{
    struct errs *x = arg;
    x->bad_fd = cosched_wait_fd(-1, MUX_IN, 0);
    x->zero_events = cosched_wait_fd(x->sv[0], 0, 0);
    x->bad_bits = cosched_wait_fd(x->sv[0], MUX_IN | MUX_EDGE, 0);
    x->closed = cosched_wait_fd(x->closed_fd, MUX_IN, 10 * MS);
    x->regular = cosched_wait_fd(x->regular_fd, MUX_IN, 10 * MS);
    x->parked = 1;
    cosched_wait_fd(x->sv[0], MUX_IN, 200 * MS); /* parked while errs_second asks too */
}

static void errs_second(void *arg)
{
    struct errs *x = arg;
    for (int i = 0; i < 1000 && !x->parked; i++)
        cosched_yield();
    x->busy = cosched_wait_fd(x->sv[0], MUX_IN, 0);
}

static void bad_yield(void *arg)
{
    (void)arg;
    coro_yield(); /* not through the scheduler: nobody will ever resume it */
}

static void t_errors(void)
{
    CHECK_EQ(cosched_wait_fd(0, MUX_IN, 0), -EPERM); /* not inside a coroutine */
    CHECK_EQ(cosched_sleep(1), -EPERM);
    CHECK_EQ(cosched_forget_fd(NULL, 0), -EPERM);
    struct cosched *s = (struct cosched *)&s;
    CHECK_EQ(cosched_create(&s, NULL), -EINVAL);
    CHECK(s == NULL);
    struct cosched_cfg cfg = {0};
    CHECK_EQ(cosched_create(&s, &cfg), -EINVAL); /* no poller */

    struct poller *p = make_poller();
    CHECK(p);
    cfg.poller = p;
    coro_attr_init(&cfg.attr);
    cfg.reg = COSCHED_REG_EDGE;
    int rc = cosched_create(&s, &cfg);
    if ((ops->features & MUX_F_EDGE) && !(ops->forced_mode & MUX_ONESHOT)) {
        CHECK_EQ(rc, 0);
        cosched_destroy(s);
    } else {
        CHECK_EQ(rc, -EOPNOTSUPP);
    }
    cfg.reg = COSCHED_REG_ONESHOT;
    rc = cosched_create(&s, &cfg);
    if (ops->features & MUX_F_ONESHOT) {
        CHECK_EQ(rc, 0);
        cosched_destroy(s);
    } else {
        CHECK_EQ(rc, -EOPNOTSUPP);
    }
    cfg.reg = (enum cosched_reg)42;
    CHECK_EQ(cosched_create(&s, &cfg), -EINVAL);
    poller_destroy(p);

    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct errs x = {0};
        t_socketpair(x.sv);
        char path[] = "/tmp/muxbench-test-sched-XXXXXX";
        x.regular_fd = mkstemp(path);
        CHECK(x.regular_fd >= 0);
        unlink(path);
        int tmp[2];
        t_socketpair(tmp);
        close(tmp[0]);
        close(tmp[1]);
        x.closed_fd = tmp[0]; /* a number no open file has (nothing is opened after this) */
        CHECK_EQ(cosched_spawn(e.s, errs_first, &x), 0);
        CHECK_EQ(cosched_spawn(e.s, errs_second, &x), 0);
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK_EQ(x.bad_fd, -EBADF);
        CHECK_EQ(x.zero_events, -EINVAL);
        CHECK_EQ(x.bad_bits, -EINVAL);
        CHECK_EQ(x.closed, -EBADF);
        CHECK_EQ(x.busy, -EBUSY);
        /* A regular file: epoll refuses it (EPERM); select and poll report it ready. */
        CHECK(x.regular == -EPERM || (x.regular > 0 && (x.regular & MUX_IN)));
        cosched_forget_fd(e.s, x.regular_fd);
        close(x.regular_fd);
        close_pair(e.s, x.sv);

        /* A coroutine that suspends itself behind the scheduler's back: a deadlock, reported. */
        CHECK_EQ(cosched_spawn(e.s, bad_yield, NULL), 0);
        CHECK_EQ(cosched_run(e.s), -EDEADLK);
        env_close(&e); /* destroys the stuck coroutine */
    }

    /* Destroying a scheduler whose coroutines never ran frees them. */
    struct env e;
    CHECK_EQ(env_open(&e, COSCHED_REG_AUTO, CORO_SWITCH_UCONTEXT, NULL, 0), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(cosched_spawn(e.s, bad_yield, NULL), 0);
    env_close(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* the policy AUTO picks matches the backend's semantics */

static void t_auto_policy(void)
{
    struct env e;
    CHECK_EQ(env_open(&e, COSCHED_REG_AUTO, CORO_SWITCH_UCONTEXT, NULL, 0), 0);
    enum cosched_reg used = cosched_reg_used(e.s);
    enum cosched_reg want = (ops->forced_mode & MUX_ONESHOT) ? COSCHED_REG_ONESHOT
                            : (ops->forced_mode & MUX_EDGE)  ? COSCHED_REG_EDGE
                            : (ops->features & MUX_F_LEVEL)  ? COSCHED_REG_PER_WAIT
                            : (ops->features & MUX_F_EDGE)   ? COSCHED_REG_EDGE
                                                             : COSCHED_REG_ONESHOT;
    printf("%s: auto policy is %s\n", ops->name, cosched_reg_name(used));
    CHECK_EQ(used, want);
    env_close(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* cancel_all: a reader parked on an fd, a sleeper on a far timer and a runnable task all get
 * -ECANCELED (the runnable one at its next park, and every park after); the canceller does not */

struct cancel {
    int sv[2];
    int reader, sleeper, runnable, runnable_again, canceller;
    size_t newly, again;
};

static void cancel_reader(void *arg)
{
    struct cancel *c = arg;
    c->reader = cosched_wait_fd(c->sv[0], MUX_IN, 5 * SEC);
}

static void cancel_sleeper(void *arg) { ((struct cancel *)arg)->sleeper = cosched_sleep(3600 * SEC); }

static void cancel_runnable(void *arg)
{
    struct cancel *c = arg;
    cosched_yield(); /* queued behind the canceller: runnable when the cancel comes */
    cosched_yield();
    c->runnable = cosched_sleep(1);
    c->runnable_again = cosched_wait_fd(c->sv[0], MUX_IN, 5 * SEC);
}

static void cancel_canceller(void *arg)
{
    struct cancel *c = arg;
    cosched_yield(); /* the reader and the sleeper park */
    c->newly = cosched_cancel_all(NULL);
    c->again = cosched_cancel_all(NULL); /* nobody is cancelled twice */
    c->canceller = cosched_sleep(1);     /* the caller itself is not cancelled */
}

static void t_cancel_all(void)
{
    enum cosched_reg reg;
    FOR_EACH_POLICY(reg)
    {
        struct env e;
        CHECK_EQ(env_open(&e, reg, default_kind(), NULL, 0), 0);
        struct cancel c = {0};
        t_socketpair(c.sv);
        CHECK_EQ(cosched_spawn(e.s, cancel_reader, &c), 0);
        CHECK_EQ(cosched_spawn(e.s, cancel_sleeper, &c), 0);
        CHECK_EQ(cosched_spawn(e.s, cancel_canceller, &c), 0);
        CHECK_EQ(cosched_spawn(e.s, cancel_runnable, &c), 0);
        int64_t t0 = t_now_ns();
        CHECK_EQ(cosched_run(e.s), 0);
        CHECK(t_now_ns() - t0 < 3 * SEC); /* the hour-long sleep did not run out */
        CHECK_EQ(c.reader, -ECANCELED);
        CHECK_EQ(c.sleeper, -ECANCELED);
        CHECK_EQ(c.runnable, -ECANCELED);
        CHECK_EQ(c.runnable_again, -ECANCELED);
        CHECK_EQ(c.canceller, 0);
        CHECK_EQ(c.newly, 3);
        CHECK_EQ(c.again, 0);
        struct cosched_stats st;
        cosched_get_stats(e.s, &st);
        CHECK_EQ(st.cancelled, 3);
        CHECK_EQ(st.finished, 4);
        CHECK_EQ(cosched_cancel_all(e.s), 0); /* nothing live: nothing to cancel */
        close_pair(e.s, c.sv);
        env_close(&e);
    }
}

/* ---------------------------------------------------------------------------------------- */

struct test_case {
    const char *name;
    void (*fn)(void);
};

/* CMake reads the names from these lines: keep one entry per line, in this form. */
static const struct test_case tests[] = {
    {"park_wake", t_park_wake},
    {"ping_pong", t_ping_pong},
    {"timeout", t_timeout},
    {"write_blocked", t_write_blocked},
    {"wait_either", t_wait_either},
    {"ready_before_wait", t_ready_before_wait},
    {"ready_between_waits", t_ready_between_waits},
    {"hangup", t_hangup},
    {"many_waiters", t_many_waiters},
    {"errors", t_errors},
    {"auto_policy", t_auto_policy},
    {"cancel_all", t_cancel_all},
};

int main(int argc, char **argv)
{
    int status;
    long k = t_backend_main(argc, argv, tests, sizeof tests[0], sizeof tests / sizeof tests[0],
                            &ops, &status);
    if (k < 0)
        return status;
    const struct test_case *tc = &tests[k];

    t_run_leaving_nothing(tc->fn);
    printf("%s %s/%s\n", t_failures ? "FAIL" : "PASS", ops->name, tc->name);
    return t_failures ? 1 : 0;
}
