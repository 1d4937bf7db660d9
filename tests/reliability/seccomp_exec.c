/*
 * seccomp_exec.c - runs a command with io_uring refused by a seccomp filter, the way a
 * container profile refuses it:
 *
 *   seccomp_exec eperm|enosys|kill COMMAND [ARG...]
 *
 * eperm and enosys make io_uring_setup, io_uring_enter and io_uring_register fail with that
 * errno (Docker's default profile; an old kernel); kill makes the first of them kill the
 * process that calls it (SECCOMP_RET_KILL_PROCESS, what a strict profile does). The filter is
 * inherited by every child. No libseccomp: a classic BPF program. Exit 77 on an architecture
 * whose audit id this file does not know; 127 when the command cannot be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#endif

/* One number on every architecture since Linux 5.1. */
enum { NR_IO_URING_SETUP = 425, NR_IO_URING_ENTER = 426, NR_IO_URING_REGISTER = 427 };

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: seccomp_exec eperm|enosys|kill COMMAND [ARG...]\n");
        return 2;
    }
#ifndef NATIVE_ARCH
    fprintf(stderr, "seccomp_exec: unknown architecture\n");
    return 77;
#else
    unsigned action;
    if (strcmp(argv[1], "eperm") == 0)
        action = SECCOMP_RET_ERRNO | EPERM;
    else if (strcmp(argv[1], "enosys") == 0)
        action = SECCOMP_RET_ERRNO | ENOSYS;
    else if (strcmp(argv[1], "kill") == 0)
        action = SECCOMP_RET_KILL_PROCESS;
    else {
        fprintf(stderr, "seccomp_exec: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NR_IO_URING_SETUP, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, NR_IO_URING_REGISTER, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        fprintf(stderr, "seccomp_exec: cannot install the filter: %s\n", strerror(errno));
        return 77;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "seccomp_exec: %s: %s\n", argv[2], strerror(errno));
    return 127;
#endif
}
