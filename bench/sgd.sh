#!/usr/bin/env bash
# mf-sgd (BPR) against implicit's BPR: MovieLens-100k quality on the same split files and
# metric code, and seconds per epoch on the ~10M synthetic set, both in the same run.
# Usage: bench/sgd.sh   (make bench-sgd fetches the data and builds first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/unfold
OUT=.build/bench/sgd
mkdir -p "$OUT" .build/bench-data
PY=$(bash bench/venv.sh)
ML=data/ml-100k
json() { "$PY" -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

echo "== MovieLens-100k: BPR, factors 64, 2 threads (Unfold: adagrad lr 0.05, uniform negatives, 30 epochs; implicit: lr 0.01, 100 iterations, its defaults)"
rm -rf "$OUT/ml"
$BIN train --model mf-sgd --loss bpr --sampler uniform --optimizer adagrad --learning-rate 0.05 --epochs 30 --regularization 0.0001 \
  --data $ML/train.tsv --test $ML/test.tsv --out "$OUT/ml" --factors 64 --threads 2 --progress none > "$OUT/ml.json"
ours=$(json 'd["evaluation"]["ndcg@10"]' < "$OUT/ml.json")
"$PY" bench/wals_peer.py bpr-quality $ML/train.tsv $ML/test.tsv --factors 64 --iterations 100 --regularization 0.01 --learning-rate 0.01 --threads 2 > "$OUT/ml-peer.json"
theirs=$(json 'd["implicit_bpr"]["ndcg@10"]' < "$OUT/ml-peer.json")
echo "unfold mf-sgd bpr ndcg@10: $ours   implicit bpr ndcg@10: $theirs"
echo "RESULT sgd ml-100k bpr ndcg@10 unfold/implicit: $("$PY" -c "print(f'{$ours / $theirs:.3f}')") (target >= 1.0)"

echo
echo "== Speed: ~10M interactions, factors 64, 2 threads, one negative per positive, plain SGD both"
DATA10M=.build/bench-data/synthetic-10m.tsv
[ -s $DATA10M ] || $BIN generate --users 200000 --items 50000 --interactions 10000000 --groups 10 --seed 7 --out $DATA10M
rm -rf "$OUT/speed"
$BIN train --model mf-sgd --loss bpr --sampler uniform --optimizer sgd --learning-rate 0.01 --epochs 3 --data $DATA10M --out "$OUT/speed" \
  --factors 64 --threads 2 --neighbours 0 --progress json > "$OUT/speed.jsonl"
"$PY" bench/wals_peer.py bpr-speed $DATA10M --factors 64 --iterations 3 --threads 2 > "$OUT/speed-peer.json"
"$PY" - "$OUT/speed.jsonl" "$OUT/speed-peer.json" <<'PY'
import json, sys, statistics
ours = [json.loads(l)["seconds"] for l in open(sys.argv[1]) if '"iteration"' in l]
theirs = json.load(open(sys.argv[2]))["implicit_seconds_per_epoch"]
mo, mt = statistics.median(ours), statistics.median(theirs)
print(f"unfold   s/epoch: {', '.join(f'{x:.2f}' for x in ours)} (median {mo:.2f}; the per-epoch stable rank is not timed)")
print(f"implicit s/epoch: {', '.join(f'{x:.2f}' for x in theirs)} (median {mt:.2f})")
print(f"RESULT sgd 10M seconds/epoch unfold/implicit: {mo / mt:.2f} (target <= 1.5)")
PY
