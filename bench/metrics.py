"""Ranking metrics with exactly the definitions of Sources/UnfoldTraining/Evaluation.swift."""
import math

import numpy as np


def ranking_metrics(score_fn, train_rows, test_rows, n_items, k=10):
    """score_fn(user) -> scores over all items; *_rows: dict user -> set of item indices."""
    sums = np.zeros(4)
    users = 0
    covered = np.zeros(n_items, dtype=bool)
    for u, relevant in test_rows.items():
        if not relevant:
            continue
        users += 1
        scores = np.asarray(score_fn(u), dtype=np.float64).copy()
        seen = list(train_rows.get(u, ()))
        scores[seen] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        hits, dcg, ap = 0, 0.0, 0.0
        for j, i in enumerate(top):
            covered[i] = True
            if i in relevant:
                hits += 1
                dcg += 1 / math.log2(j + 2)
                ap += hits / (j + 1)
        ideal = min(k, len(relevant))
        idcg = sum(1 / math.log2(j + 2) for j in range(ideal))
        sums += [hits / k, hits / len(relevant), dcg / idcg if idcg else 0, ap / ideal if ideal else 0]
    sums /= max(users, 1)
    return {f"precision@{k}": sums[0], f"recall@{k}": sums[1], f"ndcg@{k}": sums[2], f"map@{k}": sums[3],
            f"coverage@{k}": covered.sum() / n_items, "users": users}
