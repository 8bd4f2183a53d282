#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, if any are missing.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
# `install-deps.sh --fuzz` also installs clang-14 and libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes) for scripts/fuzz.sh; the main build uses GCC.
# `install-deps.sh --bench` also installs what the benchmark scripts use (Redis, for
# scripts/bench_context_vs_redis.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  librocksdb-dev libthrift-dev thrift-compiler libboost-dev libevent-dev
  libabsl-dev libprotobuf-dev protobuf-compiler libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libphonenumber-dev libsimdjson-dev libcli11-dev libre2-dev
  libcpp-httplib-dev python3-thrift libjemalloc-dev libzstd-dev zlib1g-dev
)
# Optional extras.
case "${1:-}" in
  --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
  --bench) packages+=(redis-server redis-tools) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Run as root: apt-get update && $cmd" >&2
  exit 1
fi

echo "Installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when installing fails on a stale or empty list.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
