/* csv.c - see csv.h. */
#define _GNU_SOURCE
#include "harness/csv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The header: the run's columns, the case's (params.def, in order), then the measurement's. */
static const char *const run_columns[] = {"run_id", "timestamp", "host", "kernel", "cpu_model"};
static const char *const measure_columns[] = {"metric", "stat",       "value",  "unit",
                                              "repetitions", "iterations", "status", "note"};
#define N_RUN (int)(sizeof run_columns / sizeof run_columns[0])
#define N_MEASURE (int)(sizeof measure_columns / sizeof measure_columns[0])
const int csv_ncolumns = N_RUN + COL_COUNT + N_MEASURE;

const char *csv_column(int i)
{
    if (i < 0 || i >= csv_ncolumns)
        return NULL;
    if (i < N_RUN)
        return run_columns[i];
    if (i < N_RUN + COL_COUNT)
        return param_col_name((enum param_col)(i - N_RUN));
    return measure_columns[i - N_RUN - COL_COUNT];
}

void csv_sibling(const char *path, const char *suffix, char *out, size_t len)
{
    size_t n = strlen(path);
    if (n >= 4 && strcmp(path + n - 4, ".csv") == 0)
        n -= 4;
    snprintf(out, len, "%.*s%s", (int)n, path, suffix);
}

static int reserve(struct csv_out *o, size_t more)
{
    if (o->len + more <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 16384;
    while (cap < o->len + more)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b)
        return -ENOMEM;
    o->buf = b;
    o->cap = cap;
    return 0;
}

void csv_quote(const char *in, char *out, size_t len)
{
    if (!len)
        return;
    if (!in)
        in = "";
    if (!strpbrk(in, ",\"\r\n")) {
        snprintf(out, len, "%s", in);
        return;
    }
    size_t j = 0;
    if (j + 1 < len)
        out[j++] = '"';
    for (const char *p = in; *p && j + 3 < len; p++) {
        if (*p == '"')
            out[j++] = '"';
        out[j++] = *p;
    }
    if (j + 1 < len)
        out[j++] = '"';
    out[j] = '\0';
}

static void append_cell(struct csv_out *o, const char *s, int last)
{
    /* Quoted straight into the buffer, whatever the cell's length (a long command line). */
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (reserve(o, 2 * n + 3) < 0) {
        o->oom = 1;
        return;
    }
    csv_quote(s, o->buf + o->len, 2 * n + 3);
    o->len += strlen(o->buf + o->len);
    o->buf[o->len++] = last ? '\n' : ',';
}

/* A run killed outright (SIGKILL, OOM) leaves its hidden temporary file behind; the next run
 * into the same directory removes those whose process is gone. */
static void remove_stale_tmp(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, ".%s.tmp.", base);
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to judge) */
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    closedir(d);
}

int csv_open(struct csv_out *o, const char *path, const struct csv_meta *meta, char *err,
             size_t err_len)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    pthread_mutex_init(&o->lock, NULL);
    o->meta = *meta;
    snprintf(o->path, sizeof o->path, "%s", path);
    csv_sibling(path, ".partial.csv", o->partial_path, sizeof o->partial_path);
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 0;
    snprintf(o->tmp_path, sizeof o->tmp_path, "%.*s%s.%s.tmp.%ld", dirlen, path,
             slash ? "/" : "", slash ? slash + 1 : path, (long)getpid());
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? dirlen : 1, slash ? path : ".");
    if (slash && dirlen == 0)
        snprintf(dir, sizeof dir, "/");
    remove_stale_tmp(dir, slash ? slash + 1 : path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s is a directory; --out takes a file name", path);
        return -EISDIR;
    }
    o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        int e = errno;
        snprintf(err, err_len, "cannot write in the directory of %s: %s", path, strerror(e));
        return -e;
    }
    for (int i = 0; i < csv_ncolumns; i++)
        append_cell(o, csv_column(i), i == csv_ncolumns - 1);
    int rc = csv_flush(o);
    if (rc < 0) {
        snprintf(err, err_len, "cannot write %s: %s", o->tmp_path, strerror(-rc));
        csv_discard(o);
    }
    return rc;
}

static void utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void csv_row(struct csv_out *o, const struct param_row *id, const char *metric, const char *stat,
             double value, const char *unit, int repetitions, uint64_t iterations,
             const char *status, const char *note)
{
    char ts[32], num[64], reps[16], iters[32];
    utc_now(ts, sizeof ts);
    if (isnan(value))
        num[0] = '\0';
    else
        snprintf(num, sizeof num, "%.10g", value);
    if (repetitions > 0)
        snprintf(reps, sizeof reps, "%d", repetitions);
    else
        reps[0] = '\0';
    if (iterations > 0)
        snprintf(iters, sizeof iters, "%llu", (unsigned long long)iterations);
    else
        iters[0] = '\0';
    pthread_mutex_lock(&o->lock);
    append_cell(o, o->meta.run_id, 0);
    append_cell(o, ts, 0);
    append_cell(o, o->meta.host, 0);
    append_cell(o, o->meta.kernel, 0);
    append_cell(o, o->meta.cpu_model, 0);
    for (int c = 0; c < COL_COUNT; c++)
        append_cell(o, id ? id->v[c] : "", 0);
    append_cell(o, metric, 0);
    append_cell(o, stat, 0);
    append_cell(o, num, 0);
    append_cell(o, unit, 0);
    append_cell(o, reps, 0);
    append_cell(o, iters, 0);
    append_cell(o, status, 0);
    append_cell(o, note, 1);
    o->rows++;
    pthread_mutex_unlock(&o->lock);
}

/* csv_flush with the lock held. */
static int flush_locked(struct csv_out *o)
{
    int rc = 0;
    size_t off = 0;
    if (o->oom) { /* a row could not be built whole: write none of this case's */
        o->len = 0;
        return -ENOMEM;
    }
    /* One write() for the whole case: a regular file write of this size completes unless
     * the process is killed outright, and then the file is still the temporary one. */
    while (off < o->len) {
        ssize_t n = write(o->fd, o->buf + off, o->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0)
        o->written += (off_t)off;
    else if (off > 0 && ftruncate(o->fd, o->written) == 0)
        lseek(o->fd, o->written, SEEK_SET); /* the rows that did fit are dropped with the rest */
    o->len = 0;
    return rc;
}

int csv_flush(struct csv_out *o)
{
    pthread_mutex_lock(&o->lock);
    int rc = flush_locked(o);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

int csv_commit(struct csv_out *o)
{
    /* The last rows (run_complete) are written and the file renamed under one hold of the
     * lock: an interruption's csv_abort_partial() then finds either the file without them
     * (kept as a partial run) or the file in place, never a .partial.csv that says
     * run_complete. */
    pthread_mutex_lock(&o->lock);
    int rc = flush_locked(o);
    if (rc == 0 && fsync(o->fd) < 0)
        rc = -errno;
    if (close(o->fd) < 0 && rc == 0)
        rc = -errno;
    o->fd = -1;
    if (rc == 0 && rename(o->tmp_path, o->path) < 0)
        rc = -errno;
    o->committed = rc == 0;
    pthread_mutex_unlock(&o->lock);
    free(o->buf);
    o->buf = NULL;
    return rc;
}

int csv_abort_partial(struct csv_out *o)
{
    pthread_mutex_lock(&o->lock); /* held for good: the process is about to exit */
    if (o->committed)
        return 1;
    if (o->fd >= 0)
        fsync(o->fd);
    return rename(o->tmp_path, o->partial_path) < 0 ? -errno : 0;
}

void csv_discard(struct csv_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    unlink(o->tmp_path);
    free(o->buf);
    o->buf = NULL;
}
