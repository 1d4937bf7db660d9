/*
 * params.h - case parameters. Every parameter is a CSV column (docs/csv.md), so what a user
 * types after --set is what the CSV shows: `--set fds=1000,10000` sweeps the `fds` column.
 *
 * The columns and keys are listed once, in params.def. A workload declares which keys it takes,
 * with its default and --quick value lists; the
 * command line may replace any of them. Values are checked against the key's type and range
 * when the command line is read, before anything runs (exit 2 on a bad one).
 */
#ifndef MUX_PARAMS_H
#define MUX_PARAMS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MUX_GIB (1024LL * 1024 * 1024)
#define MUX_HOUR_NS (3600LL * 1000000000)
#define MUX_CHOICES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The identity columns of a case, in CSV order (params.def). */
enum param_col {
#define MUX_COLUMN(id, key, help) COL_##id,
#define MUX_PARAM(id, key, type, min, max, choices, help) COL_##id,
#include "harness/params.def"
#undef MUX_COLUMN
#undef MUX_PARAM
    COL_COUNT
};

#define PARAM_VALUE_MAX 48
struct param_row {
    char v[COL_COUNT][PARAM_VALUE_MAX]; /* "" = does not apply */
};

enum param_type {
    PARAM_INT,    /* a decimal integer in [min, max] */
    PARAM_SIZE,   /* bytes: an integer with an optional k/m/g suffix (powers of 1024) */
    PARAM_CHOICE, /* one of a fixed set of names */
    PARAM_TEXT,   /* free text the workload checks itself (agent addresses) */
    PARAM_DURATION, /* nanoseconds: an integer with an optional ns/us/ms/s suffix (none: ns) */
};

struct param_def {
    const char *key;
    enum param_type type;
    long long min, max;
    const char *const *choices; /* PARAM_CHOICE: NULL-terminated; NULL = the workload's own */
    const char *help;
};

/* A workload's use of a key: its defaults, and its own choices for keys such as `variant`. */
struct param_use {
    const char *key;
    const char *defaults;        /* comma-separated; "auto" where the workload computes it */
    const char *quick;           /* under --quick; NULL = the defaults */
    const char *const *choices;  /* overrides the key's global choices; NULL-terminated */
};

#define PARAM_MAX_SETS 16
#define PARAM_MAX_VALUES 64
struct param_set {
    const char *key;
    int count;
    char values[PARAM_MAX_VALUES][PARAM_VALUE_MAX];
};

struct param_overrides {
    int count;
    struct param_set sets[PARAM_MAX_SETS];
};

const char *param_col_name(enum param_col col);
/* The definition of a settable key, or NULL (workload and poller are not --set keys). */
const struct param_def *param_find(const char *key);
/* "fds, active, ..." for an error message. */
void param_keys(char *buf, size_t len);
/* The i-th settable key in CSV order, or NULL past the last (the help text lists them). */
const struct param_def *param_def_at(size_t i);

/* Parses "key=v1,v2,..." into *o. Returns 0, or -1 with a message in err (exit 2). */
int param_parse_set(struct param_overrides *o, const char *arg, char *err, size_t err_len);
/* Checks one value against the key's type and the given choices (or the key's). */
int param_check_value(const struct param_def *d, const char *const *choices, const char *value,
                      char *err, size_t err_len);
/* Parses an INT or SIZE value (already checked). */
long long param_number(const char *value);
/* Parses a value of key d (INT, SIZE or DURATION, already checked): the number, in bytes for a
 * size and nanoseconds for a duration. */
long long param_value(const struct param_def *d, const char *value);

/* The user's values for key, or NULL when not set. */
const struct param_set *param_override(const struct param_overrides *o, const char *key);

/* Sets column col of a row from a number or a string. */
void param_row_set(struct param_row *row, enum param_col col, const char *value);
void param_row_setn(struct param_row *row, enum param_col col, long long value);

#ifdef __cplusplus
}
#endif
#endif
