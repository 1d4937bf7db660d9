/* stats.c - see stats.h. */
#define _GNU_SOURCE
#include "harness/stats.h"

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
    /* One value has no spread: NAN (an empty cell), not a zero that would read as none. */
    s->stddev = n > 1 ? sqrt(ss / (n - 1)) : NAN;
    s->cv = n > 1 && s->mean != 0 ? s->stddev / fabs(s->mean) : NAN;
    free(copy);
}

int stats_fit_line(const double *x, const double *y, int n, struct stats_fit *fit)
{
    return stats_fit_weighted(x, y, NULL, n, fit);
}

int stats_fit_weighted(const double *x, const double *y, const double *w, int n,
                       struct stats_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    fit->n = n;
    fit->slope = fit->intercept = fit->r2 = fit->slope_se = fit->intercept_se = NAN;
    if (n < 2)
        return -1;
    /* Centered sums: exact for a line, and no cancellation at large x. */
    double sw = 0, mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        double wi = w ? w[i] : 1;
        sw += wi;
        mx += wi * x[i];
        my += wi * y[i];
    }
    if (!(sw > 0))
        return -1;
    mx /= sw;
    my /= sw;
    double sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double wi = w ? w[i] : 1;
        sxx += wi * (x[i] - mx) * (x[i] - mx);
        sxy += wi * (x[i] - mx) * (y[i] - my);
        syy += wi * (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0)
        return -1;
    fit->slope = sxy / sxx;
    fit->intercept = my - fit->slope * mx;
    double ss_res = 0;
    for (int i = 0; i < n; i++) {
        double e = y[i] - (fit->intercept + fit->slope * x[i]);
        ss_res += (w ? w[i] : 1) * e * e;
    }
    fit->r2 = syy > 0 ? 1 - ss_res / syy : 1;
    if (n > 2) {
        /* The weights are relative: the residuals' own scale estimates the variance. */
        double s2 = ss_res / (n - 2);
        fit->slope_se = sqrt(s2 / sxx);
        fit->intercept_se = sqrt(s2 * (1 / sw + mx * mx / sxx));
    }
    return 0;
}
