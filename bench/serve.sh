#!/usr/bin/env bash
# Serving benchmark: wrk POST /v1/recommend (20 interactions, k=10) against the MovieLens
# model on each event core (event_loop=dispatch and, on Linux, epoll; a server per backend),
# beside nginx serving a static file in the same run (the foundation benchmark's reference
# figure). Rounds interleave the servers, their order rotating each round; a backend's ratio
# is to nginx in the same round, reported as the median.
# Usage: bench/serve.sh [seconds] [connections]   (make bench-serve trains the model first)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
BIN=${UNFOLD_BIN:-.build/release/unfold}
WORK=$(mktemp -d /tmp/unfold-bench-serve.XXXXXX)
UNFOLD_PORT=${UNFOLD_BENCH_PORT:-18482}
NGINX_PORT=${NGINX_BENCH_PORT:-18483}
SNAPSHOTS=${SNAPSHOTS:-snapshots}
ls "$SNAPSHOTS"/*.unfold >/dev/null 2>&1 || { echo "error: no snapshot in $SNAPSHOTS; run 'make model'"; exit 1; }

bench_require_tools
trap bench_cleanup EXIT
bench_start_nginx

bench_recommend_body "$WORK/post.lua"

declare -A PORT URL TARGET=([dispatch]=0.6 [epoll]=0.65)
offset=0
for backend in $BENCH_BACKENDS; do
  PORT[$backend]=$((UNFOLD_PORT + offset)); offset=$((offset + 10))
  bench_start_unfold "$backend" "${PORT[$backend]}" --snapshots "$SNAPSHOTS"
  curl -fs -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:${PORT[$backend]}/v1/recommend" | grep -q '"source":"model"' \
    || { echo "error: recommend did not answer from the model ($backend)"; exit 1; }
  URL[$backend]="http://127.0.0.1:${PORT[$backend]}/v1/recommend"
done
URL[nginx]="http://127.0.0.1:$NGINX_PORT/healthz"

ROUNDS=${ROUNDS:-3}
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s: POST /v1/recommend (20 interactions, k=10, MovieLens WALS d=64) on each event core vs nginx static file, $ROUNDS rounds, order rotating"
for backend in $BENCH_BACKENDS; do wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "${URL[$backend]}" >/dev/null; done
printf '%-6s %-22s %12s %9s %9s %7s\n' round server "requests/s" "p50 ms" "p99 ms" ratio
declare -A RATIOS RPS LINE
for round in $(seq 1 "$ROUNDS"); do
  for server in $(bench_order "$round" nginx $BENCH_BACKENDS); do
    if [ "$server" = nginx ]; then
      read -r rps p50 p99 <<<"$(bench_wrk "${URL[nginx]}")"
      LINE[$server]=$(printf '%-6s %-22s %12s %9s %9s' "$round" "nginx static file" "$rps" "$p50" "$p99")
    else
      read -r rps p50 p99 <<<"$(bench_wrk "${URL[$server]}" -s "$WORK/post.lua")"
      LINE[$server]=$(printf '%-6s %-22s %12s %9s %9s' "$round" "$server /v1/recommend" "$rps" "$p50" "$p99")
    fi
    RPS[$server]=$rps
  done
  echo "${LINE[nginx]}"
  for backend in $BENCH_BACKENDS; do
    ratio=$(awk -v u="${RPS[$backend]}" -v n="${RPS[nginx]}" 'BEGIN {printf "%.2f", u/n}')
    RATIOS[$backend]="${RATIOS[$backend]:-} $ratio"
    printf '%s %7s\n' "${LINE[$backend]}" "$ratio"
  done
done
for backend in $BENCH_BACKENDS; do
  # shellcheck disable=SC2086
  echo "RESULT serve $backend recommend/nginx-static requests/s ratio: median $(bench_median ${RATIOS[$backend]}) of rounds${RATIOS[$backend]} (target >= ${TARGET[$backend]})"
done
