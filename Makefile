# muxbench - a thin front door over CMake.
#
#   make bench POLLER=epoll [WORKLOAD=fanin] [QUICK=1]   build if needed, run, write results/*.csv
#   make test                                            build if needed, run every test
#   make report [CSV=results/x.csv]                      notebooks -> results/report/
#   make compare BASE=a.csv NEW=b.csv [ARGS=...]         what changed between two runs
#   make deps                                            install the system packages
#
# Both bench and test bootstrap: they check the packages (installing what is missing through
# `make deps`), configure on first use and rebuild what changed.

BUILD      ?= build
BUILD_TYPE ?= Release
POLLER     ?= epoll
WORKLOAD   ?=
QUICK      ?=
ARGS       ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
MUXBENCH   := $(BUILD)/harness/muxbench
# make report: CSV empty means the newest results/*.csv (not *.partial.csv); several CSVs may be
# given, space separated. The notebooks run on Debian's Python (python3-pandas, ...).
CSV        ?=
REPORT_DIR ?= results/report
PYTHON     ?= /usr/bin/python3

BASE       ?=
NEW        ?=

.PHONY: all deps deps-check configure build test bench report compare clean

all: build

deps:
	@tools/deps.sh install

deps-check:
	@tools/deps.sh check || $(MAKE) --no-print-directory deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps-check $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(MUXBENCH) run --poller $(POLLER) $(if $(WORKLOAD),--workload $(WORKLOAD)) \
	    $(if $(filter-out 0,$(QUICK)),--quick) $(ARGS)

report: deps-check
	PYTHONPATH=analysis$${PYTHONPATH:+:$$PYTHONPATH} $(PYTHON) -m muxbench_analysis.report \
	    --out $(REPORT_DIR) $(CSV)

compare: build
	@test -n "$(BASE)" -a -n "$(NEW)" || { echo "usage: make compare BASE=a.csv NEW=b.csv [ARGS='--threshold 5%']" >&2; exit 2; }
	$(MUXBENCH) compare $(BASE) $(NEW) $(ARGS)

clean:
	rm -rf $(BUILD)
