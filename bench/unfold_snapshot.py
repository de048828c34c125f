"""Read an Unfold snapshot file from its documented byte layout (docs/snapshot-format.md).

Standalone: numpy only. Used by the benchmarks to recompute Unfold's metrics with the
same Python code that scores the peers, which also proves the format is readable by
another program.
"""
import json
import struct
import zlib

import numpy as np

SECTIONS = {1: "item-ids", 2: "item-table", 3: "item-norms", 4: "fold-in", 5: "popularity",
            6: "neighbours", 7: "metadata", 8: "item-attributes", 9: "tower", 10: "fold-in-recency",
            11: "fold-in-objective"}


def read_snapshot(path):
    data = open(path, "rb").read()
    if data[:8] != b"UNFOLDSN":
        raise ValueError("bad magic")
    version, kind, d, n, count, _flags = struct.unpack_from("<6I", data, 8)
    created, model_version = struct.unpack_from("<2Q", data, 32)
    if zlib.crc32(data[:60]) != struct.unpack_from("<I", data, 60)[0]:
        raise ValueError("header CRC mismatch")
    sections = {}
    for index in range(count):
        kind_id, _r, offset, length, crc, _r2 = struct.unpack_from("<IIQQII", data, 64 + 32 * index)
        payload = data[offset:offset + length]
        if zlib.crc32(payload) != crc:
            raise ValueError(f"CRC mismatch in section {SECTIONS.get(kind_id, kind_id)}")
        sections[SECTIONS.get(kind_id, kind_id)] = payload
    ids_raw = sections["item-ids"]
    (n_ids,) = struct.unpack_from("<I", ids_raw, 0)
    offsets = np.frombuffer(ids_raw, dtype="<u4", count=n_ids + 1, offset=4)
    blob = ids_raw[4 + 4 * (n_ids + 1):]
    ids = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_ids)]
    table = np.frombuffer(sections["item-table"], dtype="<f4").reshape(n, d)
    # mf models carry the fold-in system; item2vec and softmax snapshots have none.
    alpha = w0 = lam = gram = None
    if "fold-in" in sections:
        fold = sections["fold-in"]
        alpha, w0, lam = struct.unpack_from("<3f", fold, 0)
        # The Gram term, then (optionally) the users' Gram for item fold-in.
        gram = np.frombuffer(fold, dtype="<f4", offset=16, count=d * d).reshape(d, d)
    # Optional: the recency weighting of a query's confidences (kappa, half-life h).
    recency = struct.unpack_from("<2f", sections["fold-in-recency"], 0) if "fold-in-recency" in sections else (0.0, 1.0)
    # Optional: 1 = ALS-WR (Spark's objective: the Gram term without lambda, lambda times the
    # query's positive items added per query); absent = WALS.
    objective = struct.unpack_from("<I", sections["fold-in-objective"], 0)[0] if "fold-in-objective" in sections else 0
    return {
        "kind": kind, "version": model_version, "dimensions": d, "ids": ids, "items": table,
        "alpha": alpha, "unobserved_weight": w0, "regularization": lam, "gram": gram, "recency": recency, "objective": objective,
        "popularity": np.frombuffer(sections["popularity"], dtype="<f4"),
        "metadata": json.loads(sections["metadata"]),
    }


def fold_in(snapshot, item_indices, weights, ranks=None):
    """(w0 VᵀV + λI + Σ (c − w0) v vᵀ) q = Σ c v with c = (1 + α r)(1 + κ 2^(−a/h)), in float64;
    a (`ranks`) counts the items seen after each one (0: the newest; default: the order given).
    Under ALS-WR (objective 1) λ·n is added per query (n = weights > 0) and only r > 0 is a target."""
    V = snapshot["items"].astype(np.float64)
    A = snapshot["gram"].astype(np.float64).copy()
    b = np.zeros(V.shape[1])
    als_wr = snapshot["objective"] == 1
    if als_wr:
        A += snapshot["regularization"] * sum(1 for r in weights if r > 0) * np.eye(V.shape[1])
    kappa, half_life = snapshot["recency"]
    if ranks is None:
        ranks = range(len(item_indices) - 1, -1, -1)
    for i, r, a in zip(item_indices, weights, ranks):
        c = (1.0 + snapshot["alpha"] * abs(r)) * (1.0 + kappa * 2.0 ** (-a / half_life))
        v = V[i]
        A += (c - snapshot["unobserved_weight"]) * np.outer(v, v)
        if r > 0 or (r == 0 and not als_wr):
            b += c * v
    return np.linalg.solve(A, b)
