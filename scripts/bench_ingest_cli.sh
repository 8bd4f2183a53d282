#!/usr/bin/env bash
# Ingest as a data team runs it: `cdp ingest` of NDJSON files against a running `cdp serve`, over
# Thrift on loopback, every call acknowledged only after its synced write. The feed is the ingest
# benchmark's (bench/feed_file.cc); results and method: docs/performance.md, "Ingest".
#
#   scripts/bench_ingest_cli.sh [PEOPLE [EVENTS]]      (defaults 100000 and 300000)
#
# Environment: CDP_BUILD (default build), CDP_CLIENT (the cdp binary that runs `cdp ingest`;
# default the build's, the server is always the build's), CDP_INGEST_ARGS (more `cdp ingest`
# arguments, e.g. "--in-flight 1"), CDP_BENCH_DIR (default a new temporary
# directory, removed at the end), CDP_BENCH_PORT (default 7611). Prints one line per file:
# events, seconds, events per second and the outcome counts of `cdp ingest --json`.
set -euo pipefail

people=${1:-100000}
events=${2:-300000}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CDP_BUILD:-$root/build}
port=${CDP_BENCH_PORT:-7611}
cli=${CDP_CLIENT:-$build/bin/cdp}
if [[ -n "${CDP_BENCH_DIR:-}" ]]; then
  dir=$CDP_BENCH_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
rm -rf "$dir/data"

"$build/bin/feed_file" "$dir" "$people" "$events"
"$build/bin/cdp" serve --config "$dir/cdp.conf" --data-dir "$dir/data" --port "$port" \
  --metrics-port 0 2> "$dir/server.log" &
server=$!
stop() { kill -TERM "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; }
trap 'stop; [[ -n "${CDP_BENCH_DIR:-}" ]] || rm -rf "$dir"' EXIT
client=(--port "$port" --data-dir "$dir/data")
for _ in $(seq 100); do
  "$build/bin/cdp" stats "${client[@]}" > /dev/null 2>&1 && break
  sleep 0.2
done

for file in preload stream; do
  lines=$(wc -l < "$dir/$file.ndjson")
  start=$(date +%s.%N)
  # shellcheck disable=SC2086  # CDP_INGEST_ARGS is a list of arguments
  summary=$("$cli" ingest --json "${client[@]}" ${CDP_INGEST_ARGS:-} "$dir/$file.ndjson")
  end=$(date +%s.%N)
  awk -v f="$file" -v n="$lines" -v s="$start" -v e="$end" -v sum="$summary" 'BEGIN {
    printf "%s: %d events in %.1f s: %.0f events/s %s\n", f, n, e - s, n / (e - s), sum }'
done
