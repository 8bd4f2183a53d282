#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang-14, ASan + UBSan, in build-fuzz/) and runs them.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (default 60) of fuzzing
#   scripts/fuzz.sh --seeds                 rewrite the Thrift seeds in fuzz/corpus/thrift_*
#
# Targets: segment_parser csv server_config thrift_request thrift_framed (default: all).
# For each target, in turn (the box has 2 cores and is shared): replay fuzz/regressions/<target>/
# (every crash ever found), then fuzz a fresh copy of the seed corpus fuzz/corpus/<target>/ for
# SECONDS with -max_total_time. New crashing inputs land in fuzz/crashes/<target>/; keep each as
# a regression (fuzz/regressions/<target>/) once fixed. Prints execs/s and coverage per target
# and exits non-zero if any target crashed, timed out or ran out of memory.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_CXX (default clang++-14),
# JOBS (build parallelism, default nproc), FUZZ_FLAGS (extra libFuzzer flags, e.g. -jobs=2).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
bash scripts/install-deps.sh --fuzz
all_targets=(segment_parser csv server_config thrift_request thrift_framed)

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  CXX=${FUZZ_CXX:-clang++-14} cmake -S fuzz -B "$build_dir" -G Ninja
fi
cmake --build "$build_dir" --target fuzzers -j "${JOBS:-$(nproc)}"

if [ "${1:-}" = "--seeds" ]; then
  rm -f fuzz/corpus/thrift_request/* fuzz/corpus/thrift_framed/*
  "$build_dir/bin/thrift_seed_writer" fuzz/corpus
  echo "wrote $(find fuzz/corpus/thrift_request fuzz/corpus/thrift_framed -type f | wc -l) Thrift seeds"
  exit 0
fi

seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

work="$build_dir/fuzz-work"
summary=()
failed=()
for target in "${targets[@]}"; do
  bin="$build_dir/bin/${target}_fuzzer"
  if [ ! -x "$bin" ]; then
    echo "unknown target $target (expected one of: ${all_targets[*]})" >&2
    exit 2
  fi
  # ASan's leak checker stays on: a leak is a finding too.
  flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_FLAGS:-})

  regressions=(fuzz/regressions/"$target"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== $target: replaying ${#regressions[@]} regression inputs"
    if ! "$bin" "${flags[@]}" "${regressions[@]}" > "$work-$target-regressions.log" 2>&1; then
      tail -40 "$work-$target-regressions.log" >&2
      failed+=("$target (regression)")
    fi
  fi

  corpus="$work/$target"
  rm -rf "$corpus"
  mkdir -p "$corpus" "fuzz/crashes/$target"
  cp fuzz/corpus/"$target"/* "$corpus"/
  log="$work-$target.log"
  echo "== $target: fuzzing for ${seconds}s (log $log)"
  status=0
  "$bin" "${flags[@]}" -max_total_time="$seconds" -artifact_prefix="fuzz/crashes/$target/" \
    "$corpus" > "$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  entries=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    grep -A30 -m1 -E '^==[0-9]+==ERROR|runtime error|ALARM|out-of-memory|deadly signal' "$log" >&2 || tail -40 "$log" >&2
    failed+=("$target")
    result="CRASHED (see fuzz/crashes/$target/)"
  else
    result=ok
  fi
  summary+=("$(printf '%-15s %6ss %12s execs %8s execs/s  %-20s corpus %5s  %s' \
    "$target" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$entries" "$result")")
done

echo
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
