#!/bin/bash
# The Fashion-MNIST quality benchmark over seeds (issues 7, 12 and 18). For each seed it runs the default quick
# pipeline from scratch (train on the 60,000 training images without labels, evaluate on the 10,000 test images),
# then scores the same model on the 60,000 training images' labels, which training never reads: recipes are
# chosen on that train ACC, and the test figures are only reported. It prints each seed's test ACC, NMI and ARI,
# its train ACC, the neighbour accuracy and the wall time, then the mean +- sample sd over seeds, and writes a JSON
# summary.
#
#   bash tools/quality_fashion_mnist.sh [--seeds 0,1,2] [--out DIR] [--name LABEL] [--reuse DIR]
#                                       [scan run options...]
#     e.g. bash tools/quality_fashion_mnist.sh --seeds 0,1,2 --name cluster5 --set cluster.epochs=5
#
# --reuse DIR starts each seed's run from a copy of DIR/seed-N (an earlier run of this tool), so a recipe that
# changes only the later stages costs minutes, not a quarter of an hour, per seed: `scan run` skips every stage whose
# stamp matches the configuration (a stage's stamp chains its own settings with those of the stages before it and
# the data's fingerprint) and trains the others again. The run starts from DIR/seed-N's configuration (its
# config.yml) with this call's options on top. The wall time is then that of the stages run again.
#
# Each seed's run directory is DIR/seed-N (default DIR: runs/quality), its log DIR/seed-N.log; the summary is
# DIR/summary.json. Not a test: each seed takes about a quarter of an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=0,1,2
out=runs/quality
name=default
reuse=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=${2:?--seeds needs a value, e.g. 0,1,2}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --name) name=${2:?--name needs a label}; shift 2 ;;
    --reuse) reuse=${2:?--reuse needs the --out of an earlier run}; shift 2 ;;
    *) break ;;
  esac
done
if ! [[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "quality: --seeds must be a comma-separated list of non-negative integers, got '$seeds'" >&2
  exit 2
fi

bash scripts/build.sh
mkdir -p "$out"
IFS=, read -r -a seed_list <<< "$seeds"
for seed in "${seed_list[@]}"; do
  run="$out/seed-$seed"
  rm -rf "$run" "$run-train"
  if [ -n "$reuse" ]; then
    from="$reuse/seed-$seed"
    if [ ! -f "$from/config.yml" ] || [ ! -d "$from/.stamps" ]; then
      echo "quality: --reuse: $from is not a run directory of this tool (no config.yml or .stamps)" >&2
      exit 2
    fi
    cp -a "$from/." "$run/"
    rm -f "$run/.lock"
  fi
  echo "== seed $seed: scan run --out $run --set seed=$seed $*"
  start=$(date +%s.%N)
  build/scan run --out "$run" --set seed="$seed" "$@" > "$run.log" 2>&1 || {
    tail -20 "$run.log" >&2
    echo "quality: seed $seed failed (log: $run.log)" >&2
    exit 1
  }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }' > "$run/wall_seconds"
  # The chosen model on the training split: a separate run directory, so the run's own eval/ stays the test set's.
  model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$run/eval/metrics.json")
  build/scan eval --out "$run-train" --model "$model" --set val_split=train --baseline none --quiet \
    > "$run-train.log" 2>&1 || {
    tail -20 "$run-train.log" >&2
    echo "quality: seed $seed: scoring the training split failed (log: $run-train.log)" >&2
    exit 1
  }
done

python3 - "$out" "$name" "$seeds" "$*" "$reuse" <<'PY'
import json, re, statistics, sys
out, name, seeds, options, reuse = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")], sys.argv[4], sys.argv[5]

def chosen(path):
    m = json.load(open(path))
    return m["heads"][m["chosen_head"]]

rows = []
for seed in seeds:
    run = f"{out}/seed-{seed}"
    test, train = chosen(f"{run}/eval/metrics.json"), chosen(f"{run}-train/eval/metrics.json")
    log = open(f"{run}.log").read()
    knn = re.search(r"Accuracy of top-\d+ nearest neighbours on the train set: ([0-9.]+)%", log)
    rows.append({"seed": seed, "acc": test["acc"], "nmi": test["nmi"], "ari": test["ari"],
                 "train_acc": train["acc"], "neighbor_acc": float(knn.group(1)) / 100 if knn else None,
                 "wall_seconds": float(open(f"{run}/wall_seconds").read())})

def mean_sd(key):
    values = [r[key] for r in rows if r[key] is not None]
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0

print(f"\nfashion-mnist quick, recipe '{name}'{' (' + options + ')' if options else ''}:")
if reuse:
    print(f"(runs continued from {reuse}: wall s is that of the stages run again)")
print(f"{'seed':>6} {'ACC':>8} {'NMI':>8} {'ARI':>8} {'train ACC':>10} {'kNN acc':>8} {'wall s':>8}")
for r in rows:
    knn = f"{r['neighbor_acc']:.4f}" if r["neighbor_acc"] is not None else "-"
    print(f"{r['seed']:>6} {r['acc']:8.4f} {r['nmi']:8.4f} {r['ari']:8.4f} {r['train_acc']:10.4f} {knn:>8} "
          f"{r['wall_seconds']:8.0f}")
summary = {"recipe": name, "options": options, "continued_from": reuse or None, "seeds": rows}
cells = []
for key in ["acc", "nmi", "ari", "train_acc", "neighbor_acc", "wall_seconds"]:
    mean, sd = mean_sd(key)
    summary[key] = {"mean": mean, "sd": sd}
    digits = 0 if key == "wall_seconds" else 4
    cells.append("-" if mean is None else f"{mean:.{digits}f}+-{sd:.{digits}f}")
print(f"{'mean':>6} " + " ".join(cells))
with open(f"{out}/summary.json.tmp", "w") as f:
    json.dump(summary, f, indent=1)
import os
os.replace(f"{out}/summary.json.tmp", f"{out}/summary.json")
print(f"summary: {out}/summary.json")
PY
