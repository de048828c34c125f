"""The experiments of docs/experiments.md: planted-group folding, every model on MovieLens-100k
beside implicit's ALS and BPR, and the stable-rank warm start. Fixed seeds throughout.

Usage: python bench/experiments.py [--quick] [--only planted,movielens,warmstart]
Writes .build/experiments/results.json, docs/experiments/results.md and the SVG plots in
docs/experiments/. `make experiments` builds, fetches the data and runs it.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from unfold_snapshot import read_snapshot  # noqa: E402
import svgplot  # noqa: E402

BIN = ".build/release/unfold"
OUT = ".build/experiments"
DOCS = "docs/experiments"
ML = "data/ml-100k"


def run(args):
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return done.stdout


def train(name, data, test, extra, groups=None, out=None):
    """Trains one model with `unfold train`; returns its metadata (read back from the file)."""
    out = out or f"{OUT}/snapshots/{name}"
    subprocess.run(["rm", "-rf", out], check=True)
    args = [BIN, "train", "--data", data, "--test", test, "--out", out, "--threads", "2", "--progress", "json", "--neighbours", "0", "--name", name.replace("/", "-")]
    if groups:
        args += ["--groups", groups]
    started = time.time()
    lines = run(args + extra).strip().splitlines()
    done = json.loads(lines[-1])
    meta = read_snapshot(done["snapshot"])["metadata"]
    meta["wall_seconds"] = time.time() - started
    meta["args"] = extra
    print(f"  {name:34} ndcg@10 {meta['evaluation'].get('ndcg@10', 0):.4f}  train {meta['training_seconds']:.1f}s", flush=True)
    return meta


def planted(quick):
    """1. Planted groups: who folds."""
    data = f"{OUT}/planted"
    os.makedirs(data, exist_ok=True)
    run([BIN, "generate", "--users", "2000", "--items", "1000", "--interactions", "60000", "--groups", "8", "--seed", "3",
         "--out", f"{data}/all.tsv", "--groups-out", f"{data}/groups.tsv"])
    run([BIN, "split", "--data", f"{data}/all.tsv", "--method", "temporal", "--test-fraction", "0.2",
         "--train-out", f"{data}/train.tsv", "--test-out", f"{data}/test.tsv"])
    epochs = "8" if quick else "20"
    rows = []
    # d = 32 has room for the 8 groups to sit apart; d = 4 makes them share directions, the
    # regime where nothing but negatives keeps them from landing on each other.
    for factors in ["32", "4"]:
        base = ["--factors", factors, "--seed", "42"]
        sgd = base + ["--model", "mf-sgd", "--epochs", epochs]
        models = [
            ("wals w0=0", base + ["--model", "wals", "--unobserved-weight", "0", "--regularization", "0.1", "--regularization-mode", "constant", "--alpha", "1", "--recency-boost", "0"]),
            ("wals w0=1", base + ["--model", "wals", "--unobserved-weight", "1", "--regularization", "0.1", "--regularization-mode", "constant", "--alpha", "1", "--recency-boost", "0"]),
            ("mf-sgd positives only", sgd + ["--loss", "bce", "--sampler", "none"]),
            ("mf-sgd positives only + gravity 0.5", sgd + ["--loss", "bce", "--sampler", "none", "--gravity", "0.5"]),
            ("mf-sgd bpr uniform", sgd + ["--loss", "bpr", "--sampler", "uniform"]),
            ("mf-sgd bpr hard", sgd + ["--loss", "bpr", "--sampler", "hard"]),
            ("mf-sgd softmax in-batch", sgd + ["--loss", "softmax", "--sampler", "in-batch", "--negatives", "16", "--batch-size", "256"]),
            ("softmax dnn 1 negative", base + ["--model", "softmax", "--negatives", "1", "--epochs", epochs]),
            ("softmax dnn 100 negatives", base + ["--model", "softmax", "--negatives", "100", "--epochs", epochs]),
        ]
        print(f"== 1. planted groups, d = {factors} (2000 users, 1000 items, 60k interactions, 8 groups, 95% in-group)", flush=True)
        for name, extra in models:
            meta = train(f"planted/d{factors}_" + name.replace(" ", "_"), f"{data}/train.tsv", f"{data}/test.tsv", extra, groups=f"{data}/groups.tsv")
            rows.append({**meta, "name": name, "factors": int(factors)})
    return rows


def movielens(quick, python):
    """2. MovieLens-100k: every model beside implicit's ALS and BPR on the same split files."""
    print("== 2. MovieLens-100k (temporal split, data/ml-100k/train.tsv and test.tsv)", flush=True)
    tr, te = f"{ML}/train.tsv", f"{ML}/test.tsv"
    epochs = "10" if quick else "30"
    sgd = ["--model", "mf-sgd", "--factors", "64", "--epochs", epochs, "--regularization", "0.0001"]
    dnn = ["--model", "softmax", "--factors", "64", "--epochs", "10" if quick else "20", "--regularization", "0"]
    features = ["--user-features", f"{ML}/ml-100k.user", "--features", "age:numeric,gender,occupation"]
    models = [
        ("wals (defaults)", ["--model", "wals"]),
        ("wals (implicit's objective)", ["--model", "wals", "--factors", "64", "--iterations", "15", "--regularization", "0.01", "--alpha", "1", "--regularization-mode", "constant",
                                         "--unobserved-weight", "1", "--recency-boost", "0"]),
        ("wals (tuned on validation)", ["--model", "wals", "--factors", "64", "--iterations", "15", "--regularization", "10", "--alpha", "1", "--unobserved-weight", "1",
                                        "--regularization-mode", "constant", "--recency-boost", "0"]),
        ("mf-sgd bpr uniform", sgd + ["--loss", "bpr", "--sampler", "uniform"]),
        ("mf-sgd bpr popularity", sgd + ["--loss", "bpr", "--sampler", "popularity"]),
        ("mf-sgd bpr hard", sgd + ["--loss", "bpr", "--sampler", "hard"]),
        ("mf-sgd bce uniform x4", sgd + ["--loss", "bce", "--sampler", "uniform", "--negatives", "4"]),
        ("mf-sgd softmax uniform x16", sgd + ["--loss", "softmax", "--sampler", "uniform", "--negatives", "16"]),
        ("mf-sgd softmax in-batch x16", sgd + ["--loss", "softmax", "--sampler", "in-batch", "--negatives", "16", "--batch-size", "256"]),
        ("mf-sgd positives only", sgd + ["--loss", "bce", "--sampler", "none"]),
        ("item2vec", ["--model", "item2vec", "--factors", "64", "--epochs", "10", "--negatives", "5", "--window", "5"]),
        ("softmax dnn", dnn),
        ("softmax dnn + user features", dnn + features),
    ]
    def slug(name):
        return "".join(c if c.isalnum() else "_" for c in name).strip("_")
    rows = [{**train("ml/" + slug(name), tr, te, extra), "name": name}
            for name, extra in models]
    peers = []
    for mode, key, label, flags in [("quality", "implicit_als", "implicit ALS", ["--factors", "64", "--iterations", "15", "--regularization", "0.01", "--alpha", "1"]),
                                    ("bpr-quality", "implicit_bpr", "implicit BPR", ["--factors", "64", "--iterations", "100", "--regularization", "0.01", "--learning-rate", "0.01"])]:
        result = json.loads(run([python, "bench/wals_peer.py", mode, tr, te, "--threads", "2"] + flags).strip().splitlines()[-1])
        peers.append(dict(name=label, evaluation=result[key], training_seconds=result["implicit_seconds"]))
        print(f"  {label:34} ndcg@10 {result[key]['ndcg@10']:.4f}  train {result['implicit_seconds']:.1f}s", flush=True)
    return rows, peers


def warmstart(quick):
    """3. Stable-rank warm start: epochs and seconds to a fixed NDCG@10, with and without."""
    print("== 3. stable-rank warm start on MovieLens-100k (mini-batches of 256, NDCG@10 after every epoch)", flush=True)
    tr, te = f"{ML}/train.tsv", f"{ML}/test.tsv"
    epochs = "8" if quick else "20"
    settings = [("bpr", "1"), ("softmax", "1"), ("softmax", "4")]
    runs = []
    # Hogwild training on two threads is not bit-reproducible: three seeds per setting.
    for loss, negatives in settings:
        for weight in ["0", "10"]:
            for seed in ["1", "2", "3"]:
                extra = ["--model", "mf-sgd", "--factors", "64", "--epochs", epochs, "--loss", loss, "--sampler", "uniform", "--negatives", negatives,
                         "--batch-size", "256", "--eval-every-epoch", "--srank-weight", weight, "--srank-epochs", "5" if weight != "0" else "0",
                         "--seed", seed, "--fold-in-scale", "1000"]
                name = f"{loss} x{negatives} " + ("warm start (gamma 10, 5 epochs)" if weight != "0" else "no warm start")
                runs.append({**train(f"warm/{loss}_x{negatives}_{'warm' if weight != '0' else 'plain'}_seed{seed}", tr, te, extra),
                             "name": name, "loss": loss, "negatives": int(negatives), "warm": weight != "0", "seed": int(seed)})
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="planted,movielens,warmstart")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with implicit installed")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(DOCS, exist_ok=True)
    path = f"{OUT}/results.json"
    results = json.load(open(path)) if os.path.exists(path) else {}
    parts = args.only.split(",")
    if "planted" in parts:
        results["planted"] = planted(args.quick)
    if "movielens" in parts:
        results["movielens"], results["peers"] = movielens(args.quick, args.python)
    if "warmstart" in parts:
        results["warmstart"] = warmstart(args.quick)
    results["quick"] = args.quick
    json.dump(results, open(path, "w"), indent=1, sort_keys=True)
    report(results)


def report(results):
    """docs/experiments/results.md and the plots."""
    lines = ["<!-- generated by bench/experiments.py; do not edit -->", ""]
    if "planted" in results:
        lines += ["### 1. Planted groups", "",
                  "| d | model | NDCG@10 | folding@10 (served) | folding excess | folding@10 (trained users) | stable rank items | stable rank users |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in results["planted"]:
            e, s = r["evaluation"], r["stable_rank"]
            trained = e.get("trained_users_folding@10")
            lines.append(f"| {r['factors']} | {r['name']} | {e['ndcg@10']:.4f} | {100 * e['folding@10']:.2f}% | {e['folding_excess']:.4f} | "
                         + (f"{100 * trained:.2f}%" if trained is not None else "–")
                         + f" | {s.get('items', 0):.2f} | " + (f"{s['users']:.2f}" if "users" in s else "–") + " |")
        lines.append("")
        svgplot.spectra(f"{DOCS}/planted-spectra.svg", "Planted groups, d = 32: singular values of the item table (normalized to the largest)",
                        [(r["name"], r["item_spectrum"]) for r in results["planted"] if r["factors"] == 32])
        lines += ["![spectra](planted-spectra.svg)", ""]
    if "movielens" in results:
        lines += ["### 2. MovieLens-100k", "",
                  "| model | NDCG@10 | recall@10 | coverage@10 | train seconds | NDCG@10, trained user vectors | fold-in scale |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in results["movielens"] + results["peers"]:
            e = r["evaluation"]
            trained = e.get("trained_users_ndcg@10")
            scale = r.get("hyperparameters", {}).get("fold_in_scale")
            lines.append(f"| {r['name']} | {e['ndcg@10']:.4f} | {e['recall@10']:.4f} | {e['coverage@10']:.4f} | {r['training_seconds']:.2f} | "
                         + (f"{trained:.4f}" if trained is not None else "–") + " | " + (f"{scale:g}" if scale is not None else "–") + " |")
        lines.append("")
        curves = [(r["name"], r["loss_history"]) for r in results["movielens"] if r["kind"] in ("mf-sgd", "softmax") and len(r["loss_history"]) > 1]
        svgplot.curves(f"{DOCS}/movielens-loss.svg", "MovieLens-100k: training loss per epoch (each divided by its first epoch's)",
                       [(n, [x / h[0] for x in h]) for n, h in curves], "epoch", "loss / loss at epoch 1")
        svgplot.spectra(f"{DOCS}/movielens-spectra.svg", "MovieLens-100k: singular values of the item table (normalized to the largest)",
                        [(r["name"], r["item_spectrum"]) for r in results["movielens"]])
        lines += ["![loss](movielens-loss.svg)", "", "![spectra](movielens-spectra.svg)", ""]
    if "warmstart" in results:
        lines += ["### 3. Stable-rank warm start", ""]
        runs = results["warmstart"]
        lines += ["Three seeds per row (mean, and the per-seed values). The target is 95% of the best NDCG@10 (trained user vectors) "
                  "that the runs without warm start reach, averaged over their seeds.", "",
                  "| setting | warm start | best NDCG@10 (mean) | target | epochs to target (per seed) | seconds to target (mean) | stable rank items, epoch 1 / last (mean) |",
                  "| --- | --- | ---: | ---: | --- | ---: | ---: |"]

        def mean(xs):
            xs = [x for x in xs if x is not None]
            return sum(xs) / len(xs) if xs else None

        for loss, negatives in sorted({(r["loss"], r["negatives"]) for r in runs}):
            group = [r for r in runs if r["loss"] == loss and r["negatives"] == negatives]
            target = 0.95 * mean([max(e["trained_users_ndcg"] for e in r["epochs"]) for r in group if not r["warm"]])
            for warm in (False, True):
                reached, seconds = [], []
                for r in [r for r in group if r["warm"] == warm]:
                    hit, elapsed = None, 0.0
                    for e in r["epochs"]:
                        elapsed += e["seconds"]
                        if e["trained_users_ndcg"] >= target:
                            hit = (e["epoch"], elapsed)
                            break
                    reached.append(hit[0] if hit else None)
                    seconds.append(hit[1] if hit else None)
                rs = [r for r in group if r["warm"] == warm]
                best = mean([max(e["trained_users_ndcg"] for e in r["epochs"]) for r in rs])
                s1 = mean([r["epochs"][0]["stable_rank_items"] for r in rs])
                s2 = mean([r["epochs"][-1]["stable_rank_items"] for r in rs])
                sec = mean(seconds)
                lines.append(f"| {loss} × {negatives} | {'yes' if warm else 'no'} | {best:.4f} | {target:.4f} | "
                             + ", ".join(str(x) if x else "–" for x in reached) + " | " + (f"{sec:.2f}" if sec else "–")
                             + f" | {s1:.2f} / {s2:.2f} |")
        lines.append("")
        runs = [r for r in runs if r.get("seed", 1) == 1]
        svgplot.curves(f"{DOCS}/warmstart-ndcg.svg", "Stable-rank warm start: held-out NDCG@10 (trained user vectors) per epoch",
                       [(r["name"], [e["trained_users_ndcg"] for e in r["epochs"]]) for r in runs], "epoch", "NDCG@10")
        svgplot.curves(f"{DOCS}/warmstart-srank.svg", "Stable-rank warm start: stable rank of the item table per epoch",
                       [(r["name"], [e["stable_rank_items"] for e in r["epochs"]]) for r in runs], "epoch", "stable rank")
        lines += ["![ndcg](warmstart-ndcg.svg)", "", "![stable rank](warmstart-srank.svg)", ""]
    lines.append(f"Run: `make experiments`{' (quick mode)' if results.get('quick') else ''}; raw numbers in `.build/experiments/results.json`.")
    open(f"{DOCS}/results.md", "w").write("\n".join(lines) + "\n")
    print(f"wrote {DOCS}/results.md")


if __name__ == "__main__":
    main()
