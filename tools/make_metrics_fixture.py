#!/usr/bin/env python3
"""Writes tests/data/metrics_sklearn.txt: clustering metrics that scikit-learn (and
SciPy's linear_sum_assignment) computed for fixed label / prediction vectors, the
reference for scan_cluster_metrics and scan_silhouette (tests/test_eval_metrics.c).

ACC is the reference's Hungarian accuracy made rectangular: linear_sum_assignment
(maximize=True) on the full [num_clusters, num_classes] contingency table, cluster
ids 0..num_clusters-1 included even when a cluster has no member. Precision, recall
and F1 score the matched predictions: every sample of a cluster gets that cluster's
matched class, samples of unmatched clusters get -1 (never a class); the averages
are sklearn's average='weighted' over the classes that occur, zero_division=0.

Format (whitespace separated, one record after another):
  case NAME N NUM_CLUSTERS NUM_CLASSES
  N labels
  N predictions
  acc nmi ari ami precision_weighted recall_weighted f1_weighted
  silhouette NAME N D
  N*D float32 values (row-major, each printed exactly)
  N labels
  score
Usage: python3 tools/make_metrics_fixture.py [OUTPUT]
"""
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics


def label_case(name, labels, pred, num_clusters, num_classes):
    labels = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    table = np.zeros((num_clusters, num_classes), dtype=np.int64)
    np.add.at(table, (pred, labels), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    match = np.full(num_clusters, -1, dtype=np.int64)
    match[rows] = cols
    acc = table[rows, cols].sum() / len(labels)
    mapped = match[pred]
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        labels, mapped, labels=np.unique(labels), average="weighted", zero_division=0)
    values = [acc,
              metrics.normalized_mutual_info_score(labels, pred),
              metrics.adjusted_rand_score(labels, pred),
              metrics.adjusted_mutual_info_score(labels, pred),
              precision, recall, f1]
    return [f"case {name} {len(labels)} {num_clusters} {num_classes}",
            " ".join(str(v) for v in labels),
            " ".join(str(v) for v in pred),
            " ".join(repr(float(v)) for v in values)]


def silhouette_case(name, x, labels):
    x = np.asarray(x, dtype=np.float32)
    score = metrics.silhouette_score(x.astype(np.float64), labels, metric="euclidean")
    return [f"silhouette {name} {x.shape[0]} {x.shape[1]}",
            " ".join(repr(float(v)) for v in x.ravel()),
            " ".join(str(int(v)) for v in labels),
            repr(float(score))]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/metrics_sklearn.txt"
    rng = np.random.default_rng(20240612)
    lines = []
    # 5 clusters, 3 classes: over-clustering, two clusters left unmatched
    lines += label_case("more_clusters",
                        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1],
                        [0, 0, 3, 3, 1, 1, 1, 4, 2, 2, 0, 2, 4, 3], 5, 3)
    # 2 clusters, 4 classes: two classes have no cluster (precision 0 there)
    lines += label_case("fewer_clusters",
                        [0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1],
                        [0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0], 2, 4)
    # 6 cluster ids, 1 and 4 never used
    lines += label_case("empty_clusters",
                        [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1],
                        [0, 0, 5, 2, 2, 2, 3, 3, 3, 0, 0, 5], 6, 3)
    # every sample in one cluster, three classes
    lines += label_case("single_cluster",
                        [0, 1, 2, 0, 1, 2, 0, 0, 1, 2],
                        [0] * 10, 1, 3)
    # one cluster, one class: both partitions trivial
    lines += label_case("single_both", [0] * 7, [0] * 7, 1, 1)
    # a noisy, imbalanced permutation of 10 classes into 12 clusters, 1000 samples
    n = 1000
    labels = rng.choice(10, size=n, p=np.linspace(1, 3, 10) / np.linspace(1, 3, 10).sum())
    perm = rng.permutation(12)[:10]
    pred = perm[labels]
    noisy = rng.random(n) < 0.35
    pred[noisy] = rng.integers(0, 12, size=noisy.sum())
    lines += label_case("random_1000", labels, pred, 12, 10)

    # silhouette: three blobs in 3-D, one of them a singleton (s = 0 by definition)
    centers = np.array([[0, 0, 0], [3, 1, 0], [0, 4, 2]], dtype=np.float32)
    sil_labels = np.array([0] * 8 + [1] * 7 + [2])
    x = centers[sil_labels] + rng.standard_normal((16, 3)).astype(np.float32)
    lines += silhouette_case("blobs_singleton", x, np.array([5] * 8 + [-1] * 7 + [9]))
    x = rng.standard_normal((40, 5)).astype(np.float32)
    lines += silhouette_case("random_4", x, rng.integers(0, 4, size=40))

    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
