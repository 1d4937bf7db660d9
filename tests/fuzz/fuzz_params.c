/*
 * fuzz_params.c - libFuzzer target: the --set parser (harness/params.c).
 *
 * The input is a command-line argument (bytes up to the first NUL). It goes through
 * param_parse_set() as `--set INPUT`, then every value it accepted is checked again against
 * its key (a value the parser let through must pass param_check_value), and the input's text
 * through param_check_value() and param_number() for every parameter. Properties: no crash,
 * no sanitizer report, an error message that is a terminated string, and a parser that never
 * keeps more values than its table holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/params.h"

static const char *const keys[] = {"variant", "placement", "fds", "active", "writes",
                                   "position", "timeout", "transport", "units", "stack_bytes",
                                   "stack_alloc", "touch_bytes"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *arg = malloc(size + 1);
    if (!arg)
        return 0;
    memcpy(arg, data, size);
    arg[size] = '\0';

    static struct param_overrides o;
    memset(&o, 0, sizeof o);
    char err[1024];
    err[sizeof err - 1] = 'x';
    if (param_parse_set(&o, arg, err, sizeof err) == 0) {
        if (o.count != 1 || o.sets[0].count < 1 || o.sets[0].count > PARAM_MAX_VALUES)
            abort();
        const struct param_def *d = param_find(o.sets[0].key);
        if (!d)
            abort();
        for (int v = 0; v < o.sets[0].count; v++) {
            const char *value = o.sets[0].values[v];
            if (strlen(value) >= PARAM_VALUE_MAX)
                abort();
            char again[512];
            if (strcmp(value, "auto") != 0 && d->choices &&
                param_check_value(d, NULL, value, again, sizeof again) != 0)
                abort(); /* accepted once, refused the second time */
            /* Free text (agent addresses) is the workload's to check: no range here. */
            if (d->type != PARAM_CHOICE && d->type != PARAM_TEXT && strcmp(value, "auto") != 0 &&
                (param_value(d, value) < d->min || param_value(d, value) > d->max))
                abort(); /* a number let through outside its range */
        }
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        abort(); /* the message must be a string */
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const struct param_def *d = param_find(keys[k]);
        if (!d)
            abort();
        char msg[512];
        param_check_value(d, NULL, arg, msg, sizeof msg);
    }
    (void)param_number(arg);
    free(arg);
    return 0;
}
