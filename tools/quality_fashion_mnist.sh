#!/bin/bash
# The Fashion-MNIST quality benchmark (issues 7 and 12): runs the default quick pipeline from scratch
# (train on the 60,000 training images without labels, evaluate on the 10,000 test images) and prints
# the test-set ACC, NMI and ARI, the neighbour accuracy and the wall time of every stage and in total.
#   bash tools/quality_fashion_mnist.sh [RUN_DIR] [extra scan run options, e.g. --set pretext.epochs=20]
# Not a test: it takes about a quarter of an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${1:-runs/quality}
shift || true
bash scripts/build.sh
rm -rf "$run_dir"
start=$(date +%s)
build/scan run --out "$run_dir" "$@" 2>&1 | tee "$run_dir.log" | grep -E '^\[|Accuracy of top|ACC|Baseline|Stage times|Report' || true
end=$(date +%s)
python3 - "$run_dir" $((end - start)) <<'PY'
import json, sys
run, seconds = sys.argv[1], int(sys.argv[2])
m = json.load(open(f"{run}/eval/metrics.json"))
head = m["heads"][m["chosen_head"]]
print(f"fashion-mnist quick: ACC {head['acc']:.4f}  NMI {head['nmi']:.4f}  ARI {head['ari']:.4f}  "
      f"(head {m['chosen_head']}, {m['count']} test images)  total wall time {seconds} s ({seconds / 60:.1f} min)")
PY
