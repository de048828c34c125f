#!/usr/bin/env bash
# HTTP benchmark: wrk against Unfold's GET /healthz and, in the same run, against nginx
# serving a static file with the same bytes on loopback.
# Usage: bench/http.sh [seconds] [connections]   (make bench-http builds first)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${ROUNDS:-3}
BIN=${UNFOLD_BIN:-.build/release/unfold}
WORK=$(mktemp -d /tmp/unfold-bench-http.XXXXXX)
UNFOLD_PORT=${UNFOLD_BENCH_PORT:-18480}
NGINX_PORT=${NGINX_BENCH_PORT:-18481}

bench_require_tools
trap bench_cleanup EXIT
bench_start_nginx
bench_start_unfold --snapshots "$WORK/none"
[ "$(curl -s "http://127.0.0.1:$UNFOLD_PORT/healthz")" = "$(curl -s "http://127.0.0.1:$NGINX_PORT/healthz")" ] || { echo "error: bodies differ"; exit 1; }

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, GET /healthz, $ROUNDS rounds alternating (machine: $(nproc) cores)"
wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$UNFOLD_PORT/healthz" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null
printf '%-6s %-8s %12s %9s %9s\n' round server "requests/s" "p50 ms" "p99 ms"
sum_ratio=0
for round in $(seq 1 "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 <<<"$(bench_wrk "http://127.0.0.1:$NGINX_PORT/healthz")"
  read -r u_rps u_p50 u_p99 <<<"$(bench_wrk "http://127.0.0.1:$UNFOLD_PORT/healthz")"
  printf '%-6s %-8s %12s %9s %9s\n' "$round" nginx "$n_rps" "$n_p50" "$n_p99"
  printf '%-6s %-8s %12s %9s %9s\n' "$round" unfold "$u_rps" "$u_p50" "$u_p99"
  ratio=$(awk -v u="$u_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", u/n}')
  echo "round $round ratio unfold/nginx: $ratio"
  sum_ratio=$(awk -v s="$sum_ratio" -v r="$ratio" 'BEGIN {print s+r}')
done
# The same request through the worker pool (an unknown path answers 404 from a worker),
# to show the cost of the hop that every non-probe route takes.
read -r p_rps p_p50 p_p99 <<<"$(bench_wrk "http://127.0.0.1:$UNFOLD_PORT/no-such-route")"
printf '%-6s %-8s %12s %9s %9s   (404 via the worker pool)\n' "-" unfold "$p_rps" "$p_p50" "$p_p99"
mean=$(awk -v s="$sum_ratio" -v n="$ROUNDS" 'BEGIN {printf "%.2f", s/n}')
echo "RESULT http unfold/nginx requests/s ratio (mean of $ROUNDS rounds): $mean (target >= 0.8)"
