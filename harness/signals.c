/* signals.c - see signals.h. */
#define _GNU_SOURCE
#include "harness/signals.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/exit_codes.h"
#include "harness/reap.h"
#include "harness/shim.h"

/* The run the handlers act on: set once by signals_start, read by the signal thread and the
 * crash handler (which may run on any thread at any time, hence plain statics). */
static struct csv_out *g_csv;
static const struct workload *const *g_workloads;
static int g_nworkloads;
static char g_json_partial[PATH_MAX];
static sigset_t g_sigs;
static atomic_int g_committed;
static atomic_int g_cases_done;
static atomic_int g_interrupting; /* the signal thread is ending the run */

void signals_case_done(void) { atomic_fetch_add(&g_cases_done, 1); }

void signals_run_committed(void) { atomic_store(&g_committed, 1); }

void signals_block(void)
{
    sigemptyset(&g_sigs);
    sigaddset(&g_sigs, SIGINT);
    sigaddset(&g_sigs, SIGTERM);
    sigaddset(&g_sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &g_sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void signals_yield_to_interrupt(void)
{
    while (atomic_load(&g_interrupting))
        pause();
}

void signals_stop_children(void)
{
    for (int w = 0; w < g_nworkloads; w++)
        if (g_workloads[w]->interrupted)
            g_workloads[w]->interrupted();
    reap_all_children(); /* whatever a workload's own cleanup did not reach */
}

/* A crash (a fault, an abort from fortified libc or a sanitizer) in a later case: the cases
 * that finished are whole in the temporary file (one write per case), so they are kept under
 * the partial name before the signal takes its default course. rename() is async-signal-safe;
 * nothing here takes a lock the crashing thread may hold. */
static void on_crash(int sig)
{
    static const char msg[] = "\nmuxbench: crashed; the finished cases are in the .partial.csv "
                              "file beside the output\n";
    signals_stop_children(); /* the workloads' hooks are async-signal-safe (workload.h) */
    if (g_csv && !atomic_load(&g_committed) && rename(g_csv->tmp_path, g_csv->partial_path) == 0) {
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The handler runs on a stack of its own: a fault from a stack overflow (a coroutine's guard
 * page, a thread's) leaves no room on the faulting stack for the handler's frame, and without
 * one the kernel kills the process before the partial file is renamed. An alternate stack is
 * per thread: this one serves the thread that runs the cases, where the coroutines run. */
static void crash_stack_install(void)
{
    static void *stack;
    if (stack)
        return;
    long min = sysconf(_SC_SIGSTKSZ); /* AVX-512 state needs more than the old SIGSTKSZ */
    size_t size = (size_t)(min > 0 ? min : 0) + 64 * 1024;
    stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) {
        stack = NULL;
        return; /* the handler still runs for every fault that leaves stack room */
    }
    stack_t ss = {.ss_sp = stack, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(stack, size);
        stack = NULL;
    }
}

static void crash_handlers_install(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    crash_stack_install();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* The signal thread leaves the fd table it shares with the measuring thread: while two threads
 * share a table, every fdget() in the kernel takes the slow path (an atomic get and put per
 * fd), which taxes each per-fd cost a case measures (select and poll pay it per watched fd).
 * Its private copy keeps only what it needs on interruption: stdio and the CSV's fd (for
 * fsync; the rename is by path). Every fd the run opens later is the measuring thread's
 * alone, and none is held open by the copy after the measuring thread closes it. */
struct signal_start {
    int keep_fd;
    sem_t ready;
    int detach_err; /* 0, or the errno of unshare() */
};

static void close_fds_from(unsigned lo, unsigned hi)
{
    if (lo > hi)
        return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lo, hi, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lo; fd <= (long)hi && fd < max; fd++)
        close((int)fd);
}

static int detach_fd_table(int keep_fd)
{
    if (unshare(CLONE_FILES) < 0)
        return errno;
    if (keep_fd > STDERR_FILENO) {
        close_fds_from(STDERR_FILENO + 1, (unsigned)keep_fd - 1);
        close_fds_from((unsigned)keep_fd + 1, ~0U);
    } else {
        close_fds_from(STDERR_FILENO + 1, ~0U);
    }
    return 0;
}

static void *signal_thread(void *arg)
{
    struct signal_start *start = arg;
    start->detach_err = detach_fd_table(start->keep_fd);
    sem_post(&start->ready); /* start is the starter's: not touched after this */
    int sig = 0;
    sigwait(&g_sigs, &sig);
    atomic_store(&g_interrupting, 1);
    if (atomic_load(&g_committed)) { /* the run had ended: its CSV is complete and in place */
        fprintf(stderr, "\nmuxbench: interrupted by %s after the run was written to %s\n",
                strsignal(sig), g_csv->path);
        _exit(MUX_EXIT_INTERRUPTED);
    }
    /* The CSV lock first, taken for good: no case's rows can be half written after this, and
     * the main thread cannot finish the run either. Killing a case's helper ends that case at
     * once (its sockets close); were the lock still free, the main thread could write that
     * case's error row and commit a run that was interrupted, exiting 1 instead of 130. */
    int rc = csv_abort_partial(g_csv);
    /* Then the child processes, on every way out: nothing of the run may outlive it. */
    signals_stop_children();
    if (rc == 1) { /* the final rename won the race: the CSV is complete and in place */
        fprintf(stderr, "\nmuxbench: interrupted by %s after the run was written to %s\n",
                strsignal(sig), g_csv->path);
        _exit(MUX_EXIT_INTERRUPTED);
    }
    shim_write_json(g_json_partial, 0);
    int done = atomic_load(&g_cases_done);
    fprintf(stderr,
            "\nmuxbench: interrupted by %s: %d case%s finished, their rows are in %s%s\n",
            strsignal(sig), done, done == 1 ? "" : "s", g_csv->partial_path,
            rc == 0 ? "" : " (the rename failed; the temporary file is left in place)");
    _exit(MUX_EXIT_INTERRUPTED);
}

int signals_start(struct csv_out *csv, const struct workload *const *workloads, int n,
                  const char *json_partial)
{
    g_csv = csv;
    g_workloads = workloads;
    g_nworkloads = n;
    snprintf(g_json_partial, sizeof g_json_partial, "%s", json_partial);
    signals_block();
    pthread_t thread;
    struct signal_start start = {.keep_fd = csv->fd};
    sem_init(&start.ready, 0, 0);
    int rc = pthread_create(&thread, NULL, signal_thread, &start);
    if (rc) {
        sem_destroy(&start.ready);
        pthread_sigmask(SIG_UNBLOCK, &g_sigs, NULL);
        g_csv = NULL;
        return rc;
    }
    /* Nothing is measured before the signal thread has left the table. */
    while (sem_wait(&start.ready) < 0 && errno == EINTR)
        ;
    sem_destroy(&start.ready);
    if (start.detach_err)
        fprintf(stderr, "muxbench: warning: the signal thread could not leave the shared fd "
                "table (unshare: %s): cases that need a private one are skipped\n",
                strerror(start.detach_err));
    pthread_detach(thread);
    crash_handlers_install();
    return 0;
}
