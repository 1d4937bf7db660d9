/*
 * coro_switch.h - the assembly switch underneath coro.c (coro_switch_<arch>.S), for coro.c and
 * the tests that check it register by register. Workloads use coro.h, not this.
 *
 * Built for x86_64 and aarch64 (MUX_CORO_HAVE_ASM=1, set by CMake from
 * CMAKE_SYSTEM_PROCESSOR); elsewhere these symbols do not exist and coro_switch_probe() says
 * why the `coro-asm` variant is unavailable.
 */
#ifndef MUX_CORO_SWITCH_H
#define MUX_CORO_SWITCH_H

struct coro_ctx {
    void *sp; /* the saved stack pointer; everything else lives on that stack */
};

#if MUX_CORO_HAVE_ASM
/* Saves the running context into *from and continues the one saved in *to. Returns when some
 * later switch names `from` as its `to`. */
void coro_switch(struct coro_ctx *from, const struct coro_ctx *to);
/* Prepares *ctx so that the first coro_switch into it calls fn(arg) on the stack that ends at
 * stack_top, with the ABI's entry alignment and the creator's floating-point control state.
 * fn must never return. */
void coro_ctx_make(struct coro_ctx *ctx, void *stack_top, void (*fn)(void *), void *arg);
#endif

#endif
