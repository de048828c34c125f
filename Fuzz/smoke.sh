#!/usr/bin/env bash
# The smoke run of `make test`: every fuzz target for a few seconds on its seeds, its
# regression inputs and the corpus of earlier runs. Fails when any target crashes.
#
# Fuzz/known-crashes lists regression inputs (one path a line, # comments) that still crash
# code this branch leaves to another change; the smoke run names and skips them, so they stay
# visible without failing every run. `make fuzz FUZZ_TARGET=...` still runs them.
#
# Usage: Fuzz/smoke.sh SECONDS TARGET...     (the Makefile passes FUZZ_SMOKE_TIME and the targets;
#        MAX_LEN_<target> in the environment sets -max_len, 4096 by default)
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=$1; shift
known=$(grep -v '^#' Fuzz/known-crashes 2>/dev/null | sed '/^$/d' || true)
failed=""
for target in "$@"; do
  mkdir -p ".build/fuzz/corpus/$target" "Fuzz/regressions/$target"
  regressions="Fuzz/regressions/$target"
  skipped=$(printf '%s\n' "$known" | grep "^Fuzz/regressions/$target/" || true)
  if [ -n "$skipped" ]; then
    regressions=".build/fuzz/regressions-smoke/$target"
    rm -rf "$regressions" && mkdir -p "$regressions"
    for file in "Fuzz/regressions/$target"/*; do
      [ -e "$file" ] || continue
      printf '%s\n' "$skipped" | grep -qxF "$file" || cp "$file" "$regressions/"
    done
    for file in $skipped; do echo "fuzz: $target: skipping the known crash $file (Fuzz/known-crashes)"; done
  fi
  len_var="MAX_LEN_${target//-/_}"
  if SWIFT_BACKTRACE=enable=no ".build/fuzz/$target" ".build/fuzz/corpus/$target" "Fuzz/seeds/$target" "$regressions" \
       -artifact_prefix=".build/fuzz/$target-" -max_len="${!len_var:-4096}" -timeout=10 -print_final_stats=1 \
       -max_total_time="$seconds" > ".build/fuzz/$target-smoke.log" 2>&1; then
    echo "fuzz: $target survived the smoke run ($(grep -E '^Done' ".build/fuzz/$target-smoke.log"))"
  else
    tail -40 ".build/fuzz/$target-smoke.log"
    failed="$failed $target"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: failed:$failed; the inputs are in .build/fuzz/"
  exit 1
fi
