/*
 * coro_switch_aarch64.S - the `coro-asm` context switch for aarch64 (AAPCS64).
 *
 * One op: one call of coro_switch(from, to) = store the callee-saved state on the running
 * stack, store sp in *from, load to's sp, restore, return through to's saved link register.
 * A resume+yield round trip is two ops. Caller-saved state (x0-x18, v0-v7 and v16-v31, the
 * upper 64 bits of v8-v15, NZCV, FPSR's flags) is not saved: the compiler spilled what it needed
 * across the call. Not measured: coro.c's bookkeeping, cold-stack cache/TLB misses, the kernel
 * (there is no system call).
 *
 * What is saved, and why:
 *  a) x19-x28, x29 (frame pointer), x30 (link register: where the switch returns to) and sp.
 *  b) d8-d15: AAPCS64 makes the low 64 bits of v8-v15 callee-saved.
 *  c) FPCR (rounding mode, flush-to-zero, default-NaN): the ABI treats its control fields as
 *     callee-saved, so each coroutine keeps its own rounding mode. mrs/msr fpcr are not free on
 *     every core; this is the one part of the switch beyond moving registers.
 *  d) Frame, 176 bytes (a multiple of 16: sp must stay 16-aligned at every access on Linux):
 *        sp+0 x19,x20  +16 x21,x22  +32 x23,x24  +48 x25,x26  +64 x27,x28  +80 x29,x30
 *        sp+96 d8,d9   +112 d10,d11 +128 d12,d13 +144 d14,d15 +160 fpcr  +168 pad
 *     coro_ctx_make builds the same frame for a new coroutine: x30 = coro_trampoline,
 *     x19 = fn, x20 = arg, x29 = 0.
 *  e) x18 (the platform register) is left alone, as the ABI asks.
 *
 * The stack is marked non-executable (.note.GNU-stack).
 */
    .text

/* void coro_switch(struct coro_ctx *from, const struct coro_ctx *to) */
    .globl coro_switch
    .type coro_switch, %function
    .p2align 4
coro_switch:
    .cfi_startproc
    sub sp, sp, #176
    .cfi_adjust_cfa_offset 176
    stp x19, x20, [sp, #0]
    .cfi_offset x19, -176
    .cfi_offset x20, -168
    stp x21, x22, [sp, #16]
    .cfi_offset x21, -160
    .cfi_offset x22, -152
    stp x23, x24, [sp, #32]
    .cfi_offset x23, -144
    .cfi_offset x24, -136
    stp x25, x26, [sp, #48]
    .cfi_offset x25, -128
    .cfi_offset x26, -120
    stp x27, x28, [sp, #64]
    .cfi_offset x27, -112
    .cfi_offset x28, -104
    stp x29, x30, [sp, #80]
    .cfi_offset x29, -96
    .cfi_offset x30, -88
    stp d8, d9, [sp, #96]
    .cfi_offset d8, -80
    .cfi_offset d9, -72
    stp d10, d11, [sp, #112]
    .cfi_offset d10, -64
    .cfi_offset d11, -56
    stp d12, d13, [sp, #128]
    .cfi_offset d12, -48
    .cfi_offset d13, -40
    stp d14, d15, [sp, #144]
    .cfi_offset d14, -32
    .cfi_offset d15, -24
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]               /* from->sp */
    ldr x9, [x1]
    mov sp, x9                 /* to->sp: from here on we are on the other stack */
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore x29
    .cfi_restore x30
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    ldr x9, [sp, #160]
    msr fpcr, x9
    add sp, sp, #176
    .cfi_adjust_cfa_offset -176
    ret
    .cfi_endproc
    .size coro_switch, .-coro_switch

/* The first code a new coroutine runs: fn in x19, arg in x20, sp 16-aligned. fn never
 * returns (coro.c's entry switches away instead). */
    .type coro_trampoline, %function
    .p2align 4
coro_trampoline:
    .cfi_startproc
    .cfi_undefined x30         /* the outermost frame: unwinders stop here */
    mov x0, x20
    blr x19
    brk #1
    .cfi_endproc
    .size coro_trampoline, .-coro_trampoline

/* void coro_ctx_make(struct coro_ctx *ctx, void *stack_top, void (*fn)(void *), void *arg)
 * Builds frame (d) under stack_top (rounded down to 16) with 16 spare bytes above it, and
 * stores its address in ctx->sp. The new coroutine starts with the creator's FPCR. */
    .globl coro_ctx_make
    .type coro_ctx_make, %function
    .p2align 4
coro_ctx_make:
    .cfi_startproc
    and x1, x1, #~15
    stp xzr, xzr, [x1, #-16]
    sub x9, x1, #192           /* 16 spare + 176 frame bytes */
    stp x2, x3, [x9, #0]       /* x19 = fn, x20 = arg */
    stp xzr, xzr, [x9, #16]
    stp xzr, xzr, [x9, #32]
    stp xzr, xzr, [x9, #48]
    stp xzr, xzr, [x9, #64]
    adr x10, coro_trampoline
    stp xzr, x10, [x9, #80]    /* x29 = 0, x30 = trampoline */
    stp xzr, xzr, [x9, #96]
    stp xzr, xzr, [x9, #112]
    stp xzr, xzr, [x9, #128]
    stp xzr, xzr, [x9, #144]
    mrs x10, fpcr
    stp x10, xzr, [x9, #160]
    str x9, [x0]
    ret
    .cfi_endproc
    .size coro_ctx_make, .-coro_ctx_make

    .section .note.GNU-stack,"",%progbits
