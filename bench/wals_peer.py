"""implicit's ALS and BPR on the same split files as Unfold, scored by the same metric code.

usage: wals_peer.py quality TRAIN TEST SNAPSHOT [--factors 64 --iterations 15 --regularization 0.01 --alpha 1]
       wals_peer.py speed DATA --factors 64 --iterations 3
       wals_peer.py bpr-quality TRAIN TEST [--learning-rate 0.01 --iterations 100]
       wals_peer.py bpr-speed DATA --iterations 3
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


def load_matrix(path, binary):
    """users x items CSR (duplicates summed, or all 1 when binary) and the two id maps."""
    tu, ti, tw = read_tsv(path)
    u_idx, users = index(tu)
    i_idx, items = index(ti)
    values = np.ones(len(tu), np.float32) if binary else tw
    matrix = sp.csr_matrix((values, (u_idx, i_idx)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    if binary:
        matrix.data[:] = 1
    return matrix, users, items


def held_out(path, users, items):
    """Test items per train user index, dropping users and items train never saw."""
    eu, ei, _ = read_tsv(path)
    rows = {}
    for u, i in zip(eu, ei):
        if u in users and i in items:
            rows.setdefault(users[u], set()).add(items[i])
    return rows


def seen(matrix):
    return {u: set(matrix.indices[matrix.indptr[u]:matrix.indptr[u + 1]]) for u in range(matrix.shape[0])}


def timed_fit(model, matrix, **fit_args):
    """Fits and returns the seconds of each iteration, from implicit's callback."""
    times, last = [], [time.perf_counter()]

    def on_iteration(*_):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    model.fit(matrix, show_progress=False, callback=on_iteration, **fit_args)
    return times


def als(args):
    from implicit.cpu.als import AlternatingLeastSquares
    return AlternatingLeastSquares(factors=args.factors, regularization=args.regularization, alpha=args.alpha,
                                   iterations=args.iterations, num_threads=args.threads, random_state=42,
                                   use_cg=not args.cholesky, calculate_training_loss=False)


def bpr(args):
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    return BayesianPersonalizedRanking(factors=args.factors, learning_rate=args.learning_rate, regularization=args.regularization,
                                       iterations=args.iterations, num_threads=args.threads, random_state=42)


def quality(args, make_model, binary, key):
    train, users, items = load_matrix(args.train, binary)
    test_rows, train_rows = held_out(args.test, users, items), seen(train)
    model = make_model(args)
    seconds = sum(timed_fit(model, train))
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    result = {key: ranking_metrics(lambda u: V @ U[u], train_rows, test_rows, len(items), args.k), "implicit_seconds": seconds}
    if args.snapshot:
        # Unfold's metrics again, from the snapshot file, by this program's own fold-in.
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


def speed(args, make_model, binary, key):
    matrix, _, _ = load_matrix(args.data, binary)
    print(json.dumps({key: timed_fit(make_model(args), matrix), "nnz": int(matrix.nnz)}))


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
    if args.mode.endswith("quality"):
        args.train, args.test = args.paths[0], args.paths[1]
        args.snapshot = args.paths[2] if len(args.paths) > 2 else None
        if args.mode == "quality":
            quality(args, als, binary=False, key="implicit_als")
        else:
            quality(args, bpr, binary=True, key="implicit_bpr")
    else:
        args.data = args.paths[0]
        if args.mode == "speed":
            speed(args, als, binary=False, key="implicit_seconds_per_iteration")
        else:
            speed(args, bpr, binary=True, key="implicit_seconds_per_epoch")


if __name__ == "__main__":
    main()
