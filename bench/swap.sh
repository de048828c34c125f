#!/usr/bin/env bash
# Hot-swap benchmark.
#   1. Load and verify a snapshot of 1M items x 64 dims (unfold inspect: every check;
#      the server: checks + id index + scan table + smoke query).
#   2. p99 of POST /v1/recommend under wrk with no swap, then while a new snapshot is
#      swapped in every second (versions trained beforehand, so no training runs meanwhile).
# Usage: bench/swap.sh   (make bench-swap builds and trains first)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=.build/release/unfold
OUT=.build/bench/swap
WORK=$(mktemp -d /tmp/unfold-bench-swap.XXXXXX)
UNFOLD_PORT=${UNFOLD_BENCH_PORT:-18484}
NGINX_PORT=${NGINX_BENCH_PORT:-18485}
DURATION=${DURATION:-10}
LOG_LEVEL=notice  # the load time and activations are notice lines
CONNECTIONS=${CONNECTIONS:-64}
mkdir -p "$OUT" .build/bench-data
bench_require_tools
trap bench_cleanup EXIT

echo "== 1. Load and verify: 1M items x 64 dims"
BIG=.build/bench-data/items-1m.tsv
[ -s $BIG ] || $BIN generate --users 50000 --items 1000000 --interactions 3000000 --popularity-exponent 0.3 --seed 11 --out $BIG
if ! ls "$OUT"/big/*.unfold >/dev/null 2>&1; then
  $BIN train --data $BIG --out "$OUT/big" --factors 64 --iterations 1 --solver cg --neighbours 0 --progress none >/dev/null
fi
SNAP=$(ls "$OUT"/big/*.unfold | tail -1)
ITEMS=$("$BIN" inspect "$SNAP" | awk -F': ' '/"items"/ {gsub(/[ ,]/, "", $2); print $2; exit}')
echo "snapshot: $SNAP ($(du -h "$SNAP" | cut -f1), $ITEMS items x 64; 3M uniform draws over 1M ids reach ~95% of them)"
for i in 1 2 3; do
  start=$(date +%s.%N); "$BIN" inspect "$SNAP" >/dev/null; end=$(date +%s.%N)
  echo "  unfold inspect (open + every check), run $i: $(awk -v a=$start -v b=$end 'BEGIN {printf "%.3f", b-a}') s"
done
mkdir -p "$WORK/big"; cp "$SNAP" "$WORK/big/"
bench_start_unfold --snapshots "$WORK/big"
grep -o 'msg="model loaded".*' "$WORK/unfold.log" | sed 's/^/  server: /'
LOAD=$(grep -o 'msg="model loaded".*seconds=[0-9.]*' "$WORK/unfold.log" | grep -o 'seconds=[0-9.]*' | cut -d= -f2)
echo "RESULT swap 1M x 64 snapshot server load (verify + index + smoke query): $LOAD s"
kill "$UNFOLD_PID"; wait "$UNFOLD_PID" 2>/dev/null || true; UNFOLD_PID=

echo
echo "== 2. p99 of recommend with and without swaps (MovieLens model, wrk -t2 -c$CONNECTIONS -d${DURATION}s)"
ML=data/ml-100k
[ -s $ML/train.tsv ] || { echo "error: run 'make data'"; exit 1; }
mkdir -p "$WORK/live" "$WORK/staging"
for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
  $BIN train --data $ML/train.tsv --out "$WORK/staging" --factors 64 --iterations 5 --seed $seed --neighbours 20 --progress none >/dev/null
done
first=$(ls "$WORK/staging" | head -1); mv "$WORK/staging/$first" "$WORK/live/"
bench_start_unfold --snapshots "$WORK/live" --snapshot-poll-seconds 0.5 --retain-versions 3
BODY='{"interactions":['
for i in $(seq 1 20); do BODY="$BODY{\"item\":\"$((i * 37 % 1600 + 1))\",\"weight\":$((i % 5 + 1))}"; [ "$i" -lt 20 ] && BODY="$BODY,"; done
BODY="$BODY],\"k\":10}"
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$BODY'" > "$WORK/post.lua"
URL="http://127.0.0.1:$UNFOLD_PORT/v1/recommend"
wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "$URL" >/dev/null
read -r q_rps q_p50 q_p99 <<<"$(bench_wrk "$URL" -s "$WORK/post.lua")"
( for f in $(ls "$WORK/staging"); do sleep 1; mv "$WORK/staging/$f" "$WORK/live/"; done ) &
MOVER=$!
out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$URL")
wait $MOVER || true
s_rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
s_p50=$(bench_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
s_p99=$(bench_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
errors=$(echo "$out" | grep -E "Non-2xx|Socket errors" || true)
swaps=$(grep -c 'msg="model activated"' "$WORK/unfold.log")
printf '%-26s %12s %9s %9s\n' run "requests/s" "p50 ms" "p99 ms"
printf '%-26s %12s %9s %9s\n' "no swap" "$q_rps" "$q_p50" "$q_p99"
printf '%-26s %12s %9s %9s\n' "a swap every second" "$s_rps" "$s_p50" "$s_p99"
echo "activations during the server's life: $swaps; wrk errors: ${errors:-none}"
echo "RESULT swap p99 during swaps / outside: $(awk -v a="$s_p99" -v b="$q_p99" 'BEGIN {printf "%.2f", a/b}')"
