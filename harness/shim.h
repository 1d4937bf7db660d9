/*
 * shim.h - how the C harness drives Google Benchmark (bench_shim.cc). Workloads never include
 * this; they see bench.h.
 */
#ifndef MUX_SHIM_H
#define MUX_SHIM_H

#include <stdint.h>

#include "harness/bench.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shim_config {
    int repetitions;   /* default repetitions for cases that do not set their own */
    double min_time_s; /* default minimum measured time per repetition */
    double warmup_s;   /* warm-up before the first repetition */
};

/* One metric's value in one repetition. */
struct rep_value {
    char metric[48];
    char unit[8];
    double value;
};

struct rep_result {
    uint64_t iterations;
    int nvalues;
    struct rep_value values[24];
};

enum case_outcome { CASE_OK, CASE_SKIPPED, CASE_LIMIT, CASE_ERROR, CASE_FILTERED, CASE_DERIVED };

struct case_result {
    enum case_outcome outcome;
    char message[256];
    double limit_reached;
    int nreps, cap;
    struct rep_result *reps;
    /* The primary metric's per-op samples (bench_sample), pooled over the reported
     * repetitions (sample_reps of them), for its percentiles; NULL when there are none. */
    double *samples;
    int nsamples, sample_reps;
};

/* Hands argv to Google Benchmark (it takes its --benchmark_* flags out). Returns 0, or -1
 * with an unrecognised flag named in err. */
int shim_init(int *argc, char **argv, char *err, size_t err_len);
/* Whether --benchmark_filter (if given) selects this case name. */
int shim_filter_matches(const char *name);
/* Runs one prepared case (setup done) and fills res. */
void shim_run_case(struct bench_case *c, const struct shim_config *cfg, struct case_result *res);
void case_result_free(struct case_result *res);
/* Google Benchmark's JSON for the cases run so far, written to path; `complete` closes the
 * document normally, otherwise it is closed as it stands (interrupted run). 0 or -errno. */
int shim_write_json(const char *path, int complete);
/* The Google Benchmark version this was built against. */
const char *shim_benchmark_version(void);

#ifdef __cplusplus
}
#endif
#endif
