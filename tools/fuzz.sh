#!/bin/sh
# fuzz.sh SECONDS [BUILD_DIR] - builds the libFuzzer targets (tests/fuzz) with clang in their
# own build directory and runs each for SECONDS, then the hypothesis test of the CSV reader.
#
# Each target starts from tests/fuzz/corpus/<target>/ (read only) and keeps what it finds in
# BUILD_DIR/fuzz-corpus/<target>/; an input that crashes is written to
# BUILD_DIR/fuzz-artifacts/<target>/: copy it into tests/fuzz/corpus/<target>/ once fixed, and
# it is replayed by CTest (fuzz.replay.<target>) from then on.
# With MUXBENCH_RELIABILITY_LOG set, one JSON line per target (executions, crashes) goes there.
# Exit 0 when no target crashed, 1 when one did, 3 when clang or libFuzzer is missing.
set -eu
seconds=${1:-60}
build=${2:-build-fuzz}
cc=$(command -v clang-14 || command -v clang || true)
cxx=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$cc" ] || [ -z "$cxx" ]; then
    echo "fuzz: clang not found; install it with: tools/deps.sh fuzz" >&2
    exit 3
fi
python=${PYTHON:-/usr/bin/python3}
targets="params placement sysinfo"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_CXX_COMPILER="$cxx" -DMUX_FUZZ=ON >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 3; }
for t in $targets; do
    cmake --build "$build" -j2 --target "fuzz_$t" >/dev/null
done

status=0
for t in $targets; do
    corpus="$build/fuzz-corpus/$t"
    artifacts="$build/fuzz-artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    log="$build/fuzz-$t.log"
    echo "fuzz_$t: ${seconds} s"
    rc=0
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(find "$artifacts" -type f | wc -l)
    echo "fuzz_$t: ${runs:-0} executions, $crashes crashing input(s), exit $rc"
    if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
        status=1
        tail -40 "$log" >&2
    fi
    if [ -n "${MUXBENCH_RELIABILITY_LOG:-}" ]; then
        held=$([ "$crashes" = 0 ] && [ "$rc" = 0 ] && echo 1 || echo 0)
        "$python" - "$MUXBENCH_RELIABILITY_LOG" "$t" "${runs:-0}" "$crashes" "$seconds" "$held" <<'PY'
import json, sys, time
log, target, runs, crashes, seconds, held = sys.argv[1:]
what = {"params": "--set values and suffixes (param_parse_set, param_check_value)",
        "placement": "placement names (placement_lookup, the placement parameter)",
        "sysinfo": "/proc and /sys readers fed with odd files (kB fields, "
                   "loadavg, one-line values)"}[target]
with open(log, "a") as f:
    f.write(json.dumps({"suite": "fuzz", "item": "libFuzzer: " + what, "trials": 1,
                        "held": int(held), "executions": int(runs), "crashes": int(crashes),
                        "seconds": int(seconds),
                        "expected": "no crash, no sanitizer report, the target's assertions",
                        "outcome": "%s executions in %s s, %s crashes" % (runs, seconds, crashes),
                        "time": time.time()}, sort_keys=True) + "\n")
PY
    fi
done

# The Python CSV reader: examples scaled with the time given (about 30 inputs a second).
examples=$((seconds * 30 / 7 + 1))
"$python" tests/fuzz/csv_reader.py "$examples" || { rc=$?; [ "$rc" = 77 ] || status=1; }
exit $status
