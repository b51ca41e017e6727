#!/usr/bin/env bash
# Page rendering load benchmark (issue: pages). Satchel only: PocketPages 0.22.3 cannot be
# installed from the registries reachable here, so its figures are the reference run the
# issue records for this machine (PocketPages in PocketBase 0.40.6, wrk 2 threads / 32
# connections): 155–276 req/s, p99 0.9–2.1 s, 7–12 ms of server CPU per page, and
# /api/health cut from ~19,500 to ~830 req/s by its global middleware.
#
# Serves the shipped example site (pb_pages) plus two bench pages and measures with wrk:
#   home     GET /                    the home page with its layout and a partial
#   otp      GET /auth/otp            the OTP login page
#   slug     GET /blog/hello-world    a [slug] page with +middleware.js and +load.js
#   partials GET /list                3 partials and a 50-item loop
#   health   GET /api/health          with pages, and on a second server without pages
# and prints req/s, p99, server CPU per request, and the health ratio (pages / no pages).
# Usage: benches/pages.sh [seconds per run, default 5] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
CONNECTIONS="${2:-32}"
PAGES_PORT=18092
PLAIN_PORT=18093

source benches/lib.sh

WORK=$(mktemp -d)
cleanup() { kill "${PAGES_PID:-}" "${PLAIN_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cp -r pb_pages "$WORK/pages"
mkdir -p "$WORK/pages/blog" "$WORK/pages/_private" "$WORK/nohooks"
cat >"$WORK/pages/blog/+middleware.js" <<'JS'
module.exports = ({ request }) => ({ visitor: request.header('user-agent') || 'someone' })
JS
cat >"$WORK/pages/blog/+load.js" <<'JS'
module.exports = ({ params }) => ({ post: { title: 'Post ' + params.slug, words: params.slug.split('-') } })
JS
cat >"$WORK/pages/blog/[slug].ejs" <<'EJS'
<article>
  <h1><%= data.post.title %></h1>
  <p>Hello, <%= data.visitor %>.</p>
  <ul><% data.post.words.forEach((w) => { %><li><%= w %></li><% }) %></ul>
</article>
EJS
for n in 1 2 3; do echo "<section class=\"part-$n\"><h2><%= title %></h2><p><%= note %></p></section>" >"$WORK/pages/_private/part$n.ejs"; done
cat >"$WORK/pages/list.ejs" <<'EJS'
<% const items = Array.from({ length: 50 }, (_, i) => ({ id: i, name: 'item <' + i + '>' })) %>
<%- include('part1.ejs', { title: 'One', note: 'first & best' }) %>
<%- include('part2.ejs', { title: 'Two', note: 'second' }) %>
<%- include('part3.ejs', { title: 'Three', note: 'third' }) %>
<table><% for (const item of items) { %><tr><td><%= item.id %></td><td><%= item.name %></td></tr><% } %></table>
EJS

start() { # port dir pagesDir
  "$SATCHEL" serve --http "127.0.0.1:$1" --dir "$2" --publicDir "$WORK/none" --hooksDir "$WORK/nohooks" \
    --pagesDir "$3" --migrationsDir pb_migrations >"$2.log" 2>&1 &
  echo $!
}
PAGES_PID=$(start $PAGES_PORT "$WORK/pages_data" "$WORK/pages")
PLAIN_PID=$(start $PLAIN_PORT "$WORK/plain_data" "$WORK/no_pages")
wait_up $PAGES_PORT
wait_up $PLAIN_PORT
for path in / /auth/otp /blog/hello-world /list; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PAGES_PORT$path")
  [ "$code" = 200 ] || { echo "GET $path answered $code" >&2; exit 1; }
done

measured() { # pid port path -> "req/s p99_ms cpu_us_per_request"
  local before after
  before=$(cpu_ticks "$1")
  read -r rps p99 <<<"$(wrk_run "$2" "$3")"
  after=$(cpu_ticks "$1")
  awk -v r="$rps" -v p="$p99" -v d="$DURATION" -v t=$((after - before)) -v hz="$TICKS" \
    'BEGIN { printf "%s %s %.0f", r, p, (r > 0 ? (t / hz) * 1e6 / (r * d) : 0) }'
}

printf '%-10s %10s %10s %14s %16s\n' case "req/s" "p99" "cpu/request" "vs PocketPages"
for case in home otp slug partials; do
  case $case in
    home) path=/ ;; otp) path=/auth/otp ;; slug) path=/blog/hello-world ;; partials) path=/list ;;
  esac
  read -r rps p99 cpu <<<"$(measured "$PAGES_PID" $PAGES_PORT "$path")"
  vs=$(awk -v r="$rps" 'BEGIN { printf "%.0f-%.0fx", r / 276, r / 155 }')
  printf '%-10s %10s %8sms %12sus %16s\n' "$case" "$rps" "$p99" "$cpu" "$vs"
done
# Run-to-run noise here is about ±10%, so the two servers alternate for 4 rounds.
h_sum=0; n_sum=0
for round in 1 2 3 4; do
  read -r h_rps _ _ <<<"$(measured "$PAGES_PID" $PAGES_PORT /api/health)"
  read -r n_rps _ _ <<<"$(measured "$PLAIN_PID" $PLAIN_PORT /api/health)"
  h_sum=$((h_sum + h_rps)); n_sum=$((n_sum + n_rps))
done
printf 'health, mean of 4 alternating runs: with pages %s req/s, without %s req/s: ratio %s\n' "$((h_sum / 4))" "$((n_sum / 4))" \
  "$(awk -v a="$h_sum" -v b="$n_sum" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
printf 'memory after the runs: %s MiB (RSS, with pages)\n' "$(rss_mb "$PAGES_PID")"
