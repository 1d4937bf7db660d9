#!/bin/sh
# reliability.sh BUILD FUZZ_SECONDS - the full reliability run behind `make reliability`:
# the full interrupt storm, every injected fault, every fuzzer for FUZZ_SECONDS each, then
# docs/reliability.md written from what they logged (tools/reliability_report.py).
# The page is written even when something failed (it says what); the exit status is 1 then.
set -u
build=${1:-build}
seconds=${2:-60}
python=${PYTHON:-/usr/bin/python3}
log="$(cd "$build" && pwd)/reliability.jsonl"
muxbench="$build/harness/muxbench"
seccomp="$build/tests/reliability/seccomp_exec"
rm -f "$log"
export MUXBENCH_RELIABILITY_LOG="$log"
status=0

echo "== interrupt storm (full)"
"$python" tests/reliability/storm.py "$muxbench" --full || status=1

echo "== injected faults"
for fault in $("$python" tests/reliability/faults.py "$muxbench" "$seccomp" --list); do
    "$python" tests/reliability/faults.py "$muxbench" "$seccomp" "$fault" >"$build/fault-$fault.log" 2>&1
    rc=$?
    tail -1 "$build/fault-$fault.log"
    [ "$rc" = 0 ] || [ "$rc" = 77 ] || status=1
done

echo "== fuzzing, ${seconds} s per target"
tools/fuzz.sh "$seconds" || status=1

"$python" tools/reliability_report.py "$log" >docs/reliability.md || status=1
echo "docs/reliability.md written from $log"
exit $status
