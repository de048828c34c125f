#!/usr/bin/env bash
# Serving benchmark: wrk POST /v1/recommend (20 interactions, k=10) against the MovieLens
# model, beside nginx serving a static file in the same run (the foundation benchmark's
# reference figure).
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
bench_start_unfold --snapshots "$SNAPSHOTS"

# 20 MovieLens items a user might have rated, weight 1..5.
BODY='{"interactions":['
for i in $(seq 1 20); do BODY="$BODY{\"item\":\"$((i * 37 % 1600 + 1))\",\"weight\":$((i % 5 + 1))}"; [ "$i" -lt 20 ] && BODY="$BODY,"; done
BODY="$BODY],\"k\":10}"
curl -fs -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$UNFOLD_PORT/v1/recommend" | grep -q '"source":"model"' || { echo "error: recommend did not answer from the model"; exit 1; }
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA

ROUNDS=${ROUNDS:-3}
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s: POST /v1/recommend (20 interactions, k=10, MovieLens WALS d=64) vs nginx static file, $ROUNDS interleaved rounds"
wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "http://127.0.0.1:$UNFOLD_PORT/v1/recommend" >/dev/null
printf '%-6s %-22s %12s %9s %9s %7s\n' round server "requests/s" "p50 ms" "p99 ms" ratio
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 <<<"$(bench_wrk "http://127.0.0.1:$NGINX_PORT/healthz")"
  read -r u_rps u_p50 u_p99 <<<"$(bench_wrk "http://127.0.0.1:$UNFOLD_PORT/v1/recommend" -s "$WORK/post.lua")"
  ratio=$(awk -v u="$u_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", u/n}')
  ratios+=("$ratio")
  printf '%-6s %-22s %12s %9s %9s\n' "$round" "nginx static file" "$n_rps" "$n_p50" "$n_p99"
  printf '%-6s %-22s %12s %9s %9s %7s\n' "$round" "unfold /v1/recommend" "$u_rps" "$u_p50" "$u_p99" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')
echo "RESULT serve recommend/nginx-static requests/s ratio: median $median of rounds ${ratios[*]} (target >= 0.5)"
