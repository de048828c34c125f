#!/usr/bin/env bash
# WALS against implicit's ALS, same split files, same metric code, same run.
#   1. MovieLens-100k quality (factors 64, 15 iterations, regularization 0.01, alpha 1, 2 threads;
#      Unfold with implicit's objective: constant lambda, w0 = 1, no recency), Unfold with its
#      defaults (no flags), then Unfold's objective tuned on a validation split carved from
#      train and scored once on test.
#   2. Seconds per iteration on ~10M synthetic interactions (200k users, 50k items), CG both.
# Usage: bench/wals.sh [--quick]   (make bench-wals builds and fetches the data first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/unfold
OUT=.build/bench
mkdir -p "$OUT" .build/bench-data
PY=$(bash bench/venv.sh)
ML=data/ml-100k
[ -s "$ML/train.tsv" ] || { echo "error: $ML/train.tsv missing; run 'make data'"; exit 1; }
QUICK=${1:-}
json() { "$PY" -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

echo "== MovieLens-100k, temporal split (data/ml-100k/train.tsv, test.tsv): factors 64, 15 iterations, reg 0.01, alpha 1, 2 threads"
rm -rf "$OUT/ml-default"
SAME="--regularization-mode constant --unobserved-weight 1 --recency-boost 0"
$BIN train --data $ML/train.tsv --test $ML/test.tsv --out "$OUT/ml-default" --factors 64 --iterations 15 --regularization 0.01 --alpha 1 $SAME --threads 2 --progress none > "$OUT/ml-default.json"
SNAP=$(json 'd["snapshot"]' < "$OUT/ml-default.json")
"$PY" bench/wals_peer.py quality $ML/train.tsv $ML/test.tsv "$SNAP" --factors 64 --iterations 15 --regularization 0.01 --alpha 1 --threads 2 > "$OUT/ml-peer.json"
"$PY" - "$OUT/ml-peer.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u, p, i = r["unfold_swift"], r["unfold_python"], r["implicit_als"]
print(f"{'system':34} {'ndcg@10':>8} {'prec@10':>8} {'recall@10':>9} {'map@10':>8} {'cover@10':>8}")
for name, m in [("unfold wals (cholesky, c=1+a*r)", u), ("implicit als (cg, c=a*r)", i)]:
    print(f"{name:34} {m['ndcg@10']:8.4f} {m['precision@10']:8.4f} {m['recall@10']:9.4f} {m['map@10']:8.4f} {m['coverage@10']:8.4f}")
gap = max(abs(u[k] - p[k]) for k in ("ndcg@10", "precision@10", "recall@10", "map@10"))
print(f"unfold metrics recomputed in Python from the snapshot file: max difference {gap:.2e}")
print(f"RESULT wals ml-100k ndcg@10 unfold/implicit: {u['ndcg@10'] / i['ndcg@10']:.3f} (target >= 1.0)")
print(f"RESULT wals ml-100k precision@10 unfold/implicit: {u['precision@10'] / i['precision@10']:.3f} (target >= 1.0)")
PY
rm -rf "$OUT/ml-defaults"
defaults=$($BIN train --data $ML/train.tsv --test $ML/test.tsv --out "$OUT/ml-defaults" --model wals --threads 2 --progress none | json 'd["evaluation"]["ndcg@10"]')
echo "RESULT wals ml-100k defaults (no flags) test ndcg@10: $defaults"

echo
echo "== Tuning Unfold's objective (constant lambda, no recency) on a validation split of train (temporal 20% of train), then one score on test"
$BIN split --data $ML/train.tsv --method temporal --test-fraction 0.2 --train-out "$OUT/ml-tune-train.tsv" --test-out "$OUT/ml-tune-val.tsv" 2>/dev/null
best=""; best_ndcg=0
W0S="0.1 0.3 1"; ALPHAS="1 3 10"; LAMBDAS="0.1 1 10 30 100"
[ "$QUICK" = "--quick" ] && { W0S="0.3 1"; ALPHAS="1 3"; LAMBDAS="1"; }
for w0 in $W0S; do for a in $ALPHAS; do for l in $LAMBDAS; do
  rm -rf "$OUT/tune"
  ndcg=$($BIN train --data "$OUT/ml-tune-train.tsv" --test "$OUT/ml-tune-val.tsv" --out "$OUT/tune" --factors 64 --iterations 15 \
      --regularization $l --regularization-mode constant --recency-boost 0 --alpha $a --unobserved-weight $w0 --threads 2 --neighbours 0 --progress none | json 'd["evaluation"]["ndcg@10"]')
  printf '  w0=%-4s alpha=%-3s lambda=%-4s validation ndcg@10=%.4f\n' $w0 $a $l $ndcg
  if "$PY" -c "import sys; sys.exit(0 if $ndcg > $best_ndcg else 1)"; then best_ndcg=$ndcg; best="$w0 $a $l"; fi
done; done; done
read -r w0 a l <<<"$best"
rm -rf "$OUT/ml-tuned"
tuned=$($BIN train --data $ML/train.tsv --test $ML/test.tsv --out "$OUT/ml-tuned" --factors 64 --iterations 15 --regularization $l --alpha $a \
    --regularization-mode constant --recency-boost 0 --unobserved-weight $w0 --threads 2 --progress none | json 'd["evaluation"]["ndcg@10"]')
echo "best on validation: w0=$w0 alpha=$a lambda=$l; on test: ndcg@10=$tuned"
echo "RESULT wals ml-100k tuned (w0=$w0 alpha=$a lambda=$l) test ndcg@10: $tuned"

echo
echo "== Speed: ~10M interactions (200k users x 50k items), factors 64, CG 3 steps, 2 threads"
DATA10M=.build/bench-data/synthetic-10m.tsv
[ -s $DATA10M ] || $BIN generate --users 200000 --items 50000 --interactions 10000000 --groups 10 --seed 7 --out $DATA10M
ITER=3
[ "$QUICK" = "--quick" ] && ITER=2
rm -rf "$OUT/speed"
$BIN train --data $DATA10M --out "$OUT/speed" --factors 64 --iterations $ITER --solver cg --cg-steps 3 --threads 2 --neighbours 0 --progress json > "$OUT/speed-unfold.jsonl"
"$PY" bench/wals_peer.py speed $DATA10M --factors 64 --iterations $ITER --threads 2 > "$OUT/speed-implicit.json"
"$PY" - "$OUT/speed-unfold.jsonl" "$OUT/speed-implicit.json" <<'PY'
import json, sys, statistics
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ours = [l["seconds"] for l in lines if "iteration" in l]
theirs = json.load(open(sys.argv[2]))["implicit_seconds_per_iteration"]
mo, mt = statistics.median(ours), statistics.median(theirs)
print(f"unfold   s/iteration: {', '.join(f'{x:.2f}' for x in ours)}  (median {mo:.2f})")
print(f"implicit s/iteration: {', '.join(f'{x:.2f}' for x in theirs)}  (median {mt:.2f})")
print(f"RESULT wals 10M seconds/iteration unfold/implicit: {mo / mt:.2f} (target <= 1.0)")
PY
