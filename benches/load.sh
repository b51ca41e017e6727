#!/usr/bin/env bash
# Side-by-side load benchmark: Satchel (release build) vs the reference PocketBase 0.40.6.
#
# Seeds the same collection with 1,000 records in both servers, then measures with wrk
# (installed if missing) on loopback, back to back:
#   list    GET /api/collections/posts/records?perPage=30
#   view    GET /api/collections/posts/records/<id>
#   filter  GET /api/collections/posts/records?filter=(views>500 && title~'post')&sort=-views
#   health  GET /api/health
#   jsroute GET /api/bench/hello/{name}, a `routerAdd` route answering JSON
#   create  POST /api/collections/plain/records, no hooks
#   jscreate POST /api/collections/notes/records, with a JS `onRecordCreateRequest` setting a field
# and prints req/s, p99 latency, requests per CPU-second of the server process (wrk shares the
# machine's cores, so req/s is capped by the machine; CPU per request is what each server
# costs), resident memory after the runs, and the Satchel/PocketBase ratios.
# Each case runs ROUNDS times (default 3), Satchel and PocketBase in turn, and each column is
# the median of its rounds: one run of the same case varies by ±10% on this machine.
# Usage: [PINNED=1] [ROUNDS=n] benches/load.sh [seconds per run, default 5] [connections, default 32]
# (PINNED=1: each server alone on core 0, wrk alone on core 1; see benches/lib.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${2:-32}"
SATCHEL_PORT=18090
PB_PORT=18091

source benches/lib.sh
PB=$(../shared/reference/get-pocketbase.sh 2>/dev/null)

WORK=$(mktemp -d)
cleanup() { kill "${SATCHEL_PID:-}" "${PB_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The same hook file for both servers.
mkdir -p "$WORK/hooks"
cat >"$WORK/hooks/bench.pb.js" <<'JS'
routerAdd("GET", "/api/bench/hello/{name}", (e) => {
  return e.json(200, { message: "Hello " + e.request.pathValue("name") + "!" });
});
onRecordCreateRequest((e) => {
  e.record.set("source", "hook");
  return e.next();
}, "notes");
JS
cat >"$WORK/create.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"title":"a note"}'
wrk.headers["Content-Type"] = "application/json"
LUA

start() { # name binary port dir
  "$2" superuser upsert admin@example.com 'pass-123456' --dir "$4" >/dev/null
  "${SERVER_PIN[@]}" "$2" serve --http "127.0.0.1:$3" --dir "$4" --publicDir "$WORK/none" --hooksDir "$WORK/hooks" >"$WORK/$1.log" 2>&1 &
  echo $!
}

SATCHEL_PID=$(start satchel "$SATCHEL" $SATCHEL_PORT "$WORK/satchel_data")
PB_PID=$(start pocketbase "$PB" $PB_PORT "$WORK/pb_data")
wait_up $SATCHEL_PORT
wait_up $PB_PORT

seed() { # port -> prints one record id
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
call("POST", "/api/collections", {"name": "posts", "listRule": "", "viewRule": "", "fields": [
    {"name": "title", "type": "text"}, {"name": "body", "type": "editor"}, {"name": "views", "type": "number"},
    {"name": "published", "type": "bool"}, {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
    {"name": "created", "type": "autodate", "onCreate": True}]}, token)
for name in ("notes", "plain"):
    call("POST", "/api/collections", {"name": name, "createRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "source", "type": "text"}]}, token)
first = None
for i in range(1000):
    rec = call("POST", "/api/collections/posts/records", {"title": f"post {i}", "body": f"<p>body of post {i}</p>",
        "views": (i * 7919) % 1000, "published": i % 2 == 0, "tags": ["a", "b"][: i % 3]}, token)
    first = first or rec["id"]
print(first)
PY
}
SATCHEL_ID=$(seed $SATCHEL_PORT)
PB_ID=$(seed $PB_PORT)

measured() { # pid port path [wrk script] -> "req/s p99_ms req_per_cpu_second"
  local before after
  before=$(cpu_ticks "$1")
  read -r rps p99 <<<"$(wrk_run "$2" "$3" "${4:-}")"
  after=$(cpu_ticks "$1")
  awk -v r="$rps" -v p="$p99" -v d="$DURATION" -v t=$((after - before)) -v hz="$TICKS" \
    'BEGIN { printf "%s %s %.0f", r, p, (t > 0 ? r * d / (t / hz) : 0) }'
}

# The median of each column of "req/s p99 req/cpu-s" lines given as arguments.
medians() {
  printf '%s\n' "$@" | awk '{ for (i = 1; i <= 3; i++) v[i, NR] = $i }
    END { for (i = 1; i <= 3; i++) { n = 0; for (r = 1; r <= NR; r++) a[++n] = v[i, r]
            for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
            printf "%s%s", a[int((n + 1) / 2)], (i < 3 ? " " : "\n") } }'
}

FILTER='?filter=(views%3E500%20%26%26%20title~%27post%27)&sort=-views'
printf '%-8s %13s %10s %8s %11s %9s %13s %13s %9s\n' case "satchel r/s" "pb r/s" ratio "satchel p99" "pb p99" "sat req/cpu-s" "pb req/cpu-s" "cpu ratio"
for case in health list view filter jsroute create jscreate; do
  script=""
  case $case in
    health) sp=/api/health; pp=/api/health ;;
    list) sp=/api/collections/posts/records?perPage=30; pp=$sp ;;
    view) sp=/api/collections/posts/records/$SATCHEL_ID; pp=/api/collections/posts/records/$PB_ID ;;
    filter) sp=/api/collections/posts/records$FILTER; pp=$sp ;;
    jsroute) sp=/api/bench/hello/satchel; pp=$sp ;;
    create) sp=/api/collections/plain/records; pp=$sp; script="$WORK/create.lua" ;;
    jscreate) sp=/api/collections/notes/records; pp=$sp; script="$WORK/create.lua" ;;
  esac
  s_runs=() p_runs=()
  for _ in $(seq 1 "$ROUNDS"); do
    s_runs+=("$(measured "$SATCHEL_PID" $SATCHEL_PORT "$sp" "$script")")
    p_runs+=("$(measured "$PB_PID" $PB_PORT "$pp" "$script")")
  done
  read -r s_rps s_p99 s_eff <<<"$(medians "${s_runs[@]}")"
  read -r p_rps p_p99 p_eff <<<"$(medians "${p_runs[@]}")"
  ratio=$(awk -v a="$s_rps" -v b="$p_rps" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
  cpu_ratio=$(awk -v a="$s_eff" -v b="$p_eff" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
  printf '%-8s %13s %10s %8s %9sms %7sms %13s %13s %9s\n' "$case" "$s_rps" "$p_rps" "$ratio" "$s_p99" "$p_p99" "$s_eff" "$p_eff" "$cpu_ratio"
done
printf 'memory after the runs: satchel %s MiB, pocketbase %s MiB (RSS)\n' "$(rss_mb "$SATCHEL_PID")" "$(rss_mb "$PB_PID")"
