/*
 * bench_shim.cc - the one C++ file: Google Benchmark under the C API of bench.h and shim.h.
 *
 * The harness runs one case at a time: it registers that case alone, runs it, and collects
 * the runs through its own reporter, which also feeds Google Benchmark's JSONReporter into a
 * buffer (the raw JSON kept beside the CSV). Running one case per RunSpecifiedBenchmarks call
 * lets setup and teardown happen once per case, outside every timed region, and lets the
 * harness write each case's rows as soon as it ends.
 *
 * Which lambda call is measured? Google Benchmark calls the case's function several times per
 * repetition (warm-up, iteration-count estimation, then the measured run) and reports only
 * the last. Everything per repetition therefore travels in Google Benchmark's own per-run
 * state (manual time, counters, and the number of the call whose per-op samples are kept): what a
 * Run reports is exactly the measured call, never an estimation call, and the p50 and p99 are
 * taken over the samples of the reported calls pooled.
 */
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <regex.h>
#include <time.h>

extern "C" {
#include "harness/shim.h"
#include "harness/stats.h"
}

struct bench_state {
    benchmark::State *gb;
    bench_case *c;
    std::vector<double> samples;
    bool failed;
    double measured_ns; /* what this repetition timed: the body's returns, or GB's clock */
    uint64_t iterations;
    struct Accumulated {
        double total;
        std::string unit;
        bench_counter_kind kind;
    };
    std::map<std::string, Accumulated> accumulated; /* bench_counter_add */
};

namespace {

/* What the current case reported through bench_fail / bench_limit, for the reporter. */
struct CaseSignals {
    bool limit = false;
    double reached = 0;
    std::string message;
};

std::map<std::string, std::string> g_units; /* metric -> unit, from bench_counter */
/* Per-op samples of each call of the case's function, by call number: Google Benchmark reports
 * only some calls (not its iteration-count estimates), and a reported Run names its call
 * through the CALL_COUNTER counter, so exactly the reported calls' samples are pooled. */
std::map<long, std::vector<double>> g_call_samples;
long g_call_seq;
const char *CALL_COUNTER = "@call";
CaseSignals g_signals;
std::string g_filter = ".";
regex_t g_filter_re;
bool g_filter_ok = false; /* g_filter_re compiled */
bool g_user_repetitions = false, g_user_min_time = false, g_user_warmup = false;


void add_value(rep_result &rr, const std::string &metric, const std::string &unit, double value)
{
    if (rr.nvalues == (int)(sizeof rr.values / sizeof rr.values[0]))
        return;
    rep_value &v = rr.values[rr.nvalues++];
    snprintf(v.metric, sizeof v.metric, "%s", metric.c_str());
    snprintf(v.unit, sizeof v.unit, "%s", unit.c_str());
    v.value = value;
}

class MuxReporter : public benchmark::BenchmarkReporter {
  public:
    MuxReporter() { json_.SetOutputStream(&json_out_); json_.SetErrorStream(&json_out_); }

    bool ReportContext(const Context &ctx) override
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!context_done_) {
            json_.ReportContext(ctx);
            context_done_ = true;
        }
        return true;
    }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        std::lock_guard<std::mutex> lock(mu_);
        json_.ReportRuns(runs);
        for (const Run &r : runs) {
            if (r.run_type != Run::RT_Iteration || !res_)
                continue;
            if (r.error_occurred) {
                if (res_->outcome == CASE_OK) {
                    res_->outcome = g_signals.limit ? CASE_LIMIT : CASE_ERROR;
                    res_->limit_reached = g_signals.reached;
                    snprintf(res_->message, sizeof res_->message, "%s",
                             g_signals.message.empty() ? r.error_message.c_str()
                                                       : g_signals.message.c_str());
                }
                continue;
            }
            if (res_->nreps == res_->cap) {
                int cap = res_->cap ? res_->cap * 2 : 8;
                void *n = realloc(res_->reps, (size_t)cap * sizeof *res_->reps);
                if (!n)
                    continue;
                res_->reps = (rep_result *)n;
                res_->cap = cap;
            }
            rep_result &rr = res_->reps[res_->nreps++];
            memset(&rr, 0, sizeof rr);
            rr.iterations = (uint64_t)r.iterations;
            double scale = case_->metric_scale > 0 ? case_->metric_scale : 1.0;
            if (case_->metric) /* time per iteration, in ns (Unit(kNanosecond)) */
                add_value(rr, case_->metric, case_->metric_unit ? case_->metric_unit : "ns",
                          r.GetAdjustedRealTime() * scale);
            for (const auto &kv : r.counters) {
                const std::string &name = kv.first;
                if (name == CALL_COUNTER) {
                    auto s = g_call_samples.find((long)kv.second.value);
                    if (s == g_call_samples.end() || s->second.empty())
                        continue;
                    size_t have = (size_t)res_->nsamples, more = s->second.size();
                    void *n = realloc(res_->samples, (have + more) * sizeof(double));
                    if (!n)
                        continue;
                    res_->samples = (double *)n;
                    memcpy(res_->samples + have, s->second.data(), more * sizeof(double));
                    res_->nsamples += (int)more;
                    res_->sample_reps++;
                    continue;
                }
                auto u = g_units.find(name);
                add_value(rr, name, u != g_units.end() ? u->second : "", kv.second.value);
            }
        }
    }

    void Finalize() override {} /* the JSON document is closed by shim_write_json */

    void begin_case(bench_case *c, case_result *res)
    {
        std::lock_guard<std::mutex> lock(mu_);
        case_ = c;
        res_ = res;
        g_call_samples.clear();
    }
    void end_case()
    {
        std::lock_guard<std::mutex> lock(mu_);
        case_ = nullptr;
        res_ = nullptr;
        g_call_samples.clear();
    }

    int write_json(const char *path, bool complete)
    {
        std::lock_guard<std::mutex> lock(mu_);
        std::string text = json_out_.str();
        if (!context_done_)
            text = "{}\n";
        else if (complete && !finalized_) {
            json_.Finalize();
            finalized_ = true;
            text = json_out_.str();
        } else if (!finalized_)
            text += "\n  ]\n}\n";
        FILE *f = fopen(path, "w");
        if (!f)
            return -errno;
        size_t n = fwrite(text.data(), 1, text.size(), f);
        int rc = (n == text.size()) ? 0 : -EIO;
        if (fclose(f) != 0 && rc == 0)
            rc = -errno;
        return rc;
    }

  private:
    std::mutex mu_;
    benchmark::JSONReporter json_;
    std::ostringstream json_out_;
    bool context_done_ = false, finalized_ = false;
    bench_case *case_ = nullptr;
    case_result *res_ = nullptr;
};

MuxReporter *g_reporter;

void run_case_body(benchmark::State &gs, bench_case *c)
{
    bench_state st{&gs, c, {}, false, 0, 0, {}};
    if (c->run_start)
        c->run_start(c, &st);
    const uint64_t batch = c->batch ? c->batch : 1;
    /* Room for this repetition's per-op samples, made and touched here, untimed: a push_back
     * inside a timed region never reallocates or faults in a page (up to 2^20 samples). */
    if (c->metric && c->timing == BENCH_TIME_MANUAL) {
        size_t room = (size_t)std::min<benchmark::IterationCount>(gs.max_iterations, 1 << 20);
        st.samples.resize(room);
        st.samples.clear();
    }
    const int64_t started = bench_now_ns();
    while (gs.KeepRunningBatch((benchmark::IterationCount)batch)) {
        if (st.failed)
            continue; /* the loop ends by itself after SkipWithError */
        double ns = c->body(c, &st, batch);
        st.iterations += batch;
        if (c->timing == BENCH_TIME_MANUAL && !st.failed) {
            gs.SetIterationTime(ns * 1e-9);
            st.measured_ns += ns;
        }
    }
    if (c->timing != BENCH_TIME_MANUAL)
        st.measured_ns = (double)(bench_now_ns() - started);
    if (st.failed)
        return;
    if (c->run_end)
        c->run_end(c, &st);
    for (const auto &kv : st.accumulated) {
        double v = kv.second.total;
        if (kv.second.kind == BENCH_COUNT_RATE)
            v = st.measured_ns > 0 ? v / (st.measured_ns * 1e-9) : 0;
        else if (kv.second.kind == BENCH_COUNT_AVG)
            v = st.iterations ? v / (double)st.iterations : 0;
        bench_counter(&st, kv.first.c_str(), v, kv.second.unit.c_str());
    }
    if (!st.failed && !st.samples.empty() && c->metric) {
        double scale = c->metric_scale > 0 ? c->metric_scale : 1.0;
        for (double &v : st.samples)
            v *= scale;
        long call = ++g_call_seq;
        g_call_samples[call] = std::move(st.samples);
        gs.counters[CALL_COUNTER] = benchmark::Counter((double)call);
    }
}

void run_native_empty(benchmark::State &gs)
{
    for (auto _ : gs)
        benchmark::ClobberMemory();
}

bool has_flag(int argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], flag, n) == 0 && (argv[i][n] == '=' || argv[i][n] == '\0'))
            return true;
    return false;
}

} // namespace

extern "C" {

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_counter(struct bench_state *st, const char *metric, double value, const char *unit)
{
    st->gb->counters[metric] = benchmark::Counter(value);
    g_units[metric] = unit ? unit : "";
}

void bench_counter_add(struct bench_state *st, const char *metric, double value,
                       const char *unit, enum bench_counter_kind kind)
{
    auto &a = st->accumulated[metric];
    a.total += value;
    a.unit = unit ? unit : "";
    a.kind = kind;
}

void bench_sample(struct bench_state *st, double ns) { st->samples.push_back(ns); }

static void fail_with(struct bench_state *st, bool limit, double reached, const char *fmt,
                      va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (st->failed)
        return;
    st->failed = true;
    if (g_signals.message.empty()) { /* the first failure of the case is the one reported */
        g_signals.limit = limit;
        g_signals.reached = reached;
        g_signals.message = msg;
    }
    st->gb->SkipWithError(msg);
}

void bench_fail(struct bench_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_with(st, false, 0, fmt, ap);
    va_end(ap);
}

void bench_limit(struct bench_state *st, double reached, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_with(st, true, reached, fmt, ap);
    va_end(ap);
}

int bench_failed(const struct bench_state *st) { return st->failed; }

void bench_pause(struct bench_state *st) { st->gb->PauseTiming(); }
void bench_resume(struct bench_state *st) { st->gb->ResumeTiming(); }

int shim_init(int *argc, char **argv, char *err, size_t err_len)
{
    g_user_repetitions = has_flag(*argc, argv, "--benchmark_repetitions");
    g_user_min_time = has_flag(*argc, argv, "--benchmark_min_time");
    g_user_warmup = has_flag(*argc, argv, "--benchmark_min_warmup_time");
    benchmark::Initialize(argc, argv);
    for (int i = 1; i < *argc; i++) {
        snprintf(err, err_len, "unrecognised Google Benchmark flag '%s' (see --benchmark_help... "
                 "or https://github.com/google/benchmark/blob/main/docs/user_guide.md)", argv[i]);
        return -1;
    }
    g_filter = benchmark::GetBenchmarkFilter();
    if (g_filter.empty() || g_filter == "all")
        g_filter = ".";
    /* POSIX extended regular expressions: what Google Benchmark uses where it is built
     * without std::regex, and free of GCC 12's false -Wmaybe-uninitialized in <regex>. */
    const std::string pattern = g_filter[0] == '-' ? g_filter.substr(1) : g_filter;
    if (g_filter_ok)
        regfree(&g_filter_re);
    g_filter_ok = regcomp(&g_filter_re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) == 0;
    if (!g_filter_ok) {
        snprintf(err, err_len, "--benchmark_filter=%s is not a valid regular expression",
                 g_filter.c_str());
        return -1;
    }
    if (!g_reporter)
        g_reporter = new MuxReporter();
    return 0;
}

int shim_filter_matches(const char *name)
{
    bool negative = g_filter[0] == '-';
    bool found = !g_filter_ok || regexec(&g_filter_re, name, 0, nullptr, 0) == 0;
    return negative ? !found : found;
}

void shim_run_case(struct bench_case *c, const struct shim_config *cfg, struct case_result *res)
{
    res->outcome = CASE_OK;
    res->message[0] = '\0';
    g_signals = CaseSignals();
    benchmark::ClearRegisteredBenchmarks();
    benchmark::internal::Benchmark *b;
    if (c->native_empty)
        b = benchmark::RegisterBenchmark(c->name, run_native_empty);
    else
        b = benchmark::RegisterBenchmark(c->name, [c](benchmark::State &s) { run_case_body(s, c); });
    b->Unit(benchmark::kNanosecond);
    if (c->timing == BENCH_TIME_MANUAL && !c->native_empty)
        b->UseManualTime();
    else
        b->UseRealTime();
    if (!g_user_repetitions)
        b->Repetitions(c->repetitions > 0 ? c->repetitions : cfg->repetitions);
    if (c->iterations > 0) {
        b->Iterations(c->iterations);
    } else {
        if (!g_user_min_time)
            b->MinTime(c->min_time_s > 0 ? c->min_time_s : cfg->min_time_s);
        if (!g_user_warmup && cfg->warmup_s > 0)
            b->MinWarmUpTime(cfg->warmup_s);
    }
    g_reporter->begin_case(c, res);
    size_t ran = benchmark::RunSpecifiedBenchmarks(g_reporter);
    g_reporter->end_case();
    benchmark::ClearRegisteredBenchmarks();
    if (ran == 0 && res->outcome == CASE_OK)
        res->outcome = CASE_FILTERED;
}

void case_result_free(struct case_result *res)
{
    free(res->reps);
    res->reps = NULL;
    res->nreps = res->cap = 0;
    free(res->samples);
    res->samples = NULL;
    res->nsamples = res->sample_reps = 0;
}

int shim_write_json(const char *path, int complete)
{
    return g_reporter ? g_reporter->write_json(path, complete != 0) : -EINVAL;
}

const char *shim_benchmark_version(void) { return MUX_BENCHMARK_VERSION; }

} /* extern "C" */
