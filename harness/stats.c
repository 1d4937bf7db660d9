/* stats.c - see stats.h. */
#define _GNU_SOURCE
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile(double *v, int n, double q)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q * (n - 1);
    int lo = (int)pos;
    double frac = pos - lo;
    return lo + 1 < n ? v[lo] * (1 - frac) + v[lo + 1] * frac : v[lo];
}

void stats_compute(const double *v, int n, struct stats *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n <= 0) {
        s->median = s->mean = s->min = s->max = s->stddev = s->cv = NAN;
        return;
    }
    double *copy = malloc((size_t)n * sizeof *copy);
    if (!copy) {
        s->median = s->mean = s->min = s->max = s->stddev = s->cv = NAN;
        return;
    }
    memcpy(copy, v, (size_t)n * sizeof *copy);
    s->median = stats_percentile(copy, n, 0.5);
    s->min = copy[0];
    s->max = copy[n - 1];
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    s->mean = sum / n;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - s->mean) * (v[i] - s->mean);
    s->stddev = n > 1 ? sqrt(ss / (n - 1)) : 0;
    s->cv = s->mean != 0 ? s->stddev / fabs(s->mean) : NAN;
    free(copy);
}
