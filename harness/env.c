/* env.c - see env.h. */
#define _GNU_SOURCE
#include "harness/env.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "mux_config.h"
#include "mux_git.h"
#include "harness/placement.h"
#include "pollers/poller.h"
#include "harness/shim.h"
#include "harness/sysinfo.h"

static void add_text(struct env *e, const char *key, const char *text)
{
    if (e->count == ENV_MAX_ITEMS)
        return;
    struct env_item *it = &e->items[e->count++];
    snprintf(it->key, sizeof it->key, "%.95s", key);
    snprintf(it->text, sizeof it->text, "%s", text);
    it->numeric = 0;
    it->value = NAN;
}

static void add_num(struct env *e, const char *key, double value)
{
    if (e->count == ENV_MAX_ITEMS)
        return;
    struct env_item *it = &e->items[e->count++];
    snprintf(it->key, sizeof it->key, "%.95s", key);
    it->text[0] = '\0';
    it->numeric = 1;
    it->value = value;
}

/* Items a workload's planner added (env_note), copied into every env_collect() after it. */
static struct env_item notes[ENV_MAX_NOTES];
static int nnotes;

/* The value of the first /proc/cpuinfo line whose name starts with one of names (NULL-ended),
 * or fallback. */
static void cpuinfo_value(const char *const *names, const char *fallback, char *buf, size_t len)
{
    snprintf(buf, len, "%s", fallback);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        for (const char *const *n = names; *n && !found; n++) {
            char *colon = strchr(line, ':');
            if (strncmp(line, *n, strlen(*n)) != 0 || !colon)
                continue;
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(buf, len, "%s", colon);
            found = 1;
        }
    }
    fclose(f);
}

void env_cpu_model(char *buf, size_t len)
{
    static const char *const names[] = {"model name", "Processor", "CPU part", NULL};
    cpuinfo_value(names, "unknown", buf, len);
}

void env_collect(struct env *e, int argc, char **argv)
{
    memset(e, 0, sizeof *e);
    struct utsname u;
    uname(&u);
    char host[64];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    char model[128];
    env_cpu_model(model, sizeof model);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(e->meta.run_id, sizeof e->meta.run_id, "%s-%s-%ld", stamp, host, (long)getpid());
    snprintf(e->meta.host, sizeof e->meta.host, "%s", host);
    snprintf(e->meta.kernel, sizeof e->meta.kernel, "%s", u.release);
    snprintf(e->meta.cpu_model, sizeof e->meta.cpu_model, "%s", model);

    char buf[512];
    add_text(e, "kernel", u.release);
    snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.version, u.machine);
    add_text(e, "kernel_build", buf);
    add_text(e, "cpu_model", model);
    add_num(e, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
    int cores = 0, pus = 0;
    placement_counts(&cores, &pus);
    add_num(e, "cores", cores);
    add_num(e, "smt", pus > cores ? 1 : 0);
    placement_topology(buf, sizeof buf);
    add_text(e, "topology", buf);
    placement_available(buf, sizeof buf);
    add_text(e, "placements", buf);
    add_text(e, "placement_backend", placement_backend());
    /* The microcode revision changes what mitigations cost without changing the kernel. */
    static const char *const microcode[] = {"microcode", NULL};
    cpuinfo_value(microcode, "unknown (not in /proc/cpuinfo)", buf, sizeof buf);
    add_text(e, "microcode", buf);

    sys_read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", buf, sizeof buf);
    add_text(e, "governor", buf[0] ? buf : "none (no cpufreq driver exposed: a VM or fixed clock)");
    long no_turbo = sys_long("/sys/devices/system/cpu/intel_pstate/no_turbo", -1);
    long boost = sys_long("/sys/devices/system/cpu/cpufreq/boost", -1);
    add_text(e, "turbo", no_turbo == 0 || boost == 1   ? "on"
                         : no_turbo == 1 || boost == 0 ? "off"
                                                       : "unknown (not exposed)");
    sys_read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", buf, sizeof buf);
    add_text(e, "clock", buf[0] ? buf : "unknown");

    DIR *d = opendir("/sys/devices/system/cpu/vulnerabilities");
    if (d) {
        struct dirent *de;
        char names[64][64];
        int n = 0;
        while ((de = readdir(d)) && n < 64)
            if (de->d_name[0] != '.')
                snprintf(names[n++], sizeof names[0], "%.63s", de->d_name);
        closedir(d);
        qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
        for (int i = 0; i < n; i++) {
            char path[160], key[80];
            snprintf(path, sizeof path, "/sys/devices/system/cpu/vulnerabilities/%.63s",
                     names[i]);
            sys_read_line(path, buf, sizeof buf);
            snprintf(key, sizeof key, "vuln.%.63s", names[i]);
            add_text(e, key, buf);
        }
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        add_num(e, "rlimit_nofile", rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
        add_num(e, "rlimit_nofile_max", rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max);
    }
    add_num(e, "threads_max", (double)sys_long("/proc/sys/kernel/threads-max", -1));
    add_num(e, "max_map_count", (double)sys_long("/proc/sys/vm/max_map_count", -1));
    add_num(e, "io_uring_disabled", (double)sys_long("/proc/sys/kernel/io_uring_disabled", 0));
    add_text(e, "io_uring_setup_flags", poller_uring_setup_flags());

    add_text(e, "compiler", MUX_C_COMPILER);
    add_text(e, "cflags", MUX_C_FLAGS);
    add_text(e, "build_type", MUX_BUILD_TYPE);
    add_text(e, "sanitize", MUX_SANITIZE[0] ? MUX_SANITIZE : "none");
    add_text(e, "git_revision", MUX_GIT_REVISION);
    add_text(e, "hwloc_version", placement_backend());
    add_text(e, "benchmark_version", shim_benchmark_version());
    add_text(e, "muxbench_version", MUX_VERSION);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && used < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? " " : "", argv[i]);
    add_text(e, "command_line", buf);
    for (int i = 0; i < nnotes; i++)
        add_text(e, notes[i].key, notes[i].text);
}

const struct env_item *env_get(const struct env *e, const char *key)
{
    for (int i = 0; i < e->count; i++)
        if (strcmp(e->items[i].key, key) == 0)
            return &e->items[i];
    return NULL;
}

void env_note(const char *key, const char *text)
{
    for (int i = 0; i < nnotes; i++)
        if (strcmp(notes[i].key, key) == 0) {
            snprintf(notes[i].text, sizeof notes[i].text, "%s", text);
            return;
        }
    if (nnotes == ENV_MAX_NOTES)
        return;
    snprintf(notes[nnotes].key, sizeof notes[nnotes].key, "%s", key);
    snprintf(notes[nnotes].text, sizeof notes[nnotes].text, "%s", text);
    nnotes++;
}

void env_write_rows(const struct env *e, struct csv_out *o)
{
    struct param_row id;
    memset(&id, 0, sizeof id);
    param_row_set(&id, COL_WORKLOAD, "env");
    for (int i = 0; i < e->count; i++) {
        const struct env_item *it = &e->items[i];
        csv_row(o, &id, it->key, "", it->numeric ? it->value : NAN, it->numeric ? "count" : "",
                0, 0, "env", it->numeric ? "" : it->text);
    }
}

int env_warnings(const struct env *e, FILE *to)
{
    int n = 0;
    const struct env_item *gov = env_get(e, "governor");
    if (gov && strncmp(gov->text, "none", 4) != 0 && strcmp(gov->text, "performance") != 0) {
        fprintf(to, "muxbench: warning: CPU governor is '%s', not 'performance': frequency "
                    "changes move the numbers (cpupower frequency-set -g performance)\n",
                gov->text);
        n++;
    }
    const struct env_item *turbo = env_get(e, "turbo");
    if (turbo && strcmp(turbo->text, "on") == 0) {
        fprintf(to, "muxbench: warning: turbo/boost is on: the clock varies with load and "
                    "temperature; compare ratios within one run\n");
        n++;
    }
    const struct env_item *clock = env_get(e, "clock");
    if (clock && (strcmp(clock->text, "hpet") == 0 || strcmp(clock->text, "acpi_pm") == 0 ||
                  strcmp(clock->text, "jiffies") == 0)) {
        fprintf(to, "muxbench: warning: clock source '%s' has no vDSO fast path: every "
                    "timestamp is a system call, which inflates short timings\n",
                clock->text);
        n++;
    }
    return n;
}
