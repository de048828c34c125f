#!/usr/bin/env bash
# What operability costs: the same build served three ways side by side, and wrk against
# each in rounds whose order rotates (a drift in the machine's load hits all alike):
#   base     metrics on,  log_level warning (the default metrics, no request lines)
#   nometric metrics off, log_level warning (nothing counted, no clock reads)
#   infolog  metrics on,  log_level info    (a request line per request, written by the
#            background writer to a file)
# for GET /healthz and POST /v1/recommend (20 interactions, k=10, the MovieLens model).
# Reported per endpoint: base/nometric (target >= 0.97: metrics within 3%) and infolog/base
# (target >= 0.90: request logs within 10%), medians over the rounds.
# Usage: bench/costs.sh [seconds] [connections]   (make bench-costs trains the model first)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
BIN=${UNFOLD_BIN:-.build/release/unfold}
WORK=$(mktemp -d /tmp/unfold-bench-costs.XXXXXX)
BASE_PORT=${UNFOLD_BENCH_PORT:-18582}
NGINX_PORT=${NGINX_BENCH_PORT:-18583}
SNAPSHOTS=${SNAPSHOTS:-snapshots}
ROUNDS=${ROUNDS:-5}
ls "$SNAPSHOTS"/*.unfold >/dev/null 2>&1 || { echo "error: no snapshot in $SNAPSHOTS; run 'make model'"; exit 1; }

bench_require_tools
PIDS=""
costs_cleanup() {
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap costs_cleanup EXIT

declare -A PORT ARGS=([base]="--metrics on --log-level warning" [nometric]="--metrics off --log-level warning" [infolog]="--metrics on --log-level info")
VARIANTS="base nometric infolog"
offset=0
for variant in $VARIANTS; do
  PORT[$variant]=$((BASE_PORT + offset)); offset=$((offset + 10))
  # shellcheck disable=SC2086
  "$BIN" serve --host 127.0.0.1 --port "${PORT[$variant]}" ${ARGS[$variant]} --snapshots "$SNAPSHOTS" \
    --interaction-log "$WORK/log-$variant" --jobs "$WORK/jobs-$variant" 2>"$WORK/unfold-$variant.log" &
  PIDS="$PIDS $!"
  bench_wait "http://127.0.0.1:${PORT[$variant]}/readyz" || { echo "error: $variant did not become ready"; cat "$WORK/unfold-$variant.log"; exit 1; }
done

bench_recommend_body "$WORK/post.lua"
for variant in $VARIANTS; do
  curl -fs -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:${PORT[$variant]}/v1/recommend" | grep -q '"source":"model"' \
    || { echo "error: recommend did not answer from the model ($variant)"; exit 1; }
done

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds, order rotating: one build ($BIN) as base (metrics on, log warning), nometric (metrics off), infolog (log info)"
printf '%-6s %-16s %-9s %12s %9s %9s\n' round endpoint variant "requests/s" "p50 ms" "p99 ms"
declare -A RPS METRIC_RATIOS LOG_RATIOS
for endpoint in healthz recommend; do
  for variant in $VARIANTS; do
    if [ "$endpoint" = healthz ]; then wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:${PORT[$variant]}/healthz" >/dev/null
    else wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "http://127.0.0.1:${PORT[$variant]}/v1/recommend" >/dev/null; fi
  done
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    for variant in $(bench_order "$round" $VARIANTS); do
      if [ "$endpoint" = healthz ]; then
        read -r rps p50 p99 <<<"$(bench_wrk "http://127.0.0.1:${PORT[$variant]}/healthz")"
      else
        read -r rps p50 p99 <<<"$(bench_wrk "http://127.0.0.1:${PORT[$variant]}/v1/recommend" -s "$WORK/post.lua")"
      fi
      RPS[$variant]=$rps
      printf '%-6s %-16s %-9s %12s %9s %9s\n' "$round" "$endpoint" "$variant" "$rps" "$p50" "$p99"
    done
    METRIC_RATIOS[$endpoint]="${METRIC_RATIOS[$endpoint]:-} $(awk -v a="${RPS[base]}" -v b="${RPS[nometric]}" 'BEGIN {printf "%.3f", a/b}')"
    LOG_RATIOS[$endpoint]="${LOG_RATIOS[$endpoint]:-} $(awk -v a="${RPS[infolog]}" -v b="${RPS[base]}" 'BEGIN {printf "%.3f", a/b}')"
  done
done
lines=$(wc -l < "$WORK/unfold-infolog.log")
for endpoint in healthz recommend; do
  # shellcheck disable=SC2086
  echo "RESULT costs $endpoint metrics-on/metrics-off requests/s: median $(bench_median ${METRIC_RATIOS[$endpoint]}) of rounds${METRIC_RATIOS[$endpoint]} (target >= 0.97)"
  # shellcheck disable=SC2086
  echo "RESULT costs $endpoint log-info/log-warning requests/s: median $(bench_median ${LOG_RATIOS[$endpoint]}) of rounds${LOG_RATIOS[$endpoint]} (target >= 0.90)"
done
echo "infolog wrote $lines request lines; dropped: $(curl -fs "http://127.0.0.1:${PORT[infolog]}/metrics" | awk '/^unfold_log_lines_dropped_total/ {print $2}')"
