/*
 * regs_aarch64.S - test helper: calls fn(a, b) with every callee-saved register loaded from
 * in[]: x19-x29 from in[0..10] and d8-d15 from in[11..18]; stores what they hold after fn
 * returns into out[0..18]. See regs_x86_64.S for why this is in assembly.
 *
 *   void regs_call(void (*fn)(void *, void *), void *a, void *b,
 *                  const uint64_t in[19], uint64_t out[19]);
 */
    .text
    .globl regs_call
    .type regs_call, %function
    .p2align 4
regs_call:
    .cfi_startproc
    stp x29, x30, [sp, #-176]!
    .cfi_adjust_cfa_offset 176
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    str x4, [sp, #160]
    mov x9, x0
    mov x0, x1
    mov x1, x2
    ldp x19, x20, [x3, #0]
    ldp x21, x22, [x3, #16]
    ldp x23, x24, [x3, #32]
    ldp x25, x26, [x3, #48]
    ldp x27, x28, [x3, #64]
    ldr x29, [x3, #80]
    ldp d8, d9, [x3, #88]
    ldp d10, d11, [x3, #104]
    ldp d12, d13, [x3, #120]
    ldp d14, d15, [x3, #136]
    blr x9
    ldr x4, [sp, #160]
    stp x19, x20, [x4, #0]
    stp x21, x22, [x4, #16]
    stp x23, x24, [x4, #32]
    stp x25, x26, [x4, #48]
    stp x27, x28, [x4, #64]
    str x29, [x4, #80]
    stp d8, d9, [x4, #88]
    stp d10, d11, [x4, #104]
    stp d12, d13, [x4, #120]
    stp d14, d15, [x4, #136]
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x29, x30, [sp], #176
    .cfi_adjust_cfa_offset -176
    ret
    .cfi_endproc
    .size regs_call, .-regs_call

/* uintptr_t regs_sp_at_call(void): the caller's stack pointer at its call (must be 16-aligned). */
    .globl regs_sp_at_call
    .type regs_sp_at_call, %function
    .p2align 4
regs_sp_at_call:
    .cfi_startproc
    mov x0, sp
    ret
    .cfi_endproc
    .size regs_sp_at_call, .-regs_sp_at_call

    .section .note.GNU-stack,"",%progbits
