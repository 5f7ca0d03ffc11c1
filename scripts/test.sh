#!/bin/bash
# Installs what is missing, builds, and runs the whole test suite:
#   1. the Release build's tests (ctest); on a CPU with AVX-512, once more capped at AVX2 (SCAN_ISA=avx2 for scan's
#      kernels, ONEDNN_MAX_CPU_ISA=AVX2 for oneDNN's), so the path a Zen 3 runs is tested on every machine;
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (SCAN_TEST_LIGHT=1: smaller sizes);
#   3. every fuzz target for a bounded time under ASan (libFuzzer, clang; SCAN_FUZZ_SECONDS, default 20).
# Pass --quick to run only step 1. Exits non-zero when a build, a test or a fuzz target fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prints how long the step that began at $1 (a $SECONDS value) took.
stage_done() { echo "== $2 took $((SECONDS - $1)) s"; }

# cmake --build without the per-file progress lines. The grep sits in a group
# that always succeeds, so pipefail reports cmake's own exit status.
build_quietly() {
  cmake --build "$@" -j"$(nproc)" 2>&1 | { grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built)' || true; }
}

started=$SECONDS
bash scripts/install-deps.sh
stage_done "$started" "install-deps"

started=$SECONDS
bash scripts/build.sh
stage_done "$started" "Release build"

echo "== tests (Release)"
started=$SECONDS
(cd build && ctest --output-on-failure -j2)
stage_done "$started" "Release tests"
if grep -q avx512f /proc/cpuinfo; then
  echo "== tests (Release, capped at AVX2)"
  started=$SECONDS
  (cd build && SCAN_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2 ctest --output-on-failure -j2)
  stage_done "$started" "Release tests capped at AVX2"
fi
[ "${1:-}" = "--quick" ] && exit 0

echo "== tests under ASan + UBSan"
started=$SECONDS
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSCAN_SANITIZE=ON -DSCAN_WERROR=ON >/dev/null
build_quietly build-asan
stage_done "$started" "ASan build"
started=$SECONDS
# detect_leaks=0: fontconfig (under cairo's text) keeps caches that LeakSanitizer
# reports; the fuzz targets below draw no text and do check for leaks.
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 SCAN_TEST_LIGHT=1 \
  ctest --output-on-failure -j2)
stage_done "$started" "ASan tests"

echo "== fuzz targets (libFuzzer + ASan)"
started=$SECONDS
fuzz_names=()
for source in tests/fuzz/fuzz_*.c; do
  [ -e "$source" ] || continue
  fuzz_names+=("$(basename "$source" .c)")
done
if [ ${#fuzz_names[@]} -eq 0 ]; then
  echo "no fuzz targets in tests/fuzz" >&2
  exit 1
fi
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSCAN_SANITIZE=ON -DSCAN_FUZZ=ON >/dev/null
# Only the fuzz targets: the tests and the CLI were built and run above.
build_quietly build-fuzz --target "${fuzz_names[@]}"
stage_done "$started" "fuzz build"
started=$SECONDS
fuzz_seconds=${SCAN_FUZZ_SECONDS:-20}
for name in "${fuzz_names[@]}"; do
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  echo "-- $name for ${fuzz_seconds}s"
  # -timeout: an input that runs 10 s counts as a failure (a hang), like a crash or a leak.
  # Crash inputs land in build-fuzz/ so they can be replayed: build-fuzz/$name build-fuzz/$name-crash-...
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "build-fuzz/$name" -max_total_time="$fuzz_seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="build-fuzz/$name-" "$corpus" \
      > "build-fuzz/$name.log" 2>&1; then
    tail -40 "build-fuzz/$name.log"
    echo "FAILED: fuzz target $name (log: build-fuzz/$name.log)" >&2
    rm -rf "$corpus"
    exit 1
  fi
  tail -1 "build-fuzz/$name.log"
  rm -rf "$corpus"
done
stage_done "$started" "fuzzing"
echo "fuzz targets run: ${#fuzz_names[@]}"
