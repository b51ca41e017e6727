#!/usr/bin/env bash
# OTP benchmark: Satchel (release) vs the reference PocketBase 0.40.6, back to back.
#
# Seeds 200 users with OTP enabled in both, then measures with wrk on loopback:
#   otp-known    POST request-otp for a random seeded email (hash + row + mail queued)
#   otp-unknown  POST request-otp for an email with no account
#   auth-otp     POST auth-with-otp with a wrong code, cycling over 200 live OTPs
#                (each one costs a bcrypt check until its record's 5 attempts are used)
# and prints req/s, p50 and p99 for each, and the Satchel/PocketBase ratio. The known vs
# unknown rows are the timing-oracle evidence: their latencies should match.
# Both servers mail through the same local SMTP sink (a few lines of Python started here),
# so their OTPs stay live (PocketBase deletes an OTP whose mail failed).
# Usage: benches/otp.sh [seconds per run, default 5] [connections, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
CONNECTIONS="${2:-16}"
USERS=200
SATCHEL_PORT=18092
PB_PORT=18093
SINK_PORT=18094

source benches/lib.sh
PB=$(../shared/reference/get-pocketbase.sh 2>/dev/null)

WORK=$(mktemp -d)
cleanup() { kill "${SATCHEL_PID:-}" "${PB_PID:-}" "${SINK_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # name binary port dir
  "$2" superuser upsert admin@example.com 'pass-123456' --dir "$4" >/dev/null
  "$2" serve --http "127.0.0.1:$3" --dir "$4" --publicDir "$WORK/none" >"$WORK/$1.log" 2>&1 &
  echo $!
}

python3 - "$SINK_PORT" <<'PY' &
import asyncio, sys
async def handle(reader, writer):
    writer.write(b"220 sink\r\n")
    in_data = False
    while line := await reader.readline():
        if in_data:
            if line.rstrip(b"\r\n") == b".":
                in_data = False
                writer.write(b"250 OK\r\n")
        else:
            verb = line[:4].upper()
            writer.write({b"DATA": b"354 go\r\n", b"QUIT": b"221 bye\r\n"}.get(verb, b"250 OK\r\n"))
            in_data = verb == b"DATA"
            if verb == b"QUIT":
                break
        await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
SINK_PID=$!

SATCHEL_PID=$(start satchel "$SATCHEL" $SATCHEL_PORT "$WORK/satchel_data")
PB_PID=$(start pocketbase "$PB" $PB_PORT "$WORK/pb_data")
wait_up $SATCHEL_PORT
wait_up $PB_PORT

seed() { # port -> writes $WORK/otps-<port>.lua with one live otpId per user
  python3 - "$1" "$USERS" "$WORK/otps-$1.lua" "$SINK_PORT" <<'PY'
import json, sys, urllib.request
base, users, out = f"http://127.0.0.1:{sys.argv[1]}", int(sys.argv[2]), sys.argv[3]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("content-type", "application/json")
    if token: req.add_header("Authorization", token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
token = call("POST", "/api/collections/_superusers/auth-with-password",
             {"identity": "admin@example.com", "password": "pass-123456"})["token"]
call("PATCH", "/api/collections/users", {"otp": {"enabled": True}}, token)
call("PATCH", "/api/settings", {"smtp": {"enabled": True, "host": "127.0.0.1", "port": int(sys.argv[4])}}, token)
ids = []
for i in range(users):
    call("POST", "/api/collections/users/records", {"email": f"user{i}@example.com", "password": "pass-123456",
         "passwordConfirm": "pass-123456", "verified": True}, token)
    ids.append(call("POST", "/api/collections/users/request-otp", {"email": f"user{i}@example.com"})["otpId"])
with open(out, "w") as f:
    f.write("otps = {" + ",".join(f'"{i}"' for i in ids) + "}\n")
PY
}
seed $SATCHEL_PORT
seed $PB_PORT

cat >"$WORK/known.lua" <<LUA
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
request = function() return wrk.format(nil, nil, nil, '{"email":"user' .. math.random(0, $USERS - 1) .. '@example.com"}') end
LUA
cat >"$WORK/unknown.lua" <<'LUA'
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
request = function() return wrk.format(nil, nil, nil, '{"email":"nobody' .. math.random(0, 1000000) .. '@example.com"}') end
LUA
auth_script() { # port
  cat "$WORK/otps-$1.lua" - >"$WORK/auth-$1.lua" <<'LUA'
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function() n = n + 1; return wrk.format(nil, nil, nil, '{"otpId":"' .. otps[(n % #otps) + 1] .. '","password":"00000000"}') end
LUA
}
auth_script $SATCHEL_PORT
auth_script $PB_PORT

run() { # port path script -> "req/s p50_ms p99_ms"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$3" "http://127.0.0.1:$1$2" | awk '
    function ms(v) { if (v ~ /us$/) { sub(/us/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms/, "", v); return v } sub(/s/, "", v); return v * 1000 }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    END { printf "%.0f %.2f %.2f", rps, p50, p99 }'
}

printf '%-12s %12s %10s %9s %10s %10s %10s %10s\n' case "satchel r/s" "pb r/s" ratio "sat p50" "sat p99" "pb p50" "pb p99"
for case in otp-known otp-unknown auth-otp; do
  case $case in
    otp-known) path=/api/collections/users/request-otp; ss="$WORK/known.lua"; ps="$WORK/known.lua" ;;
    otp-unknown) path=/api/collections/users/request-otp; ss="$WORK/unknown.lua"; ps="$WORK/unknown.lua" ;;
    auth-otp) path=/api/collections/users/auth-with-otp; ss="$WORK/auth-$SATCHEL_PORT.lua"; ps="$WORK/auth-$PB_PORT.lua" ;;
  esac
  read -r s_rps s_p50 s_p99 <<<"$(run $SATCHEL_PORT $path "$ss")"
  read -r p_rps p_p50 p_p99 <<<"$(run $PB_PORT $path "$ps")"
  ratio=$(awk -v a="$s_rps" -v b="$p_rps" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
  printf '%-12s %12s %10s %9s %8sms %8sms %8sms %8sms\n' "$case" "$s_rps" "$p_rps" "$ratio" "$s_p50" "$s_p99" "$p_p50" "$p_p99"
done
