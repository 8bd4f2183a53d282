# The two commands of the quick start. Each installs what is missing, configures and builds.
#   make run   - build and start the server on the embedded default (./cdp-data, 127.0.0.1)
#   make test  - build and run the whole test suite with ctest
#   make fuzz  - build the libFuzzer targets with clang (build-fuzz/) and run each for
#                FUZZ_SECONDS (default 60); FUZZ_TARGETS picks some (see scripts/fuzz.sh)
BUILD_DIR ?= build
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses what an
# earlier build on this machine compiled. Debug info of such a hit names the other checkout.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
CMAKE_ARGS ?=

.PHONY: all deps configure build test run bench fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: deps $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/cdp serve --demo

bench: build
	$(BUILD_DIR)/bin/storage_bench

fuzz: deps
	JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD_DIR)
