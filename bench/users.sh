#!/usr/bin/env bash
# What remembering users costs (issue 11), on one release build and the MovieLens model:
#   1. GET /v1/users/{id}/recommend (a stored history of 20 events) against POST /v1/recommend
#      with the same 20 interactions, wrk rounds alternating (target: user >= 0.9x stateless);
#   2. POST /v1/interactions with 64 concurrent writers (10 records per request, group commit),
#      events/s, beside the stateless recommend's requests/s of the same run;
#   3. the history rebuild at start from a log of EVENTS records (default 10M: 100k users,
#      50k items; target <= 10 s) and the memory per stored event (resident memory with
#      user_history_max 500 minus with 0, over the events stored).
# Usage: bench/users.sh [seconds] [connections]   (make bench-users trains the model first)
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${ROUNDS:-3}
EVENTS=${EVENTS:-10000000}
BIN=${UNFOLD_BIN:-.build/release/unfold}
WORK=$(mktemp -d /tmp/unfold-bench-users.XXXXXX)
PORT=${UNFOLD_BENCH_PORT:-18782}
SNAPSHOTS=${SNAPSHOTS:-snapshots}
ls "$SNAPSHOTS"/*.unfold >/dev/null 2>&1 || { echo "error: no snapshot in $SNAPSHOTS; run 'make model'"; exit 1; }
command -v wrk >/dev/null 2>&1 || bench_require_tools
PIDS=""
users_cleanup() {
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap users_cleanup EXIT

# serve NAME ARGS...: a server on $PORT with its own log and jobs; sets SERVER_PID.
serve() {
  local name=$1; shift
  "$BIN" serve --host 127.0.0.1 --port "$PORT" --log-level notice --snapshots "$SNAPSHOTS" --jobs "$WORK/jobs-$name" "$@" 2>"$WORK/$name.log" &
  SERVER_PID=$!
  PIDS="$PIDS $SERVER_PID"
  # The history rebuild runs before the server listens: up to two minutes.
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "error: $name did not become ready"; cat "$WORK/$name.log"; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# --- 1 and 2: user recommend against stateless, ingest ---
bench_recommend_body "$WORK/post.lua"
serve live --interaction-log "$WORK/log-live"
USERS=1000
python3 - "$WORK" "$USERS" <<'PY'
import json, sys
work, users = sys.argv[1], int(sys.argv[2])
items = [(str(i * 37 % 1600 + 1), i % 5 + 1) for i in range(1, 21)]
records = [{"user": f"bench-{u}", "item": item, "weight": w, "timestamp": 1_800_000_000 + k}
           for u in range(users) for k, (item, w) in enumerate(items)]
for n, start in enumerate(range(0, len(records), 10000)):
    json.dump({"interactions": records[start:start + 10000]}, open(f"{work}/history-{n}.json", "w"))
PY
for f in "$WORK"/history-*.json; do
  curl -fs -H 'Content-Type: application/json' --data-binary @"$f" "http://127.0.0.1:$PORT/v1/interactions" | grep -q accepted
done
stateless=$(curl -fs -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$PORT/v1/recommend" | python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["items"]])')
stored=$(curl -fs "http://127.0.0.1:$PORT/v1/users/bench-7/recommend?k=10" | python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["items"]])')
[ "$stateless" = "$stored" ] || { echo "error: the user's answer differs from the stateless one: $stored vs $stateless"; exit 1; }
# Both request kinds are built per request by a Lua function, so wrk spends the same on each
# (a static body would be cheaper for wrk, and wrk shares the two cores with the server).
cat > "$WORK/stateless.lua" <<LUA
request = function()
  return wrk.format("POST", "/v1/recommend", {["Content-Type"] = "application/json"}, '$BODY')
end
LUA
cat > "$WORK/user.lua" <<LUA
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/users/bench-" .. math.random(0, $((USERS - 1))) .. "/recommend?k=10")
end
LUA
cat > "$WORK/ingest.lua" <<'LUA'
math.randomseed(os.time())
counter = 0
request = function()
  counter = counter + 1
  local parts = {}
  for k = 1, 10 do
    parts[k] = string.format('{"user":"w-%d","item":"%d","weight":1,"timestamp":%d}', math.random(0, 99999), math.random(1, 1600), 1800000000 + counter)
  end
  return wrk.format("POST", "/v1/interactions", {["Content-Type"] = "application/json"}, '{"interactions":[' .. table.concat(parts, ",") .. ']}')
end
LUA
URL=http://127.0.0.1:$PORT
wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/stateless.lua" "$URL/" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/user.lua" "$URL/" >/dev/null
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds, order rotating; histories of 20 events for $USERS users"
printf '%-6s %-34s %12s %9s %9s\n' round request "requests/s" "p50 ms" "p99 ms"
RATIOS="" INGEST=""
for round in $(seq 1 "$ROUNDS"); do
  declare -A R=()
  for what in $(bench_order "$round" stateless user ingest); do
    case $what in
      stateless) read -r rps p50 p99 <<<"$(bench_wrk "$URL/" -s "$WORK/stateless.lua")"; label="POST /v1/recommend (20 posted)" ;;
      user) read -r rps p50 p99 <<<"$(bench_wrk "$URL/" -s "$WORK/user.lua")"; label="GET /v1/users/{id}/recommend (20)" ;;
      ingest) read -r rps p50 p99 <<<"$(bench_wrk "$URL/" -s "$WORK/ingest.lua")"; label="POST /v1/interactions (10 records)" ;;
    esac
    R[$what]=$rps
    printf '%-6s %-34s %12s %9s %9s\n' "$round" "$label" "$rps" "$p50" "$p99"
  done
  RATIOS="$RATIOS $(awk -v u="${R[user]}" -v s="${R[stateless]}" 'BEGIN {printf "%.3f", u/s}')"
  INGEST="$INGEST $(awk -v r="${R[ingest]}" 'BEGIN {printf "%.0f", r*10}')"
done
stop
# shellcheck disable=SC2086
echo "RESULT users user-recommend/stateless-recommend requests/s: median $(bench_median $RATIOS) of rounds$RATIOS (target >= 0.9)"
# shellcheck disable=SC2086
echo "RESULT users ingest events/s at $CONNECTIONS writers: median $(bench_median $INGEST) of rounds$INGEST"

# --- 3: the rebuild at start, and memory per event ---
echo "writing a log of $EVENTS records (100k users, 50k items) ..."
python3 - "$WORK/log-replay" "$EVENTS" <<'PY'
import os, random, sys, zlib
directory, events = sys.argv[1], int(sys.argv[2])
os.makedirs(directory, exist_ok=True)
rng = random.Random(7)
segment, size, out = 1, 0, None
lines = []
def flush():
    global segment, size, out, lines
    data = "".join(lines).encode()
    lines = []
    if out is None or size + len(data) > 64 << 20:
        if out: out.close()
        out = open(f"{directory}/segment-{segment:08d}.log", "wb")
        segment += 1
        size = 0
    out.write(data)
    size += len(data)
for k in range(events):
    body = f"u{rng.randrange(100000)}\ti{rng.randrange(50000)}\t1\t{1800000000 + k}"
    lines.append(f"{zlib.crc32(body.encode()):08x}\t{body}\n")
    if len(lines) == 100000: flush()
flush()
out.close()
PY
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
for attempt in 1 2; do
  serve replay --interaction-log "$WORK/log-replay"
  seconds=$(grep 'user histories rebuilt' "$WORK/replay.log" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
  events_stored=$(grep 'user histories rebuilt' "$WORK/replay.log" | sed 's/.* events=\([0-9]*\).*/\1/')
  with=$(rss "$SERVER_PID")
  stop
  serve empty --interaction-log "$WORK/log-replay" --user-history-max 0
  without=$(rss "$SERVER_PID")
  stop
  echo "rebuild $attempt: $events_stored events in ${seconds} s; resident memory $with bytes with histories, $without without"
  echo "RESULT users rebuild of $EVENTS logged events: $seconds s (target <= 10); $(awk -v a="$with" -v b="$without" -v n="$events_stored" 'BEGIN {printf "%.1f", (a-b)/n}') bytes per stored event"
done
