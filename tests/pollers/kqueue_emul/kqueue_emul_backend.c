/*
 * kqueue_emul_backend.c - TEST-ONLY: pollers/kqueue.c, unchanged, compiled against the
 * kevent-over-epoll adapter (kqueue_emul.h) as the backend "kqueue-emul", flagged
 * MUX_F_TEST_ONLY. Test binaries find it through tests/util/test_backends.c; it is never in the
 * registry, muxbench or libmuxpollers.
 */
#define _GNU_SOURCE
#define KQ_REAL 1
#define KQ_EVENT_HEADER "tests/pollers/kqueue_emul/kqueue_emul.h"
#define KQ_OPS_SYMBOL kqueue_emul_ops
#define KQ_NAME "kqueue-emul"
#define KQ_SUMMARY "TEST-ONLY: the kqueue backend over a kevent-over-epoll adapter"
#define KQ_EXTRA_FEATURES MUX_F_TEST_ONLY

#include "pollers/poller.h"

extern const struct poller_ops kqueue_emul_ops;

#include "pollers/kqueue.c"
