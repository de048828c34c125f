"""implicit's ALS and BPR on the same split files as Unfold, scored by the same metric code.

usage: wals_peer.py quality TRAIN TEST SNAPSHOT [--factors 64 --iterations 15 --regularization 0.01 --alpha 1]
       wals_peer.py speed DATA --factors 64 --iterations 3
Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(__file__))
from metrics import ranking_metrics  # noqa: E402
from unfold_snapshot import fold_in, read_snapshot  # noqa: E402


def read_tsv(path):
    """user item weight [timestamp] with a header line."""
    with open(path, "rb") as f:
        header = f.readline()
        tokens = f.read().split()
    width = len(header.split())
    users = [t.decode() for t in tokens[0::width]]
    items = [t.decode() for t in tokens[1::width]]
    weights = np.array(tokens[2::width], dtype=np.float32) if width > 2 else np.ones(len(users), np.float32)
    return users, items, weights


def index(values, mapping=None):
    mapping = {} if mapping is None else mapping
    out = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        out[k] = mapping.setdefault(v, len(mapping))
    return out, mapping


def als(args):
    from implicit.cpu.als import AlternatingLeastSquares
    return AlternatingLeastSquares(factors=args.factors, regularization=args.regularization, alpha=args.alpha,
                                   iterations=args.iterations, num_threads=args.threads, random_state=42,
                                   use_cg=not args.cholesky, calculate_training_loss=False)


def quality(args):
    tu, ti, tw = read_tsv(args.train)
    u_idx, users = index(tu)
    i_idx, items = index(ti)
    train = sp.csr_matrix((tw, (u_idx, i_idx)), shape=(len(users), len(items)))
    train.sum_duplicates()
    eu, ei, _ = read_tsv(args.test)
    test_rows = {}
    for u, i in zip(eu, ei):
        if u in users and i in items:
            test_rows.setdefault(users[u], set()).add(items[i])
    train_rows = {u: set(train.indices[train.indptr[u]:train.indptr[u + 1]]) for u in range(train.shape[0])}

    model = als(args)
    start = time.perf_counter()
    model.fit(train, show_progress=False)
    seconds = time.perf_counter() - start
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    implicit_metrics = ranking_metrics(lambda u: V @ U[u], train_rows, test_rows, len(items), args.k)

    result = {"implicit_als": implicit_metrics, "implicit_seconds": seconds}
    if args.snapshot:
        snap = read_snapshot(args.snapshot)
        position = {item: j for j, item in enumerate(snap["ids"])}
        to_snap = np.array([position[i] for i in sorted(items, key=items.get)])
        V2 = snap["items"].astype(np.float64)

        def unfold_scores(u):
            row = slice(train.indptr[u], train.indptr[u + 1])
            q = fold_in(snap, to_snap[train.indices[row]], train.data[row])
            return (V2 @ q)[to_snap]

        result["unfold_python"] = ranking_metrics(unfold_scores, train_rows, test_rows, len(items), args.k)
        result["unfold_swift"] = snap["metadata"]["evaluation"]
    print(json.dumps(result, sort_keys=True))


def speed(args):
    tu, ti, tw = read_tsv(args.data)
    u_idx, users = index(tu)
    i_idx, items = index(ti)
    matrix = sp.csr_matrix((tw, (u_idx, i_idx)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    model = als(args)
    times = []
    last = [time.perf_counter()]

    def on_iteration(*_):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    model.fit_callback = on_iteration
    model.fit(matrix, show_progress=False)
    print(json.dumps({"implicit_seconds_per_iteration": times, "nnz": int(matrix.nnz)}))


def bpr_model(args):
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    return BayesianPersonalizedRanking(factors=args.factors, learning_rate=args.learning_rate, regularization=args.regularization,
                                       iterations=args.iterations, num_threads=args.threads, random_state=42)


def bpr_quality(args):
    tu, ti, tw = read_tsv(args.train)
    u_idx, users = index(tu)
    i_idx, items = index(ti)
    train = sp.csr_matrix((np.ones(len(tu), np.float32), (u_idx, i_idx)), shape=(len(users), len(items)))
    train.sum_duplicates()
    train.data[:] = 1
    eu, ei, _ = read_tsv(args.test)
    test_rows = {}
    for u, i in zip(eu, ei):
        if u in users and i in items:
            test_rows.setdefault(users[u], set()).add(items[i])
    train_rows = {u: set(train.indices[train.indptr[u]:train.indptr[u + 1]]) for u in range(train.shape[0])}
    model = bpr_model(args)
    start = time.perf_counter()
    model.fit(train, show_progress=False)
    seconds = time.perf_counter() - start
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    print(json.dumps({"implicit_bpr": ranking_metrics(lambda u: V @ U[u], train_rows, test_rows, len(items), args.k), "implicit_seconds": seconds}, sort_keys=True))


def bpr_speed(args):
    tu, ti, _ = read_tsv(args.data)
    u_idx, users = index(tu)
    i_idx, items = index(ti)
    matrix = sp.csr_matrix((np.ones(len(tu), np.float32), (u_idx, i_idx)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    model = bpr_model(args)
    times = []
    last = [time.perf_counter()]

    def on_iteration(*_):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    model.fit(matrix, show_progress=False, callback=on_iteration)
    print(json.dumps({"implicit_seconds_per_epoch": times}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["quality", "speed", "bpr-quality", "bpr-speed"])
    p.add_argument("paths", nargs="+")
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--regularization", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--cholesky", action="store_true")
    p.add_argument("--learning-rate", type=float, default=0.01)
    args = p.parse_args()
    if args.mode in ("quality", "bpr-quality"):
        args.train, args.test = args.paths[0], args.paths[1]
        args.snapshot = args.paths[2] if len(args.paths) > 2 else None
        (quality if args.mode == "quality" else bpr_quality)(args)
    else:
        args.data = args.paths[0]
        (speed if args.mode == "speed" else bpr_speed)(args)


if __name__ == "__main__":
    main()
