#!/usr/bin/env bash
# HTTP benchmark: wrk against Unfold's GET /healthz on each event core (event_loop=dispatch and,
# on Linux, epoll; a server per backend) and, in the same run, against nginx serving a static
# file with the same bytes on loopback. Rounds interleave the servers, their order rotating
# each round; a backend's ratio is to nginx in the same round, reported as the median.
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
declare -A PORT TARGET=([dispatch]=1.0 [epoll]=1.2)
offset=0
for backend in $BENCH_BACKENDS; do
  PORT[$backend]=$((UNFOLD_PORT + offset)); offset=$((offset + 10))
  bench_start_unfold "$backend" "${PORT[$backend]}" --snapshots "$WORK/none"
  [ "$(curl -s "http://127.0.0.1:${PORT[$backend]}/healthz")" = "$(curl -s "http://127.0.0.1:$NGINX_PORT/healthz")" ] || { echo "error: bodies differ ($backend)"; exit 1; }
done
PORT[nginx]=$NGINX_PORT

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, GET /healthz, $ROUNDS rounds, order rotating (machine: $(nproc) cores)"
for server in nginx $BENCH_BACKENDS; do wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:${PORT[$server]}/healthz" >/dev/null; done
printf '%-6s %-16s %12s %9s %9s %7s\n' round server "requests/s" "p50 ms" "p99 ms" ratio
declare -A RATIOS RPS LINE
for round in $(seq 1 "$ROUNDS"); do
  for server in $(bench_order "$round" nginx $BENCH_BACKENDS); do
    read -r rps p50 p99 <<<"$(bench_wrk "http://127.0.0.1:${PORT[$server]}/healthz")"
    RPS[$server]=$rps
    LINE[$server]=$(printf '%-6s %-16s %12s %9s %9s' "$round" "$server" "$rps" "$p50" "$p99")
  done
  echo "${LINE[nginx]}"
  for backend in $BENCH_BACKENDS; do
    ratio=$(awk -v u="${RPS[$backend]}" -v n="${RPS[nginx]}" 'BEGIN {printf "%.2f", u/n}')
    RATIOS[$backend]="${RATIOS[$backend]:-} $ratio"
    printf '%s %7s\n' "${LINE[$backend]}" "$ratio"
  done
done
# The same request through the worker queue (an unknown path answers 404 from a worker),
# to show the cost of the hop that every non-probe route takes.
for backend in $BENCH_BACKENDS; do
  read -r p_rps p_p50 p_p99 <<<"$(bench_wrk "http://127.0.0.1:${PORT[$backend]}/no-such-route")"
  printf '%-6s %-16s %12s %9s %9s   (404 via the worker queue)\n' "-" "$backend" "$p_rps" "$p_p50" "$p_p99"
done
for backend in $BENCH_BACKENDS; do
  # shellcheck disable=SC2086
  echo "RESULT http $backend/nginx requests/s ratio: median $(bench_median ${RATIOS[$backend]}) of rounds${RATIOS[$backend]} (target >= ${TARGET[$backend]})"
done
