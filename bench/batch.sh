#!/usr/bin/env bash
# Exact scans that share the table (issue 12): wrk POST /v1/recommend against a large
# catalogue (default: the 1M-item WALS snapshot below), each request 20 random items of the
# catalogue (k=10), so no two queries are alike. Two builds side by side, in alternating
# rounds, order rotating: UNFOLD_BIN (this build, scans batched) and BEFORE_BIN (e.g. main's
# binary: one scan per query). Both get the same worker_threads.
# Make the snapshot first (about 15 minutes on 2 cores):
#   unfold generate --users 200000 --items 1000000 --interactions 20000000 --groups 50 --seed 7 --out /tmp/b1m.tsv
#   unfold train --model wals --data /tmp/b1m.tsv --out /tmp/b1m-snap --neighbours 0
# Usage: BEFORE_BIN=/path/to/unfold bench/batch.sh [seconds] [connections]
#   SNAPSHOTS (dir, default /tmp/b1m-snap), ITEMS (ids i0..i<ITEMS-1>, default 1000000),
#   WORKERS (worker_threads, default 64), ROUNDS (default 3), BENCH_BACKENDS (default epoll).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BACKENDS=${BENCH_BACKENDS:-epoll}
source bench/lib.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
BIN=${UNFOLD_BIN:-.build/release/unfold}
BEFORE_BIN=${BEFORE_BIN:-}
SNAPSHOTS=${SNAPSHOTS:-/tmp/b1m-snap}
ITEMS=${ITEMS:-1000000}
WORKERS=${WORKERS:-64}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d /tmp/unfold-bench-batch.XXXXXX)
UNFOLD_PORT=${UNFOLD_BENCH_PORT:-18582}
ls "$SNAPSHOTS"/*.unfold >/dev/null 2>&1 || { echo "error: no snapshot in $SNAPSHOTS (see the header of $0)"; exit 1; }
command -v wrk >/dev/null || { echo "error: wrk missing"; exit 1; }
trap bench_cleanup EXIT

# Random bodies: 20 distinct-enough items of the catalogue, weights 1..5.
cat > "$WORK/post.lua" <<LUA
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local items = {}
  for i = 1, 20 do items[i] = string.format('{"item":"i%d","weight":%d}', math.random(0, $ITEMS - 1), i % 5 + 1) end
  return wrk.format(nil, nil, nil, '{"interactions":[' .. table.concat(items, ",") .. '],"k":10}')
end
LUA

backend=${BENCH_BACKENDS%% *}
declare -A PORTS BINS
BINS[after]=$BIN
NAMES=after
[ -n "$BEFORE_BIN" ] && { BINS[before]=$BEFORE_BIN; NAMES="before after"; }
offset=0
for name in $NAMES; do
  PORTS[$name]=$((UNFOLD_PORT + offset)); offset=$((offset + 10))
  "${BINS[$name]}" serve --host 127.0.0.1 --port "${PORTS[$name]}" --event-loop "$backend" --log-level warning \
    --interaction-log "$WORK/log-$name" --jobs "$WORK/jobs-$name" --snapshots "$SNAPSHOTS" --worker-threads "$WORKERS" 2>"$WORK/unfold-$name.log" &
  UNFOLD_PIDS="${UNFOLD_PIDS:-} $!"
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:${PORTS[$name]}/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fs -H 'Content-Type: application/json' -d '{"interactions":[{"item":"i1"},{"item":"i2"}],"k":10}' \
    "http://127.0.0.1:${PORTS[$name]}/v1/recommend" | grep -q '"source":"model"' || { echo "error: $name did not answer from the model"; exit 1; }
done

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s: POST /v1/recommend (20 random items of $ITEMS, k=10), worker_threads $WORKERS, $ROUNDS rounds, order rotating"
for name in $NAMES; do wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "http://127.0.0.1:${PORTS[$name]}/v1/recommend" >/dev/null; done
printf '%-6s %-8s %12s %9s %9s\n' round build "requests/s" "p50 ms" "p99 ms"
declare -A ALL
for round in $(seq 1 "$ROUNDS"); do
  for name in $(bench_order "$round" $NAMES); do
    read -r rps p50 p99 <<<"$(bench_wrk "http://127.0.0.1:${PORTS[$name]}/v1/recommend" -s "$WORK/post.lua")"
    printf '%-6s %-8s %12s %9s %9s\n' "$round" "$name" "$rps" "$p50" "$p99"
    ALL[$name]="${ALL[$name]:-} $rps"
  done
done
for name in $NAMES; do echo "median $name: $(bench_median ${ALL[$name]}) requests/s"; done
