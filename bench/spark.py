"""Spark's implicit ALS beside Unfold's WALS under the same objective, through the public API.

Both train on the MovieLens-100k split (`make data`) with the same hyperparameters and the same
objective, ALS-WR (Spark ML's: unobserved weight 1, lambda times each row's positive count,
confidence 1 + alpha*|r|):

- Spark: `unfold train --engine spark` runs spark-submit (local[2]) of spark/unfold_als.py and
  imports the exchange directory;
- Unfold: `unfold train --model wals --regularization-mode als-wr --unobserved-weight 1
  --recency-boost 0` with the same factors, iterations, lambda, alpha and seed.

One server serves both; each test user's training interactions are POSTed to /v1/recommend
and NDCG@10 is taken over the test items the training data knows, with a 95% bootstrap
interval, and the paired difference Spark - Unfold with its interval. Target: Spark within 2%
of Unfold. Also the training wall time of each, in the same run.

Usage: python bench/spark.py [--factors 64 --iterations 15 --regularization 0.1 --alpha 1]
`make bench-spark` sets up pyspark and Java (spark/venv.sh) and runs it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from quality import BIN, ML, bootstrap, read, score, serve  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=ML)
    parser.add_argument("--spark-submit", default=".build/spark-venv/bin/unfold-spark-submit")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--regularization", type=float, default=0.1)
    parser.add_argument("--alpha", type=float, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=".build/bench/spark.json")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="unfold-spark-bench-")
    snapshots = f"{work}/snapshots"
    shared = ["--data", f"{args.data}/train.tsv", "--out", snapshots, "--progress", "none", "--factors", str(args.factors),
              "--iterations", str(args.iterations), "--regularization", str(args.regularization), "--alpha", str(args.alpha),
              "--seed", str(args.seed), "--neighbours", "0"]
    print(f"== Spark implicit ALS vs Unfold WALS, objective ALS-WR: factors {args.factors}, {args.iterations} iterations, "
          f"lambda {args.regularization} per positive, alpha {args.alpha}", flush=True)
    results = {"hyperparameters": vars(args)}
    started = time.time()
    subprocess.run([BIN, "train", "--engine", "spark", "--name", "spark", "--spark-submit", args.spark_submit, "--spark-master", "local[2]",
                    "--spark-job", "spark/unfold_als.py", "--spark-args=--driver-memory 2g --conf spark.ui.enabled=false"] + shared,
                   check=True, stdout=subprocess.DEVNULL, stderr=open(f"{work}/spark.log", "w"))
    results["spark_train_seconds"] = time.time() - started
    started = time.time()
    subprocess.run([BIN, "train", "--model", "wals", "--name", "unfold", "--regularization-mode", "als-wr", "--unobserved-weight", "1",
                    "--recency-boost", "0"] + shared, check=True, stdout=subprocess.DEVNULL)
    results["unfold_train_seconds"] = time.time() - started

    train, test = read(f"{args.data}/train.tsv"), read(f"{args.data}/test.tsv")
    known = {item for events in train.values() for _, _, item, _ in events}
    server, port = serve(snapshots, work)
    try:
        per_model = {model: score(port, model, train, test, known) for model in ("spark", "unfold")}
    finally:
        server.terminate()
        server.wait()
    print(f"{'trainer':8} {'ndcg@10':>8}  {'95% interval':>18}  {'users':>5}  {'train s':>7}")
    for model, values in per_model.items():
        mean = sum(values) / len(values)
        low, high = bootstrap(values)
        results[model] = {"ndcg@10": mean, "interval": [low, high], "users": len(values)}
        print(f"{model:8} {mean:8.4f}  [{low:.4f}, {high:.4f}]  {len(values):5}  {results[model + '_train_seconds']:7.1f}")
    spark, unfold = per_model["spark"], per_model["unfold"]
    differences = [a - b for a, b in zip(spark, unfold)]
    low, high = bootstrap(differences)
    ratio = sum(spark) / sum(unfold)
    results["paired_difference"] = {"mean": sum(differences) / len(differences), "interval": [low, high], "ratio": ratio}
    print(f"paired difference spark - unfold: {sum(differences) / len(differences):+.4f} [{low:+.4f}, {high:+.4f}]; ratio {ratio:.4f}")
    print(f"RESULT spark-vs-unfold ndcg@10 ratio {ratio:.4f} (target within 2%: 0.98-1.02); "
          f"training {results['spark_train_seconds']:.1f} s on Spark local[2] vs {results['unfold_train_seconds']:.1f} s in Unfold")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(results, open(args.out, "w"), indent=1, sort_keys=True)
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
