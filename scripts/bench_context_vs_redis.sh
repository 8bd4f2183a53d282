#!/usr/bin/env bash
# Context lookups over Thrift against Redis GET of a value of the same size, in one run on this
# machine (docs/performance.md "Context lookups over Thrift").
#
#   1. context_bench --build-only: builds (or finds cached) the benchmark store in $CDP_BENCH_DIR.
#   2. `cdp serve` on that store, in its own process, on a free port.
#   3. context_bench against it (closed loop, fixed rate, getContexts; CDP_BENCH_* knobs apply),
#      which prints the average getContext response size.
#   4. redis-server on a free port (no persistence), the key redis-benchmark reads set to a value
#      of that size, then: redis-benchmark -t get -d <bytes> -c 50 -n 200000 -q
#      (and once more with --csv for its p99).
#   5. The ratios: getContext closed-loop throughput / Redis GET throughput, and p99 / p99.
#
# Usage: scripts/bench_context_vs_redis.sh [BUILD_DIR]     (default: build-cbench)
# Build first: cmake -S . -B build-cbench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
#                -DCDP_BUILD_TESTS=OFF && ninja -C build-cbench context_bench cdp
# Redis: installed with apt-get when missing and running as root (scripts/install-deps.sh
# --bench); otherwise that part is skipped with a message.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-cbench}
bench=$build/bin/context_bench
cdp=$build/bin/cdp
for binary in "$bench" "$cdp"; do
  if [ ! -x "$binary" ]; then
    echo "missing $binary; build it: ninja -C $build context_bench cdp" >&2
    exit 1
  fi
done

people=${CDP_BENCH_PEOPLE:-100000}
export CDP_BENCH_DIR=${CDP_BENCH_DIR:-/tmp/cdp-context-bench-$people}
work=$(mktemp -d)
server_pid=""
redis_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then kill -TERM "$redis_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds for command $1 to succeed.
wait_for() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for: $1" >&2
  return 1
}

echo "== machine: nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %T UTC')"
echo "== store ($CDP_BENCH_DIR)"
"$bench" --build-only

echo "== cdp serve (own process) + context_bench"
port=$(free_port)
"$cdp" serve --config "$CDP_BENCH_DIR/cdp.conf" --data-dir "$CDP_BENCH_DIR/data" \
  --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
wait_for "grep -q 'serving on' '$work/serve.log'" 120
"$bench" --host 127.0.0.1 --port "$port" --token-file "$CDP_BENCH_DIR/cx.token" \
  --server-pid "$server_pid" | tee "$work/context.txt"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

bytes=$(sed -n 's/^RESPONSE_BYTES=//p' "$work/context.txt")
closed=$(grep '^RESULT mode=getContext closed' "$work/context.txt" || true)
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

echo "== redis-benchmark GET of $bytes bytes"
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends redis-server redis-tools ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server redis-tools; }
  else
    echo "redis-server/redis-benchmark are not installed and this is not root: skipping the Redis" \
      "comparison (run: sudo scripts/install-deps.sh --bench)"
    exit 0
  fi
fi
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "$work/redis.log" --dir "$work" &
redis_pid=$!
wait_for "[ \"\$(redis-cli -p $rport ping)\" = PONG ]" 30
# `-t get` reads the key "key:__rand_int__" (no -r); -d only sizes what SET writes, so set that
# key to a value of the response's size first, or every GET would answer nil.
head -c "$bytes" /dev/zero | tr '\0' 'x' | redis-cli -p "$rport" -x SET key:__rand_int__ >/dev/null
echo "value size: $(redis-cli -p "$rport" STRLEN key:__rand_int__) bytes"
echo "\$ redis-benchmark -t get -d $bytes -c 50 -n 200000 -q"
redis-benchmark -p "$rport" -t get -d "$bytes" -c 50 -n 200000 -q | tr '\r' '\n' | grep -v '^$' | tail -1
csv=$(redis-benchmark -p "$rport" -t get -d "$bytes" -c 50 -n 200000 --csv | tail -1)
echo "csv: $csv"
kill -TERM "$redis_pid"
wait "$redis_pid" || true
redis_pid=""

# "GET","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
redis_rps=$(cut -d, -f2 <<<"$csv" | tr -d '"')
redis_p99_ms=$(cut -d, -f7 <<<"$csv" | tr -d '"')
context_rps=$(field throughput "$closed")
context_p99_us=$(field p99_us "$closed")
echo "== ratio (closed loop both; getContext over $(field connections "$closed") connections, Redis over 50)"
awk -v c="$context_rps" -v r="$redis_rps" -v cp="$context_p99_us" -v rp="$redis_p99_ms" 'BEGIN {
  printf "getContext %.0f calls/s, Redis GET %.0f requests/s: throughput ratio %.3f (Redis %.1fx)\n",
         c, r, c / r, r / c
  printf "getContext p99 %.0f us, Redis GET p99 %.0f us: p99 ratio %.1f\n", cp, rp * 1000, cp / (rp * 1000)
}'
