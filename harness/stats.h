/* stats.h - summary statistics over repetitions, and percentiles over samples. */
#ifndef MUX_STATS_H
#define MUX_STATS_H

#ifdef __cplusplus
extern "C" {
#endif

struct stats {
    int n;
    double median, mean, min, max;
    double stddev; /* sample standard deviation (n - 1); NAN when n < 2 */
    double cv;     /* stddev / mean; NAN when n < 2 or the mean is 0 */
};

/* Sorts a copy; v is left as it was. With n <= 0 every field is NAN. */
void stats_compute(const double *v, int n, struct stats *s);
/* Linear interpolation between closest ranks, q in [0, 1]. Sorts v in place. */
double stats_percentile(double *v, int n, double q);

/* Least squares y = intercept + slope * x. */
struct stats_fit {
    int n;
    double slope, intercept;
    double r2; /* 1 - SS_res / SS_tot; 1 for a perfect fit, also when every y is the same */
    /* standard errors from the residuals, sqrt(SS_res / (n - 2) / Sxx) for the slope; NAN when
     * n < 3 (two points always lie on a line: no error to estimate) */
    double slope_se, intercept_se;
};
/* Ordinary least squares. Returns 0, or -1 when fewer than two distinct x values make a line. */
int stats_fit_line(const double *x, const double *y, int n, struct stats_fit *fit);
/* Weighted least squares: point i counts w[i] (w NULL: every point 1; a weight 1/y^2 makes
 * every point count by its relative error, so the largest y do not decide the line alone).
 * r2 and the standard errors are the weighted ones. Same returns as stats_fit_line. */
int stats_fit_weighted(const double *x, const double *y, const double *w, int n,
                       struct stats_fit *fit);

#ifdef __cplusplus
}
#endif
#endif
