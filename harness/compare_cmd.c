/*
 * compare_cmd.c - `muxbench compare`: the comparison itself is Python (analysis/muxbench_analysis/
 * compare.py, built on scipy's Mann-Whitney U test and the analysis package's CSV loader), so
 * this command only finds it and execs it with the user's arguments. Its exit status (0, 1 a
 * case slower beyond --threshold, 2 bad usage, 3 unreadable or incompatible files) is then the
 * command's own.
 *
 * Where the analysis package is, in order: $MUXBENCH_ANALYSIS_DIR; ../../analysis from the
 * executable (build/harness/muxbench inside the source tree); the source tree this binary was
 * built from (MUX_SOURCE_DIR, recorded by CMake). The interpreter is $MUXBENCH_PYTHON, else
 * /usr/bin/python3 (Debian's, which has python3-pandas and python3-scipy: `make deps`).
 */
#define _GNU_SOURCE
#include "harness/compare_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/exit_codes.h"

#ifndef MUX_SOURCE_DIR
#define MUX_SOURCE_DIR ""
#endif

static const char COMPARE_MODULE[] = "muxbench_analysis/compare.py";

static int has_module(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, COMPARE_MODULE) >= (int)sizeof path)
        return 0;
    return access(path, R_OK) == 0;
}

/* The analysis directory into out, or -1 with every place tried listed in tried. */
static int find_analysis(char *out, size_t len, char *tried, size_t tried_len)
{
    const char *env = getenv("MUXBENCH_ANALYSIS_DIR");
    if (env && *env) {
        snprintf(tried, tried_len, "%s (from $MUXBENCH_ANALYSIS_DIR)", env);
        if (!has_module(env))
            return -1;
        snprintf(out, len, "%s", env);
        return 0;
    }
    char candidates[2][PATH_MAX];
    int n = 0;
    char exe[PATH_MAX];
    ssize_t m = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (m > 0) {
        exe[m] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(candidates[n++], sizeof candidates[0], "%.*s/../../analysis",
                     PATH_MAX - 32, exe);
        }
    }
    if (MUX_SOURCE_DIR[0])
        snprintf(candidates[n++], sizeof candidates[0], "%.*s/analysis", PATH_MAX - 32,
                 MUX_SOURCE_DIR);
    size_t used = 0;
    tried[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (has_module(candidates[i])) {
            if (!realpath(candidates[i], out) || strlen(out) >= len)
                snprintf(out, len, "%s", candidates[i]);
            return 0;
        }
        if (used < tried_len)
            used += (size_t)snprintf(tried + used, tried_len - used, "%s%s", i ? ", " : "",
                                     candidates[i]);
    }
    return -1;
}

int cmd_compare(int argc, char **argv)
{
    char dir[PATH_MAX], tried[2 * PATH_MAX + 64];
    if (find_analysis(dir, sizeof dir, tried, sizeof tried) < 0) {
        fprintf(stderr, "muxbench compare: cannot find the analysis package (%s not in %s); "
                        "set MUXBENCH_ANALYSIS_DIR to the analysis/ directory of the muxbench "
                        "sources\n", COMPARE_MODULE, tried[0] ? tried : "any known place");
        return MUX_EXIT_ENV;
    }
    const char *python = getenv("MUXBENCH_PYTHON");
    if (!python || !*python)
        python = "/usr/bin/python3";
    const char *old = getenv("PYTHONPATH");
    char pythonpath[2 * PATH_MAX];
    snprintf(pythonpath, sizeof pythonpath, "%s%s%s", dir, old && *old ? ":" : "",
             old && *old ? old : "");
    if (setenv("PYTHONPATH", pythonpath, 1) < 0) {
        fprintf(stderr, "muxbench compare: cannot set PYTHONPATH: %s\n", strerror(errno));
        return MUX_EXIT_ENV;
    }
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) {
        fprintf(stderr, "muxbench compare: out of memory\n");
        return MUX_EXIT_FAIL;
    }
    int k = 0;
    args[k++] = (char *)python;
    args[k++] = "-m";
    args[k++] = "muxbench_analysis.compare";
    for (int i = 2; i < argc; i++)
        args[k++] = argv[i];
    args[k] = NULL;
    fflush(NULL);
    execv(python, args);
    int e = errno;
    free(args);
    fprintf(stderr, "muxbench compare: cannot run %s: %s; the comparison needs Python 3 with "
                    "python3-pandas and python3-scipy (make deps), or set MUXBENCH_PYTHON\n",
            python, strerror(e));
    return MUX_EXIT_ENV;
}
