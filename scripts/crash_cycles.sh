#!/usr/bin/env bash
# Runs the SIGKILL crash test (tests/reliability/crash_test.cc) for N kill/restart cycles.
#   scripts/crash_cycles.sh [N] [SEED]     N defaults to 20 (CI); 500 before a release.
# BUILD_DIR (default build-rel) names the build directory; the test and `cdp` are built there
# with -j2 if missing or stale. Prints the test's figures line and exits with its status.
set -euo pipefail

cycles="${1:-20}"
seed="${2:-20261123}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-rel}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCDP_BUILD_BENCH=OFF >/dev/null
fi
ninja -C "$build" -j2 reliability_crash_test cdp >/dev/null

start=$(date +%s)
status=0
CDP_CRASH_CYCLES="$cycles" CDP_CRASH_SEED="$seed" \
  "$build/bin/reliability_crash_test" --gtest_filter='CrashTest.*' || status=$?
echo "crash_cycles.sh: $cycles cycles, seed $seed, $(( $(date +%s) - start )) s wall"
exit $status
