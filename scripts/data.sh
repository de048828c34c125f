#!/usr/bin/env bash
# Fetch MovieLens-100k (shipped inside the recbole 1.2.1 wheel on PyPI) and split it into
# train/test files; if that fails, generate a synthetic data set instead.
# Usage: scripts/data.sh [unfold-binary]      Output: data/current -> the data set to use
set -euo pipefail
cd "$(dirname "$0")/.."
UNFOLD=${1:-.build/release/unfold}
DATA=data
ML=$DATA/ml-100k
SYN=$DATA/synthetic
mkdir -p "$DATA/cache"

fetch_movielens() {
  [ -s "$ML/ml-100k.inter" ] && [ -s "$ML/ml-100k.item" ] && [ -s "$ML/ml-100k.user" ] && return 0
  command -v python3 >/dev/null 2>&1 || { echo "python3 not found"; return 1; }
  echo "fetching MovieLens-100k (pip download --no-deps recbole==1.2.1)"
  python3 -m pip download --quiet --no-deps recbole==1.2.1 -d "$DATA/cache" || return 1
  mkdir -p "$ML"
  python3 - "$DATA/cache" "$ML" <<'PY'
import glob, sys, zipfile
cache, out = sys.argv[1], sys.argv[2]
wheel = sorted(glob.glob(cache + "/recbole-1.2.1-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    for name in ("ml-100k.inter", "ml-100k.item", "ml-100k.user"):
        with open(f"{out}/{name}", "wb") as f:
            f.write(z.read(f"recbole/dataset_example/ml-100k/{name}"))
PY
}

if fetch_movielens; then
  # The split's rule (per user, the latest floor(0.2 n), at least one) changed once; a split
  # from before is redone so every number is measured on the same 80,367 / 19,633 files.
  if [ ! -s "$ML/train.tsv" ] || [ ! -s "$ML/test.tsv" ] || [ "$(cat "$ML/split.rule" 2>/dev/null)" != "temporal-floor-0.2" ]; then
    "$UNFOLD" split --data "$ML/ml-100k.inter" --method temporal --test-fraction 0.2 --train-out "$ML/train.tsv" --test-out "$ML/test.tsv"
    echo temporal-floor-0.2 > "$ML/split.rule"
  fi
  ln -sfn ml-100k "$DATA/current"
  echo "data: MovieLens-100k in $ML (train.tsv, test.tsv, ml-100k.item)"
else
  echo "MovieLens-100k could not be fetched; generating a synthetic data set instead"
  mkdir -p "$SYN"
  if [ ! -s "$SYN/train.tsv" ]; then
    "$UNFOLD" generate --users 2000 --items 1000 --interactions 100000 --groups 8 --seed 1 --out "$SYN/all.tsv" --groups-out "$SYN/groups.tsv"
    "$UNFOLD" split --data "$SYN/all.tsv" --method temporal --test-fraction 0.2 --train-out "$SYN/train.tsv" --test-out "$SYN/test.tsv"
  fi
  ln -sfn synthetic "$DATA/current"
  echo "data: synthetic set in $SYN"
fi
