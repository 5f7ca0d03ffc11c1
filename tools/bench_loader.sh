#!/bin/bash
# Usage: tools/bench_loader.sh BUILD_DIR FOLDER [BATCHES]
# The training loader (SimCLR two-view batches of 256, 2 workers) over one image folder held three ways: decoded
# whole into memory, streamed (decoded on the fly) through a 512 MiB cache, and packed (scan data pack) and read
# by pread. Prints images/s and the peak RSS of each. Make a large folder with tools/make_big_folder.py.
set -eu
build=$1; folder=$2; batches=${3:-200}; side=96
cmake --build "$build" --target bench_loader scan >/dev/null
pack=$folder.pack
grep -m1 'model name' /proc/cpuinfo
run() { # label, bench_loader arguments
  local label=$1; shift
  /usr/bin/time -v "$build/bench_loader" "$@" 2> "$pack.time" | sed "s|^|$label: |"
  grep -E 'Maximum resident|Elapsed' "$pack.time" | sed "s|^\s*|$label:   |"
}
run in-memory folder "$folder" $side off 0 "$batches"
run streamed folder "$folder" $side on 512 "$batches"
/usr/bin/time -v "$build/scan" data pack --dataset folder --root "$folder" --image-size $side --out "$pack" 2> "$pack.time"
grep -E 'Maximum resident|Elapsed' "$pack.time" | sed 's|^\s*|pack:   |'
run packed packed "$pack" 0 on 0 "$batches"
rm -f "$pack" "$pack.time"
