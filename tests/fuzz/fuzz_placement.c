/*
 * fuzz_placement.c - libFuzzer target: placement names (harness/placement.c).
 *
 * The input (bytes up to the first NUL) is looked up as a placement name: a name that is
 * found must print back as itself, and the same text through the `placement` parameter's
 * check must agree with the lookup (both come from one list of names seen by the user in
 * --set placement=..., muxbench list and the CSV). placement_name() of any id, in range or
 * not, is a string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/params.h"
#include "harness/placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *name = malloc(size + 1);
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    int id = placement_lookup(name);
    if (id >= PL_COUNT || id < -1)
        abort();
    if (id >= 0 && strcmp(placement_name((enum placement_id)id), name) != 0)
        abort();
    char err[512];
    int accepted = param_check_value(param_find("placement"), NULL, name, err, sizeof err) == 0;
    if (accepted != (id >= 0))
        abort();
    int any = 0;
    memcpy(&any, data, size < sizeof any ? size : sizeof any);
    if (!placement_name((enum placement_id)any))
        abort();
    free(name);
    return 0;
}
