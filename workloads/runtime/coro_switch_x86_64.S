/*
 * coro_switch_x86_64.S - the `coro-asm` context switch for x86_64 (System V ABI).
 *
 * One op: one call of coro_switch(from, to) = save the running context on its own stack,
 * store the stack pointer in *from, load to's stack pointer, restore its context, return on
 * to's stack. A resume+yield round trip is two ops. The caller-saved registers (rax, rcx,
 * rdx, rsi, rdi, r8-r11, every xmm/ymm/zmm, the x87 stack) are not saved: the C compiler
 * already spilled whatever it needed across the call, which is why a user-mode switch can be
 * a dozen instructions. Not measured here: the C around it (coro.c's bookkeeping), cache and
 * TLB misses of touching a cold stack, and anything the kernel does (there is no system call).
 *
 * What is saved, and why:
 *  a) rbx, rbp, r12-r15: the callee-saved general registers; rsp itself goes into *from.
 *  b) MXCSR and the x87 control word. The ABI makes their *control* bits callee-saved
 *     ("MXCSR control bits and x87 CW are preserved across calls"), so a coroutine that sets
 *     a rounding mode must not leak it into another. Status flags in MXCSR travel along
 *     (harmless). Cost: stmxcsr/ldmxcsr and fnstcw/fldcw, a few cycles; fldcw can be slow on
 *     older cores, so this is the one part of the switch that is not "just moving registers".
 *  c) The saved frame is 8 + 6*8 bytes below the return address:
 *        sp+0  mxcsr (4 bytes) | x87 cw (2 bytes) | pad (2)
 *        sp+8  r12   sp+16 r13   sp+24 r14   sp+32 r15   sp+40 rbx   sp+48 rbp
 *        sp+56 return address
 *     coro_ctx_make builds the same frame for a new coroutine with the return address
 *     pointing at coro_trampoline, fn in r12 and arg in r13.
 *  d) Stack alignment: the ABI wants rsp+8 to be a multiple of 16 at a function's entry (rsp
 *     is 16-aligned right before the call). coro_ctx_make places the frame so that rsp is
 *     16-aligned when coro_trampoline's `ret` lands, and the trampoline's `call` then gives
 *     the entry function the ABI's alignment (tests/runtime/test_coro.c checks it, and movaps on a
 *     misaligned stack would fault).
 *  f) Unwind information (.cfi_*) says, at every instruction, where the CFA is and where each
 *     saved register sits, so gdb, perf and _Unwind_Backtrace walk through a switch. The frame
 *     of (c) has the same shape on both stacks, so the same rules hold after rsp is loaded: an
 *     unwinder stopped between the load and the `ret` sees the frames of the context being
 *     switched to (where the `ret` goes), and a new coroutine's frame ends at
 *     coro_trampoline, whose return address is undefined (the outermost frame).
 *  e) Not handled: CET shadow stacks (a switch would need to swap the shadow stack too). This
 *     object carries no .note.gnu.property, so a binary linked with it is not marked
 *     SHSTK-compatible and the kernel leaves shadow stacks off for it.
 *
 * The stack is marked non-executable (.note.GNU-stack) so linking this file does not turn on
 * an executable stack for the whole program.
 */
    .text

/* void coro_switch(struct coro_ctx *from, const struct coro_ctx *to) */
    .globl coro_switch
    .type coro_switch, @function
    .p2align 4
coro_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)          /* from->sp */
    movq (%rsi), %rsp          /* to->sp: from here on we are on the other stack (f) */
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r15
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    ret
    .cfi_endproc
    .size coro_switch, .-coro_switch

/* The first code a new coroutine runs: `ret` of coro_switch lands here with rsp 16-aligned,
 * fn in r12 and arg in r13. fn must never return (coro.c's entry switches away instead). */
    .type coro_trampoline, @function
    .p2align 4
coro_trampoline:
    .cfi_startproc
    .cfi_undefined %rip        /* the outermost frame: unwinders and debuggers stop here */
    movq %r13, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size coro_trampoline, .-coro_trampoline

/* void coro_ctx_make(struct coro_ctx *ctx, void *stack_top, void (*fn)(void *), void *arg)
 * Builds the frame of (c) under stack_top (rounded down to 16) and stores its address in
 * ctx->sp. The new coroutine starts with the creator's MXCSR and x87 control word, as a new
 * thread inherits its creator's floating-point environment. */
    .globl coro_ctx_make
    .type coro_ctx_make, @function
    .p2align 4
coro_ctx_make:
    .cfi_startproc
    andq $-16, %rsi
    movq $0, -8(%rsi)          /* a zero "return address" above the first frame */
    movq $0, -16(%rsi)
    leaq -80(%rsi), %rax       /* frame base: 16 spare + 64 frame bytes, 16-aligned */
    stmxcsr (%rax)
    fnstcw 4(%rax)
    movw $0, 6(%rax)
    movq %rdx, 8(%rax)         /* r12 = fn */
    movq %rcx, 16(%rax)        /* r13 = arg */
    movq $0, 24(%rax)          /* r14 */
    movq $0, 32(%rax)          /* r15 */
    movq $0, 40(%rax)          /* rbx */
    movq $0, 48(%rax)          /* rbp = 0: frame-pointer walks end at the coroutine's base */
    leaq coro_trampoline(%rip), %rdx
    movq %rdx, 56(%rax)        /* return address */
    movq %rax, (%rdi)
    ret
    .cfi_endproc
    .size coro_ctx_make, .-coro_ctx_make

    .section .note.GNU-stack,"",@progbits
