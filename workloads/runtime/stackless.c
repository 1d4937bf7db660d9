/* stackless.c - see stackless.h. */
#include "workloads/runtime/stackless.h"

void stackless_init(struct stackless *s, int (*step)(struct stackless *))
{
    s->step = step;
    s->resume_at = 0;
}

int stackless_resume(struct stackless *s)
{
    if (s->resume_at < 0)
        return -1;
    return s->step(s);
}
