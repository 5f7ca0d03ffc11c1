#!/bin/bash
# Usage: tools/bench_libxsmm.sh [BUILD_DIR] [TILES]
# The Winograd convolution's products by scan's own AVX2 kernel and by libxsmm's run-time generated kernels, first
# for the CPU's own instruction set, then with libxsmm held to AVX2 (LIBXSMM_TARGET=hsw), the like-for-like case.
# Needs Debian's libxsmm-dev (scan itself does not link it).
set -eu
build=${1:-build}; tiles=${2:-24}
if ! pkg-config --exists libxsmm; then
  echo "bench_libxsmm: needs libxsmm-dev (apt-get install libxsmm-dev), then cmake $build again" >&2
  exit 2
fi
cmake "$build" >/dev/null
cmake --build "$build" --target bench_libxsmm >/dev/null
grep -m1 'model name' /proc/cpuinfo
"$build/bench_libxsmm" "$tiles"
LIBXSMM_TARGET=hsw "$build/bench_libxsmm" "$tiles"
