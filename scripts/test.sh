#!/bin/bash
# Installs what is missing, builds, and runs the whole test suite:
#   1. the Release build's tests (ctest);
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. every fuzz target for a bounded time under ASan (libFuzzer, clang).
# Pass --quick to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2)
[ "${1:-}" = "--quick" ] && exit 0

echo "== tests under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCAN_SANITIZE=ON -DSCAN_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built)' || true
# oneDNN's JIT and OpenMP runtime are not instrumented; leaks inside them are not ours.
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 SCAN_TEST_LIGHT=1 ctest --output-on-failure -j2)

echo "== fuzz targets (libFuzzer + ASan)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSCAN_SANITIZE=ON -DSCAN_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built)' || true
fuzz_seconds=${SCAN_FUZZ_SECONDS:-20}
fuzzed=0
for fuzzer in build-fuzz/fuzz_*; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  echo "-- $name for ${fuzz_seconds}s"
  ASAN_OPTIONS=detect_leaks=1 "$fuzzer" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -max_len=65536 "$corpus" \
    > "build-fuzz/$name.log" 2>&1 || { tail -40 "build-fuzz/$name.log"; exit 1; }
  tail -1 "build-fuzz/$name.log"
  rm -rf "$corpus"
  fuzzed=$((fuzzed + 1))
done
echo "fuzz targets run: $fuzzed"
