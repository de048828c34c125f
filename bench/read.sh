#!/usr/bin/env bash
# Reading a large interaction file: `unfold train`'s read phase (parse + ids interned) and the
# users x items matrix it builds, beside pandas' read_csv + factorize of the same file in the
# same run, alternating, with each process's peak memory; then the peak memory of WALS
# training on the same 10M interactions.
# Usage: bench/read.sh [rounds=3]      (make bench-read)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/unfold
ROUNDS=${1:-3}
DATA=.build/bench-data/synthetic-10m.tsv
mkdir -p .build/bench-data .build/bench
[ -x "$BIN" ] || { echo "error: $BIN missing; run 'make build'"; exit 1; }
[ -s "$DATA" ] || $BIN generate --users 200000 --items 50000 --interactions 10000000 --groups 10 --seed 7 --out "$DATA"
PY=$(bash bench/venv.sh)
"$PY" -c "import pandas" 2>/dev/null || "$PY" -m pip install --quiet "pandas>=2,<3"
LINES=$(($(wc -l < "$DATA") - 1))
BYTES=$(stat -c %s "$DATA")
OUT=$(mktemp -d /tmp/unfold-bench-read.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

# peak KB of a command: its stdout+stderr to $OUT/log
peak() { /usr/bin/time -f "%M" -o "$OUT/rss" "$@" > "$OUT/log" 2>&1; cat "$OUT/rss"; }

cat > "$OUT/pandas_read.py" <<'PY'
import sys, time
import pandas as pd
started = time.perf_counter()
frame = pd.read_csv(sys.argv[1], sep="\t", dtype={"user": str, "item": str, "weight": "float32", "timestamp": "float64"}, engine="c")
users, _ = pd.factorize(frame["user"])
items, _ = pd.factorize(frame["item"])
print(f"{time.perf_counter() - started:.3f}")
PY

echo "file: $DATA ($LINES lines, $((BYTES / 1000000)) MB); $ROUNDS rounds, alternating"
printf '%-6s %-28s %9s %9s %9s %12s\n' round system parse_s matrix_s total_s peak_MB
UNFOLD_TOTALS=() PANDAS_TOTALS=()
for round in $(seq 1 "$ROUNDS"); do
  for system in unfold pandas; do
    if [ "$system" = unfold ]; then
      kb=$(peak $BIN train --data "$DATA" --out "$OUT/s" --iterations 1 --solver cg --neighbours 0 --progress text)
      line=$(grep -E "^read [0-9]+ interactions" "$OUT/log")
      parse=$(sed -E 's/.* in ([0-9.]+) s; .*/\1/' <<<"$line"); matrix=$(sed -E 's/.*matrix in ([0-9.]+) s.*/\1/' <<<"$line")
      total=$(awk -v a="$parse" -v b="$matrix" 'BEGIN { printf "%.2f", a + b }')
      UNFOLD_TOTALS+=("$total")
      printf '%-6s %-28s %9s %9s %9s %12s\n' "$round" "unfold train (read phase)" "$parse" "$matrix" "$total" "$((kb / 1024))"
      rm -rf "$OUT/s"
    else
      kb=$(peak "$PY" "$OUT/pandas_read.py" "$DATA")
      total=$(tail -1 "$OUT/log")
      PANDAS_TOTALS+=("$total")
      printf '%-6s %-28s %9s %9s %9s %12s\n' "$round" "pandas read_csv+factorize" "-" "-" "$total" "$((kb / 1024))"
    fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mu=$(median "${UNFOLD_TOTALS[@]}") mp=$(median "${PANDAS_TOTALS[@]}")
echo "RESULT read 10M-line TSV: unfold read+index median ${mu} s (target <= 2), pandas read_csv+factorize ${mp} s, ratio pandas/unfold $(awk -v a="$mp" -v b="$mu" 'BEGIN { printf "%.2f", a / b }')"

# Gzip: the same file compressed, inflated a block at a time while the previous block is parsed in place.
[ -s "$DATA.gz" ] || gzip -kf -1 "$DATA"
kb=$(peak $BIN train --data "$DATA.gz" --out "$OUT/s" --iterations 1 --solver cg --neighbours 0 --progress text)
echo "gzip ($(( $(stat -c %s "$DATA.gz") / 1000000 )) MB): $(grep -E "^read [0-9]+ interactions" "$OUT/log"); peak $((kb / 1024)) MB"
rm -rf "$OUT/s"

# WALS training's peak memory on the same data, defaults (Cholesky, factors 64), one iteration.
kb=$(peak $BIN train --data "$DATA" --out "$OUT/s" --iterations 1 --neighbours 0 --progress text)
echo "RESULT wals training (defaults, 1 iteration) on 10M interactions: peak $((kb / 1024)) MB, $(awk -v k="$kb" -v n="$LINES" 'BEGIN { printf "%.1f", k * 1024 / n }') bytes per interaction (target <= 2048 MB)"
