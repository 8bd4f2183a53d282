#!/usr/bin/env bash
# Checks the dependency direction of DESIGN.md:
#   common -> storage -> {identity, consent} -> ingest -> rights -> api -> tools
# - a module includes only its own headers and those of lower layers;
# - identity/ and consent/ never include each other;
# - only storage/ includes RocksDB headers; only api/ includes Thrift headers or generated code.
# Tests and benchmarks may include anything. Prints every violation; exits 1 if there is one.
set -euo pipefail
root="${1:-$(dirname "$0")/..}"
cd "$root"

declare -A level=([common]=0 [storage]=1 [identity]=2 [consent]=2 [ingest]=3 [rights]=4 [api]=5 [tools]=6)
status=0
fail() { echo "layering: $*"; status=1; }

for module in "${!level[@]}"; do
  [ -d "$module" ] || continue
  while IFS= read -r file; do
    while IFS= read -r line; do
      inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]+)[">].*/\1/' <<<"$line")
      top=${inc%%/*}
      case "$inc" in
        rocksdb/*) [ "$module" = storage ] || fail "$file includes $inc (only storage/ may use RocksDB)";;
        thrift/*|gen-cpp/*|*_types.h|*_constants.h)
          [ "$module" = api ] || fail "$file includes $inc (only api/ may use Thrift)";;
      esac
      if [ -n "${level[$top]+x}" ] && [ "$top" != "$module" ]; then
        if [ "${level[$top]}" -ge "${level[$module]}" ]; then
          fail "$file includes $inc ($module may not depend on $top)"
        fi
      fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file" || true)
  done < <(find "$module" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.proto' \))
done

# Protobuf imports between modules follow the same rule.
while IFS= read -r hit; do
  file=${hit%%:*}; module=${file%%/*}; imported=$(sed -E 's/.*import "([^"]+)".*/\1/' <<<"$hit")
  top=${imported%%/*}
  if [ -n "${level[$top]+x}" ] && [ "$top" != "$module" ] && [ "${level[$top]}" -ge "${level[$module]}" ]; then
    fail "$file imports $imported ($module may not depend on $top)"
  fi
done < <(grep -rE '^import "' --include='*.proto' common storage identity consent ingest rights api tools 2>/dev/null || true)

[ $status -eq 0 ] && echo "layering: ok"
exit $status
