"""Model quality with the defaults, two ways, each with a 95% bootstrap interval over users.

1. Through the public API: every model kind trained by `unfold train` with its defaults (no
   hyperparameter flags), served by `unfold serve`, and scored by POSTing each test user's
   training interactions (oldest first) to /v1/recommend -- the way a caller uses it.
   Split: MovieLens-100k, per user the latest floor(20%) of interactions by time (at least
   one): 80,367 train / 19,633 test (`make data`). NDCG@10, binary relevance over the test
   items the training data knows.
2. Strong generalization (Liang et al. 2018): 20% of the users held out whole (`unfold split
   --method users`), each held-out user's interactions split at random 80/20 (`--method
   random-per-user`); the models train on the other users, fold in the 80% and are scored on
   the 20% by `unfold evaluate --protocol strong` (Recall@20, Recall@50, NDCG@100; the fold-in
   part read as a set, as POST /v1/recommend with "ordered": false, since it is drawn at random). Beside
   them, in the same run and on the same files: EASE (Steck 2019, closed form in numpy, its
   lambda chosen on validation users carved from the training users) and implicit's ALS
   (`recommend(..., recalculate_user=True)`, its regularization and alpha chosen the same way).

Usage: python bench/quality.py [--models wals,softmax,mf-sgd,item2vec] [--protocols api,strong]
`make bench-quality` builds, fetches the data and runs it.
"""
import argparse
import functools
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = ".build/release/unfold"
ML = "data/ml-100k"
TARGETS = {"wals": 0.2045, "softmax": 0.235}
STRONG = ("recall@20", "recall@50", "ndcg@100")


@functools.lru_cache(maxsize=None)
def read(path):
    """user -> [(timestamp, line, item, weight)], oldest first (each file read once)."""
    rows = {}
    with open(path) as f:
        next(f)
        for line_no, line in enumerate(f):
            user, item, weight, stamp = line.rstrip("\n").split("\t")[:4]
            rows.setdefault(user, []).append((float(stamp), line_no, item, float(weight)))
    for events in rows.values():
        events.sort()
    return rows


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/recommend", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def ndcg(ranked, relevant, k=10):
    dcg = sum(1 / math.log2(j + 2) for j, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1 / math.log2(j + 2) for j in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def bootstrap(values, resamples=1000, seed=1):
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def score(port, model, train, test, known):
    per_user = []
    for user, events in sorted(test.items()):
        history = train.get(user)
        relevant = {item for _, _, item, _ in events if item in known}
        if not history or not relevant:
            continue
        body = {"interactions": [{"item": item, "weight": weight} for _, _, item, weight in history], "k": 10, "model": model}
        answer = post(port, body)
        per_user.append(ndcg([r["id"] for r in answer["items"]], relevant))
    return per_user


def serve(snapshots, work):
    """`unfold serve` on a free port over `snapshots`, once ready: (process, port)."""
    port = free_port()
    server = subprocess.Popen([BIN, "serve", "--host", "127.0.0.1", "--port", str(port), "--snapshots", snapshots,
                               "--interaction-log", f"{work}/log", "--jobs", f"{work}/jobs", "--log-level", "warning"],
                              stderr=open(f"{work}/serve.log", "w"))
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def run_unfold(*args):
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True).stdout


def matrix(path, users, items, binary):
    """users x items (given index maps; unknown ids dropped) as a scipy CSR of summed weights."""
    import numpy as np
    import scipy.sparse as sp
    rows, cols, vals = [], [], []
    for user, events in read(path).items():
        if user not in users:
            continue
        for _, _, item, weight in events:
            if item in items:
                rows.append(users[user])
                cols.append(items[item])
                vals.append(weight)
    m = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(users), len(items)))
    m.sum_duplicates()
    if binary:
        m.data[:] = 1
    return m


def strong_metrics(score_fn, fold_in, held):
    """Liang et al.'s Recall@20, Recall@50 (hits / min(k, |held|)) and NDCG@100 per user,
    the fold-in items excluded -- the definitions of StrongGeneralization.swift."""
    import numpy as np
    out = []
    for u in range(held.shape[0]):
        seen = fold_in.indices[fold_in.indptr[u]:fold_in.indptr[u + 1]]
        relevant = set(held.indices[held.indptr[u]:held.indptr[u + 1]]) - set(seen)  # as StrongGeneralization.swift
        if not relevant or len(seen) == 0:
            continue
        scores = np.asarray(score_fn(u), dtype=np.float64).copy()
        scores[seen] = -np.inf
        top = np.argsort(-scores, kind="stable")[:100]
        hits = [int(i) in relevant for i in top]
        dcg = sum(1 / math.log2(j + 2) for j, h in enumerate(hits) if h)
        ideal = sum(1 / math.log2(j + 2) for j in range(min(100, len(relevant))))
        out.append((sum(hits[:20]) / min(20, len(relevant)), sum(hits[:50]) / min(50, len(relevant)), dcg / ideal))
    return out


def summary(per_user):
    means = [sum(v[m] for v in per_user) / len(per_user) for m in range(3)]
    intervals = [bootstrap([v[m] for v in per_user]) for m in range(3)]
    return {name: means[m] for m, name in enumerate(STRONG)} | {"intervals": {name: list(intervals[m]) for m, name in enumerate(STRONG)}, "users": len(per_user)}


def ease_scores(train, lam):
    import numpy as np
    g = (train.T @ train).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0
    return b


def strong(models, work, results):
    """Part 2: held-out users, every Unfold kind with its defaults beside EASE and implicit ALS."""
    import numpy as np
    d = f"{work}/strong"
    os.makedirs(d, exist_ok=True)
    run_unfold("split", "--data", f"{ML}/ml-100k.inter", "--method", "users", "--test-fraction", "0.2", "--seed", "1",
               "--train-out", f"{d}/train.tsv", "--test-out", f"{d}/heldout.tsv")
    run_unfold("split", "--data", f"{d}/heldout.tsv", "--method", "random-per-user", "--test-fraction", "0.2", "--seed", "1",
               "--train-out", f"{d}/heldout-foldin.tsv", "--test-out", f"{d}/heldout-score.tsv")
    # Validation users for the peers' hyperparameters, carved from the training users.
    run_unfold("split", "--data", f"{d}/train.tsv", "--method", "users", "--test-fraction", "0.15", "--seed", "2",
               "--train-out", f"{d}/fit.tsv", "--test-out", f"{d}/valid.tsv")
    run_unfold("split", "--data", f"{d}/valid.tsv", "--method", "random-per-user", "--test-fraction", "0.2", "--seed", "2",
               "--train-out", f"{d}/valid-foldin.tsv", "--test-out", f"{d}/valid-score.tsv")
    train_users = read(f"{d}/train.tsv")
    print(f"\n== strong generalization: {len(train_users)} training users, {len(read(f'{d}/heldout.tsv'))} held-out users "
          f"(fold in 80%, score 20%)", flush=True)
    out = {}
    for model in models:
        snapshots = f"{d}/snapshots-{model}"
        run_unfold("train", "--model", model, "--data", f"{d}/train.tsv", "--out", snapshots, "--progress", "none")
        snapshot = f"{snapshots}/" + sorted(os.listdir(snapshots))[-1]
        # Liang et al.'s fold-in part is a random subset: a set (no recency); WALS also as a
        # history in time order, what recency makes of it.
        for ordered in ([False, True] if model == "wals" else [False]):
            report = json.loads(run_unfold("evaluate", "--protocol", "strong", "--snapshot", snapshot, "--train", f"{d}/heldout-foldin.tsv",
                                           "--test", f"{d}/heldout-score.tsv", *(["--ordered"] if ordered else [])))
            name = f"unfold {model}" + (" (fold-in in time order)" if ordered else "")
            out[name] = {m: report["model"][m] for m in STRONG} | {"intervals": report["intervals"], "users": report["model"]["users"]}
    out["popularity"] = {name: report["popularity"][name] for name in STRONG}

    def index(path):
        items = {}
        for events in read(path).values():
            for _, _, item, _ in events:
                items.setdefault(item, len(items))
        return items

    def users_of(path):
        return {u: k for k, u in enumerate(sorted(read(path)))}

    # EASE: lambda on the validation users (fit on the rest of the training users), then refit on all.
    fit_items = index(f"{d}/fit.tsv")
    fit = matrix(f"{d}/fit.tsv", users_of(f"{d}/fit.tsv"), fit_items, binary=True)
    vu = users_of(f"{d}/valid.tsv")
    v_in, v_out = matrix(f"{d}/valid-foldin.tsv", vu, fit_items, True), matrix(f"{d}/valid-score.tsv", vu, fit_items, True)
    best = None
    for lam in (50, 100, 200, 500, 1000, 2000):
        b = ease_scores(fit, lam)
        ndcg100 = np.mean([v[2] for v in strong_metrics(lambda u: np.asarray(v_in[u] @ b).ravel(), v_in, v_out)])
        print(f"  ease lambda {lam:5}: validation ndcg@100 {ndcg100:.4f}", flush=True)
        if best is None or ndcg100 > best[1]:
            best = (lam, ndcg100)
    items = index(f"{d}/train.tsv")
    train = matrix(f"{d}/train.tsv", users_of(f"{d}/train.tsv"), items, binary=True)
    hu = users_of(f"{d}/heldout.tsv")
    h_in, h_out = matrix(f"{d}/heldout-foldin.tsv", hu, items, True), matrix(f"{d}/heldout-score.tsv", hu, items, True)
    b = ease_scores(train, best[0])
    out[f"EASE (lambda {best[0]})"] = summary(strong_metrics(lambda u: np.asarray(h_in[u] @ b).ravel(), h_in, h_out))

    # implicit's ALS: regularization and alpha on the validation users, the same way.
    from implicit.cpu.als import AlternatingLeastSquares
    fit_w = matrix(f"{d}/fit.tsv", users_of(f"{d}/fit.tsv"), fit_items, binary=False)
    v_in_w = matrix(f"{d}/valid-foldin.tsv", vu, fit_items, False)

    def als(train_matrix, reg, alpha):
        model = AlternatingLeastSquares(factors=64, regularization=reg, alpha=alpha, iterations=15, num_threads=2, random_state=1)
        model.fit(train_matrix, show_progress=False)
        return model

    def als_scores(model, rows):
        def score(u):
            ids, scores = model.recommend(0, rows[u], N=rows.shape[1], recalculate_user=True, filter_already_liked_items=False)
            full = np.full(rows.shape[1], -np.inf)
            full[ids] = scores
            return full
        return score

    best_als = None
    for reg in (1, 10, 30):
        for alpha in (1, 10):
            model = als(fit_w, reg, alpha)
            ndcg100 = np.mean([v[2] for v in strong_metrics(als_scores(model, v_in_w), v_in, v_out)])
            print(f"  implicit als reg {reg:3} alpha {alpha:3}: validation ndcg@100 {ndcg100:.4f}", flush=True)
            if best_als is None or ndcg100 > best_als[2]:
                best_als = (reg, alpha, ndcg100)
    model = als(matrix(f"{d}/train.tsv", users_of(f"{d}/train.tsv"), items, binary=False), best_als[0], best_als[1])
    h_in_w = matrix(f"{d}/heldout-foldin.tsv", hu, items, False)
    out[f"implicit ALS (reg {best_als[0]}, alpha {best_als[1]})"] = summary(strong_metrics(als_scores(model, h_in_w), h_in, h_out))

    print(f"{'system':34} {'recall@20':>16} {'recall@50':>16} {'ndcg@100':>16}", flush=True)
    for name, r in out.items():
        cells = []
        for metric in STRONG:
            low, high = r.get("intervals", {}).get(metric, [None, None])
            cells.append(f"{r[metric]:.4f}" + (f" ±{(high - low) / 2:.3f}" if low is not None else "       "))
        print(f"{name:34} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
    ease = next(v for k, v in out.items() if k.startswith("EASE"))
    for model in ("wals", "softmax"):
        if f"unfold {model}" in out:
            ratio = out[f"unfold {model}"]["ndcg@100"] / ease["ndcg@100"]
            print(f"RESULT quality strong {model} ndcg@100 unfold/EASE: {ratio:.3f} (target >= 1.0)")
    results["strong"] = out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="wals,softmax,mf-sgd,item2vec")
    parser.add_argument("--protocols", default="api,strong")
    parser.add_argument("--data", default=ML)
    parser.add_argument("--out", default=".build/bench/quality.json")
    parser.add_argument("--extra", default="", help="flags added to every `unfold train` (e.g. --threads 2)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="unfold-quality-")
    results = {}
    if "api" in args.protocols.split(","):
        api(args, work, results)
    if "strong" in args.protocols.split(","):
        strong(args.models.split(","), work, results)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(results, open(args.out, "w"), indent=1, sort_keys=True)
    subprocess.run(["rm", "-rf", work])


def api(args, work, results):
    """Part 1: the defaults through POST /v1/recommend."""
    train, test = read(f"{args.data}/train.tsv"), read(f"{args.data}/test.tsv")
    known = {item for events in train.values() for _, _, item, _ in events}
    print(f"== through the API: {sum(map(len, train.values()))} train / {sum(map(len, test.values()))} test interactions, {len(test)} test users", flush=True)
    for model in args.models.split(","):
        started = time.time()
        subprocess.run([BIN, "train", "--model", model, "--data", f"{args.data}/train.tsv", "--out", f"{work}/snapshots", "--progress", "none"]
                       + args.extra.split(), check=True, stdout=subprocess.DEVNULL)
        results[model] = {"train_seconds": time.time() - started}
    server, port = serve(f"{work}/snapshots", work)
    try:
        print(f"{'model':10} {'ndcg@10':>8}  {'95% interval':>18}  {'users':>5}  target", flush=True)
        for model in args.models.split(","):
            values = score(port, model, train, test, known)
            mean = sum(values) / len(values)
            low, high = bootstrap(values)
            results[model].update({"ndcg@10": mean, "interval": [low, high], "users": len(values)})
            target = TARGETS.get(model)
            print(f"{model:10} {mean:8.4f}  [{low:.4f}, {high:.4f}]  {len(values):5}  {'>= ' + str(target) if target else ''}", flush=True)
            if target:
                print(f"RESULT quality {model} defaults ndcg@10 through POST /v1/recommend: {mean:.4f} [{low:.4f}, {high:.4f}] (target >= {target})")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
