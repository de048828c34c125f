#!/usr/bin/env bash
# HTTP benchmark: wrk against Unfold's GET /healthz and, in the same run, against
# nginx serving a static file with the same bytes on loopback.
# Usage: bench/http.sh [seconds] [connections]   (make bench-http builds first)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${ROUNDS:-3}
BIN=.build/release/unfold
WORK=$(mktemp -d /tmp/unfold-bench-http.XXXXXX)
UNFOLD_PORT=${UNFOLD_BENCH_PORT:-18480}
NGINX_PORT=${NGINX_BENCH_PORT:-18481}

need=""
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
if [ -n "$need" ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  else
    echo "error: missing:$need — run: sudo apt-get install -y$need"; exit 1
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$BIN" ] || { echo "error: $BIN missing; run 'make build' first"; exit 1; }

cleanup() {
  [ -n "${UNFOLD_PID:-}" ] && kill "$UNFOLD_PID" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/logs"
chmod 755 "$WORK"  # nginx workers run as an unprivileged user
printf '{"status":"ok"}' > "$WORK/www/healthz"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location / { }
  }
}
NGINX
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
"$BIN" serve --host 127.0.0.1 --port "$UNFOLD_PORT" --log-level warning 2>"$WORK/unfold.log" &
UNFOLD_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$UNFOLD_PORT/healthz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
[ "$(curl -s "http://127.0.0.1:$UNFOLD_PORT/healthz")" = "$(curl -s "http://127.0.0.1:$NGINX_PORT/healthz")" ] || { echo "error: bodies differ"; exit 1; }

# run NAME URL -> "rps p50 p99" (latencies in ms)
run() {
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2")
  local rps p50 p99
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() {
  case "$1" in
    *us) echo "$1" | sed 's/us$//' | awk '{printf "%.3f", $1/1000}' ;;
    *ms) echo "$1" | sed 's/ms$//' ;;
    *s)  echo "$1" | sed 's/s$//' | awk '{printf "%.3f", $1*1000}' ;;
    *)   echo "$1" ;;
  esac
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, GET /healthz, $ROUNDS rounds alternating (machine: $(nproc) cores)"
wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$UNFOLD_PORT/healthz" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null
printf '%-6s %-8s %12s %9s %9s\n' round server "requests/s" "p50 ms" "p99 ms"
sum_ratio=0
for round in $(seq 1 "$ROUNDS"); do
  read -r n_rps n_p50 n_p99 <<<"$(run nginx "http://127.0.0.1:$NGINX_PORT/healthz")"
  read -r u_rps u_p50 u_p99 <<<"$(run unfold "http://127.0.0.1:$UNFOLD_PORT/healthz")"
  printf '%-6s %-8s %12s %9s %9s\n' "$round" nginx "$n_rps" "$n_p50" "$n_p99"
  printf '%-6s %-8s %12s %9s %9s\n' "$round" unfold "$u_rps" "$u_p50" "$u_p99"
  ratio=$(awk -v u="$u_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", u/n}')
  echo "round $round ratio unfold/nginx: $ratio"
  sum_ratio=$(awk -v s="$sum_ratio" -v r="$ratio" 'BEGIN {print s+r}')
done
# The same request through the worker pool (an unknown path answers 404 from a worker),
# to show the cost of the hop that every non-probe route takes.
read -r p_rps p_p50 p_p99 <<<"$(run pool "http://127.0.0.1:$UNFOLD_PORT/no-such-route")"
printf '%-6s %-8s %12s %9s %9s   (404 via the worker pool)\n' "-" unfold "$p_rps" "$p_p50" "$p_p99"
mean=$(awk -v s="$sum_ratio" -v n="$ROUNDS" 'BEGIN {printf "%.2f", s/n}')
echo "RESULT http unfold/nginx requests/s ratio (mean of $ROUNDS rounds): $mean (target >= 0.8)"
