#!/usr/bin/env python3
"""Writes tests/data/metrics_cli/: label arrays in the formats `scan metrics` reads (.npy of several integer
dtypes, float32/float64 probabilities, CSV with and without a header) and expected.json, the values
scikit-learn (and SciPy's linear_sum_assignment) computed for them. tests/test_cli_metrics.c runs
`scan metrics --json` on every case and compares; the test itself never runs Python.

Conventions the reference follows (README "The method"): clusters are 0..max(pred) (or the probabilities'
columns when there are more), so ids nobody was assigned to are empty clusters; Hungarian matching is
rectangular over the clusters and classes that occur; samples of unmatched clusters are wrong; top-5 counts a
hit when the true class is the match of one of the sample's 5 most probable clusters (higher probability
first, smaller id on a tie); majority ACC maps each cluster to its most frequent class.

Needs Debian's python3-sklearn (apt-get install python3-sklearn).
Usage: /usr/bin/python3 tools/make_metrics_cli_fixture.py [OUTPUT_DIR]
"""
import json
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics


def reference(truth, pred, probs, clusters):
    classes = int(truth.max()) + 1
    table = np.zeros((clusters, classes), dtype=np.int64)
    np.add.at(table, (pred, truth), 1)
    present_clusters = np.flatnonzero(table.sum(axis=1))
    present_classes = np.flatnonzero(table.sum(axis=0))
    sub = table[np.ix_(present_clusters, present_classes)]
    rows, cols = linear_sum_assignment(sub, maximize=True)
    match = np.full(clusters, -1, dtype=np.int64)
    match[present_clusters[rows]] = present_classes[cols]
    n = len(truth)
    mapped = match[pred]
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        truth, mapped, labels=np.unique(truth), average="weighted", zero_division=0)
    out = {
        "n": n,
        "num_clusters": clusters,
        "num_classes": classes,
        "acc": float(sub[rows, cols].sum() / n),
        "majority_acc": float(table.max(axis=1).sum() / n),
        "nmi": float(metrics.normalized_mutual_info_score(truth, pred)),
        "ari": float(metrics.adjusted_rand_score(truth, pred)),
        "ami": float(metrics.adjusted_mutual_info_score(truth, pred)),
        "precision_weighted": float(precision),
        "recall_weighted": float(recall),
        "f1_weighted": float(f1),
        "match": [int(v) for v in match],
        "confusion": table.tolist(),
    }
    if probs is not None:
        # stable sort of -p: ties keep the smaller cluster id first
        top = np.argsort(-probs, axis=1, kind="stable")[:, :5]
        out["top5"] = float(np.mean([(match[t] == y).any() for t, y in zip(top, truth)]))
    return out


def softmax_rows(rng, n, k, favourite):
    logits = rng.standard_normal((n, k))
    logits[np.arange(n), favourite] += 2.5
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def noisy_clusters(rng, truth, permutation, clusters, noise, forbidden):
    pred = permutation[truth].copy()
    flip = rng.random(len(truth)) < noise
    allowed = np.array([c for c in range(clusters) if c not in forbidden])
    pred[flip] = rng.choice(allowed, size=flip.sum())
    return pred


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/metrics_cli"
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20261207)
    cases = []

    # K > C with empty clusters inside the id range (5 and 11 never assigned), int8 truth, uint16 predictions,
    # float32 probabilities over all 14 clusters
    n = 300
    truth = rng.integers(0, 10, size=n)
    permutation = np.array([0, 1, 2, 3, 4, 6, 7, 8, 9, 10])
    pred = noisy_clusters(rng, truth, permutation, 14, 0.3, {5, 11})
    probs = softmax_rows(rng, n, 14, pred).astype(np.float32)
    np.save(f"{out_dir}/more_truth.npy", truth.astype(np.int8))
    np.save(f"{out_dir}/more_pred.npy", pred.astype(np.uint16))
    np.save(f"{out_dir}/more_probs.npy", probs)
    cases.append({"name": "more_clusters_than_classes", "truth": "more_truth.npy", "pred": "more_pred.npy",
                  "probs": "more_probs.npy", "expected": reference(truth, pred, probs.astype(np.float64), 14)})

    # K < C: 4 clusters for 7 classes, uint8 truth, int64 predictions, probabilities as CSV with a header
    n = 200
    truth = rng.integers(0, 7, size=n)
    pred = noisy_clusters(rng, truth, np.array([0, 1, 2, 3, 0, 1, 2]), 4, 0.2, set())
    probs = softmax_rows(rng, n, 4, pred).astype(np.float32)
    np.save(f"{out_dir}/fewer_truth.npy", truth.astype(np.uint8))
    np.save(f"{out_dir}/fewer_pred.npy", pred.astype(np.int64))
    with open(f"{out_dir}/fewer_probs.csv", "w") as f:
        f.write(",".join(f"p{c}" for c in range(4)) + "\n")
        for row in probs:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    cases.append({"name": "fewer_clusters_than_classes", "truth": "fewer_truth.npy", "pred": "fewer_pred.npy",
                  "probs": "fewer_probs.csv", "expected": reference(truth, pred, probs.astype(np.float64), 4)})

    # Empty clusters after the largest assigned id (the probabilities have 9 columns, ids reach 5 only),
    # int32 truth, uint32 predictions, float64 probabilities
    n = 150
    truth = rng.integers(0, 6, size=n)
    pred = noisy_clusters(rng, truth, rng.permutation(6), 6, 0.4, set())
    probs = softmax_rows(rng, n, 9, pred)
    np.save(f"{out_dir}/trailing_truth.npy", truth.astype(np.int32))
    np.save(f"{out_dir}/trailing_pred.npy", pred.astype(np.uint32))
    np.save(f"{out_dir}/trailing_probs.npy", probs)
    cases.append({"name": "trailing_empty_clusters", "truth": "trailing_truth.npy", "pred": "trailing_pred.npy",
                  "probs": "trailing_probs.npy", "expected": reference(truth, pred, probs, 9)})

    # Both arrays from one CSV with a header, as scan eval's predictions.csv (columns label and cluster; file
    # names with commas are quoted), no probabilities; a one-id-per-line text file is the same truth
    n = 120
    truth = rng.integers(0, 5, size=n)
    pred = noisy_clusters(rng, truth, np.array([4, 0, 3, 1, 6]), 7, 0.25, {2, 5})
    with open(f"{out_dir}/eval_predictions.csv", "w") as f:
        f.write("index,file,cluster,confidence,label\n")
        for i, (p, y) in enumerate(zip(pred, truth)):
            f.write(f'{i},"img, {i}.png",{p},0.5,{y}\n')
    with open(f"{out_dir}/plain_truth.txt", "w") as f:
        f.write("".join(f"{y}\n" for y in truth))
    cases.append({"name": "csv_columns", "truth": "plain_truth.txt", "pred": "eval_predictions.csv",
                  "expected": reference(truth, pred, None, 7)})

    with open(f"{out_dir}/expected.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
