/* params.c - see params.h. */
#define _GNU_SOURCE
#include "harness/params.h"
#include "pollers/poller.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const col_names[COL_COUNT] = {
#define MUX_COLUMN(id, key, help) [COL_##id] = key,
#define MUX_PARAM(id, key, type, min, max, choices, help) [COL_##id] = key,
#include "harness/params.def"
#undef MUX_COLUMN
#undef MUX_PARAM
};

static const struct param_def defs[] = {
#define MUX_COLUMN(id, key, help)
#define MUX_PARAM(id, key, type, min, max, choices, help) {key, PARAM_##type, min, max, choices, help},
#include "harness/params.def"
#undef MUX_COLUMN
#undef MUX_PARAM
};
#define NDEFS (sizeof defs / sizeof defs[0])

const char *param_col_name(enum param_col col) { return col_names[col]; }

const struct param_def *param_def_at(size_t i) { return i < NDEFS ? &defs[i] : NULL; }

const struct param_def *param_find(const char *key)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (strcmp(defs[i].key, key) == 0)
            return &defs[i];
    return NULL;
}

static const char *def_key(size_t i, const void *arg)
{
    (void)arg;
    return defs[i].key;
}

void param_keys(char *buf, size_t len) { mux_join_names(buf, len, NDEFS, def_key, NULL); }

/* Strict: digits, then ns, us, ms or s (none: ns), nothing else; -1 when malformed. */
static int parse_duration(const char *s, long long *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || v > (unsigned long long)LLONG_MAX)
        return -1;
    static const struct {
        const char *suffix;
        long long ns;
    } units[] = {{"", 1}, {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            if ((long long)v > LLONG_MAX / units[i].ns)
                return -1;
            *out = (long long)v * units[i].ns;
            return 0;
        }
    return -1;
}

/* Strict: digits, an optional k/m/g suffix for sizes, nothing else; -1 when malformed. */
static int parse_number(const char *s, int allow_suffix, long long *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || v > (unsigned long long)LLONG_MAX)
        return -1;
    long long mult = 1;
    if (allow_suffix && *end) {
        switch (tolower((unsigned char)*end)) {
        case 'k': mult = 1024; break;
        case 'm': mult = 1024 * 1024; break;
        case 'g': mult = MUX_GIB; break;
        default: return -1;
        }
        end++;
    }
    if (*end)
        return -1;
    if ((long long)v > LLONG_MAX / mult)
        return -1;
    *out = (long long)v * mult;
    return 0;
}

long long param_number(const char *value)
{
    long long v = 0;
    parse_number(value, 1, &v);
    return v;
}

long long param_value(const struct param_def *d, const char *value)
{
    long long v = 0;
    if (d && d->type == PARAM_DURATION)
        parse_duration(value, &v);
    else
        parse_number(value, 1, &v);
    return v;
}

int param_check_value(const struct param_def *d, const char *const *choices, const char *value,
                      char *err, size_t err_len)
{
    if (d->type == PARAM_CHOICE) {
        const char *const *set = choices ? choices : d->choices;
        for (int i = 0; set && set[i]; i++)
            if (strcmp(set[i], value) == 0)
                return 0;
        size_t used = (size_t)snprintf(err, err_len, "%s=%s: not one of", d->key, value);
        for (int i = 0; set && set[i] && used < err_len; i++)
            used += (size_t)snprintf(err + used, err_len - used, "%s %s", i ? "," : "", set[i]);
        return -1;
    }
    if (d->type == PARAM_TEXT)
        return 0; /* the workload that takes it checks it while planning */
    long long v;
    if (d->type == PARAM_DURATION) {
        if (parse_duration(value, &v) < 0) {
            snprintf(err, err_len, "%s=%s: not a duration (digits, then ns, us, ms or s; "
                     "digits alone are nanoseconds)", d->key, value);
            return -1;
        }
    } else if (parse_number(value, d->type == PARAM_SIZE, &v) < 0) {
        snprintf(err, err_len, "%s=%s: not a %s", d->key, value,
                 d->type == PARAM_SIZE ? "size in bytes (digits, optional k/m/g suffix)"
                                       : "whole number (digits only)");
        return -1;
    }
    if (v < d->min || v > d->max) {
        snprintf(err, err_len, "%s=%s: out of range [%lld, %lld]", d->key, value, d->min, d->max);
        return -1;
    }
    return 0;
}

int param_parse_set(struct param_overrides *o, const char *arg, char *err, size_t err_len)
{
    const char *eq = strchr(arg, '=');
    char key[64];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key) {
        snprintf(err, err_len, "--set %s: expected key=value[,value...]", arg);
        return -1;
    }
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    const struct param_def *d = param_find(key);
    if (!d) {
        char keys[512];
        param_keys(keys, sizeof keys);
        snprintf(err, err_len, "--set %s: unknown parameter '%s'; valid: %s", arg, key, keys);
        return -1;
    }
    struct param_set *set = NULL;
    for (int i = 0; i < o->count; i++)
        if (strcmp(o->sets[i].key, d->key) == 0)
            set = &o->sets[i]; /* a repeated key replaces the earlier values */
    if (!set) {
        if (o->count == PARAM_MAX_SETS) {
            snprintf(err, err_len, "--set: too many parameters");
            return -1;
        }
        set = &o->sets[o->count++];
        set->key = d->key;
    }
    set->count = 0;
    const char *p = eq + 1;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= PARAM_VALUE_MAX) {
            snprintf(err, err_len, "--set %s: empty or overlong value", arg);
            return -1;
        }
        if (set->count == PARAM_MAX_VALUES) {
            snprintf(err, err_len, "--set %s: more than %d values", arg, PARAM_MAX_VALUES);
            return -1;
        }
        memcpy(set->values[set->count], p, n);
        set->values[set->count][n] = '\0';
        /* Choices of `variant` depend on the workload, and "auto" is allowed only where a
         * workload's default computes the value: both are checked against the workloads. */
        if (strcmp(set->values[set->count], "auto") != 0 && (d->choices || d->type != PARAM_CHOICE))
            if (param_check_value(d, NULL, set->values[set->count], err, err_len) < 0)
                return -1;
        set->count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

const struct param_set *param_override(const struct param_overrides *o, const char *key)
{
    for (int i = 0; i < o->count; i++)
        if (strcmp(o->sets[i].key, key) == 0)
            return &o->sets[i];
    return NULL;
}

void param_row_set(struct param_row *row, enum param_col col, const char *value)
{
    snprintf(row->v[col], sizeof row->v[col], "%s", value ? value : "");
}

void param_row_setn(struct param_row *row, enum param_col col, long long value)
{
    snprintf(row->v[col], sizeof row->v[col], "%lld", value);
}
