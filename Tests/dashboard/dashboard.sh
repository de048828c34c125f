#!/usr/bin/env bash
# The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by
# Selenium): a server with 20 versions of a model and 1,000 job records; the page must show
# the models, a training curve, the spectrum and the jobs, start a retrain that succeeds, and
# answer "try it" with titles. A screenshot goes to .build/dashboard.png.
# Usage: Tests/dashboard/dashboard.sh [unfold-binary]   (part of `make test`)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/debug/unfold}
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing chromium chromium-driver"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "error: the dashboard test needs chromium and chromium-driver: sudo apt-get install -y chromium chromium-driver"; exit 1
  fi
fi
PY=$(bash Tests/contract/venv.sh)
WORK=$(mktemp -d /tmp/unfold-dashboard.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" generate --users 200 --items 80 --interactions 4000 --groups 2 --seed 3 --out "$WORK/all.tsv" >/dev/null
"$BIN" split --data "$WORK/all.tsv" --method temporal --test-fraction 0.2 --train-out "$WORK/train.tsv" --test-out "$WORK/test.tsv" >/dev/null
printf 'item\ttitle\tcategories\n' > "$WORK/items.tsv"
for i in $(seq 0 79); do printf 'i%d\tFilm number %d\tc%d\n' "$i" "$i" $((i % 4)) >> "$WORK/items.tsv"; done
# Twenty versions, the best one trained last so it is the one served.
for seed in $(seq 1 20); do
  "$BIN" train --data "$WORK/train.tsv" --test "$WORK/test.tsv" --items "$WORK/items.tsv" --out "$WORK/snapshots" \
    --factors 8 --iterations $((1 + seed % 4)) --seed "$seed" --neighbours 5 --progress none >/dev/null
done
"$PY" Tests/dashboard/jobs_fixture.py "$WORK/jobs" 1000 "$WORK/train.tsv"
"$BIN" serve --port 0 --snapshots "$WORK/snapshots" --jobs "$WORK/jobs" --interaction-log "$WORK/log" --train-data "$WORK/train.tsv" \
  --retain-versions 30 --promotion-tolerance 1 --snapshot-poll-seconds 0.5 2> "$WORK/server.log" &
PID=$!
PORT=""
for _ in $(seq 1 200); do
  PORT=$(grep -o 'msg=listening .* port=[0-9]*' "$WORK/server.log" | grep -o '[0-9]*$' || true)
  [ -n "$PORT" ] && grep -q 'msg="model activated"' "$WORK/server.log" && break
  sleep 0.05
done
[ -n "$PORT" ] || { echo "the server did not start"; cat "$WORK/server.log"; exit 1; }
mkdir -p .build
"$PY" Tests/dashboard/dashboard_check.py "$PORT" .build/dashboard.png
