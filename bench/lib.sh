#!/usr/bin/env bash
# Shared by the HTTP benchmarks (source it): wrk and nginx installed when missing, nginx
# on loopback serving the same bytes as /healthz, Unfold started and stopped (one server per
# event core), wrk runs reduced to "requests/s p50-ms p99-ms", medians.
# The caller sets BIN, WORK, NGINX_PORT, UNFOLD_PORT, DURATION, CONNECTIONS.

# The event cores measured side by side (event_loop); epoll exists on Linux only.
BENCH_BACKENDS=${BENCH_BACKENDS:-$( [ "$(uname -s)" = Linux ] && echo "dispatch epoll" || echo dispatch )}

bench_require_tools() {
  local need=""
  command -v wrk >/dev/null 2>&1 || need="$need wrk"
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
  if [ -n "$need" ]; then
    if [ "$(id -u)" = "0" ]; then
      echo "installing:$need"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
      echo "error: missing:$need; run: sudo apt-get install -y$need"; exit 1
    fi
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$BIN" ] || { echo "error: $BIN missing; run 'make build' first"; exit 1; }
}

bench_cleanup() {
  for pid in ${UNFOLD_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true
  rm -rf "$WORK"
}

bench_start_nginx() {
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
  bench_wait "http://127.0.0.1:$NGINX_PORT/healthz"
}

# bench_start_unfold BACKEND PORT ARGS...: unfold serve --event-loop BACKEND on PORT, quiet
# log, waits for readiness. Each backend gets its own state directories and log.
bench_start_unfold() {
  local backend=$1 port=$2; shift 2
  "$BIN" serve --host 127.0.0.1 --port "$port" --event-loop "$backend" --log-level "${LOG_LEVEL:-warning}" \
    --interaction-log "$WORK/log-$backend" --jobs "$WORK/jobs-$backend" "$@" 2>"$WORK/unfold-$backend.log" &
  UNFOLD_PIDS="${UNFOLD_PIDS:-} $!"
  bench_wait "http://127.0.0.1:$port/readyz" || bench_wait "http://127.0.0.1:$port/healthz"
}

# bench_median VALUES...: the median (the mean of the middle two for an even count).
bench_median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2] + a[NR/2+1]) / 2}'
}

# bench_order ROUND NAMES...: the names rotated by ROUND-1, so each takes each slot in turn.
bench_order() {
  local round=$1; shift
  local names=("$@") n=$# k
  for ((k = 0; k < n; k++)); do printf '%s ' "${names[$(( (k + round - 1) % n ))]}"; done
}

# bench_recommend_body LUA: sets BODY to the serving benchmark's query (20 MovieLens items a
# user might have rated, weight 1..5, k=10) and writes a wrk script that POSTs it to LUA.
bench_recommend_body() {
  BODY='{"interactions":['
  for i in $(seq 1 20); do BODY="$BODY{\"item\":\"$((i * 37 % 1600 + 1))\",\"weight\":$((i % 5 + 1))}"; [ "$i" -lt 20 ] && BODY="$BODY,"; done
  BODY="$BODY],\"k\":10}"
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body   = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA
}

bench_wait() {
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# bench_wrk URL [wrk args...] -> "rps p50 p99" (latencies in ms)
bench_wrk() {
  local url=$1; shift
  local out rps p50 p99
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$rps $(bench_ms "$p50") $(bench_ms "$p99")"
}

bench_ms() {
  case "$1" in
    *us) echo "${1%us}" | awk '{printf "%.3f", $1/1000}' ;;
    *ms) echo "${1%ms}" ;;
    *s)  echo "${1%s}" | awk '{printf "%.3f", $1*1000}' ;;
    *)   echo "$1" ;;
  esac
}
