#!/usr/bin/env bash
# Runs the Python client of docs/api.md (docs/examples/get_context.py) against a real
# `cdp serve --demo`, so the documented example cannot rot.
# Usage: python_client_test.sh CDP_BINARY SOURCE_DIR
set -euo pipefail
cdp="$1"; src="$2"
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

thrift --gen py -out "$work" "$src/api/cdp.thrift"
"$cdp" serve --demo --data-dir "$work/data" --port 0 --metrics-port 0 >"$work/serve.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's/^cdp: serving on [^:]*:\([0-9]*\).*/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; echo "server did not start"; exit 1; }

out=$(PYTHONPATH="$work" /usr/bin/python3 "$src/docs/examples/get_context.py" --port "$port" \
        --token-file "$work/data/admin.token" email=ada.lovelace@example.com support)
echo "$out"
grep -q 'trait name = "Ada Lovelace"' <<<"$out"
grep -q 'event track Call Started on voice' <<<"$out"

# A wrong token is refused with the permission error, and the script says so.
echo wrong >"$work/wrong.token"
if PYTHONPATH="$work" /usr/bin/python3 "$src/docs/examples/get_context.py" --port "$port" \
     --token-file "$work/wrong.token" email=ada.lovelace@example.com support 2>"$work/err"; then
  echo "a wrong token was accepted"; exit 1
fi
grep -q "unknown token" "$work/err"

kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
grep -q "cdp: stopped" "$work/serve.log"
echo "python client example: ok"
