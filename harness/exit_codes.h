/*
 * exit_codes.h - muxbench's exit statuses, the one list of them. Planners and run steps return
 * these too, so a status chosen deep in a workload reaches the shell unchanged.
 */
#ifndef MUX_EXIT_CODES_H
#define MUX_EXIT_CODES_H

enum mux_exit {
    MUX_EXIT_OK = 0,            /* done */
    MUX_EXIT_FAIL = 1,          /* a case failed its own checks (an error row), or an internal failure */
    MUX_EXIT_USAGE = 2,         /* bad usage: an unknown name (the valid ones are listed), a bad value */
    MUX_EXIT_ENV = 3,           /* an environment limit, with what to change */
    MUX_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM/SIGHUP: finished cases kept in <out>.partial.csv */
};

#endif
