/*
 * regs_x86_64.S - test helper: calls fn(a, b) with every callee-saved register (rbx, rbp,
 * r12-r15) loaded from in[0..5], and stores what those registers hold after fn returns into
 * out[0..5]. With fn = coro_switch (or swapcontext, or a thin wrapper over coro_resume or
 * coro_yield) no C code sits between the patterns and the switch, so a register the switch
 * fails to restore shows up in out[] instead of being papered over by a compiler's spill.
 *
 *   void regs_call(void (*fn)(void *, void *), void *a, void *b,
 *                  const uint64_t in[6], uint64_t out[6]);
 */
    .text
    .globl regs_call
    .type regs_call, @function
    .p2align 4
regs_call:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    pushq %r12
    .cfi_adjust_cfa_offset 8
    pushq %r13
    .cfi_adjust_cfa_offset 8
    pushq %r14
    .cfi_adjust_cfa_offset 8
    pushq %r15
    .cfi_adjust_cfa_offset 8
    pushq %r8                  /* out; rsp is now 16-aligned for the call */
    .cfi_adjust_cfa_offset 8
    movq %rdi, %rax
    movq %rsi, %rdi
    movq %rdx, %rsi
    movq 0(%rcx), %rbx
    movq 8(%rcx), %rbp
    movq 16(%rcx), %r12
    movq 24(%rcx), %r13
    movq 32(%rcx), %r14
    movq 40(%rcx), %r15
    callq *%rax
    movq (%rsp), %r8
    movq %rbx, 0(%r8)
    movq %rbp, 8(%r8)
    movq %r12, 16(%r8)
    movq %r13, 24(%r8)
    movq %r14, 32(%r8)
    movq %r15, 40(%r8)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r15
    .cfi_adjust_cfa_offset -8
    popq %r14
    .cfi_adjust_cfa_offset -8
    popq %r13
    .cfi_adjust_cfa_offset -8
    popq %r12
    .cfi_adjust_cfa_offset -8
    popq %rbx
    .cfi_adjust_cfa_offset -8
    popq %rbp
    .cfi_adjust_cfa_offset -8
    ret
    .cfi_endproc
    .size regs_call, .-regs_call

/* uintptr_t regs_sp_at_call(void): the caller's stack pointer just before its call
 * instruction (the ABI wants it 16-aligned). */
    .globl regs_sp_at_call
    .type regs_sp_at_call, @function
    .p2align 4
regs_sp_at_call:
    .cfi_startproc
    leaq 8(%rsp), %rax
    ret
    .cfi_endproc
    .size regs_sp_at_call, .-regs_sp_at_call

    .section .note.GNU-stack,"",@progbits
