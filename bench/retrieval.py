"""Approximate retrieval at catalogue scale: Unfold's index beside hnswlib and faiss, same run.

1. Data: `unfold generate` (power-law popularity, planted groups) with ITEMS items; 0.5% of the
   users held out whole (`unfold split --method users`); WALS trained with its defaults on the
   rest (training builds the index from `ann_min_items` items).
2. Queries: the held-out users' histories folded in against the snapshot with the served
   equation (bench/unfold_snapshot.py: Gram term, confidences, recency), as the server encodes
   a POST /v1/recommend.
3. Same vectors, same queries, both cores: the exact scan and Unfold's index at a sweep of
   probes (`unfold index SNAPSHOT --search`), hnswlib (inner product, M=16, efConstruction=200,
   ef swept) and faiss (IndexHNSWFlat and IndexIVFFlat, inner product, efSearch / nprobe swept);
   recall@10 against brute force, queries/s, build seconds (Unfold's: `unfold index` on the
   trained snapshot, k-means and calibration included).

Usage: python bench/retrieval.py [--items 1000000] [--iterations 15]
`make bench-retrieval` runs it (hnswlib and faiss-cpu from PyPI into the bench venv).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from quality import BIN  # noqa: E402
from unfold_snapshot import read_snapshot  # noqa: E402

K = 10


def sh(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs)


def histories(path):
    """user -> [(timestamp, item, weight)] oldest first."""
    out = {}
    with open(path) as f:
        next(f)
        for line in f:
            user, item, weight, stamp = line.rstrip("\n").split("\t")[:4]
            out.setdefault(user, []).append((float(stamp), item, float(weight)))
    for events in out.values():
        events.sort()
    return out


def fold(snap, items, history):
    """The served fold-in of a history (oldest first): repeats summed at their latest touch,
    confidence (1 + alpha r)(1 + kappa 2^(-a/h)), a = the items touched after it; only the
    history's rows are read (unfold_snapshot.fold_in copies the whole table)."""
    last, total = {}, {}
    for position, (i, weight) in enumerate(history):
        last[i] = position
        total[i] = total.get(i, 0.0) + weight
    order = sorted(last, key=last.get)
    kappa, half_life = snap["recency"]
    a = snap["gram"].astype(np.float64).copy()
    b = np.zeros(a.shape[0])
    for rank, i in enumerate(reversed(order)):
        r = total[i]
        c = (1.0 + snap["alpha"] * abs(r)) * (1.0 + kappa * 2.0 ** (-rank / half_life))
        v = items[i].astype(np.float64)
        a += (c - snap["unobserved_weight"]) * np.outer(v, v)
        if r >= 0:
            b += c * v
    return np.linalg.solve(a, b)


def recall(found, exact):
    return float(np.mean([len(set(f[:K]) & set(e)) / K for f, e in zip(found, exact)]))


def exact_top(items, queries):
    tops = []
    for start in range(0, len(queries), 64):
        scores = queries[start:start + 64] @ items.T
        part = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
        tops += [list(r) for r in np.take_along_axis(part, order, axis=1)]
    return tops


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def svg(path, title, series):
    """recall@10 (x) against queries/s (y, log scale), one polyline per method."""
    width, height, left, top, pw, ph = 860, 460, 70, 40, 560, 360
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    x0, x1 = min(min(xs), 0.8), 1.0
    y0, y1 = np.floor(np.log10(min(ys))), np.ceil(np.log10(max(ys)))
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
    def px(x): return left + (x - x0) / (x1 - x0) * pw
    def py(y): return top + (1 - (np.log10(y) - y0) / (y1 - y0)) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="{left}" y="20" font-size="14">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for e in range(int(y0), int(y1) + 1):
        out.append(f'<text x="{left - 8}" y="{py(10 ** e) + 4:.1f}" text-anchor="end">1e{e}</text>')
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x:.2f}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">recall@10</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" text-anchor="middle">queries/s (both cores)</text>')
    for n, (name, pts) in enumerate(series):
        color = colors[n % len(colors)]
        pts = sorted(pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="' + " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts) + '"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
        out.append(f'<text x="{left + pw + 16}" y="{top + 16 + 18 * n}" fill="{color}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--work", default=".build/bench-data/retrieval")
    parser.add_argument("--out", default=".build/bench/retrieval.json")
    parser.add_argument("--svg", default="docs/benchmarks/retrieval-1m.svg")
    args = parser.parse_args()
    import faiss
    import hnswlib
    faiss.omp_set_num_threads(2)
    os.makedirs(args.work, exist_ok=True)
    w = lambda name: os.path.join(args.work, name)  # noqa: E731
    tag = f"{args.items}-{args.users}-{args.interactions}"
    if not os.path.exists(w(f"train-{tag}.tsv")):
        sh(BIN, "generate", "--users", args.users, "--items", args.items, "--interactions", args.interactions, "--groups", 50,
           "--seed", 7, "--out", w(f"all-{tag}.tsv"))
        sh(BIN, "split", "--data", w(f"all-{tag}.tsv"), "--method", "users", "--test-fraction", 0.005, "--seed", 7,
           "--train-out", w(f"train-{tag}.tsv"), "--test-out", w(f"held-{tag}.tsv"))
    snapshots = w(f"snapshots-{tag}-{args.iterations}")
    if not os.path.isdir(snapshots) or not os.listdir(snapshots):
        _, seconds = timed(lambda: sh(BIN, "train", "--model", "wals", "--data", w(f"train-{tag}.tsv"), "--iterations", args.iterations,
                                      "--neighbours", 0, "--ann-min-items", 1, "--out", snapshots, "--progress", "text"))
        print(f"trained WALS (defaults, {args.iterations} iterations) in {seconds:.0f} s", flush=True)
    path = os.path.join(snapshots, sorted(f for f in os.listdir(snapshots) if f.endswith(".unfold"))[-1])
    snap = read_snapshot(path)
    items = np.ascontiguousarray(snap["items"], dtype=np.float32)
    n, d = items.shape
    index_of = {item: i for i, item in enumerate(snap["ids"])}
    held = histories(w(f"held-{tag}.tsv"))
    queries = []
    for user in sorted(held)[:args.queries]:
        known = [(index_of[item], weight) for _, item, weight in held[user] if item in index_of]
        if known:
            queries.append(fold(snap, items, known))
    queries = np.ascontiguousarray(np.array(queries, dtype=np.float32))
    # Timed over at least 5,000 searches (the queries repeated), recall over the distinct ones.
    timing = np.ascontiguousarray(np.tile(queries, (max(1, -(-5000 // len(queries))), 1)))
    timing.tofile(w("queries.f32"))
    exact = exact_top(items, queries)
    print(f"== {n} items x {d}, {len(queries)} held-out users' fold-in queries, recall@{K} against brute force", flush=True)
    results = {"items": n, "dimensions": d, "queries": len(queries), "timed_searches": len(timing), "methods": {}}

    # Unfold: the index as training built it, then a build timed on its own.
    lines = sh(BIN, "index", path, "--search", w("queries.f32"), "--probes", "1,2,3,4,6,8,12,16,24,32,48,64").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    exact_qps = rows[0]["queries_per_second"]
    _, unfold_build = timed(lambda: sh(BIN, "index", path, "--out", w("reindexed")))
    sh("rm", "-rf", w("reindexed"))
    results["methods"]["exact"] = {"queries_per_second": exact_qps}
    results["methods"]["unfold"] = {"build_seconds": unfold_build, "lists": rows[1]["lists"],
                                    "sweep": [(r["probes"], r["recall"], r["queries_per_second"]) for r in rows[1:]]}

    # hnswlib, inner product.
    hnsw = hnswlib.Index(space="ip", dim=d)
    def build_hnsw():
        hnsw.init_index(max_elements=n, ef_construction=200, M=16)
        hnsw.add_items(items, num_threads=2)
    _, hnsw_build = timed(build_hnsw)
    sweep = []
    for ef in (10, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        hnsw.set_ef(ef)
        (labels, _), seconds = timed(lambda: hnsw.knn_query(timing, k=K, num_threads=2))
        sweep.append((ef, recall(labels[:len(queries)].tolist(), exact), len(timing) / seconds))
    results["methods"]["hnswlib"] = {"build_seconds": hnsw_build, "sweep": sweep}
    del hnsw

    # faiss: HNSW and IVF-flat, inner product.
    flat = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
    flat.hnsw.efConstruction = 200
    _, faiss_hnsw_build = timed(lambda: flat.add(items))
    sweep = []
    for ef in (10, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        flat.hnsw.efSearch = ef
        (_, labels), seconds = timed(lambda: flat.search(timing, K))
        sweep.append((ef, recall(labels[:len(queries)].tolist(), exact), len(timing) / seconds))
    results["methods"]["faiss-hnsw"] = {"build_seconds": faiss_hnsw_build, "sweep": sweep}
    del flat
    lists = rows[1]["lists"]
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, lists, faiss.METRIC_INNER_PRODUCT)
    def build_ivf():
        ivf.train(items[np.random.default_rng(7).choice(n, min(n, lists * 32), replace=False)])
        ivf.add(items)
    _, ivf_build = timed(build_ivf)
    sweep = []
    for nprobe in (1, 2, 4, 8, 16, 32, 64, 128):
        ivf.nprobe = nprobe
        (_, labels), seconds = timed(lambda: ivf.search(timing, K))
        sweep.append((nprobe, recall(labels[:len(queries)].tolist(), exact), len(timing) / seconds))
    results["methods"]["faiss-ivf"] = {"build_seconds": ivf_build, "sweep": sweep}

    print(f"exact scan (Unfold, one pass per query): {exact_qps:.0f} queries/s")
    print(f"{'method':12} {'build s':>8}  setting  recall@10  queries/s  x exact")
    for name in ("unfold", "hnswlib", "faiss-hnsw", "faiss-ivf"):
        m = results["methods"][name]
        for setting, r, qps in m["sweep"]:
            print(f"{name:12} {m['build_seconds']:8.1f}  {setting:7}  {r:9.4f}  {qps:9.0f}  {qps / exact_qps:7.1f}")
    def at_recall(name, target=0.95):
        ok = [qps for _, r, qps in results["methods"][name]["sweep"] if r >= target]
        return max(ok) if ok else None
    summary = {name: at_recall(name) for name in ("unfold", "hnswlib", "faiss-hnsw", "faiss-ivf")}
    results["queries_per_second_at_recall_0.95"] = summary
    print("queries/s at recall@10 >= 0.95: " + ", ".join(f"{k} {v:.0f}" if v else f"{k} -" for k, v in summary.items()))
    u, h = summary["unfold"], summary["hnswlib"]
    print(f"RESULT retrieval {n} items: unfold {u or 0:.0f} q/s at recall >= 0.95 = {(u or 0) / exact_qps:.1f}x exact (target 10x), "
          f"{(u or 0) / h if h else 0:.2f}x hnswlib (target >= 1); build {unfold_build:.0f} s vs hnswlib {hnsw_build:.0f} s")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(results, open(args.out, "w"), indent=1)
    os.makedirs(os.path.dirname(args.svg), exist_ok=True)
    svg(args.svg, f"{n:,} items x {d}: recall@10 against queries/s, same queries, both cores",
        [(name, [(r, qps) for _, r, qps in results["methods"][name]["sweep"]]) for name in ("unfold", "hnswlib", "faiss-hnsw", "faiss-ivf")])


if __name__ == "__main__":
    sys.exit(main())
