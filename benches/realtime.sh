#!/usr/bin/env bash
# Realtime benchmark: Satchel (release) vs the reference PocketBase 0.40.6, back to back.
#   delivery  time from a record create to its event at each of 100 subscribed SSE clients
#             (p50/p99 over 50 creates; benches/realtime.py)
#   writes    creates per second (wrk, 2 threads / 32 connections) with no subscriber, and
#             with 100 subscribed clients reading their streams
# Usage: benches/realtime.sh [seconds per wrk run, default 5] [clients, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
CLIENTS="${2:-100}"
SATCHEL_PORT=18094
PB_PORT=18095

source benches/lib.sh
PB=$(../shared/reference/get-pocketbase.sh 2>/dev/null)

WORK=$(mktemp -d)
cleanup() { kill "${SATCHEL_PID:-}" "${PB_PID:-}" ${HOLD_PID:-} 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cat >"$WORK/create.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"title":"bench"}'
wrk.headers["Content-Type"] = "application/json"
LUA

start() { # name binary port dir [extra flags]
  "$2" superuser upsert admin@example.com 'pass-123456' --dir "$4" >/dev/null
  "$2" serve --http "127.0.0.1:$3" --dir "$4" --publicDir "$WORK/none" --hooksDir "$WORK/nohooks" "${@:5}" \
    >"$WORK/$1.log" 2>&1 &
  echo $!
}
seed() { # port: a public collection `events`
  python3 - "$1" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("content-type", "application/json")
    if token: req.add_header("Authorization", token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
token = call("POST", "/api/collections/_superusers/auth-with-password",
             {"identity": "admin@example.com", "password": "pass-123456"})["token"]
call("POST", "/api/collections", {"name": "events", "listRule": "", "viewRule": "", "createRule": "",
    "fields": [{"name": "title", "type": "text"}]}, token)
PY
}
writes() { # port -> req/s
  wrk -t2 -c32 -d"${DURATION}s" -s "$WORK/create.lua" "http://127.0.0.1:$1/api/collections/events/records" |
    awk '/Requests\/sec/ { printf "%.0f", $2 }'
}

SATCHEL_PID=$(start satchel "$SATCHEL" $SATCHEL_PORT "$WORK/satchel_data" --pagesDir "$WORK/nopages")
PB_PID=$(start pocketbase "$PB" $PB_PORT "$WORK/pb_data")
wait_up $SATCHEL_PORT
wait_up $PB_PORT
seed $SATCHEL_PORT
seed $PB_PORT

printf '%-22s %14s %14s %8s\n' case satchel pocketbase ratio
for name in satchel pocketbase; do
  port=$SATCHEL_PORT; [ $name = pocketbase ] && port=$PB_PORT
  read -r p50 p99 got want <<<"$(python3 benches/realtime.py "http://127.0.0.1:$port" events "$CLIENTS" 50)"
  eval "${name}_p50=$p50 ${name}_p99=$p99 ${name}_got=$got"
  eval "${name}_quiet=$(writes $port)"
  # 100 subscribers reading their streams while wrk writes.
  python3 benches/realtime.py "http://127.0.0.1:$port" events "$CLIENTS" 0 >"$WORK/hold.out" 2>&1 &
  HOLD_PID=$!
  for _ in $(seq 1 100); do grep -q subscribed "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
  eval "${name}_busy=$(writes $port)"
  kill $HOLD_PID 2>/dev/null || true; wait $HOLD_PID 2>/dev/null || true; HOLD_PID=
done
row() { printf '%-22s %14s %14s %8s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" -v inv="$4" 'BEGIN { if (inv) { a = 1 / a; b = 1 / b }; printf "%.2fx", (b > 0 ? a / b : 0) }')"; }
row "delivery p50 (ms)" "$satchel_p50" "$pocketbase_p50" 1
row "delivery p99 (ms)" "$satchel_p99" "$pocketbase_p99" 1
row "writes/s, 0 subs" "$satchel_quiet" "$pocketbase_quiet" 0
row "writes/s, $CLIENTS subs" "$satchel_busy" "$pocketbase_busy" 0
printf 'events delivered: satchel %s, pocketbase %s (of %s)\n' "$satchel_got" "$pocketbase_got" "$((CLIENTS * 50))"
