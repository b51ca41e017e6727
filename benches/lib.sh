# Shared by the benchmark scripts (sourced from the repository root): wrk installed, the
# release build made, and the helpers every script uses.
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet
SATCHEL=./target/release/satchel
TICKS=$(getconf CLK_TCK)
# PINNED=1: each server runs alone on core 0 and wrk (one thread) alone on core 1, so the
# load generator's own CPU, which grows with the server's throughput, is not taken from
# the server (on two shared cores even /api/health is capped at ~3x PocketBase).
if [ "${PINNED:-0}" = 1 ]; then
  SERVER_PIN=(taskset -c 0)
  WRK=(taskset -c 1 wrk -t1)
else
  SERVER_PIN=()
  WRK=(wrk -t2)
fi

# Waits until the server on port $1 answers /api/health.
wait_up() { for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/api/health" >/dev/null && return; sleep 0.1; done; exit 1; }

# wrk on port $1, path $2, optional Lua script $3 (DURATION, CONNECTIONS) -> "req/s p99_ms".
wrk_run() {
  "${WRK[@]}" -c"$CONNECTIONS" -d"${DURATION}s" --latency ${3:+-s "$3"} "http://127.0.0.1:$1$2" | awk '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v = v * 1000 }; p99 = v }
    END { printf "%.0f %.2f", rps, p99 }'
}

# CPU time (user + system) of process $1, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Resident memory of process $1, in MiB.
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
