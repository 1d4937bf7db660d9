/*
 * csv.h - muxbench's own CSV writer (docs/csv.md is the contract).
 *
 * Rows are buffered per case and written with one write() when the case ends, to a temporary
 * file in the target directory (".<name>.tmp.<pid>"). csv_commit() renames it into place.
 * An interrupted run calls csv_abort_partial(), which renames what is there to
 * "<name>.partial.csv": whole cases only, never a truncated row, and the file at the target
 * path (a previous complete run) is never touched.
 */
#ifndef MUX_CSV_H
#define MUX_CSV_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/params.h"

struct csv_meta {
    char run_id[128];
    char host[64];
    char kernel[96];
    char cpu_model[128];
};

struct csv_out {
    char path[PATH_MAX];
    char tmp_path[PATH_MAX];
    char partial_path[PATH_MAX];
    int fd;
    char *buf;
    size_t len, cap;
    long rows;
    int oom; /* a row could not be buffered whole; the next flush fails */
    struct csv_meta meta;
    pthread_mutex_t lock;
};

/* The header line's columns, in order: csv_column(0 .. csv_ncolumns - 1). */
extern const int csv_ncolumns;
const char *csv_column(int i);

/* Derived names: "<base>.partial.csv", "<base>.gbench.json", "<base>.partial.gbench.json"
 * where base is path without a trailing ".csv". */
void csv_sibling(const char *path, const char *suffix, char *out, size_t len);

/* Creates the temporary file and writes the header. 0, or -errno with err[] saying what
 * failed (the caller exits 3 before running anything). */
int csv_open(struct csv_out *o, const char *path, const struct csv_meta *meta, char *err,
             size_t err_len);
/* Buffers one row. value may be NAN (empty cell); iterations 0 and repetitions 0 are empty. */
void csv_row(struct csv_out *o, const struct param_row *id, const char *metric, const char *stat,
             double value, const char *unit, int repetitions, uint64_t iterations,
             const char *status, const char *note);
/* Writes the buffered rows (one write() call); 0 or -errno. */
int csv_flush(struct csv_out *o);
/* Flushes, syncs, renames into place. 0 or -errno. */
int csv_commit(struct csv_out *o);
/* From the interrupt path: flushes nothing, renames the temporary file to the partial name. */
int csv_abort_partial(struct csv_out *o);
/* Removes the temporary file (nothing useful in it). */
void csv_discard(struct csv_out *o);

/* RFC 4180 quoting of one cell into out (always NUL-terminated). */
void csv_quote(const char *in, char *out, size_t len);

#endif
