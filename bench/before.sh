#!/usr/bin/env bash
# Before/after: this build on both event cores, an older build (BEFORE=its checkout, built
# with swift build -c release; it runs from its own directory so its Config applies) and nginx,
# order rotating, GET /healthz and POST /v1/recommend. Usage: BEFORE=/path bash bench/before.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=.build/release/unfold
BASE=${BEFORE:?set BEFORE to the checkout of the older build}/.build/release/unfold
WORK=$(mktemp -d /tmp/unfold-bench-before.XXXXXX)
SNAPSHOTS=$(realpath "${SNAPSHOTS:-snapshots}")
NGINX_PORT=18681
DURATION=${DURATION:-10}; CONNECTIONS=64; ROUNDS=${ROUNDS:-3}
trap bench_cleanup EXIT
bench_require_tools
bench_start_nginx
bench_start_unfold dispatch 18690 --snapshots "$SNAPSHOTS"
bench_start_unfold epoll 18700 --snapshots "$SNAPSHOTS"
(cd "$BEFORE" && exec $BASE serve --host 127.0.0.1 --port 18710 --log-level warning --interaction-log $WORK/log-before --jobs $WORK/jobs-before --snapshots "$SNAPSHOTS" 2>$WORK/before.log) &
UNFOLD_PIDS="$UNFOLD_PIDS $!"
bench_wait http://127.0.0.1:18710/healthz
declare -A PORT=([nginx]=$NGINX_PORT [dispatch]=18690 [epoll]=18700 [before]=18710)
bench_recommend_body "$WORK/post.lua"
for s in dispatch epoll before; do curl -fs -H 'Content-Type: application/json' -d "$BODY" http://127.0.0.1:${PORT[$s]}/v1/recommend | grep -q '"source":"model"' || { echo "no model $s"; cat $WORK/before.log; exit 1; }; done
for ep in healthz recommend; do
for round in $(seq 1 $ROUNDS); do
  for s in $(bench_order "$round" nginx dispatch epoll before); do
    if [ $ep = healthz ] || [ $s = nginx ]; then url=http://127.0.0.1:${PORT[$s]}/healthz; read -r rps p50 p99 <<<"$(bench_wrk "$url")"
    else read -r rps p50 p99 <<<"$(bench_wrk "http://127.0.0.1:${PORT[$s]}/v1/recommend" -s $WORK/post.lua)"; fi
    echo "$ep $round $s $rps $p50 $p99"
  done
done
done
